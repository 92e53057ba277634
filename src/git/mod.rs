//! Git access through gitoxide: opening a repository, resolving revisions, and the object source
//! that every reader here goes through (so a pre-receive quarantine can be layered in).

pub mod changes;
pub mod quarantine;
pub mod walk;

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::FindExt;

use crate::kep::{BlobSource, RepoFiles};

/// Any gix object database, behind one `Copy` handle. `&dyn Find` is not itself `Find`, hence the
/// newtype.
#[derive(Clone, Copy)]
pub struct Objects<'a>(pub &'a dyn gix::objs::Find);

impl gix::objs::Find for Objects<'_> {
    fn try_find<'a>(&self, id: &gix::oid, buffer: &'a mut Vec<u8>) -> gix::Result<Option<gix::objs::Data<'a>>> {
        self.0.try_find(id, buffer)
    }
}

impl BlobSource for Objects<'_> {
    fn blob(&self, id: &ObjectId) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        let blob = self
            .find_blob(id, &mut buf)
            .with_context(|| format!("cannot read blob {id}"))?;
        Ok(blob.data.to_vec())
    }
}

impl Objects<'_> {
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
        let mut buf = Vec::new();
        let mut current = tree;
        for (i, name) in path.iter().enumerate() {
            let found = self
                .find_tree_iter(&current, &mut buf)
                .with_context(|| format!("cannot read tree {current}"))?
                .filter_map(Result::ok)
                .find(|e| e.filename.as_bytes() == name.as_bytes())
                .map(|e| (e.oid.to_owned(), e.mode));
            match found {
                Some((id, mode)) if i + 1 == path.len() => return Ok(Some((id, mode))),
                Some((id, mode)) if mode.is_tree() => current = id,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The text of the regular file at slash-separated `path` below `tree`; `None` when there is
    /// no such file (or it is a symlink, directory or submodule).
    pub fn file_text(&self, tree: ObjectId, path: &str) -> Result<Option<String>> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        match self.entry_at(tree, &parts)? {
            Some((id, mode)) if mode.is_blob() => Ok(Some(crate::kep::decode_text(self.blob(&id)?))),
            _ => Ok(None),
        }
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

/// [`RepoFiles`] over two trees, each file and directory listing read at most once.
pub struct TreeFiles<'a> {
    objects: Objects<'a>,
    new_tree: ObjectId,
    base_tree: Option<ObjectId>,
    cache: std::cell::RefCell<std::collections::HashMap<(bool, String), Option<String>>>,
    dirs: std::cell::RefCell<std::collections::HashMap<String, Vec<String>>>,
}

impl<'a> TreeFiles<'a> {
    pub fn new(objects: Objects<'a>, new_tree: ObjectId, base_tree: Option<ObjectId>) -> TreeFiles<'a> {
        TreeFiles {
            objects,
            new_tree,
            base_tree,
            cache: Default::default(),
            dirs: Default::default(),
        }
    }

    fn file(&self, base: bool, path: &str) -> Result<Option<String>> {
        let key = (base, path.to_owned());
        if let Some(hit) = self.cache.borrow().get(&key) {
            return Ok(hit.clone());
        }
        let tree = if base { self.base_tree } else { Some(self.new_tree) };
        let text = match tree {
            Some(tree) => self.objects.file_text(tree, path)?,
            None => None,
        };
        self.cache.borrow_mut().insert(key, text.clone());
        Ok(text)
    }
}

impl RepoFiles for TreeFiles<'_> {
    fn new_file(&self, path: &str) -> Result<Option<String>> {
        self.file(false, path)
    }

    fn base_file(&self, path: &str) -> Result<Option<String>> {
        self.file(true, path)
    }

    fn new_dirs(&self, path: &str) -> Result<Vec<String>> {
        if let Some(hit) = self.dirs.borrow().get(path) {
            return Ok(hit.clone());
        }
        let dirs = self.list_dirs(path)?;
        self.dirs.borrow_mut().insert(path.to_owned(), dirs.clone());
        Ok(dirs)
    }
}

impl TreeFiles<'_> {
    fn list_dirs(&self, path: &str) -> Result<Vec<String>> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let dir = match parts.is_empty() {
            true => Some(self.new_tree),
            false => self
                .objects
                .entry_at(self.new_tree, &parts)?
                .filter(|(_, m)| m.is_tree())
                .map(|(id, _)| id),
        };
        let Some(dir) = dir else { return Ok(Vec::new()) };
        let mut buf = Vec::new();
        Ok(self
            .objects
            .find_tree_iter(&dir, &mut buf)?
            .filter_map(Result::ok)
            .filter(|e| e.mode.is_tree())
            .map(|e| e.filename.to_string())
            .collect())
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

/// An opened repository.
pub struct Repo {
    pub repo: gix::Repository,
}

impl Repo {
    /// Opens the repository at or above `dir` (work tree or bare).
    pub fn open(dir: &Path) -> Result<Repo> {
        let mut repo = gix::discover(dir).map_err(|e| anyhow!("{}: not a git repository ({e})", dir.display()))?;
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        Ok(Repo { repo })
    }

    pub fn objects(&self) -> Objects<'_> {
        Objects(&self.repo.objects)
    }

    /// Resolves `rev` to a commit id.
    pub fn resolve(&self, rev: &str) -> Result<ObjectId> {
        let id = self
            .repo
            .rev_parse_single(rev)
            .map_err(|e| anyhow!("cannot resolve revision `{rev}`: {e}"))?;
        let commit = id
            .object()
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| anyhow!("revision `{rev}` is not a commit: {e}"))?;
        Ok(commit.id)
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
