//! KEP metadata: `kep.yaml`, or the YAML front matter of a legacy single-file KEP.
//!
//! Values are compared the way the rules need them: as scalars rendered to trimmed strings, so
//! `"v1.19"` equals `v1.19`, and an absent key equals an explicit `null`.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

/// A parsed metadata document, with the source kept for pointing at lines.
#[derive(Debug, Clone)]
pub struct Metadata {
    map: Mapping,
    source: String,
    /// Lines before the YAML in its file (front matter starts after a `---` line).
    line_offset: usize,
    /// Built on first use: a document may hold thousands of keys that each need a line.
    index: OnceCell<LineIndex>,
    /// kepval's own decoding, with and without its line reader's artefacts: two rules ask for it.
    kepval: [OnceCell<Rc<KepvalDecoding>>; 2],
}

/// What kepval makes of a metadata document.
pub type KepvalDecoding = Result<super::kepval::Proposal, super::kepval::Rejection>;

/// Where the lines and keys of a metadata document are.
#[derive(Debug, Clone, Default)]
struct LineIndex {
    /// Byte range of each 0-based line in the source, as `str::lines` splits it.
    lines: Vec<(usize, usize)>,
    /// 0-based line of each top-level key's first occurrence, and of the first occurrence of
    /// each key nested anywhere in that occurrence's block.
    keys: HashMap<String, (usize, HashMap<String, usize>)>,
}

impl LineIndex {
    fn build(source: &str) -> LineIndex {
        let base = source.as_ptr() as usize;
        let lines: Vec<(usize, usize)> = source
            .lines()
            .map(|l| {
                let start = l.as_ptr() as usize - base;
                (start, start + l.len())
            })
            .collect();
        let mut keys: HashMap<String, (usize, HashMap<String, usize>)> = HashMap::new();
        // The top-level key whose first occurrence's block this line is in.
        let mut open: Option<String> = None;
        for (i, &(start, end)) in lines.iter().enumerate() {
            let line = &source[start..end];
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let indent = line.len() - t.len();
            if indent == 0 {
                open = key_of(line, 0).filter(|k| !keys.contains_key(*k)).map(str::to_owned);
                if let Some(k) = &open {
                    keys.insert(k.clone(), (i, HashMap::new()));
                }
            } else if let Some(top) = &open
                && let Some(sub) = key_of(line, indent)
                && let Some((_, subs)) = keys.get_mut(top)
            {
                subs.entry(sub.to_owned()).or_insert(i);
            }
        }
        LineIndex { lines, keys }
    }
}

/// Why a metadata document could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    pub message: String,
    /// 1-based line in the file, where the parser knows it.
    pub line: Option<usize>,
    /// The text of that line.
    pub snippet: Option<String>,
}

/// `source` as serde_yaml reads it for [`Metadata::parse`] where the plain-YAML reader does not:
/// as kepval's decoder, the first document only, merge keys merged.
pub fn first_document(source: &str) -> Result<Value, serde_yaml::Error> {
    let mut value = match serde_yaml::Deserializer::from_str(source).next() {
        Some(doc) => Value::deserialize(doc)?,
        None => Value::Null,
    };
    value.apply_merge()?;
    Ok(value)
}

impl Metadata {
    /// Parses `source`, whose first line is line `line_offset + 1` of its file.
    pub fn parse(source: &str, line_offset: usize) -> Result<Metadata, MetadataError> {
        if let Some(map) = super::simple_yaml::mapping(source) {
            return Ok(Metadata::from_mapping(map, source, line_offset));
        }
        let value = first_document(source).map_err(|e| {
            let line = e.location().map(|l| l.line());
            MetadataError {
                line: line.map(|l| l + line_offset),
                snippet: line
                    .and_then(|l| source.lines().nth(l.checked_sub(1)?))
                    .map(str::to_owned),
                message: first_line(&e.to_string()),
            }
        })?;
        let map = match value {
            Value::Mapping(map) => map,
            other => {
                return Err(MetadataError {
                    message: format!("expected a YAML mapping, found {}", kind_name(&other)),
                    line: Some(line_offset + 1),
                    snippet: source.lines().next().map(str::to_owned),
                });
            }
        };
        Ok(Metadata::from_mapping(map, source, line_offset))
    }

