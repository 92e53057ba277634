//! `kepguard readiness`: the Release Team's freeze checks for the KEPs that target a release.
//!
//! A consumer of the same snapshots and rules as `validate`: each KEP at the revision is judged
//! by the snapshot rules, and the criteria that the rules already check (metadata, PRR approval,
//! PRR answers, template headings) are read off their findings. The criteria no rule checks
//! (status, milestones, Test Plan, Graduation Criteria, Implementation History, the signoff
//! checklist) are in [`criteria`].

pub mod criteria;
pub mod exceptions;
pub mod render;

use anyhow::Result;
use gix::ObjectId;
use serde::Serialize;

use crate::finding::{Finding, Location, Severity};
use crate::kep::KepKind;
use crate::kep::metadata::{Milestone, Stage};
use crate::policy::{Level, Policy};
use crate::rules::Context;

/// The freeze whose requirements a run checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Freeze {
    /// PRR Freeze: the PRR questionnaire, the stage and milestones, the PRR approval file.
    Prr,
    /// Enhancements Freeze: all of PRR Freeze, plus status, template, Test Plan, Graduation
    /// Criteria, Implementation History.
    Enhancements,
}

impl Freeze {
    pub fn as_str(self) -> &'static str {
        match self {
            Freeze::Prr => "prr",
            Freeze::Enhancements => "enhancements",
        }
    }

    /// The words the Release Team's templates use: `Tracked for enhancements freeze`.
    pub fn words(self) -> &'static str {
        match self {
            Freeze::Prr => "PRR freeze",
            Freeze::Enhancements => "enhancements freeze",
        }
    }
}

/// One criterion: its stable id, what it checks (one line), where the requirement comes from,
/// and the freezes that require it.
#[derive(Debug)]
pub struct Criterion {
    pub id: &'static str,
    pub summary: &'static str,
    pub source: &'static str,
    /// The snapshot rules whose findings decide it; none for a criterion of [`criteria`].
    pub rules: &'static [&'static str],
    /// Whether a rule's warnings fail it too (its errors always do).
    pub warnings_fail: bool,
    prr_freeze: bool,
}

/// Every criterion, in report order. `--help` and the README list them from here.
pub const CRITERIA: &[Criterion] = &[
    Criterion {
        id: "metadata",
        summary: "kep.yaml passes kepval (hack/verify-kep-metadata.sh), as the `kep-metadata` and `kep-tree` rules judge it",
        source: "the repository's CI: a KEP kepval rejects cannot merge",
        rules: &["kep-metadata", "kep-tree", "file-too-large"],
        warnings_fail: false,
        prr_freeze: true,
    },
    Criterion {
        id: "status",
        summary: "`status` is `implementable` (or `implemented` for a KEP at `stable`)",
        source: "release_phases.md, Enhancements Freeze: \"`status` set to `implementable`\"",
        rules: &[],
        warnings_fail: false,
        prr_freeze: false,
    },
    Criterion {
        id: "milestones",
        summary: "`latest-milestone` is the release, and `milestone.<stage>` is the release (graduating) or an earlier one (staying at its stage)",
        source: "release_phases.md, PRR Freeze: \"`stage` set to the current stage, `latest-milestone` set to the current release, `milestone` struct updated\"",
        rules: &[],
        warnings_fail: false,
        prr_freeze: true,
    },
    Criterion {
        id: "prr-approval",
        summary: "a PRR approval file names an approver for the stage who is in `prod-readiness-approvers` (the `prr-approval` rule)",
        source: "release_phases.md, PRR Freeze: \"A PRR approval file with the PRR approver listed for the stage the KEP is targeting\"",
        rules: &["prr-approval"],
        warnings_fail: false,
        prr_freeze: true,
    },
    Criterion {
        id: "prr-answers",
        summary: "the PRR questions the stage requires have visible answers (the `prr-complete` rule; reported, required with --strict)",
        source: "release_phases.md, PRR Freeze: \"The KEP's PRR questionnaire filled out\"",
        rules: &["prr-complete"],
        warnings_fail: true,
        prr_freeze: true,
    },
    Criterion {
        id: "template",
        summary: "the README has the template's required headings (the `template-sections` rule; reported, required with --strict)",
        source: "release_phases.md, Enhancements Freeze: \"A README.md that uses the latest template\"",
        rules: &["template-sections"],
        warnings_fail: true,
        prr_freeze: false,
    },
    Criterion {
        id: "test-plan",
        summary: "Test Plan has visible text and its \"I/we understand the owners of the involved components…\" box is checked",
        source: "release_phases.md (\"an updated detailed Test Plan section filled out\") and the KEP template's Test Plan",
        rules: &[],
        warnings_fail: false,
        prr_freeze: false,
    },
    Criterion {
        id: "graduation-criteria",
        summary: "Graduation Criteria has a subsection with visible text for the stage (Alpha, Beta, GA; Deprecation)",
        source: "release_phases.md, Enhancements Freeze: \"up-to-date Graduation Criteria\"",
        rules: &[],
        warnings_fail: false,
        prr_freeze: false,
    },
    Criterion {
        id: "implementation-history",
        summary: "Implementation History mentions the release (reported; required with --require-checklist)",
        source: "the KEP template's Release Signoff Checklist: \"Implementation History section is up-to-date for milestone\"",
        rules: &[],
        warnings_fail: false,
        prr_freeze: false,
    },
    Criterion {
        id: "signoff-checklist",
        summary: "every (R) item of the Release Signoff Checklist is checked (reported; required with --require-checklist)",
        source: "the KEP template: \"Items marked with (R) are required prior to targeting to a milestone / release\"",
        rules: &[],
        warnings_fail: false,
        prr_freeze: false,
    },
    Criterion {
        id: "changed-since",
        summary: "a graduating KEP's PRR answers or PRR approval changed since --since (only with --since)",
        source: "the PRR process: each graduation is a new PRR review",
        rules: &[],
        warnings_fail: false,
        prr_freeze: true,
    },
];

