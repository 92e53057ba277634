//! A line scanner for a KEP README's headings: the block structure pulldown-cmark gives them, at a
//! fraction of the cost of a full parse (which also builds every paragraph's inline content).
//!
//! It follows pulldown-cmark's first pass (containers, leaf blocks, paragraph interruption, its
//! tab and closing-sequence rules) for what decides where headings are, and answers `None`
//! ("unsure") where it does not model the document: a list item that opens with a blank line, a
//! possible link reference definition, a fence in a container that runs to the end of the text,
//! a lone carriage return. A heading title with inline markup is read by pulldown-cmark itself,
//! from that heading's own lines: with no link reference definition in the document, inline
//! parsing depends on nothing else.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::readme::{Heading, fence_closed};

/// The headings and unclosed fence of `markdown` as [`super::readme::pulldown_headings`] finds
/// them, or `None` where the scanner cannot be sure of that.
pub fn scan(markdown: &str) -> Option<(Vec<Heading>, Option<usize>)> {
    scan_all(markdown).map(|s| (s.headings, s.unclosed))
}

/// What the scanner finds in a README.
pub struct Scanned {
    pub headings: Vec<Heading>,
    pub unclosed: Option<usize>,
    /// Where each line starts, as `Readme` indexes them: one more after a final newline.
    pub line_starts: Vec<usize>,
    /// The paragraphs that open with `**` or `__`; `None` where one's lines would not read the
    /// same alone.
    pub label_paragraphs: Option<LabelParagraphs>,
}

/// Where the paragraphs that may open with a bold label are: read alone (see
/// [`LabelParagraphs::sources`]), each gives the label pulldown-cmark finds at its start in the
/// document, if any.
#[derive(Debug, Clone, Default)]
pub struct LabelParagraphs {
    /// The byte range of each line of each paragraph, in order.
    lines: Vec<(usize, usize)>,
    /// Where each paragraph's lines end in `lines`.
    ends: Vec<usize>,
    /// The document's link reference definitions, when it has any.
    defs: Option<String>,
}

impl LabelParagraphs {
    /// Each paragraph's source in `doc` (the scanned text), with the document's link reference
    /// definitions after it where it holds a bracket.
    pub fn sources<'a>(&'a self, doc: &'a str) -> impl Iterator<Item = String> + 'a {
        let mut from = 0;
        self.ends.iter().map(move |&to| {
            let mut source = String::new();
            for (i, &(s, e)) in self.lines[from..to].iter().enumerate() {
                if i > 0 {
                    source.push('\n');
                }
                source.push_str(&doc[s..e]);
            }
            from = to;
            if let Some(defs) = &self.defs
                && source.contains(['[', ']'])
            {
                source = format!("{source}\n\n{defs}\n");
            }
            source
        })
    }
}

/// [`scan`], with the paragraphs that may open with a bold label.
pub fn scan_all(markdown: &str) -> Option<Scanned> {
    // CommonMark ends a line at a lone `\r` too; line numbers here count `\n` only.
    let bytes = markdown.as_bytes();
    if lone_cr(markdown) {
        return None;
    }
    let mut s = Scanner {
        doc: markdown,
        line_starts: Vec::new(),
        containers: Vec::new(),
        leaf: Leaf::None,
        parts: Vec::new(),
        headings: Vec::new(),
        refdefs: Vec::new(),
        bracket_titles: Vec::new(),
        label_paragraphs: LabelParagraphs::default(),
        labels_unsure: false,
        later_in_item: false,
        region: None,
    };
    let mut start = 0;
    let mut newlines = memchr::memchr_iter(b'\n', bytes);
    while start < bytes.len() {
        let next = newlines.next().map_or(bytes.len(), |i| i + 1);
        let mut end = next;
        if end > start && bytes[end - 1] == b'\n' {
            end -= 1;
            if end > start && bytes[end - 1] == b'\r' {
                end -= 1;
            }
        }
        s.line_starts.push(start);
        s.line(start, end)?;
        s.track_region(start, end);
        start = next;
    }
    s.end_paragraph();
    s.close_region(bytes.len());
    let unclosed = match &s.leaf {
        Leaf::Fence {
            depth: 0, start, line, ..
        } => (!fence_closed(&markdown[*start..])).then_some(line + 1),
        // A fence in a container reaching the end: pulldown's range for it starts inside the
        // container's line, which the unclosed-fence test reads differently.
        Leaf::Fence { .. } => return None,
        _ => None,
    };
    if !s.refdefs.is_empty() {
        // Read those titles again with every definition: the first of a label wins, as in the
        // document.
        let defs = s.refdefs.join("\n");
        for (i, fragment) in std::mem::take(&mut s.bracket_titles) {
            s.headings[i].title = inline_title(&format!("{fragment}\n\n{defs}\n"));
        }
        s.label_paragraphs.defs = Some(defs);
    }
    let label_paragraphs = (!s.labels_unsure).then_some(s.label_paragraphs);
    let mut line_starts = s.line_starts;
    if markdown.is_empty() || markdown.ends_with('\n') {
        line_starts.push(markdown.len());
    }
    Some(Scanned {
        headings: s.headings,
        unclosed,
        line_starts,
        label_paragraphs,
    })
}

