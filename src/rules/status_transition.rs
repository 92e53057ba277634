use anyhow::Result;

use super::{Context, Rule, RuleInfo, declare_rule, metadata_location};
use crate::finding::Finding;
use crate::kep::metadata::Status::{self, *};

declare_rule! {
    /// ## What it checks
    /// A change of `status` follows the KEP process: provisional -> implementable ->
    /// implemented; any status -> deferred, rejected, withdrawn or replaced; deferred ->
    /// provisional or implementable; implemented -> implementable, which reopens a KEP for its
    /// next stage (as KEP-1205 and KEP-383 did). Anything else fires, such as provisional ->
    /// implemented (skipping implementable), or leaving rejected, withdrawn or replaced. Statuses that are not valid values are left to `kep-metadata`.
    ///
    /// ## Why
    /// `status` tells the release team what to track: an implementable KEP is in a release's
    /// enhancements list, an implemented one is done. A status that moves backwards or skips
    /// the approval step usually comes from a copied file or a bad merge, not a decision.
    ///
    /// ## How to fix
    /// Restore the previous status, or make the intermediate step in its own change (for
    /// example mark a provisional KEP implementable once it is approved). A KEP that really
    /// restarts, such as a rejected idea revived, gets a new KEP that `replaces` the old one.
    INFO, "status-transition", Warning, "status follows provisional -> implementable -> implemented"
}

pub struct StatusTransition;

/// Whether the KEP process allows `from` -> `to`.
pub fn allowed(from: Status, to: Status) -> bool {
    from == to
        || matches!(to, Deferred | Rejected | Withdrawn | Replaced) && !matches!(from, Rejected | Withdrawn | Replaced)
        || matches!(
            (from, to),
            (Provisional, Implementable)
                | (Implementable, Implemented)
                | (Implemented, Implementable)
                | (Deferred, Provisional | Implementable)
        )
}

impl Rule for StatusTransition {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn applies(&self, cx: &Context<'_>) -> Result<Option<bool>> {
        let moved = cx
            .diff
            .both_parsed()
            .and_then(|(_, old, _, new)| Some(old.status()? != new.status()?));
        Ok(Some(moved == Some(true)))
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some((_, old_meta, new, new_meta)) = cx.diff.both_parsed() else {
            return Ok(());
        };
        let (Some(from), Some(to)) = (old_meta.status(), new_meta.status()) else {
            return Ok(());
        };
        if allowed(from, to) {
            return Ok(());
        }
        let help = match (from, to) {
            (Provisional, Implemented) => "mark it implementable first, once approved, then implemented".to_owned(),
            (Rejected | Withdrawn | Replaced, _) => {
                format!("a {from} KEP stays {from}; write a new KEP that lists this one under `replaces`")
            }
            _ => format!("keep `status: {from}`, or explain the exception in the repository's policy"),
        };
        out.push(cx.finding(
            &INFO,
            metadata_location(new, Some(new_meta), &["status"]),
            format!(
                "{}: status {from} -> {to} is not a step of the KEP process",
                cx.kep_name()
            ),
            help,
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_graph() {
        assert!(allowed(Provisional, Implementable) && allowed(Implementable, Implemented));
        assert!(allowed(Implemented, Withdrawn) && allowed(Provisional, Deferred));
        assert!(allowed(Deferred, Implementable) && allowed(Deferred, Provisional));
        assert!(allowed(Implemented, Implementable), "reopened for the next stage");
        assert!(!allowed(Implemented, Provisional));
        assert!(!allowed(Provisional, Implemented));
        assert!(!allowed(Rejected, Provisional) && !allowed(Withdrawn, Deferred) && !allowed(Replaced, Rejected));
        assert!(!allowed(Deferred, Implemented));
    }
}