pub fn criterion(id: &str) -> &'static Criterion {
    CRITERIA
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("unknown criterion {id}"))
}

/// What a run asks.
#[derive(Debug, Clone)]
pub struct Options {
    pub release: Milestone,
    pub freeze: Freeze,
    /// The KEP numbers asked for; `None`: those targeting the release.
    pub keps: Option<Vec<String>>,
    pub require_checklist: bool,
    /// Also require what the PRR approver and the template rule judge more finely than a freeze
    /// does: every PRR answer, every template heading.
    pub strict: bool,
    /// The tree of `--since`, for `changed-since`.
    pub since: Option<ObjectId>,
}

impl Options {
    fn required(&self, c: &Criterion) -> bool {
        match c.id {
            // Items of the KEP template's checklist the template does not mark (R), or whose (R)
            // boxes authors rarely tick: reported, required only when asked.
            "signoff-checklist" | "implementation-history" => self.require_checklist,
            "changed-since" => self.since.is_some(),
            // Shipped releases are the measure: at the v1.31-v1.33 freezes, requiring every PRR
            // answer and template heading left 22, 28 and 31 KEPs tracked of the 45, 44 and 64
            // that shipped; without them, 40, 48 and 64. The PRR approver judges the answers.
            "prr-answers" | "template" => self.strict && (self.freeze == Freeze::Enhancements || c.prr_freeze),
            _ => self.freeze == Freeze::Enhancements || c.prr_freeze,
        }
    }
}

/// How one criterion came out for one KEP.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    Passed {
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    Failed {
        title: String,
        help: String,
        path: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
        #[serde(skip)]
        snippet: Option<String>,
    },
    NotApplicable {
        why: String,
    },
}

impl Outcome {
    pub fn passed() -> Outcome {
        Outcome::Passed { detail: None }
    }

    pub fn passed_with(detail: impl Into<String>) -> Outcome {
        Outcome::Passed {
            detail: Some(detail.into()),
        }
    }

    pub fn failed(at: Location, title: impl Into<String>, help: impl Into<String>) -> Outcome {
        Outcome::Failed {
            title: title.into(),
            help: help.into(),
            path: at.path,
            line: at.line,
            snippet: at.snippet,
        }
    }

    pub fn not_applicable(why: impl Into<String>) -> Outcome {
        Outcome::NotApplicable { why: why.into() }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }

    /// The mark a checklist shows: ✅, ❌ or ➖.
    pub fn mark(&self) -> &'static str {
        match self {
            Outcome::Passed { .. } => "✅",
            Outcome::Failed { .. } => "❌",
            Outcome::NotApplicable { .. } => "➖",
        }
    }
}

