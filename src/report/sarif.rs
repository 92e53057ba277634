//! SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

use std::io::Write;

use anyhow::Result;
use serde_json::{Value, json};

use crate::finding::{Finding, Report, Severity};
use crate::rules::{self, RuleInfo};

pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
pub const INFORMATION_URI: &str = "https://github.com/kepguard/kepguard";

pub fn render(report: &Report, out: &mut dyn Write) -> Result<()> {
    serde_json::to_writer(&mut *out, &document(report))?;
    writeln!(out)?;
    Ok(())
}

pub fn document(report: &Report) -> Value {
    let rules: Vec<&RuleInfo> = rules::ALL.iter().map(|r| r.info()).collect();
    let results: Vec<Value> = report.findings.iter().map(|f| result(f, &rules)).collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kepguard",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules.iter().map(|r| rule(r)).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn rule(info: &RuleInfo) -> Value {
    let doc = rules::doc_text(info);
    json!({
        "id": info.id,
        "name": info.id,
        "shortDescription": { "text": info.summary },
        "fullDescription": { "text": what_it_checks(&doc) },
        "help": { "text": doc.trim_end() },
        "defaultConfiguration": { "level": level(info.default_severity) },
    })
}

/// The "What it checks" paragraph of a rule's documentation, on one line.
fn what_it_checks(doc: &str) -> String {
    let body = doc.split("## What it checks").nth(1).unwrap_or(doc);
    let body = body.split("\n## ").next().unwrap_or(body);
    body.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn result(f: &Finding, rules: &[&RuleInfo]) -> Value {
    let mut region = json!({});
    if let Some(line) = f.location.line {
        region = json!({ "startLine": line });
    }
    let mut location = json!({ "artifactLocation": { "uri": uri_path(&f.location.path) } });
    if f.location.line.is_some() {
        location["region"] = region;
    }
    let mut result = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": { "text": f.message() },
        "locations": [{ "physicalLocation": location }],
        "partialFingerprints": { "kepguard/v1": f.fingerprint() },
    });
    if let Some(i) = rules.iter().position(|r| r.id == f.rule) {
        result["ruleIndex"] = json!(i);
    }
    result
}

/// A repository path as a relative URI reference: what RFC 3986 does not allow in a path segment
/// (spaces, `%`, `#`, `?`, control characters, non-ASCII) is percent-encoded, byte by byte.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(char::from(b)),
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;

    #[test]
    fn uris_percent_encode_what_a_path_segment_cannot_hold() {
        assert_eq!(
            uri_path("keps/sig-node/1234-x/README.md"),
            "keps/sig-node/1234-x/README.md"
        );
        assert_eq!(uri_path("keps/a b/100%#?.md"), "keps/a%20b/100%25%23%3F.md");
        assert_eq!(
            uri_path("keps/x\u{1b}]0;t\u{7}/caf\u{e9}"),
            "keps/x%1B%5D0;t%07/caf%C3%A9"
        );
    }

    fn finding(line: Option<usize>, commit_byte: u8) -> Finding {
        Finding {
            rule: "stage-monotonic",
            severity: Severity::Error,
            commit: gix::ObjectId::from_bytes_or_panic(&[commit_byte; 20]),
            kep: "keps/sig-node/1-x".into(),
            number: "1".into(),
            location: Location {
                path: "keps/sig-node/1-x/kep.yaml".into(),
                line,
                snippet: None,
            },
            title: "KEP-1: stage goes backwards, beta -> alpha".into(),
            help: "keep beta".into(),
            fix: None,
            notes: vec![],
        }
    }

    #[test]
    fn results_point_at_rules_with_stable_fingerprints() {
        let report = Report {
            commits_checked: 1,
            keps_checked: 1,
            findings: vec![finding(Some(4), 1), finding(None, 2)],
            tree: false,
            ..Default::default()
        };
        let doc = document(&report);
        let run = &doc["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), crate::rules::ALL.len());
        let r0 = &run["results"][0];
        assert_eq!(r0["ruleId"], "stage-monotonic");
        assert_eq!(
            rules[r0["ruleIndex"].as_u64().unwrap() as usize]["id"],
            "stage-monotonic"
        );
        assert_eq!(r0["locations"][0]["physicalLocation"]["region"]["startLine"], 4);
        assert!(
            run["results"][1]["locations"][0]["physicalLocation"]
                .get("region")
                .is_none()
        );
        assert_eq!(
            r0["partialFingerprints"], run["results"][1]["partialFingerprints"],
            "commit and line do not matter"
        );
        let rule = rules.iter().find(|r| r["id"] == "stage-monotonic").unwrap();
        assert!(
            rule["fullDescription"]["text"]
                .as_str()
                .unwrap()
                .starts_with("A KEP's `stage` only moves forward")
        );
        assert!(rule["help"]["text"].as_str().unwrap().contains("## How to fix"));
    }
}
