//! GitLab's Code Quality report: the subset of the CodeClimate JSON format GitLab reads
//! (`description`, `check_name`, `fingerprint`, `severity`, `location.path`,
//! `location.lines.begin`), shown in merge requests from `artifacts:reports:codequality`.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::finding::{Report, Severity};

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    description: String,
    check_name: &'a str,
    fingerprint: String,
    severity: &'static str,
    categories: [&'static str; 1],
    location: Location<'a>,
}

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
}

pub fn render(report: &Report, out: &mut dyn Write) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    let issues: Vec<Issue<'_>> = report
        .findings
        .iter()
        // GitLab matches issues between pipelines by fingerprint: one issue per fingerprint.
        .filter(|f| seen.insert(f.fingerprint()))
        .map(|f| Issue {
            kind: "issue",
            description: f.message(),
            check_name: f.rule,
            fingerprint: f.fingerprint(),
            severity: match f.severity {
                Severity::Error => "major",
                Severity::Warning => "minor",
                Severity::Note => "info",
            },
            categories: ["Style"],
            location: Location {
                path: &f.location.path,
                lines: Lines {
                    begin: f.location.line.unwrap_or(1),
                },
            },
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues)?;
    writeln!(out)?;
    Ok(())
}
