//! The rules. Each lives in its own file, declares its id, default level and documentation with
//! [`declare_rule!`], and is listed once in [`ALL`].

pub mod converted;
mod file_too_large;
pub mod implementation_history;
mod kep_metadata;
mod kep_tree;
mod milestone_monotonic;
pub mod policy_change;
mod prr_approval;
mod prr_complete;
pub mod prr_on_graduation;
mod stage_monotonic;
mod stage_skip;
mod status_transition;
mod template_sections;

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

use anyhow::Result;
use gix::ObjectId;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::finding::{Finding, Location, Severity};
use crate::kep::RepoFiles;
use crate::kep::metadata::{Metadata, Milestone, Status, render_scalar, values_equal};
use crate::kep::readme::{Heading, section_gained_line};
use crate::kep::{KepDiff, Snapshot};
use crate::policy::Policy;

/// A rule's identity and documentation.
#[derive(Debug)]
pub struct RuleInfo {
    /// Stable kebab-case id.
    pub id: &'static str,
    pub default_severity: Severity,
    /// One line: what the rule checks.
    pub summary: &'static str,
    /// What it checks, why, and how to fix a finding: the rule's doc comment, printed by `explain`.
    pub doc: &'static str,
}

/// Declares a rule's [`RuleInfo`] from its doc comment, as clippy declares lints.
macro_rules! declare_rule {
    ($(#[doc = $doc:literal])* $name:ident, $id:literal, $severity:ident, $summary:literal) => {
        pub static $name: $crate::rules::RuleInfo = $crate::rules::RuleInfo {
            id: $id,
            default_severity: $crate::finding::Severity::$severity,
            summary: $summary,
            doc: concat!($($doc, "\n"),*),
        };
    };
}
pub(crate) use declare_rule;

pub trait Rule: Sync {
    fn info(&self) -> &'static RuleInfo;
    /// Judges one touched KEP, pushing findings to `out`.
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()>;
    /// Whether the rule judges a KEP as it stands, so `kepguard validate` runs it too.
    fn snapshot(&self) -> bool {
        false
    }
    /// Whether the change in `cx` is one this rule judges, whatever it finds: the changes its
    /// compliance figures stand on (`kepguard report`). `None` for a rule that does not judge
    /// lifecycle changes.
    fn applies(&self, _cx: &Context<'_>) -> Result<Option<bool>> {
        Ok(None)
    }
    /// Judges a tree as a whole (`kepguard validate`), once, beside the per-KEP checks.
    fn check_tree(&self, _cx: &TreeContext<'_>, _out: &mut Vec<Finding>) -> Result<()> {
        Ok(())
    }
    /// Parses the rule's options: its `rules.<id>` mapping in the policy file, `level` removed
    /// (an empty mapping gives the defaults). A rule with options returns [`options::<T>`].
    fn options(&self, raw: serde_yaml::Value) -> Result<Options, serde_yaml::Error> {
        options::<NoOptions>(raw)
    }
}

/// A rule's parsed options, as the policy keeps them.
pub type Options = Arc<dyn RuleOptions>;

/// What a rule's options struct is: deserialised from the policy, compared in tests by `Debug`.
pub trait RuleOptions: Any + Debug + Send + Sync {}
impl<T: Any + Debug + Send + Sync> RuleOptions for T {}

/// Deserialises a rule's options struct `T` from its policy mapping.
pub fn options<T: RuleOptions + DeserializeOwned>(raw: serde_yaml::Value) -> Result<Options, serde_yaml::Error> {
    Ok(Arc::new(serde_yaml::from_value::<T>(raw)?))
}

/// The options of a rule that has none: any key is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// The option of the PRR rules: they apply to KEPs targeting this milestone or later.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrrSince {
    #[serde(default = "PrrSince::default_since")]
    pub since: Milestone,
}

impl PrrSince {
    /// The release from which Production Readiness Review is required upstream.
    pub const DEFAULT: Milestone = Milestone { major: 1, minor: 21 };

    fn default_since() -> Milestone {
        Self::DEFAULT
    }
}

