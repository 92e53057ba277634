//! The plain block-style YAML that KEP metadata is written in, read without a general parser.
//!
//! `kep.yaml` files are mappings of scalars, short lists and a nested mapping or two. A general
//! YAML parser spends most of a run's YAML time on what such files never use. This reader takes
//! block mappings and sequences, plain and quoted one-line scalars, one-line flow lists of
//! scalars, `[]`, `{}` and comments, and gives the same [`Value`] as `serde_yaml`. Whatever else
//! it meets (block scalars, anchors, tags, escapes, continued lines, tabs, several documents,
//! duplicate keys, odd indentation) it leaves to `serde_yaml`, by returning `None`: errors and
//! their messages always come from there. A test holds it to `serde_yaml` on every YAML blob of
//! the real KEP history.

use serde_yaml::{Mapping, Value};

/// The top-level mapping of `source`, or `None` when `source` is not in the subset read here.
pub fn mapping(source: &str) -> Option<Mapping> {
    // Characters that YAML treats as line breaks or byte-order marks, or forbids outright.
    let odd_byte = |b: &u8| (*b < 0x20 && *b != b'\n') || *b == 0x7f;
    if source.as_bytes().iter().any(odd_byte)
        || !source.is_ascii()
            && source.chars().any(|c| {
                (c.is_control() && c != '\n')
                    || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
            })
    {
        return None;
    }
    let mut lines = Vec::new();
    for line in source.split('\n') {
        let content = line.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        // Document markers and directives start a column-0 line.
        if indent == 0 && (content.starts_with("---") || content.starts_with("...") || content.starts_with('%')) {
            return None;
        }
        lines.push(Line { indent, content });
    }
    if lines.first()?.indent != 0 {
        return None;
    }
    let mut reader = Reader { lines, at: 0, depth: 0 };
    let map = reader.mapping(0)?;
    (reader.at == reader.lines.len()).then_some(map)
}

#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    content: &'a str,
}

struct Reader<'a> {
    lines: Vec<Line<'a>>,
    at: usize,
    /// Blocks open: deeper documents go to serde_yaml, whose recursion limit reports them.
    depth: usize,
}

/// Far deeper than any KEP file, far below what overflows a worker's stack.
const MAX_DEPTH: usize = 64;

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.at).copied()
    }

    /// The block that starts at the next line, which is indented by `indent`.
    fn block(&mut self, indent: usize) -> Option<Value> {
        if self.depth == MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let block = if is_item(self.peek()?.content) {
            self.sequence(indent).map(Value::Sequence)
        } else {
            self.mapping(indent).map(Value::Mapping)
        };
        self.depth -= 1;
        block
    }

    fn mapping(&mut self, indent: usize) -> Option<Mapping> {
        let mut map = Mapping::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_item(line.content) {
                return None;
            }
            let (key, rest) = split_key(line.content)?;
            self.at += 1;
            let value = match inline(rest)? {
                Some(value) => {
                    // A more indented line after an inline value continues it (or is an error).
                    if self.peek().is_some_and(|next| next.indent > indent) {
                        return None;
                    }
                    value
                }
                None => self.nested(indent, true)?,
            };
            if map.insert(Value::String(key.to_owned()), value).is_some() {
                return None;
            }
        }
        Some(map)
    }

    fn sequence(&mut self, indent: usize) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent || (line.indent == indent && !is_item(line.content)) {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let rest = &line.content[1..];
            let content = rest.trim_start_matches(' ');
            if content.is_empty() || content.starts_with('#') {
                self.at += 1;
                items.push(self.nested(indent, false)?);
                continue;
            }
            // The item's content read as a line of its own, at its column: `- a: 1` opens a
            // mapping there, `- - a` a sequence.
            let column = indent + 1 + (rest.len() - content.len());
            if is_item(content) || split_key(content).is_some() {
                self.lines[self.at] = Line {
                    indent: column,
                    content,
                };
                items.push(self.block(column)?);
            } else {
                self.at += 1;
                let value = inline(content)??;
                if self.peek().is_some_and(|next| next.indent > indent) {
                    return None;
                }
                items.push(value);
            }
        }
        Some(items)
    }

    /// The value of a key (or item) with nothing after it on its line: the block below it, a
    /// sequence at the key's own indentation, or null.
    fn nested(&mut self, indent: usize, sequence_at_same_indent: bool) -> Option<Value> {
        match self.peek() {
            Some(next) if next.indent > indent => self.block(next.indent),
            Some(next) if sequence_at_same_indent && next.indent == indent && is_item(next.content) => {
                self.sequence(indent).map(Value::Sequence)
            }
            _ => Some(Value::Null),
        }
    }
}

