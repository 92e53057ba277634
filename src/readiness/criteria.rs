//! The readiness criteria that no rule checks: read off a KEP's metadata and README as they stand.

use anyhow::Result;
use gix::ObjectId;
use serde::Serialize;

use super::{Options, Outcome};
use crate::finding::Location;
use crate::git::Objects;
use crate::kep::metadata::{Metadata, Milestone, Stage, Status};
use crate::kep::readme::{Readme, Section, strip_html_comments, visible_lines};
use crate::kep::{KepKind, Snapshot};
use crate::rules::{heading_location, metadata_location};

/// One (R) item of the Release Signoff Checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistItem {
    pub checked: bool,
    pub text: String,
    pub line: usize,
}

/// The trees of the `--since` revision and of the revision checked, to tell what changed in the
/// cycle.
pub struct Since {
    pub then: ObjectId,
    pub now: ObjectId,
    pub layout: crate::kep::Layout,
}

const TEST_PLAN: &str = "Test Plan";
const GRADUATION: &str = "Graduation Criteria";
const HISTORY: &str = "Implementation History";
const CHECKLIST: &str = "Release Signoff Checklist";
const QUESTIONNAIRE: &str = "Production Readiness Review Questionnaire";
/// The start of the Test Plan's box in the template: `[ ] I/we understand the owners of the
/// involved components may require updates to existing tests…`.
const UNDERSTAND: &str = "i/we understand the owners";

