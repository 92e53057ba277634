//! The commits an audit visits.

use anyhow::{Context, Result};
use gix::ObjectId;
use gix::traverse::commit::{Parents, Simple, simple::CommitTimeOrder, simple::Sorting};

use super::Objects;

/// A commit to check against its first parent (`None`: a root commit, checked against the empty
/// tree).
#[derive(Debug, Clone, Copy)]
pub struct CommitPair {
    pub commit: ObjectId,
    pub parent: Option<ObjectId>,
}

/// The commits reachable from `tip` and not from any of `hidden`, newest first as `git log` lists
/// them. With `first_parent`, only the first-parent line.
pub fn commits(
    objects: Objects<'_>,
    tip: ObjectId,
    hidden: &[ObjectId],
    first_parent: bool,
) -> Result<Vec<CommitPair>> {
    let walk = Simple::new([tip], objects);
    let walk = if first_parent {
        walk.parents(Parents::First)
    } else {
        walk.sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
            .context("cannot sort the commit walk")?
    };
    let walk = walk
        .hide(hidden.iter().copied())
        .context("cannot hide commits from the walk")?;
    let mut pairs = Vec::new();
    for info in walk {
        let info = info.with_context(|| format!("cannot walk the history of {tip}"))?;
        // `parent_ids` are the commit's own parents, hidden or not: empty only for a root commit.
        let parent = info.parent_ids.first().copied();
        pairs.push(CommitPair {
            commit: info.id,
            parent,
        });
    }
    Ok(pairs)
}
