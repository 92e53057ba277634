//! What kepval — the validator kubernetes/enhancements runs in CI as `hack/verify-kep-metadata.sh`
//! — sees in a KEP's files, and what it rejects. The Go source is the specification: its line
//! reader (`api.KEPHandler.Parse`), yaml.v3's strict decoding into `api.Proposal` and
//! `api.PRRApproval`, the `validate:"required"` tags, `isPRRRequired` with semver's tolerant parse,
//! and the approver lookup in `OWNERS_ALIASES`. Rules turn these verdicts into findings.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::{EntryKind, RepoFiles};

/// What kepval rejects, as one finding's worth of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What kepval found, in a contributor's words.
    pub message: String,
    /// 1-based line of the file, where known.
    pub line: Option<usize>,
    /// The key the problem is about, for pointing at its line.
    pub key: Option<String>,
    /// Whether the cause is an artefact of how kepval reads files (its line reader), not a
    /// problem of the metadata itself: the policy's `kepval: false` turns these off.
    pub artefact: bool,
}

impl Rejection {
    fn new(message: impl Into<String>) -> Rejection {
        Rejection {
            message: message.into(),
            line: None,
            key: None,
            artefact: false,
        }
    }

    fn at_key(mut self, key: &str) -> Rejection {
        self.key = Some(key.to_owned());
        self
    }
}

/// The note on a finding kepval's own check makes.
pub const REJECTS_TOO: &str = "kepval (hack/verify-kep-metadata.sh, upstream CI) rejects this too";

/// The note on a finding that comes only from how kepval reads files.
pub const ARTEFACT: &str = "an artefact of how kepval reads files; a repository that does not run kepval sets `kepval: false` in .kepguard.yaml";

/// The longest line Go's `bufio.Scanner` reads with its default buffer.
const MAX_LINE: usize = 64 * 1024;

/// kepval's line reader over a `kep.yaml`: lines are read with `bufio.Scanner` (a line over
/// 64 KiB fails the file), and any line *containing* `---` is taken for a document marker: the
/// YAML is what lies between the first and the second such line, or the whole file when there is
/// none. With `artefacts` off, the file is read as YAML is, whole. Returns the text and the
/// number of file lines before it.
pub fn metadata_text(bytes: &[u8], artefacts: bool) -> Result<(String, usize), Rejection> {
    let text = String::from_utf8_lossy(bytes);
    if !artefacts {
        return Ok((text.into_owned(), 0));
    }
    let mut first_marker = None;
    let mut markers = 0;
    let mut metadata = String::new();
    let mut body = String::new();
    for (i, raw) in split_lines(&text).enumerate() {
        if raw.len() >= MAX_LINE {
            return Err(Rejection {
                message: format!(
                    "line {} is {} KiB long; kepval (hack/verify-kep-metadata.sh) reads files line by line and \
                     fails on a line over 64 KiB: break it up",
                    i + 1,
                    raw.len() / 1024
                ),
                line: Some(i + 1),
                key: None,
                artefact: true,
            });
        }
        if raw.contains("---") {
            markers += 1;
            first_marker.get_or_insert(i + 1);
            continue;
        }
        let target = if markers == 1 { &mut metadata } else { &mut body };
        target.push_str(raw);
        target.push('\n');
    }
    Ok(match first_marker {
        None => (body, 0),
        Some(line) => (metadata, line),
    })
}

/// The first line containing `---` after some YAML content: kepval drops it and everything
/// before it, so the metadata it decodes is not the file's. `None` when kepval reads the file as
/// written (no such line, or only a leading document marker).
pub fn misread_marker(bytes: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(bytes);
    let mut seen_content = false;
    for (i, line) in split_lines(&text).enumerate() {
        if line.contains("---") {
            if seen_content || line.trim() != "---" {
                return Some(i + 1);
            }
            return split_lines(&text)
                .enumerate()
                .skip(i + 1)
                .find(|(_, l)| l.contains("---"))
                .map(|(j, _)| j + 1);
        }
        let t = line.trim();
        if !t.is_empty() && !t.starts_with('#') {
            seen_content = true;
        }
    }
    None
}