fn is_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// `key: rest` split at its colon, for a plain key of letters, digits, `_`, `-`, `.`, `/` and
/// inner spaces that resolves to a string.
fn split_key(content: &str) -> Option<(&str, &str)> {
    let colon = content.find(':')?;
    let (key, rest) = (&content[..colon], &content[colon + 1..]);
    let first = key.chars().next()?;
    let simple = first.is_ascii_alphabetic()
        && !key.ends_with(' ')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' '))
        && !key.contains(" #");
    if !simple || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    word(key).is_none().then_some((key, rest))
}

/// The value written after a key's colon (or an item's dash): `Some(None)` when there is none,
/// so that it comes from the lines below; `None` when it is outside the subset.
fn inline(rest: &str) -> Option<Option<Value>> {
    let text = rest.trim_start_matches(' ');
    if text.is_empty() || text.starts_with('#') {
        return Some(None);
    }
    let (value, after) = match text.as_bytes()[0] {
        b'"' => {
            let end = text[1..].find('"')? + 1;
            let inner = &text[1..end];
            if inner.contains('\\') {
                return None;
            }
            (Value::String(inner.to_owned()), &text[end + 1..])
        }
        b'\'' => {
            let (inner, after) = single_quoted(&text[1..])?;
            (Value::String(inner), after)
        }
        b'[' => {
            let end = text.find(']')?;
            (Value::Sequence(flow_items(&text[1..end])?), &text[end + 1..])
        }
        b'{' => {
            let inner = text[1..].strip_prefix('}')?;
            (Value::Mapping(Mapping::new()), inner)
        }
        _ => {
            let value = match text.find(" #") {
                Some(hash) => &text[..hash],
                None => text,
            };
            return Some(Some(plain(value.trim_end_matches(' '))?));
        }
    };
    let trimmed = after.trim_start_matches(' ');
    // A comment needs a space before its `#`.
    (trimmed.is_empty() || trimmed.starts_with('#') && trimmed.len() < after.len()).then_some(Some(value))
}

/// A single-quoted scalar's text (`''` is a quote) and what follows its closing quote.
fn single_quoted(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let quote = rest.find('\'')?;
        out.push_str(&rest[..quote]);
        rest = &rest[quote + 1..];
        match rest.strip_prefix('\'') {
            Some(more) => {
                out.push('\'');
                rest = more;
            }
            None => return Some((out, rest)),
        }
    }
}

/// The items of a one-line flow list of plain or quoted scalars.
fn flow_items(inner: &str) -> Option<Vec<Value>> {
    if inner.trim_matches(' ').is_empty() {
        return Some(Vec::new());
    }
    if inner.contains(['[', '{', '#', '\\']) {
        return None;
    }
    inner
        .split(',')
        .map(|item| {
            let item = item.trim_matches(' ');
            if let Some(quoted) = item.strip_prefix('"') {
                let inner = quoted.strip_suffix('"')?;
                (!inner.contains('"')).then(|| Value::String(inner.to_owned()))
            } else if let Some(quoted) = item.strip_prefix('\'') {
                let (inner, after) = single_quoted(quoted)?;
                after.is_empty().then_some(Value::String(inner))
            } else if item.contains(['\'', '"', ':']) {
                None
            } else {
                plain(item)
            }
        })
        .collect()
}

/// The null or boolean a plain word stands for, as `serde_yaml` reads it.
fn word(text: &str) -> Option<Value> {
    match text {
        "null" | "Null" | "NULL" => Some(Value::Null),
        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
        _ => None,
    }
}

