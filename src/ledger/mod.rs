//! Each KEP's lifecycle over history: every change of `status`, `stage`, `latest-milestone` and
//! `milestone.*`, with whether the Implementation History and the PRR answers moved with it.
//!
//! The ledger is learnt during an audit ([`engine::audit_observed`]): for each judged KEP change
//! it keeps the change's lifecycle transitions, the README sections it touched, which lifecycle
//! rules judged it and what they found. [`Ledger::assemble`] then follows each KEP from commit to
//! commit, oldest first, across moves between directories and legacy-file conversions.

pub mod history;
pub mod json;

use std::collections::HashMap;

use anyhow::{Context as _, Result};
use gix::ObjectId;
use gix::objs::FindExt;

use crate::engine::{self, Observer};
use crate::finding::{Finding, Report, Severity};
use crate::git::Objects;
use crate::git::walk::CommitPair;
use crate::policy::{Level, Policy};
use crate::rules::{self, Context, SectionUpdate, Transition};

/// A KEP's lifecycle values (`status`, `stage`, `latest-milestone`, `milestone.<stage>`), in key
/// order.
pub type Values = Vec<(String, String)>;

/// What the audit learns of one judged KEP change.
#[derive(Debug, Clone)]
pub struct Note {
    /// Where the KEP is after the change (before it, for a deleted KEP).
    pub path: String,
    pub moved_from: Option<String>,
    /// The legacy single-file KEP a new directory KEP converts.
    pub converted_from: Option<String>,
    pub side: Side,
    pub number: String,
    pub title: Option<String>,
    pub sig: Option<String>,
    /// The new side's lifecycle values (the old side's for a deleted KEP); `None` when the
    /// metadata does not parse.
    pub values: Option<Values>,
    /// What changed, when both sides parse.
    pub transitions: Vec<Transition>,
    /// Whether the Implementation History and the PRR answers gained a visible line, for a
    /// lifecycle change.
    pub history: Option<bool>,
    pub prr: Option<bool>,
    /// The lifecycle rules that judged the change, and what each found.
    pub judged: Vec<&'static str>,
    pub findings: Vec<(&'static str, Severity)>,
}

/// Which sides of the change hold the KEP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Created,
    Changed,
    Deleted,
}

/// Learns a [`Note`] from each judged change.
pub struct Learn;

impl Observer for Learn {
    type Note = Note;

    fn observe(&self, cx: &Context<'_>, findings: &[Finding]) -> Result<Note> {
        let diff = cx.diff;
        let side = match (&diff.old, &diff.new) {
            (None, _) => Side::Created,
            (_, None) => Side::Deleted,
            _ => Side::Changed,
        };
        let shown = diff.new.as_ref().or(diff.old.as_ref());
        let meta = shown.and_then(|s| s.metadata.parsed());
        let transitions = match diff.both_parsed() {
            Some((_, old, _, new)) => rules::lifecycle_transitions(old, new),
            None => Vec::new(),
        };
        let gained = |title: &str| -> Result<Option<bool>> {
            let Some((old, _, new, _)) = diff.both_parsed() else {
                return Ok(None);
            };
            if transitions.is_empty() {
                return Ok(None);
            }
            Ok(Some(matches!(
                rules::section_update(diff, old, new, title)?,
                SectionUpdate::Gained
            )))
        };
        let converted_from = match (&diff.new, side) {
            (Some(new), Side::Created) => rules::converted::converted_from(cx, new)?.map(|(path, _)| path),
            _ => None,
        };
        let mut judged = Vec::new();
        for rule in rules::ALL {
            if cx.policy.level(rule.info().id) != Level::Off && rule.applies(cx)? == Some(true) {
                judged.push(rule.info().id);
            }
        }
        Ok(Note {
            path: diff.change.kep.path.clone(),
            moved_from: diff.change.moved_from.as_ref().map(|k| k.path.clone()),
            converted_from,
            side,
            number: diff.number(),
            title: meta.and_then(|m| m.scalar("title")),
            sig: meta.and_then(|m| m.scalar("owning-sig")),
            values: meta.map(rules::lifecycle_values),
            history: gained(rules::implementation_history::SECTION)?,
            prr: gained(rules::prr_on_graduation::SECTION)?,
            transitions,
            judged,
            findings: findings.iter().map(|f| (f.rule, f.severity)).collect(),
        })
    }
}

/// A commit the ledger names.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: ObjectId,
    /// Committer time, Unix seconds.
    pub time: i64,
    pub subject: String,
}

