//! KEPs as files: where they live in a tree, and the old and new snapshot of one that a change
//! touched.

mod headings;
pub mod kepval;
pub mod metadata;
pub mod readme;
pub mod simple_yaml;

use std::cell::OnceCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use anyhow::Result;
use gix::ObjectId;

use metadata::{Metadata, MetadataError};
use readme::Readme;

/// Where KEPs live in a repository.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The directory holding all KEPs (`keps`).
    pub root: String,
    /// The group under `root` that holds PRR approval files, not KEPs.
    pub prr_group: String,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            root: "keps".into(),
            prr_group: "prod-readiness".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KepKind {
    /// `keps/<group>/<number>-<slug>/` holding `kep.yaml` and `README.md`.
    Directory,
    /// `keps/<group>/<name>.md` with YAML front matter.
    Legacy,
}

/// Which file of a KEP a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    Metadata,
    Readme,
    /// A legacy KEP's single file: metadata and README at once.
    Legacy,
}

/// A KEP's location: its directory (legacy: its file).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KepPath {
    /// Repository-relative: `keps/<group>/<dir>` or `keps/<group>/<name>.md`.
    pub path: String,
    pub kind: KepKind,
    pub group: String,
    /// The number a directory KEP's name starts with.
    pub dir_number: Option<String>,
}

impl KepPath {
    pub fn metadata_path(&self) -> String {
        match self.kind {
            KepKind::Directory => format!("{}/kep.yaml", self.path),
            KepKind::Legacy => self.path.clone(),
        }
    }

    pub fn readme_path(&self) -> String {
        match self.kind {
            KepKind::Directory => format!("{}/README.md", self.path),
            KepKind::Legacy => self.path.clone(),
        }
    }
}

impl Layout {
    /// Where kepval looks for a KEP's PRR approval file: by owning SIG and `kep-number`.
    /// The path is cleaned as Go's `filepath.Join` cleans it (`.` and `..` resolved).
    pub fn prr_file(&self, owning_sig: &str, number: &str) -> String {
        let joined = format!("{}/{}/{owning_sig}/{number}.yaml", self.root, self.prr_group);
        let mut parts: Vec<&str> = Vec::new();
        for part in joined.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        parts.join("/")
    }

    /// Classifies a path given as components relative to [`Layout::root`]. Legacy candidates still
    /// need their content checked for front matter.
    pub fn classify(&self, rel: &[&str]) -> Option<(KepPath, FileRole)> {
        let group = *rel.first()?;
        if group == self.prr_group || is_template_dir(group) {
            return None;
        }
        match rel {
            // KEPs may sit in subdirectories of a group (`sig-cluster-lifecycle/kubeadm/2501-x`).
            [_, .., dir, file] if rel.len() >= 3 && matches!(*file, "kep.yaml" | "README.md") => {
                let role = match *file {
                    "kep.yaml" => FileRole::Metadata,
                    "README.md" => FileRole::Readme,
                    _ => return None,
                };
                let number = leading_number(dir)?;
                if !dir[number.len()..].starts_with('-') {
                    return None;
                }
                let kep = KepPath {
                    path: format!("{}/{}", self.root, rel[..rel.len() - 1].join("/")),
                    kind: KepKind::Directory,
                    group: group.to_owned(),
                    dir_number: Some(number.to_owned()),
                };
                Some((kep, role))
            }
            [_, file] if file.ends_with(".md") && *file != "README.md" && !is_template_dir(file) => {
                let kep = KepPath {
                    path: format!("{}/{group}/{file}", self.root),
                    kind: KepKind::Legacy,
                    group: group.to_owned(),
                    dir_number: None,
                };
                Some((kep, FileRole::Legacy))
            }
            _ => None,
        }
    }
}

fn is_template_dir(name: &str) -> bool {
    name.to_ascii_lowercase().contains("kep-template")
}

fn leading_number(s: &str) -> Option<&str> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    (n > 0).then(|| &s[..n])
}

