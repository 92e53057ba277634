use std::cell::RefCell;
use std::rc::Rc;

use anyhow::Result;
use serde_yaml::Value;

use super::{
    Context, Rule, RuleInfo, Scope, declare_rule, kepval_requires_prr, metadata_location, prr_required, target_release,
};
use crate::finding::{Finding, Location, Severity};
use crate::kep::KepKind;
use crate::kep::metadata::{Metadata, Milestone, Status};

declare_rule! {
    /// ## What it checks
    /// A KEP that is `implementable` or `implemented` and targets v1.21 or later has a PRR
    /// approval file `keps/prod-readiness/<owning-sig>/<kep-number>.yaml`
    /// that parses, sets `kep-number`, and names a non-empty `approver` under the KEP's current
    /// `stage`. Where the repository root has `OWNERS_ALIASES` (read from the base side of a
    /// change), that approver, without `@`, is in its `prod-readiness-approvers` alias; an approval
    /// that was already recorded before the change may also name someone in
    /// `prod-readiness-approvers-emeritus`.
    ///
    /// A KEP targets v1.21 or later when its `latest-milestone` or its current stage's
    /// `milestone.<stage>` is v1.21 or later, or when neither names a release (the option `since`
    /// moves v1.21). kepval reads `latest-milestone` alone; a KEP that only its stage's milestone
    /// brings in is reported as a warning in `kepguard validate`, and in a change that leaves its
    /// lifecycle alone.
    ///
    /// A change that sets `latest-milestone` to `"0.0"` (kepval's placeholder for KEPs older than
    /// PRR) on a KEP whose milestones name v1.21 or later, or on a new implementable KEP, is an
    /// error: it would switch PRR off for a KEP that needs it.
    ///
    /// Stricter than kepval, as a warning when the file already had it before the change (and
    /// always in `kepguard validate`), otherwise an error: the file's `kep-number` equals the
    /// KEP's.
    ///
    /// ## Why
    /// Since v1.21 a feature may only target a release once a PRR approver has signed off the
    /// production readiness of its stage. The approval file is that sign-off; without it, or with
    /// an approver who is not one, the release team would admit an unreviewed feature. Approvers
    /// come from the base side so a change cannot add its own approver.
    ///
    /// ## How to fix
    /// Ask a PRR approver (see `prod-readiness-approvers` in `OWNERS_ALIASES`) to review the
    /// questionnaire, then add or update the file, for example:
    ///
    /// ```yaml
    /// kep-number: 1234
    /// alpha:
    ///   approver: "@wojtek-t"
    /// beta:
    ///   approver: "@wojtek-t"
    /// ```
    ///
    /// If the KEP does not target a release yet, keep `status: provisional`.
    INFO, "prr-approval", Error, "an implementable KEP has a PRR approval for its stage"
}

pub struct PrrApproval;

const ALIASES_FILE: &str = "OWNERS_ALIASES";
const APPROVERS: &str = "prod-readiness-approvers";
const EMERITUS: &str = "prod-readiness-approvers-emeritus";

impl Rule for PrrApproval {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn snapshot(&self) -> bool {
        true
    }

