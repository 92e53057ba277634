//! The ledger as data: `kepguard/ledger/v1`, every KEP's lifecycle changes over history.

use serde_json::{Value, json};

use super::{Entry, KepLedger, Ledger, value};
use crate::date::day_of;
use crate::finding::Report;

/// The document's kind; changes to it are additive.
pub const KIND: &str = "kepguard/ledger/v1";

/// The whole ledger, KEPs in number order (those without one by path), with the audit's
/// figures: what the report page's headline shows.
pub fn document(ledger: &Ledger, report: &Report, range: &str) -> Value {
    let keps = ledger.by_number();
    json!({
        "kind": KIND,
        "range": range,
        "commits": ledger.commits.len(),
        "figures": figures(ledger, report),
        "keps": keps.iter().map(|k| kep(ledger, k)).collect::<Vec<_>>(),
    })
}

/// The audit's counts and each lifecycle rule's tally over the range.
fn figures(ledger: &Ledger, report: &Report) -> Value {
    let tallies = crate::dashboard::figures::tally(&ledger.judged);
    let rules: serde_json::Map<String, Value> = tallies
        .iter()
        .map(|(id, t)| (id.to_string(), json!({"judged": t.judged, "flagged": t.flagged})))
        .collect();
    let findings: serde_json::Map<String, Value> = report
        .per_rule()
        .into_iter()
        .map(|(id, c)| {
            (
                id.to_owned(),
                json!({"errors": c.errors, "warnings": c.warnings, "notes": c.notes}),
            )
        })
        .collect();
    json!({
        "commits_checked": report.commits_checked,
        "keps_checked": report.keps_checked,
        "lifecycle_rules": rules,
        "backward_stage_moves": crate::dashboard::figures::backward_stage_moves(ledger),
        "findings_per_rule": findings,
    })
}

/// One KEP's ledger.
pub fn kep(ledger: &Ledger, k: &KepLedger) -> Value {
    json!({
        "number": k.number,
        "title": k.title,
        "owning_sig": k.sig,
        "path": k.path,
        "former_paths": k.former_paths,
        "deleted": k.deleted,
        "status": value(&k.values, "status"),
        "stage": value(&k.values, "stage"),
        "latest_milestone": value(&k.values, "latest-milestone"),
        "entries": k.entries.iter().map(|e| entry(ledger, e)).collect::<Vec<_>>(),
    })
}

fn entry(ledger: &Ledger, e: &Entry) -> Value {
    let commit = &ledger.commits[e.commit];
    let from = match &e.event {
        super::Event::Moved { from } | super::Event::Converted { from } => Some(from.as_str()),
        _ => None,
    };
    json!({
        "commit": commit.id.to_string(),
        "date": day_of(commit.time),
        "subject": commit.subject,
        "event": e.event.as_str(),
        "path": e.path,
        "from": from,
        "changes": e.transitions.iter().map(|t| json!({"key": t.key, "old": t.old, "new": t.new})).collect::<Vec<_>>(),
        "status": e.value("status"),
        "stage": e.value("stage"),
        "latest_milestone": e.value("latest-milestone"),
        "implementation_history": e.history,
        "prr_answers": e.prr,
        "findings": e.findings.iter().map(|(rule, severity)| json!({"rule": rule, "severity": severity.as_str()})).collect::<Vec<_>>(),
    })
}
