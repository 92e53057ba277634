use anyhow::Result;
use serde::Deserialize;
use serde_yaml::Value;

use super::{Context, Rule, RuleInfo, Scope, declare_rule, metadata_location};
use crate::finding::{Finding, Location, Severity};
use crate::kep::metadata::{Metadata, Milestone, Stage, StageValue, Status};
use crate::kep::{KepKind, KepPath, MetadataState, kepval};

declare_rule! {
    /// ## What it checks
    /// A KEP's `kep.yaml` passes what kepval (`hack/verify-kep-metadata.sh`) checks, always as
    /// errors, read as kepval reads it (`src/kep/kepval.rs` follows its source): a regular file (a
    /// symbolic link is followed) that yaml.v3 decodes strictly into kepval's fields (no unknown or
    /// repeated keys, a single value where kepval has a string and a list where it has one, YAML
    /// 1.1's y/n/yes/no/on/off and 1.2's true/false for `disable-supported`, merge keys merged,
    /// values taken as written: `1.30` is `1.30`); `title`, `kep-number`, `owning-sig` and `status`
    /// not empty, `authors` and `approvers` present; and, for a KEP whose `status` is exactly
    /// `implementable` or `implemented`, a `stage`, and a `latest-milestone` that semver reads.
    /// With the policy's `kepval: true` (the default), what kepval rejects only because of how it
    /// reads files is an error too, saying so: a line over 64 KiB, and a line containing `---`,
    /// which kepval takes for a document marker. kepval stops at the first problem; so does this
    /// part of the rule. In `validate`, a KEP kepval's walk never reaches is held to warnings.
    ///
    /// Stricter than kepval, as warnings when the KEP already had the problem before the change
    /// (and always in `kepguard validate`), otherwise errors: `status` and `stage` are valid values
    /// (with a "did you mean" for near misses); `kep-number` equals
    /// the directory's number; `owning-sig` equals the directory's group where that is a `sig-*`;
    /// the groups in `owning-sig` and `participating-sigs` are groups of the repository: a
    /// directory of the KEP root, a group whose `<group>-leads` alias (or a `committee-*` alias)
    /// is in `OWNERS_ALIASES` on the base side, or one of the option `groups`; `creation-date` and
    /// `last-updated` are real `YYYY-MM-DD` dates; milestones look like `vX.Y`. Placeholders
    /// (`""`, `TBD`, null) are not defects in the milestones of a KEP that is not implementable
    /// or implemented yet, nor in those of stages other than the current one (a later stage is a
    /// plan, an earlier one may have been skipped); a milestone without its `v` (`"1.28"`, which kepval reads as v1.28) is only a
    /// `validate` warning. A metadata file renamed into `kep.yaml` brings its old problems along,
    /// so the rename introduces none.
    ///
    /// Always warnings, as they are common in practice: an `implemented` KEP whose stage is
    /// before `stable` (some KEPs are scoped to a stage), a date such as `2023-9-18` that names a
    /// real day, and, in `validate`, a milestone without its `v`.
    ///
    /// Legacy single-file KEPs were never read by kepval: their front matter only has to parse. A
    /// directory with a README and no `kep.yaml` is `kep-tree`'s to report in `validate`.
    ///
    /// ## Why
    /// Every other rule, kepval and the release tooling read these values. Metadata that does not
    /// parse silently switches those checks off for the KEP, and a misspelt status or a wrong
    /// number drops the KEP from the release team's lists.
    ///
    /// ## How to fix
    /// Fix the value at the line shown: the YAML syntax (indentation, an unclosed quote, a tab),
    /// the missing field, or the value the message names (the "did you mean" is usually it).
    /// `kepguard fix` adds the `v` a milestone lacks.
    ///
    /// ## Options
    /// `groups: [sig-foo, wg-bar]`: groups that may own or join KEPs without a directory of
    /// their own or an alias in `OWNERS_ALIASES`.
    INFO, "kep-metadata", Error, "KEP metadata parses and holds valid values"
}

