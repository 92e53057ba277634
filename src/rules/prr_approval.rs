use std::cell::RefCell;
use std::rc::Rc;

use anyhow::Result;
use serde_yaml::Value;

use super::{
    Context, Rule, RuleInfo, Scope, declare_rule, kepval_requires_prr, metadata_location, prr_required, target_release,
};
use crate::finding::{Finding, Location, Severity};
use crate::kep::metadata::{Metadata, Milestone, Status};
use crate::kep::{KepKind, kepval};

declare_rule! {
    /// ## What it checks
    /// A KEP that is `implementable` or `implemented` and targets v1.21 or later has a PRR
    /// approval file `keps/prod-readiness/<owning-sig>/<kep-number>.yaml`, judged as kepval judges
    /// it: the path built from `owning-sig` and `kep-number` as written (and cleaned as Go's
    /// `filepath.Join` cleans it), the file decoded strictly (only `kep-number` and the six stage
    /// keys, each with a non-empty `approver`), the KEP's `stage` one kepval knows, spelt exactly,
    /// with an approver whose name, one `@` removed, is in `prod-readiness-approvers` or
    /// `prod-readiness-approvers-emeritus` of `OWNERS_ALIASES` (the base side's, in a change). With
    /// the policy's `kepval: true`, an approver written with spaces or a second `@` is refused, as
    /// kepval compares names exactly. In a change, a *new* approval must come from
    /// `prod-readiness-approvers`: one already recorded may name an emeritus approver.
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
    /// If the KEP does not target a release yet, keep `status: provisional`. Where the file is
    /// missing, `kepguard fix` writes a skeleton with the stage and an empty approver, for the PRR
    /// approver to fill.
    INFO, "prr-approval", Error, "an implementable KEP has a PRR approval for its stage"
}

pub struct PrrApproval;

const ALIASES_FILE: &str = "OWNERS_ALIASES";
const APPROVERS: &str = "prod-readiness-approvers";

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
        let before = out.len();
        self.judge(cx, out)?;
        super::unless_kepval_reaches(cx, &mut out[before..])
    }
}