/// One KEP change as the figures count it: when, in which SIG, judged and found by which rules.
#[derive(Debug, Clone)]
pub struct Judged {
    pub time: i64,
    pub sig: String,
    pub judged: Vec<&'static str>,
    pub found: Vec<&'static str>,
}

/// What happened to a KEP in one entry of its ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Created,
    /// Its lifecycle values changed in place.
    Changed,
    /// It moved from another directory (its values may have changed too).
    Moved {
        from: String,
    },
    /// A legacy single-file KEP became this directory KEP.
    Converted {
        from: String,
    },
    Deleted,
}

impl Event {
    pub fn as_str(&self) -> &'static str {
        match self {
            Event::Created => "created",
            Event::Changed => "changed",
            Event::Moved { .. } => "moved",
            Event::Converted { .. } => "converted",
            Event::Deleted => "deleted",
        }
    }
}

/// One entry of a KEP's ledger.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Index into [`Ledger::commits`].
    pub commit: usize,
    pub event: Event,
    pub path: String,
    pub transitions: Vec<Transition>,
    /// The lifecycle values after the entry.
    pub values: Values,
    pub history: Option<bool>,
    pub prr: Option<bool>,
    pub findings: Vec<(&'static str, Severity)>,
}

impl Entry {
    pub fn value(&self, key: &str) -> Option<&str> {
        value(&self.values, key)
    }

    /// What the entry did, in one line: `stage alpha -> beta, latest-milestone v1.20 -> v1.21`,
    /// `created: status provisional`, `moved from keps/sig-node/1003-x; stage alpha -> beta`.
    pub fn describe(&self) -> String {
        let changes = || {
            self.transitions
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.event {
            Event::Created => {
                let set: Vec<String> = self.values.iter().map(|(k, v)| format!("{k} {v}")).collect();
                match set.is_empty() {
                    true => "created: -".to_owned(),
                    false => format!("created: {}", set.join(", ")),
                }
            }
            Event::Deleted => "deleted".to_owned(),
            Event::Moved { from } | Event::Converted { from } => match self.transitions.is_empty() {
                true => format!("{} from {from}", self.event.as_str()),
                false => format!("{} from {from}; {}", self.event.as_str(), changes()),
            },
            Event::Changed => changes(),
        }
    }
}

/// The value of `key` in `values`.
pub fn value<'a>(values: &'a Values, key: &str) -> Option<&'a str> {
    values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// One KEP's life over the range.
#[derive(Debug, Clone, Default)]
pub struct KepLedger {
    pub number: String,
    pub title: String,
    pub sig: String,
    /// Where it is at the end of the range (where it was, when deleted).
    pub path: String,
    /// Where it was before, oldest first.
    pub former_paths: Vec<String>,
    pub entries: Vec<Entry>,
    /// Its lifecycle values at the end of the range.
    pub values: Values,
    pub deleted: bool,
}

/// Every KEP's ledger over a range of history.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// The commits entries name, oldest first.
    pub commits: Vec<CommitInfo>,
    pub keps: Vec<KepLedger>,
    /// Every judged KEP change, oldest first.
    pub judged: Vec<Judged>,
}

/// Audits `walk`'s commits and learns the ledger of every KEP they change: the audit's report
/// and the ledger.
pub fn learn<S>(
    store: &S,
    policy: &Policy,
    walk: impl FnOnce(&mut dyn FnMut(CommitPair)) -> Result<()>,
    progress: &(dyn Fn() + Sync),
) -> Result<(Report, Ledger)>
where
    S: gix::objs::Find + Clone + Send,
{
    let (commits, report, notes) = engine::audit_observed(store, policy, walk, progress, &Learn)?;
    let objects = Objects(store);
    let mut dated = Vec::new();
    for (pair, notes) in commits.iter().zip(notes).rev() {
        if !notes.is_empty() {
            dated.push((commit_info(objects, pair.commit)?, notes));
        }
    }
    Ok((report, Ledger::assemble(dated)))
}

fn commit_info(objects: Objects<'_>, id: ObjectId) -> Result<CommitInfo> {
    let mut buf = Vec::new();
    let commit = objects
        .find_commit(&id, &mut buf)
        .with_context(|| format!("cannot read commit {id}"))?;
    let time = commit.committer().map(|c| c.seconds()).unwrap_or_default();
    let subject = String::from_utf8_lossy(commit.message_summary().as_ref()).into_owned();
    Ok(CommitInfo { id, time, subject })
}