/// Lines as `bufio.ScanLines` yields them: split at `\n`, a trailing `\r` dropped.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(move |_| !text.is_empty())
}

/// A Go `string` field as yaml.v3 fills it: any scalar, as written (`1.30` stays `1.30`); null
/// leaves it empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoString(pub String);

impl<'de> Deserialize<'de> for GoString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(GoString(Option::<String>::deserialize(d)?.unwrap_or_default()))
    }
}

impl schemars::JsonSchema for GoString {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GoString".into()
    }

    fn inline_schema() -> bool {
        true
    }

    /// Any scalar: yaml.v3 writes a number or boolean into a Go string as written.
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "number", "boolean", "null"] })
    }
}

/// A Go `bool` field as yaml.v3 fills it: YAML's true/false, and, for a typed bool, YAML 1.1's
/// y/yes/on and n/no/off in three spellings each; null leaves it false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GoBool(pub bool);

impl<'de> Deserialize<'de> for GoBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GoBool;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<GoBool, E> {
                Ok(GoBool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GoBool, E> {
                match v {
                    "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Ok(GoBool(true)),
                    "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Ok(GoBool(false)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<GoBool, E> {
                Ok(GoBool(false))
            }
            fn visit_none<E: de::Error>(self) -> Result<GoBool, E> {
                Ok(GoBool(false))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<GoBool, D::Error> {
                d.deserialize_any(self)
            }
        }
        d.deserialize_option(V)
    }
}

impl schemars::JsonSchema for GoBool {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GoBool".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "oneOf": [
                { "type": ["boolean", "null"] },
                { "enum": ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF"] }
            ]
        })
    }
}

/// The fields kepval's `validate:"required"` tags require: present and, for a string, not empty.
pub const REQUIRED: [&str; 6] = ["title", "kep-number", "authors", "owning-sig", "approvers", "status"];

