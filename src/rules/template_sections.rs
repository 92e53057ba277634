use std::cell::RefCell;
use std::rc::Rc;

use anyhow::Result;

use super::{Context, Rule, RuleInfo, Scope, declare_rule};
use crate::finding::{Finding, Location, Severity};
use crate::kep::KepKind;
use crate::kep::readme::Readme;

declare_rule! {
    /// ## What it checks
    /// A KEP's `README.md` keeps every heading of the KEP template (the policy's `template`,
    /// `keps/NNNN-kep-template/README.md` by default, read from the base side of a change) except
    /// those the template marks `(Optional)`. Headings match by their text, ignoring case, spacing
    /// and level; extra headings are fine; the template's own title only requires that the README
    /// has a `#` title. A change fires when it removes a required heading, and a new KEP when it
    /// lacks one; headings already missing before the change are left to `kepguard validate`,
    /// which reports them as warnings. Legacy single-file KEPs predate the template and are not
    /// checked.
    ///
    /// ## Why
    /// Reviewers, the release team and the PRR approvers find their part of a KEP by its
    /// heading: a missing "Graduation Criteria" or "Production Readiness Review Questionnaire"
    /// usually means the question was never considered, not that it does not apply.
    ///
    /// ## How to fix
    /// Restore each heading named in the message from the template, in the template's order, and
    /// answer it; where a section does not apply, keep the heading and say why below it.
    INFO, "template-sections", Error, "a KEP's README keeps the template's required headings"
}

pub struct TemplateSections;

/// A heading the template requires.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Required {
    /// As written in the template: `### Test Plan`.
    shown: String,
    /// Normalised for matching.
    key: String,
}

/// How many missing headings a finding's title names before "and N more".
const SHOWN: usize = 4;

impl Rule for TemplateSections {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn snapshot(&self) -> bool {
        true
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let Some(new) = &cx.diff.new else { return Ok(()) };
        if new.kep.kind == KepKind::Legacy || (cx.scope == Scope::Change && cx.diff.readme_unchanged()) {
            return Ok(());
        }
        let Some(template) = cx.repo.base_file(&cx.policy.template)? else {
            return Ok(());
        };
        let required = required_headings(&template);
        // A KEP that had no README before is judged like a new one.
        let old_readme = || -> Result<_> {
            Ok(match (&cx.diff.old, cx.scope) {
                (Some(old), Scope::Change) => old.readme()?,
                _ => None,
            })
        };
        let Some(readme) = new.readme()? else {
            // Deleting the README removes every heading; a KEP that never had one is left alone.
            if let Some(old) = old_readme()? {
                // It removes whatever required heading the old README had.
                if missing(&required, Some(old)).len() < required.len() {
                    out.push(cx.finding(
                        &INFO,
                        Location {
                            path: new.kep.readme_path(),
                            line: None,
                            snippet: None,
                        },
                        format!(
                            "{}: the change deletes the README and its required template headings",
                            cx.kep_name()
                        ),
                        format!("keep {} with the template's headings", new.kep.readme_path()),
                    ));
                }
            }
            return Ok(());
        };
        let mut lacking = missing(&required, Some(readme));
        if !lacking.is_empty()
            && let Some(old) = old_readme()?
        {
            let before = missing(&required, Some(old));
            lacking.retain(|r| !before.contains(r));
        }
        let Some(first) = lacking.first() else { return Ok(()) };