/// The transitions from `old` values to `new` ones, in key order.
fn transitions_between(old: &Values, new: &Values) -> Vec<Transition> {
    let mut keys: Vec<&str> = old.iter().chain(new).map(|(k, _)| k.as_str()).collect();
    keys.sort_by_key(|k| {
        rules::LIFECYCLE_KEYS
            .iter()
            .position(|l| k.split('.').next() == Some(l))
    });
    let mut seen = std::collections::HashSet::new();
    keys.into_iter()
        .filter(|k| seen.insert(*k))
        .filter_map(|k| {
            let (o, n) = (value(old, k), value(new, k));
            (o != n).then(|| Transition {
                key: k.to_owned(),
                old: o.map(str::to_owned),
                new: n.map(str::to_owned),
            })
        })
        .collect()
}

impl Ledger {
    /// Follows each KEP through the notes of `commits`, oldest first.
    pub fn assemble(commits: Vec<(CommitInfo, Vec<Note>)>) -> Ledger {
        let mut ledger = Ledger::default();
        // Where each KEP is now: its path's index in `ledger.keps`.
        let mut at: HashMap<String, usize> = HashMap::new();
        for (info, notes) in commits {
            let c = ledger.commits.len();
            ledger.commits.push(info);
            let time = ledger.commits[c].time;
            let converted: Vec<&str> = notes.iter().filter_map(|n| n.converted_from.as_deref()).collect();
            let renamed = renames(&notes, &converted);
            // Conversions and renames first take the old KEP's ledger; its deletion is then no
            // event.
            let mut order: Vec<&Note> = notes.iter().filter(|n| n.side != Side::Deleted).collect();
            order.extend(notes.iter().filter(|n| {
                n.side == Side::Deleted
                    && !converted.contains(&n.path.as_str())
                    && !renamed.values().any(|from| *from == n.path)
            }));
            for note in order {
                let renamed_from = renamed.get(note.path.as_str()).map(|p| p.to_string());
                ledger.judged.push(Judged {
                    time,
                    sig: sig_of(note),
                    judged: note.judged.clone(),
                    found: note.findings.iter().map(|(r, _)| *r).collect(),
                });
                let known = note
                    .converted_from
                    .as_ref()
                    .or(note.moved_from.as_ref())
                    .or(renamed_from.as_ref())
                    .and_then(|p| at.remove(p))
                    .or_else(|| at.get(&note.path).copied());
                let k = match known {
                    Some(k) => k,
                    None => {
                        ledger.keps.push(KepLedger::default());
                        ledger.keps.len() - 1
                    }
                };
                let kep = &mut ledger.keps[k];
                // A KEP first seen changing mid-range (`--since`) starts its ledger with that
                // change, compared with its old side as any change is.
                let event = match (note.side, &note.converted_from, &note.moved_from) {
                    (Side::Deleted, ..) => Event::Deleted,
                    (_, Some(from), _) if known.is_some() => Event::Converted { from: from.clone() },
                    (_, _, Some(from)) => Event::Moved { from: from.clone() },
                    (Side::Created, ..) if known.is_some() && renamed_from.is_some() => Event::Moved {
                        from: renamed_from.clone().unwrap_or_default(),
                    },
                    (Side::Created, ..) => Event::Created,
                    _ => Event::Changed,
                };
                let values = match note.side {
                    Side::Deleted => kep.values.clone(),
                    _ => note.values.clone().unwrap_or_else(|| kep.values.clone()),
                };
                let transitions = match event {
                    Event::Changed => note.transitions.clone(),
                    Event::Moved { .. } if note.side == Side::Changed => note.transitions.clone(),
                    Event::Deleted => Vec::new(),
                    _ => transitions_between(&kep.values, &values),
                };
                if let Event::Moved { from } | Event::Converted { from } = &event {
                    kep.former_paths.push(from.clone());
                }
                if note.side == Side::Deleted {
                    kep.deleted = true;
                } else {
                    kep.deleted = false;
                    at.insert(note.path.clone(), k);
                }
                kep.path = note.path.clone();
                if !note.number.is_empty() {
                    kep.number = note.number.trim_start_matches('0').to_owned();
                }
                if let Some(t) = &note.title {
                    kep.title = t.clone();
                }
                kep.sig = sig_of(note);
                kep.values = values.clone();
                if event == Event::Changed && transitions.is_empty() {
                    continue;
                }
                kep.entries.push(Entry {
                    commit: c,
                    event,
                    path: note.path.clone(),
                    transitions,
                    values,
                    history: note.history,
                    prr: note.prr,
                    findings: note.findings.clone(),
                });
            }
        }
        ledger.keps.retain(|k| !k.entries.is_empty());
        ledger
    }

