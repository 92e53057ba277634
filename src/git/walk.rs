//! The commits an audit visits.

use crate::date;
use anyhow::{Context, Result};
use gix::ObjectId;
use gix::traverse::commit::{Parents, Simple, simple::CommitTimeOrder, simple::Sorting};

use gix::objs::FindExt;

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
    let mut pairs = Vec::new();
    visit(objects, tip, hidden, first_parent, &mut |pair| pairs.push(pair))?;
    Ok(pairs)
}

/// Hands the [`commits`] to `each` as the walk finds them.
pub fn visit(
    objects: Objects<'_>,
    tip: ObjectId,
    hidden: &[ObjectId],
    first_parent: bool,
    each: &mut dyn FnMut(CommitPair),
) -> Result<()> {
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
    for info in walk {
        let info = info.with_context(|| format!("cannot walk the history of {tip}"))?;
        // `parent_ids` are the commit's own parents, hidden or not: empty only for a root commit.
        let parent = info.parent_ids.first().copied();
        each(CommitPair {
            commit: info.id,
            parent,
        });
    }
    Ok(())
}

/// The commits of `pairs` committed at or after `seconds` (Unix time), in the order given. Each
/// commit is judged by its own committer date, wherever it sits in the history: a commit made
/// before the date is left out even when a later commit is its child, and the other way round.
pub fn committed_since(objects: Objects<'_>, pairs: Vec<CommitPair>, seconds: i64) -> Result<Vec<CommitPair>> {
    let mut buf = Vec::new();
    let mut kept = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let commit = objects
            .find_commit_iter(&pair.commit, &mut buf)
            .with_context(|| format!("cannot read commit {}", pair.commit))?;
        let time = commit
            .committer()
            .with_context(|| format!("commit {} has no readable committer", pair.commit))?
            .seconds();
        if time >= seconds {
            kept.push(pair);
        }
    }
    Ok(kept)
}

/// A `YYYY-MM-DD` date as the Unix time of its first second in UTC; `None` for anything else,
/// including dates that do not exist (`2023-02-29`).
pub fn parse_day(text: &str) -> Option<i64> {
    let (y, m, d) = date::ymd(text)?;
    // Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
    // days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

pub use crate::date::looks_like_day;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_midnights_and_impossible_dates_are_refused() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2024-01-01"), Some(1_704_067_200));
        assert_eq!(parse_day("2024-02-29"), Some(1_709_164_800));
        assert_eq!(parse_day("2000-03-01"), Some(951_868_800));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-1-1",
            "24-01-01",
            "yesterday",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        assert!(looks_like_day("2024-13-01") && !looks_like_day("v1.2") && !looks_like_day("main"));
    }
}