/// `api.Proposal`, as kepval decodes `kep.yaml` (unknown fields rejected).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    #[serde(default)]
    pub id: GoString,
    #[serde(default)]
    pub prnumber: GoString,
    #[serde(default)]
    pub name: GoString,
    #[serde(default)]
    pub path: GoString,
    #[serde(default)]
    pub title: GoString,
    #[serde(default, rename = "kep-number")]
    pub number: GoString,
    #[serde(default)]
    pub authors: Option<Vec<GoString>>,
    #[serde(default, rename = "owning-sig")]
    pub owning_sig: GoString,
    #[serde(default, rename = "participating-sigs")]
    pub participating_sigs: Option<Vec<GoString>>,
    #[serde(default)]
    pub reviewers: Option<Vec<GoString>>,
    #[serde(default)]
    pub approvers: Option<Vec<GoString>>,
    #[serde(default)]
    pub editor: GoString,
    #[serde(default, rename = "creation-date")]
    pub creation_date: GoString,
    #[serde(default, rename = "last-updated")]
    pub last_updated: GoString,
    #[serde(default)]
    pub status: GoString,
    #[serde(default, rename = "see-also")]
    pub see_also: Option<Vec<GoString>>,
    #[serde(default)]
    pub replaces: Option<Vec<GoString>>,
    #[serde(default, rename = "superseded-by")]
    pub superseded_by: Option<Vec<GoString>>,
    #[serde(default)]
    pub stage: GoString,
    #[serde(default, rename = "latest-milestone")]
    pub latest_milestone: GoString,
    #[serde(default)]
    pub milestone: Option<Milestones>,
    #[serde(default, rename = "feature-gates")]
    pub feature_gates: Option<Vec<Option<FeatureGate>>>,
    #[serde(default, rename = "disable-supported")]
    pub disable_supported: GoBool,
    #[serde(default)]
    pub metrics: Option<Vec<GoString>>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Milestones {
    #[serde(default)]
    pub alpha: GoString,
    #[serde(default)]
    pub beta: GoString,
    #[serde(default)]
    pub stable: GoString,
    #[serde(default)]
    pub deprecated: GoString,
    #[serde(default)]
    pub removed: GoString,
    #[serde(default)]
    pub disabled: GoString,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureGate {
    #[serde(default)]
    pub name: GoString,
    #[serde(default)]
    pub components: Option<Vec<GoString>>,
}

/// `api.PRRApproval`, as kepval decodes a PRR approval file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrrApproval {
    #[serde(default, rename = "kep-number")]
    pub number: GoString,
    #[serde(default)]
    pub alpha: Option<PrrStage>,
    #[serde(default)]
    pub beta: Option<PrrStage>,
    #[serde(default)]
    pub stable: Option<PrrStage>,
    #[serde(default)]
    pub deprecated: Option<PrrStage>,
    #[serde(default)]
    pub removed: Option<PrrStage>,
    #[serde(default)]
    pub disabled: Option<PrrStage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrrStage {
    #[serde(default)]
    pub approver: GoString,
}

impl PrrApproval {
    /// The entry for `stage` (itself `None` when the file has none); `None` for a stage kepval
    /// does not know.
    pub fn stage(&self, stage: &str) -> Option<&Option<PrrStage>> {
        Some(match stage {
            "alpha" => &self.alpha,
            "beta" => &self.beta,
            "stable" => &self.stable,
            "deprecated" => &self.deprecated,
            "disabled" => &self.disabled,
            "removed" => &self.removed,
            _ => return None,
        })
    }
}

/// A Go `map[string]T` as yaml.v3 fills it: a key written twice is an error, not the last one.
struct UniqueMap<T>(std::collections::BTreeMap<String, T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for UniqueMap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = UniqueMap<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueMap<T>, A::Error> {
                let mut out = std::collections::BTreeMap::new();
                while let Some(key) = map.next_key::<GoString>()? {
                    let value = map.next_value()?;
                    if out.insert(key.0.clone(), value).is_some() {
                        return Err(de::Error::custom(format!("mapping key `{}` is written twice", key.0)));
                    }
                }
                Ok(UniqueMap(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Decodes the first YAML document of `text` into `T` as yaml.v3's strict decoder does: unknown
/// and duplicate keys are errors, merge keys (`<<`) merge, later documents are not read, and a
/// file with no document at all is an error.
fn decode_strict<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, Rejection> {
    let located = |e: serde_yaml::Error| {
        let mut r = Rejection::new(yaml_message(&e));
        r.line = e.location().map(|l| l.line());
        r
    };
    if !has_content(text) {
        return Err(Rejection::new("the file holds no YAML document"));
    }
    // serde leaves merge keys as keys; yaml.v3 merges them. Only such documents take the detour
    // through a value, which renders numbers anew (a cost only they pay).
    if text.contains("<<") {
        let mut docs = serde_yaml::Deserializer::from_str(text);
        if let Some(doc) = docs.next() {
            let mut value = serde_yaml::Value::deserialize(doc).map_err(located)?;
            if value.apply_merge().is_ok() && has_merge_key(text) {
                let merged = serde_yaml::to_string(&value).map_err(located)?;
                // Lines of the rendered text are not the file's.
                return decode_first(&merged).map_err(|e| Rejection::new(yaml_message(&e)));
            }
        }
    }
    decode_first(text).map_err(located)
}

fn decode_first<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, serde_yaml::Error> {
    match serde_yaml::Deserializer::from_str(text).next() {
        Some(doc) => T::deserialize(doc),
        None => T::deserialize(serde_yaml::Deserializer::from_str("{}")),
    }
}

fn has_merge_key(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start().trim_start_matches("- ");
        t.starts_with("<<:") || t.contains(" <<:") || t.contains("{<<:")
    })
}

/// Whether a YAML text holds anything but comments and blank lines.
fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim().trim_start_matches('\u{feff}');
        !t.is_empty() && !t.starts_with('#') && t != "---" && t != "..."
    })
}

