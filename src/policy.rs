//! The repository's policy, `.kepguard.yaml`: where KEPs live, each rule's level and options, and
//! reviewed exceptions.
//!
//! `check`, the hooks and the action read it from the base side of a change (the merge-base, or
//! the receiving branch's tip), never from the change itself, so a change cannot relax the policy
//! that judges it.

use std::any::Any;
use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use gix::ObjectId;
use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::finding::{Finding, Severity};
use crate::git::Objects;
use crate::kep::Layout;
use crate::kep::metadata::{Metadata, Milestone, render_scalar};
use crate::rules::{self, Options, RuleOptions};

/// The policy file's name, at the repository root.
pub const FILE: &str = ".kepguard.yaml";

/// What `kepguard init` writes: every setting at its default, commented.
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
    /// Whether the repository runs kepval (`hack/verify-kep-metadata.sh`): then what kepval
    /// rejects only because of how it reads files (a line over 64 KiB, a line containing `---`,
    /// spaces around an approver) is an error too.
    pub kepval: bool,
    /// Each rule's options, parsed by the rule (its defaults where the file sets none).
    options: BTreeMap<&'static str, Options>,
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
            kepval: true,
            options: default_options(),
            levels: BTreeMap::new(),
            allow: Vec::new(),
            trailer_allow: Vec::new(),
            origin: "the built-in defaults".into(),
        }
    }
}

/// The policy file as written; `kepguard schema policy` is generated from it.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPolicy {
    keps: Option<String>,
    prr_dir: Option<String>,
    template: Option<String>,
    trailers: Option<bool>,
    kepval: Option<bool>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Option<serde_json::Value>>")]
    rules: BTreeMap<RuleId, Option<serde_yaml::Mapping>>,
    #[serde(default)]
    allow: Vec<RawAllow>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    #[schemars(with = "String")]
    rule: RuleId,
    #[schemars(with = "serde_json::Value")]
    kep: serde_yaml::Value,
    reason: String,
    #[schemars(with = "Option<String>")]
    until: Option<Milestone>,
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
        let key_line = |path: &[&str]| {
            let line = Metadata::parse(text, 0).ok().and_then(|m| m.key_line(path))?;
            // Metadata indexes two levels; a rule's option sits one deeper, below `rules.<id>`.
            Some(match path.get(2) {
                Some(option) => option_line(text, line, option).unwrap_or(line),
                None => line,
            })
        };

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
        policy.kepval = raw.kepval.unwrap_or(true);
        for (RuleId(id), settings) in raw.rules {
            let mut settings = settings.unwrap_or_default();
            if let Some(level) = settings.remove("level") {
                let level: Level = serde_yaml::from_value(level).map_err(|e| {
                    at(
                        key_line(&["rules", id, "level"]),
                        format!("rules.{id}.level: {}", message_of(&e)),
                    )
                })?;
                policy.levels.insert(id, level);
            }
            let rule = rules::find(id).expect("ids are checked while parsing");
            // The first key a rule rejects is what the error names and where it points.
            let bad = settings.keys().filter_map(|k| k.as_str()).find(|k| {
                let mut one = serde_yaml::Mapping::new();
                one.insert((*k).into(), settings[*k].clone());
                rule.options(serde_yaml::Value::Mapping(one)).is_err()
            });
            let (line, name) = match bad {
                Some(k) => (key_line(&["rules", id, k]), format!("rules.{id}.{k}")),
                None => (key_line(&["rules", id]), format!("rules.{id}")),
            };
            let options = rule.options(serde_yaml::Value::Mapping(settings)).map_err(|e| {
                at(
                    line,
                    format!("{name}: {} (see `kepguard explain {id}`)", message_of(&e)),
                )
            })?;
            policy.options.insert(id, options);
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
                until: entry.until,
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

    /// The options of rule `id` in force, as the rule's options struct `T`.
    pub fn options<T: RuleOptions>(&self, id: &str) -> &T {
        let options: &dyn Any = self.options.get(id).expect("every rule has options").as_ref();
        options.downcast_ref().expect("a rule reads its own options type")
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

/// Every rule's default options.
fn default_options() -> BTreeMap<&'static str, Options> {
    rules::ALL
        .iter()
        .map(|r| {
            let defaults = r
                .options(serde_yaml::Value::Mapping(serde_yaml::Mapping::new()))
                .expect("a rule's options all have defaults");
            (r.info().id, defaults)
        })
        .collect()
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

/// The line of key `option` in the block below the 1-based line `parent`, if written there.
fn option_line(text: &str, parent: usize, option: &str) -> Option<usize> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut lines = text.lines().enumerate().skip(parent - 1);
    let (_, head) = lines.next()?;
    let base = indent(head);
    for (i, line) in lines {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if indent(line) <= base {
            break;
        }
        if body
            .strip_prefix(option)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
        {
            return Some(i + 1);
        }
    }
    None
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
                p.kepval,
                format!("{:?}", p.options),
            ),
            (
                &d.layout.root,
                &d.layout.prr_group,
                &d.template,
                d.trailers,
                d.kepval,
                format!("{:?}", d.options),
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
            ".kepguard.yaml:2: unknown field `rulez`, expected one of `keps`, `prr-dir`, `template`, `trailers`, `kepval`, `rules`, `allow`"
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
            err("rules:\n  file-too-large:\n    level: off\n    when: any\n"),
            ".kepguard.yaml:4: rules.file-too-large.when: unknown field `when`, there are no fields (see `kepguard explain file-too-large`)"
        );
        assert_eq!(
            err("rules:\n  stage-monotonic:\n    slip: warning\n    when: any\n"),
            ".kepguard.yaml:4: rules.stage-monotonic.when: unknown field `when`, expected `slip` (see `kepguard explain stage-monotonic`)"
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
        assert_eq!(
            p.options::<rules::implementation_history::Options>("implementation-history")
                .when,
            rules::implementation_history::When::Any
        );
        let since = |id| p.options::<rules::PrrSince>(id).since;
        assert_eq!(since("prr-on-graduation"), Milestone { major: 1, minor: 30 });
        assert_eq!(since("prr-approval"), rules::PrrSince::DEFAULT);
        assert_eq!(p.level("prr-on-graduation"), Level::Warning);
        assert_eq!(p.level("stage-monotonic"), Level::Off);
        assert_eq!(p.level("implementation-history"), Level::Error);
        assert_eq!(p.allow[0].kep, "0042");
        assert_eq!(p.allow[0].until, Some(Milestone { major: 1, minor: 33 }));
        assert!(Policy::parse("# only comments\n", FILE).is_ok());
    }
}
