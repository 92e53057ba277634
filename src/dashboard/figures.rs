//! The figures of the report page, counted from the ledger's judged changes: for each lifecycle
//! rule, how many changes it judged and how many it found wanting, overall, per quarter and per
//! SIG.

use std::collections::BTreeMap;

use crate::date::quarter_of;
use crate::kep::metadata::Stage;
use crate::ledger::{Judged, Ledger};
use crate::rules;

/// One rule's count over a set of changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Changes the rule judged.
    pub judged: usize,
    /// Of those, the changes it reported a finding on.
    pub flagged: usize,
}

impl Tally {
    /// The share of judged changes with no finding, in percent; `None` when none was judged.
    pub fn percent(&self) -> Option<f64> {
        (self.judged > 0).then(|| 100.0 * (self.judged - self.flagged) as f64 / self.judged as f64)
    }
}

/// The rules of `tallies` (those that judged a change, [`rules::Rule::applies`]) in the
/// registry's order.
pub fn judging_rules(tallies: &BTreeMap<&'static str, Tally>) -> Vec<&'static str> {
    rules::ALL
        .iter()
        .map(|r| r.info().id)
        .filter(|id| tallies.contains_key(id))
        .collect()
}

/// Each lifecycle rule's tally over `changes`.
pub fn tally<'a>(changes: impl IntoIterator<Item = &'a Judged>) -> BTreeMap<&'static str, Tally> {
    let mut out: BTreeMap<&'static str, Tally> = BTreeMap::new();
    for change in changes {
        for rule in &change.judged {
            let t = out.entry(rule).or_default();
            t.judged += 1;
            if change.found.contains(rule) {
                t.flagged += 1;
            }
        }
    }
    out
}

/// A rule's tally in `tallies`, zero when it judged nothing.
pub fn of(tallies: &BTreeMap<&'static str, Tally>, rule: &str) -> Tally {
    tallies.get(rule).copied().unwrap_or_default()
}

/// The tallies of each calendar quarter (`2024-Q1`) with changes, oldest first.
pub fn per_quarter(ledger: &Ledger) -> Vec<(String, BTreeMap<&'static str, Tally>)> {
    let mut by: BTreeMap<(i64, i64), Vec<&Judged>> = BTreeMap::new();
    for j in &ledger.judged {
        by.entry(quarter_of(j.time)).or_default().push(j);
    }
    by.into_iter()
        .map(|((y, q), changes)| (format!("{y}-Q{q}"), tally(changes)))
        .collect()
}

/// One SIG's row.
#[derive(Debug, Clone, Default)]
pub struct SigRow {
    pub sig: String,
    /// KEP changes in the SIG's KEPs.
    pub changes: usize,
    pub tallies: BTreeMap<&'static str, Tally>,
    pub findings: usize,
}

/// The rows of each SIG (the KEP's `owning-sig`, else its directory), by name.
pub fn per_sig(ledger: &Ledger) -> Vec<SigRow> {
    let mut by: BTreeMap<&str, Vec<&Judged>> = BTreeMap::new();
    for j in &ledger.judged {
        by.entry(j.sig.as_str()).or_default().push(j);
    }
    by.into_iter()
        .map(|(sig, changes)| SigRow {
            sig: sig.to_owned(),
            changes: changes.len(),
            findings: changes.iter().map(|c| c.found.len()).sum(),
            tallies: tally(changes),
        })
        .collect()
}

/// Ledger entries whose stage moved backwards (beta -> alpha, stable -> beta, ...).
pub fn backward_stage_moves(ledger: &Ledger) -> usize {
    ledger
        .keps
        .iter()
        .flat_map(|k| &k.entries)
        .flat_map(|e| &e.transitions)
        .filter(|t| t.key == "stage")
        .filter(|t| {
            let parse = |v: &Option<String>| v.as_deref().and_then(Stage::parse);
            matches!((parse(&t.old), parse(&t.new)), (Some(o), Some(n)) if n < o)
        })
        .count()
}
