//! The repository's policy, `.kepguard.yaml`: where KEPs live, each rule's level and options, and
//! reviewed exceptions.
//!
//! `check`, the hooks and the action read it from the base side of a change (the merge-base, or
//! the receiving branch's tip), never from the change itself, so a change cannot relax the policy
//! that judges it.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use gix::ObjectId;
use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::finding::{Finding, Severity};
use crate::git::Objects;
use crate::kep::Layout;
use crate::kep::metadata::{Metadata, Milestone, render_scalar};
use crate::rules;

/// The policy file's name, at the repository root.
pub const FILE: &str = ".kepguard.yaml";

/// What `kepguard init` writes: every setting at its default, commented.
/// The release from which Production Readiness Review is required upstream.
pub const PRR_REQUIRED_SINCE: Milestone = Milestone { major: 1, minor: 21 };

/// The rules that take a `since` option: they apply to KEPs targeting that milestone or later.
pub const SINCE_RULES: &[&str] = &["prr-on-graduation", "prr-approval", "prr-complete"];

pub const DEFAULT_TEXT: &str = include_str!("policy_default.yaml");

/// How a rule's findings are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    /// The rule does not run.
    Off,
}

/// Which changes need an Implementation History entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// A change of status, stage, latest-milestone or a milestone.
    #[default]
    Lifecycle,
    /// Any change to `kep.yaml` or `README.md`.
    Any,
}

/// One reviewed exception: `rule` does not apply to one KEP, optionally until a milestone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    pub rule: &'static str,
    /// A KEP number (`1234`) or a KEP path (`keps/sig-node/1234-foo`).
    pub kep: String,
    pub reason: String,
    /// The waiver holds while the KEP's latest-milestone is at most this.
    pub until: Option<Milestone>,
}

impl Allow {
    fn matches(&self, finding: &Finding) -> bool {
        self.rule == finding.rule
            && if self.kep.contains('/') {
                self.kep.trim_end_matches('/') == finding.kep
            } else {
                self.kep.trim_start_matches('0') == finding.number.trim_start_matches('0')
            }
    }
}

/// The settings every part of a run reads.
#[derive(Debug, Clone)]
pub struct Policy {
    pub layout: Layout,
    /// The KEP template README, whose headings `template-sections` requires.
    pub template: String,
    /// Whether `Kepguard-Allow:` commit trailers may waive findings.
    pub trailers: bool,
    pub when: When,
    /// Per rule with a `since` option: the milestone it applies from, where not the default.
    since: BTreeMap<&'static str, Milestone>,
    levels: BTreeMap<&'static str, Level>,
    pub allow: Vec<Allow>,
    /// Waivers from commit trailers, with the commit that carried each.
    trailer_allow: Vec<(Allow, String)>,
    /// Where the policy came from, for waiver notes.
    pub origin: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            layout: Layout::default(),
            template: "keps/NNNN-kep-template/README.md".into(),
            trailers: false,
            when: When::Lifecycle,
            since: BTreeMap::new(),
            levels: BTreeMap::new(),
            allow: Vec::new(),
            trailer_allow: Vec::new(),
            origin: "the default policy".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPolicy {
    keps: Option<String>,
    prr_dir: Option<String>,
    template: Option<String>,
    trailers: Option<bool>,
    #[serde(default)]
    rules: BTreeMap<RuleId, RawRule>,
    #[serde(default)]
    allow: Vec<RawAllow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    level: Option<Level>,
    when: Option<When>,
    since: Option<MilestoneText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    rule: RuleId,
    kep: serde_yaml::Value,
    reason: String,
    until: Option<MilestoneText>,
}

/// A rule id, checked against the registry while parsing so the error carries the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RuleId(&'static str);

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        match rules::find(&name) {
            Some(rule) => Ok(RuleId(rule.info().id)),
            None => {
                let ids: Vec<_> = rules::ALL.iter().map(|r| r.info().id).collect();
                Err(de::Error::custom(format!(
                    "unknown rule `{name}` (rules: {})",
                    ids.join(", ")
                )))
            }
        }
    }
}

/// A milestone such as `v1.21`, checked while parsing.
struct MilestoneText(Milestone);

