//! How failures are reported: one line per error, shared by the command line and the hooks.

use crate::report::human;

/// An error and its causes on one line, as every failure is reported. A cause whose text the line
/// holds already (gix errors print their sources too) is left out. Causes may quote repository
/// content (paths, revisions), so no control character reaches the terminal.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    human::clean(&line)
}