pub struct KepMetadata;

/// `rules.kep-metadata` in the policy file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Groups (SIGs, WGs, committees) that own KEPs without a directory of their own.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Where `<group>-leads` and `committee-*` aliases name the project's groups.
const ALIASES_FILE: &str = "OWNERS_ALIASES";

const MILESTONE_KEYS: &[&str] = &["alpha", "beta", "stable", "deprecated", "disabled", "removed"];

/// One thing wrong with a metadata document.
struct Problem {
    /// Identifies the problem across the two sides of a change.
    code: String,
    /// The value on the key's line to replace, and its replacement, where that fixes it.
    replace: Option<(String, String)>,
    /// The key path the finding points at.
    key: Vec<String>,
    /// The line, where known better than by the key.
    line: Option<usize>,
    title: String,
    help: String,
    kind: Kind,
}

/// How much a problem weighs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// kepval rejects it: always an error.
    Kepval,
    /// Stricter than kepval: an error only when a change introduces it.
    Strict,
    /// Worth a look, but normal in practice: always a warning.
    Advisory,
}
use Kind::*;

impl Rule for KepMetadata {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn snapshot(&self) -> bool {
        true
    }

    fn options(&self, raw: serde_yaml::Value) -> Result<super::Options, serde_yaml::Error> {
        super::options::<Options>(raw)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let before = out.len();
        self.judge(cx, out)?;
        super::unless_kepval_reaches(cx, &mut out[before..])
    }
}