/// The most of a `kep.yaml` kepguard reads: real ones are a few KiB.
pub const MAX_METADATA_BYTES: u64 = 1 << 20;
/// The most of a README (or legacy KEP file) kepguard reads: the largest real ones are under 200 KiB.
pub const MAX_README_BYTES: u64 = 10 << 20;

/// `2.0 MiB`, `10 MiB`, `512 bytes`.
pub fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

/// A tree entry of a KEP file as the git layer found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileEntry {
    pub id: ObjectId,
    /// A regular (or executable) file; symlinks, trees and submodules are not readable KEP files.
    pub is_file: bool,
    /// The blob's size in bytes (0 for what is not a file), known before it is read.
    pub size: u64,
}

/// A KEP file kepguard does not read because it is over its cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversized {
    pub path: String,
    pub size: u64,
    pub cap: u64,
}

/// The KEP files present on one side of a change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KepFiles {
    pub metadata: Option<FileEntry>,
    pub readme: Option<FileEntry>,
}

impl KepFiles {
    pub fn is_empty(&self) -> bool {
        self.metadata.is_none() && self.readme.is_none()
    }
}

/// A KEP that a change touched, before any blob is parsed.
#[derive(Debug, Clone)]
pub struct ChangedKep {
    /// Where the KEP is after the change (before it, for a deleted KEP).
    pub kep: KepPath,
    /// The old location when the KEP moved to another directory in the same change.
    pub moved_from: Option<KepPath>,
    pub old: Option<KepFiles>,
    pub new: Option<KepFiles>,
}

/// Reads blobs for the snapshots; implemented by the git layer.
pub trait BlobSource {
    fn blob(&self, id: &ObjectId) -> Result<Vec<u8>>;

    /// The README in blob `id`, parsed; a source that sees many commits may keep recent ones.
    fn readme(&self, id: &ObjectId) -> Result<Rc<Readme>> {
        Ok(Rc::new(Readme::parse(decode_text(self.blob(id)?), 0)))
    }

    /// The directory KEP's `kep.yaml` in blob `id`, parsed; kept like [`BlobSource::readme`].
    fn metadata(&self, id: &ObjectId) -> Result<Rc<MetadataState>> {
        Ok(Rc::new(directory_metadata(self.blob(id)?)))
    }

    /// The legacy KEP file in blob `id`, its front matter parsed; kept like [`BlobSource::readme`].
    fn legacy(&self, id: &ObjectId) -> Result<Rc<LegacyKep>> {
        Ok(Rc::new(LegacyKep::parse(self.blob(id)?)))
    }
}

/// A legacy KEP file: front matter and body in one text, read once for both and shared by every
/// snapshot of the same blob.
pub struct LegacyKep {
    text: String,
    metadata: Rc<MetadataState>,
    readme: OnceCell<Rc<Readme>>,
}

impl LegacyKep {
    pub fn parse(bytes: Vec<u8>) -> LegacyKep {
        let invalid = invalid_utf8(&bytes);
        let text = decode_text(bytes);
        let state = match (metadata::split_front_matter(&text), invalid) {
            (Some((_, _, body)), Some(at)) if at.0 <= text[..body].matches('\n').count() => {
                MetadataState::Invalid(not_utf8(&text, at))
            }
            (Some((yaml, offset, _)), _) => parse_state(Metadata::parse(yaml, offset)),
            (None, _) => MetadataState::Missing,
        };
        LegacyKep {
            text,
            metadata: Rc::new(state),
            readme: OnceCell::new(),
        }
    }

    /// The text's length: a kept one costs a few times that once its body is sectioned.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The body after the front matter, sectioned on first use.
    fn readme(&self) -> Rc<Readme> {
        self.readme
            .get_or_init(|| {
                let body = metadata::split_front_matter(&self.text).map_or(0, |(_, _, b)| b);
                Rc::new(Readme::parse(self.text.clone(), body))
            })
            .clone()
    }
}