impl<'de> Deserialize<'de> for MilestoneText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_yaml::Value::deserialize(d)?;
        let text = render_scalar(&value).unwrap_or_default();
        Milestone::parse(&text)
            .map(MilestoneText)
            .ok_or_else(|| de::Error::custom(format!("`{text}` is not a milestone such as v1.21")))
    }
}

impl Policy {
    /// Parses policy text from `origin` (such as `.kepguard.yaml at 1a2b3c4`); errors name the
    /// file and line.
    pub fn parse(text: &str, origin: &str) -> Result<Policy> {
        let at = |line: Option<usize>, message: String| match line {
            Some(line) => anyhow::anyhow!("{origin}:{line}: {message}"),
            None => anyhow::anyhow!("{origin}: {message}"),
        };
        // An empty file, or one holding only comments, is the default policy.
        let raw: Option<RawPolicy> = serde_yaml::from_str(text).map_err(|e| at(line_of(&e), message_of(&e)))?;
        let Some(raw) = raw else {
            return Ok(Policy {
                origin: origin.to_owned(),
                ..Policy::default()
            });
        };
        // Lines are only needed to report a setting that parsed but is not acceptable.
        let key_line = |path: &[&str]| Metadata::parse(text, 0).ok().and_then(|m| m.key_line(path));

        let mut policy = Policy {
            origin: origin.to_owned(),
            ..Policy::default()
        };
        if let Some(keps) = raw.keps {
            let keps = keps.trim_matches('/').to_owned();
            if keps.is_empty() {
                return Err(at(key_line(&["keps"]), "`keps` must name a directory".into()));
            }
            policy.layout.root = keps;
        }
        if let Some(prr) = raw.prr_dir {
            let prr = prr.trim_matches('/');
            // PRR files live in one directory directly under the KEP root, as kepval expects.
            match prr.strip_prefix(&format!("{}/", policy.layout.root)) {
                Some(group) if !group.is_empty() && !group.contains('/') => policy.layout.prr_group = group.to_owned(),
                _ => {
                    return Err(at(
                        key_line(&["prr-dir"]),
                        format!("`prr-dir` must be a directory directly under `{}`", policy.layout.root),
                    ));
                }
            }
        }
        if let Some(template) = raw.template {
            policy.template = template.trim_matches('/').to_owned();
        }
        policy.trailers = raw.trailers.unwrap_or(false);
        for (RuleId(id), settings) in raw.rules {
            if let Some(level) = settings.level {
                policy.levels.insert(id, level);
            }
            let option_error = |option: &str| {
                at(
                    key_line(&["rules", id]),
                    format!("rule `{id}` has no option `{option}` (see `kepguard explain {id}`)"),
                )
            };
            if let Some(when) = settings.when {
                if id != "implementation-history" {
                    return Err(option_error("when"));
                }
                policy.when = when;
            }
            if let Some(MilestoneText(since)) = settings.since {
                if !SINCE_RULES.contains(&id) {
                    return Err(option_error("since"));
                }
                policy.since.insert(id, since);
            }
        }
        for entry in raw.allow {
            let kep = render_scalar(&entry.kep).unwrap_or_default();
            if kep.is_empty()
                || matches!(
                    entry.kep,
                    serde_yaml::Value::Sequence(_) | serde_yaml::Value::Mapping(_)
                )
            {
                return Err(at(
                    key_line(&["allow"]),
                    format!(
                        "an `allow` entry for `{}` needs `kep`: a KEP number or path",
                        entry.rule.0
                    ),
                ));
            }
            if entry.reason.trim().is_empty() {
                return Err(at(
                    key_line(&["allow"]),
                    format!("the `allow` entry for `{}` on {kep} needs a `reason`", entry.rule.0),
                ));
            }
            policy.allow.push(Allow {
                rule: entry.rule.0,
                kep,
                reason: entry.reason.trim().to_owned(),
                until: entry.until.map(|m| m.0),
            });
        }
        Ok(policy)
    }