impl KepMetadata {
    fn judge(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some(new) = &cx.diff.new else { return Ok(()) };
        let path = new.kep.metadata_path();
        let meta = match &*new.metadata {
            MetadataState::Missing => return Ok(()),
            MetadataState::NotAFile => {
                out.push(cx.finding(
                    &INFO,
                    Location {
                        path: path.clone(),
                        line: None,
                        snippet: None,
                    },
                    format!("{}: {path} is not a regular file", cx.kep_name()),
                    "replace it with a regular file holding the KEP's metadata".into(),
                ));
                return Ok(());
            }
            MetadataState::Invalid(e) => {
                let mut finding = cx.finding(
                    &INFO,
                    Location {
                        path: path.clone(),
                        line: e.line,
                        snippet: e.snippet.clone(),
                    },
                    format!("{}: {path} is not valid KEP metadata: {}", cx.kep_name(), e.message),
                    "fix the YAML so that it parses as a mapping of KEP fields".into(),
                );
                // kepval never reads a legacy KEP: its broken front matter blocks only the change
                // that breaks it.
                if new.kep.kind == KepKind::Legacy {
                    let was_broken = cx
                        .diff
                        .old
                        .as_ref()
                        .is_some_and(|o| matches!(*o.metadata, MetadataState::Invalid(_)));
                    if cx.scope == Scope::Tree || was_broken {
                        finding.severity = Severity::Warning;
                        finding.notes.push(match cx.scope {
                            Scope::Tree => "a legacy KEP, which kepval does not read: reported as a warning".into(),
                            Scope::Change => {
                                "the front matter did not parse before the change either: reported as a warning".into()
                            }
                        });
                    }
                }
                out.push(finding);
                return Ok(());
            }
            MetadataState::Parsed(meta) => meta,
        };
        // kepval never read legacy single-file KEPs: their front matter only has to parse.
        if new.kep.kind == KepKind::Legacy {
            return Ok(());
        }
        let named: Vec<String> = [Some(meta), cx.diff.old.as_ref().and_then(|o| o.metadata.parsed())]
            .into_iter()
            .flatten()
            .flat_map(named_groups)
            .collect();
        let groups = Groups::of(cx, &named)?;
        let problems = problems(meta, &new.kep, &groups, cx.scope, cx.policy.kepval);
        // The old side's problems matter only to tell which of these the KEP had before.
        let old_codes: Vec<String> = match (&cx.diff.old, cx.scope) {
            _ if problems.is_empty() => Vec::new(),
            (Some(old), Scope::Change) => match old.metadata.parsed() {
                Some(old_meta) => problems_codes(old_meta, &old.kep, &groups, cx.scope, cx.policy.kepval),
                // A metadata file renamed into kep.yaml brings its problems along.
                None => match renamed_from(cx, &old.kep)? {
                    Some(old_meta) => problems_codes(&old_meta, &old.kep, &groups, cx.scope, cx.policy.kepval),
                    None => Vec::new(),
                },
            },
            _ => Vec::new(),
        };
        for p in problems {
            let key: Vec<&str> = p.key.iter().map(String::as_str).collect();
            let mut at = metadata_location(new, Some(meta), &key);
            if let Some(line) = p.line {
                at.snippet = meta.line_text(line).map(str::to_owned);
                at.line = Some(line);
            }
            let fix = match (&p.replace, at.line) {
                (Some((from, to)), Some(line)) => Some(crate::finding::Fix {
                    path: at.path.clone(),
                    edit: crate::finding::Edit::Replace {
                        line,
                        from: from.clone(),
                        to: to.clone(),
                    },
                }),
                _ => None,
            };
            let mut finding = cx.finding(&INFO, at, p.title, p.help);
            finding.fix = fix;
            if p.kind == Kepval && p.code.starts_with("kepval") {
                finding.notes.push(kepval::REJECTS_TOO.into());
            }
            if p.code.starts_with("kepval-artefact:") {
                finding.notes.push(kepval::ARTEFACT.into());
            }
            if p.kind == Advisory {
                finding.severity = Severity::Warning;
            } else if p.kind == Strict {
                let pre_existing = cx.scope == Scope::Tree || old_codes.contains(&p.code);
                if pre_existing {
                    finding.severity = Severity::Warning;
                    finding.notes.push(match cx.scope {
                        Scope::Tree => "stricter than kepval: reported as a warning".into(),
                        Scope::Change => "the KEP had this problem before the change: reported as a warning".into(),
                    });
                }
            } else if cx.scope == Scope::Change && old_codes.contains(&p.code) {
                // Upstream CI fails such a tree whatever the change; history from before kepval
                // checked it is not the change's to answer for.
                finding.severity = Severity::Warning;
                finding
                    .notes
                    .push("the KEP failed this kepval check before the change too: reported as a warning".into());
            }
            out.push(finding);
        }
        Ok(())
    }
}

fn problems_codes(meta: &Metadata, kep: &KepPath, groups: &Groups, scope: Scope, kepval: bool) -> Vec<String> {
    problems(meta, kep, groups, scope, kepval)
        .into_iter()
        .map(|p| p.code)
        .collect()
}

/// The metadata of another YAML file the KEP directory held before the change (such as
/// `4331.yaml` renamed to `kep.yaml`), when one parses as KEP metadata.
fn renamed_from(cx: &Context<'_>, old: &KepPath) -> Result<Option<Metadata>> {
    if old.kind != KepKind::Directory {
        return Ok(None);
    }
    for name in cx.repo.base_files(&old.path)? {
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        if let Some(text) = cx.repo.base_file(&format!("{}/{name}", old.path))?
            && let Ok(meta) = Metadata::parse(&text, 0)
            && meta.get("kep-number").is_some()
        {
            return Ok(Some(meta));
        }
    }
    Ok(None)
}

/// The groups a KEP may name: the KEP root's directories (but the PRR one), the groups that
/// `OWNERS_ALIASES` on the base side names (`<group>-leads`, `committee-*`), and the policy's.
struct Groups {
    dirs: Vec<String>,
    others: Vec<String>,
}

