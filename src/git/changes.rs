//! Which KEPs a change touches: a tree diff limited to the KEP root, with equal subtrees skipped
//! by id and blobs read only for the KEPs it finds.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::{FindExt, TreeRefIter};

use super::Objects;
use crate::kep::{
    BlobSource, ChangedKep, FileEntry, KepFiles, KepKind, KepPath, Layout, MAX_README_BYTES, decode_text,
};

/// Reusable buffers for tree diffs, and what was learnt of the KEP blobs seen lately: a run over
/// many commits meets each blob again as the next change's other side.
#[derive(Default)]
pub struct DiffState {
    state: gix::diff::tree::State,
    lhs: Vec<u8>,
    rhs: Vec<u8>,
    seen: Seen,
}

#[derive(Default)]
struct Seen {
    sizes: HashMap<ObjectId, u64>,
    /// Whether a legacy KEP file's blob has front matter: finding out reads the whole blob.
    front_matter: HashMap<ObjectId, bool>,
}

impl Seen {
    /// Blob `id`'s size, from its object header: an oversized file is reported, never read.
    fn size(&mut self, objects: Objects<'_>, id: ObjectId) -> Result<u64> {
        if let Some(size) = self.sizes.get(&id) {
            return Ok(*size);
        }
        let size = objects.blob_size(&id)?;
        self.sizes.insert(id, size);
        Ok(size)
    }

    fn has_front_matter(&mut self, objects: Objects<'_>, id: ObjectId) -> Result<bool> {
        if let Some(has) = self.front_matter.get(&id) {
            return Ok(*has);
        }
        let has = crate::kep::metadata::split_front_matter(&decode_text(objects.blob(&id)?)).is_some();
        self.front_matter.insert(id, has);
        Ok(has)
    }
}

/// Blobs [`DiffState`] keeps facts of before it starts over.
const SIZES_KEPT: usize = 4096;

/// The KEPs whose metadata or README differ between `old_tree` (`None`: the empty tree) and
/// `new_tree`, in path order.
pub fn changed_keps(
    objects: Objects<'_>,
    layout: &Layout,
    old_tree: Option<ObjectId>,
    new_tree: ObjectId,
    state: &mut DiffState,
) -> Result<Vec<ChangedKep>> {
    let old_root = match old_tree {
        Some(t) => subtree(objects, t, &layout.root)?,
        None => None,
    };
    let new_root = subtree(objects, new_tree, &layout.root)?;
    if old_root == new_root {
        return Ok(Vec::new());
    }

    let mut recorder = gix::diff::tree::Recorder::default();
    {
        let hash = new_tree.kind();
        let lhs = tree_iter(objects, old_root, &mut state.lhs, hash)?;
        let rhs = tree_iter(objects, new_root, &mut state.rhs, hash)?;
        gix::diff::tree(lhs, rhs, &mut state.state, objects, &mut recorder).with_context(|| match old_tree {
            Some(old) => format!("cannot compare `{}` of trees {old} and {new_tree}", layout.root),
            None => format!("cannot read `{}` of tree {new_tree}", layout.root),
        })?;
    }

    let mut candidates: BTreeMap<KepPath, ()> = BTreeMap::new();
    for change in &recorder.records {
        use gix::diff::tree::recorder::Change::*;
        let (path, mode, previous) = match change {
            Addition { path, entry_mode, .. } | Deletion { path, entry_mode, .. } => (path, *entry_mode, *entry_mode),
            Modification {
                path,
                entry_mode,
                previous_entry_mode,
                ..
            } => (path, *entry_mode, *previous_entry_mode),
        };
        if mode.is_tree() && previous.is_tree() {
            continue;
        }
        let Ok(path) = path.to_str() else { continue };
        let parts: Vec<&str> = path.split('/').collect();
        if let Some((kep, _role)) = layout.classify(&parts) {
            candidates.insert(kep, ());
        }
    }

    let mut changed = Vec::new();
    if state.seen.sizes.len() + state.seen.front_matter.len() > SIZES_KEPT {
        state.seen = Seen::default();
    }
    let seen = &mut state.seen;
    for kep in candidates.into_keys() {
        let old = old_root
            .zip(old_tree)
            .map(|(t, repo)| kep_files(objects, layout, t, repo, &kep, seen))
            .transpose()?
            .filter(|f| !f.is_empty());
        let new = new_root
            .map(|t| kep_files(objects, layout, t, new_tree, &kep, seen))
            .transpose()?
            .filter(|f| !f.is_empty());
        if old != new {
            changed.push(ChangedKep {
                kep,
                moved_from: None,
                old,
                new,
            });
        }
    }
    Ok(pair_moves(changed))
}