/// Whether `text` holds a `\r` not followed by `\n`.
fn lone_cr(text: &str) -> bool {
    // `str::find` searches for a byte far faster than a byte loop.
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'\r', bytes).any(|at| bytes.get(at + 1) != Some(&b'\n'))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Quote,
    /// A list item and the indentation its content needs.
    Item(usize),
}

#[derive(Debug)]
enum Leaf {
    None,
    /// Its lines' sources are in [`Scanner::parts`].
    Paragraph {
        /// 0-based first line.
        line: usize,
        /// Its lines read alone would not parse the same: the first follows a link reference
        /// definition (so may be one that opens a block anywhere else), or one is a lazy
        /// continuation (which may be a setext underline read alone).
        fragile: bool,
    },
    Fence {
        ch: u8,
        len: usize,
        indent: usize,
        /// Byte offset of the fence characters, and the fence's 0-based line.
        start: usize,
        line: usize,
        /// How many containers hold it.
        depth: usize,
    },
    Indented,
    /// An HTML block: types 1-5 end at a line holding their end marker, 6 and 7 at a blank line.
    Html(Option<&'static str>),
    /// A link reference definition's line: pulldown-cmark goes on to read the next line as
    /// another definition or a paragraph, whatever its indentation, unless it interrupts one.
    AfterRefdef,
    /// A definition's label and colon, at top level: its destination is on this line.
    RefdefDest(usize),
}

struct Scanner<'a> {
    doc: &'a str,
    line_starts: Vec<usize>,
    containers: Vec<Container>,
    leaf: Leaf,
    /// The source of each line of the open paragraph (after its containers), for a title that
    /// needs inline parsing; one buffer for all paragraphs.
    parts: Vec<(usize, usize)>,
    headings: Vec<Heading>,
    /// The source of each link reference definition: a title may hold a link one resolves.
    refdefs: Vec<String>,
    /// Titles read by inline parsing that hold a bracket: the heading's index and its source.
    bracket_titles: Vec<(usize, String)>,
    /// See [`Scanned::label_paragraphs`].
    label_paragraphs: LabelParagraphs,
    labels_unsure: bool,
    /// The open paragraph is in a list item it does not open (see [`Scanner::block`]).
    later_in_item: bool,
    /// The top-level run of block quotes and lists under way (see [`Region`]).
    region: Option<Region>,
}

/// A run of top-level containers (lists and block quotes) from the line that opens the first to
/// the first line outside any. Such a run reads the same alone as in its document, link
/// reference definitions aside: where one of its paragraphs would not read the same alone (a
/// later block of a list item, whose list may be loose, or a lazy line), the whole run is read
/// for bold labels instead, rather than the whole document.
struct Region {
    /// Byte offset of its first line.
    start: usize,
    /// The label paragraphs noted before it, as counts of `lines` and `ends`.
    lines: usize,
    ends: usize,
    /// One of its paragraphs needs it read whole.
    whole: bool,
}

/// pulldown-cmark's `LineStart`: a cursor over a line's start where tabs count to the next
/// multiple of four columns and may be consumed in part.
#[derive(Clone)]
struct Cursor<'a> {
    bytes: &'a [u8],
    ix: usize,
    tab_start: usize,
    spaces_remaining: usize,
    min_hrule_offset: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor {
            bytes,
            ix: 0,
            tab_start: 0,
            spaces_remaining: 0,
            min_hrule_offset: 0,
        }
    }

    fn scan_space(&mut self, n: usize) -> bool {
        self.scan_space_inner(n) == 0
    }

    fn scan_space_upto(&mut self, n: usize) -> usize {
        n - self.scan_space_inner(n)
    }

    fn scan_space_inner(&mut self, mut n: usize) -> usize {
        let from_remaining = self.spaces_remaining.min(n);
        self.spaces_remaining -= from_remaining;
        n -= from_remaining;
        while n > 0 && self.ix < self.bytes.len() {
            match self.bytes[self.ix] {
                b' ' => {
                    self.ix += 1;
                    n -= 1;
                }
                b'\t' => {
                    let spaces = 4 - (self.ix - self.tab_start) % 4;
                    self.ix += 1;
                    self.tab_start = self.ix;
                    let used = spaces.min(n);
                    n -= used;
                    self.spaces_remaining = spaces - used;
                }
                _ => break,
            }
        }
        n
    }

    fn scan_all_space(&mut self) {
        self.spaces_remaining = 0;
        self.ix += self.bytes[self.ix..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
    }

    fn at_eol(&self) -> bool {
        self.ix >= self.bytes.len()
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.ix..]
    }

    fn scan_blockquote_marker(&mut self) -> bool {
        if self.bytes.get(self.ix) == Some(&b'>') {
            self.ix += 1;
            let _ = self.scan_space(1);
            true
        } else {
            false
        }
    }

    /// A list marker: the content indentation it sets, and whether the rest of the line is blank.
    fn scan_list_marker(&mut self, indent: usize) -> Option<(usize, bool)> {
        let save = self.clone();
        let c = *self.bytes.get(self.ix)?;
        if matches!(c, b'-' | b'+' | b'*') {
            if self.ix >= self.min_hrule_offset {
                match scan_hrule(&self.bytes[self.ix..]) {
                    Err(min) => self.min_hrule_offset = min,
                    Ok(()) => {
                        *self = save;
                        return None;
                    }
                }
            }
            self.ix += 1;
            if self.scan_space(1) || self.at_eol() {
                return Some(self.finish_list_marker(indent + 2));
            }
        } else if c.is_ascii_digit() {
            let start = self.ix;
            let mut ix = self.ix + 1;
            while ix < self.bytes.len() && ix - start < 10 {
                let c = self.bytes[ix];
                ix += 1;
                if c.is_ascii_digit() {
                    continue;
                }
                if c == b')' || c == b'.' {
                    self.ix = ix;
                    if self.scan_space(1) || self.at_eol() {
                        return Some(self.finish_list_marker(indent + 1 + ix - start));
                    }
                }
                break;
            }
        }
        *self = save;
        None
    }

    fn finish_list_marker(&mut self, mut indent: usize) -> (usize, bool) {
        if is_blank(self.rest()) {
            return (indent, true);
        }
        let save = self.clone();
        let post = self.scan_space_upto(4);
        if post < 4 {
            indent += post;
        } else {
            *self = save;
        }
        (indent, false)
    }
}

