//! Git access through gitoxide: opening a repository, resolving revisions, and the object source
//! that every reader here goes through (so a pre-receive quarantine can be layered in).

pub mod changes;
pub mod packs;
pub mod quarantine;
pub mod walk;
pub mod worktree;

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;

use anyhow::{Context, Result, anyhow, bail};
use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::FindExt;

use crate::kep::{BlobSource, RepoFiles};
use quarantine::Layered;

/// Any gix object database, behind one `Copy` handle. `&dyn Find` is not itself `Find`, hence the
/// newtype.
#[derive(Clone, Copy)]
pub struct Objects<'a>(pub &'a dyn gix::objs::Find);

impl gix::objs::Find for Objects<'_> {
    fn try_find<'a>(&self, id: &gix::oid, buffer: &'a mut Vec<u8>) -> gix::Result<Option<gix::objs::Data<'a>>> {
        // gix names a broken loose object by its file path only; every error here names the id.
        self.0.try_find(id, buffer).map_err(|e| {
            gix::Error::from_error(Unreadable {
                id: id.to_owned(),
                cause: e.to_string(),
            })
        })
    }
}

/// An object that is present but cannot be read.
#[derive(Debug)]
struct Unreadable {
    id: ObjectId,
    cause: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "object {} is unreadable or corrupt: {}", self.id, self.cause)
    }
}

impl std::error::Error for Unreadable {}

/// A blob larger than the cap it was read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub id: ObjectId,
    pub size: u64,
    pub cap: u64,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "blob {} is {}, over the {} kepguard reads",
            self.id,
            crate::kep::human_size(self.size),
            crate::kep::human_size(self.cap)
        )
    }
}

impl std::error::Error for TooLarge {}

thread_local! {
    /// The cap of the blob lookup under way on this thread. A `&dyn Find` carries no more than an
    /// id, so this is how [`Layered`] learns it may answer from the object's header alone.
    static BLOB_CAP: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The cap [`Objects::blob_capped`] set for the lookup under way on this thread, taken so that it
/// applies to that one lookup only.
pub(crate) fn take_blob_cap() -> Option<u64> {
    BLOB_CAP.take()
}

/// KEP files: their sizes were read from their headers with the tree entries (see
/// [`crate::kep::FileEntry::size`]), so the cap is only checked again after reading.
impl BlobSource for Objects<'_> {
    fn blob(&self, id: &ObjectId) -> Result<Vec<u8>> {
        self.read_blob(id, crate::kep::MAX_README_BYTES, false)
    }
}

