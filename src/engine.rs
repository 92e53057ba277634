//! The data path: revisions -> changed KEPs (git) -> old/new snapshots (parsing) -> rules ->
//! findings.

use anyhow::{Result, bail};
use gix::ObjectId;

use crate::finding::{Finding, Report};
use crate::git::Objects;
use crate::git::changes::{DiffState, changed_keps};
use crate::git::walk::CommitPair;
use crate::kep::{KepDiff, Layout};
use crate::rules::{self, Context};

/// Checks the change from `old_tree` (`None`: empty tree) to `new_tree`, reporting findings
/// against `commit`, in path then rule order.
pub fn check_trees(
    objects: Objects<'_>,
    layout: &Layout,
    commit: ObjectId,
    old_tree: Option<ObjectId>,
    new_tree: ObjectId,
    state: &mut DiffState,
    report: &mut Report,
) -> Result<()> {
    let changed = changed_keps(objects, layout, old_tree, new_tree, state)?;
    let mut findings: Vec<Finding> = Vec::new();
    for change in &changed {
        let diff = KepDiff::load(change, &objects)?;
        let cx = Context { commit, diff: &diff };
        for rule in rules::ALL {
            rule.check(&cx, &mut findings)?;
        }
    }
    findings
        .sort_by(|a, b| (&a.location.path, a.rule, a.location.line).cmp(&(&b.location.path, b.rule, b.location.line)));
    report.keps_checked += changed.len();
    report.commits_checked += 1;
    report.findings.extend(findings);
    Ok(())
}

/// The net change of a branch, as a pull request shows it: the tree of `merge-base(base, head)`
/// against the tree of `head`.
pub fn check_range(objects: Objects<'_>, layout: &Layout, base: ObjectId, head: ObjectId) -> Result<Report> {
    let Some(merge_base) = objects.merge_base(base, head)? else {
        bail!("{head} shares no history with the base {base}");
    };
    let mut report = Report::default();
    check_against(objects, layout, merge_base, head, &mut report)?;
    Ok(report)
}

/// Checks commit `head` against commit `base` (their trees compared directly), adding to `report`.
pub fn check_against(
    objects: Objects<'_>,
    layout: &Layout,
    base: ObjectId,
    head: ObjectId,
    report: &mut Report,
) -> Result<()> {
    let (old, new) = (objects.commit_tree(&base)?, objects.commit_tree(&head)?);
    check_trees(objects, layout, head, Some(old), new, &mut DiffState::default(), report)
}

/// Checks commit `head` against its first parent (a root commit against the empty tree).
pub fn check_commit(objects: Objects<'_>, layout: &Layout, head: ObjectId) -> Result<Report> {
    let mut report = Report::default();
    match objects.first_parent(&head)? {
        Some(parent) => check_against(objects, layout, parent, head, &mut report)?,
        None => {
            let tree = objects.commit_tree(&head)?;
            check_trees(
                objects,
                layout,
                head,
                None,
                tree,
                &mut DiffState::default(),
                &mut report,
            )?;
        }
    }
    Ok(report)
}

/// Checks each commit against its first parent, in the order given. `progress` is told after each.
pub fn audit(
    objects: Objects<'_>,
    layout: &Layout,
    commits: &[CommitPair],
    mut progress: impl FnMut(),
) -> Result<Report> {
    let mut report = Report::default();
    let mut state = DiffState::default();
    for pair in commits {
        let new = objects.commit_tree(&pair.commit)?;
        let old = pair.parent.map(|p| objects.commit_tree(&p)).transpose()?;
        check_trees(objects, layout, pair.commit, old, new, &mut state, &mut report)?;
        progress();
    }
    Ok(report)
}