    fn from_mapping(map: Mapping, source: &str, line_offset: usize) -> Metadata {
        Metadata {
            map,
            source: source.to_owned(),
            line_offset,
            index: OnceCell::new(),
            kepval: Default::default(),
        }
    }

    /// The document as kepval decodes it (`artefacts`: as its line reader sees the file), decoded
    /// once however many rules ask.
    pub fn kepval(&self, artefacts: bool) -> &KepvalDecoding {
        self.kepval[usize::from(artefacts)].get_or_init(|| {
            Rc::new(super::kepval::decode_parsed_proposal(
                &self.map,
                &self.source,
                artefacts,
            ))
        })
    }

    /// The document's top-level mapping, as parsed (merge keys merged).
    pub fn mapping(&self) -> &Mapping {
        &self.map
    }

    /// The document's text, as parsed.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The top-level keys, rendered as text, in file order.
    pub fn keys(&self) -> Vec<String> {
        self.map.keys().filter_map(render_scalar).collect()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// The value of `key` rendered as a trimmed string; `None` when absent or null.
    pub fn scalar(&self, key: &str) -> Option<String> {
        self.get(key).and_then(render_scalar)
    }

    /// The value of `key.sub` rendered as a trimmed string.
    pub fn nested_scalar(&self, key: &str, sub: &str) -> Option<String> {
        match self.get(key)? {
            Value::Mapping(m) => m.get(sub).and_then(render_scalar),
            _ => None,
        }
    }

    /// The `status`, when it is one of the valid values.
    pub fn status(&self) -> Option<Status> {
        Status::parse(&self.scalar("status")?)
    }

    /// The milestone at `key` (or `key.sub`), when it parses.
    pub fn milestone(&self, key: &str, sub: Option<&str>) -> Option<Milestone> {
        let text = match sub {
            Some(sub) => self.nested_scalar(key, sub)?,
            None => self.scalar(key)?,
        };
        Milestone::parse(&text)
    }

    pub fn stage(&self) -> StageValue {
        match self.scalar("stage") {
            None => StageValue::Absent,
            Some(s) => Stage::parse(&s).map_or(StageValue::Invalid(s), StageValue::Valid),
        }
    }

    /// 1-based line of a top-level `key` or of `key.sub` (nested anywhere in `key`'s block; the
    /// line of `key` when `sub` is not found), found in the source: YAML parsers here do not keep
    /// positions, and KEP metadata is plain block-style YAML.
    pub fn key_line(&self, path: &[&str]) -> Option<usize> {
        let (first, rest) = path.split_first()?;
        let (top, subs) = self.index().keys.get(*first)?;
        let line = rest.first().and_then(|sub| subs.get(*sub)).unwrap_or(top);
        Some(line + 1 + self.line_offset)
    }

    /// The text of 1-based file line `line`, if this document holds it.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        let i = line.checked_sub(self.line_offset + 1)?;
        let &(start, end) = self.index().lines.get(i)?;
        Some(&self.source[start..end])
    }

    fn index(&self) -> &LineIndex {
        self.index.get_or_init(|| LineIndex::build(&self.source))
    }
}

/// The mapping key a line starts with at `indent`, unquoted.
fn key_of(line: &str, indent: usize) -> Option<&str> {
    let rest = line.get(indent..)?;
    if rest.starts_with([' ', '\t', '#', '-']) {
        return None;
    }
    let colon = rest.find(':')?;
    let key = rest[..colon].trim();
    Some(key.trim_matches(|c| c == '"' || c == '\''))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "an empty document",
        Value::Bool(_) | Value::Number(_) | Value::String(_) => "a scalar",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A value rendered as a trimmed string; `None` for null. Collections render as YAML so that two
/// different lists never compare equal.
pub fn render_scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_owned()),
        other => serde_yaml::to_string(other).ok().map(|s| s.trim().to_owned()),
    }
}