impl PrrApproval {
    fn judge(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
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
        // kepval's own decision, on the file as kepval decodes it; kepguard also brings in KEPs
        // whose stage's milestone targets `since` or later.
        let proposal = meta.kepval(cx.policy.kepval).as_ref().ok();
        let kepval_needs = since == super::PrrSince::DEFAULT
            && match proposal {
                Some(p) => kepval::prr_required(p) == Ok(true),
                None => kepval_requires_prr(meta, since),
            };
        // Lowering latest-milestone in the change does not switch PRR off: the KEP targeted
        // `since` or later before it.
        let targeting = |m: &Metadata| matches!(m.status(), Some(Status::Implementable | Status::Implemented));
        let lowered = cx.scope == Scope::Change
            && targeting(meta)
            && cx
                .diff
                .old
                .as_ref()
                .and_then(|o| o.metadata.parsed())
                .filter(|o| targeting(o))
                .and_then(|o| o.milestone("latest-milestone", None))
                .is_some_and(|m| m >= since);
        if !kepval_needs && !prr_required(meta, since) && !lowered {
            return Ok(());
        }
        let strict_only = !kepval_needs && since == super::PrrSince::DEFAULT;
        let before = out.len();
        self.approval(cx, meta, proposal, out)?;
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
    /// The approval file's findings for a KEP that needs one, judged as kepval judges it (the
    /// file found by `owning-sig` and `kep-number` as written, decoded strictly, an approver for the
    /// KEP's `stage` as written) plus kepguard's own checks.
    fn approval(
        &self,
        cx: &Context<'_>,
        meta: &Metadata,
        proposal: Option<&kepval::Proposal>,
        out: &mut Vec<Finding>,
    ) -> Result<()> {
        let Some(new) = &cx.diff.new else { return Ok(()) };
        let (sig, number) = match proposal {
            Some(p) => (p.owning_sig.0.clone(), p.number.0.clone()),
            None => match (meta.scalar("owning-sig"), meta.scalar("kep-number")) {
                (Some(s), Some(n)) => (s, n),
                // Without these kepval cannot find the file either; kep-metadata reports them.
                _ => return Ok(()),
            },
        };
        let name = cx.kep_name();
        let status = meta.scalar("status").unwrap_or_default();
        let target = match target_release(meta) {
            Some(m) => format!(" for {m}"),
            None => " with no `latest-milestone` (so PRR applies)".into(),
        };
        let path = cx.policy.layout.prr_file(&sig, &number);
        let Some(text) = cx.repo.new_file(&path)? else {
            let mut finding = cx.finding(
                &INFO,
                metadata_location(new, Some(meta), &["status"]),
                format!("{name}: {status}{target}, but there is no PRR approval file {path}"),
                format!("once a PRR approver has reviewed the questionnaire, add {path} naming them"),
            );
            if sig.trim() != sig || number.trim() != number || number.parse::<u64>().is_err() {
                finding.notes.push(
                    "kepval looks for the file by `owning-sig` and `kep-number` exactly as written: write them plainly"
                        .into(),
                );
            } else if let Some(stage) = meta.stage().valid() {
                // A skeleton for the PRR approver to sign: the approver is theirs to write.
                finding.fix = Some(crate::finding::Fix {
                    path: path.clone(),
                    edit: crate::finding::Edit::Create {
                        text: format!("kep-number: {number}\n{stage}:\n  approver: \"\"\n"),
                    },
                });
            }
            out.push(finding);
            return Ok(());
        };
        // Lines come from a lenient parse; the key itself, else the file's `kep-number`, never a
        // comment that happens to be line 1.
        let parsed = parse_prr_file(&text);
        let (lines, decoded) = (&parsed.0, &parsed.1);
        let at = |key: &[&str], line: Option<usize>| {
            let line = lines
                .as_ref()
                .and_then(|p| p.key_line(key).or_else(|| p.key_line(&["kep-number"])))
                .or(line);
            Location {
                path: path.clone(),
                line,
                snippet: line.and_then(|l| lines.as_ref()?.line_text(l)).map(str::to_owned),
            }
        };
        let prr = match decoded {
            Ok(prr) => prr,
            Err(r) => {
                let key: Vec<&str> = r.key.as_deref().map(|k| k.split('.').collect()).unwrap_or_default();
                let mut finding = cx.finding(
                    &INFO,
                    at(&key, r.line),
                    format!("{name}: PRR approval file {path} {}", r.message),
                    "kepval decodes it strictly: `kep-number` and one `<stage>: {approver: \"@name\"}` mapping per approved stage, nothing else".into(),
                );
                artefact_note(&mut finding, r);
                out.push(finding);
                return Ok(());
            }
        };
        // The file as it was before the change, read only when a finding may depend on it.
        let base =
            || -> Result<Option<Metadata>> { Ok(cx.repo.base_file(&path)?.and_then(|t| Metadata::parse(&t, 0).ok())) };

        let n = prr.number.0.trim();
        if n.trim_start_matches('0') != number.trim().trim_start_matches('0') {
            let mut finding = cx.finding(
                &INFO,
                at(&["kep-number"], None),
                format!("{name}: PRR approval file {path} is for kep-number {n}"),
                format!(
                    "set `kep-number: {}`, or move the approval to the KEP it is for",
                    number.trim()
                ),
            );
            if cx.scope == Scope::Tree || base()?.and_then(|b| b.scalar("kep-number")).as_deref() == Some(n) {
                finding.severity = Severity::Warning;
                finding.notes.push(match cx.scope {
                    Scope::Tree => "stricter than kepval: reported as a warning".into(),
                    Scope::Change => "the file had this kep-number before the change: reported as a warning".into(),
                });
            }
            out.push(finding);
        }

        let stage = match proposal {
            Some(p) => p.stage.0.clone(),
            None => match meta.stage().valid() {
                Some(s) => s.as_str().to_owned(),
                None => return Ok(()),
            },
        };
        let aliases = cx.repo.base_file(ALIASES_FILE)?;
        // kepval's list (approvers and emeritus, as written); without one it cannot run at all,
        // which `validate` reports for the tree.
        let listed = aliases.as_deref().and_then(|t| kepval::prr_approvers(t).ok());
        if let Some(r) = kepval::approver_rejection(prr, &stage, listed.as_deref(), cx.policy.kepval) {
            let approvers = aliases.as_deref().and_then(|t| alias(t, APPROVERS)).unwrap_or_default();
            let (at, help) = match r.key.as_deref() {
                Some("stage") if r.message.starts_with("cannot approve") => (
                    metadata_location(new, Some(meta), &["stage"]),
                    format!(
                        "write one of {}: kepval reads the stage exactly as written",
                        kepval::STAGES.join(", ")
                    ),
                ),
                Some(k) if r.message.contains("not a PRR approver") => (
                    at(&[k, "approver"], None),
                    format!(
                        "ask one of the PRR approvers ({}) to review and record their approval",
                        approvers.join(", ")
                    ),
                ),
                key => (
                    at(&key.into_iter().chain(Some("approver")).collect::<Vec<_>>(), None),
                    format!(
                        "once a PRR approver has reviewed the {stage} answers, add `{stage}:` with `approver: \"@name\"`"
                    ),
                ),
            };
            let mut finding = cx.finding(
                &INFO,
                at,
                format!("{name}: PRR approval file {path} {}", r.message),
                help,
            );
            artefact_note(&mut finding, &r);
            out.push(finding);
            return Ok(());
        }
        let Some(aliases) = aliases else { return Ok(()) };
        let Some(approvers) = alias(&aliases, APPROVERS) else {
            if cx.scope == Scope::Change {
                out.push(cx.finding(
                    &INFO,
                    Location {
                        path: ALIASES_FILE.into(),
                        line: None,
                        snippet: None,
                    },
                    format!("{name}: cannot check the PRR approver: {ALIASES_FILE} has no `{APPROVERS}` alias"),
                    format!("list the PRR approvers under `aliases: {APPROVERS}:` in {ALIASES_FILE}"),
                ));
            }
            return Ok(());
        };
        // kepval takes emeritus approvers too. kepguard holds a new approval to the current
        // approvers: one given before its approver stepped down stays valid.
        let Some(Some(entry)) = prr.stage(&stage) else {
            return Ok(());
        };
        let approver = entry.approver.0.trim();
        let who = approver.trim_start_matches('@');
        if cx.scope == Scope::Tree || approvers.iter().any(|a| a == who) {
            return Ok(());
        }
        let recorded = base()?
            .and_then(|b| b.nested_scalar(&stage, "approver"))
            .is_some_and(|a| a.trim_start_matches('@') == who);
        if recorded {
            return Ok(());
        }
        out.push(cx.finding(
            &INFO,
            at(&[&stage, "approver"], None),
            format!("{name}: {approver} approved stage {stage}, but is not in `{APPROVERS}` of {ALIASES_FILE}"),
            format!(
                "ask one of the PRR approvers ({}) to review and record their approval",
                approvers.join(", ")
            ),
        ));
        Ok(())
    }
}

/// Names kepval as the rule's source, and says when a rejection comes only from how kepval reads
/// files.
fn artefact_note(finding: &mut Finding, r: &kepval::Rejection) {
    finding.notes.push(kepval::REJECTS_TOO.into());
    if r.artefact {
        finding.notes.push(kepval::ARTEFACT.into());
    }
}

/// A PRR approval file read leniently (for lines) and as kepval decodes it. Each KEP's file is
/// judged with every change to the KEP, so each version is parsed once per run and thread.
fn parse_prr_file(text: &str) -> Rc<(Option<Metadata>, Result<kepval::PrrApproval, kepval::Rejection>)> {
    type Parsed = Rc<(Option<Metadata>, Result<kepval::PrrApproval, kepval::Rejection>)>;
    thread_local! {
        static CACHE: RefCell<crate::memo::ByText<Parsed>> = const { RefCell::new(crate::memo::ByText::new()) };
    }
    crate::memo::by_text(&CACHE, text, |t| {
        Rc::new((Metadata::parse(t, 0).ok(), kepval::decode_prr(t.as_bytes())))
    })
}

/// The members of alias `name` in an `OWNERS_ALIASES` file; `None` when the file does not parse
/// or has no such alias.
fn alias(text: &str, name: &str) -> Option<Vec<String>> {
    // The same few versions of the file serve every KEP of a run: parse each once.
    thread_local! {
        static CACHE: RefCell<crate::memo::ByText<Rc<Option<Value>>>> = const { RefCell::new(crate::memo::ByText::new()) };
    }
    let doc = crate::memo::by_text(&CACHE, text, |t| {
        Rc::new(match crate::kep::simple_yaml::mapping(t) {
            Some(map) => Some(Value::Mapping(map)),
            None => serde_yaml::from_str::<Value>(t).ok(),
        })
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
        assert_eq!(alias(text, "prod-readiness-approvers-emeritus"), None);
        assert_eq!(alias(": not yaml: [", APPROVERS), None);
    }
}
