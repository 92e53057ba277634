//! A Markdown job summary (`--summary FILE`, such as `$GITHUB_STEP_SUMMARY`).

use std::fmt::Write as _;

use crate::finding::{Report, Severity, plural};

/// GitHub accepts at most 1 MiB per step summary.
pub const MAX_BYTES: usize = 1024 * 1024;

pub fn markdown(report: &Report) -> String {
    markdown_capped(report, MAX_BYTES)
}

/// The summary, kept under `max` bytes by dropping table rows (with a note saying so).
pub fn markdown_capped(report: &Report, max: usize) -> String {
    let (errors, warnings) = (report.count(Severity::Error), report.count(Severity::Warning));

    let mut md = String::new();
    let verdict = match (errors, warnings) {
        (0, 0) if report.findings.is_empty() => "✅ no findings".to_owned(),
        (0, 0) => format!(
            "✅ no findings ({} waived by policy or baseline)",
            report.findings.len()
        ),
        (0, w) => format!("⚠️ {}", plural(w, "warning")),
        (e, w) => format!("❌ {}, {}", plural(e, "error"), plural(w, "warning")),
    };
    let _ = writeln!(md, "## kepguard: {verdict}\n");
    let checked = report.checked();
    let _ = writeln!(md, "Checked {checked}.\n");
    if report.findings.is_empty() {
        return md;
    }

    let mut counts =
        String::from("### Per rule\n\n| Rule | Errors | Warnings | Waived |\n| --- | ---: | ---: | ---: |\n");
    for (rule, c) in report.per_rule() {
        let _ = writeln!(counts, "| `{rule}` | {} | {} | {} |", c.errors, c.warnings, c.notes);
    }
    counts.push_str("\nRun `kepguard explain <rule>` for what a rule checks and how to fix a finding.\n");

    let _ = writeln!(
        md,
        "| Level | Rule | KEP | Location | Message |\n| --- | --- | --- | --- | --- |"
    );
    // Room for the per-rule table and the truncation note.
    let budget = max.saturating_sub(counts.len() + 200);
    let mut shown = 0;
    for f in &report.findings {
        let kep = if f.number.is_empty() {
            cell(&f.kep)
        } else {
            format!("KEP-{} ({})", cell(&f.number), code(&f.kep))
        };
        let location = match f.location.line {
            Some(l) => code(&format!("{}:{l}", f.location.path)),
            None => code(&f.location.path),
        };
        let message = match f.severity {
            Severity::Note => format!("{} ({})", f.message(), f.notes.last().map_or("", String::as_str)),
            _ => f.message(),
        };
        let row = format!(
            "| {} | `{}` | {kep} | {location} | {} |\n",
            f.severity.as_str(),
            f.rule,
            cell(&message)
        );
        if md.len() + row.len() > budget {
            break;
        }
        md.push_str(&row);
        shown += 1;
    }
    if shown < report.findings.len() {
        let _ = writeln!(
            md,
            "\n*{} more finding(s) not listed: the summary is capped at 1 MiB. Run kepguard with `--format json` for all of them.*",
            report.findings.len() - shown
        );
    }
    md.push('\n');
    md.push_str(&counts);
    md
}

/// Text safe inside a Markdown table cell: KEP text (titles, directory names) is untrusted, so it
/// cannot end the row, open a link or an image, or carry HTML. Line breaks and other controls
/// become spaces; `&`, `<` and `>` become entities; other Markdown punctuation is backslash-escaped.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '~' | '#' | '|' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span holding `s`: on one line, backticks (which would close it) as quotes, and pipes
/// escaped for the table (GitHub unescapes `\|` inside code spans in tables). Inside a code span
/// Markdown and HTML are shown as text.
fn code(s: &str) -> String {
    format!("`{}`", one_line(s).replace('`', "'").replace('|', "\\|"))
}

/// `s` with every run of whitespace and control characters (line breaks included) as one space.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Location};

    fn report(n: usize, title: &str) -> Report {
        let mut r = Report {
            commits_checked: 2,
            keps_checked: 3,
            findings: vec![],
            tree: false,
            ..Default::default()
        };
        for i in 0..n {
            r.findings.push(Finding {
                rule: if i % 2 == 0 {
                    "implementation-history"
                } else {
                    "stage-monotonic"
                },
                severity: Severity::Error,
                commit: gix::ObjectId::null(gix::hash::Kind::Sha1),
                kep: "keps/sig-node/1-x".into(),
                number: "1".into(),
                location: Location {
                    path: "keps/sig-node/1-x/README.md".into(),
                    line: Some(7),
                    snippet: None,
                },
                title: title.into(),
                help: "fix it".into(),
                fix: None,
                notes: vec![],
            });
        }
        r
    }

    #[test]
    fn summary_has_a_verdict_a_table_and_per_rule_counts() {
        let md = markdown(&report(3, "KEP-1: a | b\nc <script>"));
        assert!(md.starts_with("## kepguard: ❌ 3 errors, 0 warnings\n"), "{md}");
        assert!(md.contains("Checked 3 KEP changes in 2 commits."));
        assert!(md.contains("| `implementation-history` | KEP-1 (`keps/sig-node/1-x`) | `keps/sig-node/1-x/README.md:7` | KEP-1: a \\| b c &lt;script&gt;; fix it |"), "{md}");
        assert!(
            md.contains("| `implementation-history` | 2 | 0 |") && md.contains("| `stage-monotonic` | 1 | 0 |"),
            "{md}"
        );
        assert!(markdown(&report(0, "")).contains("✅ no findings"));
    }

    #[test]
    fn cells_and_code_spans_hold_text_only() {
        assert_eq!(
            cell("a\n## b [c](d) ![e](f) `g` *h* <i> $j$"),
            r"a \#\# b \[c\]\(d\) \!\[e\]\(f\) \`g\` \*h\* &lt;i&gt; \$j\$"
        );
        assert_eq!(code("a\r\n`b` | c"), r"`a 'b' \| c`");
    }

    #[test]
    fn summary_stays_under_the_cap() {
        let big = report(20_000, &"long message ".repeat(10));
        let md = markdown(&big);
        assert!(md.len() <= MAX_BYTES, "{}", md.len());
        assert!(md.contains("more finding(s) not listed"));
        assert!(md.contains("### Per rule"), "the counts survive truncation");
        let small = markdown_capped(&report(50, "x"), 2_000);
        assert!(small.len() <= 2_000, "{}", small.len());
    }
}
