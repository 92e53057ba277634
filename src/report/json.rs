//! `kepguard/v1` JSON: one document per run. Fields are only ever added to v1, never changed or
//! removed, so consumers may ignore what they do not know.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;
use serde::ser::SerializeMap;

use crate::finding::{Report, RuleCounts, Severity};

pub const SCHEMA: &str = "kepguard/v1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    /// The kepguard that wrote the document.
    version: &'static str,
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
    /// `title; help`, kept for consumers of the first v1 documents.
    message: String,
    title: &'a str,
    help: &'a str,
    notes: &'a [String],
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    notes: usize,
    rules: PerRule,
}

/// `{"<rule>": {"errors": N, "warnings": N, "notes": N}}` for each rule that reported anything,
/// in the registry's order (a map would sort the ids).
struct PerRule(Vec<(&'static str, RuleCounts)>);

impl Serialize for PerRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Counts {
            errors: usize,
            warnings: usize,
            notes: usize,
        }
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (id, c) in &self.0 {
            map.serialize_entry(
                id,
                &Counts {
                    errors: c.errors,
                    warnings: c.warnings,
                    notes: c.notes,
                },
            )?;
        }
        map.end()
    }
}

pub fn render(report: &Report, out: &mut dyn Write) -> Result<()> {
    let doc = Document {
        schema: SCHEMA,
        version: env!("CARGO_PKG_VERSION"),
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
                title: &f.title,
                help: &f.help,
                notes: &f.notes,
            })
            .collect(),
        summary: Summary {
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            notes: report.count(Severity::Note),
            rules: PerRule(report.per_rule()),
        },
    };
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}