impl Groups {
    /// The groups `named` may be judged by; `OWNERS_ALIASES` is read only when one of them is
    /// not a directory.
    fn of(cx: &Context<'_>, named: &[String]) -> Result<Groups> {
        let prr = &cx.policy.layout.prr_group;
        let dirs: Vec<String> = cx
            .repo
            .new_dirs(&cx.policy.layout.root)?
            .into_iter()
            .filter(|d| d != prr)
            .collect();
        let mut others = cx.options::<Options>(&INFO).groups.clone();
        if named.iter().any(|g| !dirs.contains(g))
            && let Some(text) = cx.repo.base_file(ALIASES_FILE)?
        {
            others.extend(alias_groups(&text));
        }
        Ok(Groups { dirs, others })
    }

    /// Without directories there is nothing to judge a group by.
    fn known(&self, group: &str) -> bool {
        self.dirs.is_empty() || self.dirs.iter().chain(&self.others).any(|g| g == group)
    }
}

/// The groups a KEP's metadata names.
fn named_groups(meta: &Metadata) -> Vec<String> {
    let mut out: Vec<String> = meta.scalar("owning-sig").into_iter().collect();
    if let Some(Value::Sequence(sigs)) = meta.get("participating-sigs") {
        out.extend(sigs.iter().filter_map(|v| v.as_str()).map(str::to_owned));
    }
    out
}

