//! `kepguard/v1` JSON: one document per run.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::finding::{Report, Severity};

pub const SCHEMA: &str = "kepguard/v1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    commits_checked: usize,
    keps_checked: usize,
    findings: Vec<JsonFinding<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    severity: &'a str,
    commit: String,
    kep: &'a str,
    number: &'a str,
    path: &'a str,
    line: Option<usize>,
    message: String,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
}

pub fn render(report: &Report, out: &mut dyn Write) -> Result<()> {
    let doc = Document {
        schema: SCHEMA,
        commits_checked: report.commits_checked,
        keps_checked: report.keps_checked,
        findings: report
            .findings
            .iter()
            .map(|f| JsonFinding {
                rule: f.rule,
                severity: f.severity.as_str(),
                commit: f.commit.to_string(),
                kep: &f.kep,
                number: &f.number,
                path: &f.location.path,
                line: f.location.line,
                message: f.message(),
            })
            .collect(),
        summary: Summary {
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
        },
    };
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}