/// The outcome of criterion `id` for the new side `snap` of a KEP.
#[allow(clippy::too_many_arguments)]
pub fn judge(
    id: &str,
    snap: &Snapshot<'_>,
    meta: Option<&Metadata>,
    readme: Option<&Readme>,
    checklist: &[ChecklistItem],
    options: &Options,
    graduating: bool,
    since: Option<(&Since, Objects<'_>)>,
) -> Result<Outcome> {
    let Some(meta) = meta else {
        return Ok(Outcome::not_applicable("the metadata does not parse (see `metadata`)"));
    };
    let legacy = snap.kep.kind == KepKind::Legacy;
    Ok(match id {
        "status" => status(snap, meta),
        "milestones" => milestones(snap, meta, options.release),
        _ if legacy && id != "implementation-history" => {
            Outcome::not_applicable("a legacy single-file KEP, which predates the template")
        }
        _ => match (id, readme) {
            (_, None) => Outcome::failed(
                Location {
                    path: snap.kep.readme_path(),
                    line: None,
                    snippet: None,
                },
                "the KEP has no README.md",
                "write the README from keps/NNNN-kep-template/README.md",
            ),
            ("test-plan", Some(r)) => test_plan(snap, r)?,
            ("graduation-criteria", Some(r)) => graduation(snap, r, meta, options.release)?,
            ("implementation-history", Some(r)) => history(snap, r, options.release)?,
            ("signoff-checklist", Some(r)) => signoff(snap, r, checklist),
            ("changed-since", Some(r)) => changed_since(snap, r, meta, graduating, since)?,
            (other, _) => unreachable!("criterion {other} is decided by rules"),
        },
    })
}

fn status(snap: &Snapshot<'_>, meta: &Metadata) -> Outcome {
    let at = || metadata_location(snap, Some(meta), &["status"]);
    let stable = super::stage_of(Some(meta)) == Some(Stage::Stable);
    match meta.status() {
        Some(Status::Implementable) => Outcome::passed(),
        Some(Status::Implemented) if stable => Outcome::passed_with("implemented, at stable"),
        Some(Status::Implemented) => Outcome::failed(
            at(),
            "`status` is `implemented`, but the KEP is not at `stable`",
            "set `status: implementable` while the KEP still graduates",
        ),
        Some(other) => Outcome::failed(
            at(),
            format!("`status` is `{other}`"),
            "set `status: implementable` once the KEP's approvers have approved it",
        ),
        None => Outcome::failed(
            at(),
            "`status` is missing or not a status",
            "set `status: implementable` once the KEP's approvers have approved it",
        ),
    }
}

/// `latest-milestone` names the release; `milestone.<stage>` names it (the KEP graduates in it) or
/// an earlier release (it stays at its stage). A later stage's milestone naming the release while
/// `stage` still names the earlier one is the update the handbook asks authors to finish.
fn milestones(snap: &Snapshot<'_>, meta: &Metadata, release: Milestone) -> Outcome {
    let at = |key: &[&str]| metadata_location(snap, Some(meta), key);
    let Some(stage) = super::stage_of(Some(meta)) else {
        return Outcome::failed(
            at(&["stage"]),
            "`stage` is missing or not a stage",
            format!("set `stage` to the stage the KEP targets in {release} (alpha, beta or stable)"),
        );
    };
    let latest = meta.milestone("latest-milestone", None);
    if latest != Some(release) {
        let written = meta.scalar("latest-milestone").unwrap_or_else(|| "missing".into());
        return Outcome::failed(
            at(&["latest-milestone"]),
            format!("`latest-milestone` is {written}, not {release}"),
            format!("set `latest-milestone: \"{release}\"`"),
        );
    }
    // A later stage planned for this release while `stage` was not moved to it.
    let later = [Stage::Beta, Stage::Stable]
        .into_iter()
        .filter(|s| *s > stage)
        .find(|s| meta.milestone("milestone", Some(s.as_str())) == Some(release));
    if let Some(later) = later {
        return Outcome::failed(
            at(&["stage"]),
            format!("`milestone.{later}` is {release}, but `stage` is still `{stage}`"),
            format!(
                "set `stage: {later}` if the KEP graduates in {release}; otherwise move `milestone.{later}` to a later release"
            ),
        );
    }
    // kepval's `milestone` has no key for `disabled`, and KEPs past `stable` seldom fill one in.
    let keyed = matches!(stage, Stage::Alpha | Stage::Beta | Stage::Stable);
    match meta.milestone("milestone", Some(stage.as_str())) {
        None if !keyed => Outcome::passed_with(format!("at {stage}")),
        Some(m) if m == release => Outcome::passed_with(format!("graduates to {stage} in {release}")),
        Some(m) if m < release => Outcome::passed_with(format!("stays at {stage} (since {m})")),
        Some(m) => Outcome::failed(
            at(&["milestone", stage.as_str()]),
            format!("`milestone.{stage}` is {m}, after {release}"),
            format!("set `milestone.{stage}: \"{release}\"` if the KEP reaches {stage} in {release}"),
        ),
        None => Outcome::failed(
            at(&["milestone"]),
            format!("`milestone.{stage}` is not set"),
            format!("set `milestone.{stage}` to the release the KEP reaches {stage} in"),
        ),
    }
}

fn missing_section(snap: &Snapshot<'_>, title: &str) -> Outcome {
    Outcome::failed(
        Location {
            path: snap.kep.readme_path(),
            line: None,
            snippet: None,
        },
        format!("the README has no `{title}` section"),
        format!("add `{title}` from keps/NNNN-kep-template/README.md and fill it in"),
    )
}

/// The visible lines of a section, headings and the template's box lines left out.
fn prose(section: &Section<'_>) -> Vec<String> {
    visible_lines(section.body)
        .into_iter()
        .filter(|l| !l.starts_with('#'))
        .collect()
}

fn test_plan(snap: &Snapshot<'_>, readme: &Readme) -> Result<Outcome> {
    let Some(section) = readme.section(TEST_PLAN) else {
        return Ok(missing_section(snap, TEST_PLAN));
    };
    let at = heading_location(snap, section.heading)?;
    // By paragraph: the box's sentence runs over several lines.
    let stripped = strip_html_comments(section.body);
    let paragraphs: Vec<String> = stripped
        .split("\n\n")
        .map(|p| {
            let lines: Vec<&str> = p
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect();
            lines.join(" ")
        })
        .filter(|p| !p.is_empty())
        .collect();
    let box_line = paragraphs.iter().find(|p| p.to_lowercase().contains(UNDERSTAND));
    let text = paragraphs
        .iter()
        .filter(|p| !p.to_lowercase().contains(UNDERSTAND))
        .count();
    Ok(match box_line.map(|l| checked_box(l)) {
        None => Outcome::failed(
            at,
            "Test Plan lacks the box \"[x] I/we understand the owners of the involved components may require updates to existing tests…\"",
            "copy the box from the template's Test Plan and check it",
        ),
        Some(false) => Outcome::failed(
            at,
            "Test Plan's \"I/we understand the owners…\" box is not checked",
            "check it: `[x] I/we understand the owners of the involved components…`",
        ),
        Some(true) if text == 0 => Outcome::failed(
            at,
            "Test Plan has no text besides its box",
            "describe the unit, integration and e2e tests, as the template's Test Plan asks",
        ),
        Some(true) => Outcome::passed(),
    })
}

/// Whether a line's `[ ]` box (after an optional list marker) is checked.
fn checked_box(line: &str) -> bool {
    let t = line.trim_start_matches(['-', '*', '+', ' ']);
    t.starts_with("[x]") || t.starts_with("[X]")
}

/// The words a Graduation Criteria subsection's title uses for `stage`.
fn stage_words(stage: Stage) -> &'static [&'static str] {
    match stage {
        Stage::Alpha => &["alpha"],
        Stage::Beta => &["beta"],
        Stage::Stable => &["ga", "stable", "general availability"],
        Stage::Deprecated | Stage::Disabled | Stage::Removed => {
            &["deprecation", "deprecated", "removal", "removed", "disabled"]
        }
    }
}