impl Objects<'_> {
    /// The bytes of blob `id`; one over `cap` bytes is a [`TooLarge`] error. A [`Layered`] store
    /// tells the size from the object's header, so such a blob is never inflated.
    pub fn blob_capped(&self, id: &ObjectId, cap: u64) -> Result<Vec<u8>> {
        self.read_blob(id, cap, true)
    }

    fn read_blob(&self, id: &ObjectId, cap: u64, header_first: bool) -> Result<Vec<u8>> {
        self.read_blob_within(id, cap, header_first)?
            .map_err(|size| anyhow::Error::new(TooLarge { id: *id, size, cap }))
    }

    /// The bytes of blob `id`, or its size when that is over `cap`: told without building an
    /// error, as sizing every KEP file asks this thousands of times per history.
    fn read_blob_within(&self, id: &ObjectId, cap: u64, header_first: bool) -> Result<Result<Vec<u8>, u64>> {
        let mut buf = Vec::new();
        BLOB_CAP.set(header_first.then_some(cap));
        // Where the object landed: stores decode into `buf`, which is then handed over uncopied.
        let found = self
            .0
            .try_find(id, &mut buf)
            .map(|o| o.map(|d| (d.kind, d.data.as_ptr() as usize, d.data.len())));
        BLOB_CAP.set(None);
        match found {
            Ok(Some((gix::object::Kind::Blob, at, len))) => match len as u64 {
                size if size > cap => Ok(Err(size)),
                _ if at == buf.as_ptr() as usize && len <= buf.len() => {
                    buf.truncate(len);
                    Ok(Ok(buf))
                }
                _ => {
                    let mut again = Vec::new();
                    match self.0.try_find(id, &mut again) {
                        Ok(Some(d)) => Ok(Ok(d.data.to_vec())),
                        _ => bail!("cannot read blob {id}"),
                    }
                }
            },
            Ok(Some((kind, ..))) => bail!("object {id} is a {kind}, not a blob"),
            Ok(None) => bail!("blob {id} is missing from the object database"),
            Err(e) => match e.downcast_any_ref::<TooLarge>() {
                Some(t) => Ok(Err(t.size)),
                None => bail!("cannot read blob {id}: {}", e),
            },
        }
    }

    /// The size of blob `id`: from its header with a [`Layered`] store, otherwise by reading it.
    pub fn blob_size(&self, id: &ObjectId) -> Result<u64> {
        Ok(match self.read_blob_within(id, 0, true)? {
            Ok(bytes) => bytes.len() as u64,
            Err(size) => size,
        })
    }

    /// The tree of commit `id`.
    pub fn commit_tree(&self, id: &ObjectId) -> Result<ObjectId> {
        let mut buf = Vec::new();
        let mut commit = self
            .find_commit_iter(id, &mut buf)
            .with_context(|| format!("cannot read commit {id}"))?;
        commit.tree_id().with_context(|| format!("commit {id} has no tree"))
    }

    /// The id and mode of the entry at `path` below `tree`.
    pub fn entry_at(&self, tree: ObjectId, path: &[&str]) -> Result<Option<(ObjectId, gix::objs::tree::EntryMode)>> {
        let mut current = tree;
        for (i, name) in path.iter().enumerate() {
            match self.child(current, name)? {
                Some((id, mode)) if i + 1 == path.len() => return Ok(Some((id, mode))),
                Some((id, mode)) if mode.is_tree() => current = id,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The entry `name` of tree `tree`, read up to it. A large tree (a group directory holding
    /// thousands of KEPs) is indexed once and kept for a while, so that looking up each of its
    /// KEPs stays linear in their number rather than quadratic.
    fn child(&self, tree: ObjectId, name: &str) -> Result<Option<(ObjectId, gix::objs::tree::EntryMode)>> {
        type Index = std::rc::Rc<std::collections::HashMap<Vec<u8>, (ObjectId, gix::objs::tree::EntryMode)>>;
        // About 256 entries: an entry takes its name, a mode and a 20-byte id.
        const INDEXED_FROM_BYTES: usize = 256 * 40;
        const KEPT: usize = 8;
        thread_local! {
            static INDEXES: std::cell::RefCell<std::collections::VecDeque<(ObjectId, Index)>> =
                const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
        }
        if let Some(index) = INDEXES.with_borrow(|c| c.iter().find(|(id, _)| *id == tree).map(|(_, i)| i.clone())) {
            return Ok(index.get(name.as_bytes()).copied());
        }
        let mut buf = Vec::new();
        let data = match self.0.try_find(&tree, &mut buf) {
            Ok(Some(d)) if d.kind == gix::object::Kind::Tree => d.data,
            Ok(Some(d)) => bail!("object {tree} is a {}, not a tree", d.kind),
            Ok(None) => bail!("cannot read tree {tree}: it is missing from the object database"),
            Err(e) => bail!("cannot read tree {tree}: {e}"),
        };
        let entries = gix::objs::TreeRefIter::from_bytes(data, tree.kind());
        let corrupt = || format!("tree {tree} is corrupt");
        if data.len() < INDEXED_FROM_BYTES {
            for entry in entries {
                let entry = entry.with_context(corrupt)?;
                if entry.filename.as_bytes() == name.as_bytes() {
                    return Ok(Some((entry.oid.to_owned(), entry.mode)));
                }
            }
            return Ok(None);
        }
        let mut index = std::collections::HashMap::new();
        for entry in entries {
            let entry = entry.with_context(corrupt)?;
            index.insert(entry.filename.as_bytes().to_vec(), (entry.oid.to_owned(), entry.mode));
        }
        let found = index.get(name.as_bytes()).copied();
        INDEXES.with_borrow_mut(|c| {
            if c.len() == KEPT {
                c.pop_front();
            }
            c.push_back((tree, std::rc::Rc::new(index)));
        });
        Ok(found)
    }

    /// The entry at `path` below `tree`, following a symbolic link in its last component to what
    /// it names inside `tree`, as a checkout would (and kepval, which opens files by path, does).
    /// A link leaving `tree`, an absolute one, or a chain of more than eight resolves to `None`.
    pub fn entry_following(
        &self,
        tree: ObjectId,
        path: &[&str],
    ) -> Result<Option<(ObjectId, gix::objs::tree::EntryMode)>> {
        let mut path: Vec<String> = path.iter().map(|p| (*p).to_owned()).collect();
        for _ in 0..8 {
            let parts: Vec<&str> = path.iter().map(String::as_str).collect();
            let Some((id, mode)) = self.entry_at(tree, &parts)? else {
                return Ok(None);
            };
            if !mode.is_link() {
                return Ok(Some((id, mode)));
            }
            let target = self
                .blob_capped(&id, 4096)
                .with_context(|| format!("cannot read link {}", parts.join("/")))?;
            let target = String::from_utf8_lossy(&target).into_owned();
            if target.starts_with('/') {
                return Ok(None);
            }
            let mut joined: Vec<String> = path[..path.len() - 1].to_vec();
            for part in target.split('/') {
                match part {
                    "" | "." => {}
                    ".." => {
                        if joined.pop().is_none() {
                            return Ok(None);
                        }
                    }
                    p => joined.push(p.to_owned()),
                }
            }
            if joined.is_empty() {
                return Ok(None);
            }
            path = joined;
        }
        Ok(None)
    }

    /// The text of the regular file at slash-separated `path` below `tree` (a symbolic link
    /// followed to one); `None` when there is no such file, or it is a directory or submodule.
    pub fn file_text(&self, tree: ObjectId, path: &str) -> Result<Option<String>> {
        match self.file_id(tree, path)? {
            Some(id) => self.text_of(&id, path).map(Some),
            None => Ok(None),
        }
    }

    /// The blob id of the regular file at `path` below `tree` (symbolic links followed).
    pub fn file_id(&self, tree: ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        Ok(match self.entry_following(tree, &parts)? {
            Some((id, mode)) if mode.is_blob() => Some(id),
            _ => None,
        })
    }

    /// The text of blob `id`, read for `path` (named in errors); capped as a README is.
    fn text_of(&self, id: &ObjectId, path: &str) -> Result<String> {
        let bytes = self
            .blob_capped(id, crate::kep::MAX_README_BYTES)
            .with_context(|| format!("cannot read {path}"))?;
        Ok(crate::kep::decode_text(bytes))
    }

    /// The message of commit `id`.
    pub fn commit_message(&self, id: &ObjectId) -> Result<String> {
        let mut buf = Vec::new();
        let commit = self
            .find_commit(id, &mut buf)
            .with_context(|| format!("cannot read commit {id}"))?;
        Ok(String::from_utf8_lossy(commit.message).into_owned())
    }

    /// The first parent of commit `id`, if any.
    pub fn first_parent(&self, id: &ObjectId) -> Result<Option<ObjectId>> {
        let mut buf = Vec::new();
        let commit = self
            .find_commit_iter(id, &mut buf)
            .with_context(|| format!("cannot read commit {id}"))?;
        Ok(commit.parent_ids().next())
    }

    /// The best common ancestor of `a` and `b`, if they share history.
    pub fn merge_base(&self, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>> {
        let mut graph = gix::revwalk::Graph::new(*self, None);
        let bases = gix::revision::plumbing::merge_base(a, &[b], &mut graph)
            .with_context(|| format!("cannot compute the merge-base of {a} and {b}"))?;
        Ok(bases.map(|b| *b.first()))
    }
}

/// A file's text as [`RepoFiles`] gives it, shared rather than copied.
type FileText = Option<Rc<str>>;

/// [`RepoFiles`] over two trees, each file and directory listing read at most once.
pub struct TreeFiles<'a> {
    objects: Objects<'a>,
    new_tree: ObjectId,
    base_tree: Option<ObjectId>,
    cache: std::cell::RefCell<std::collections::HashMap<(bool, String), FileText>>,
    dirs: std::cell::RefCell<std::collections::HashMap<String, Vec<String>>>,
    /// Texts by blob id, shared by the commits of a run: the template and `OWNERS_ALIASES` rarely
    /// change from one commit to the next.
    texts: Option<&'a std::cell::RefCell<FileTexts>>,
}

/// Values by key (an object id unless said otherwise) within a byte budget, the oldest dropped
/// first; a value over `largest` bytes is not kept. What a run meets again commit after commit:
/// file texts, trees, decoded pack entries.
#[derive(Clone)]
pub(crate) struct Kept<V, K = ObjectId> {
    /// Each value with its size.
    by_key: foldhash::HashMap<K, (V, usize)>,
    order: std::collections::VecDeque<K>,
    bytes: usize,
    budget: usize,
    largest: usize,
}

impl<V, K: std::hash::Hash + Eq + Clone> Kept<V, K> {
    pub(crate) fn new(budget: usize, largest: usize) -> Kept<V, K> {
        Kept {
            by_key: Default::default(),
            order: Default::default(),
            bytes: 0,
            budget,
            largest,
        }
    }

    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    pub(crate) fn get<Q: std::hash::Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
    {
        self.by_key.get(key).map(|(v, _)| v)
    }

    /// Keeps the value `make` gives for `key`, `len` bytes, unless it is kept already or too large.
    pub(crate) fn insert_with(&mut self, key: K, len: usize, make: impl FnOnce() -> V) {
        if len > self.largest || self.by_key.contains_key(&key) {
            return;
        }
        while self.bytes + len > self.budget {
            let Some(old) = self.order.pop_front() else { break };
            if let Some((_, size)) = self.by_key.remove(&old) {
                self.bytes -= size;
            }
        }
        self.bytes += len;
        self.by_key.insert(key.clone(), (make(), len));
        self.order.push_back(key);
    }
}

/// The texts of the repository files rules read, by blob id (see [`TreeFiles`]).
pub struct FileTexts(Kept<Rc<str>>);

impl Default for FileTexts {
    /// Enough for a commit that deletes a hundred legacy KEPs, which every new KEP of it reads.
    fn default() -> Self {
        FileTexts(Kept::new(4 << 20, 1 << 20))
    }
}

impl<'a> TreeFiles<'a> {
    pub fn new(objects: Objects<'a>, new_tree: ObjectId, base_tree: Option<ObjectId>) -> TreeFiles<'a> {
        TreeFiles {
            objects,
            new_tree,
            base_tree,
            cache: Default::default(),
            dirs: Default::default(),
            texts: None,
        }
    }

    /// Reads texts through `texts`, kept from commit to commit.
    pub fn with_texts(mut self, texts: &'a std::cell::RefCell<FileTexts>) -> TreeFiles<'a> {
        self.texts = Some(texts);
        self
    }

    fn file(&self, base: bool, path: &str) -> Result<Option<Rc<str>>> {
        let key = (base, path.to_owned());
        if let Some(hit) = self.cache.borrow().get(&key) {
            return Ok(hit.clone());
        }
        let tree = if base { self.base_tree } else { Some(self.new_tree) };
        let id = match tree {
            Some(tree) => self.objects.file_id(tree, path)?,
            None => None,
        };
        let text = match (id, self.texts) {
            (None, _) => None,
            (Some(id), None) => Some(self.objects.text_of(&id, path)?.into()),
            (Some(id), Some(texts)) => {
                let hit = texts.borrow().0.get(&id).cloned();
                match hit {
                    Some(text) => Some(text),
                    None => {
                        let text: Rc<str> = self.objects.text_of(&id, path)?.into();
                        let len = text.len();
                        texts.borrow_mut().0.insert_with(id, len, || text.clone());
                        Some(text)
                    }
                }
            }
        };
        self.cache.borrow_mut().insert(key, text.clone());
        Ok(text)
    }
}

impl RepoFiles for TreeFiles<'_> {
    fn new_file(&self, path: &str) -> Result<Option<Rc<str>>> {
        self.file(false, path)
    }

    fn base_file(&self, path: &str) -> Result<Option<Rc<str>>> {
        self.file(true, path)
    }

    fn new_dirs(&self, path: &str) -> Result<Vec<String>> {
        if let Some(hit) = self.dirs.borrow().get(path) {
            return Ok(hit.clone());
        }
        let dirs = self.list(self.new_tree, path, |m| m.is_tree())?;
        self.dirs.borrow_mut().insert(path.to_owned(), dirs.clone());
        Ok(dirs)
    }

    fn new_entries(&self, path: &str) -> Result<Vec<(String, crate::kep::EntryKind)>> {
        use crate::kep::EntryKind;
        Ok(self
            .entries(self.new_tree, path)?
            .into_iter()
            .map(|(name, mode)| {
                let kind = if mode.is_blob() {
                    EntryKind::File
                } else if mode.is_link() {
                    EntryKind::Link
                } else if mode.is_tree() {
                    EntryKind::Dir
                } else {
                    EntryKind::Other
                };
                (name, kind)
            })
            .collect())
    }

    fn base_files(&self, path: &str) -> Result<Vec<String>> {
        match self.base_tree {
            Some(tree) => self.list(tree, path, |m| m.is_blob()),
            None => Ok(Vec::new()),
        }
    }

    fn deleted_files(&self, path: &str) -> Result<Vec<String>> {
        let Some(base) = self.base_tree.filter(|b| *b != self.new_tree) else {
            return Ok(Vec::new());
        };
        let is_file = |m: gix::objs::tree::EntryMode| m.is_blob();
        let kept = self.list(self.new_tree, path, is_file)?;
        let mut deleted = self.list(base, path, is_file)?;
        deleted.retain(|name| !kept.contains(name));
        Ok(deleted)
    }
}

impl TreeFiles<'_> {
    /// The names of the entries directly under `path` in `tree` whose mode passes `keep`.
    fn list(
        &self,
        tree: ObjectId,
        path: &str,
        keep: impl Fn(gix::objs::tree::EntryMode) -> bool,
    ) -> Result<Vec<String>> {
        Ok(self
            .entries(tree, path)?
            .into_iter()
            .filter(|(_, mode)| keep(*mode))
            .map(|(name, _)| name)
            .collect())
    }

    /// The entries directly under `path` in `tree`, in tree order; none when it is no directory.
    fn entries(&self, tree: ObjectId, path: &str) -> Result<Vec<(String, gix::objs::tree::EntryMode)>> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let dir = match parts.is_empty() {
            true => Some(tree),
            false => self
                .objects
                .entry_at(tree, &parts)?
                .filter(|(_, m)| m.is_tree())
                .map(|(id, _)| id),
        };
        let Some(dir) = dir else { return Ok(Vec::new()) };
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for entry in self
            .objects
            .find_tree_iter(&dir, &mut buf)
            .with_context(|| format!("cannot read tree {dir}"))?
        {
            let entry = entry.with_context(|| format!("tree {dir} is corrupt"))?;
            out.push((entry.filename.to_string(), entry.mode));
        }
        Ok(out)
    }
}

/// The commit a full reference name points to, if it exists and peels to a commit.
pub fn reference_commit(repo: &gix::Repository, name: &str) -> Option<ObjectId> {
    Some(repo.try_find_reference(name).ok()??.peel_to_commit().ok()?.id)
}

/// The commits the references under `prefix` (all references for `None`) point to, sorted and
/// without duplicates; references that do not peel to a commit are left out.
pub fn ref_tips(repo: &gix::Repository, prefix: Option<&str>) -> Result<Vec<ObjectId>> {
    let platform = repo.references().context("cannot list references")?;
    let references = match prefix {
        Some(prefix) => platform.prefixed(prefix),
        None => platform.all(),
    }
    .context("cannot list references")?;
    let mut tips: Vec<ObjectId> = references
        .filter_map(Result::ok)
        .filter_map(|mut r| r.peel_to_commit().ok().map(|c| c.id))
        .collect();
    tips.sort();
    tips.dedup();
    Ok(tips)
}

/// The blobs and symlinks below `tree` (at `dir`), by path.
fn tree_files(
    objects: Objects<'_>,
    tree: ObjectId,
    dir: &str,
    out: &mut std::collections::HashMap<String, ObjectId>,
) -> Result<()> {
    let mut buf = Vec::new();
    let mut subtrees = Vec::new();
    for entry in objects
        .find_tree_iter(&tree, &mut buf)
        .with_context(|| format!("cannot read tree {tree}"))?
    {
        let entry = entry.with_context(|| format!("tree {tree} is corrupt"))?;
        let path = format!("{dir}/{}", entry.filename);
        if entry.mode.is_tree() {
            subtrees.push((entry.oid.to_owned(), path));
        } else if !entry.mode.is_commit() {
            out.insert(path, entry.oid.to_owned());
        }
    }
    for (id, path) in subtrees {
        tree_files(objects, id, &path, out)?;
    }
    Ok(())
}

/// Adds the untracked `.md`, `.yaml` and `.yml` files below `workdir/root` to `out`.
pub(crate) fn untracked_keps(
    workdir: &Path,
    root: &str,
    tracked: &std::collections::HashSet<String>,
    out: &mut std::collections::BTreeSet<String>,
) {
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(workdir.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let path = format!("{dir}/{name}");
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(path),
                Ok(_) if [".md", ".yaml", ".yml"].iter().any(|e| name.ends_with(e)) && !tracked.contains(&path) => {
                    out.insert(path);
                }
                _ => {}
            }
        }
    }
}