/// serde_yaml's message without its position suffix, in kepval's terms.
fn yaml_message(e: &serde_yaml::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    let first = match first.find(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    first.to_owned()
}

/// A decoder's message in a contributor's words: `authors: invalid type: string "@a", expected a
/// sequence` is "`authors` must be a list".
pub fn plain(message: &str) -> String {
    let (path, rest) = match message.split_once(": ") {
        Some((p, r)) if !p.contains(' ') => (Some(p), r),
        _ => (None, message),
    };
    let key = path.map(|p| format!("`{p}`")).unwrap_or_else(|| "the document".into());
    if let Some(field) = rest.strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
        return match path {
            Some(p) => format!("unknown field `{p}.{field}`"),
            None => format!("unknown field `{field}`"),
        };
    }
    if let Some(field) = rest.strip_prefix("duplicate field `").and_then(|r| r.split('`').next()) {
        return format!("`{field}` is written twice");
    }
    if rest.starts_with("invalid type") {
        if rest.ends_with("expected a sequence") {
            return format!("{key} must be a list");
        }
        if rest.ends_with("expected a string") {
            return format!("{key} must be a single value, not a list or a mapping");
        }
        if rest.contains("expected struct") {
            return format!("{key} must be a mapping");
        }
    }
    if rest.starts_with("invalid value") && rest.ends_with("expected true or false") {
        let shown = rest.split('"').nth(1).unwrap_or_default();
        return format!("{key} must be true or false (`{shown}` is neither to kepval)");
    }
    message.to_owned()
}

/// Decodes a `kep.yaml` as kepval does, then applies its `validate:"required"` tags.
pub fn decode_proposal(bytes: &[u8], artefacts: bool) -> Result<Proposal, Rejection> {
    let (text, offset) = metadata_text(bytes, artefacts)?;
    let proposal: Proposal = decode_strict(&text).map_err(|mut r| {
        r.line = r.line.map(|l| l + offset);
        r
    })?;
    required(proposal)
}

/// [`decode_proposal`] of `source`, already parsed into `map` (the first document, as
/// `Metadata` parses it): decoded from `map` wherever that gives what the text would, which
/// spares a second YAML parse, from the text otherwise.
pub fn decode_parsed_proposal(map: &serde_yaml::Mapping, source: &str, artefacts: bool) -> Result<Proposal, Rejection> {
    match from_parsed(map, source, artefacts) {
        Some(proposal) => required(proposal),
        None => decode_proposal(source.as_bytes(), artefacts),
    }
}

/// kepval's decoding of `source` (before its required tags) read from the parsed `map`, or
/// `None` where only the text can say: whatever kepval's line reader would cut or fail on, merge
/// keys, tags, any decoding error (its message and line come from the text), and numbers other
/// than a top-level key's value written as the number renders (a Go string keeps `1.30` as
/// written; the parsed number is 1.3).
pub fn from_parsed(map: &serde_yaml::Mapping, source: &str, artefacts: bool) -> Option<Proposal> {
    use serde_yaml::Value;
    if !has_content(source) || source.contains("<<") {
        return None;
    }
    if artefacts && (source.contains("---") || source.contains('\r') || source.len() >= MAX_LINE) {
        return None;
    }
    fn plain(value: &Value) -> bool {
        match value {
            Value::Null | Value::Bool(_) | Value::String(_) => true,
            Value::Number(_) | Value::Tagged(_) => false,
            Value::Sequence(items) => items.iter().all(plain),
            Value::Mapping(map) => map.iter().all(|(k, v)| plain(k) && plain(v)),
        }
    }
    let mut numbers = Vec::new();
    for (key, value) in map {
        match value {
            Value::Number(n) => numbers.push((key.as_str()?, n.to_string())),
            other if plain(key) && plain(other) => {}
            _ => return None,
        }
    }
    let mut map = map.clone();
    for (key, rendered) in numbers {
        // The one line that opens the key at column 0 must hold the number as it renders.
        let mut lines = source.lines().filter_map(|l| l.strip_prefix(key)?.strip_prefix(':'));
        let (written, None) = (lines.next()?, lines.next()) else {
            return None;
        };
        let written = written.split(" #").next()?.trim();
        if written != rendered {
            return None;
        }
        map.insert(Value::String(key.to_owned()), Value::String(rendered));
    }
    Proposal::deserialize(&Value::Mapping(map)).ok()
}

