//! What a commit would hold, before it is made: the tree of the index (`check --staged`) or of the
//! work tree (`check --worktree`), built in memory. Its new blobs and trees live in an
//! [`Overlay`] that the object source reads first: nothing is written to the repository, and the
//! index is read as it is, never refreshed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{Context, Result};
use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::tree::{Entry, EntryKind, EntryMode};
use gix::objs::{FindExt, Kind, Tree, WriteTo};

use super::{Objects, Repo};

/// Objects made in memory, by id.
pub type Overlay = Arc<HashMap<ObjectId, (Kind, Vec<u8>)>>;

/// Which state of the KEP root to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The index, as `git commit` would commit it.
    Index,
    /// The files on disk: the index's files as they are now (deleted ones gone), plus untracked
    /// `.md`, `.yaml` and `.yml` files under the KEP root.
    WorkTree,
}

/// The tree of `base_tree` (`None`: empty) with its `root` directory replaced by `source`'s
/// (`None` when that leaves it empty), and the objects it needs that the repository lacks. Only the KEP root is taken from the index or disk: the rest of
/// the tree is `base_tree`'s.
pub fn tree(
    repo: &Repo,
    base_tree: Option<ObjectId>,
    root: &str,
    source: Source,
) -> Result<(Option<ObjectId>, Overlay)> {
    let hash = repo.repo.object_hash();
    let index = repo.repo.index_or_empty().context("cannot read the index")?;
    let root = root.trim_matches('/');
    let prefix = format!("{root}/");
    let workdir = repo.repo.workdir().map(std::path::Path::to_path_buf);
    let mut made: HashMap<ObjectId, (Kind, Vec<u8>)> = HashMap::new();
    let mut files: BTreeMap<String, (ObjectId, EntryMode)> = BTreeMap::new();
    let blob = |bytes: Vec<u8>, made: &mut HashMap<ObjectId, (Kind, Vec<u8>)>| -> Result<ObjectId> {
        let id = gix::objs::compute_hash(hash, Kind::Blob, &bytes)?;
        made.insert(id, (Kind::Blob, bytes));
        Ok(id)
    };
    for entry in index.entries() {
        let path = entry.path(&index).to_str_lossy().into_owned();
        if !path.starts_with(&prefix) || entry.stage_raw() != 0 {
            continue;
        }
        let Some(mode) = entry.mode.to_tree_entry_mode() else {
            continue;
        };
        match (source, &workdir) {
            (Source::WorkTree, Some(dir)) if !mode.is_commit() => {
                let file = dir.join(&path);
                let is_link = std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_symlink());
                let bytes = match is_link {
                    true => std::fs::read_link(&file)
                        .ok()
                        .and_then(|t| gix::path::into_bstr(t).ok().map(|b| b.to_vec())),
                    false => std::fs::read(&file).ok(),
                };
                // Deleted on disk: not in the work tree's commit.
                let Some(bytes) = bytes else { continue };
                let mode = match is_link {
                    true => EntryKind::Link.into(),
                    false => mode,
                };
                files.insert(path, (blob(bytes, &mut made)?, mode));
            }
            _ => {
                files.insert(path, (entry.id, mode));
            }
        }
    }
    if let (Source::WorkTree, Some(dir)) = (source, &workdir) {
        let tracked: std::collections::HashSet<String> = files.keys().cloned().collect();
        let mut untracked = std::collections::BTreeSet::new();
        super::untracked_keps(dir, root, &tracked, &mut untracked);
        for path in untracked {
            if let Ok(bytes) = std::fs::read(dir.join(&path)) {
                files.insert(path, (blob(bytes, &mut made)?, EntryKind::Blob.into()));
            }
        }
    }
    let relative: BTreeMap<String, (ObjectId, EntryMode)> = files
        .into_iter()
        .map(|(p, e)| (p[prefix.len()..].to_owned(), e))
        .collect();
    let root_tree = build(&relative, hash, &mut made)?;
    let objects = repo.objects();
    let parts: Vec<&str> = root.split('/').filter(|p| !p.is_empty()).collect();
    let new = replace(objects, base_tree, &parts, root_tree, hash, &mut made)?;
    Ok((new, Arc::new(made)))
}

