//! Moves that are not new KEPs: a legacy single-file KEP converted into a directory KEP in one
//! change. Rules that judge what a change introduces treat such a KEP as the legacy one moved.

use anyhow::Result;

use super::Context;
use std::cell::RefCell;
use std::rc::Rc;

use crate::kep::metadata::{Metadata, split_front_matter};
use crate::kep::readme::Readme;
use crate::kep::{KepKind, Snapshot};

/// A title for comparison: lowercase letters and digits only.
fn normalise(title: &str) -> String {
    title.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect()
}

/// A test a converted legacy KEP's front matter may pass.
type Test<'a> = dyn Fn(Option<&Metadata>) -> bool + 'a;

/// The legacy single-file KEP a new directory KEP was converted from in this change, with its
/// body: a Markdown file with front matter that the change deleted from the directory the KEP's
/// directory sits in. Conversions in the real history mostly keep the title, rarely a
/// `kep-number` (legacy files seldom had one), and sometimes only part of the title or the
/// creation date; so the candidates are narrowed by number, then title, then a title holding the
/// other's words, then creation date, each taken only when it singles one out, else the
/// candidate is taken when it is the only one.
pub fn converted_from(cx: &Context<'_>, new: &Snapshot<'_>) -> Result<Option<(String, Readme)>> {
    if new.kep.kind != KepKind::Directory {
        return Ok(None);
    }
    let Some((parent, _)) = new.kep.path.rsplit_once('/') else {
        return Ok(None);
    };
    // Each candidate's path, text, and front matter (with where its body starts).
    let mut candidates: Vec<(String, Rc<str>, Rc<FrontMatter>)> = Vec::new();
    for name in cx.repo.deleted_files(parent)? {
        if !name.ends_with(".md") || name == "README.md" {
            continue;
        }
        let path = format!("{parent}/{name}");
        // A file that cannot be read (over the size cap) is no evidence of a conversion.
        let Ok(Some(text)) = cx.repo.base_file(&path) else {
            continue;
        };
        if let Some(parsed) = front_matter(&text) {
            candidates.push((path, text, parsed));
        }
    }
    let new_meta = new.metadata.parsed();
    let unpadded = |n: &str| n.trim_start_matches('0').to_owned();
    let number = unpadded(&cx.diff.number());
    let of = |m: Option<&Metadata>, key: &str| m.and_then(|m| m.scalar(key)).filter(|v| !v.is_empty());
    let title = of(new_meta, "title").map(|t| normalise(&t));
    let created = of(new_meta, "creation-date");
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let title_words = of(new_meta, "title").map(|t| words(&t)).unwrap_or_default();
    // One title's words all in the other's: "Volume scale testing", "Volume Scale and Performance
    // Testing Plan".
    let related = |t: &str| {
        let w = words(t);
        let within = |a: &[String], b: &[String]| !a.is_empty() && a.iter().all(|x| b.contains(x));
        within(&w, &title_words) || within(&title_words, &w)
    };
    let tests: [&Test; 4] = [
        &|m| !number.is_empty() && of(m, "kep-number").is_some_and(|n| unpadded(&n) == number),
        &|m| title.is_some() && of(m, "title").map(|t| normalise(&t)) == title,
        &|m| of(m, "title").is_some_and(|t| related(&t)),
        &|m| created.is_some() && of(m, "creation-date") == created,
    ];
    for test in tests {
        let hits: Vec<usize> = (0..candidates.len())
            .filter(|&i| test(candidates[i].2.0.as_ref()))
            .collect();
        if let [i] = hits[..] {
            let (path, text, parsed) = candidates.swap_remove(i);
            return Ok(Some((path, Readme::parse(text.to_string(), parsed.1))));
        }
    }
    Ok(candidates
        .pop()
        .filter(|_| candidates.is_empty())
        .map(|(path, text, parsed)| (path, Readme::parse(text.to_string(), parsed.1))))
}

/// A legacy KEP file's metadata, if it parses, and the offset where its body starts.
type FrontMatter = (Option<Metadata>, usize);

/// A legacy KEP file's front matter and where its body starts, parsed once per text: a commit
/// that converts many legacy KEPs deletes them all, and each new KEP of it looks at every one.
fn front_matter(text: &str) -> Option<Rc<FrontMatter>> {
    type Parsed = Option<Rc<FrontMatter>>;
    thread_local! {
        static CACHE: RefCell<crate::memo::ByText<Parsed>> = const { RefCell::new(crate::memo::ByText::new()) };
    }
    crate::memo::by_text(&CACHE, text, |text| {
        let (yaml, offset, body) = split_front_matter(text)?;
        Some(Rc::new((Metadata::parse(yaml, offset).ok(), body)))
    })
}