/// kepval's `validate:"required"` tags.
fn required(proposal: Proposal) -> Result<Proposal, Rejection> {
    let missing = [
        proposal.title.0.is_empty(),
        proposal.number.0.is_empty(),
        proposal.authors.is_none(),
        proposal.owning_sig.0.is_empty(),
        proposal.approvers.is_none(),
        proposal.status.0.is_empty(),
    ];
    for (key, missing) in REQUIRED.into_iter().zip(missing) {
        if missing {
            return Err(Rejection::new(format!("required field `{key}` is missing or empty")).at_key(key));
        }
    }
    Ok(proposal)
}

/// A semantic version as `semver.ParseTolerant` reads one: spaces trimmed, a leading `v` dropped,
/// missing minor and patch filled with zeros; pre-release versions order before the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemVer {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: bool,
}

impl SemVer {
    pub fn parse_tolerant(s: &str) -> Option<SemVer> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let (core, pre) = match s.find(['-', '+']) {
            Some(i) => (&s[..i], s[i..].starts_with('-')),
            None => (s, false),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 || (parts.len() < 3 && s.len() != core.len()) {
            return None;
        }
        let num = |p: &str| -> Option<u64> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Tolerant parsing drops leading zeros.
            let p = p.trim_start_matches('0');
            if p.is_empty() { Some(0) } else { p.parse().ok() }
        };
        let major = num(parts[0])?;
        let minor = parts.get(1).map_or(Some(0), |p| num(p))?;
        let patch = parts.get(2).map_or(Some(0), |p| num(p))?;
        if pre && s[core.len() + 1..].is_empty() {
            return None;
        }
        Some(SemVer {
            major,
            minor,
            patch,
            pre,
        })
    }

    /// Whether this version orders before `major.minor.0`.
    pub fn before(&self, major: u64, minor: u64) -> bool {
        (self.major, self.minor, self.patch) < (major, minor, 0)
            || (self.major, self.minor, self.patch) == (major, minor, 0) && self.pre
    }
}

/// kepval's `isPRRRequired`: an implementable or implemented KEP (spelt exactly) needs PRR unless
/// its `latest-milestone` orders before v1.21; it must then have `latest-milestone` and `stage`,
/// and semver must read the milestone.
pub fn prr_required(p: &Proposal) -> Result<bool, Rejection> {
    if !matches!(p.status.0.as_str(), "implementable" | "implemented") {
        return Ok(false);
    }
    let status = &p.status.0;
    if p.latest_milestone.0.is_empty() {
        return Err(Rejection::new(format!("an {status} KEP needs `latest-milestone`")).at_key("latest-milestone"));
    }
    if p.stage.0.is_empty() {
        return Err(Rejection::new(format!("an {status} KEP needs `stage`")).at_key("stage"));
    }
    let Some(latest) = SemVer::parse_tolerant(&p.latest_milestone.0) else {
        return Err(Rejection::new(format!(
            "latest-milestone `{}` is not a release kepval can read (such as v1.31)",
            p.latest_milestone.0
        ))
        .at_key("latest-milestone"));
    };
    Ok(!latest.before(1, 21))
}