/// Whether a subsection titled `title` holds the criteria for reaching `stage`: `Beta`, or the
/// older templates' `Alpha -> Beta Graduation`, whose target is after the arrow.
fn names_stage(title: &str, stage: Stage) -> bool {
    let lower = title.to_lowercase();
    let is_stage = |w: &str| Stage::ALL.iter().any(|s| stage_words(*s).contains(&w));
    // `Alpha -> Beta`, `Alpha → Beta`, `Alpha to Beta`: the criteria of the stage after the arrow.
    let arrow = ["->", "→"]
        .iter()
        .filter_map(|a| lower.rfind(a).map(|i| i + a.len()))
        .max()
        .or_else(|| {
            lower
                .match_indices(" to ")
                .map(|(i, _)| i)
                .find(|&i| {
                    let before = lower[..i].rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
                    is_stage(before)
                })
                .map(|i| i + 4)
        });
    let target = arrow.map_or(lower.as_str(), |i| &lower[i..]);
    let words: Vec<&str> = target
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    stage_words(stage).iter().any(|w| match w.contains(' ') {
        true => target.contains(w),
        false => words.contains(w),
    })
}

fn graduation(snap: &Snapshot<'_>, readme: &Readme, meta: &Metadata, release: Milestone) -> Result<Outcome> {
    let Some(section) = readme.section(GRADUATION) else {
        return Ok(missing_section(snap, GRADUATION));
    };
    let Some(stage) = super::stage_of(Some(meta)) else {
        return Ok(Outcome::not_applicable("no valid `stage` (see `milestones`)"));
    };
    let level = section.heading.level;
    let subsections: Vec<Section<'_>> = (level + 1..=6)
        .flat_map(|l| readme.subsections(GRADUATION, l).unwrap_or_default())
        .collect();
    let at = heading_location(snap, section.heading)?;
    // A subsection per release (`Stage 2 (1.37)`), as deprecations plan theirs, names the release.
    let found = subsections
        .iter()
        .find(|s| names_stage(&s.heading.title, stage))
        .or_else(|| subsections.iter().find(|s| mentions(&s.heading.title, release)));
    // Or a paragraph label, as many KEPs write them: `For GA:`, `**Beta**`.
    if found.is_none()
        && let Some(label) = stage_label(&section, stage)
    {
        return Ok(Outcome::passed_with(format!("`{label}`")));
    }
    let Some(sub) = found else {
        let which = match stage {
            Stage::Stable => "GA".to_owned(),
            Stage::Deprecated | Stage::Disabled | Stage::Removed => "Deprecation".to_owned(),
            s => capitalised(s.as_str()),
        };
        let commented = match section.body.contains("<!--") {
            true => " (headings inside `<!-- -->`, such as the template's examples, do not count)",
            false => "",
        };
        return Ok(Outcome::failed(
            at,
            format!("Graduation Criteria has no subsection for {stage}{commented}"),
            format!(
                "add `{} {which}` under Graduation Criteria with the criteria for {stage}",
                "#".repeat(usize::from(level) + 1)
            ),
        ));
    };
    Ok(match prose(sub).is_empty() {
        true => Outcome::failed(
            heading_location(snap, sub.heading)?,
            format!("Graduation Criteria's `{}` subsection is empty", sub.heading.title),
            format!("write the criteria for {stage}"),
        ),
        false => Outcome::passed_with(format!("`{}`", sub.heading.title)),
    })
}

