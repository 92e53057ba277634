use anyhow::Result;

use super::{Context, Rule, RuleInfo, declare_rule, metadata_location};
use crate::finding::Finding;

declare_rule! {
    /// ## What it checks
    /// A KEP's `stage` only moves forward: alpha < beta < stable < deprecated < disabled <
    /// removed. A change whose new stage is lower than the old one fires, unless the old stage's
    /// milestone (`milestone.<old stage>`) equals the new `latest-milestone`: that withdraws a
    /// graduation within the release cycle it was planned for, before it shipped.
    /// Invalid stage values are reported by `kep-metadata`, not here.
    ///
    /// ## Why
    /// Once a stage has shipped in a release, users depend on it; going back (say, beta to alpha)
    /// changes defaults and guarantees and needs its own decision, not a quiet edit.
    ///
    /// ## How to fix
    /// Keep the old stage. If the graduation never shipped, withdraw it in the same cycle: set
    /// `latest-milestone` to the milestone the old stage was planned for. If going back is a
    /// deliberate, reviewed decision, record it as an exception in the repository's policy.
    INFO, "stage-monotonic", Error, "stage never moves backwards once shipped"
}

pub struct StageMonotonic;

impl Rule for StageMonotonic {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some((_, old_meta, new, new_meta)) = cx.diff.both_parsed() else {
            return Ok(());
        };
        let (Some(from), Some(to)) = (old_meta.stage().valid(), new_meta.stage().valid()) else {
            return Ok(());
        };
        if to >= from {
            return Ok(());
        }
        let planned = old_meta.nested_scalar("milestone", from.as_str());
        let latest = new_meta.scalar("latest-milestone");
        if planned.is_some() && planned == latest {
            return Ok(());
        }
        let shipped = match (&planned, &latest) {
            (Some(p), Some(l)) => {
                format!("{from} was planned for {p} and latest-milestone is now {l}, so {from} has shipped")
            }
            (Some(p), None) => format!("{from} was planned for {p} and latest-milestone is not set"),
            (None, _) => {
                format!("milestone.{from} is not set, so nothing shows {from} was withdrawn before it shipped")
            }
        };
        let mut finding = cx.finding(
            &INFO,
            metadata_location(new, Some(new_meta), &["stage"]),
            format!("{}: stage goes backwards, {from} -> {to}", cx.kep_name()),
            format!(
                "keep `stage: {from}`; to withdraw a graduation that never shipped, set latest-milestone to {}",
                planned.as_deref().unwrap_or("the milestone of that stage")
            ),
        );
        finding.notes.push(shipped);
        out.push(finding);
        Ok(())
    }
}
