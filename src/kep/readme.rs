//! A KEP README split into sections, and the "did this section gain a line" decision.
//!
//! Template guidance lives in HTML comments, so only *visible* text counts: writing inside a
//! comment is not an update.

use std::cell::OnceCell;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use similar::{Algorithm, DiffOp, capture_diff_slices};

#[derive(Debug, Clone)]
pub struct Readme {
    text: String,
    headings: Vec<Heading>,
    /// The 1-based line of a fenced code block that is never closed: it hides every heading after it.
    unclosed_fence: Option<usize>,
    /// Byte offset of each line's start, so that a line is found without rescanning the text.
    line_starts: Vec<usize>,
    /// Found on first use: a Markdown parse of a long README is costly, and most are never asked.
    /// The paragraphs that may open with a bold label, where the scanner found them (see
    /// [`super::headings::Scanned::label_paragraphs`]).
    label_paragraphs: Option<super::headings::LabelParagraphs>,
    bold_labels: OnceCell<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: u8,
    pub title: String,
    /// 1-based line of the heading's first line.
    pub line: usize,
    /// Byte offset where the heading starts (start of its line).
    pub(super) start: usize,
    /// Byte offset of the line after the heading.
    pub(super) body_start: usize,
}

/// A section: from its heading to the next heading of the same or a higher level.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    pub heading: &'a Heading,
    /// Source text after the heading, up to the end of the section.
    pub body: &'a str,
}

impl Readme {
    /// Parses `text`; the bytes before `body_start` (a legacy KEP's front matter) are not Markdown
    /// and are blanked so that line numbers stay those of the file.
    pub fn parse(text: String, body_start: usize) -> Readme {
        let mut label_paragraphs = None;
        let mut scanned_starts = None;
        let (headings, unclosed_fence) = if body_start == 0 {
            match super::headings::scan_all(&text) {
                Some(scanned) => {
                    label_paragraphs = scanned.label_paragraphs;
                    scanned_starts = Some(scanned.line_starts);
                    (scanned.headings, scanned.unclosed)
                }
                None => pulldown_headings(&text),
            }
        } else {
            // Byte for byte, so that offsets found in the blanked text are offsets into `text`.
            let head: String = text.as_bytes()[..body_start]
                .iter()
                .map(|&b| if b == b'\n' { '\n' } else { ' ' })
                .collect();
            parse_headings(&(head + &text[body_start..]))
        };
        let line_starts = scanned_starts.unwrap_or_else(|| line_starts(&text));
        debug_assert_eq!(line_starts, self::line_starts(&text));
        Readme {
            text,
            headings,
            unclosed_fence,
            line_starts,
            label_paragraphs,
            bold_labels: OnceCell::new(),
        }
    }

    /// The bold text that opens a paragraph or list item: `* **How can this feature be
    /// enabled / disabled in a live cluster?**`. Templates before 2021 posed the PRR questions
    /// this way, and READMEs written from them answer the questions under such labels, not
    /// headings.
    pub fn bold_labels(&self) -> &[String] {
        self.bold_labels.get_or_init(|| match &self.label_paragraphs {
            // Only the paragraphs that open bold, each read alone, or the top-level list or quote
            // holding one that would not read the same alone.
            Some(paragraphs) => paragraph_labels(paragraphs, &self.text),
            None if may_have_bold_label(&self.text) => bold_labels(&self.text),
            None => Vec::new(),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn headings(&self) -> &[Heading] {
        &self.headings
    }

    /// Where a heading titled `title` stands inside a code fence that is never closed: the
    /// heading's line and the fence's, so a message can say why the section is not seen.
    pub fn hidden_heading(&self, title: &str) -> Option<(usize, usize)> {
        let fence = self.unclosed_fence?;
        let wanted = title.trim().to_lowercase();
        let line = self.text.lines().enumerate().skip(fence).find_map(|(i, l)| {
            let t = l.trim_start();
            let text = t.trim_start_matches('#');
            (t.starts_with('#') && text.starts_with(' ') && text.trim().to_lowercase() == wanted).then_some(i + 1)
        })?;
        Some((line, fence))
    }

    /// The first section whose heading text, trimmed, equals `title` case-insensitively.
    pub fn section(&self, title: &str) -> Option<Section<'_>> {
        let wanted = title.trim().to_lowercase();
        let i = self.headings.iter().position(|h| same_lowercase(&h.title, &wanted))?;
        Some(self.section_at(i))
    }

    /// The sections of the level-`level` headings inside section `title` (such as the `######`
    /// questions of a PRR subsection); `None` when there is no section `title`.
    pub fn subsections(&self, title: &str, level: u8) -> Option<Vec<Section<'_>>> {
        let wanted = title.trim().to_lowercase();
        let i = self.headings.iter().position(|h| same_lowercase(&h.title, &wanted))?;
        let parent = self.headings[i].level;
        Some(
            (i + 1..self.headings.len())
                .take_while(|&j| self.headings[j].level > parent)
                .filter(|&j| self.headings[j].level == level)
                .map(|j| self.section_at(j))
                .collect(),
        )
    }

    /// The section of heading `i`: up to the next heading of the same or a higher level.
    fn section_at(&self, i: usize) -> Section<'_> {
        let h = &self.headings[i];
        let end = self.headings[i + 1..]
            .iter()
            .find(|n| n.level <= h.level)
            .map_or(self.text.len(), |n| n.start);
        let body = self.text.get(h.body_start..end.max(h.body_start)).unwrap_or("");
        Section { heading: h, body }
    }