fn is_ws_no_nl(b: u8) -> bool {
    matches!(b, b'\t' | 0x0b | 0x0c | b' ')
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| is_ws_no_nl(b))
}

/// `Ok` for a thematic break; `Err` with the offset before which none can start.
fn scan_hrule(bytes: &[u8]) -> Result<(), usize> {
    let Some(&c) = bytes.first() else { return Err(0) };
    if bytes.len() < 3 || !matches!(c, b'*' | b'-' | b'_') {
        return Err(0);
    }
    let mut n = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b if b == c => n += 1,
            b' ' | b'\t' => {}
            _ => return Err(i),
        }
    }
    if n >= 3 { Ok(()) } else { Err(bytes.len()) }
}

fn scan_atx(bytes: &[u8]) -> Option<usize> {
    let level = bytes.iter().take_while(|&&b| b == b'#').count();
    let next_ok = bytes.get(level).is_none_or(|&b| b.is_ascii_whitespace() || b == 0x0b);
    ((1..=6).contains(&level) && next_ok).then_some(level)
}

fn scan_setext(bytes: &[u8]) -> Option<u8> {
    let c = *bytes.first()?;
    let level = match c {
        b'=' => 1,
        b'-' => 2,
        _ => return None,
    };
    let n = bytes.iter().take_while(|&&b| b == c).count();
    is_blank(&bytes[n..]).then_some(level)
}

fn scan_code_fence(bytes: &[u8]) -> Option<(u8, usize)> {
    let c = *bytes.first()?;
    if c != b'`' && c != b'~' {
        return None;
    }
    let n = bytes.iter().take_while(|&&b| b == c).count();
    if n < 3 || (c == b'`' && bytes[n..].contains(&b'`')) {
        return None;
    }
    Some((c, n))
}

fn scan_closing_fence(bytes: &[u8], ch: u8, len: usize) -> bool {
    let n = bytes.iter().take_while(|&&b| b == ch).count();
    n >= len && bytes[n..].iter().all(|&b| b == b' ')
}

/// Columns of leading white space up to `max`, as pulldown-cmark's `calc_indent`.
fn calc_indent(text: &[u8], max: usize) -> (usize, usize) {
    let mut spaces = 0;
    let mut offset = 0;
    for (i, &b) in text.iter().enumerate() {
        offset = i;
        match b {
            b' ' => {
                spaces += 1;
                if spaces == max {
                    break;
                }
            }
            b'\t' => {
                let new = spaces + 4 - (spaces & 3);
                if new > max {
                    break;
                }
                spaces = new;
            }
            _ => break,
        }
    }
    (offset, spaces)
}

/// A list item start as a paragraph-interrupt test sees it: whether it may interrupt one.
fn listitem_interrupts(bytes: &[u8], current_container: bool) -> Option<bool> {
    let c = *bytes.first()?;
    let (w, bullet, start) = match c {
        b'-' | b'+' | b'*' => (1, true, 0),
        b'0'..=b'9' => {
            let digits = bytes.iter().take(9).take_while(|b| b.is_ascii_digit()).count();
            let d = *bytes.get(digits)?;
            if d != b'.' && d != b')' {
                return None;
            }
            let start: u64 = std::str::from_utf8(&bytes[..digits]).ok()?.parse().ok()?;
            (digits + 1, false, start)
        }
        _ => return None,
    };
    let (mut postn, postindent) = calc_indent(&bytes[w..], 5);
    if postindent == 0 {
        if w < bytes.len() {
            return None;
        }
    } else if postindent > 4 {
        postn = 1;
    }
    if is_blank(&bytes[w..]) {
        postn = 0;
    }
    let empty = is_blank(&bytes[w + postn..]);
    Some(!current_container || ((bullet || start == 1) && !empty))
}