/// A short label in `section` for the criteria of `stage`, as many KEPs write them instead of a
/// subsection: `For GA:` or `**Beta**` before the criteria, or `- Beta (v1.31): …` with them.
fn stage_label(section: &Section<'_>, stage: Stage) -> Option<String> {
    let lines = prose(section);
    lines.iter().enumerate().find_map(|(i, line)| {
        let line = line
            .trim_start_matches(['-', '+', '*', ' '])
            .trim_start_matches(char::is_numeric);
        let line = line.trim_start_matches(['.', ')', ' ']);
        let bold = line.starts_with("**") && line.ends_with("**") || line.starts_with("__") && line.ends_with("__");
        let (label, rest) = match line.split_once(':') {
            Some((label, rest)) => (label, rest.trim()),
            None if bold => (line, ""),
            None => return None,
        };
        let label = label.trim_matches(['*', '_', ' ']);
        let has_text = !rest.trim_matches(['*', '_', ' ']).is_empty() || i + 1 < lines.len();
        (label.chars().count() <= 80 && has_text && names_stage(label, stage)).then(|| label.to_owned())
    })
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Whether `text` names `release` as `v1.37`, `1.37` or `1.37.0`, not inside `11.37` or `1.370`.
pub fn mentions(text: &str, release: Milestone) -> bool {
    let needle = format!("{}.{}", release.major, release.minor);
    let bytes = text.as_bytes();
    text.match_indices(&needle).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + needle.len()).copied();
        !before.is_some_and(|b| b.is_ascii_digit() || b == b'.') && !after.is_some_and(|b| b.is_ascii_digit())
    })
}

fn history(snap: &Snapshot<'_>, readme: &Readme, release: Milestone) -> Result<Outcome> {
    let Some(section) = readme.section(HISTORY) else {
        return Ok(missing_section(snap, HISTORY));
    };
    Ok(match mentions(&strip_html_comments(section.body), release) {
        true => Outcome::passed(),
        false => Outcome::failed(
            heading_location(snap, section.heading)?,
            format!("Implementation History does not mention {release}"),
            format!("add a dated entry for {release}, such as `- YYYY-MM-DD: updated for {release}`"),
        ),
    })
}

/// The (R) items of the README's Release Signoff Checklist.
pub fn checklist(readme: &Readme) -> Vec<ChecklistItem> {
    let Some(section) = readme.section(CHECKLIST) else {
        return Vec::new();
    };
    let first = section.heading.line + 1;
    let body = strip_html_comments(section.body);
    body.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let t = l.trim_start().strip_prefix(['-', '*', '+'])?.trim_start();
            let (checked, rest) = if let Some(r) = t.strip_prefix("[ ]") {
                (false, r)
            } else {
                (true, t.strip_prefix("[x]").or_else(|| t.strip_prefix("[X]"))?)
            };
            let text = rest.trim().strip_prefix("(R)")?.trim().to_owned();
            Some(ChecklistItem {
                checked,
                text,
                line: first + i,
            })
        })
        .collect()
}

fn signoff(snap: &Snapshot<'_>, readme: &Readme, items: &[ChecklistItem]) -> Outcome {
    let Some(section) = readme.section(CHECKLIST) else {
        return missing_section(snap, CHECKLIST);
    };
    let open: Vec<&ChecklistItem> = items.iter().filter(|i| !i.checked).collect();
    match (items.is_empty(), open.first()) {
        (true, _) => Outcome::failed(
            Location {
                path: snap.kep.readme_path(),
                line: Some(section.heading.line),
                snippet: readme.line_text(section.heading.line).map(str::to_owned),
            },
            "the Release Signoff Checklist has no (R) items",
            "copy the checklist from keps/NNNN-kep-template/README.md",
        ),
        (false, None) => Outcome::passed_with(format!("{} (R) items checked", items.len())),
        (false, Some(first)) => Outcome::failed(
            Location {
                path: snap.kep.readme_path(),
                line: Some(first.line),
                snippet: readme.line_text(first.line).map(str::to_owned),
            },
            format!(
                "{} of {} (R) items of the Release Signoff Checklist are not checked",
                open.len(),
                items.len()
            ),
            "check each (R) item once it holds: `- [x] (R) …`",
        ),
    }
}

