//! rustc-style diagnostics.

use std::io::Write;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use anyhow::Result;

use crate::finding::{Finding, Report, Severity, plural};

pub fn render(report: &Report, color: bool, out: &mut dyn Write) -> Result<()> {
    render_findings(&report.findings, color, out)?;
    write!(out, "{}", per_rule(report))?;
    writeln!(out, "{}", summary_line(report))?;
    Ok(())
}

/// The diagnostics alone, each followed by a blank line: errors first, then warnings, then notes,
/// so the findings that fail a run are read first; otherwise in the order given.
pub fn render_findings(findings: &[Finding], color: bool, out: &mut dyn Write) -> Result<()> {
    let mut ordered: Vec<&Finding> = findings.iter().collect();
    ordered.sort_by_key(|f| f.severity);
    // A push over a long history can report thousands: they are rendered a share per core, and
    // written in order.
    let render = |part: &[&Finding]| {
        let renderer = if color { Renderer::styled() } else { Renderer::plain() };
        let mut text = String::new();
        for finding in part {
            text.push_str(&renderer.render(&diagnostic(finding)));
            text.push_str("\n\n");
        }
        text
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts: Vec<String> = if workers > 1 && ordered.len() >= 64 {
        let share = ordered.len().div_ceil(workers);
        std::thread::scope(|scope| {
            let handles: Vec<_> = ordered
                .chunks(share)
                .map(|part| scope.spawn(move || render(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    } else {
        vec![render(&ordered)]
    };
    for part in parts {
        out.write_all(part.as_bytes())?;
    }
    Ok(())
}

/// A table of each rule's counts, in the registry's order, followed by a blank line; empty when
/// nothing was found. Over a long history it shows at once which rules the findings come from.
pub fn per_rule(report: &Report) -> String {
    let counts = report.per_rule();
    if counts.is_empty() {
        return String::new();
    }
    let waived = counts.iter().any(|(_, c)| c.notes > 0);
    let width = counts
        .iter()
        .map(|(id, _)| id.len())
        .max()
        .unwrap_or(0)
        .max("rule".len());
    let mut table = format!("{:<width$}  {:>6}  {:>8}", "rule", "errors", "warnings");
    if waived {
        table.push_str(&format!("  {:>6}", "waived"));
    }
    table.push('\n');
    for (id, c) in counts {
        table.push_str(&format!("{id:<width$}  {:>6}  {:>8}", c.errors, c.warnings));
        if waived {
            table.push_str(&format!("  {:>6}", c.notes));
        }
        table.push('\n');
    }
    table.push('\n');
    table
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
            let text = clean_text(text, true);
            let span = text.len() - text.trim_start().len()..text.trim_end().len();
            title.element(
                Snippet::source(text)
                    .line_start(line)
                    .path(clean(&location.path))
                    .annotation(AnnotationKind::Primary.span(span)),
            )
        }
        (line, _) => {
            let origin = Origin::path(clean(&location.path));
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

    let checked = report.checked();
    let waived = match report.count(Severity::Note) {
        0 => String::new(),
        n => format!("; {} waived by policy or baseline", plural(n, "finding")),
    };
    let policy = match &report.policy {
        Some(origin) => format!("; judged by {origin}"),
        None => String::new(),
    };
    if errors + warnings == 0 {
        format!("kepguard: no findings ({checked} checked{waived}{policy})")
    } else {
        format!(
            "kepguard: {}, {} ({checked} checked{waived}{policy})",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// KEP text is untrusted: no control characters or escape sequences reach the terminal. Each
/// escape sequence (CSI, OSC, DCS and the like, 7- or 8-bit) and every other control character
/// becomes one U+FFFD, as do bidirectional overrides; line breaks too, so text cannot start a line
/// of its own. Tabs are kept in snippets (`keep_tabs`), where they are the text being pointed at.
pub fn clean_text(s: &str, keep_tabs: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' if keep_tabs => out.push(c),
            '\u{1b}' => {
                skip_escape(&mut chars);
                out.push('\u{fffd}');
            }
            // C1 introducers of sequences that run on: CSI, and DCS, SOS, OSC, PM, APC strings.
            '\u{9b}' => {
                skip_csi(&mut chars);
                out.push('\u{fffd}');
            }
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                skip_string(&mut chars);
                out.push('\u{fffd}');
            }
            c if c.is_control() || is_bidi_control(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// [`clean_text`] for text shown on one line.
pub fn clean(s: &str) -> String {
    clean_text(s, false)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Skips what follows an ESC: a CSI, a control string, or an ESC sequence's intermediates and
/// final byte.
fn skip_escape(chars: &mut Chars<'_>) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string(chars);
        }
        _ => {
            while chars.next_if(|c| ('\u{20}'..='\u{2f}').contains(c)).is_some() {}
            chars.next_if(|c| ('\u{30}'..='\u{7e}').contains(c));
        }
    }
}

/// Skips a CSI's parameter and intermediate bytes and its final byte.
fn skip_csi(chars: &mut Chars<'_>) {
    while chars.next_if(|c| ('\u{20}'..='\u{3f}').contains(c)).is_some() {}
    chars.next_if(|c| ('\u{40}'..='\u{7e}').contains(c));
}

/// Skips a control string up to and including its terminator: BEL, ESC \\ or ST. A line break
/// ends it too, as terminals that do not know the string would.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next_if(|c| *c != '\n') {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

/// Explicit bidirectional embeddings, overrides and isolates, which can make text read other
/// than it is.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_replaced_whole() {
        assert_eq!(clean("a\u{1b}]0;pwned\u{7}b"), "a\u{fffd}b");
        assert_eq!(clean("a\u{1b}]8;;http://x\u{1b}\\link"), "a\u{fffd}link");
        assert_eq!(clean("\u{1b}[2J\u{1b}[31mred\u{1b}[0m"), "\u{fffd}\u{fffd}red\u{fffd}");
        assert_eq!(clean("a\u{9b}31mb\u{9d}0;t\u{9c}c"), "a\u{fffd}b\u{fffd}c");
        assert_eq!(clean("x\u{1b}(By"), "x\u{fffd}y");
        assert_eq!(
            clean("line\r\n::error::x\u{0}"),
            "line\u{fffd}\u{fffd}::error::x\u{fffd}"
        );
        assert_eq!(clean("trailing \u{1b}"), "trailing \u{fffd}");
        assert_eq!(clean("\u{1b}]unterminated"), "\u{fffd}");
        assert_eq!(clean("rtl \u{202e}txt"), "rtl \u{fffd}txt");
        assert_eq!(clean_text("\t- x", true), "\t- x");
        assert_eq!(clean("\t- x"), "\u{fffd}- x");
        assert_eq!(
            clean("KEP-1234: caf\u{e9} \u{2192} ok"),
            "KEP-1234: caf\u{e9} \u{2192} ok"
        );
    }
}
