use std::cell::RefCell;
use std::collections::VecDeque;
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
    /// those the template marks `(Optional)` and those nested under such a heading (the stories
    /// under `User Stories (Optional)`). Extra headings are fine; the template's own title only
    /// requires that the README has a `#` title.
    ///
    /// Headings match by their text whatever their level, ignoring case, spacing, punctuation,
    /// hyphens and a README's own `(optional)` or `[optional]` marker (`Non Goals` is
    /// `Non-Goals`, `Upgrade/Downgrade` is `Upgrade / Downgrade`, `re-enable` is `reenable`). A template heading ending in a number also matches a README
    /// heading that goes on to name the item (`Story 1: Async Init` is `Story 1`, `Story 10` is
    /// not). A bold label opening a paragraph or list item counts as a heading, as templates before
    /// 2021 posed the PRR questions (`* **Does enabling the feature change any default
    /// behavior?**`). A question (a heading of six words or more) also matches a README heading
    /// or label that rewords it a little, as earlier templates did: at most a quarter of its words
    /// dropped or added and at most one changed, parenthesised asides aside ("How can a rollout
    /// fail?" answers "How can a rollout or rollback fail?"), unless that heading is itself one
    /// the template requires.
    ///
    /// A change fires when it removes a required heading, and a new KEP when it lacks one; every
    /// missing heading is listed in the finding's notes. Headings already missing before the
    /// change are left to `kepguard validate`, which reports them as warnings. A legacy
    /// single-file KEP converted to a directory KEP in the same change is a move: the new README
    /// is held only to the headings the legacy file had. The legacy file is one with front matter
    /// that the change deletes beside the new directory, with the same `kep-number`, else the same
    /// title, else a title holding all the other's words, else the same `creation-date`, else the
    /// only one deleted there. Legacy KEPs themselves predate the template and are not checked.
    ///
    /// ## Why
    /// Reviewers, the release team and the PRR approvers find their part of a KEP by its
    /// heading: a missing "Graduation Criteria" or "Production Readiness Review Questionnaire"
    /// usually means the question was never considered, not that it does not apply.
    ///
    /// ## How to fix
    /// Restore each heading named in the message from the template, in the template's order, and
    /// answer it; where a section does not apply, keep the heading and say why below it.
    /// `kepguard fix` restores each missing heading, with the template's guidance under it, in the
    /// work tree.
    INFO, "template-sections", Error, "a KEP's README keeps the template's required headings"
}

pub struct TemplateSections;

/// A heading the template requires.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Required {
    /// As written in the template: `### Test Plan`.
    shown: String,
    /// Normalised for matching (see [`normalise`]).
    key: String,
    /// The template's text ends in a number (`Story 1`): a README heading that starts with it and
    /// goes on to name the item (`Story 1: Async Init`) matches.
    numbered: bool,
    /// Its [`words`] when it is a question long enough to be matched reworded (see
    /// [`rephrased`]); empty otherwise.
    question: Rc<[String]>,
}