/// The end marker of an HTML block of types 1 to 5 starting `<` + `after`.
fn html_end_tag(after: &[u8]) -> Option<&'static str> {
    for (tag, end) in [
        (&b"pre"[..], "</pre>"),
        (b"style", "</style>"),
        (b"script", "</script>"),
        (b"textarea", "</textarea>"),
    ] {
        if after.len() < tag.len() {
            break;
        }
        if !after[..tag.len()].eq_ignore_ascii_case(tag) {
            continue;
        }
        match after.get(tag.len()) {
            None => return Some(end),
            Some(&s) if s.is_ascii_whitespace() || s == 0x0b || s == b'>' => return Some(end),
            _ => {}
        }
    }
    for (tag, end) in [(&b"!--"[..], "-->"), (b"?", "?>"), (b"![CDATA[", "]]>")] {
        if after.starts_with(tag) {
            return Some(end);
        }
    }
    (after.len() > 1 && after[0] == b'!' && after[1].is_ascii_alphabetic()).then_some(">")
}

const HTML_TAGS: [&str; 62] = [
    "address",
    "article",
    "aside",
    "base",
    "basefont",
    "blockquote",
    "body",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "iframe",
    "legend",
    "li",
    "link",
    "main",
    "menu",
    "menuitem",
    "nav",
    "noframes",
    "ol",
    "optgroup",
    "option",
    "p",
    "param",
    "search",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
];

fn html_type_6(after: &[u8]) -> bool {
    let i = usize::from(after.first() == Some(&b'/'));
    let tail = &after[i..];
    let n = tail.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
    let name = &tail[..n];
    if !HTML_TAGS.iter().any(|t| t.as_bytes().eq_ignore_ascii_case(name)) {
        return false;
    }
    let tail = &tail[n..];
    tail.is_empty() || matches!(tail[0], b' ' | b'\t' | b'>') || tail.starts_with(b"/>")
}

/// A line that is one whole open or closing tag (HTML block type 7), without newlines inside.
fn html_type_7(line: &[u8]) -> bool {
    fn ws(d: &[u8], i: usize) -> usize {
        i + d[i..].iter().take_while(|&&b| is_ws_no_nl(b)).count()
    }
    let d = line;
    let close = usize::from(d.get(1) == Some(&b'/'));
    let mut i = 1 + close;
    let l = d[i..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if l == 0 {
        return false;
    }
    i += l;
    i += d[i..]
        .iter()
        .take_while(|&&b| b == b'-' || b.is_ascii_alphanumeric())
        .count();
    if close == 0 {
        loop {
            let old = i;
            i = ws(d, i);
            if i >= d.len() {
                return false;
            }
            if matches!(d[i], b'/' | b'>') {
                break;
            }
            if old == i {
                return false;
            }
            // Attribute name.
            let c = d[i];
            if !(c.is_ascii_alphabetic() || c == b'_' || c == b':') {
                return false;
            }
            i += 1;
            i += d[i..]
                .iter()
                .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
                .count();
            let after_name = i;
            let j = ws(d, i);
            if j >= d.len() {
                // White space then the end of the line: pulldown asks for a newline handler.
                if j > i {
                    return false;
                }
                continue;
            }
            if d[j] != b'=' {
                i = after_name;
                continue;
            }
            i = ws(d, j + 1);
            let Some(&v) = d.get(i) else { return false };
            match v {
                b'"' | b'\'' => match d[i + 1..].iter().position(|&b| b == v) {
                    Some(p) => i += p + 2,
                    None => return false,
                },
                b' ' | b'=' | b'>' | b'<' | b'`' => return false,
                _ => {
                    i += d[i..]
                        .iter()
                        .take_while(|&&b| !matches!(b, b'\'' | b'"' | b' ' | b'=' | b'>' | b'<' | b'`'))
                        .count()
                }
            }
        }
    }
    i = ws(d, i);
    if close == 0 && d.get(i) == Some(&b'/') {
        i += 1;
    }
    d.get(i) == Some(&b'>') && is_blank(&d[i + 1..])
}

/// How a paragraph starting with `rest` begins, as pulldown-cmark's `scan_refdef` judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refdef {
    /// Not with a link reference definition.
    No,
    /// With one filling the line.
    Line,
    /// With a label and colon alone: the destination may be on the next line.
    Label,
}

/// `None` for a definition this scanner does not judge: one whose label goes on past the line,
/// or whose destination or title needs angle brackets, parentheses or escapes weighed.
fn refdef_line(rest: &[u8], next_line: &[u8]) -> Option<Refdef> {
    if rest.first() != Some(&b'[') {
        return Some(Refdef::No);
    }
    let mut i = 1;
    loop {
        match rest.get(i) {
            // The label may close on the next line.
            None => {
                return match next_line.iter().find(|&&b| matches!(b, b'[' | b']' | b'\\')) {
                    Some(b'[') => Some(Refdef::No),
                    _ => None,
                };
            }
            Some(b'\\') => i += 2,
            Some(b'[') => return Some(Refdef::No),
            Some(b']') => break,
            _ => i += 1,
        }
    }
    if rest.get(i + 1) != Some(&b':') {
        return Some(Refdef::No);
    }
    if is_blank(&rest[1..i]) || i > 999 {
        return None;
    }
    i += 2;
    if is_blank(&rest[i..]) {
        return Some(Refdef::Label);
    }
    dest_and_title(&rest[i..]).map(|whole| if whole { Refdef::Line } else { Refdef::No })
}