    fn options(&self, raw: serde_yaml::Value) -> Result<super::Options, serde_yaml::Error> {
        super::options::<super::PrrSince>(raw)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some(new) = &cx.diff.new else { return Ok(()) };
        // Legacy single-file KEPs were never held to PRR approvals.
        if new.kep.kind == KepKind::Legacy {
            return Ok(());
        }
        let Some(meta) = new.metadata.parsed() else {
            return Ok(());
        };
        let since = cx.options::<super::PrrSince>(&INFO).since;
        if cx.scope == Scope::Change {
            placeholder_switches_prr_off(cx, meta, since, out)?;
        }
        if !prr_required(meta, since) {
            return Ok(());
        }
        // Brought in by the stage's milestone alone: stricter than kepval.
        let strict_only = !kepval_requires_prr(meta, since);
        let before = out.len();
        self.approval(cx, meta, out)?;
        if strict_only {
            let old = cx.diff.old.as_ref().and_then(|o| o.metadata.parsed());
            let lifecycle_change = match old {
                Some(old) => !super::lifecycle_transitions(old, meta).is_empty(),
                None => true,
            };
            if cx.scope == Scope::Tree || !lifecycle_change {
                let (latest, stage) = (
                    meta.scalar("latest-milestone").unwrap_or_else(|| "(not set)".into()),
                    target_release(meta).unwrap_or_default(),
                );
                for f in &mut out[before..] {
                    if f.severity == Severity::Error {
                        f.severity = Severity::Warning;
                        f.notes.push(format!(
                            "its stage targets {stage}, but latest-milestone {latest} exempts it for kepval: reported as a warning"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// A change that sets `latest-milestone: "0.0"` where PRR applies: the placeholder is how KEPs
/// older than PRR pass kepval, so on any other KEP it switches PRR off.
fn placeholder_switches_prr_off(
    cx: &Context<'_>,
    meta: &Metadata,
    since: Milestone,
    out: &mut Vec<Finding>,
) -> Result<()> {
    let zero = Milestone { major: 0, minor: 0 };
    if meta.milestone("latest-milestone", None) != Some(zero) {
        return Ok(());
    }
    let old = cx.diff.old.as_ref().and_then(|o| o.metadata.parsed());
    if old.is_some_and(|o| o.milestone("latest-milestone", None) == Some(zero)) {
        return Ok(());
    }
    // The current stage's release first, else the latest release any stage names.
    let current = meta.stage().valid().map(|s| s.as_str());
    let later: Option<(String, String)> = ["alpha", "beta", "stable", "deprecated", "disabled", "removed"]
        .iter()
        .filter_map(|stage| {
            let text = meta.nested_scalar("milestone", stage)?;
            let m = Milestone::parse(&text).filter(|m| *m >= since)?;
            Some((Some(*stage) == current, m, format!("milestone.{stage}"), text))
        })
        .max_by_key(|(is_current, m, ..)| (*is_current, *m))
        .map(|(_, _, key, text)| (key, text));
    let new = cx.diff.new.as_ref().expect("checked by the caller");
    // A legacy KEP converted into a directory is a move: its placeholder is as old as it is.
    let new_targeting = cx.diff.old.is_none()
        && matches!(meta.status(), Some(Status::Implementable | Status::Implemented))
        && later.is_none()
        && super::converted::converted_from(cx, new)?.is_none();
    let why = match (&later, new_targeting) {
        (Some((key, text)), _) => format!("its `{key}` is {text}"),
        (None, true) => format!("it is a new {} KEP", meta.scalar("status").unwrap_or_default()),
        (None, false) => return Ok(()),
    };
    let release = later
        .map(|(_, t)| t)
        .unwrap_or_else(|| format!("the release it targets ({since} or later)"));
    out.push(cx.finding(
        &INFO,
        metadata_location(new, Some(meta), &["latest-milestone"]),
        format!(
            "{}: `latest-milestone: \"0.0\"` would switch PRR off, but {why}",
            cx.kep_name()
        ),
        format!(
            "\"0.0\" is for KEPs that predate PRR (v1.21); set latest-milestone to {release} and add the PRR approval"
        ),
    ));
    Ok(())
}

impl PrrApproval {
    /// The approval file's findings for a KEP that needs one.
    fn approval(&self, cx: &Context<'_>, meta: &Metadata, out: &mut Vec<Finding>) -> Result<()> {
        let Some(new) = &cx.diff.new else { return Ok(()) };
        // Without these kepval cannot find the file either; kep-metadata reports them.
        let (Some(sig), Some(number)) = (meta.scalar("owning-sig"), meta.scalar("kep-number")) else {
            return Ok(());
        };
        let name = cx.kep_name();
        let status = meta.scalar("status").unwrap_or_default();
        let target = match target_release(meta) {
            Some(m) => format!(" for {m}"),
            None => " with no `latest-milestone` (so PRR applies)".into(),
        };
        let path = cx.policy.layout.prr_file(&sig, &number);
        let Some(text) = cx.repo.new_file(&path)? else {
            out.push(cx.finding(
                &INFO,
                metadata_location(new, Some(meta), &["status"]),
                format!("{name}: {status}{target}, but there is no PRR approval file {path}"),
                format!("once a PRR approver has reviewed the questionnaire, add {path} naming them"),
            ));
            return Ok(());
        };
        // The key itself, else the file's `kep-number`; never a comment that happens to be line 1.
        let at = |prr: &Metadata, key: &[&str]| {
            let line = prr.key_line(key).or_else(|| prr.key_line(&["kep-number"]));
            Location {
                path: path.clone(),
                line,
                snippet: line.and_then(|l| prr.line_text(l)).map(str::to_owned),
            }
        };
        let prr = match Metadata::parse(&text, 0) {
            Ok(prr) => prr,
            Err(e) => {
                out.push(cx.finding(
                    &INFO,
                    Location {
                        path: path.clone(),
                        line: e.line,
                        snippet: e.snippet,
                    },
                    format!("{name}: PRR approval file {path} does not parse: {}", e.message),
                    "fix the YAML: `kep-number` and one `<stage>: {approver: \"@name\"}` mapping per stage".into(),
                ));
                return Ok(());
            }
        };
        // The file as it was before the change, read only when a finding may depend on it.
        let base =
            || -> Result<Option<Metadata>> { Ok(cx.repo.base_file(&path)?.and_then(|t| Metadata::parse(&t, 0).ok())) };

        match prr.scalar("kep-number") {
            None => out.push(cx.finding(
                &INFO,
                at(&prr, &["kep-number"]),
                format!("{name}: PRR approval file {path} has no `kep-number`"),
                format!("add `kep-number: {number}`"),
            )),
            Some(n) if n.trim_start_matches('0') != number.trim_start_matches('0') => {
                let mut finding = cx.finding(
                    &INFO,
                    at(&prr, &["kep-number"]),
                    format!("{name}: PRR approval file {path} is for kep-number {n}"),
                    format!("set `kep-number: {number}`, or move the approval to the KEP it is for"),
                );
                if cx.scope == Scope::Tree
                    || base()?.and_then(|b| b.scalar("kep-number")).as_deref() == Some(n.as_str())
                {
                    finding.severity = Severity::Warning;
                    finding.notes.push(match cx.scope {
                        Scope::Tree => "stricter than kepval: reported as a warning".into(),
                        Scope::Change => "the file had this kep-number before the change: reported as a warning".into(),
                    });
                }
                out.push(finding);
            }
            Some(_) => {}
        }

        // A missing or invalid stage is kep-metadata's to report.
        let Some(stage) = meta.stage().valid() else {
            return Ok(());
        };
        let stage = stage.as_str();
        let approver = prr.nested_scalar(stage, "approver").filter(|a| !a.is_empty());
        let Some(approver) = approver else {
            let key = [stage, "approver"];
            let key = if prr.get(stage).is_some() { &key[..] } else { &[] };
            out.push(cx.finding(
                &INFO,
                at(&prr, key),
                format!("{name}: PRR approval file {path} names no approver for stage {stage}"),
                format!(
                    "once a PRR approver has reviewed the {stage} answers, add `{stage}:` with `approver: \"@name\"`"
                ),
            ));
            return Ok(());
        };
        let Some(aliases) = cx.repo.base_file(ALIASES_FILE)? else {
            return Ok(());
        };
        let Some(approvers) = alias(&aliases, APPROVERS) else {
            out.push(cx.finding(
                &INFO,
                Location {
                    path: ALIASES_FILE.into(),
                    line: None,
                    snippet: None,
                },
                format!("{name}: cannot check PRR approver {approver}: {ALIASES_FILE} has no `{APPROVERS}` alias"),
                format!("list the PRR approvers under `aliases: {APPROVERS}:` in {ALIASES_FILE}"),
            ));
            return Ok(());
        };
        let who = approver.trim_start_matches('@');
        if approvers.iter().any(|a| a == who) {
            return Ok(());
        }
        // An approval given before its approver stepped down stays valid; a new one does not.
        let recorded = base()?
            .and_then(|b| b.nested_scalar(stage, "approver"))
            .is_some_and(|a| a.trim_start_matches('@') == who);
        if recorded && alias(&aliases, EMERITUS).is_some_and(|e| e.iter().any(|a| a == who)) {
            return Ok(());
        }
        out.push(cx.finding(
            &INFO,
            at(&prr, &[stage, "approver"]),
            format!("{name}: {approver} approved stage {stage}, but is not in `{APPROVERS}` of {ALIASES_FILE}"),
            format!(
                "ask one of the PRR approvers ({}) to review and record their approval",
                approvers.join(", ")
            ),
        ));
        Ok(())
    }
}

/// The members of alias `name` in an `OWNERS_ALIASES` file; `None` when the file does not parse
/// or has no such alias.
fn alias(text: &str, name: &str) -> Option<Vec<String>> {
    // The same file serves every KEP of a run: parse it once per content.
    thread_local! {
        static CACHE: RefCell<Option<(String, Rc<Option<Value>>)>> = const { RefCell::new(None) };
    }
    let doc = CACHE.with_borrow_mut(|cache| match cache.as_ref() {
        Some((cached, doc)) if cached == text => doc.clone(),
        _ => {
            let doc = Rc::new(serde_yaml::from_str::<Value>(text).ok());
            *cache = Some((text.to_owned(), doc.clone()));
            doc
        }
    });
    let members = doc.as_ref().as_ref()?.get("aliases")?.get(name)?.as_sequence()?;
    Some(
        members
            .iter()
            .filter_map(|m| m.as_str())
            .map(|m| m.trim().trim_start_matches('@').to_owned())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_read_without_at_signs() {
        let text = "aliases:\n  prod-readiness-approvers:\n    - deads2k\n    - \"@wojtek-t\"\n  sig-x: [a]\n";
        assert_eq!(alias(text, APPROVERS).unwrap(), vec!["deads2k", "wojtek-t"]);
        assert_eq!(alias(text, EMERITUS), None);
        assert_eq!(alias(": not yaml: [", APPROVERS), None);
    }
}