/// A criterion's outcome for one KEP, and whether the freeze requires it.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub criterion: &'static str,
    pub required: bool,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    AtRisk,
    Exception,
    Tracked,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Tracked => "tracked",
            Verdict::AtRisk => "at-risk",
            Verdict::Exception => "exception",
        }
    }
}

/// One KEP's readiness.
#[derive(Debug, Clone, Serialize)]
pub struct KepReadiness {
    pub number: String,
    pub title: String,
    pub sig: String,
    pub path: String,
    pub readme: String,
    pub metadata: String,
    pub authors: Vec<String>,
    pub status: Option<String>,
    pub stage: Option<String>,
    pub latest_milestone: Option<String>,
    /// Whether the KEP enters its stage in the release (`milestone.<stage>` is the release).
    pub graduating: bool,
    pub verdict: Verdict,
    pub criteria: Vec<Checked>,
    /// The (R) items of the Release Signoff Checklist, checked or not, as written.
    pub checklist: Vec<criteria::ChecklistItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<exceptions::Exception>,
}

impl KepReadiness {
    pub fn failed(&self) -> impl Iterator<Item = &Checked> {
        self.criteria.iter().filter(|c| c.required && c.outcome.is_failed())
    }
}

/// The numbers a KEP answers to: its `kep-number`, and the number its directory starts with.
fn numbers_of(cx: &Context<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let number = cx.diff.number();
    if !number.is_empty() {
        out.push(number);
    }
    if let Some(n) = &cx.diff.change.kep.dir_number
        && !out.contains(n)
    {
        out.push(n.clone());
    }
    out
}

/// Whether a KEP is in the run: listed, or (without a list) targeting the release.
pub fn selected(cx: &Context<'_>, options: &Options) -> bool {
    let Some(new) = &cx.diff.new else { return false };
    if let Some(list) = &options.keps {
        return numbers_of(cx).iter().any(|n| list.contains(n));
    }
    let Some(meta) = new.metadata.parsed() else {
        return false;
    };
    let latest = meta.milestone("latest-milestone", None);
    let of_stage = meta
        .stage()
        .valid()
        .and_then(|s| meta.milestone("milestone", Some(s.as_str())));
    latest == Some(options.release) || of_stage == Some(options.release)
}

/// Judges one KEP: the snapshot rules' findings for the criteria they decide, [`criteria`] for the
/// rest. `None` when the KEP is not in the run.
pub fn judge(
    cx: &Context<'_>,
    options: &Options,
    since: Option<(&criteria::Since, crate::git::Objects<'_>)>,
) -> Result<Option<KepReadiness>> {
    if !selected(cx, options) {
        return Ok(None);
    }
    let Some(new) = &cx.diff.new else { return Ok(None) };
    let findings = crate::engine::snapshot_findings(cx)?;
    let meta = new.metadata.parsed();
    let readme = new.readme()?;
    let stage = meta.and_then(|m| m.stage().valid());
    let graduating = match (meta, stage) {
        (Some(m), Some(s)) => m.milestone("milestone", Some(s.as_str())) == Some(options.release),
        _ => false,
    };
    let checklist = readme.map(criteria::checklist).unwrap_or_default();
    let mut checked = Vec::new();
    for c in CRITERIA {
        let outcome = if c.rules.is_empty() {
            criteria::judge(c.id, new, meta, readme, &checklist, options, graduating, since)?
        } else {
            from_findings(c, cx.policy, &findings, new.kep.kind)
        };
        checked.push(Checked {
            criterion: c.id,
            required: options.required(c),
            outcome,
        });
    }
    let scalar = |key: &str| meta.and_then(|m| m.scalar(key));
    let authors = meta
        .and_then(|m| m.get("authors"))
        .and_then(|v| v.as_sequence())
        .map(|s| s.iter().filter_map(crate::kep::metadata::render_scalar).collect())
        .unwrap_or_default();
    let mut out = KepReadiness {
        number: numbers_of(cx).into_iter().next().unwrap_or_default(),
        title: scalar("title").unwrap_or_default(),
        sig: scalar("owning-sig").unwrap_or_else(|| new.kep.group.clone()),
        path: new.kep.path.clone(),
        readme: new.kep.readme_path(),
        metadata: new.kep.metadata_path(),
        authors,
        status: scalar("status"),
        stage: scalar("stage"),
        latest_milestone: scalar("latest-milestone"),
        graduating,
        verdict: Verdict::Tracked,
        criteria: checked,
        checklist,
        exception: None,
    };
    if out.failed().next().is_some() {
        out.verdict = Verdict::AtRisk;
    }
    Ok(Some(out))
}

/// A rule-decided criterion: failed by the first of its rules' findings that counts.
fn from_findings(c: &Criterion, policy: &Policy, findings: &[Finding], kind: KepKind) -> Outcome {
    if let Some(off) = c.rules.iter().find(|r| policy.level(r) == Level::Off)
        && c.rules.len() == 1
    {
        return Outcome::not_applicable(format!("the rule `{off}` is off in {}", policy.origin));
    }
    if kind == KepKind::Legacy && c.id != "metadata" {
        return Outcome::not_applicable("a legacy single-file KEP, which predates PRR and the template");
    }
    let counts = |f: &&Finding| {
        c.rules.contains(&f.rule)
            && (f.severity == Severity::Error || (c.warnings_fail && f.severity == Severity::Warning))
    };
    match findings.iter().find(counts) {
        Some(f) => {
            let more = findings.iter().filter(counts).count() - 1;
            let title = match more {
                0 => f.title.clone(),
                n => format!("{} (and {n} more)", f.title),
            };
            Outcome::failed(f.location.clone(), title, f.help.clone())
        }
        None => Outcome::passed(),
    }
}

/// The stage a KEP's `stage` names, for the criteria that depend on it.
pub fn stage_of(meta: Option<&crate::kep::metadata::Metadata>) -> Option<Stage> {
    meta.and_then(|m| m.stage().valid())
}

/// The whole run's result.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub release: Milestone,
    pub freeze: Freeze,
    pub commit: ObjectId,
    pub rev: String,
    pub keps: Vec<KepReadiness>,
    /// Numbers asked for that name no KEP at the revision.
    pub unknown: Vec<String>,
    /// Links to files: `<link_base>/blob/<commit>/<path>`.
    pub link_base: String,
}