/// The most recently used parsed blobs by id: a run over many commits meets the same blob again
/// as a later change's old side. Bounded by an estimate of the bytes it holds, as histories hold
/// thousands of KEPs and a README can be large.
pub struct Recent<T> {
    entries: HashMap<ObjectId, (Rc<T>, usize, u64)>,
    /// Ids by the time they were last used; a stale time means a later use is queued too.
    order: VecDeque<(ObjectId, u64)>,
    clock: u64,
    bytes: usize,
    budget: usize,
}

/// Parsed READMEs: a run judges each KEP's changes one after another, so the last few versions
/// are all it needs again; a README parsed takes several times its text.
pub type ReadmeCache = Recent<Readme>;

impl Default for ReadmeCache {
    fn default() -> Self {
        Recent::with_budget(1 << 20)
    }
}

/// Parsed `kep.yaml` files: a few KiB each, so a few thousand fit.
pub type MetadataCache = Recent<MetadataState>;

/// Legacy KEP files, kept like READMEs.
pub type LegacyCache = Recent<LegacyKep>;

impl Default for LegacyCache {
    fn default() -> Self {
        Recent::with_budget(1 << 20)
    }
}

impl Default for MetadataCache {
    fn default() -> Self {
        Recent::with_budget(2 << 20)
    }
}

impl<T> Recent<T> {
    pub fn with_budget(budget: usize) -> Recent<T> {
        Recent {
            entries: HashMap::new(),
            order: VecDeque::new(),
            clock: 0,
            bytes: 0,
            budget,
        }
    }

    /// The value of blob `id`, made by `parse` unless it is kept; `weight` estimates its bytes.
    pub fn get_or_parse(
        &mut self,
        id: &ObjectId,
        weight: impl FnOnce(&T) -> usize,
        parse: impl FnOnce() -> Result<T>,
    ) -> Result<Rc<T>> {
        self.clock += 1;
        if let Some((value, _, used)) = self.entries.get_mut(id) {
            *used = self.clock;
            let value = value.clone();
            self.order.push_back((*id, self.clock));
            self.compact();
            return Ok(value);
        }
        let value = Rc::new(parse()?);
        let size = weight(&value);
        if size > self.budget / 4 {
            return Ok(value);
        }
        while self.bytes + size > self.budget {
            let Some((old, used)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old).is_some_and(|e| e.2 == used) {
                let (_, weight, _) = self.entries.remove(&old).expect("just seen");
                self.bytes -= weight;
            }
        }
        self.bytes += size;
        self.entries.insert(*id, (value.clone(), size, self.clock));
        self.order.push_back((*id, self.clock));
        self.compact();
        Ok(value)
    }

    /// Hits queue their id again; drops the stale uses before they outnumber the live entries.
    fn compact(&mut self) {
        if self.order.len() > 4 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order
                .retain(|(id, used)| entries.get(id).is_some_and(|e| e.2 == *used));
        }
    }
}

/// Files of the repository around a KEP, for rules that look beyond it (groups, PRR approval
/// files, the template).
pub trait RepoFiles {
    /// The regular file at `path` in the checked tree (a change's result).
    fn new_file(&self, path: &str) -> Result<Option<Rc<str>>>;
    /// The regular file at `path` on the base side: repository-wide references a change must not
    /// loosen for itself (for `validate`, the checked tree).
    fn base_file(&self, path: &str) -> Result<Option<Rc<str>>>;
    /// The names of the directories directly under `path` in the checked tree.
    fn new_dirs(&self, path: &str) -> Result<Vec<String>>;
    /// The names of the regular files directly under `path` on the base side that the checked
    /// tree no longer has as regular files: what a change deleted (or moved away) there.
    fn deleted_files(&self, path: &str) -> Result<Vec<String>>;
    /// The names of the regular files directly under `path` on the base side.
    fn base_files(&self, path: &str) -> Result<Vec<String>>;
    /// The entries directly under `path` in the checked tree, with what each is.
    fn new_entries(&self, path: &str) -> Result<Vec<(String, EntryKind)>>;
}

/// What a tree entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// A symbolic link.
    Link,
    /// A submodule.
    Other,
}