/// Equality of metadata values under the rules' semantics: absent equals null, scalars compare
/// rendered, and a mapping equals another when their non-null entries do.
pub fn values_equal(a: Option<&Value>, b: Option<&Value>) -> bool {
    let a = a.filter(|v| !v.is_null());
    let b = b.filter(|v| !v.is_null());
    match (a, b) {
        (None, None) => true,
        (Some(Value::Mapping(x)), Some(Value::Mapping(y))) => {
            let entries = |m: &Mapping| -> Vec<(String, String)> {
                let mut v: Vec<_> = m
                    .iter()
                    .filter_map(|(k, v)| Some((render_scalar(k)?, render_scalar(v)?)))
                    .collect();
                v.sort();
                v
            };
            entries(x) == entries(y)
        }
        (Some(x), Some(y)) => render_scalar(x) == render_scalar(y),
        _ => false,
    }
}

/// Maturity stages in the order a KEP may move through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Alpha,
    Beta,
    Stable,
    Deprecated,
    Disabled,
    Removed,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Alpha,
        Stage::Beta,
        Stage::Stable,
        Stage::Deprecated,
        Stage::Disabled,
        Stage::Removed,
    ];

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Alpha => "alpha",
            Stage::Beta => "beta",
            Stage::Stable => "stable",
            Stage::Deprecated => "deprecated",
            Stage::Disabled => "disabled",
            Stage::Removed => "removed",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A KEP's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Provisional,
    Implementable,
    Implemented,
    Deferred,
    Rejected,
    Withdrawn,
    Replaced,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Provisional,
        Status::Implementable,
        Status::Implemented,
        Status::Deferred,
        Status::Rejected,
        Status::Withdrawn,
        Status::Replaced,
    ];

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Provisional => "provisional",
            Status::Implementable => "implementable",
            Status::Implemented => "implemented",
            Status::Deferred => "deferred",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
            Status::Replaced => "replaced",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageValue {
    Absent,
    Valid(Stage),
    Invalid(String),
}

impl StageValue {
    pub fn valid(&self) -> Option<Stage> {
        match self {
            StageValue::Valid(s) => Some(*s),
            _ => None,
        }
    }
}

/// A release milestone such as `v1.21`, parsed from `^v?(\d+)\.(\d+)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Milestone {
    pub major: u64,
    pub minor: u64,
}

impl Milestone {
    pub fn parse(s: &str) -> Option<Milestone> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let (major, rest) = s.split_once('.')?;
        let minor_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        Some(Milestone {
            major: major.parse().ok()?,
            minor: rest[..minor_len].parse().ok()?,
        })
    }
}

/// A milestone such as `v1.21` in a policy file, checked while parsing.
impl<'de> serde::Deserialize<'de> for Milestone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let text = render_scalar(&value).unwrap_or_default();
        Milestone::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a milestone such as v1.21")))
    }
}

impl std::fmt::Display for Milestone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

