//! rustc-style diagnostics.

use std::io::Write;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use anyhow::Result;

use crate::finding::{Finding, Report, Severity};

pub fn render(report: &Report, color: bool, out: &mut dyn Write) -> Result<()> {
    render_findings(&report.findings, color, out)?;
    writeln!(out, "{}", summary_line(report))?;
    Ok(())
}

/// The diagnostics alone, each followed by a blank line.
pub fn render_findings(findings: &[Finding], color: bool, out: &mut dyn Write) -> Result<()> {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    for finding in findings {
        writeln!(out, "{}\n", renderer.render(&diagnostic(finding)))?;
    }
    Ok(())
}

fn diagnostic(f: &Finding) -> Vec<Group<'static>> {
    let level = match f.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Note => Level::NOTE,
    };
    let title = level.primary_title(clean(&f.title)).id(f.rule);
    let location = &f.location;
    let group = match (location.line, &location.snippet) {
        (Some(line), Some(text)) => {
            let text = clean(text);
            let span = text.len() - text.trim_start().len()..text.trim_end().len();
            title.element(
                Snippet::source(text)
                    .line_start(line)
                    .path(location.path.clone())
                    .annotation(AnnotationKind::Primary.span(span)),
            )
        }
        (line, _) => {
            let origin = Origin::path(location.path.clone());
            title.element(match line {
                Some(l) => origin.line(l),
                None => origin,
            })
        }
    };
    let mut group = group.element(Level::NOTE.message(format!("in commit {}", f.commit)));
    for note in &f.notes {
        group = group.element(Level::NOTE.message(clean(note)));
    }
    vec![group.element(Level::HELP.message(clean(&f.help)))]
}

/// One line closing every human report.
pub fn summary_line(report: &Report) -> String {
    let (errors, warnings) = (report.count(Severity::Error), report.count(Severity::Warning));
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let checked = format!(
        "{} in {}",
        plural(report.keps_checked, "KEP change"),
        plural(report.commits_checked, "commit")
    );
    let waived = match report.count(Severity::Note) {
        0 => String::new(),
        n => format!("; {} waived by policy", plural(n, "finding")),
    };
    if errors + warnings == 0 {
        format!("kepguard: no findings ({checked} checked{waived})")
    } else {
        format!(
            "kepguard: {}, {} ({checked} checked{waived})",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// KEP text is untrusted: no control characters or escape sequences reach the terminal.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}