/// The stages kepval knows, spelt exactly.
pub const STAGES: [&str; 6] = ["alpha", "beta", "stable", "deprecated", "disabled", "removed"];

/// Decodes a PRR approval file as kepval does: strictly, `kep-number` required, and a stage that
/// is present needs a non-empty approver.
pub fn decode_prr(bytes: &[u8]) -> Result<PrrApproval, Rejection> {
    let text = String::from_utf8_lossy(bytes);
    if let Some((i, _)) = split_lines(&text).enumerate().find(|(_, l)| l.len() >= MAX_LINE) {
        return Err(Rejection {
            message: "kepval (hack/verify-kep-metadata.sh) reads files line by line and fails on a line over 64 KiB"
                .into(),
            line: Some(i + 1),
            key: None,
            artefact: true,
        });
    }
    let prr: PrrApproval = decode_strict(&text).map_err(|mut r| {
        r.message = format!("does not parse as kepval reads it: {}", plain(&r.message));
        r
    })?;
    if prr.number.0.is_empty() {
        return Err(Rejection::new("has no `kep-number`").at_key("kep-number"));
    }
    for stage in STAGES {
        if let Some(Some(s)) = prr.stage(stage)
            && s.approver.0.is_empty()
        {
            return Err(
                Rejection::new(format!("names no approver for stage {stage}")).at_key(&format!("{stage}.approver"))
            );
        }
    }
    Ok(prr)
}

/// kepval's approver check for a KEP at `stage`: the stage must be one kepval knows, the file
/// must name an approver for it, and that approver (one leading `@` removed, nothing trimmed
/// when `artefacts` is on) must be one of `approvers` (when the list is known).
pub fn approver_rejection(
    prr: &PrrApproval,
    stage: &str,
    approvers: Option<&[String]>,
    artefacts: bool,
) -> Option<Rejection> {
    let Some(entry) = prr.stage(stage) else {
        return Some(
            Rejection::new(format!(
                "cannot approve stage `{stage}`: kepval knows only {}",
                STAGES.join(", ")
            ))
            .at_key("stage"),
        );
    };
    if STAGES.iter().all(|s| prr.stage(s).is_some_and(|e| e.is_none())) {
        return Some(Rejection::new("approves no stage").at_key("kep-number"));
    }
    let Some(entry) = entry else {
        return Some(Rejection::new(format!("names no approver for stage {stage}")).at_key(stage));
    };
    let approver = &entry.approver.0;
    let written = approver.strip_prefix('@').unwrap_or(approver);
    let who = if artefacts {
        written
    } else {
        written.trim().trim_start_matches('@')
    };
    if entry.approver.0.is_empty() {
        return Some(Rejection::new(format!("names no approver for stage {stage}")).at_key(stage));
    }
    // Without the list, only what the file itself says can be judged.
    let approvers = approvers?;
    if approvers.iter().any(|a| a == who) {
        return None;
    }
    let mut r = Rejection::new(format!("names {approver}, who is not a PRR approver"));
    r.key = Some(stage.to_owned());
    if artefacts && (who != who.trim() || who.starts_with('@')) {
        r.artefact = true;
        r.message = format!(
            "names `{approver}`, not a PRR approver as written: kepval compares approvers exactly, removing one `@` and no \
             spaces"
        );
    }
    Some(r)
}

/// The PRR approvers kepval reads from `OWNERS_ALIASES`: the `prod-readiness-approvers` and
/// `prod-readiness-approvers-emeritus` aliases, as written. kepval decodes the file strictly (only
/// `aliases`, each a list) and refuses to run on zero approvers.
pub fn prr_approvers(owners_aliases: &str) -> Result<Vec<String>, Rejection> {
    // Every KEP of a run reads one of a few versions of the file: decode each once.
    type Decoded = Result<Vec<String>, Rejection>;
    thread_local! {
        static CACHE: std::cell::RefCell<crate::memo::ByText<Decoded>> =
            const { std::cell::RefCell::new(crate::memo::ByText::new()) };
    }
    crate::memo::by_text(&CACHE, owners_aliases, decode_approvers)
}

