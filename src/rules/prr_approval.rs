use std::cell::RefCell;
use std::rc::Rc;

use anyhow::Result;
use serde_yaml::Value;

use super::{Context, Rule, RuleInfo, Scope, declare_rule, metadata_location, prr_required};
use crate::finding::{Finding, Location, Severity};
use crate::kep::metadata::Metadata;

declare_rule! {
    /// ## What it checks
    /// A KEP that is `implementable` or `implemented` with `latest-milestone` v1.21 or later (a
    /// missing or unreadable milestone does not exempt it; the policy option `since` moves the
    /// milestone) has a PRR approval file `keps/prod-readiness/<owning-sig>/<kep-number>.yaml`
    /// that parses, sets `kep-number`, and names a non-empty `approver` under the KEP's current
    /// `stage`. Where the repository root has `OWNERS_ALIASES` (read from the base side of a
    /// change), that approver, without `@`, is in its `prod-readiness-approvers` alias; an approval
    /// that was already recorded before the change may also name someone in
    /// `prod-readiness-approvers-emeritus`.
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
        let Some(meta) = new.metadata.parsed() else {
            return Ok(());
        };
        if !prr_required(meta, cx.options::<super::PrrSince>(&INFO).since) {
            return Ok(());
        }
        // Without these kepval cannot find the file either; kep-metadata reports them.
        let (Some(sig), Some(number)) = (meta.scalar("owning-sig"), meta.scalar("kep-number")) else {
            return Ok(());
        };
        let name = cx.kep_name();
        let status = meta.scalar("status").unwrap_or_default();
        let target = meta
            .scalar("latest-milestone")
            .map(|m| format!(" for {m}"))
            .unwrap_or_default();
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
        let at = |prr: &Metadata, key: &[&str]| {
            let line = prr.key_line(key).unwrap_or(1);
            Location {
                path: path.clone(),
                line: Some(line),
                snippet: prr.line_text(line).map(str::to_owned),
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