/// What a side's metadata turned out to be.
#[derive(Debug, Clone)]
pub enum MetadataState {
    Missing,
    /// The file exists but is a symlink, a directory or a submodule.
    NotAFile,
    Invalid(MetadataError),
    Parsed(Metadata),
}

impl MetadataState {
    pub fn parsed(&self) -> Option<&Metadata> {
        match self {
            MetadataState::Parsed(m) => Some(m),
            _ => None,
        }
    }
}

/// One side of a change to a KEP: metadata parsed eagerly (every rule needs it), the README read
/// only when a rule asks for it.
pub struct Snapshot<'a> {
    pub kep: KepPath,
    pub files: KepFiles,
    /// Shared with every other snapshot of the same blob in the run.
    pub metadata: Rc<MetadataState>,
    readme: OnceCell<Option<Rc<Readme>>>,
    /// A legacy KEP's file, already read for its front matter.
    legacy: Option<Rc<LegacyKep>>,
    /// Files over their cap: never read, so the metadata is [`MetadataState::Missing`] or the
    /// README absent.
    pub oversized: Vec<Oversized>,
    blobs: &'a dyn BlobSource,
}

/// Decodes blob bytes as text: invalid UTF-8 is replaced, a BOM dropped.
pub fn decode_text(bytes: Vec<u8>) -> String {
    let s = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    match s.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => s,
    }
}

impl<'a> Snapshot<'a> {
    pub fn load(kep: KepPath, files: KepFiles, blobs: &'a dyn BlobSource) -> Result<Snapshot<'a>> {
        let mut oversized = Vec::new();
        let (metadata_cap, readme_cap) = match kep.kind {
            KepKind::Directory => (MAX_METADATA_BYTES, MAX_README_BYTES),
            KepKind::Legacy => (MAX_README_BYTES, MAX_README_BYTES),
        };
        let metadata = Rc::new(match files.metadata {
            None => MetadataState::Missing,
            Some(FileEntry { is_file: false, .. }) => MetadataState::NotAFile,
            Some(FileEntry { size, .. }) if size > metadata_cap => {
                oversized.push(Oversized {
                    path: kep.metadata_path(),
                    size,
                    cap: metadata_cap,
                });
                MetadataState::Missing
            }
            Some(FileEntry { id, .. }) if kep.kind == KepKind::Directory => {
                return Ok(Snapshot::with_metadata(
                    kep,
                    files,
                    blobs.metadata(&id)?,
                    oversized,
                    blobs,
                    readme_cap,
                ));
            }
            Some(FileEntry { id, .. }) => {
                let file = blobs.legacy(&id)?;
                let metadata = file.metadata.clone();
                let mut snap = Snapshot::with_metadata(kep, files, metadata, oversized, blobs, readme_cap);
                snap.legacy = Some(file);
                return Ok(snap);
            }
        });
        Ok(Snapshot::with_metadata(
            kep, files, metadata, oversized, blobs, readme_cap,
        ))
    }

    fn with_metadata(
        kep: KepPath,
        files: KepFiles,
        metadata: Rc<MetadataState>,
        mut oversized: Vec<Oversized>,
        blobs: &'a dyn BlobSource,
        readme_cap: u64,
    ) -> Snapshot<'a> {
        if let Some(FileEntry {
            is_file: true, size, ..
        }) = files.readme
            && size > readme_cap
            && kep.kind == KepKind::Directory
        {
            oversized.push(Oversized {
                path: kep.readme_path(),
                size,
                cap: readme_cap,
            });
        }
        Snapshot {
            kep,
            files,
            metadata,
            readme: OnceCell::new(),
            legacy: None,
            oversized,
            blobs,
        }
    }

    /// Whether the README is over its cap (so never read).
    fn readme_oversized(&self) -> bool {
        self.oversized.iter().any(|o| o.path == self.kep.readme_path())
    }