        // Point where the first missing heading belongs: after the last required heading before it.
        let keys: Vec<String> = readme.headings().iter().map(|h| normalise(&h.title)).collect();
        let anchor = required
            .iter()
            .take_while(|r| r.key != first.key)
            .filter_map(|r| keys.iter().position(|k| *k == r.key))
            .last();
        let line = anchor.map_or(1, |i| readme.headings()[i].line);
        let mut names: Vec<String> = lacking.iter().take(SHOWN).map(|r| format!("`{}`", r.shown)).collect();
        if lacking.len() > SHOWN {
            names.push(format!("and {} more", lacking.len() - SHOWN));
        }
        let verb = match (cx.scope, &cx.diff.old) {
            (Scope::Change, Some(_)) => "the change removes",
            _ => "the README lacks",
        };
        let plural = if lacking.len() == 1 { "heading" } else { "headings" };
        let mut finding = cx.finding(
            &INFO,
            Location {
                path: new.kep.readme_path(),
                line: Some(line),
                snippet: readme.line_text(line).map(str::to_owned),
            },
            format!(
                "{}: {verb} required template {plural} {}",
                cx.kep_name(),
                names.join(", ")
            ),
            format!(
                "restore {} from {} after this line; a section that does not apply keeps its heading and says why",
                if lacking.len() == 1 { "it" } else { "them" },
                cx.policy.template
            ),
        );
        if lacking.len() > SHOWN {
            let all: Vec<&str> = lacking.iter().map(|r| r.shown.as_str()).collect();
            finding.notes.push(format!("missing: {}", all.join(" | ")));
        }
        if cx.scope == Scope::Tree {
            finding.severity = Severity::Warning;
            finding
                .notes
                .push("validate reports missing template headings as warnings".into());
        }
        out.push(finding);
        Ok(())
    }
}

/// The required headings of `template`, parsed once per template text.
fn required_headings(template: &str) -> Rc<Vec<Required>> {
    thread_local! {
        static CACHE: RefCell<Option<(String, Rc<Vec<Required>>)>> = const { RefCell::new(None) };
    }
    CACHE.with_borrow_mut(|cache| {
        if let Some((text, required)) = cache.as_ref()
            && text == template
        {
            return required.clone();
        }
        let parsed = Readme::parse(template.to_owned(), 0);
        let required: Rc<Vec<Required>> = Rc::new(
            parsed
                .headings()
                .iter()
                .filter(|h| !h.title.to_lowercase().contains("(optional)"))
                .map(|h| Required {
                    // The template's title stands for whatever the KEP's title is.
                    shown: format!(
                        "{} {}",
                        "#".repeat(h.level.into()),
                        h.title.split_whitespace().collect::<Vec<_>>().join(" ")
                    ),
                    key: if h.level == 1 {
                        TITLE.into()
                    } else {
                        normalise(&h.title)
                    },
                })
                .collect(),
        );
        *cache = Some((template.to_owned(), required.clone()));
        required
    })
}

/// The key under which a README's `#` title matches the template's.
const TITLE: &str = "\0title";

fn normalise(title: &str) -> String {
    title.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The required headings `readme` lacks (all of them without a README), in template order.
fn missing(required: &[Required], readme: Option<&Readme>) -> Vec<Required> {
    let mut have: Vec<String> = Vec::new();
    if let Some(r) = readme {
        for h in r.headings() {
            have.push(if h.level == 1 {
                TITLE.into()
            } else {
                normalise(&h.title)
            });
        }
    }
    required.iter().filter(|r| !have.contains(&r.key)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str =
        "# KEP-NNNN: Title\n## Summary\n### User Stories (Optional)\n## Design   Details\n###### Does it  scale?\n";

    #[test]
    fn optional_headings_are_not_required_and_matching_ignores_case_space_and_level() {
        let required = required_headings(TEMPLATE);
        let shown: Vec<&str> = required.iter().map(|r| r.shown.as_str()).collect();
        assert_eq!(
            shown,
            vec![
                "# KEP-NNNN: Title",
                "## Summary",
                "## Design Details",
                "###### Does it scale?"
            ]
        );
        let kep = Readme::parse("# KEP-42: Mine\n### summary\n## Design Details\n".into(), 0);
        let lacking: Vec<String> = missing(&required, Some(&kep)).into_iter().map(|r| r.shown).collect();
        assert_eq!(lacking, vec!["###### Does it scale?"]);
        assert_eq!(missing(&required, None).len(), 4);
    }
}