fn decode_approvers(owners_aliases: &str) -> Result<Vec<String>, Rejection> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Aliases {
        #[serde(default)]
        aliases: Option<UniqueMap<Option<Vec<GoString>>>>,
    }
    let parsed: Aliases = decode_strict(owners_aliases)?;
    let aliases = parsed.aliases.map(|m| m.0).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for name in ["prod-readiness-approvers", "prod-readiness-approvers-emeritus"] {
        if let Some(Some(members)) = aliases.get(name) {
            out.extend(members.iter().map(|m| m.0.clone()));
        }
    }
    if out.is_empty() {
        return Err(Rejection::new(
            "OWNERS_ALIASES names no `prod-readiness-approvers`, and kepval refuses to run without them",
        ));
    }
    Ok(out)
}

/// kepval's `validateFile` for one `kep.yaml`, whole: decoding, the PRR decision, and the PRR
/// approval file (read with `read`, by repository path; `prr_file` builds its path from
/// `owning-sig` and `kep-number`). `approvers` is kepval's list; `None` skips the comparison.
pub fn validate_file(
    bytes: &[u8],
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
    prr_file: &dyn Fn(&str, &str) -> String,
    approvers: Option<&[String]>,
    artefacts: bool,
) -> Result<(), Rejection> {
    let proposal = decode_proposal(bytes, artefacts)?;
    if !prr_required(&proposal)? {
        return Ok(());
    }
    let path = prr_file(&proposal.owning_sig.0, &proposal.number.0);
    let Some(prr) = read(&path) else {
        return Err(Rejection::new(format!("there is no PRR approval file {path}")).at_key("status"));
    };
    let prr = decode_prr(&prr).map_err(|mut r| {
        r.message = format!("PRR approval file {path} {}", r.message);
        r.key = None;
        r.line = None;
        r
    })?;
    match approver_rejection(&prr, &proposal.stage.0, approvers, artefacts) {
        Some(mut r) => {
            r.message = format!("PRR approval file {path} {}", r.message);
            r.key = None;
            Err(r)
        }
        None => Ok(()),
    }
}

/// What kepval's walk of the KEP root finds.
#[derive(Debug, Default)]
pub struct Walk {
    /// The `kep.yaml` files it validates, in walk order.
    pub found: Vec<String>,
    /// Directories with a `README.md` and no `kep.yaml`: each an error to kepval.
    pub readme_without_metadata: Vec<String>,
}

/// kepval's walk of `root` (`filepath.Walk`): entries in name order; directories (not links to
/// them) descended into, but for one named like the PRR directory; in a directory with a
/// `kep.yaml` (a link followed), that file is taken and the rest of the directory is not read; a
/// `README.md` without one beside it, below the root, is an error.
pub fn walk(repo: &dyn RepoFiles, root: &str, prr_group: &str) -> anyhow::Result<Walk> {
    let mut out = Walk::default();
    walk_dir(repo, root, root, prr_group, &mut out)?;
    Ok(out)
}

