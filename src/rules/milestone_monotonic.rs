use anyhow::Result;

use super::{Context, Rule, RuleInfo, declare_rule, metadata_location};
use crate::finding::Finding;

declare_rule! {
    /// ## What it checks
    /// `latest-milestone` does not go down (compared as versions, so v1.9 < v1.10), and the
    /// stage milestones stay in order: `milestone.alpha` <= `milestone.beta` <=
    /// `milestone.stable`, where present. A disorder fires only when the change touched one of
    /// the milestones involved; values that do not parse as milestones are left alone.
    ///
    /// ## Why
    /// Release tracking keys on these milestones. A latest-milestone that goes back, or a beta
    /// planned before its alpha, is almost always a typo (v1.3 for v1.30) or a copy from
    /// another KEP, and it puts the KEP in the wrong release's list.
    ///
    /// ## How to fix
    /// Correct the milestone: `latest-milestone` is the newest release the KEP targets, and each
    /// stage's milestone is the release that stage ships in.
    INFO, "milestone-monotonic", Warning, "latest-milestone never goes down; alpha <= beta <= stable"
}

pub struct MilestoneMonotonic;

const ORDER: [&str; 3] = ["alpha", "beta", "stable"];

impl Rule for MilestoneMonotonic {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn applies(&self, cx: &Context<'_>) -> Result<Option<bool>> {
        let moved = cx.diff.both_parsed().is_some_and(|(_, old, _, new)| {
            super::lifecycle_transitions(old, new)
                .iter()
                .any(|t| t.key == "latest-milestone" || t.key.starts_with("milestone"))
        });
        Ok(Some(moved))
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some((_, old_meta, new, new_meta)) = cx.diff.both_parsed() else {
            return Ok(());
        };
        let latest = |m: &crate::kep::metadata::Metadata| m.milestone("latest-milestone", None);
        if let (Some(from), Some(to)) = (latest(old_meta), latest(new_meta))
            && to < from
        {
            out.push(cx.finding(
                &INFO,
                metadata_location(new, Some(new_meta), &["latest-milestone"]),
                format!("{}: latest-milestone goes down, {from} -> {to}", cx.kep_name()),
                format!("keep `latest-milestone: {from}` or a later release"),
            ));
        }
        // Each adjacent pair of present stage milestones, in stage order.
        let present: Vec<_> = ORDER
            .iter()
            .filter_map(|s| new_meta.milestone("milestone", Some(s)).map(|m| (*s, m)))
            .collect();
        for pair in present.windows(2) {
            let ((earlier, e), (later, l)) = (pair[0], pair[1]);
            let touched = [earlier, later]
                .iter()
                .any(|s| old_meta.nested_scalar("milestone", s) != new_meta.nested_scalar("milestone", s));
            if l < e && touched {
                out.push(cx.finding(
                    &INFO,
                    metadata_location(new, Some(new_meta), &["milestone", later]),
                    format!(
                        "{}: milestone.{later} {l} comes before milestone.{earlier} {e}",
                        cx.kep_name()
                    ),
                    format!("{later} ships in the same release as {earlier} or later: correct one of the two"),
                ));
            }
        }
        Ok(())
    }
}