    /// The README, read and sectioned on first use; `None` when there is no readable README.
    pub fn readme(&self) -> Result<Option<&Readme>> {
        if let Some(r) = self.readme.get() {
            return Ok(r.as_deref());
        }
        let loaded = match (&self.legacy, self.files.readme) {
            (Some(file), _) => Some(file.readme()),
            (None, Some(FileEntry { id, is_file: true, .. })) if !self.readme_oversized() => {
                Some(self.blobs.readme(&id)?)
            }
            _ => None,
        };
        Ok(self.readme.get_or_init(|| loaded).as_deref())
    }

    /// The KEP's number: `kep-number` from the metadata, else the directory's number, else a
    /// legacy file name's leading digits unless they are a date (eight digits).
    pub fn number(&self) -> String {
        if let Some(n) = self.metadata.parsed().and_then(|m| m.scalar("kep-number")) {
            return n;
        }
        if let Some(n) = &self.kep.dir_number {
            return n.clone();
        }
        let name = self.kep.path.rsplit('/').next().unwrap_or_default();
        leading_number(name)
            .filter(|n| n.len() < 8)
            .unwrap_or_default()
            .to_owned()
    }
}

/// A directory KEP's `kep.yaml` as the rules see it.
fn directory_metadata(bytes: Vec<u8>) -> MetadataState {
    let invalid = invalid_utf8(&bytes);
    let text = decode_text(bytes);
    match invalid {
        Some(at) => MetadataState::Invalid(not_utf8(&text, at)),
        None => parse_state(Metadata::parse(&text, 0)),
    }
}

/// The 1-based line and column of the first byte that is not UTF-8, if any.
fn invalid_utf8(bytes: &[u8]) -> Option<(usize, usize)> {
    let valid = &bytes[..std::str::from_utf8(bytes).err()?.valid_up_to()];
    let valid = std::str::from_utf8(valid).ok()?;
    let line = valid.matches('\n').count() + 1;
    let last = valid.rsplit('\n').next().unwrap_or_default();
    Some((line, last.trim_start_matches('\u{feff}').chars().count() + 1))
}

/// kepval's YAML decoder rejects invalid UTF-8; `text` is the lossy decoding, which keeps lines.
fn not_utf8(text: &str, (line, column): (usize, usize)) -> MetadataError {
    MetadataError {
        message: format!("not valid UTF-8 (line {line}, column {column})"),
        line: Some(line),
        snippet: text.lines().nth(line - 1).map(str::to_owned),
    }
}

fn parse_state(r: Result<Metadata, MetadataError>) -> MetadataState {
    r.map_or_else(MetadataState::Invalid, MetadataState::Parsed)
}

/// The old and new snapshot of a touched KEP, as the rules see it.
pub struct KepDiff<'a> {
    pub change: &'a ChangedKep,
    pub old: Option<Snapshot<'a>>,
    pub new: Option<Snapshot<'a>>,
}

