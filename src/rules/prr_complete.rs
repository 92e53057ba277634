use anyhow::Result;

use super::{Context, Rule, RuleInfo, Scope, declare_rule, heading_location, metadata_location, prr_required};
use crate::finding::{Finding, Location};
use crate::kep::Snapshot;
use crate::kep::metadata::{Milestone, Stage};
use crate::kep::readme::strip_html_comments;

declare_rule! {
    /// ## What it checks
    /// The Production Readiness Review answers a KEP's stage needs, for a KEP that is
    /// `implementable` or `implemented` with `latest-milestone` v1.21 or later (the policy option
    /// `since` moves the milestone):
    ///
    /// - from `stage: alpha`, every `######` question under "Feature Enablement and Rollback" has a
    ///   visible answer, and `kep.yaml` sets `feature-gates` and `disable-supported`;
    /// - from `stage: beta` (and for stable, deprecated, disabled and removed), also every question
    ///   under "Rollout, Upgrade and Rollback Planning", "Monitoring Requirements", "Dependencies",
    ///   "Scalability" and "Troubleshooting", and `kep.yaml` sets `metrics`.
    ///
    /// An answer is visible text between the question and the next heading; text inside `<!-- -->`
    /// comments does not count, and neither does an answer that is only `TBD` or `TODO`. A
    /// subsection written without `######` questions needs visible text of its own. Each
    /// unanswered question is reported at its heading. A change is held to what it leaves
    /// unanswered that was answered, or not yet required, before it (a new stage's questions,
    /// an answer deleted); `kepguard validate` reports every gap.
    ///
    /// ## Why
    /// PRR approvers and operators read these answers to learn how to turn a feature off, what
    /// to watch while rolling it out and how it fails. A question left with only the template's
    /// guidance comment is a question nobody answered.
    ///
    /// ## How to fix
    /// Write the answer under the question heading shown, outside the `<!-- -->` guidance comment
    /// ("No", "None" or "N/A, because ..." are answers). Add the missing `kep.yaml` fields from
    /// the KEP template: `feature-gates` (name and components), `disable-supported`, `metrics`.
    INFO, "prr-complete", Warning, "the PRR questions of the KEP's stage are answered"
}

pub struct PrrComplete;

const ALPHA_SECTIONS: &[&str] = &["Feature Enablement and Rollback"];
const BETA_SECTIONS: &[&str] = &[
    "Rollout, Upgrade and Rollback Planning",
    "Monitoring Requirements",
    "Dependencies",
    "Scalability",
    "Troubleshooting",
];
const QUESTIONNAIRE: &str = "Production Readiness Review Questionnaire";

impl Rule for PrrComplete {
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
        // Legacy single-file KEPs predate the PRR questionnaire.
        if new.kep.kind == crate::kep::KepKind::Legacy {
            return Ok(());
        }
        let since = cx.options::<super::PrrSince>(&INFO).since;
        // An unchanged README under unchanged PRR terms cannot have lost an answer.
        let readme_settled = cx.scope == Scope::Change
            && cx.diff.readme_unchanged()
            && cx
                .diff
                .both_parsed()
                .is_some_and(|(_, o, _, n)| (o.stage(), prr_required(o, since)) == (n.stage(), prr_required(n, since)));
        let found = gaps(new, since, !readme_settled)?;
        if found.is_empty() {
            return Ok(());
        }
        // A change answers for what it leaves unanswered that was answered, or not yet asked, before.
        let before: Vec<String> = match (&cx.diff.old, cx.scope) {
            (Some(old), Scope::Change) => gaps(old, since, !readme_settled)?.into_iter().map(|g| g.code).collect(),
            _ => Vec::new(),
        };
        let name = cx.kep_name();
        for gap in found.into_iter().filter(|g| !before.contains(&g.code)) {
            out.push(cx.finding(&INFO, gap.location, format!("{name}: {}", gap.title), gap.help));
        }
        Ok(())
    }
}

/// One PRR answer a snapshot lacks.
struct Gap {
    /// Identifies the gap across the two sides of a change.
    code: String,
    location: Location,
    title: String,
    help: String,
}

/// The PRR answers `snap` lacks for its stage (none when PRR does not apply to it); its README
/// only when `readme` is set.
fn gaps(snap: &Snapshot<'_>, since: Milestone, readme: bool) -> Result<Vec<Gap>> {
    let mut out = Vec::new();
    let Some(meta) = snap.metadata.parsed() else {
        return Ok(out);
    };
    let Some(stage) = meta.stage().valid() else {
        return Ok(out);
    };
    if !prr_required(meta, since) {
        return Ok(out);
    }
    let beta = stage >= Stage::Beta;

    let mut fields = vec![("feature-gates", "alpha"), ("disable-supported", "alpha")];
    if beta {
        fields.push(("metrics", "beta"));
    }
    for (field, from) in fields {
        if meta.get(field).is_none() {
            out.push(Gap {
                code: format!("field:{field}"),
                location: metadata_location(snap, Some(meta), &["stage"]),
                title: format!("stage {stage}, but `{field}` is not set"),
                help: format!("add `{field}` as the KEP template's kep.yaml shows; PRR requires it from {from}"),
            });
        }
    }

    if !readme {
        return Ok(out);
    }
    let Some(readme) = snap.readme()? else { return Ok(out) };
    let sections = ALPHA_SECTIONS.iter().chain(if beta { BETA_SECTIONS } else { &[] });
    for &title in sections {
        let Some(questions) = readme.subsections(title, 6) else {
            let location = match readme.section(QUESTIONNAIRE) {
                Some(q) => heading_location(snap, q.heading)?,
                None => metadata_location(snap, Some(meta), &["stage"]),
            };
            out.push(Gap {
                code: format!("section:{title}"),
                location,
                title: format!("stage {stage}, but the README has no \"{title}\" section"),
                help: format!(
                    "add `### {title}` under `## {QUESTIONNAIRE}` from the KEP template and answer its questions"
                ),
            });
            continue;
        };
        if questions.is_empty() {
            if let Some(section) = readme.section(title)
                && !answered(section.body)
            {
                out.push(Gap {
                    code: format!("empty:{title}"),
                    location: heading_location(snap, section.heading)?,
                    title: format!("\"{title}\" has no answers"),
                    help: "answer the template's questions for this section".into(),
                });
            }
            continue;
        }
        for question in questions.into_iter().filter(|q| !answered(q.body)) {
            out.push(Gap {
                code: format!("question:{}", question.heading.title.to_lowercase()),
                location: heading_location(snap, question.heading)?,
                title: format!("PRR question unanswered at stage {stage}: {}", question.heading.title),
                help: "write the answer below this heading, outside the <!-- guidance --> comment".into(),
            });
        }
    }
    Ok(out)
}

/// Whether a body holds visible text other than a placeholder.
fn answered(body: &str) -> bool {
    // A visible line (see `visible_lines`) that is more than a placeholder; the first usually is,
    // so lines are looked at as they come. White space inside a line cannot make or unmake one.
    strip_html_comments(body).lines().any(|line| {
        let word = line.trim_matches(|c: char| !c.is_alphanumeric()).to_ascii_lowercase();
        !matches!(word.as_str(), "tbd" | "todo" | "")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_visible_and_not_a_placeholder() {
        assert!(answered("\nNo.\n"));
        assert!(answered("<!-- guidance -->\n- N/A: nothing changes\n"));
        assert!(!answered("\n<!--\nDescribe the mechanism.\n-->\n\n"));
        assert!(!answered("TBD\n\n_TODO_\n"));
        assert!(!answered(""));
    }
}