/// A directory KEP deleted in one group and added in another with the same number moved, and so
/// did one whose directory was renamed (its number corrected, say) with its README unchanged:
/// compare the old directory's files with the new one's.
fn pair_moves(changed: Vec<ChangedKep>) -> Vec<ChangedKep> {
    let number = |c: &ChangedKep| c.kep.dir_number.clone().filter(|_| c.kep.kind == KepKind::Directory);
    let mut deleted: Vec<ChangedKep> = Vec::new();
    let mut rest: Vec<ChangedKep> = Vec::new();
    for c in changed {
        if c.new.is_none() && number(&c).is_some() {
            deleted.push(c);
        } else {
            rest.push(c);
        }
    }
    let readme = |files: &Option<KepFiles>| files.and_then(|f| f.readme).map(|e| e.id);
    for c in rest.iter_mut().filter(|c| c.old.is_none()) {
        let Some(n) = number(c) else { continue };
        let same_number = deleted.iter().position(|d| number(d).as_ref() == Some(&n));
        let same_readme = || {
            let id = readme(&c.new)?;
            deleted.iter().position(|d| readme(&d.old) == Some(id))
        };
        if let Some(i) = same_number.or_else(same_readme) {
            let d = deleted.remove(i);
            c.old = d.old;
            c.moved_from = Some(d.kep);
        }
    }
    rest.extend(deleted);
    rest.sort_by(|a, b| a.kep.cmp(&b.kep));
    rest
}

/// The KEP's files in the KEP-root tree `root` of the repository tree `repo`. A legacy file
/// counts only when it has front matter.
fn kep_files(
    objects: Objects<'_>,
    layout: &Layout,
    root: ObjectId,
    repo: ObjectId,
    kep: &KepPath,
    seen: &mut Seen,
) -> Result<KepFiles> {
    let rel = kep
        .path
        .strip_prefix(&layout.root)
        .unwrap_or(&kep.path)
        .trim_start_matches('/');
    let parts: Vec<&str> = rel.split('/').collect();
    match kep.kind {
        KepKind::Directory => {
            let Some(dir) = objects
                .entry_at(root, &parts)?
                .filter(|(_, m)| m.is_tree())
                .map(|(id, _)| id)
            else {
                return Ok(KepFiles::default());
            };
            let (mut metadata, mut readme) = (None, None);
            let mut buf = Vec::new();
            for entry in objects
                .find_tree_iter(&dir, &mut buf)
                .with_context(|| format!("cannot read tree {dir}"))?
            {
                let entry = entry.with_context(|| format!("tree {dir} is corrupt"))?;
                let slot = match entry.filename.as_bytes() {
                    b"kep.yaml" => &mut metadata,
                    b"README.md" => &mut readme,
                    _ => continue,
                };
                *slot = Some((entry.oid.to_owned(), entry.mode.is_blob(), entry.mode.is_link()));
            }
            // A symbolic link is read as what it names in the tree, as kepval opens it.
            let follow = |found: Option<(ObjectId, bool, bool)>, name: &str| -> Result<Option<(ObjectId, bool)>> {
                Ok(match found {
                    Some((_, _, true)) => {
                        let mut path: Vec<&str> = layout.root.split('/').filter(|p| !p.is_empty()).collect();
                        path.extend(&parts);
                        path.push(name);
                        match objects.entry_following(repo, &path)? {
                            Some((id, mode)) if mode.is_blob() => Some((id, true)),
                            _ => found.map(|(id, _, _)| (id, false)),
                        }
                    }
                    other => other.map(|(id, is_file, _)| (id, is_file)),
                })
            };
            let (metadata, readme) = (follow(metadata, "kep.yaml")?, follow(readme, "README.md")?);
            let mut entry = |found: Option<(ObjectId, bool)>| -> Result<Option<FileEntry>> {
                let Some((id, is_file)) = found else { return Ok(None) };
                let size = if is_file { seen.size(objects, id)? } else { 0 };
                Ok(Some(FileEntry { id, is_file, size }))
            };
            Ok(KepFiles {
                metadata: entry(metadata)?,
                readme: entry(readme)?,
            })
        }
        KepKind::Legacy => {
            let Some((id, mode)) = objects.entry_at(root, &parts)? else {
                return Ok(KepFiles::default());
            };
            if !mode.is_blob() {
                return Ok(KepFiles::default());
            }
            let size = seen.size(objects, id)?;
            // Too large to look for front matter: a KEP file for the size cap to report.
            if size <= MAX_README_BYTES && !seen.has_front_matter(objects, id)? {
                return Ok(KepFiles::default());
            }
            let file = Some(FileEntry {
                id,
                is_file: true,
                size,
            });
            Ok(KepFiles {
                metadata: file,
                readme: file,
            })
        }
    }
}

/// The id of tree entry `name` of `tree`, when it is a tree.
fn subtree(objects: Objects<'_>, tree: ObjectId, name: &str) -> Result<Option<ObjectId>> {
    Ok(objects
        .entry_at(tree, &[name])?
        .filter(|(_, m)| m.is_tree())
        .map(|(id, _)| id))
}

fn tree_iter<'b>(
    objects: Objects<'_>,
    tree: Option<ObjectId>,
    buf: &'b mut Vec<u8>,
    hash: gix::hash::Kind,
) -> Result<TreeRefIter<'b>> {
    Ok(match tree {
        Some(id) => objects
            .find_tree_iter(&id, buf)
            .with_context(|| format!("cannot read tree {id}"))?,
        None => TreeRefIter::from_bytes(&[], hash),
    })
}