impl<'a> KepDiff<'a> {
    pub fn load(change: &'a ChangedKep, blobs: &'a dyn BlobSource) -> Result<KepDiff<'a>> {
        let old_path = change.moved_from.clone().unwrap_or_else(|| change.kep.clone());
        let old = change.old.map(|f| Snapshot::load(old_path, f, blobs)).transpose()?;
        let new = change
            .new
            .map(|f| Snapshot::load(change.kep.clone(), f, blobs))
            .transpose()?;
        // An oversized new README cannot be compared with the old one: neither side has one for
        // the rules, rather than the change seeming to delete it.
        if let (Some(old), Some(new)) = (&old, &new)
            && new.readme_oversized()
        {
            let _ = old.readme.set(None);
        }
        Ok(KepDiff { change, old, new })
    }

    /// Both sides with parsed metadata: the only case the diff rules judge. A new or deleted KEP,
    /// one whose old metadata is missing or unreadable, or one with a new file too large to read is
    /// not a change of lifecycle.
    pub fn both_parsed(&self) -> Option<(&Snapshot<'a>, &Metadata, &Snapshot<'a>, &Metadata)> {
        let (old, new) = (self.old.as_ref()?, self.new.as_ref()?);
        if !new.oversized.is_empty() {
            return None;
        }
        Some((old, old.metadata.parsed()?, new, new.metadata.parsed()?))
    }

    pub fn number(&self) -> String {
        self.new
            .as_ref()
            .or(self.old.as_ref())
            .map(Snapshot::number)
            .unwrap_or_default()
    }

    /// True when the README blob is the same on both sides (it cannot have gained a line).
    pub fn readme_unchanged(&self) -> bool {
        match (&self.old, &self.new) {
            (Some(o), Some(n)) => o.files.readme.is_some() && o.files.readme == n.files.readme,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(p: &str) -> Option<(KepPath, FileRole)> {
        Layout::default().classify(&p.split('/').collect::<Vec<_>>())
    }

    #[test]
    fn directory_keps_are_numbered_dirs_outside_prod_readiness() {
        let (k, role) = classify("sig-node/1287-in-place/kep.yaml").unwrap();
        assert_eq!(k.path, "keps/sig-node/1287-in-place");
        assert_eq!(k.dir_number.as_deref(), Some("1287"));
        assert_eq!(role, FileRole::Metadata);
        assert_eq!(
            classify("sig-node/1287-in-place/README.md").unwrap().1,
            FileRole::Readme
        );
        assert!(classify("sig-node/1287-in-place/OWNERS").is_none());
        assert!(classify("prod-readiness/sig-node/1287.yaml").is_none());
        assert!(classify("sig-node/in-place/kep.yaml").is_none());
        assert!(classify("NNNN-kep-template/README.md").is_none());
        assert!(classify("sig-node/NNNN-kep-template/kep.yaml").is_none());
        let (k, _) = classify("sig-cluster-lifecycle/kubeadm/2501-x/kep.yaml").unwrap();
        assert_eq!(
            (k.path.as_str(), k.group.as_str(), k.dir_number.as_deref()),
            (
                "keps/sig-cluster-lifecycle/kubeadm/2501-x",
                "sig-cluster-lifecycle",
                Some("2501")
            )
        );
        assert!(classify("sig-cluster-lifecycle/kubeadm/README.md").is_none());
    }

    #[test]
    fn recent_keeps_what_fits_its_budget_and_drops_the_least_recently_used() {
        let id = |n: u8| ObjectId::from_bytes_or_panic(&[n; 20]);
        let mut recent: Recent<String> = Recent::with_budget(90);
        let parses = std::cell::Cell::new(0);
        let get = |recent: &mut Recent<String>, n: u8, size: usize| {
            recent
                .get_or_parse(&id(n), String::len, || {
                    parses.set(parses.get() + 1);
                    Ok("x".repeat(size))
                })
                .unwrap()
        };
        get(&mut recent, 1, 20);
        get(&mut recent, 2, 20);
        get(&mut recent, 1, 20); // 1 is now the most recent
        assert_eq!(parses.get(), 2);
        get(&mut recent, 3, 20);
        get(&mut recent, 4, 20);
        get(&mut recent, 5, 20); // over budget: 2, the least recently used, goes
        assert_eq!(parses.get(), 5);
        get(&mut recent, 1, 20);
        assert_eq!(parses.get(), 5);
        get(&mut recent, 2, 20);
        assert_eq!(parses.get(), 6);
        // A value over a quarter of the budget is handed out but not kept.
        get(&mut recent, 9, 30);
        get(&mut recent, 9, 30);
        assert_eq!(parses.get(), 8);
        assert!(recent.bytes <= 90);
        // Many hits do not let the queue of uses grow without bound.
        for _ in 0..10_000 {
            get(&mut recent, 1, 20);
        }
        assert!(recent.order.len() <= 4 * recent.entries.len() + 64);
    }

    #[test]
    fn legacy_candidates_are_markdown_files_in_a_group() {
        let (k, role) = classify("sig-node/0008-sysctl.md").unwrap();
        assert_eq!((k.kind, role), (KepKind::Legacy, FileRole::Legacy));
        assert!(classify("sig-node/README.md").is_none());
        assert!(classify("README.md").is_none());
        assert!(classify("0000-kep-template.md").is_none());
    }
}
