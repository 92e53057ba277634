use anyhow::Result;

use super::{Context, Rule, RuleInfo, declare_rule, metadata_location};
use crate::finding::Finding;
use crate::kep::metadata::Stage;

declare_rule! {
    /// ## What it checks
    /// A KEP does not go from `stage: alpha` straight to `stage: stable`. It fires when a
    /// change moves alpha -> stable and `milestone.beta` is not set (a set beta milestone records
    /// a beta release, even if `stage` was never updated for it).
    ///
    /// ## Why
    /// Beta is where a feature is on by default and gets real-world use; the graduation criteria
    /// and the PRR questionnaire ask different things of beta and GA. Skipping it is allowed
    /// only as a reviewed exception.
    ///
    /// ## How to fix
    /// Graduate to beta first, or, if beta did ship, record it under `milestone.beta`. For a
    /// reviewed exception, add an `allow` entry for this rule and KEP to `.kepguard.yaml`.
    INFO, "stage-skip", Warning, "no alpha -> stable without beta"
}

pub struct StageSkip;

impl Rule for StageSkip {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn applies(&self, cx: &Context<'_>) -> Result<Option<bool>> {
        let skip = cx.diff.both_parsed().is_some_and(|(_, old, _, new)| {
            (old.stage().valid(), new.stage().valid()) == (Some(Stage::Alpha), Some(Stage::Stable))
        });
        Ok(Some(skip))
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some((_, old_meta, new, new_meta)) = cx.diff.both_parsed() else {
            return Ok(());
        };
        if (old_meta.stage().valid(), new_meta.stage().valid()) != (Some(Stage::Alpha), Some(Stage::Stable))
            || new_meta.nested_scalar("milestone", "beta").is_some()
        {
            return Ok(());
        }
        out.push(
            cx.finding(
                &INFO,
                metadata_location(new, Some(new_meta), &["stage"]),
                format!("{}: stage alpha -> stable skips beta", cx.kep_name()),
                "graduate to beta first; if a release shipped it as beta, record that release under `milestone.beta`"
                    .to_owned(),
            ),
        );
        Ok(())
    }
}