    /// The policy in the tree of `commit` (the default policy when it has no policy file).
    pub fn at_commit(objects: Objects<'_>, commit: ObjectId) -> Result<Policy> {
        let tree = objects.commit_tree(&commit)?;
        let short = commit.to_hex_with_len(12).to_string();
        let Some(text) = objects
            .file_text(tree, FILE)
            .with_context(|| format!("cannot read {FILE} at {short}"))?
        else {
            return Ok(Policy::default());
        };
        Policy::parse(&text, &format!("{FILE} at {short}"))
    }

    /// The milestone from which rule `id` (one of [`SINCE_RULES`]) applies.
    pub fn since(&self, id: &str) -> Milestone {
        self.since.get(id).copied().unwrap_or(PRR_REQUIRED_SINCE)
    }

    /// The level rule `id` runs at: the policy's, else the rule's default.
    pub fn level(&self, id: &str) -> Level {
        if let Some(level) = self.levels.get(id) {
            return *level;
        }
        match rules::find(id).map(|r| r.info().default_severity) {
            Some(Severity::Warning) => Level::Warning,
            _ => Level::Error,
        }
    }

    /// Applies the rule's level and the policy's exceptions to `finding`. `latest` is the KEP's
    /// latest-milestone after the change, for exceptions that hold `until` a milestone.
    pub fn judge(&self, finding: &mut Finding, latest: Option<Milestone>) {
        // A policy can lower a rule to warnings; a rule's own warnings stay warnings.
        if self.level(finding.rule) == Level::Warning {
            finding.severity = Severity::Warning;
        }
        let matching: Vec<&Allow> = self.allow.iter().filter(|a| a.matches(finding)).collect();
        for allow in matching {
            match (allow.until, latest) {
                (Some(until), Some(latest)) if latest > until => finding.notes.push(format!(
                    "an exception in {} expired after {until}: {}",
                    self.origin, allow.reason
                )),
                _ => {
                    waive(finding, format!("allowed by {}: {}", self.origin, allow.reason));
                    return;
                }
            }
        }
        if let Some((allow, commit)) = self.trailer_allow.iter().find(|(a, _)| a.matches(finding)) {
            waive(
                finding,
                format!(
                    "allowed by a Kepguard-Allow trailer in commit {commit}: {}",
                    allow.reason
                ),
            );
        }
    }