/// The groups named by the aliases of an `OWNERS_ALIASES` file, parsed once per content.
fn alias_groups(text: &str) -> Vec<String> {
    thread_local! {
        static CACHE: std::cell::RefCell<crate::memo::ByText<Vec<String>>> =
            const { std::cell::RefCell::new(crate::memo::ByText::new()) };
    }
    crate::memo::by_text(&CACHE, text, |text| {
        let doc: Option<Value> = serde_yaml::from_str(text).ok();
        doc.as_ref()
            .and_then(|d| d.get("aliases"))
            .and_then(|a| a.as_mapping())
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str())
                    .filter_map(|k| match k.strip_suffix("-leads") {
                        Some(group) => Some(group.to_owned()),
                        None => k.starts_with("committee-").then(|| k.to_owned()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn problems(meta: &Metadata, kep: &KepPath, groups: &Groups, scope: Scope, kepval: bool) -> Vec<Problem> {
    let rejected = kepval_problems(meta, kepval);
    let mut out = Vec::new();
    let mut replacements: Vec<(String, (String, String))> = Vec::new();
    let mut push = |code: String, key: &[&str], title: String, help: String, kind: Kind| {
        out.push(Problem {
            code,
            replace: None,
            key: key.iter().map(|k| (*k).to_owned()).collect(),
            line: None,
            title,
            help,
            kind,
        })
    };
    let name = match meta.scalar("kep-number") {
        Some(n) => format!("KEP-{n}"),
        None => kep.path.clone(),
    };

    // Stricter than kepval.
    let status = meta.scalar("status");
    if let Some(s) = &status
        && Status::parse(s).is_none()
    {
        let valid: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        push(
            "status:invalid".into(),
            &["status"],
            format!("{name}: invalid status `{s}`"),
            match did_you_mean(s, &valid) {
                Some(v) => format!("did you mean `{v}`? status is one of {}", valid.join(", ")),
                None => format!("status is one of {}", valid.join(", ")),
            },
            Strict,
        );
    }
    let stage = meta.stage();
    if let StageValue::Invalid(s) = &stage {
        let valid: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
        let guess = match s.to_ascii_lowercase().as_str() {
            "ga" | "general availability" | "stable (ga)" => Some("stable"),
            _ => did_you_mean(s, &valid),
        };
        push(
            "stage:invalid".into(),
            &["stage"],
            format!("{name}: invalid stage `{s}`"),
            match guess {
                Some(v) => format!("did you mean `{v}`? stage is one of {}", valid.join(", ")),
                None => format!("stage is one of {}", valid.join(", ")),
            },
            Strict,
        );
    }
    let status = status.as_deref().and_then(Status::parse);
    // Some KEPs are scoped to a stage (say, "to beta"), so this is a question, not a defect.
    if status == Some(Status::Implemented)
        && let StageValue::Valid(st) = &stage
        && *st < Stage::Stable
    {
        push(
            "implemented:stable".into(),
            &["stage"],
            format!("{name}: status implemented with stage {st}"),
            format!(
                "an implemented KEP is usually stable: set `stage: stable`, or keep the status implementable; a KEP whose scope ends at {st} may stay as it is"
            ),
            Advisory,
        );
    }
    if let (Some(number), Some(dir)) = (meta.scalar("kep-number"), kep.dir_number.as_deref())
        && number.trim_start_matches('0') != dir.trim_start_matches('0')
    {
        push(
            "number:dir".into(),
            &["kep-number"],
            format!("{name}: kep-number {number} does not match the directory's number {dir}"),
            format!(
                "set `kep-number: {}` or move the KEP to the right directory",
                dir.trim_start_matches('0')
            ),
            Strict,
        );
    }
    let owning = meta.scalar("owning-sig");
    if let Some(sig) = &owning
        && kep.group.starts_with("sig-")
        && *sig != kep.group
    {
        push(
            "owning:dir".into(),
            &["owning-sig"],
            format!("{name}: owning-sig {sig} but the KEP is under {}", kep.group),
            format!("set `owning-sig: {}` or move the KEP under keps/{sig}/", kep.group),
            Strict,
        );
    }
    if let Some(sig) = &owning
        && !groups.known(sig)
    {
        push(
            format!("group:{sig}"),
            &["owning-sig"],
            format!("{name}: owning-sig {sig} is not a group of this repository"),
            group_help(sig, &groups.dirs),
            Strict,
        );
    }
    if let Some(Value::Sequence(sigs)) = meta.get("participating-sigs") {
        for sig in sigs.iter().filter_map(|v| v.as_str()) {
            if !groups.known(sig) {
                push(
                    format!("group:{sig}"),
                    &["participating-sigs"],
                    format!("{name}: participating-sigs names {sig}, not a group of this repository"),
                    group_help(sig, &groups.dirs),
                    Strict,
                );
            }
        }
    }
    for key in ["creation-date", "last-updated"] {
        if let Some(date) = meta.scalar(key)
            && !is_date(&date)
        {
            // `2023-9-18` names a real day: a matter of style, not a wrong date.
            let (code, kind, help) = match padded(&date) {
                Some(fixed) => (format!("date-style:{key}"), Advisory, format!("write `{key}: {fixed}`")),
                None => (
                    format!("date:{key}"),
                    Strict,
                    format!("write the date as YYYY-MM-DD, such as `{key}: 2024-05-31`"),
                ),
            };
            push(
                code,
                &[key],
                format!("{name}: {key} `{date}` is not a YYYY-MM-DD date"),
                help,
                kind,
            );
        }
    }
    // Only an implementable or implemented KEP commits to releases; before that every milestone
    // is a plan. After that, only the current stage's must name its release: a later stage's
    // is a plan and an earlier one's may be a stage the KEP skipped.
    let targeting = matches!(status, Some(Status::Implementable | Status::Implemented));
    let mut milestones: Vec<(String, Vec<&str>, bool)> = Vec::new();
    if let Some(m) = meta.scalar("latest-milestone") {
        milestones.push((m, vec!["latest-milestone"], !targeting));
    }
    let current = stage.valid();
    for (i, key) in MILESTONE_KEYS.iter().enumerate() {
        let planned = !targeting || current != Some(Stage::ALL[i]);
        match meta.get("milestone").and_then(|m| m.get(*key)) {
            None | Some(Value::Null) => {}
            Some(_) => {
                let value = meta.nested_scalar("milestone", key).unwrap_or_default();
                milestones.push((value, vec!["milestone", key], planned));
            }
        }
    }
    for (value, key, planned) in milestones {
        if is_milestone(&value) || (planned && is_placeholder(&value)) {
            continue;
        }
        let shown = key.join(".");
        // `1.28` reads as v1.28 to kepval's tolerant parse: a matter of style, for validate only.
        if Milestone::parse(&value).is_some_and(|m| format!("v{value}") == m.to_string()) {
            if scope == Scope::Tree {
                push(
                    format!("milestone-v:{shown}"),
                    &key,
                    format!("{name}: {shown} `{value}` lacks the `v` of a milestone such as v1.31"),
                    format!("write `v{value}`"),
                    Advisory,
                );
                replacements.push((format!("milestone-v:{shown}"), (value.clone(), format!("v{value}"))));
            }
            continue;
        }
        push(
            format!("milestone:{shown}"),
            &key,
            format!("{name}: {shown} `{value}` is not a milestone such as v1.31"),
            match planned {
                true => "write the release as vX.Y, or leave it empty until it is planned".into(),
                false => "write the release as vX.Y".into(),
            },
            Strict,
        );
    }
    for p in &mut out {
        p.replace = replacements
            .iter()
            .find(|(code, _)| *code == p.code)
            .map(|(_, r)| r.clone());
    }
    // One finding per key: kepval's says it already.
    out.retain(|p| !rejected.iter().any(|r| !r.key.is_empty() && r.key == p.key));
    out.splice(0..0, rejected);
    out
}

/// What kepval rejects in a `kep.yaml`: what its decoder refuses (syntax, unknown fields, types,
/// empty required fields), and what it needs to decide whether PRR applies. kepval stops at the
/// first, so there is at most one.
fn kepval_problems(meta: &Metadata, artefacts: bool) -> Vec<Problem> {
    let bytes = meta.source().as_bytes();
    let rejection = match meta.kepval(artefacts) {
        Ok(proposal) => match kepval::prr_required(proposal) {
            Ok(_) => return Vec::new(),
            Err(r) => r,
        },
        Err(r) => r.clone(),
    };
    let name = match meta.scalar("kep-number") {
        Some(n) => format!("KEP-{n}"),
        None => "kep.yaml".into(),
    };
    let misread = artefacts.then(|| kepval::misread_marker(bytes)).flatten();
    let (code, title, help) = if rejection.artefact {
        (
            format!("kepval-artefact:{}", rejection.message),
            format!("{name}: kepval cannot read this file: {}", rejection.message),
            "kepval rejects it, so upstream CI will".to_owned(),
        )
    } else if let Some(line) = misread {
        (
            format!("kepval-artefact:marker:{line}"),
            format!(
                "{name}: kepval (hack/verify-kep-metadata.sh) reads files line by line and treats line {line}, which contains `---`, as a document marker, so it reads the wrong YAML: {}",
                rejection.message
            ),
            "move `---` out of this value (reword it, or write it differently)".to_owned(),
        )
    } else {
        let message = &rejection.message;
        let help = if let Some(field) = message
            .split("unknown field `")
            .nth(1)
            .and_then(|r| r.split('`').next())
        {
            let known: Vec<&str> = message
                .split("expected ")
                .nth(1)
                .map(|l| l.split('`').skip(1).step_by(2).collect())
                .unwrap_or_default();
            match did_you_mean(field, &known) {
                Some(k) => format!("did you mean `{k}`? kepval rejects unknown fields"),
                None => "remove it: kepval rejects unknown fields".into(),
            }
        } else if message.contains("expected a sequence") {
            "write a list: the key followed by `- item` lines".into()
        } else if message.contains("expected a string") {
            "write a single value here, not a list or a mapping".into()
        } else if message.contains("duplicate") {
            "keep one of the repeated keys".into()
        } else if message.contains("expected true or false") {
            "write `true` or `false`".into()
        } else if message.contains("is missing or empty") {
            "set it (see the KEP template's kep.yaml)".into()
        } else if message.contains("needs `") || message.contains("not a release kepval can read") {
            "set it to the stage and release this KEP targets, such as `v1.31`".into()
        } else {
            "fix it so that kepval can decode the file".into()
        };
        (
            format!("kepval:{message}"),
            format!("{name}: {}", kepval::plain(message)),
            help,
        )
    };
    let key: Vec<String> = rejection
        .key
        .clone()
        .or_else(|| {
            // serde names where it was: `milestone.beta: invalid type ...`.
            let head = rejection.message.split(": ").next()?;
            (!head.contains(' ')).then(|| head.to_owned())
        })
        .map(|k| k.split('.').map(str::to_owned).collect())
        .unwrap_or_default();
    vec![Problem {
        replace: None,
        code,
        key,
        line: if misread.is_some() { misread } else { rejection.line },
        title,
        help,
        kind: Kepval,
    }]
}

fn group_help(sig: &str, groups: &[String]) -> String {
    let names: Vec<&str> = groups.iter().map(String::as_str).collect();
    match did_you_mean(sig, &names) {
        Some(g) => format!("did you mean `{g}`?"),
        None => "name a group of this repository: a directory of the KEP root, a `<group>-leads` alias in OWNERS_ALIASES, or one of `rules.kep-metadata.groups` in the policy".into(),
    }
}

/// The closest of `candidates` to `value`, when it is close enough to be a typo.
fn did_you_mean<'a>(value: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let value = value.trim().to_ascii_lowercase();
    let len = value.chars().count();
    candidates
        .iter()
        // The distance is at least the difference in length: most candidates are ruled out unmeasured.
        .filter(|c| {
            let n = c.chars().count();
            len.abs_diff(n) <= 2.max(n / 4)
        })
        .map(|c| (strsim::damerau_levenshtein(&value, c), *c))
        .filter(|(d, c)| *d > 0 && *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

/// `YYYY-MM-DD` naming a real day.
fn is_date(s: &str) -> bool {
    crate::date::ymd(s).is_some()
}

/// `Y-M-D` with one-digit month or day naming a real day, written as `YYYY-MM-DD`.
fn padded(s: &str) -> Option<String> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || !(1..=2).contains(&m.len()) || !(1..=2).contains(&d.len()) {
        return None;
    }
    let fixed = format!("{y}-{m:0>2}-{d:0>2}");
    is_date(&fixed).then_some(fixed)
}

/// What KEPs write for a release not planned yet.
fn is_placeholder(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "" | "tbd" | "tba" | "~" | "n/a" | "na" | "none"
    )
}

/// `vX.Y` exactly.
fn is_milestone(s: &str) -> bool {
    s.starts_with('v') && Milestone::parse(s).is_some_and(|m| m.to_string() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_get_a_suggestion() {
        let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(did_you_mean("implementeable", &statuses), Some("implementable"));
        assert_eq!(did_you_mean("imlpemented", &statuses), Some("implemented"));
        assert_eq!(did_you_mean("superseded", &statuses), None);
        assert_eq!(
            did_you_mean("sig-apimachinery", &["sig-api-machinery", "sig-apps"]),
            Some("sig-api-machinery")
        );
    }

    #[test]
    fn dates_and_milestones() {
        assert!(is_date("2024-02-29") && !is_date("2023-02-29") && !is_date("2023-14-05"));
        assert!(!is_date("2023-9-18") && !is_date("yyyy-mm-dd") && !is_date("v1.27"));
        assert!(is_milestone("v1.31") && is_milestone("v1.9"));
        assert_eq!(padded("2023-9-18").as_deref(), Some("2023-09-18"));
        assert_eq!(padded("2025-30-01"), None);
        assert_eq!(padded("2023-14-5"), None);
        assert!(!is_milestone("1.25") && !is_milestone("0.0") && !is_milestone("TBD") && !is_milestone("v1.21, v1.37"));
    }
}