    /// The text of 1-based line `line`.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        // As `str::lines` numbers them: no line after a final newline, `\r\n` ends a line.
        let i = line.checked_sub(1)?;
        let start = *self.line_starts.get(i)?;
        if start == self.text.len() {
            return None;
        }
        let end = self.line_starts.get(i + 1).map_or(self.text.len(), |&n| n - 1);
        let l = &self.text[start..end];
        Some(l.strip_suffix('\r').unwrap_or(l))
    }
}

/// Whether `text` lowercased is `lower`; without allocating where both are ASCII, as headings
/// mostly are.
fn same_lowercase(text: &str, lower: &str) -> bool {
    if text.is_ascii() && lower.is_ascii() {
        return text.len() == lower.len()
            && text
                .bytes()
                .zip(lower.bytes())
                .all(|(a, b)| a.to_ascii_lowercase() == b);
    }
    text.to_lowercase() == lower
}

/// The byte offset of each line's start.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
        .collect()
}

/// The headings of `markdown` and the 1-based line of a fenced code block never closed: by the
/// line scanner where it is sure, else by a full parse.
fn parse_headings(markdown: &str) -> (Vec<Heading>, Option<usize>) {
    scan_headings(markdown).unwrap_or_else(|| pulldown_headings(markdown))
}

/// What [`pulldown_headings`] returns, found by a line scanner at a fraction of its cost, or
/// `None` where the scanner meets Markdown it does not model (see [`super::headings`]).
pub fn scan_headings(markdown: &str) -> Option<(Vec<Heading>, Option<usize>)> {
    super::headings::scan(markdown)
}

/// The reference for the scanner: the headings and unclosed fence that a full pulldown-cmark parse
/// of `markdown` gives.
pub fn pulldown_headings(markdown: &str) -> (Vec<Heading>, Option<usize>) {
    let line_starts = line_starts(markdown);
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset) - 1;

    let mut headings = Vec::new();
    let mut unclosed = None;
    let mut current: Option<(u8, usize, usize, String)> = None;
    for (event, range) in Parser::new_ext(markdown, Options::empty()).into_offset_iter() {
        match event {
            // Only a block running to the end of the file hides what follows it.
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_)))
                if unclosed.is_none()
                    && range.end >= markdown.trim_end().len()
                    && !fence_closed(&markdown[range.clone()]) =>
            {
                unclosed = Some(line_of(range.start) + 1);
            }
            Event::Start(Tag::Heading { level, .. }) => {
                current = Some((level as u8, range.start, range.end, String::new()));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((.., title)) = current.as_mut() {
                    title.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, start, end, title)) = current.take() {
                    let first = line_of(start);
                    let last = line_of(end.saturating_sub(1).max(start));
                    headings.push(Heading {
                        level,
                        title: title.trim().to_owned(),
                        line: first + 1,
                        start: line_starts[first],
                        body_start: line_starts.get(last + 1).copied().unwrap_or(markdown.len()),
                    });
                }
            }
            _ => {}
        }
    }
    (headings, unclosed)
}

