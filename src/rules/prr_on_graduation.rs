use anyhow::Result;

use super::{
    Context, Rule, RuleInfo, SectionUpdate, declare_rule, hidden_section, metadata_location, section_update,
    target_release, targets_since,
};
use crate::finding::Finding;
use crate::kep::metadata::Stage;

declare_rule! {
    /// ## What it checks
    /// A graduation (alpha -> beta, beta -> stable, or alpha -> stable) targeting v1.21 or later
    /// must add
    /// at least one visible line to the README section "Production Readiness Review
    /// Questionnaire", subsections included. Text inside HTML comments does not count.
    ///
    /// A graduation targets the release named by the new stage's `milestone.<stage>` or by
    /// `latest-milestone` (before or after the change): the rule applies when any of them is
    /// v1.21 or later, or when none names a release. So neither a stale `latest-milestone` nor
    /// lowering it in the same change (to `"0.0"`, say) exempts a graduation. The option `since`
    /// moves v1.21.
    ///
    /// ## Why
    /// Production Readiness Review became mandatory in v1.21. Each stage asks more of a feature
    /// (rollback, monitoring, scalability), and the answers written for alpha rarely cover beta
    /// or GA. A graduation that leaves the questionnaire untouched usually means the new
    /// questions were never answered.
    ///
    /// ## How to fix
    /// Answer the questions the new stage requires under `## Production Readiness Review
    /// Questionnaire` (beta: rollout and rollback, monitoring, dependencies, scalability,
    /// troubleshooting), writing the answers outside the `<!-- -->` guidance comments.
    INFO, "prr-on-graduation", Error, "a graduation updates the PRR questionnaire answers"
}

pub const SECTION: &str = "Production Readiness Review Questionnaire";

pub struct PrrOnGraduation;

impl Rule for PrrOnGraduation {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn options(&self, raw: serde_yaml::Value) -> Result<super::Options, serde_yaml::Error> {
        super::options::<super::PrrSince>(raw)
    }

    fn applies(&self, cx: &Context<'_>) -> Result<Option<bool>> {
        Ok(Some(graduation(cx).is_some()))
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some((from, to)) = graduation(cx) else {
            return Ok(());
        };
        let Some((old, _, new, new_meta)) = cx.diff.both_parsed() else {
            return Ok(());
        };
        let target = target_release(new_meta).map(|l| format!(" in {l}")).unwrap_or_default();
        let finding = match section_update(cx.diff, old, new, SECTION)? {
            SectionUpdate::Gained => return Ok(()),
            SectionUpdate::Unchanged(at) => cx.finding(
                &INFO,
                at,
                format!(
                    "{}: graduation {from} -> {to}{target}, but the PRR questionnaire answers are unchanged",
                    cx.kep_name()
                ),
                format!(
                    "answer the questions {to} requires under this heading, outside the <!-- guidance --> comments"
                ),
            ),
            SectionUpdate::Missing => match hidden_section(new, SECTION)? {
                Some((at, fence)) => cx.finding(
                    &INFO,
                    at,
                    format!(
                        "{}: graduation {from} -> {to}{target}, but the PRR questionnaire heading is inside \
                         a code block opened at line {fence} and never closed",
                        cx.kep_name()
                    ),
                    format!("close the code block opened at line {fence}, then answer the questions {to} requires"),
                ),
                None => cx.finding(
                    &INFO,
                    metadata_location(new, Some(new_meta), &["stage"]),
                    format!(
                        "{}: graduation {from} -> {to}{target}, but its README has no PRR questionnaire",
                        cx.kep_name()
                    ),
                    format!(
                        "add `## {SECTION}` to {} (from the KEP template) and answer it for {to}",
                        new.kep.readme_path()
                    ),
                ),
            },
        };
        out.push(finding);
        Ok(())
    }
}

/// The stages of a graduation the rule judges: one targeting the `since` release or later.
fn graduation(cx: &Context<'_>) -> Option<(Stage, Stage)> {
    let (_, old_meta, _, new_meta) = cx.diff.both_parsed()?;
    let (from, to) = (old_meta.stage().valid()?, new_meta.stage().valid()?);
    if !matches!(
        (from, to),
        (Stage::Alpha, Stage::Beta | Stage::Stable) | (Stage::Beta, Stage::Stable)
    ) {
        return None;
    }
    let since = cx.options::<super::PrrSince>(&INFO).since;
    let old_latest = old_meta.milestone("latest-milestone", None);
    // Lowering latest-milestone in the same change does not exempt a graduation.
    if !targets_since(new_meta, since) && old_latest.is_none_or(|m| m < since) {
        return None;
    }
    Some((from, to))
}