/// Every rule, in the order `explain` lists them.
pub static ALL: &[&dyn Rule] = &[
    &implementation_history::ImplementationHistory,
    &stage_monotonic::StageMonotonic,
    &prr_on_graduation::PrrOnGraduation,
    &kep_metadata::KepMetadata,
    &prr_approval::PrrApproval,
    &prr_complete::PrrComplete,
    &template_sections::TemplateSections,
    &status_transition::StatusTransition,
    &milestone_monotonic::MilestoneMonotonic,
    &stage_skip::StageSkip,
    &file_too_large::FileTooLarge,
    &kep_tree::KepTree,
    &policy_change::PolicyChange,
];

pub fn find(id: &str) -> Option<&'static dyn Rule> {
    ALL.iter().copied().find(|r| r.info().id == id)
}

/// The doc text of a rule without the single leading space `///` leaves.
pub fn doc_text(info: &RuleInfo) -> String {
    info.doc
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a rule sees: one touched KEP in one commit.
pub struct Context<'a> {
    pub commit: ObjectId,
    pub diff: &'a KepDiff<'a>,
    pub policy: &'a Policy,
    pub repo: &'a dyn RepoFiles,
    pub scope: Scope,
}

/// What a rule sees of a tree as a whole.
pub struct TreeContext<'a> {
    pub commit: ObjectId,
    pub policy: &'a Policy,
    pub repo: &'a dyn RepoFiles,
}

impl TreeContext<'_> {
    /// A finding about the tree at `path` (no KEP of its own).
    pub fn finding(
        &self,
        rule: &'static RuleInfo,
        path: &str,
        line: Option<usize>,
        title: String,
        help: String,
    ) -> Finding {
        Finding {
            rule: rule.id,
            severity: rule.default_severity,
            commit: self.commit,
            kep: path.to_owned(),
            number: String::new(),
            location: Location {
                path: path.to_owned(),
                line,
                snippet: None,
            },
            title,
            help,
            fix: None,
            notes: Vec::new(),
        }
    }
}

/// What is being judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A change: `diff.old` is the KEP before it (`None` for a new KEP).
    Change,
    /// A tree as it stands (`kepguard validate`): only `diff.new` is set.
    Tree,
}

impl Context<'_> {
    pub fn finding(&self, rule: &'static RuleInfo, location: Location, title: String, help: String) -> Finding {
        Finding {
            rule: rule.id,
            severity: rule.default_severity,
            commit: self.commit,
            kep: self.diff.change.kep.path.clone(),
            number: self.diff.number(),
            location,
            title,
            help,
            fix: None,
            notes: Vec::new(),
        }
    }

    /// The options of `rule` in force: the policy's, else the rule's defaults.
    pub fn options<T: RuleOptions>(&self, rule: &'static RuleInfo) -> &T {
        self.policy.options(rule.id)
    }

    /// `KEP-<number>` (or the KEP's path where it has no number) for messages.
    pub fn kep_name(&self) -> String {
        match self.diff.number() {
            n if n.is_empty() => self.diff.change.kep.path.clone(),
            n => format!("KEP-{n}"),
        }
    }
}

/// Whether kepval's walk of the checked tree reaches the file at `path`, for `validate`, where a
/// KEP kepval never reads cannot fail upstream CI. The walk is made once per commit.
pub fn kepval_reaches(cx: &Context<'_>, path: &str) -> Result<bool> {
    use std::cell::RefCell;
    use std::collections::HashSet;
    use std::rc::Rc;
    type Reached = Option<(ObjectId, String, Rc<HashSet<String>>)>;
    thread_local! {
        static CACHE: RefCell<Reached> = const { RefCell::new(None) };
    }
    let layout = &cx.policy.layout;
    let cached = CACHE.with_borrow(|c| match c {
        Some((commit, root, set)) if *commit == cx.commit && *root == layout.root => Some(set.clone()),
        _ => None,
    });
    let reached = match cached {
        Some(set) => set,
        None => {
            let walk = crate::kep::kepval::walk(cx.repo, &layout.root, &layout.prr_group)?;
            let set: Rc<HashSet<String>> = Rc::new(walk.found.into_iter().collect());
            CACHE.with_borrow_mut(|c| *c = Some((cx.commit, layout.root.clone(), set.clone())));
            set
        }
    };
    Ok(reached.contains(path))
}