    /// The KEPs in number order, those without a number last, by path.
    pub fn by_number(&self) -> Vec<&KepLedger> {
        let mut keps: Vec<&KepLedger> = self.keps.iter().collect();
        keps.sort_by_key(|k| {
            (
                k.number.is_empty(),
                k.number.parse::<u64>().unwrap_or(u64::MAX),
                k.path.as_str(),
            )
        });
        keps
    }

    /// The KEP named by `which`: a number (`2400`, `KEP-2400`) or a path (current or former).
    pub fn find(&self, which: &str) -> Option<&KepLedger> {
        let which = which.trim_end_matches('/');
        let number = which
            .strip_prefix("KEP-")
            .or_else(|| which.strip_prefix("kep-"))
            .unwrap_or(which);
        if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
            let number = number.trim_start_matches('0');
            // The KEP that is there now, before any deleted one that had the number.
            return self
                .keps
                .iter()
                .filter(|k| k.number == number)
                .min_by_key(|k| k.deleted);
        }
        self.keps
            .iter()
            .find(|k| k.path == which || k.former_paths.iter().any(|p| p == which))
    }
}

/// The KEPs of one commit's notes created where another was deleted: a legacy single-file KEP
/// renamed or moved, which the tree diff leaves unpaired (it pairs directory KEPs). Paired by the
/// same number, else the same title, where that names one deleted KEP: the new path's old path.
fn renames<'a>(notes: &'a [Note], converted: &[&str]) -> HashMap<&'a str, &'a str> {
    let deleted: Vec<&Note> = notes
        .iter()
        .filter(|n| n.side == Side::Deleted && !converted.contains(&n.path.as_str()))
        .collect();
    let mut out = HashMap::new();
    if deleted.is_empty() {
        return out;
    }
    let unpadded = |n: &str| n.trim_start_matches('0').to_owned();
    for new in notes
        .iter()
        .filter(|n| n.side == Side::Created && n.converted_from.is_none())
    {
        let same_number = |d: &&&Note| !new.number.is_empty() && unpadded(&d.number) == unpadded(&new.number);
        let same_title = |d: &&&Note| new.title.as_deref().is_some_and(|t| !t.is_empty()) && d.title == new.title;
        for same in [&same_number as &dyn Fn(&&&Note) -> bool, &same_title] {
            let hits: Vec<&&Note> = deleted.iter().filter(|d| same(d)).collect();
            if let [d] = hits[..] {
                if !out.values().any(|p| *p == d.path) {
                    out.insert(new.path.as_str(), d.path.as_str());
                }
                break;
            }
        }
    }
    out
}

/// The SIG a KEP belongs to: the SIG directory it sits in (`keps/sig-node/...`), which kepval
/// holds to `owning-sig`; else its `owning-sig`, written as it may be (`- sig-node`).
fn sig_of(note: &Note) -> String {
    sig_of_path(&note.path)
        .or_else(|| {
            let sig = note
                .sig
                .as_deref()?
                .trim_start_matches(['-', ' '])
                .trim()
                .to_lowercase();
            (!sig.is_empty()).then_some(sig)
        })
        .unwrap_or_else(|| "(none)".to_owned())
}

/// The SIG or working group directory in a KEP's path.
pub fn sig_of_path(path: &str) -> Option<String> {
    path.split('/')
        .find(|p| p.starts_with("sig-") || p.starts_with("wg-"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn transitions_between_states_list_each_changed_key_once() {
        let old = values(&[("stage", "alpha"), ("milestone.alpha", "v1.1")]);
        let new = values(&[
            ("stage", "beta"),
            ("milestone.alpha", "v1.1"),
            ("milestone.beta", "v1.2"),
        ]);
        let t: Vec<String> = transitions_between(&old, &new).iter().map(|t| t.to_string()).collect();
        assert_eq!(t, ["stage alpha -> beta", "milestone.beta (none) -> v1.2"]);
    }

    #[test]
    fn sig_of_a_path() {
        assert_eq!(sig_of_path("keps/sig-node/2400-swap").as_deref(), Some("sig-node"));
        assert_eq!(sig_of_path("keps/0001-legacy.md"), None);
    }
}