/// Whether some line, past its indentation, block quote and list markers, starts with `**` or
/// `__`: a bold label opens its paragraph or list item, so a README without such a line has none
/// and needs no parse.
fn may_have_bold_label(text: &str) -> bool {
    text.lines().any(|line| {
        let mut rest = line;
        loop {
            rest = rest.trim_start_matches([' ', '\t']);
            if let Some(r) = rest.strip_prefix('>') {
                rest = r;
                continue;
            }
            let marker = match rest.as_bytes().first() {
                Some(b'*' | b'-' | b'+') => 1,
                Some(b'0'..=b'9') => {
                    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                    match rest.as_bytes().get(digits) {
                        Some(b'.' | b')') => digits + 1,
                        _ => 0,
                    }
                }
                _ => 0,
            };
            match rest.as_bytes().get(marker) {
                Some(b' ' | b'\t') if marker > 0 => rest = &rest[marker..],
                _ => break,
            }
        }
        rest.starts_with("**") || rest.starts_with("__")
    })
}

/// The bold labels of `text` as the scanner's paragraphs give them, or `None` where it is unsure.
pub fn scan_bold_labels(text: &str) -> Option<Vec<String>> {
    let paragraphs = super::headings::scan_all(text)?.label_paragraphs?;
    Some(paragraph_labels(&paragraphs, text))
}

/// The bold labels of the scanner's paragraphs (or runs) of `text`, each read alone.
fn paragraph_labels(paragraphs: &super::headings::LabelParagraphs, text: &str) -> Vec<String> {
    paragraphs.sources(text).flat_map(|p| bold_labels(&p)).collect()
}

/// The reference for [`scan_bold_labels`]: the labels a full pulldown-cmark parse of `text` gives.
pub fn pulldown_bold_labels(text: &str) -> Vec<String> {
    bold_labels(text)
}

/// See [`Readme::bold_labels`].
fn bold_labels(text: &str) -> Vec<String> {
    let mut labels = Vec::new();
    // The label being read, and whether the next event opens a paragraph or list item.
    let mut label: Option<String> = None;
    let mut at_start = false;
    for event in Parser::new_ext(text, Options::empty()) {
        match event {
            Event::Start(Tag::Paragraph | Tag::Item) => at_start = true,
            Event::Start(Tag::Strong) if at_start && label.is_none() => label = Some(String::new()),
            Event::Text(t) | Event::Code(t) if label.is_some() => {
                label.as_mut().expect("checked").push_str(&t);
            }
            Event::SoftBreak if label.is_some() => label.as_mut().expect("checked").push(' '),
            Event::End(TagEnd::Strong) => {
                if let Some(l) = label.take() {
                    labels.push(l);
                }
            }
            _ => at_start = false,
        }
    }
    labels
}

/// Whether the source of a fenced code block ends with a closing fence: a line of at least as
/// many of the opening fence's characters, and nothing else.
pub(super) fn fence_closed(block: &str) -> bool {
    let mut lines = block.trim_end_matches(['\n', '\r']).lines();
    let Some(open) = lines.next().map(str::trim_start) else {
        return true;
    };
    let Some(ch) = open.chars().next().filter(|c| matches!(c, '`' | '~')) else {
        return true; // not a fence we can judge
    };
    let len = open.chars().take_while(|c| *c == ch).count();
    lines.next_back().is_some_and(|last| {
        let last = last.trim();
        last.chars().all(|c| c == ch) && last.chars().count() >= len
    })
}

/// The visible lines of a section body: HTML comments removed, each line trimmed with inner runs
/// of white space collapsed, blank lines dropped.
pub fn visible_lines(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for l in strip_html_comments(body).lines() {
        let mut line = String::with_capacity(l.len());
        // ASCII whitespace is Unicode's within ASCII, but for the vertical tab.
        let words: &mut dyn Iterator<Item = &str> = match l.is_ascii() && !l.contains('\x0b') {
            true => &mut l.split_ascii_whitespace(),
            false => &mut l.split_whitespace(),
        };
        for word in words {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            out.push(line);
        }
    }
    out
}