fn walk_dir(repo: &dyn RepoFiles, root: &str, dir: &str, prr_group: &str, out: &mut Walk) -> anyhow::Result<()> {
    let mut entries = repo.new_entries(dir)?;
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let metadata = format!("{dir}/kep.yaml");
    let has_metadata = entries.iter().any(|(n, _)| n == "kep.yaml") && repo.new_file(&metadata)?.is_some();
    for (name, kind) in entries {
        let path = format!("{dir}/{name}");
        if kind == EntryKind::Dir {
            if name != prr_group {
                walk_dir(repo, root, &path, prr_group, out)?;
            }
            continue;
        }
        if has_metadata && name == "kep.yaml" {
            out.found.push(path);
            break;
        }
        if name == "README.md" && dir != root && !has_metadata {
            out.readme_without_metadata.push(dir.to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_reader_takes_lines_containing_dashes_for_markers() {
        assert_eq!(metadata_text(b"a: 1\nb: 2\n", true).unwrap().0, "a: 1\nb: 2\n");
        assert_eq!(
            metadata_text(b"---\na: 1\n---\nb: 2\n", true).unwrap(),
            ("a: 1\n".into(), 1)
        );
        assert_eq!(
            metadata_text(b"a: 1\ntitle: x --- y\nb: 2\n", true).unwrap(),
            ("b: 2\n".into(), 2)
        );
        assert_eq!(metadata_text(b"a: 1\r\nb: 2\r\n", true).unwrap().0, "a: 1\nb: 2\n");
        let long = format!("title: {}\n", "x".repeat(70_000));
        assert!(metadata_text(long.as_bytes(), true).unwrap_err().artefact);
        assert!(metadata_text(long.as_bytes(), false).is_ok());
        assert_eq!(misread_marker(b"---\na: 1\n"), None);
        assert_eq!(misread_marker(b"a: 1\ntitle: x --- y\n"), Some(2));
    }

    #[test]
    fn scalars_decode_as_yaml_v3_decodes_them_into_go_fields() {
        let p = decode_proposal(
            b"title: t\nkep-number: 0x15DE\nauthors: []\nowning-sig: s\napprovers: [~]\nstatus: x\nlatest-milestone: 1.30\ndisable-supported: Y\n",
            true,
        )
        .unwrap();
        assert_eq!((p.number.0.as_str(), p.latest_milestone.0.as_str()), ("0x15DE", "1.30"));
        assert!(p.disable_supported.0);
        let bad = |yaml: &str| decode_proposal(yaml.as_bytes(), true).is_err();
        let base = "title: t\nkep-number: \"1\"\nauthors: [a]\nowning-sig: s\napprovers: [a]\nstatus: x\n";
        assert!(!bad(base));
        assert!(bad(&format!("{base}disable-supported: yEs\n")));
        assert!(!bad(&format!("{base}disable-supported: TRUE\n")));
        assert!(bad(&format!("{base}disable-supported: tRUE\n")));
        assert!(bad(&format!("{base}prr-approvers: [a]\n")));
        assert!(bad(&format!(
            "{base}feature-gates:\n  - name: X\n    components: kubelet\n"
        )));
        assert!(bad(&base.replace("authors: [a]", "authors: [[a]]")));
        assert!(bad(&base.replace("title: t", "title: \"\"")));
        assert!(bad(&base.replace("authors: [a]", "authors:")));
        assert!(!bad(&format!("{base}path: x\n")));
        assert!(
            !bad(&format!("---\n{base}---\nanother: document\n")),
            "the first document between markers"
        );
        assert!(
            bad(&format!("{base}---\nanother: document\n")),
            "after one marker, what follows it"
        );
        assert!(
            !bad(&format!("{base}milestone:\n  <<: {{alpha: v1.2}}\n")),
            "merge keys merge"
        );
        assert!(
            bad(&format!("{base}milestone:\n  <<: {{alfa: v1.2}}\n")),
            "what they merge is decoded strictly"
        );
        assert!(bad(&format!("{base}title: again\n")), "duplicate keys");
        assert!(bad(""));
        assert!(bad("# only a comment\n"));
    }

    #[test]
    fn semver_reads_milestones_tolerantly() {
        let before = |s: &str| SemVer::parse_tolerant(s).map(|v| v.before(1, 21));
        assert_eq!(before("v1.21"), Some(false));
        assert_eq!(before("1.30"), Some(false));
        assert_eq!(before("v1.20"), Some(true));
        assert_eq!(before("0.0"), Some(true));
        assert_eq!(before("v1.21.0-alpha.1"), Some(true));
        for bad in ["TBD", "V1.37", "v1.x", "1.37,1.38", ""] {
            assert_eq!(before(bad), None, "{bad}");
        }
    }
}