/// In `validate`, turns the errors of a KEP whose `kep.yaml` kepval's walk never reaches into
/// warnings: upstream CI does not read that file.
pub fn unless_kepval_reaches(cx: &Context<'_>, findings: &mut [Finding]) -> Result<()> {
    let Some(new) = &cx.diff.new else { return Ok(()) };
    if cx.scope != Scope::Tree || findings.iter().all(|f| f.severity != Severity::Error) {
        return Ok(());
    }
    if new.kep.kind != crate::kep::KepKind::Directory || kepval_reaches(cx, &new.kep.metadata_path())? {
        return Ok(());
    }
    for f in findings.iter_mut().filter(|f| f.severity == Severity::Error) {
        f.severity = Severity::Warning;
        f.notes.push(
            "kepval's walk of the KEP root never reaches this kep.yaml (a kep.yaml above it stops the walk), so upstream CI does not check it: reported as a warning"
                .into(),
        );
    }
    Ok(())
}

/// A location at metadata key `key` of a snapshot's metadata file.
pub fn metadata_location(snap: &Snapshot<'_>, meta: Option<&Metadata>, key: &[&str]) -> Location {
    let line = meta.and_then(|m| m.key_line(key));
    Location {
        path: snap.kep.metadata_path(),
        line,
        snippet: line.and_then(|l| meta?.line_text(l)).map(str::to_owned),
    }
}

/// A location at a README heading.
pub fn heading_location(snap: &Snapshot<'_>, heading: &Heading) -> Result<Location> {
    let readme = snap.readme()?;
    Ok(Location {
        path: snap.kep.readme_path(),
        line: Some(heading.line),
        snippet: readme.and_then(|r| r.line_text(heading.line)).map(str::to_owned),
    })
}

/// Where the new README hides section `title` inside a code fence that is never closed: the
/// heading's location and the fence's line.
pub fn hidden_section(new: &Snapshot<'_>, title: &str) -> Result<Option<(Location, usize)>> {
    let Some(readme) = new.readme()? else { return Ok(None) };
    Ok(readme.hidden_heading(title).map(|(line, fence)| {
        (
            Location {
                path: new.kep.readme_path(),
                line: Some(line),
                snippet: readme.line_text(line).map(str::to_owned),
            },
            fence,
        )
    }))
}

/// What became of a README section across a change.
pub enum SectionUpdate {
    /// At least one visible line was inserted or replaced.
    Gained,
    /// The section is there but gained nothing; points at its heading.
    Unchanged(Location),
    /// The new README has no such section (or there is no README).
    Missing,
}

/// Whether section `title` of the new README gained a visible line over the old one. The README
/// is not read at all when its blob did not change.
pub fn section_update(
    diff: &KepDiff<'_>,
    old: &Snapshot<'_>,
    new: &Snapshot<'_>,
    title: &str,
) -> Result<SectionUpdate> {
    let Some(readme) = new.readme()? else {
        return Ok(SectionUpdate::Missing);
    };
    let Some(section) = readme.section(title) else {
        return Ok(SectionUpdate::Missing);
    };
    if !diff.readme_unchanged() && section_gained_line(old.readme()?, readme, title) {
        return Ok(SectionUpdate::Gained);
    }
    Ok(SectionUpdate::Unchanged(heading_location(new, section.heading)?))
}

/// Whether Production Readiness Review applies to a KEP: it is implementable or implemented and
/// targets `since` or later (see [`targets_since`]).
pub fn prr_required(meta: &Metadata, since: Milestone) -> bool {
    matches!(meta.status(), Some(Status::Implementable | Status::Implemented)) && targets_since(meta, since)
}

/// Whether a KEP targets `since` or later: its `latest-milestone` or its current stage's
/// `milestone.<stage>` is `since` or later. A graduation belongs to the release it targets, so a
/// stale or lowered `latest-milestone` cannot exempt it; a missing or unreadable `latest-milestone`
/// cannot opt a KEP out either (as in kepval).
pub fn targets_since(meta: &Metadata, since: Milestone) -> bool {
    meta.milestone("latest-milestone", None).is_none_or(|m| m >= since)
        || stage_release(meta).is_some_and(|(_, m)| m >= since)
}