/// An opened repository.
pub struct Repo {
    pub repo: gix::Repository,
    /// The repository's objects, read through [`Layered`] so that blob caps hold.
    pub store: Layered,
}

impl Repo {
    /// Opens the repository at or above `dir` (work tree or bare).
    pub fn open(dir: &Path) -> Result<Repo> {
        // gix's discovery does not find a bare repository named by a relative path with `..` in it
        // (`../keps.git`): it is given the directory's absolute, resolved path instead.
        let absolute = std::fs::canonicalize(dir).map_err(|e| {
            anyhow!(
                "{}: not a git repository (cannot open the directory: {e})",
                dir.display()
            )
        })?;
        let repo = gix::discover(&absolute).map_err(|e| anyhow!("{}: not a git repository ({e})", dir.display()))?;
        let store = Layered::new(&repo, None)?;
        Ok(Repo { repo, store })
    }

    pub fn objects(&self) -> Objects<'_> {
        Objects(&self.store)
    }

    /// Resolves `rev` to a commit id.
    pub fn resolve(&self, rev: &str) -> Result<ObjectId> {
        let id = match self.repo.rev_parse_single(rev) {
            Ok(id) => id.detach(),
            Err(e) => bail!("{}{}", self.unresolvable(rev, &e.to_string()), self.shallow_hint()),
        };
        let object = self.repo.find_object(id).map_err(|e| {
            anyhow!(
                "revision `{rev}`: object {id} is missing or corrupt: {e}{}",
                self.shallow_hint()
            )
        })?;
        let commit = object
            .peel_to_commit()
            .map_err(|e| anyhow!("revision `{rev}` is not a commit: {e}"))?;
        Ok(commit.id)
    }

    /// Why `rev` names nothing, as plainly as the repository's state allows.
    fn unresolvable(&self, rev: &str, cause: &str) -> String {
        let unborn = match self.repo.head() {
            Ok(head) if head.is_unborn() => head.referent_name().map(|n| n.as_bstr().to_string()),
            _ => None,
        };
        // The reference `rev` starts from (`HEAD~2`, `main^`, `@`).
        let name = rev.split(['^', '~', ':']).next().unwrap_or(rev);
        let name = if name.is_empty() || name == "@" { "HEAD" } else { name };
        if let Some(full) = unborn {
            let short = full.strip_prefix("refs/heads/").unwrap_or(&full);
            if [full.as_str(), short, "HEAD"].contains(&name) {
                return format!("cannot resolve revision `{rev}`: HEAD is unborn, branch `{short}` has no commits yet");
            }
        }
        // A reference that exists but points to an object that cannot be read.
        if let Ok(Some(mut reference)) = self.repo.try_find_reference(name)
            && let Ok(id) = reference.follow_to_object()
        {
            let state = match self.repo.try_find_object(id) {
                Ok(Some(_)) => None,
                Ok(None) => Some("is missing".to_owned()),
                Err(e) => Some(format!("is unreadable or corrupt: {e}")),
            };
            if let Some(state) = state {
                return format!("cannot resolve revision `{rev}`: `{name}` points to object {id}, which {state}");
            }
        }
        let hex = rev.len() >= 4 && rev.bytes().all(|b| b.is_ascii_hexdigit());
        if hex && rev.len() == self.repo.object_hash().len_in_hex() {
            return format!("revision `{rev}`: commit {rev} is not in this repository");
        }
        if hex {
            return format!("revision `{rev}`: no object in this repository has an id starting with `{rev}`");
        }
        format!("cannot resolve revision `{rev}`: {cause}")
    }

    /// A note for errors about missing history, where the repository is a shallow clone.
    pub fn shallow_hint(&self) -> &'static str {
        if self.repo.is_shallow().unwrap_or(false) {
            " (the clone is shallow: fetch the missing history, such as with `git fetch --unshallow`)"
        } else {
            ""
        }
    }

    /// The files under directory `root` whose committed state in `head` differs from the index or
    /// the work tree: staged and unstaged edits and deletions, and `.md`/`.yaml`/`.yml` files git
    /// does not track yet (other untracked files are editor and build litter, and ignore rules are
    /// not read). Sorted; empty for a bare repository. Read-only: the index is read as it is,
    /// never refreshed or written, and a file is hashed only when its size or mtime differs from
    /// the index (or the index cannot tell, being written in the same second).
    pub fn uncommitted(&self, head: ObjectId, root: &str) -> Result<Vec<String>> {
        use gix::index::entry::{Flags, Mode, stat};
        let Some(workdir) = self.repo.workdir() else {
            return Ok(Vec::new());
        };
        let root = root.trim_matches('/');
        let objects = self.objects();
        let mut committed = std::collections::HashMap::new();
        if let Some((tree, mode)) =
            objects.entry_at(objects.commit_tree(&head)?, &root.split('/').collect::<Vec<_>>())?
            && mode.is_tree()
        {
            tree_files(objects, tree, root, &mut committed)?;
        }
        let index = self.repo.index_or_empty().context("cannot read the index")?;
        let stat_options = stat::Options {
            trust_ctime: false,
            check_stat: false,
            use_nsec: false,
            use_stdev: false,
        };
        let mut changed = std::collections::BTreeSet::new();
        let mut tracked = std::collections::HashSet::new();
        let prefix = format!("{root}/");
        for entry in index.entries() {
            let path = entry.path(&index).to_str_lossy();
            if !path.starts_with(&prefix) || entry.mode.contains(Mode::COMMIT) || entry.mode.contains(Mode::DIR) {
                continue;
            }
            tracked.insert(path.to_string());
            // Staged: the index differs from the commit.
            if committed.get(path.as_ref()) != Some(&entry.id) || entry.flags.contains(Flags::INTENT_TO_ADD) {
                changed.insert(path.to_string());
                continue;
            }
            if entry.flags.contains(Flags::SKIP_WORKTREE) {
                continue;
            }
            // Unstaged: the work tree file differs from the index.
            let Ok(relative) = gix::path::from_bstr(entry.path(&index)) else {
                changed.insert(path.to_string());
                continue;
            };
            let file = workdir.join(relative);
            let Ok(meta) = gix::index::fs::Metadata::from_path_no_follow(&file) else {
                changed.insert(path.to_string());
                continue;
            };
            let same_stat =
                gix::index::entry::Stat::from_fs(&meta).is_ok_and(|disk| entry.stat.matches(&disk, stat_options));
            if same_stat && !entry.stat.is_racy(index.timestamp(), stat_options) {
                continue;
            }
            // A file over the cap is never read (as in a check): its size alone says whether it
            // changed.
            let size = meta.len();
            if !entry.mode.contains(Mode::SYMLINK) && size > crate::kep::MAX_README_BYTES {
                if size != u64::from(entry.stat.size) {
                    changed.insert(path.to_string());
                }
                continue;
            }
            let bytes = if entry.mode.contains(Mode::SYMLINK) {
                std::fs::read_link(&file)
                    .ok()
                    .and_then(|t| gix::path::into_bstr(t).ok().map(|b| b.to_vec()))
            } else {
                std::fs::read(&file).ok()
            };
            let same = bytes
                .and_then(|b| gix::objs::compute_hash(self.repo.object_hash(), gix::object::Kind::Blob, &b).ok())
                == Some(entry.id);
            if !same {
                changed.insert(path.to_string());
            }
        }
        // Deleted from the index (`git rm --cached`, or a staged deletion).
        changed.extend(committed.keys().filter(|p| !tracked.contains(*p)).cloned());
        untracked_keps(workdir, root, &tracked, &mut changed);
        Ok(changed.into_iter().collect())
    }

    /// Whether HEAD is a branch without commits yet.
    pub fn head_is_unborn(&self) -> bool {
        self.repo.head().is_ok_and(|h| h.is_unborn())
    }

    /// The commit a full reference name points to, if it exists and peels to a commit.
    pub fn reference_commit(&self, name: &str) -> Option<ObjectId> {
        reference_commit(&self.repo, name)
    }

    /// The remote default branch: `origin/HEAD`, else `origin/main`, else `origin/master`.
    pub fn default_base(&self) -> Result<(String, ObjectId)> {
        for name in [
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
            "refs/remotes/origin/master",
        ] {
            if let Some(id) = self.reference_commit(name) {
                return Ok((name.trim_start_matches("refs/remotes/").to_owned(), id));
            }
        }
        bail!("cannot find the base branch (no origin/HEAD, origin/main or origin/master): pass --base REV")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_values_stay_within_their_budget_oldest_out_first() {
        let id = |n: u8| ObjectId::from_bytes_or_panic(&[n; 20]);
        let mut kept: Kept<Vec<u8>> = Kept::new(10, 6);
        kept.insert_with(id(1), 4, || vec![1; 4]);
        kept.insert_with(id(2), 4, || vec![2; 4]);
        // Kept already: not made again.
        kept.insert_with(id(1), 4, || unreachable!());
        // Over the largest kept: left out, nothing dropped for it.
        kept.insert_with(id(3), 7, || vec![3; 7]);
        assert!(kept.get(&id(3)).is_none() && kept.get(&id(1)).is_some());
        // Past the budget: the oldest goes.
        kept.insert_with(id(4), 4, || vec![4; 4]);
        assert!(kept.get(&id(1)).is_none());
        assert_eq!(kept.get(&id(2)), Some(&vec![2; 4]));
        assert_eq!(kept.get(&id(4)), Some(&vec![4; 4]));
        assert_eq!(kept.bytes, 8);
    }
}
