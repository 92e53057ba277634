use anyhow::Result;

use super::{
    Context, Rule, RuleInfo, SectionUpdate, Transition, declare_rule, hidden_section, lifecycle_transitions,
    metadata_location, section_update,
};
use crate::finding::Finding;
use serde::Deserialize;

declare_rule! {
    /// ## What it checks
    /// A *lifecycle change* to a KEP (any change of `status`, `stage`, `latest-milestone` or any
    /// `milestone` entry in `kep.yaml`) must add at least one visible line to the README section
    /// "Implementation History". Text inside HTML comments (`<!-- ... -->`) is template guidance and
    /// does not count; deleting lines does not count either.
    ///
    /// With the policy option `when: any` (`.kepguard.yaml`), every change to a KEP's `kep.yaml` or
    /// `README.md` needs an entry, not only lifecycle changes.
    ///
    /// ## Why
    /// The Implementation History is the KEP's changelog: release and PRR reviewers read it to see
    /// when a KEP was accepted, graduated or retargeted. In the history of kubernetes/enhancements
    /// most lifecycle changes left it untouched, so it stopped being trustworthy.
    ///
    /// ## How to fix
    /// Add an entry under `## Implementation History` in the KEP's README, outside any HTML
    /// comment, naming the milestone and what changed, for example:
    ///
    ///     - v1.33: graduated to beta
    ///
    /// If the README has no such section, add one with that entry. `kepguard fix` writes the
    /// suggested entry (or the section with it) into the work tree.
    INFO, "implementation-history", Error, "a lifecycle change adds an Implementation History entry"
}

pub const SECTION: &str = "Implementation History";

pub struct ImplementationHistory;

/// `rules.implementation-history` in the policy file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    #[serde(default)]
    pub when: When,
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

impl Rule for ImplementationHistory {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn options(&self, raw: serde_yaml::Value) -> Result<super::Options, serde_yaml::Error> {
        super::options::<Options>(raw)
    }

    fn applies(&self, cx: &Context<'_>) -> Result<Option<bool>> {
        Ok(Some(judged(cx).is_some()))
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some((transitions, what)) = judged(cx) else {
            return Ok(());
        };
        let Some((old, _, new, new_meta)) = cx.diff.both_parsed() else {
            return Ok(());
        };
        let first_key = transitions.first().map_or("status", |t| t.key.as_str());
        let entry = suggested_entry(new_meta, &transitions);
        let finding = match section_update(cx.diff, old, new, SECTION)? {
            SectionUpdate::Gained => return Ok(()),
            SectionUpdate::Unchanged(at) => {
                let mut finding = cx.finding(
                    &INFO,
                    at,
                    format!(
                        "{}: {what}, but the Implementation History gained no entry",
                        cx.kep_name()
                    ),
                    format!("add a line under this heading, outside any <!-- comment -->, such as `{entry}`"),
                );
                finding.fix = entry_fix(new, &entry)?;
                finding
            }
            SectionUpdate::Missing => match hidden_section(new, SECTION)? {
                Some((at, fence)) => cx.finding(
                    &INFO,
                    at,
                    format!(
                        "{}: {what}, but the Implementation History heading is inside a code block \
                         opened at line {fence} and never closed",
                        cx.kep_name()
                    ),
                    format!("close the code block opened at line {fence}, then add a line under this heading such as `{entry}`"),
                ),
                None => {
                    let key: Vec<&str> = first_key.split('.').collect();
                    let mut finding = cx.finding(
                        &INFO,
                        metadata_location(new, Some(new_meta), &key),
                        format!(
                            "{}: {what}, but its README has no Implementation History section",
                            cx.kep_name()
                        ),
                        format!(
                            "add `## {SECTION}` to {} with an entry such as `{entry}`",
                            new.kep.readme_path()
                        ),
                    );
                    // A legacy KEP's README is its metadata file: appended to all the same.
                    if new.readme()?.is_some() {
                        finding.fix = Some(crate::finding::Fix {
                            path: new.kep.readme_path(),
                            edit: crate::finding::Edit::Append {
                                text: format!("## {SECTION}\n\n{entry}\n"),
                            },
                        });
                    }
                    finding
                }
            },
        };
        out.push(finding);
        Ok(())
    }
}

/// The change's lifecycle transitions and their description, when the rule judges the change.
fn judged(cx: &Context<'_>) -> Option<(Vec<Transition>, String)> {
    let (_, old_meta, _, new_meta) = cx.diff.both_parsed()?;
    let transitions = lifecycle_transitions(old_meta, new_meta);
    let what = match transitions.first() {
        Some(_) => transitions
            .iter()
            .map(Transition::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        None if cx.options::<Options>(&INFO).when == When::Any => "the KEP changed".to_owned(),
        None => return None,
    };
    Some((transitions, what))
}

/// `entry` added after the last non-blank line of the README's Implementation History section
/// (after its heading when the section is empty).
fn entry_fix(new: &crate::kep::Snapshot<'_>, entry: &str) -> Result<Option<crate::finding::Fix>> {
    let Some(readme) = new.readme()? else { return Ok(None) };
    let Some(section) = readme.section(SECTION) else {
        return Ok(None);
    };
    let heading = section.heading.line;
    let last = section
        .body
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .last();
    let edit = match last {
        Some((i, _)) => crate::finding::Edit::Insert {
            after: heading + 1 + i,
            text: format!("{entry}\n"),
        },
        None => crate::finding::Edit::Insert {
            after: heading,
            text: format!("\n{entry}\n"),
        },
    };
    Ok(Some(crate::finding::Fix {
        path: new.kep.readme_path(),
        edit,
    }))
}

/// An Implementation History line describing the change.
fn suggested_entry(meta: &crate::kep::metadata::Metadata, transitions: &[Transition]) -> String {
    let by_key = |k: &str| transitions.iter().find(|t| t.key == k).and_then(|t| t.new.clone());
    // A release as the entry should name it: never a placeholder such as "0.0" echoed back.
    let latest = meta
        .milestone("latest-milestone", None)
        .filter(|m| m.major > 0)
        .map(|m| m.to_string());
    let stage = super::stage_release(meta).map(|(_, m)| m.to_string());
    let milestone = match by_key("stage") {
        Some(_) => stage.or(latest),
        None => latest.or(stage),
    }
    .unwrap_or_else(|| "vX.Y".into());
    let what = if let Some(stage) = by_key("stage") {
        format!("moved to {stage}")
    } else if let Some(status) = by_key("status") {
        format!("marked {status}")
    } else if let Some(t) = transitions.iter().find(|t| t.key == "latest-milestone") {
        format!("retargeted from {}", t.old.as_deref().unwrap_or("no milestone"))
    } else if transitions.is_empty() {
        "updated".to_owned()
    } else {
        "milestones updated".to_owned()
    };
    format!("- {milestone}: {what}")
}
