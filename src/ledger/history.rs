//! `kepguard history KEP`: one KEP's ledger in the terminal.

use std::fmt::Write as _;

use super::{KepLedger, Ledger, value};
use crate::date::day_of;

/// The ledger of `kep` as lines of text, oldest change first.
pub fn render(ledger: &Ledger, kep: &KepLedger) -> String {
    let mut out = String::new();
    let name = match kep.number.as_str() {
        "" => kep.path.clone(),
        n => format!("KEP-{n}"),
    };
    let _ = writeln!(out, "{name}: {} ({})", or_dash(&kep.title), kep.sig);
    let _ = writeln!(out, "  {}{}", kep.path, if kep.deleted { " (deleted)" } else { "" });
    for former in &kep.former_paths {
        let _ = writeln!(out, "  formerly {former}");
    }
    let now: Vec<String> = ["status", "stage", "latest-milestone"]
        .iter()
        .filter_map(|k| value(&kep.values, k).map(|v| format!("{k} {v}")))
        .collect();
    let _ = writeln!(out, "  now: {}\n", or_dash(&now.join(", ")));
    for e in &kep.entries {
        let commit = &ledger.commits[e.commit];
        let short = &commit.id.to_string()[..9];
        let what = e.describe();
        let _ = writeln!(out, "  {}  {short}  {what}", day_of(commit.time));
        let mut moved = Vec::new();
        if let Some(h) = e.history {
            moved.push(format!(
                "Implementation History {}",
                if h { "updated" } else { "not updated" }
            ));
        }
        if let Some(p) = e.prr {
            moved.push(format!("PRR answers {}", if p { "updated" } else { "not updated" }));
        }
        let flagged: Vec<String> = e
            .findings
            .iter()
            .map(|(r, s)| format!("{s} {r}", s = s.as_str()))
            .collect();
        if !moved.is_empty() || !flagged.is_empty() {
            let mut parts = moved;
            parts.extend(flagged);
            let _ = writeln!(out, "                         {}", parts.join("; "));
        }
        let _ = writeln!(out, "                         {}", commit.subject);
    }
    out
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}
