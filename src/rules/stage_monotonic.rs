use anyhow::Result;
use serde::Deserialize;

use super::{Context, Rule, RuleInfo, declare_rule, metadata_location};
use crate::finding::{Finding, Severity};
use crate::kep::metadata::{Milestone, Stage, Status};
use crate::policy::Level;

declare_rule! {
    /// ## What it checks
    /// A KEP's `stage` only moves forward: alpha < beta < stable, then deprecated < disabled <
    /// removed. A change that moves it back from stage S is judged by what the old `kep.yaml` says
    /// about S:
    ///
    /// - an `implemented` KEP: S shipped, so going back is an error;
    /// - a KEP that was neither `implementable` nor `implemented`: S was never approved for a
    ///   release; no finding;
    /// - an `implementable` KEP whose S milestone (`milestone.S`, else `latest-milestone`) is
    ///   after its `latest-milestone`: S was set ahead of time; no finding;
    /// - an `implementable` KEP whose later `latest-milestone` (old or new) is at or before S's
    ///   milestone: S is withdrawn within its own release cycle; no finding;
    /// - otherwise the KEP had moved past the release S was planned for. If the change keeps
    ///   `milestone.S` as it was, the KEP contradicts itself (it still records S at a release it
    ///   has moved past): an error. If it moves `milestone.S` later or removes it, the change
    ///   records a slipped graduation: a warning, since only the release notes tell whether S
    ///   shipped (the option `slip: error` makes it an error).
    ///
    /// Invalid stage values are reported by `kep-metadata`, not here.
    ///
    /// ## Why
    /// Once a stage has shipped in a release, users depend on it; going back (say, beta to alpha)
    /// changes defaults and guarantees and needs its own decision, not a quiet edit. A graduation
    /// that slipped to a later release is normal, and so is correcting a stage that was set too
    /// early, but the KEP must then say so consistently.
    ///
    /// ## How to fix
    /// If the stage never shipped, move `milestone.<stage>` to the release that will ship it (or
    /// remove it). If it did ship and going back is a deliberate, reviewed decision, say so in the
    /// Implementation History and record it as an exception in the repository's policy.
    ///
    /// ## Options
    /// `slip: warning|error` (default `warning`): the level of a graduation withdrawn after its
    /// planned release, for repositories that want every such move reviewed.
    INFO, "stage-monotonic", Error, "stage does not move backwards once it shipped"
}

pub struct StageMonotonic;

/// `rules.stage-monotonic` in the policy file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The level of a backward move that records a slipped graduation.
    #[serde(default)]
    pub slip: SlipLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlipLevel {
    #[default]
    Warning,
    Error,
}

impl Rule for StageMonotonic {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn options(&self, raw: serde_yaml::Value) -> Result<super::Options, serde_yaml::Error> {
        super::options::<Options>(raw)
    }

    fn applies(&self, cx: &Context<'_>) -> Result<Option<bool>> {
        Ok(Some(stage_move(cx).is_some()))
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some((_, old_meta, new, new_meta)) = cx.diff.both_parsed() else {
            return Ok(());
        };
        let Some((from, to)) = stage_move(cx) else {
            return Ok(());
        };
        if to >= from {
            return Ok(());
        }
        let name = cx.kep_name();
        let at = metadata_location(new, Some(new_meta), &["stage"]);
        let title = format!("{name}: stage goes backwards, {from} -> {to}");
        let key = format!("milestone.{from}");
        match old_meta.status() {
            Some(Status::Implemented) => {
                let mut f = cx.finding(
                    &INFO,
                    at,
                    title,
                    format!(
                        "keep `stage: {from}`; if going back is a reviewed decision, say so in the Implementation History and record an exception in the policy"
                    ),
                );
                f.notes
                    .push(format!("the KEP was implemented at stage {from}: {from} shipped"));
                out.push(f);
                return Ok(());
            }
            Some(Status::Implementable) => {}
            _ => return Ok(()),
        }

        let old_latest = old_meta.milestone("latest-milestone", None);
        let new_latest = new_meta.milestone("latest-milestone", None);
        let old_stage_text = old_meta.nested_scalar("milestone", from.as_str());
        let planned_text = old_stage_text.clone().or_else(|| old_meta.scalar("latest-milestone"));
        let planned = planned_text.as_deref().and_then(Milestone::parse);
        let shown = planned_text.as_deref().unwrap_or_default();

        if let (Some(planned), Some(old_latest)) = (planned, old_latest)
            && planned > old_latest
        {
            return Ok(()); // set ahead of its release: premature
        }
        let later = old_latest.max(new_latest);
        if let (Some(planned), Some(later)) = (planned, later)
            && later <= planned
        {
            return Ok(()); // withdrawn within its own cycle
        }

        let new_stage_text = new_meta.nested_scalar("milestone", from.as_str());
        let kept = planned.is_some() && old_stage_text.is_some() && new_stage_text == old_stage_text;
        let latest_shown = new_meta
            .scalar("latest-milestone")
            .unwrap_or_else(|| "(not set)".into());
        if kept {
            out.push(cx.finding(
                &INFO,
                at,
                format!("{title}, but `{key}` still says {shown}, a release latest-milestone {latest_shown} has moved past"),
                format!(
                    "if {from} did not ship in {shown}, move `{key}` to the release that will ship it or remove it; if it did, keep `stage: {from}`"
                ),
            ));
            return Ok(());
        }
        let (what, release) = match planned {
            Some(_) => (format!("{from}, planned for {shown}, is withdrawn"), shown.to_owned()),
            None => (format!("{from} is withdrawn"), "a release".to_owned()),
        };
        let mut f = cx.finding(
            &INFO,
            at,
            format!("{title}: {what}"),
            format!("if {release} shipped it as {from}, this is a demotion: say so in the Implementation History"),
        );
        f.notes.push(match (&new_stage_text, &old_stage_text) {
            (Some(n), Some(o)) => format!("the change moves `{key}` from {o} to {n}"),
            (None, Some(o)) => format!("the change removes `{key}` ({o})"),
            _ if planned.is_some() => format!("`{key}` is not set; {from} was planned for latest-milestone {shown}"),
            _ => format!("nothing records the release {from} was planned for"),
        });
        let level = cx.options::<Options>(&INFO).slip;
        // The policy may lower the rule as a whole; `slip: error` only raises this case.
        if level == SlipLevel::Warning || cx.policy.level(INFO.id) == Level::Warning {
            f.severity = Severity::Warning;
        }
        out.push(f);
        Ok(())
    }
}
/// The stages before and after a change that moves a KEP's stage: what the rule judges.
fn stage_move(cx: &Context<'_>) -> Option<(Stage, Stage)> {
    let (_, old_meta, _, new_meta) = cx.diff.both_parsed()?;
    let (from, to) = (old_meta.stage().valid()?, new_meta.stage().valid()?);
    (from != to).then_some((from, to))
}