impl Readiness {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.keps.iter().filter(|k| k.verdict == verdict).count()
    }

    /// Sorted as the report lists them: by SIG, then number.
    pub fn sort(&mut self) {
        let key = |k: &KepReadiness| {
            (
                k.sig.clone(),
                k.number.parse::<u64>().unwrap_or(u64::MAX),
                k.path.clone(),
            )
        };
        self.keps.sort_by_key(key);
    }

    pub fn link(&self, path: &str) -> String {
        format!("{}/blob/{}/{path}", self.link_base.trim_end_matches('/'), self.commit)
    }
}

/// Judges the KEPs of the tree of `commit` for `options`; the exception requests approved in
/// `exceptions` turn an at-risk KEP into one with an exception.
pub fn run<S>(
    store: &S,
    policy: &Policy,
    commit: ObjectId,
    rev: &str,
    options: &Options,
    exceptions: &[exceptions::Exception],
    link_base: &str,
) -> Result<Readiness>
where
    S: gix::objs::Find + Clone + Send,
{
    let (tree, keps) = crate::engine::keps_at(store, policy, commit)?;
    let since = options.since.map(|then| criteria::Since {
        then,
        now: tree,
        layout: policy.layout.clone(),
    });
    let mut judged = crate::engine::each_kep_at(
        store,
        policy,
        commit,
        tree,
        keps,
        |_| true,
        |cx, objects| judge(cx, options, since.as_ref().map(|s| (s, objects))),
    )?;
    for k in &mut judged {
        if let Some(e) = exceptions.iter().find(|e| e.issue == k.number) {
            k.exception = Some(e.clone());
            if e.approved() && k.verdict == Verdict::AtRisk {
                k.verdict = Verdict::Exception;
            }
        }
    }
    let unknown = match &options.keps {
        Some(list) => list
            .iter()
            .filter(|n| {
                !judged.iter().any(|k| {
                    &k.number == *n
                        || k.path
                            .rsplit('/')
                            .next()
                            .is_some_and(|d| d.split('-').next() == Some(n.as_str()))
                })
            })
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let mut out = Readiness {
        release: options.release,
        freeze: options.freeze,
        commit,
        rev: rev.to_owned(),
        keps: judged,
        unknown,
        link_base: link_base.to_owned(),
    };
    out.sort();
    Ok(out)
}
