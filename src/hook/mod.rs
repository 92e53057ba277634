//! Git hooks: a server-side pre-receive gate, a local pre-push guard (also run by the pre-commit
//! framework), and their installation.

pub mod install;
pub mod pre_push;
pub mod pre_receive;

use std::io::Write;

use anyhow::{Context, Result, bail};
use gix::ObjectId;

use crate::finding::Report;
use crate::report::human;

/// Parses a full hexadecimal object id from hook input.
pub fn parse_oid(s: &str, what: &str) -> Result<ObjectId> {
    ObjectId::from_hex(s.as_bytes()).with_context(|| format!("{what}: `{s}` is not an object id"))
}

/// Splits a hook input line into exactly `n` space-separated fields.
pub fn fields<'a>(line: &'a str, n: usize, lineno: usize, shape: &str) -> Result<Vec<&'a str>> {
    let parts: Vec<&str> = line.split(' ').collect();
    if parts.len() != n || parts.iter().any(|p| p.is_empty()) {
        bail!("input line {lineno} is not `{shape}`: {:?}", line);
    }
    Ok(parts)
}

/// The diagnostics of `report` as text, every line prefixed with `prefix`.
pub fn diagnostics(report: &Report, color: bool, prefix: &str) -> Result<String> {
    let mut buf = Vec::new();
    human::render_findings(&report.findings, color, &mut buf)?;
    Ok(prefixed(&String::from_utf8_lossy(&buf), prefix))
}

pub fn prefixed(text: &str, prefix: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}\n")).collect()
}

/// Writes to stderr, ignoring a closed pipe: a hook's verdict is its exit code.
pub fn say(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}