/// A plain scalar, resolved as `serde_yaml` resolves it: null, a boolean, a number or a string.
fn plain(text: &str) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    if text.contains(": ") || text.ends_with(':') || text.contains(" #") {
        return None;
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_alphabetic() {
        // Of words, Rust's float parser takes only `inf`, `infinity` and `nan`, which serde_yaml,
        // keeping finite numbers only, reads as strings too.
        return Some(word(text).unwrap_or_else(|| Value::String(text.to_owned())));
    }
    if first.is_ascii_digit() {
        let bytes = text.as_bytes();
        // A decimal integer: serde_yaml's u64, unless a leading zero makes it a string.
        if bytes.iter().all(u8::is_ascii_digit)
            && (first != b'0' || bytes.len() == 1)
            && let Ok(n) = text.parse::<u64>()
        {
            return Some(Value::Number(n.into()));
        }
        // Digits and dashes, a date mostly: neither an integer nor a float to serde_yaml.
        if bytes.iter().all(|b| b.is_ascii_digit() || *b == b'-') && bytes.contains(&b'-') {
            return Some(Value::String(text.to_owned()));
        }
    }
    // Numbers, `~` and anything else unusual: serde_yaml resolves the scalar alone, which it does
    // as in context for a one-line plain scalar that holds no indicator.
    if matches!(
        first,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    ) && !(first == b'-' && text.len() > 1 && !text.as_bytes()[1].is_ascii_whitespace())
    {
        return None;
    }
    match serde_yaml::from_str::<Value>(text).ok()? {
        v @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_)) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(source: &str) -> (Option<Mapping>, Option<Value>) {
        let general = serde_yaml::from_str::<Value>(source).ok();
        (mapping(source), general)
    }

    #[test]
    fn reads_what_kep_yaml_files_are_made_of() {
        let source = "\
title: KEP Template # a comment
summary: “curly” quotes, and é
kep-number: 1287
authors:
  - \"@jane.doe\"
  - '@o''brien'
owning-sig: sig-xyz
participating-sigs: [sig-aaa, \"sig-bbb\", 'sig-ccc']
see-also: []
replaces:
status: provisional
creation-date: yyyy-mm-dd
last-updated: 2019-01-25
stage: alpha
latest-milestone: \"v1.19\"
milestone:
  alpha: \"v1.19\"
  beta: 1.30

# comment between keys
feature-gates:
  - name: MyFeature
    components:
    - kube-apiserver
    - kube-controller-manager
  - name: Other
disable-supported: true
metrics:
- my_feature_metric
empty: {}
nothing: ~
";
        let (fast, general) = both(source);
        assert_eq!(fast.map(Value::Mapping), general);
        assert!(mapping(source).is_some());
    }

    #[test]
    fn leaves_everything_else_to_serde_yaml() {
        for source in [
            "a: |\n  text\n",
            "a: >\n  text\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: \"esc\\n\"\n",
            "a: first\n  continued\n",
            "a: 1\na: 2\n",
            "a:\n\tb: 1\n",
            "---\na: 1\n",
            "a: 1\n---\nb: 2\n",
            "  a: 1\n",
            "a:\n    b: 1\n  c: 2\n",
            "a: [x, [y]]\n",
            "a: {b: 1}\n",
            "a: b: c\n",
            "a: @x\n",
            "? a\n: 1\n",
            "<<: {a: 1}\n",
            "true: 1\n",
            "a: 'open\n",
            "a: \"x\" y\n",
            "- a\n",
            "a\n",
            "",
            "# only a comment\n",
            "a: x\r\n",
        ] {
            assert_eq!(mapping(source), None, "{source:?}");
        }
    }

    #[test]
    fn deep_nesting_goes_to_serde_yaml_without_recursing_far() {
        let deep_block = format!("see-also:\n{}x\n", "- ".repeat(100_000));
        let deep_map: String = (0..1_000).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert_eq!(mapping(&deep_block), None);
        assert_eq!(mapping(&deep_map), None);
        let shallow = format!("see-also:\n{}x\n", "- ".repeat(10));
        assert!(mapping(&shallow).is_some());
    }

    #[test]
    fn scalars_resolve_as_serde_yaml_resolves_them() {
        for scalar in [
            "1",
            "0",
            "01287",
            "0x10",
            "0o7",
            "1.30",
            "1e3",
            "-1",
            "+1",
            ".5",
            ".inf",
            "~",
            "null",
            "NULL",
            "True",
            "yes",
            "no",
            "on",
            "y",
            "nan",
            "inf",
            "2019-01-25",
            "2019-1-5",
            "1-",
            "007",
            "18446744073709551615",
            "18446744073709551616",
            "v1.19",
            "@x",
            "-",
            "- x",
            "-x",
            "/path",
            "(a)",
            "a,b",
            "a#b",
            "a #b",
            "x:y",
            "1_000",
            "12:30",
            "$x",
            "%x",
            "=",
        ] {
            for source in [
                format!("k: {scalar}\n"),
                format!("k: [{scalar}]\n"),
                format!("k:\n- {scalar}\n"),
            ] {
                if let Some(fast) = mapping(&source) {
                    let general = serde_yaml::from_str::<Value>(&source).expect(&source);
                    assert_eq!(Value::Mapping(fast), general, "{source:?}");
                }
            }
        }
    }

    /// Documents built from the pieces KEP files use, and the ones that trip parsers: wherever the
    /// reader takes one, serde_yaml must give the same mapping.
    mod generated {
        use super::*;
        use proptest::prelude::*;

        const TOKENS: &[&str] = &[
            "a",
            "sig-x",
            "v1.19",
            "\"v1.19\"",
            "'it''s'",
            "1.30",
            "1287",
            "01287",
            "0x1F",
            "-1",
            "~",
            "null",
            "True",
            "no",
            "2019-01-25",
            "[]",
            "{}",
            "[a, 'b', \"c\"]",
            "[1, x]",
            "a # c",
            "a#b",
            "x:y",
            "@me",
            "\"@me\"",
            "- x",
            "|",
            "&a x",
            "*a",
            "!t x",
            "\"a\\nb\"",
            "'open",
            "a: b",
            "[a",
            "{a: 1}",
            "\"q\" x",
            "",
            "\"x\"#c",
            "\"x\" # c",
            ".5",
            "+3",
            "-",
            "é",
            "a  b",
            "\"\"",
            "''",
            "[ ]",
            "a\t b",
        ];
        const KEYS: &[&str] = &[
            "title",
            "kep-number",
            "stage",
            "milestone",
            "a b",
            "true",
            "x.y",
            "name",
        ];

        #[derive(Debug, Clone)]
        enum Node {
            Scalar(usize),
            Map(Vec<(usize, Node)>),
            Seq(Vec<Node>, bool),
        }

        fn node() -> impl Strategy<Value = Node> {
            let leaf = (0..TOKENS.len()).prop_map(Node::Scalar);
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec((0..KEYS.len(), inner.clone()), 1..4).prop_map(Node::Map),
                    (proptest::collection::vec(inner, 1..4), any::<bool>())
                        .prop_map(|(items, same)| Node::Seq(items, same)),
                ]
            })
        }

        /// Lines for `node` as the value of `key` (or as an item, without a key) at `indent`.
        fn render(out: &mut Vec<String>, indent: usize, key: Option<&str>, node: &Node) {
            let pad = " ".repeat(indent);
            let head = match key {
                Some(k) => format!("{pad}{k}:"),
                None => format!("{pad}-"),
            };
            match node {
                Node::Scalar(t) => out.push(format!("{head} {}", TOKENS[*t])),
                Node::Map(entries) => {
                    out.push(head);
                    for (k, v) in entries {
                        render(out, indent + 2, Some(KEYS[*k]), v);
                    }
                }
                Node::Seq(items, same) => {
                    out.push(head);
                    let at = if *same && key.is_some() { indent } else { indent + 2 };
                    for item in items {
                        render(out, at, None, item);
                    }
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(5000))]
            #[test]
            fn taken_documents_read_as_serde_yaml_reads_them(
                entries in proptest::collection::vec((0..KEYS.len(), node()), 1..5),
                comment in (0usize..12, 0..TOKENS.len()),
                shift in (0usize..12, 0usize..3),
            ) {
                let mut lines = Vec::new();
                for (k, v) in &entries {
                    render(&mut lines, 0, Some(KEYS[*k]), v);
                }
                // Now and then a comment line, or a line indented one space off.
                if comment.0 < lines.len() {
                    lines.insert(comment.0, format!("  # {}", TOKENS[comment.1]));
                }
                if shift.0 < lines.len() && shift.1 > 0 {
                    lines[shift.0] = format!("{}{}", " ".repeat(shift.1), lines[shift.0]);
                }
                let source = lines.join("\n") + "\n";
                if let Some(fast) = mapping(&source) {
                    let general = serde_yaml::from_str::<Value>(&source);
                    prop_assert_eq!(Some(Value::Mapping(fast)), general.ok(), "{:?}", source);
                }
            }
        }
    }
}
