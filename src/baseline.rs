//! Baselines: the findings a repository has accepted for now, by fingerprint, so that `validate`
//! can gate new problems in a tree with years of old ones. A finding in the baseline is reported
//! as a note and never fails; an entry that matches nothing any more is reported, so that the
//! file shrinks as people fix things.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::finding::{Report, Severity};

/// The name of the document kind.
pub const SCHEMA: &str = "kepguard/baseline/v1";

/// One accepted finding: its fingerprint (the one SARIF and GitLab reports carry), and the rule,
/// KEP and message for the people who read the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    pub rule: String,
    pub kep: String,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Document {
    schema: String,
    findings: Vec<Entry>,
}

#[derive(Debug)]
pub struct Baseline {
    /// As given on the command line, for messages.
    pub path: String,
    pub entries: Vec<Entry>,
}

pub fn read(path: &Path) -> Result<Baseline> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the baseline {}", path.display()))?;
    let doc: Document = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not a kepguard baseline: {e}", path.display()))?;
    if doc.schema != SCHEMA {
        bail!(
            "{} is a `{}` document, not a `{SCHEMA}` baseline",
            path.display(),
            doc.schema
        );
    }
    Ok(Baseline {
        path: path.display().to_string(),
        entries: doc.findings,
    })
}

/// The baseline of `report`: its errors and warnings, each fingerprint once, in fingerprint order.
pub fn of(report: &Report) -> String {
    let mut by_fingerprint = BTreeMap::new();
    for f in report.findings.iter().filter(|f| f.severity != Severity::Note) {
        by_fingerprint.entry(f.fingerprint()).or_insert_with(|| Entry {
            fingerprint: f.fingerprint(),
            rule: f.rule.to_owned(),
            kep: f.kep.clone(),
            message: f.title.clone(),
        });
    }
    let doc = Document {
        schema: SCHEMA.to_owned(),
        findings: by_fingerprint.into_values().collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Turns the findings in `baseline` into notes; returns the entries that matched none.
pub fn apply<'b>(report: &mut Report, baseline: &'b Baseline) -> Vec<&'b Entry> {
    let wanted: std::collections::HashSet<&str> = baseline.entries.iter().map(|e| e.fingerprint.as_str()).collect();
    let mut matched = std::collections::HashSet::new();
    for f in &mut report.findings {
        let fingerprint = f.fingerprint();
        if let Some(hit) = wanted.get(fingerprint.as_str()) {
            matched.insert(*hit);
            if f.severity != Severity::Note {
                f.severity = Severity::Note;
                f.notes
                    .push(format!("in the baseline {}: reported, not failing", baseline.path));
            }
        }
    }
    baseline
        .entries
        .iter()
        .filter(|e| !matched.contains(e.fingerprint.as_str()))
        .collect()
}
