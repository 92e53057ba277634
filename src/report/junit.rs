//! JUnit XML, as Prow's Spyglass and most CI systems show test results: one testsuite per rule,
//! one testcase per KEP checked. A KEP with an error from the rule fails its testcase; warnings and
//! notes are written to the testcase's output and pass.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::finding::{Finding, Report, Severity};
use crate::rules;

/// One rule's findings per KEP path.
type ByKep<'a> = BTreeMap<&'a str, Vec<&'a Finding>>;

pub fn render(report: &Report, out: &mut dyn Write) -> Result<()> {
    // The KEPs checked, and any other path a finding names (the policy file).
    let mut keps: Vec<&str> = report.keps.iter().map(String::as_str).collect();
    for f in &report.findings {
        if !keps.contains(&f.kep.as_str()) {
            keps.push(&f.kep);
        }
    }
    keps.sort_unstable();
    let mut by_rule: BTreeMap<&str, ByKep<'_>> = BTreeMap::new();
    for f in &report.findings {
        by_rule.entry(f.rule).or_default().entry(&f.kep).or_default().push(f);
    }
    // In a tree, the rules that judge changes have nothing to say.
    let suites: Vec<&'static str> = rules::ALL
        .iter()
        .filter(|r| !report.tree || r.snapshot() || by_rule.contains_key(r.info().id))
        .map(|r| r.info().id)
        .collect();
    let failed = |rule: &str, kep: &str| {
        by_rule
            .get(rule)
            .and_then(|k| k.get(kep))
            .is_some_and(|fs| fs.iter().any(|f| f.severity == Severity::Error))
    };
    let total_failures: usize = suites
        .iter()
        .map(|r| keps.iter().filter(|k| failed(r, k)).count())
        .sum();

    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "kepguard"));
    root.push_attribute(("tests", (suites.len() * keps.len()).to_string().as_str()));
    root.push_attribute(("failures", total_failures.to_string().as_str()));
    w.write_event(Event::Start(root))?;
    for rule in suites {
        let failures = keps.iter().filter(|k| failed(rule, k)).count();
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", rule));
        suite.push_attribute(("tests", keps.len().to_string().as_str()));
        suite.push_attribute(("failures", failures.to_string().as_str()));
        suite.push_attribute(("errors", "0"));
        w.write_event(Event::Start(suite))?;
        for kep in &keps {
            let mut case = BytesStart::new("testcase");
            case.push_attribute(("classname", rule));
            case.push_attribute(("name", *kep));
            let found = by_rule.get(rule).and_then(|k| k.get(kep)).cloned().unwrap_or_default();
            if found.is_empty() {
                w.write_event(Event::Empty(case))?;
                continue;
            }
            w.write_event(Event::Start(case))?;
            let (errors, others): (Vec<&Finding>, Vec<&Finding>) =
                found.iter().partition(|f| f.severity == Severity::Error);
            if let Some(first) = errors.first() {
                let mut failure = BytesStart::new("failure");
                failure.push_attribute(("type", "error"));
                failure.push_attribute(("message", xml_text(&first.message()).as_str()));
                w.write_event(Event::Start(failure))?;
                w.write_event(Event::Text(BytesText::new(&xml_text(&details(&errors)))))?;
                w.write_event(Event::End(BytesEnd::new("failure")))?;
            }
            if !others.is_empty() {
                w.write_event(Event::Start(BytesStart::new("system-out")))?;
                w.write_event(Event::Text(BytesText::new(&xml_text(&details(&others)))))?;
                w.write_event(Event::End(BytesEnd::new("system-out")))?;
            }
            w.write_event(Event::End(BytesEnd::new("testcase")))?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    writeln!(w.into_inner())?;
    Ok(())
}

/// Each finding on its lines: `severity: path:line: message`, then its notes, and the commit.
fn details(findings: &[&Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        let at = match f.location.line {
            Some(line) => format!("{}:{line}", f.location.path),
            None => f.location.path.clone(),
        };
        s.push_str(&format!("{}: {at}: {}\n", f.severity.as_str(), f.message()));
        for note in &f.notes {
            s.push_str(&format!("  note: {note}\n"));
        }
        s.push_str(&format!("  in commit {}\n", f.commit));
    }
    s
}

/// Text XML 1.0 can hold: the control characters it forbids (KEP text may carry them) become U+FFFD.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}