/// A graduating KEP's PRR answers (the questionnaire's visible text) or PRR approval file differ
/// from those at `--since`.
fn changed_since(
    snap: &Snapshot<'_>,
    readme: &Readme,
    meta: &Metadata,
    graduating: bool,
    since: Option<(&Since, Objects<'_>)>,
) -> Result<Outcome> {
    let Some((since, objects)) = since else {
        return Ok(Outcome::not_applicable("no --since given"));
    };
    if !graduating {
        return Ok(Outcome::not_applicable("the KEP does not graduate in the release"));
    }
    let answers = |r: &Readme| r.section(QUESTIONNAIRE).map(|s| visible_lines(s.body));
    let old_readme = objects
        .file_text(since.then, &snap.kep.readme_path())?
        .map(|t| Readme::parse(t, 0));
    let answers_changed = old_readme.as_ref().map(answers) != Some(answers(readme));
    let prr_path = match (meta.scalar("owning-sig"), meta.scalar("kep-number")) {
        (Some(sig), Some(number)) => Some(since.layout.prr_file(&sig, &number)),
        _ => None,
    };
    let approval_changed = match &prr_path {
        Some(path) => objects.file_text(since.now, path)? != objects.file_text(since.then, path)?,
        None => false,
    };
    Ok(match (answers_changed, approval_changed) {
        (true, true) => Outcome::passed_with("PRR answers and approval changed"),
        (true, false) => Outcome::passed_with("PRR answers changed"),
        (false, true) => Outcome::passed_with("PRR approval changed"),
        (false, false) => Outcome::failed(
            match readme.section(QUESTIONNAIRE) {
                Some(s) => heading_location(snap, s.heading)?,
                None => Location {
                    path: snap.kep.readme_path(),
                    line: None,
                    snippet: None,
                },
            },
            "neither the PRR answers nor the PRR approval changed this cycle, though the KEP graduates",
            "answer the questions the new stage adds and ask a PRR approver to approve the stage",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsection_titles_name_the_stage_they_lead_to() {
        assert!(names_stage("Beta", Stage::Beta));
        assert!(names_stage("Alpha -> Beta Graduation", Stage::Beta));
        assert!(!names_stage("Alpha -> Beta Graduation", Stage::Alpha));
        assert!(names_stage("Beta to GA", Stage::Stable));
        assert!(names_stage(
            "GA of Phase 3 (`SELinuxMount` is GA and locked to default)",
            Stage::Stable
        ));
        assert!(names_stage("General Availability", Stage::Stable));
        assert!(!names_stage("Graduation", Stage::Stable));
        assert!(names_stage("Deprecation", Stage::Deprecated));
    }

    #[test]
    fn a_release_is_mentioned_as_written_not_inside_another_number() {
        let r = Milestone { major: 1, minor: 37 };
        for yes in ["v1.37", "1.37", "in 1.37.0", "(v1.37)"] {
            assert!(mentions(yes, r), "{yes}");
        }
        for no in ["11.37", "1.370", "v1.3", "2.1.37"] {
            assert!(!mentions(no, r), "{no}");
        }
    }

    #[test]
    fn the_checklist_keeps_the_r_items_with_their_lines() {
        let md = "# T\n\n## Release Signoff Checklist\n\n<!-- - [ ] (R) hidden -->\n- [x] (R) One\n- [ ] (R) Two\n  - [X] (R) Nested\n- [ ] Not required\n\n## Summary\n";
        let items = checklist(&Readme::parse(md.into(), 0));
        let got: Vec<(bool, &str, usize)> = items.iter().map(|i| (i.checked, i.text.as_str(), i.line)).collect();
        assert_eq!(got, [(true, "One", 6), (false, "Two", 7), (true, "Nested", 8)]);
    }

    #[test]
    fn a_box_is_checked_with_either_x() {
        assert!(checked_box("[x] I/we"));
        assert!(checked_box("- [X] I/we"));
        assert!(!checked_box("[ ] I/we"));
    }
}