/// Whether `rest` (after a definition's colon) is a destination and optional title filling the
/// line; `None` where this scanner does not judge it.
fn dest_and_title(rest: &[u8]) -> Option<bool> {
    let mut i = rest.iter().take_while(|&&b| is_ws_no_nl(b)).count();
    let dest = rest[i..].iter().take_while(|&&b| b > b' ' && b != 0x7f).count();
    if dest == 0
        || rest[i..i + dest]
            .iter()
            .any(|b| matches!(b, b'(' | b')' | b'\\' | b'<'))
    {
        return None;
    }
    i += dest;
    let ws = rest[i..].iter().take_while(|&&b| is_ws_no_nl(b)).count();
    i += ws;
    if i == rest.len() {
        return Some(true);
    }
    let q = rest[i];
    if ws == 0 || q == b'(' {
        return None;
    }
    if q != b'"' && q != b'\'' {
        // Not a title, on the destination's line: no definition at all.
        return Some(false);
    }
    let close = rest[i + 1..].iter().position(|&b| b == q)?;
    if rest[i + 1..i + 1 + close].contains(&b'\\') {
        return None;
    }
    Some(is_blank(&rest[i + 2 + close..]))
}

/// Whether inline parsing could make a title differ from its source text.
fn needs_inline(text: &[u8]) -> bool {
    text.iter()
        .any(|b| matches!(b, b'*' | b'_' | b'&' | b'\\' | b'[' | b']' | b'<' | b'!' | b'`' | 0))
}

/// The concatenated text of the first heading pulldown-cmark finds in `fragment`.
fn inline_title(fragment: &str) -> String {
    let mut title = String::new();
    let mut inside = false;
    for event in Parser::new_ext(fragment, Options::empty()) {
        match event {
            Event::Start(Tag::Heading { .. }) => inside = true,
            Event::End(TagEnd::Heading(_)) => break,
            Event::Text(t) | Event::Code(t) if inside => title.push_str(&t),
            _ => {}
        }
    }
    title.trim().to_owned()
}

/// An ATX heading's text, its closing sequence removed as pulldown-cmark removes it.
fn atx_text(content: &[u8]) -> &[u8] {
    let mut limit = content
        .iter()
        .rposition(|&b| !(b == b'\n' || b == b'\r' || b == b' '))
        .map_or(0, |i| i + 1);
    let closer = content[..limit].iter().rposition(|&b| b != b'#').map_or(0, |i| i + 1);
    if closer == 0 {
        limit = 0;
    } else {
        let spaces = content[..closer].iter().rev().take_while(|&&b| b == b' ').count();
        if spaces > 0 {
            limit = closer - spaces;
        }
    }
    &content[..limit]
}