/// Removes `<!-- ... -->`, keeping their line breaks; an unterminated comment runs to the end.
pub fn strip_html_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("<!--") {
        out.push_str(&rest[..open]);
        // `<!-->` and `<!--->` are complete, empty comments in HTML and CommonMark.
        let after = &rest[open + 4..];
        if let Some(skip) = [">", "->"].iter().find(|end| after.starts_with(**end)).map(|e| e.len()) {
            rest = &after[skip..];
            continue;
        }
        match rest[open + 4..].find("-->") {
            Some(close) => {
                // Keep the comment's line breaks so that text either side stays on its own line.
                out.extend(rest[open..open + 4 + close].chars().filter(|&c| c == '\n'));
                rest = &rest[open + 4 + close + 3..];
            }
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// True when going from `old` to `new` inserts or replaces at least one line; pure deletions do
/// not count.
pub fn gained_line(old: &[String], new: &[String]) -> bool {
    capture_diff_slices(Algorithm::Myers, old, new)
        .iter()
        .any(|op| matches!(op, DiffOp::Insert { .. } | DiffOp::Replace { .. }))
}

/// Whether section `title` gained a visible line from `old` to `new`. A section missing from
/// `old` counts as empty; a section missing from `new` never gained.
pub fn section_gained_line(old: Option<&Readme>, new: &Readme, title: &str) -> bool {
    let Some(new_section) = new.section(title) else {
        return false;
    };
    let old_section = old.and_then(|r| r.section(title));
    // The same text gains nothing, whatever it holds.
    if old_section.as_ref().is_some_and(|s| s.body == new_section.body) {
        return false;
    }
    let old_lines = old_section.map(|s| visible_lines(s.body)).unwrap_or_default();
    gained_line(&old_lines, &visible_lines(new_section.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_lines_join_words_with_one_space_whatever_the_whitespace() {
        let body = "a  b\t c \n\n  \u{a0}d\u{2003}e \n f\x0bg\x0ch\r\n<!-- x -->\n";
        assert_eq!(visible_lines(body), vec!["a b c", "d e", "f g h"]);
    }

    #[test]
    fn lines_start_where_the_scanner_found_them_and_where_a_full_parse_would() {
        for text in ["", "a", "a\n", "a\nb", "# T\n\n## A\r\nx\r\n", "\n\n", "```\ncode\n"] {
            let scanned = crate::kep::headings::scan_all(text).expect("the scanner reads it");
            assert_eq!(scanned.line_starts, line_starts(text), "{text:?}");
            assert_eq!(
                Readme::parse(text.to_owned(), 0).line_starts,
                line_starts(text),
                "{text:?}"
            );
        }
    }

    fn readme(s: &str) -> Readme {
        Readme::parse(s.to_owned(), 0)
    }

    #[test]
    fn sections_run_to_the_next_heading_of_same_or_higher_level() {
        let r = readme("# T\n## A\na1\n### A.1\na2\n## B\nb\n");
        let a = r.section("a").unwrap();
        assert_eq!(a.heading.line, 2);
        assert_eq!(a.body, "a1\n### A.1\na2\n");
        assert_eq!(r.section(" B ").unwrap().body, "b\n");
        assert!(r.section("C").is_none());
    }

    #[test]
    fn subsections_are_the_headings_of_a_level_inside_a_section() {
        let r = readme("## PRR\n### A\n###### q1\nans\n###### q2\n### B\n###### q3\nx\n## Next\n");
        let qs = r.subsections("a", 6).unwrap();
        let got: Vec<(&str, &str)> = qs.iter().map(|s| (s.heading.title.as_str(), s.body)).collect();
        assert_eq!(got, vec![("q1", "ans\n"), ("q2", "")]);
        assert_eq!(r.subsections("B", 6).unwrap().len(), 1);
        assert!(r.subsections("C", 6).is_none());
    }

    #[test]
    fn headings_in_code_blocks_do_not_count_but_setext_ones_do() {
        let r = readme("# T\n```\n## Implementation History\n```\nImplementation History\n---\n- x\n");
        let s = r.section("implementation history").unwrap();
        assert_eq!(s.heading.line, 5);
        assert_eq!(s.body, "- x\n");
    }

    #[test]
    fn html_comments_are_invisible() {
        let lines = visible_lines("<!--\nguidance\n-->\n  - v1.19:   alpha <!-- inline -->\n\n");
        assert_eq!(lines, vec!["- v1.19: alpha"]);
        assert!(
            visible_lines("text <!-- unterminated\nmore")
                .iter()
                .all(|l| l == "text")
        );
    }

    #[test]
    fn gained_counts_inserts_and_replacements_not_deletions() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(gained_line(&v(&["a"]), &v(&["a", "b"])));
        assert!(gained_line(&v(&["a"]), &v(&["b"])));
        assert!(!gained_line(&v(&["a", "b"]), &v(&["a"])));
        assert!(!gained_line(&v(&["a"]), &v(&["a"])));
    }

    #[test]
    fn line_text_numbers_lines_as_str_lines_does() {
        for text in ["a\nb\n", "a\r\nb", "\n\nc\r\n", "", "x"] {
            let r = readme(text);
            let want: Vec<&str> = text.lines().collect();
            let got: Vec<&str> = (1..=want.len() + 1).filter_map(|l| r.line_text(l)).collect();
            assert_eq!(got, want, "{text:?}");
            assert_eq!(r.line_text(0), None);
        }
    }

    #[test]
    fn bold_labels_open_paragraphs_and_items_and_need_a_line_starting_bold() {
        let r = readme("* **Q1?**\n  answer\n\n> 1. __Q2__ more\n\ntext **not**\n");
        assert_eq!(r.bold_labels(), ["Q1?", "Q2"]);
        assert!(readme("text **not**\n- *em* **no**\n").bold_labels().is_empty());
        for text in ["- **a**", "  > > 12) __b__", "+\t**c**", "***d***"] {
            assert!(may_have_bold_label(text), "{text:?}");
        }
        for text in ["a **b**", "*a* **b**", "-**a**", "1.**a**", "&#42;&#42;a**"] {
            assert!(!may_have_bold_label(text), "{text:?}");
        }
    }

    /// A paragraph that would not read the same alone has its whole top-level list or quote read
    /// instead, not the whole README; the labels are the full parse's.
    #[test]
    fn bold_labels_of_a_list_whose_looseness_decides_come_from_that_list_alone() {
        for text in [
            // A later block of an item: a label in a loose list, plain text in a tight one.
            "# T\n\n- **Q1?**\n\n  **Q2?** yes\n- x\n\n**Q3?** after\n",
            "# T\n\n- **Q1?**\n  ```\n  c\n  ```\n  **Q2?** yes\n- x\n\n**Q3?** after\n",
            "text\n- a\n\n  **Q?** b\n\n- c\n* d\n\n  **R?** e\n",
            // A lazy line, inside a quote holding a list.
            "> - **Q?** a\nlazy\n>\n>   **R?** b\n\npara\n",
            // A list at the very end, and one right after a paragraph.
            "**A**\nx\n- y\n\n  **B** z",
            // Link reference definitions resolve inside the run.
            "- a\n\n  **[Q][r]?** b\n\n[r]: /url\n",
        ] {
            let scanned = scan_bold_labels(text);
            assert!(scanned.is_some(), "fell back for {text:?}");
            assert_eq!(scanned.unwrap(), pulldown_bold_labels(text), "{text:?}");
        }
        assert_eq!(
            pulldown_bold_labels("# T\n\n- **Q1?**\n\n  **Q2?** yes\n- x\n\n**Q3?** after\n"),
            ["Q1?", "Q2?", "Q3?"]
        );
    }

    #[test]
    fn front_matter_is_not_markdown_but_keeps_line_numbers() {
        let text = "---\ntitle: x\n---\n# T\n## Implementation History\n- a\n";
        let r = Readme::parse(text.to_owned(), 17);
        assert_eq!(r.headings().len(), 2);
        assert_eq!(r.section("Implementation History").unwrap().heading.line, 5);
    }
}