/// The tree holding `files` (paths relative to it), its subtrees added to `made`; `None` when
/// there are no files.
fn build(
    files: &BTreeMap<String, (ObjectId, EntryMode)>,
    hash: gix::hash::Kind,
    made: &mut HashMap<ObjectId, (Kind, Vec<u8>)>,
) -> Result<Option<ObjectId>> {
    if files.is_empty() {
        return Ok(None);
    }
    let mut entries = Vec::new();
    let mut dirs: BTreeMap<&str, BTreeMap<String, (ObjectId, EntryMode)>> = BTreeMap::new();
    for (path, (id, mode)) in files {
        match path.split_once('/') {
            Some((dir, rest)) => {
                dirs.entry(dir).or_default().insert(rest.to_owned(), (*id, *mode));
            }
            None => entries.push(Entry {
                mode: *mode,
                filename: path.as_str().into(),
                oid: *id,
            }),
        }
    }
    for (dir, inner) in dirs {
        if let Some(id) = build(&inner, hash, made)? {
            entries.push(Entry {
                mode: EntryKind::Tree.into(),
                filename: dir.into(),
                oid: id,
            });
        }
    }
    Ok(Some(store_tree(entries, hash, made)?))
}

fn store_tree(
    mut entries: Vec<Entry>,
    hash: gix::hash::Kind,
    made: &mut HashMap<ObjectId, (Kind, Vec<u8>)>,
) -> Result<ObjectId> {
    entries.sort();
    let mut bytes = Vec::new();
    Tree { entries }.write_to(&mut bytes)?;
    let id = gix::objs::compute_hash(hash, Kind::Tree, &bytes)?;
    made.insert(id, (Kind::Tree, bytes));
    Ok(id)
}

/// `tree` (`None`: the empty tree) with the entry at `path` set to `new` (removed for `None`), its
/// changed trees added to `made`.
fn replace(
    objects: Objects<'_>,
    tree: Option<ObjectId>,
    path: &[&str],
    new: Option<ObjectId>,
    hash: gix::hash::Kind,
    made: &mut HashMap<ObjectId, (Kind, Vec<u8>)>,
) -> Result<Option<ObjectId>> {
    let mut entries: Vec<Entry> = match tree {
        Some(tree) => {
            let mut buf = Vec::new();
            objects
                .find_tree_iter(&tree, &mut buf)
                .with_context(|| format!("cannot read tree {tree}"))?
                .map(|e| e.map(Into::into))
                .collect::<Result<_, _>>()
                .with_context(|| format!("tree {tree} is corrupt"))?
        }
        None => Vec::new(),
    };
    let Some((name, rest)) = path.split_first() else {
        return Ok(tree);
    };
    let at = entries.iter().position(|e| e.filename == name.as_bytes());
    let inner = match rest.is_empty() {
        true => new,
        false => {
            let below = at.map(|i| &entries[i]).filter(|e| e.mode.is_tree()).map(|e| e.oid);
            replace(objects, below, rest, new, hash, made)?
        }
    };
    if let Some(i) = at {
        entries.remove(i);
    }
    if let Some(id) = inner {
        entries.push(Entry {
            mode: EntryKind::Tree.into(),
            filename: (*name).into(),
            oid: id,
        });
    }
    match entries.is_empty() && tree.is_none() {
        true => Ok(None),
        false => Ok(Some(store_tree(entries, hash, made)?)),
    }
}

/// The object source to judge a commit not made yet through, and its tree: `source`'s KEP root
/// over the tree of `head` (`None` before the first commit; the empty tree when nothing is left).
pub fn commit_to_be(
    repo: &Repo,
    head: Option<ObjectId>,
    root: &str,
    source: Source,
) -> Result<(super::quarantine::Layered, ObjectId)> {
    let head_tree = head.map(|h| repo.objects().commit_tree(&h)).transpose()?;
    let (tree, overlay) = tree(repo, head_tree, root, source)?;
    let tree = tree.unwrap_or_else(|| ObjectId::empty_tree(repo.repo.object_hash()));
    Ok((repo.store.clone().with_overlay(overlay), tree))
}