    /// Turns every rule but those in `ids` off (`--rule`); their own levels are kept.
    pub fn only(&mut self, ids: &[&'static str]) {
        for rule in rules::ALL {
            let id = rule.info().id;
            if !ids.contains(&id) {
                self.levels.insert(id, Level::Off);
            }
        }
    }
}

impl Policy {
    /// This policy plus the `Kepguard-Allow:` trailers of `commits`.
    pub fn with_trailers(&self, objects: Objects<'_>, commits: &[ObjectId]) -> Result<Policy> {
        let mut policy = self.clone();
        for commit in commits {
            let message = objects.commit_message(commit)?;
            let short = commit.to_hex_with_len(12).to_string();
            for (rule, kep, reason) in message.lines().filter_map(parse_trailer) {
                policy.trailer_allow.push((
                    Allow {
                        rule,
                        kep,
                        reason,
                        until: None,
                    },
                    short.clone(),
                ));
            }
        }
        Ok(policy)
    }
}

/// `Kepguard-Allow: <rule> <kep-number>: <reason>`; lines naming no known rule or no reason are
/// not waivers.
pub fn parse_trailer(line: &str) -> Option<(&'static str, String, String)> {
    let (key, value) = line.split_once(':')?;
    if !key.trim().eq_ignore_ascii_case("kepguard-allow") {
        return None;
    }
    let (target, reason) = value.split_once(':')?;
    let mut words = target.split_whitespace();
    let (rule, kep) = (words.next()?, words.next()?);
    let reason = reason.trim();
    if words.next().is_some() || reason.is_empty() {
        return None;
    }
    Some((
        rules::find(rule)?.info().id,
        kep.trim_start_matches("KEP-").to_owned(),
        reason.to_owned(),
    ))
}

/// Turns a finding into a note that says why it does not count.
pub fn waive(finding: &mut Finding, why: String) {
    finding.severity = Severity::Note;
    finding.notes.push(why);
}

fn line_of(e: &serde_yaml::Error) -> Option<usize> {
    e.location().map(|l| l.line())
}

/// serde_yaml's message without its " at line N column M" suffix (the line is reported separately).
fn message_of(e: &serde_yaml::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    match first.find(" at line ") {
        Some(i) => first[..i].to_owned(),
        None => first.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_text_parses_to_the_default_policy() {
        let p = Policy::parse(DEFAULT_TEXT, FILE).unwrap();
        let d = Policy::default();
        assert_eq!(
            (
                &p.layout.root,
                &p.layout.prr_group,
                &p.template,
                p.trailers,
                p.when,
                SINCE_RULES.iter().map(|id| p.since(id)).collect::<Vec<_>>()
            ),
            (
                &d.layout.root,
                &d.layout.prr_group,
                &d.template,
                d.trailers,
                d.when,
                SINCE_RULES.iter().map(|id| d.since(id)).collect::<Vec<_>>()
            )
        );
        assert!(p.allow.is_empty());
        for rule in rules::ALL {
            let id = rule.info().id;
            assert_eq!(p.level(id), d.level(id), "{id}");
            assert!(DEFAULT_TEXT.contains(&format!("\n  {id}:\n")), "`init` lists {id}");
        }
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let err = |text: &str| Policy::parse(text, FILE).unwrap_err().to_string();
        assert_eq!(
            err("keps: keps\nrulez: {}\n"),
            ".kepguard.yaml:2: unknown field `rulez`, expected one of `keps`, `prr-dir`, `template`, `trailers`, `rules`, `allow`"
        );
        assert!(
            err("rules:\n  no-such-rule:\n    level: off\n")
                .starts_with(".kepguard.yaml:2: rules: unknown rule `no-such-rule`")
        );
        assert!(
            err("rules:\n  stage-monotonic:\n    level: loud\n")
                .starts_with(".kepguard.yaml:3: rules.stage-monotonic.level: unknown variant `loud`")
        );
        assert_eq!(
            err("rules:\n  stage-monotonic:\n    when: any\n"),
            ".kepguard.yaml:2: rule `stage-monotonic` has no option `when` (see `kepguard explain stage-monotonic`)"
        );
        assert!(err("trailers: maybe\n").starts_with(".kepguard.yaml:1: "));
        assert!(err("rules:\n  prr-on-graduation:\n    since: soon\n").contains("`soon` is not a milestone"));
        assert!(err("allow:\n  - rule: stage-monotonic\n    kep: 12\n    reason: \"\"\n").contains("needs a `reason`"));
        assert!(err("allow:\n  - rule: stage-monotonic\n    reason: x\n").contains("missing field `kep`"));
        assert!(err("prr-dir: elsewhere/prr\n").starts_with(".kepguard.yaml:1: `prr-dir` must be"));
        assert!(err("- a\n").starts_with(".kepguard.yaml:1: "));
    }

    #[test]
    fn settings_are_read() {
        let p = Policy::parse(
            "keps: proposals\nprr-dir: proposals/prr\ntrailers: true\nrules:\n  implementation-history:\n    when: any\n  prr-on-graduation:\n    since: v1.30\n    level: warning\n  stage-monotonic: {level: off}\nallow:\n  - {rule: stage-monotonic, kep: 0042, reason: reviewed, until: v1.33}\n",
            FILE,
        )
        .unwrap();
        assert_eq!(
            (p.layout.root.as_str(), p.layout.prr_group.as_str()),
            ("proposals", "prr")
        );
        assert!(p.trailers);
        assert_eq!(p.when, When::Any);
        assert_eq!(p.since("prr-on-graduation"), Milestone { major: 1, minor: 30 });
        assert_eq!(p.since("prr-approval"), PRR_REQUIRED_SINCE);
        assert_eq!(p.level("prr-on-graduation"), Level::Warning);
        assert_eq!(p.level("stage-monotonic"), Level::Off);
        assert_eq!(p.level("implementation-history"), Level::Error);
        assert_eq!(p.allow[0].kep, "0042");
        assert_eq!(p.allow[0].until, Some(Milestone { major: 1, minor: 33 }));
        assert!(Policy::parse("# only comments\n", FILE).is_ok());
    }
}