/// A legacy KEP's front matter: the YAML between a first line `---` and the next `---` (or `...`)
/// line. Returns the YAML, the number of lines before it (1), and the byte offset where the
/// Markdown body starts.
pub fn split_front_matter(text: &str) -> Option<(&str, usize, usize)> {
    let text_start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[text_start..];
    let first_end = body.find('\n')?;
    if body[..first_end].trim_end() != "---" {
        return None;
    }
    let yaml_start = text_start + first_end + 1;
    let mut pos = yaml_start;
    for line in text[yaml_start..].split_inclusive('\n') {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            return Some((&text[yaml_start..pos], 1, pos + line.len()));
        }
        pos += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEP: &str = "title: X\nstage: beta\nlatest-milestone: \"v1.19\"\nmilestone:\n  alpha: v1.18\n  # note\n  beta: \"v1.19\"\nstatus: implementable\n";

    #[test]
    fn scalars_render_trimmed_and_quotes_do_not_matter() {
        let m = Metadata::parse(KEP, 0).unwrap();
        assert_eq!(m.scalar("latest-milestone").as_deref(), Some("v1.19"));
        assert_eq!(m.nested_scalar("milestone", "beta").as_deref(), Some("v1.19"));
        assert_eq!(m.stage(), StageValue::Valid(Stage::Beta));
        assert_eq!(m.scalar("missing"), None);
    }

    #[test]
    fn key_lines_are_found_top_level_and_nested() {
        let m = Metadata::parse(KEP, 0).unwrap();
        assert_eq!(m.key_line(&["stage"]), Some(2));
        assert_eq!(m.key_line(&["milestone", "beta"]), Some(7));
        assert_eq!(m.key_line(&["status"]), Some(8));
        let fm = Metadata::parse(KEP, 1).unwrap();
        assert_eq!(fm.key_line(&["stage"]), Some(3));
        assert_eq!(fm.line_text(3), Some("stage: beta"));
    }

    #[test]
    fn key_lines_come_from_the_first_block_of_a_key() {
        let src = "a: 1\r\nm:\r\n  # c\r\n\r\n  x:\r\n    y: 2\r\nb: |\r\n  m: text\r\n";
        let m = Metadata::parse(src, 2).unwrap();
        assert_eq!(m.key_line(&["m", "y"]), Some(8));
        assert_eq!(m.key_line(&["m", "missing"]), Some(4));
        assert_eq!(m.key_line(&["b"]), Some(9));
        assert_eq!(m.key_line(&["missing"]), None);
        assert_eq!(m.line_text(8), Some("    y: 2"));
        assert_eq!(m.line_text(3), Some("a: 1"));
        assert_eq!((m.line_text(2), m.line_text(11)), (None, None));
    }

    #[test]
    fn null_equals_absent_and_mappings_compare_by_non_null_entries() {
        let a: Value = serde_yaml::from_str("{alpha: v1.1, beta: null}").unwrap();
        let b: Value = serde_yaml::from_str("{alpha: \"v1.1\"}").unwrap();
        let c: Value = serde_yaml::from_str("{alpha: v1.2}").unwrap();
        assert!(values_equal(Some(&a), Some(&b)));
        assert!(!values_equal(Some(&a), Some(&c)));
        assert!(values_equal(None, Some(&Value::Null)));
        assert!(!values_equal(None, Some(&c)));
    }

    #[test]
    fn non_mappings_and_syntax_errors_are_errors_with_lines() {
        assert!(Metadata::parse("- a\n- b\n", 0).unwrap_err().message.contains("a list"));
        let e = Metadata::parse("title: a\nstage: [beta\n", 0).unwrap_err();
        assert!(e.line.is_some());
        assert!(Metadata::parse("", 0).is_err());
    }

    #[test]
    fn milestones_parse_and_order_as_versions() {
        assert_eq!(Milestone::parse("v1.21"), Some(Milestone { major: 1, minor: 21 }));
        assert_eq!(Milestone::parse("1.9-ish"), Some(Milestone { major: 1, minor: 9 }));
        assert!(Milestone::parse("v1.9").unwrap() < Milestone::parse("v1.10").unwrap());
        assert_eq!(Milestone::parse("TBD"), None);
        assert_eq!(Milestone::parse("v.1"), None);
    }

    #[test]
    fn front_matter_is_split() {
        let t = "---\ntitle: a\nstatus: provisional\n---\n\n# Title\n";
        let (yaml, off, body) = split_front_matter(t).unwrap();
        assert_eq!(yaml, "title: a\nstatus: provisional\n");
        assert_eq!(off, 1);
        assert_eq!(&t[body..], "\n# Title\n");
        assert!(split_front_matter("# Title\n---\n").is_none());
    }
}
