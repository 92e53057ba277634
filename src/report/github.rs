//! GitHub workflow commands: one annotation per finding, escaped as the Actions toolkit does.

use std::io::Write;

use anyhow::Result;

use crate::finding::{Finding, Report, Severity};

/// GitHub shows at most this many annotations of each level per step.
pub const MAX_PER_LEVEL: usize = 10;

pub fn render(report: &Report, out: &mut dyn Write) -> Result<()> {
    let (mut errors, mut warnings, mut notices) = (0, 0, 0);
    let mut hidden = 0;
    for f in &report.findings {
        // Waived findings are notices; one notice slot stays free for the overflow notice.
        let (shown, cap) = match f.severity {
            Severity::Error => (&mut errors, MAX_PER_LEVEL),
            Severity::Warning => (&mut warnings, MAX_PER_LEVEL),
            Severity::Note => (&mut notices, MAX_PER_LEVEL - 1),
        };
        if *shown == cap {
            hidden += 1;
            continue;
        }
        *shown += 1;
        writeln!(out, "{}", annotation(f))?;
    }
    if hidden > 0 {
        let msg = format!(
            "{hidden} more finding{} not shown as annotations (GitHub shows {MAX_PER_LEVEL} errors and {MAX_PER_LEVEL} warnings per step): see the job summary, or run kepguard with --format json",
            if hidden == 1 { " is" } else { "s are" }
        );
        writeln!(
            out,
            "::notice title={}::{}",
            escape_property("kepguard"),
            escape_data(&msg)
        )?;
    }
    Ok(())
}

/// `::error file=…,line=…,title=kepguard <rule>::<message>`.
pub fn annotation(f: &Finding) -> String {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    let mut props = format!("file={}", escape_property(&f.location.path));
    if let Some(line) = f.location.line {
        props.push_str(&format!(",line={line}"));
    }
    props.push_str(&format!(",title={}", escape_property(&format!("kepguard {}", f.rule))));
    let message = match (f.severity, f.notes.last()) {
        (Severity::Note, Some(why)) => format!("{} ({why})", f.message()),
        _ => f.message(),
    };
    format!("::{level} {props}::{}", escape_data(&message))
}

/// The toolkit's `escapeData`: a message can never end the command or start another line.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// The toolkit's `escapeProperty`: as `escape_data`, and `:` and `,` too.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;

    fn finding(severity: Severity, title: &str, path: &str) -> Finding {
        Finding {
            rule: "implementation-history",
            severity,
            commit: gix::ObjectId::null(gix::hash::Kind::Sha1),
            kep: "keps/sig-node/1-x".into(),
            number: "1".into(),
            location: Location {
                path: path.into(),
                line: Some(3),
                snippet: None,
            },
            title: title.into(),
            help: "fix it".into(),
            fix: None,
            notes: vec![],
        }
    }

    #[test]
    fn escaping_follows_the_toolkit() {
        assert_eq!(escape_data("100% a\r\nb"), "100%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn hostile_kep_text_cannot_inject_workflow_commands() {
        for hostile in [
            "KEP 50% done",
            "x\r\n::set-output name=a::b",
            "x\n::stop-commands::token\n::error::owned",
        ] {
            let a = annotation(&finding(Severity::Error, hostile, "keps/a,b:c/README.md"));
            assert_eq!(a.lines().count(), 1, "{a}");
            assert!(!a.contains('\r'), "{a}");
            assert!(
                a.starts_with("::error file=keps/a%2Cb%3Ac/README.md,line=3,title=kepguard implementation-history::"),
                "{a}"
            );
        }
        let a = annotation(&finding(Severity::Error, "x\r\n::set-output name=a::b 5%", "a.md"));
        assert!(a.ends_with("::x%0D%0A::set-output name=a::b 5%25; fix it"), "{a}");
    }

    #[test]
    fn annotations_are_capped_per_level_with_a_notice() {
        let mut report = Report::default();
        for i in 0..12 {
            report.findings.push(finding(Severity::Error, &format!("e{i}"), "a.md"));
        }
        for i in 0..3 {
            report
                .findings
                .push(finding(Severity::Warning, &format!("w{i}"), "a.md"));
        }
        let mut out = Vec::new();
        render(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("::error ")).count(), 10);
        assert_eq!(text.lines().filter(|l| l.starts_with("::warning ")).count(), 3);
        let notice = text.lines().last().unwrap();
        assert!(
            notice.starts_with("::notice title=kepguard::2 more findings are not shown"),
            "{notice}"
        );
        assert!(!text.contains("e10") && text.contains("e9"), "the first ten are shown");
    }
}