impl Required {
    fn matches(&self, key: &str) -> bool {
        key == self.key
            || (self.numbered
                && key
                    .strip_prefix(self.key.as_str())
                    // `Story 10` is not `Story 1`.
                    .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit())))
    }
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
        let mut lacking = missing_in(&required, new, readme);
        let mut converted = None;
        if !lacking.is_empty() {
            let before = match old_readme()? {
                Some(old_readme) => Some(match &cx.diff.old {
                    Some(old) => missing_in(&required, old, old_readme),
                    None => missing(&required, Some(old_readme)),
                }),
                None if cx.scope == Scope::Change && cx.diff.old.is_none() => {
                    converted = super::converted::converted_from(cx, new)?;
                    converted.as_ref().map(|(_, legacy)| missing(&required, Some(legacy)))
                }
                None => None,
            };
            if let Some(before) = before {
                lacking.retain(|r| !before.contains(r));
            }
        }
        let Some(first) = lacking.first() else { return Ok(()) };

        // Point where the first missing heading belongs: after the last required heading before it.
        let keys: Vec<String> = readme.headings().iter().map(|h| normalise(&h.title)).collect();
        let anchor = required
            .iter()
            .take_while(|r| r.key != first.key)
            .filter_map(|r| keys.iter().position(|k| r.matches(k)))
            .last();
        let line = anchor.map_or(1, |i| readme.headings()[i].line);
        let mut names: Vec<String> = lacking.iter().take(SHOWN).map(|r| format!("`{}`", r.shown)).collect();
        if lacking.len() > SHOWN {
            names.push(format!("and {} more", lacking.len() - SHOWN));
        }
        let verb = match (cx.scope, &cx.diff.old, &converted) {
            (Scope::Change, Some(_), _) | (Scope::Change, None, Some(_)) => "the change removes",
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
        finding.fix = heading_fix(&required, first, anchor, readme, &template, &new.kep.readme_path());
        let all: Vec<&str> = lacking.iter().map(|r| r.shown.as_str()).collect();
        finding.notes.push(format!("missing: {}", all.join(" | ")));
        if let Some((path, _)) = &converted {
            finding.notes.push(format!(
                "converted from the legacy KEP {path}: only headings that file had are required"
            ));
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

/// The first missing heading `first`, with the template's guidance under it (its text up to its
/// first subheading, usually a comment), inserted where the template puts it: after the section of
/// `anchor` (the README heading of the last required heading before it), before the first later
/// required heading or the end of the enclosing chapter. The KEP's own `#` title is not guessed.
fn heading_fix(
    required: &[Required],
    first: &Required,
    anchor: Option<usize>,
    readme: &Readme,
    template: &str,
    path: &str,
) -> Option<crate::finding::Fix> {
    let level = first.shown.bytes().take_while(|b| *b == b'#').count() as u8;
    if level <= 1 {
        return None;
    }
    let later: Vec<&Required> = required.iter().skip_while(|r| r.key != first.key).skip(1).collect();
    let heads = readme.headings();
    let start = anchor.map_or(0, |i| i + 1);
    let stop = heads[start.min(heads.len())..]
        .iter()
        .position(|h| h.level < level || (h.level <= level && later.iter().any(|r| r.matches(&normalise(&h.title)))))
        .map(|j| start + j);
    let after = match stop {
        Some(j) => heads[j].line.saturating_sub(1),
        None => readme.text().lines().count(),
    };
    // Parsed once per template text: an audit offers this fix for every README it finds lacking.
    thread_local! {
        static PARSED: RefCell<crate::memo::ByText<Rc<Readme>>> = const { RefCell::new(crate::memo::ByText::new()) };
    }
    let parsed = crate::memo::by_text(&PARSED, template, |t| Rc::new(Readme::parse(t.to_owned(), 0)));
    let title = first.shown.trim_start_matches('#').trim();
    let guidance = parsed
        .section(title)
        .map(|s| {
            let body = s.body;
            let end = body
                .lines()
                .scan(0, |at, l| {
                    let here = *at;
                    *at += l.len() + 1;
                    Some((here, l))
                })
                .find(|(_, l)| l.starts_with('#'))
                .map_or(body.len(), |(i, _)| i);
            body[..end.min(body.len())].trim().to_owned()
        })
        .unwrap_or_default();
    let text = match guidance.is_empty() {
        true => format!("\n{}\n", first.shown),
        false => format!("\n{}\n\n{guidance}\n", first.shown),
    };
    Some(crate::finding::Fix {
        path: path.to_owned(),
        edit: crate::finding::Edit::Insert { after, text },
    })
}

/// The required headings of `template`, parsed once per template text: all but those marked
/// `(Optional)` and those nested under one (the stories under `User Stories (Optional)`).
fn required_headings(template: &str) -> Rc<Vec<Required>> {
    thread_local! {
        static CACHE: RefCell<crate::memo::ByText<Rc<Vec<Required>>>> = const { RefCell::new(crate::memo::ByText::new()) };
    }
    crate::memo::by_text(&CACHE, template, |template| {
        let parsed = Readme::parse(template.to_owned(), 0);
        // The enclosing headings: level, and whether it or one above it is optional.
        let mut open: Vec<(u8, bool)> = Vec::new();
        let mut required = Vec::new();
        for h in parsed.headings() {
            while open.last().is_some_and(|&(level, _)| level >= h.level) {
                open.pop();
            }
            let optional = h.title.to_lowercase().contains("(optional)") || open.last().is_some_and(|&(_, o)| o);
            open.push((h.level, optional));
            let key = normalise(&h.title);
            if optional || key.is_empty() {
                continue;
            }
            let shown = format!(
                "{} {}",
                "#".repeat(h.level.into()),
                h.title.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            let question = words(shown.trim_start_matches('#'));
            required.push(Required {
                // The template's title stands for whatever the KEP's title is.
                key: if h.level == 1 { TITLE.into() } else { key },
                numbered: h.level > 1 && h.title.trim_end().ends_with(|c: char| c.is_ascii_digit()),
                question: if question.len() < QUESTION_WORDS {
                    Rc::from([])
                } else {
                    question.into()
                },
                shown,
            });
        }
        Rc::new(required)
    })
}

/// The key under which a README's `#` title matches the template's.
const TITLE: &str = "\0title";

/// A heading's text for matching: lowercase letters and digits only, so that case, spacing,
/// punctuation and hyphens do not matter ("Non Goals" is "Non-Goals", "Upgrade/Downgrade" is
/// "Upgrade / Downgrade", "reenable" is "re-enable").
/// A README's own "optional" marker is left out too: `## Alternatives [optional]` keeps the
/// section.
fn normalise(title: &str) -> String {
    // Most headings are ASCII without "optional": one pass suffices. Without "optional" in what
    // is kept, there was no "(optional)" to remove.
    if title.is_ascii() {
        let mut key = Vec::with_capacity(title.len());
        key.extend(
            title
                .bytes()
                .filter(u8::is_ascii_alphanumeric)
                .map(|b| b.to_ascii_lowercase()),
        );
        if !key.windows(8).any(|w| w == b"optional")
            && let Ok(key) = String::from_utf8(key)
        {
            return key;
        }
    }
    title
        .to_lowercase()
        .replace("(optional)", "")
        .replace("[optional]", "")
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// [`missing`] for the README of `snap`, kept for the READMEs judged lately: a run judges a
/// KEP's changes one after another, so the new README of one is the old README of the next.
fn missing_in(required: &Rc<Vec<Required>>, snap: &crate::kep::Snapshot<'_>, readme: &Readme) -> Vec<Required> {
    type Recent = VecDeque<(gix::ObjectId, KepKind, Rc<Vec<Required>>, Vec<Required>)>;
    thread_local! {
        static RECENT: RefCell<Recent> = const { RefCell::new(VecDeque::new()) };
    }
    let Some(id) = snap.files.readme.map(|f| f.id) else {
        return missing(required, Some(readme));
    };
    let kind = snap.kep.kind;
    // The entry holds its `required`, so no other list can take its address while it is kept.
    let hit = RECENT.with_borrow(|recent| {
        recent
            .iter()
            .find(|(i, k, r, _)| *i == id && *k == kind && Rc::ptr_eq(r, required))
            .map(|(.., lacking)| lacking.clone())
    });
    if let Some(lacking) = hit {
        return lacking;
    }
    let lacking = missing(required, Some(readme));
    RECENT.with_borrow_mut(|recent| {
        if recent.len() == 8 {
            recent.pop_front();
        }
        recent.push_back((id, kind, required.clone(), lacking.clone()));
    });
    lacking
}

/// The required headings `readme` lacks (all of them without a README), in template order.
fn missing(required: &[Required], readme: Option<&Readme>) -> Vec<Required> {
    let Some(r) = readme else {
        return required.to_vec();
    };
    let have: Vec<&str> = r.headings().iter().map(|h| h.title.as_str()).collect();
    let mut keys: Vec<String> = have.iter().map(|t| normalise(t)).collect();
    // A `#` heading is the KEP's title, or a section written one level too high.
    if r.headings().iter().any(|h| h.level == 1) {
        keys.push(TITLE.into());
    }
    let mut lacking = lacking_from(required, &keys);
    if lacking.is_empty() {
        return lacking;
    }
    let labels = r.bold_labels();
    let label_keys: Vec<String> = labels.iter().map(|t| normalise(t)).collect();
    lacking = lacking_from(&lacking, &label_keys);
    if lacking.is_empty() {
        return lacking;
    }
    // Questions answered under another template version's wording: what is left of the README's
    // headings and labels, once those matching a required heading are set aside. Only the ones
    // with about as many words as a lacking question can be one reworded, so only those are split
    // into words.
    let Some((fewest, most)) = lacking
        .iter()
        .map(|q| q.question.len())
        .filter(|&n| n > 0)
        .map(|n| (n - n / 4, n + n / 4))
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    else {
        return lacking;
    };
    let spare: Vec<Vec<String>> = have
        .into_iter()
        .zip(&keys)
        .chain(labels.iter().map(String::as_str).zip(&label_keys))
        .filter(|(title, key)| (fewest..=most).contains(&word_count(title)) && !required.iter().any(|q| q.matches(key)))
        .map(|(title, _)| words(title))
        .collect();
    lacking.retain(|q| !rephrased(&q.question, &spare));
    lacking
}

/// The headings of `required` that none of `keys` matches.
fn lacking_from(required: &[Required], keys: &[String]) -> Vec<Required> {
    required
        .iter()
        .filter(|r| !keys.iter().any(|k| r.matches(k)))
        .cloned()
        .collect()
}

/// Fewest words a heading needs to be matched loosely: the PRR questions have nine or more,
/// section names three or fewer.
const QUESTION_WORDS: usize = 6;

/// Whether one of `spare` (as [`words`]) is template question `shown` reworded a little, its
/// parenthesised asides aside: at most a quarter of the question's words dropped or added, and at
/// most one word changed (a change is a word dropped and one added). Earlier templates asked "How
/// can a rollout fail?" where today's asks "How can a rollout or rollback fail?", and "the
/// reasonable SLOs for the above SLIs" where today's asks "for the enhancement"; READMEs drop
/// "(i.e. can we roll back the enablement)". "Any new API calls?" is not "introducing new API
/// types?": two words changed.
fn rephrased(wanted: &[String], spare: &[Vec<String>]) -> bool {
    if wanted.len() < QUESTION_WORDS {
        return false;
    }
    let allowed = wanted.len() / 4;
    spare.iter().any(|w| {
        // Lengths that far apart cannot be a rewording; most headings end here, cheaply.
        if w.len().abs_diff(wanted.len()) > allowed {
            return false;
        }
        let common = common_words(wanted, w);
        let (dropped, added) = (wanted.len() - common, w.len() - common);
        dropped.min(added) <= 1 && dropped.max(added) <= allowed
    })
}

/// How many [`words`] `title` has, counted without making them.
fn word_count(title: &str) -> usize {
    let (mut depth, mut count, mut in_word) = (0usize, 0, false);
    for c in title.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => {
                for c in c.to_lowercase() {
                    let alphanumeric = c.is_alphanumeric();
                    count += usize::from(alphanumeric && !in_word);
                    in_word = alphanumeric;
                }
            }
            _ => {}
        }
    }
    count
}

/// A heading's lowercase words, parenthesised asides left out.
fn words(title: &str) -> Vec<String> {
    let mut depth = 0usize;
    let mut kept = String::new();
    for c in title.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => kept.extend(c.to_lowercase()),
            _ => {}
        }
    }
    kept.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How many words `a` and `b` have in common in order (their longest common subsequence).
fn common_words(a: &[String], b: &[String]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let kept = if x == y { diagonal + 1 } else { row[j + 1].max(row[j]) };
            diagonal = row[j + 1];
            row[j + 1] = kept;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str =
        "# KEP-NNNN: Title\n## Summary\n### User Stories (Optional)\n## Design   Details\n###### Does it  scale?\n";

    fn lacking(template: &str, readme: &str) -> Vec<String> {
        let kep = Readme::parse(readme.into(), 0);
        missing(&required_headings(template), Some(&kep))
            .into_iter()
            .map(|r| r.shown)
            .collect()
    }

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
        assert_eq!(
            lacking(TEMPLATE, "# KEP-42: Mine\n### summary\n## Design Details\n"),
            vec!["###### Does it scale?"]
        );
        assert_eq!(missing(&required, None).len(), 4);
    }

    #[test]
    fn headings_nested_under_an_optional_one_are_optional() {
        let template = "# T\n## Proposal\n### User Stories (Optional)\n#### Story 1\n##### Details\n\
                        #### Story 2\n### Risks and Mitigations\n## Design Details\n";
        let shown: Vec<String> = required_headings(template).iter().map(|r| r.shown.clone()).collect();
        assert_eq!(
            shown,
            vec!["# T", "## Proposal", "### Risks and Mitigations", "## Design Details"]
        );
    }

    #[test]
    fn punctuation_hyphens_and_spacing_do_not_matter() {
        let template = "# T\n## Non-Goals\n### Upgrade / Downgrade Strategy\n###### What happens if we reenable it?\n";
        let readme =
            "# KEP-1: X\n## Non Goals\n### Upgrade/Downgrade Strategy\n###### What happens if we re-enable it\n";
        assert_eq!(lacking(template, readme), Vec::<String>::new());
        let marked = "# KEP-1: X\n## Non-Goals (Optional)\n### Upgrade / Downgrade Strategy [optional]\n\
                      ###### What happens if we reenable it?\n";
        assert_eq!(lacking(template, marked), Vec::<String>::new());
        let readme = "# KEP-1: X\n## NonGoals\n### Upgrade Strategy\n###### What happens if we re enable it?\n";
        assert_eq!(lacking(template, readme), vec!["### Upgrade / Downgrade Strategy"]);
    }

    #[test]
    fn a_question_reworded_a_little_matches_and_another_question_does_not() {
        let template = "# T\n###### How can a rollout or rollback fail? Can it impact already running workloads?\n\
                        ###### Will enabling / using this feature result in any new API calls?\n\
                        ###### Can the feature be disabled once it has been enabled (i.e. can we roll back the enablement)?\n";
        let readme = "# X\n###### How can a rollout fail? Can it impact already running workloads?\n\
                      ###### Will enabling / using this feature result in introducing new API types?\n\
                      ###### Can the feature be disabled once it has been enabled?\n";
        // Two words changed: the README asks about new types, not calls.
        assert_eq!(
            lacking(template, readme),
            vec!["###### Will enabling / using this feature result in any new API calls?"]
        );
        // A heading that matches a required one exactly is not also another's rewording.
        let template =
            format!("{template}###### Will enabling / using this feature result in introducing new API types?\n");
        assert_eq!(
            lacking(&template, readme),
            vec!["###### Will enabling / using this feature result in any new API calls?"]
        );
        let w = |t: &str| words(t);
        assert_eq!(w("Does it (really) scale?"), vec!["does", "it", "scale"]);
        assert_eq!(common_words(&w("a b c d"), &w("a x c")), 2);
    }

    proptest::proptest! {
        /// The count that decides which headings are split into words is the number of words.
        #[test]
        fn word_count_is_the_number_of_words(title in "[a-zA-Z0-9 ()?/._İẞǅ\u{301}-]{0,40}") {
            proptest::prop_assert_eq!(word_count(&title), words(&title).len());
        }
    }

    #[test]
    fn a_numbered_heading_matches_a_readme_heading_that_names_the_item() {
        let template = "# T\n## Story 1\n## Summary\n";
        assert_eq!(
            lacking(template, "# X\n## Story 1: Async Init\n## Summary\n"),
            Vec::<String>::new()
        );
        // Not a longer number, and only numbered headings match by prefix.
        assert_eq!(
            lacking(template, "# X\n## Story 10\n## Summary of it\n"),
            vec!["## Story 1", "## Summary"]
        );
    }
}