/// kepval's own test of whether PRR applies: `latest-milestone` alone (missing or unreadable
/// counts as applying).
pub fn kepval_requires_prr(meta: &Metadata, since: Milestone) -> bool {
    matches!(meta.status(), Some(Status::Implementable | Status::Implemented))
        && meta.milestone("latest-milestone", None).is_none_or(|m| m >= since)
}

/// The release the KEP's current stage names in `milestone.<stage>`, as written and parsed.
pub fn stage_release(meta: &Metadata) -> Option<(String, Milestone)> {
    let stage = meta.stage().valid()?;
    let text = meta.nested_scalar("milestone", stage.as_str())?;
    let m = Milestone::parse(&text)?;
    Some((text, m))
}

/// The release a KEP's current stage targets, for messages: `milestone.<stage>` when it names
/// one, else `latest-milestone`.
pub fn target_release(meta: &Metadata) -> Option<String> {
    if let Some((_, m)) = stage_release(meta) {
        return Some(m.to_string());
    }
    let latest = meta.scalar("latest-milestone")?;
    Some(match Milestone::parse(&latest).filter(|m| m.major > 0) {
        Some(m) => m.to_string(),
        None => latest,
    })
}

/// The keys whose change makes a lifecycle change.
pub const LIFECYCLE_KEYS: [&str; 4] = ["status", "stage", "latest-milestone", "milestone"];

/// One lifecycle value that changed, for messages: `stage alpha -> beta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        write!(f, "{} {} -> {}", self.key, show(&self.old), show(&self.new))
    }
}

/// The lifecycle values that differ between two metadata documents, `milestone` per sub-key.
pub fn lifecycle_transitions(old: &Metadata, new: &Metadata) -> Vec<Transition> {
    let mut out = Vec::new();
    for key in LIFECYCLE_KEYS {
        let (o, n) = (old.get(key), new.get(key));
        if values_equal(o, n) {
            continue;
        }
        match (o, n) {
            (Some(serde_yaml::Value::Mapping(om)), Some(serde_yaml::Value::Mapping(nm))) => {
                let mut subs: Vec<String> = om.keys().chain(nm.keys()).filter_map(render_scalar).collect();
                subs.sort();
                subs.dedup();
                for sub in subs {
                    let (os, ns) = (old.nested_scalar(key, &sub), new.nested_scalar(key, &sub));
                    if os != ns {
                        out.push(Transition {
                            key: format!("{key}.{sub}"),
                            old: os,
                            new: ns,
                        });
                    }
                }
            }
            _ => out.push(Transition {
                key: key.to_owned(),
                old: o.and_then(render_scalar),
                new: n.and_then(render_scalar),
            }),
        }
    }
    out
}

/// The lifecycle values [`lifecycle_transitions`] compares, `milestone` per sub-key, in key
/// order: a KEP's lifecycle state, for comparing sides that are not one change's (a move, a
/// conversion).
pub fn lifecycle_values(meta: &Metadata) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for key in LIFECYCLE_KEYS {
        match meta.get(key) {
            Some(serde_yaml::Value::Mapping(m)) => {
                let mut subs: Vec<String> = m.keys().filter_map(render_scalar).collect();
                subs.sort();
                for sub in subs {
                    if let Some(v) = meta.nested_scalar(key, &sub) {
                        out.push((format!("{key}.{sub}"), v));
                    }
                }
            }
            Some(v) => out.extend(render_scalar(v).map(|v| (key.to_owned(), v))),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_kebab_case_and_documented() {
        let mut ids: Vec<_> = ALL.iter().map(|r| r.info().id).collect();
        for id in &ids {
            assert!(id.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{id}");
        }
        for r in ALL {
            let doc = doc_text(r.info());
            for part in ["## What it checks", "## Why", "## How to fix"] {
                assert!(doc.contains(part), "{} lacks {part}", r.info().id);
            }
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
    }

    #[test]
    fn transitions_list_changed_milestone_sub_keys() {
        let old = Metadata::parse("stage: alpha\nmilestone:\n  alpha: v1.1\n", 0).unwrap();
        let new = Metadata::parse("stage: beta\nmilestone:\n  alpha: \"v1.1\"\n  beta: v1.2\n", 0).unwrap();
        let t: Vec<String> = lifecycle_transitions(&old, &new)
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(t, vec!["stage alpha -> beta", "milestone.beta (none) -> v1.2"]);
    }
}