impl Scanner<'_> {
    /// Matches the open containers against a line: how many continue.
    fn scan_containers(&self, cur: &mut Cursor<'_>) -> usize {
        for (i, c) in self.containers.iter().enumerate() {
            let save = cur.clone();
            let ok = match c {
                Container::Quote => {
                    let _ = cur.scan_space(3);
                    cur.scan_blockquote_marker()
                }
                Container::Item(indent) => cur.scan_space(*indent) || cur.at_eol(),
            };
            if !ok {
                *cur = save;
                return i;
            }
        }
        self.containers.len()
    }

    fn heading(&mut self, level: u8, title: String, first: usize, last: usize) {
        // Lines after `last` are not numbered yet: the body starts past its line break.
        let s = self.line_starts[last];
        let body_start = self.doc[s..].find('\n').map_or(self.doc.len(), |i| s + i + 1);
        self.headings.push(Heading {
            level,
            title,
            line: first + 1,
            start: self.line_starts[first],
            body_start,
        });
    }

    /// Whether only white space follows byte `at`: where a fence in a container ends there,
    /// pulldown's unclosed-fence test may fire on it.
    fn rest_blank(&self, at: usize) -> bool {
        self.doc[at..].trim().is_empty()
    }

    fn line(&mut self, start: usize, end: usize) -> Option<()> {
        let line_no = self.line_starts.len() - 1;
        let bytes = &self.doc.as_bytes()[start..end];
        let mut cur = Cursor::new(bytes);
        match &mut self.leaf {
            Leaf::None => {}
            Leaf::Fence {
                ch, len, indent, depth, ..
            } => {
                let (ch, len, indent, depth) = (*ch, *len, *indent, *depth);
                if self.scan_containers(&mut cur) < self.containers.len() {
                    if depth > 0 && self.rest_blank(start) {
                        return None;
                    }
                    self.leaf = Leaf::None;
                } else {
                    cur.scan_space(indent);
                    let mut close = cur.clone();
                    if !close.scan_space(4 - indent) && scan_closing_fence(close.rest(), ch, len) {
                        if depth > 0 && self.rest_blank(end) {
                            return None;
                        }
                        self.leaf = Leaf::None;
                    }
                    return Some(());
                }
            }
            Leaf::Indented => {
                if self.scan_containers(&mut cur) == self.containers.len() && (cur.scan_space(4) || cur.at_eol()) {
                    return Some(());
                }
                self.leaf = Leaf::None;
            }
            Leaf::Html(end_tag) => {
                let end_tag = *end_tag;
                if self.scan_containers(&mut cur) == self.containers.len()
                    && !(end_tag.is_none() && is_blank(cur.rest()))
                {
                    if let Some(tag) = end_tag
                        && self.doc[start + cur.ix..end].contains(tag)
                    {
                        self.leaf = Leaf::None;
                    }
                    return Some(());
                }
                self.leaf = Leaf::None;
            }
            Leaf::RefdefDest(at) => {
                let at = *at;
                self.refdefs.push(format!(
                    "{}\n{}",
                    self.doc[at..self.line_starts[line_no] - 1].trim_end(),
                    &self.doc[start..end]
                ));
                return self.after_refdef(end);
            }
            Leaf::AfterRefdef => {
                let current = self.scan_containers(&mut cur) == self.containers.len();
                let mut c2 = cur.clone();
                if (!c2.scan_space(4) && self.interrupts(c2.rest(), current)) || is_blank(cur.rest()) {
                    self.leaf = Leaf::None;
                    return self.block(start, end, line_no);
                }
                c2.scan_all_space();
                match refdef_line(c2.rest(), self.next_line(end))? {
                    Refdef::No => {}
                    kind => return self.refdef(kind, start + c2.ix, end),
                }
                self.parts.clear();
                self.parts.push((start + c2.ix, end));
                self.later_in_item = true;
                self.leaf = Leaf::Paragraph {
                    line: line_no,
                    fragile: true,
                };
                return Some(());
            }
            Leaf::Paragraph { .. } => {
                let matched = self.scan_containers(&mut cur);
                let current = matched == self.containers.len();
                let after_containers = cur.ix;
                if !cur.scan_space(4) {
                    let rest = cur.rest();
                    if current && let Some(level) = scan_setext(rest) {
                        let Leaf::Paragraph { line, fragile } = std::mem::replace(&mut self.leaf, Leaf::None) else {
                            unreachable!()
                        };
                        let mut parts = std::mem::take(&mut self.parts);
                        let title = if parts.len() == 1 && !needs_inline(&self.doc.as_bytes()[parts[0].0..parts[0].1]) {
                            self.doc[parts[0].0..parts[0].1].trim().to_owned()
                        } else if fragile {
                            return None;
                        } else {
                            parts.push((0, 0));
                            let mut fragment = String::new();
                            for (i, &(s, e)) in parts.iter().enumerate() {
                                if i > 0 {
                                    fragment.push('\n');
                                }
                                fragment.push_str(&self.doc[s..e]);
                            }
                            fragment.push(if level == 1 { '=' } else { '-' });
                            self.inline_title(&fragment)
                        };
                        // Its buffer serves the next paragraph.
                        self.parts = parts;
                        self.heading(level, title, line, line_no);
                        return Some(());
                    }
                    if self.interrupts(rest, current) {
                        self.end_paragraph();
                        self.leaf = Leaf::None;
                        return self.block(start, end, line_no);
                    }
                }
                cur.scan_all_space();
                if cur.at_eol() {
                    self.end_paragraph();
                    self.leaf = Leaf::None;
                    return self.block(start, end, line_no);
                }
                // A lazy continuation line: the containers stay open.
                if let Leaf::Paragraph { fragile, .. } = &mut self.leaf {
                    self.parts.push((start + after_containers, end));
                    *fragile |= !current;
                }
                return Some(());
            }
        }
        self.block(start, end, line_no)
    }

    /// The title of the heading about to be added, from its source.
    fn inline_title(&mut self, fragment: &str) -> String {
        if fragment.contains(['[', ']']) {
            self.bracket_titles.push((self.headings.len(), fragment.to_owned()));
        }
        inline_title(fragment)
    }

    /// Notes the open paragraph, which ends here, if it may open with a bold label.
    fn end_paragraph(&mut self) {
        let Leaf::Paragraph { fragile, .. } = self.leaf else {
            return;
        };
        let Some(&(s, e)) = self.parts.first() else { return };
        let first = self.doc[s..e].trim_start();
        if !(first.starts_with("**") || first.starts_with("__")) {
            return;
        }
        if fragile || self.later_in_item {
            match &mut self.region {
                Some(region) => region.whole = true,
                None => self.labels_unsure = true,
            }
            return;
        }
        let labels = &mut self.label_paragraphs;
        labels.lines.extend_from_slice(&self.parts);
        labels.ends.push(labels.lines.len());
    }

    /// Opens a region at a line that opened a top-level container, and closes the one under way
    /// at a line that is outside every container and not blank (a blank line may still continue
    /// a list).
    fn track_region(&mut self, start: usize, end: usize) {
        let inside = !self.containers.is_empty();
        match &self.region {
            None if inside => {
                self.region = Some(Region {
                    start,
                    lines: self.label_paragraphs.lines.len(),
                    ends: self.label_paragraphs.ends.len(),
                    whole: false,
                })
            }
            Some(_) if !inside && !is_blank(&self.doc.as_bytes()[start..end]) => self.close_region(start),
            _ => {}
        }
    }

    /// Ends the region under way before byte `end`: read whole if one of its paragraphs needs it,
    /// in place of the paragraphs noted in it.
    fn close_region(&mut self, end: usize) {
        let Some(region) = self.region.take() else { return };
        if region.whole {
            let labels = &mut self.label_paragraphs;
            labels.lines.truncate(region.lines);
            labels.ends.truncate(region.ends);
            labels.lines.push((region.start, end));
            labels.ends.push(labels.lines.len());
        }
    }

    /// The line after the one ending at `end`.
    fn next_line(&self, end: usize) -> &[u8] {
        let rest = self.doc[end..].trim_start_matches('\r');
        let rest = rest.strip_prefix('\n').unwrap_or("");
        let line = memchr::memchr(b'\n', rest.as_bytes()).map_or(rest, |i| &rest[..i]);
        line.strip_suffix('\r').unwrap_or(line).as_bytes()
    }

    /// A link reference definition starting at `at` in the line ending at `end`.
    fn refdef(&mut self, kind: Refdef, at: usize, end: usize) -> Option<()> {
        if kind == Refdef::Label {
            // Its destination on the next line, at top level only.
            let next = self.next_line(end);
            let first = next.iter().find(|&&b| !is_ws_no_nl(b));
            // A line that could open a block of its own is left to the full parse.
            let plain = first.is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'.'));
            if !self.containers.is_empty() || !plain || !dest_and_title(next)? {
                return None;
            }
            self.leaf = Leaf::RefdefDest(at);
            return Some(());
        }
        self.refdefs.push(self.doc[at..end].to_owned());
        self.after_refdef(end)
    }

    fn after_refdef(&mut self, end: usize) -> Option<()> {
        // A title may follow on the next line.
        let next = self.doc[end..].trim_start_matches(['\r', '\n']);
        let next = next.trim_start_matches([' ', '\t', '>']);
        if next.starts_with(['"', '\'', '(']) {
            return None;
        }
        self.leaf = Leaf::AfterRefdef;
        Some(())
    }

    fn interrupts(&self, rest: &[u8], current: bool) -> bool {
        rest.is_empty()
            || scan_hrule(rest).is_ok()
            || scan_atx(rest).is_some()
            || scan_code_fence(rest).is_some()
            || rest.first() == Some(&b'>')
            || listitem_interrupts(rest, current) == Some(true)
            || (rest.first() == Some(&b'<') && (html_end_tag(&rest[1..]).is_some() || html_type_6(&rest[1..])))
    }

    /// A line that continues no open leaf block: new containers, then a new leaf.
    fn block(&mut self, start: usize, end: usize, line_no: usize) -> Option<()> {
        let bytes = &self.doc.as_bytes()[start..end];
        let mut cur = Cursor::new(bytes);
        let matched = self.scan_containers(&mut cur);
        self.containers.truncate(matched);
        let held = self.containers.len();
        loop {
            let save = cur.clone();
            let outer = cur.scan_space_upto(4);
            if outer >= 4 {
                cur = save;
                break;
            }
            if let Some((indent, empty)) = cur.scan_list_marker(outer) {
                if empty {
                    // An item that opens with a blank line ends at the next blank line.
                    return None;
                }
                self.containers.push(Container::Item(indent));
            } else if cur.scan_blockquote_marker() {
                self.containers.push(Container::Quote);
            } else {
                cur = save;
                break;
            }
        }
        if is_blank(cur.rest()) {
            return Some(());
        }
        let indent = cur.scan_space_upto(4);
        if indent == 4 {
            self.leaf = Leaf::Indented;
            return Some(());
        }
        let rest = cur.rest();
        let at = start + cur.ix;
        if rest[0] == b'<' {
            if let Some(tag) = html_end_tag(&rest[1..]) {
                if !self.doc[at..end].contains(tag) {
                    self.leaf = Leaf::Html(Some(tag));
                }
                return Some(());
            }
            if html_type_6(&rest[1..]) || html_type_7(rest) {
                self.leaf = Leaf::Html(None);
                return Some(());
            }
        }
        if scan_hrule(rest).is_ok() {
            return Some(());
        }
        if let Some(level) = scan_atx(rest) {
            let content = &rest[level..];
            let skip = content.iter().take_while(|&&b| is_ws_no_nl(b)).count();
            let text = atx_text(&content[skip..]);
            let title = if needs_inline(text) {
                self.inline_title(&self.doc[at..end])
            } else {
                // Plain text: the title is its source.
                std::str::from_utf8(text).ok()?.trim().to_owned()
            };
            self.heading(level as u8, title, line_no, line_no);
            return Some(());
        }
        if let Some((ch, len)) = scan_code_fence(rest) {
            self.leaf = Leaf::Fence {
                ch,
                len,
                indent,
                start: at,
                line: line_no,
                depth: self.containers.len(),
            };
            return Some(());
        }
        match refdef_line(rest, self.next_line(end))? {
            Refdef::No => {}
            kind => return self.refdef(kind, at, end),
        }
        self.parts.clear();
        self.parts.push((at, end));
        // Not the first block of its list item: whether it counts as opening a paragraph depends
        // on the list being loose, known only at its end.
        self.later_in_item =
            self.containers.len() == held && matches!(self.containers.last(), Some(Container::Item(_)));
        self.leaf = Leaf::Paragraph {
            line: line_no,
            fragile: false,
        };
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::readme::pulldown_headings;
    use super::*;

    /// The scanner is sure of `md` and agrees with pulldown-cmark.
    fn sure(md: &str) -> Vec<(u8, String, usize)> {
        let got = scan(md).unwrap_or_else(|| panic!("unsure of {md:?}"));
        assert_eq!(got, pulldown_headings(md), "{md:?}");
        got.0.iter().map(|h| (h.level, h.title.clone(), h.line)).collect()
    }

    fn unsure(md: &str) {
        assert!(scan(md).is_none(), "sure of {md:?}");
    }

    fn h(level: u8, title: &str, line: usize) -> (u8, String, usize) {
        (level, title.to_owned(), line)
    }

    #[test]
    fn atx_headings_and_closing_sequences() {
        assert_eq!(
            sure("# A\n## B ##\n###### C #\\#\n####### D\n#E\n"),
            vec![h(1, "A", 1), h(2, "B", 2), h(6, "C ##", 3)]
        );
        assert_eq!(
            sure("#\n## ###\n#\tx\n   # y\n"),
            vec![h(1, "", 1), h(2, "", 2), h(1, "x", 3), h(1, "y", 4)]
        );
        assert_eq!(
            sure("## foo # #\n## foo\t#\n"),
            vec![h(2, "foo #", 1), h(2, "foo\t#", 2)]
        );
        assert_eq!(sure("## A\r\nb\r\n## B"), vec![h(2, "A", 1), h(2, "B", 3)]);
    }

    #[test]
    fn setext_headings_need_a_paragraph() {
        assert_eq!(sure("A\n===\n\nB\nb\n---\n"), vec![h(1, "A", 1), h(2, "Bb", 4)]);
        assert_eq!(sure("\n---\n\n===\n"), vec![]);
        assert_eq!(sure("- A\n---\n"), vec![]);
        assert_eq!(sure("- A\n  ---\n"), vec![h(2, "A", 1)]);
        assert_eq!(sure("> A\nb\n===\n"), vec![]);
    }

    #[test]
    fn fences_hide_headings_and_close_by_their_own_rules() {
        assert_eq!(sure("```go\n# no\n```\n# yes\n"), vec![h(1, "yes", 4)]);
        assert_eq!(sure("~~~\n# no\n```\n~~~~\n# yes\n"), vec![h(1, "yes", 5)]);
        assert_eq!(sure("````\n```\n# no\n"), vec![]);
        assert_eq!(scan("# a\n````\n```\n# no\n").unwrap().1, Some(2));
        assert_eq!(sure("```\n# no\n    ```\n"), vec![]);
        assert_eq!(sure("``` a`b\n# yes\n"), vec![h(1, "yes", 2)]);
        assert_eq!(sure("- a\n  ```\n  # no\n# yes\n"), vec![h(1, "yes", 4)]);
    }

    #[test]
    fn indented_code_unless_it_continues_a_paragraph_or_item() {
        assert_eq!(sure("\n    # no\n"), vec![]);
        assert_eq!(sure("a\n    # no\n"), vec![]);
        assert_eq!(sure("- a\n\n    # yes\n"), vec![h(1, "yes", 3)]);
        assert_eq!(sure("- a\n\n      # no\n"), vec![]);
        assert_eq!(sure("1. a\n\n   ## yes\n"), vec![h(2, "yes", 3)]);
        assert_eq!(sure("- ## yes\n> # quoted\n"), vec![h(2, "yes", 1), h(1, "quoted", 2)]);
    }

    #[test]
    fn html_blocks() {
        assert_eq!(sure("<!--\n# no\n-->\n# yes\n"), vec![h(1, "yes", 4)]);
        assert_eq!(sure("<!-- x -->\n# yes\n"), vec![h(1, "yes", 2)]);
        assert_eq!(sure("<details>\n# no\n\n# yes\n"), vec![h(1, "yes", 4)]);
        assert_eq!(sure("<img src=\"x\">\n# no\n\n# yes\n"), vec![h(1, "yes", 4)]);
        assert_eq!(sure("a\n<img src=\"x\">\n# yes\n"), vec![h(1, "yes", 3)]);
        assert_eq!(sure("<a name=\"x\"></a>\n# yes\n"), vec![h(1, "yes", 2)]);
    }

    #[test]
    fn link_reference_definitions() {
        assert_eq!(sure("[a]: /url\n# x\n"), vec![h(1, "x", 2)]);
        assert_eq!(
            sure("[a]: /url \"t\"\n===\n\n[b]: /u\n    c\n---\n"),
            vec![h(2, "c", 5)]
        );
        assert_eq!(sure("[a] b\n===\n"), vec![h(1, "[a] b", 1)]);
        assert_eq!(
            sure("## [a] [b]\n\n[a]: /url\n[b]:\n  /u\n[c]: /v 'x' y\n# z\n"),
            vec![h(2, "a b", 1), h(1, "z", 7)]
        );
        assert_eq!(sure("[a]:\n/url\n# x\n"), vec![h(1, "x", 3)]);
        assert_eq!(sure("[^1]: The x\n===\n"), vec![h(1, "[^1]: The x", 1)]);
    }

    #[test]
    fn titles_with_inline_markup() {
        assert_eq!(
            sure("## `kubectl` *x* [y](z) &amp; <b>b</b>\nT\\*\n---\n"),
            vec![h(2, "kubectl x y & b", 1), h(2, "T*", 2)]
        );
    }

    #[test]
    fn unsure_cases() {
        unsure("- [a]:\n  /url\n# x\n");
        unsure("[a]: /url\n'title'\n# x\n");
        unsure("[a\nb]: /url\n# x\n");
        unsure("-\n  # x\n");
        unsure("a\rb\n");
        unsure("> ```\n> # x\n");
        unsure("> ```\n> x\n> ```\n");
        unsure("[foo\n");
    }
}
