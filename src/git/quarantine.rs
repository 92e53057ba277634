//! The object source every command reads through: the repository's objects, with those of a push
//! that a pre-receive hook has not accepted yet looked up first.
//!
//! git keeps a push's objects in a quarantine directory (`GIT_QUARANTINE_PATH`) that gix does not
//! read by itself. This source never writes: a file left in the quarantine (such as
//! `info/alternates`) would be moved into the repository on accept. It also holds the blob caps:
//! a lookup under a cap reads the object's header first and refuses an oversized blob unread.

use std::cell::RefCell;
use std::path::Path;

use anyhow::{Context, Result};
use gix::objs::{Exists, Find, FindHeader};

use super::{TooLarge, take_blob_cap};

#[derive(Clone)]
pub struct Layered {
    quarantine: Option<gix::odb::Handle>,
    main: gix::OdbHandle,
    /// The repository's packs, read with their delta bases kept; gix reads the rest.
    packs: super::packs::Packs,
    trees: RefCell<Trees>,
    /// Objects made in memory for a commit not made yet (`check --staged`), read first.
    overlay: Option<super::worktree::Overlay>,
}

/// Trees read lately, by id: the rules look up the same few files (the template, the PRR
/// approvals) below trees that change little from commit to commit. Blobs are not kept: each is
/// read once, and copying them into a cache cost more than it saved.
#[derive(Clone)]
struct Trees(super::Kept<Vec<u8>>);

impl Default for Trees {
    fn default() -> Self {
        Trees(super::Kept::new(4 << 20, 512 << 10))
    }
}

impl Layered {
    /// The repository's objects, with those under `quarantine` (when given) looked up first.
    pub fn new(repo: &gix::Repository, quarantine: Option<&Path>) -> Result<Layered> {
        let quarantine = match quarantine {
            Some(dir) => {
                let mut handle = gix::odb::at(dir, repo.object_hash())
                    .with_context(|| format!("cannot open the push quarantine at {}", dir.display()))?;
                // The quarantine does not change while the hook runs; missing objects are looked up
                // in the repository instead of rescanning for packs.
                handle.refresh_never();
                Some(handle)
            }
            None => None,
        };
        let mut main = repo.objects.clone();
        // Decoded objects kept by size, not count, unless the repository says otherwise, both by
        // the pack reader and by gix for what it still reads. No object cache (gix has none unless
        // configured): blobs are read once each, and trees are kept below.
        let limit = repo.config_snapshot().integer("core.deltaBaseCacheLimit");
        if limit.is_none() {
            main.set_pack_cache(|| Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(4 << 20)));
        }
        let budget = limit.and_then(|n| usize::try_from(n).ok()).unwrap_or(4 << 20);
        Ok(Layered {
            quarantine,
            packs: super::packs::Packs::open(repo.objects.store_ref().path(), repo.object_hash(), budget),
            main,
            trees: RefCell::default(),
            overlay: None,
        })
    }

    /// This source, with `overlay`'s objects read before the repository's.
    pub fn with_overlay(mut self, overlay: super::worktree::Overlay) -> Layered {
        self.overlay = Some(overlay);
        self
    }
}

impl Find for Layered {
    fn try_find<'a>(&self, id: &gix::oid, buffer: &'a mut Vec<u8>) -> gix::Result<Option<gix::objs::Data<'a>>> {
        if let Some(cap) = take_blob_cap()
            && let Some(header) = self.try_header(id)?
            && header.kind == gix::object::Kind::Blob
            && header.size > cap
        {
            return Err(gix::Error::from_error(TooLarge {
                id: id.to_owned(),
                size: header.size,
                cap,
            }));
        }
        if let Some((kind, data)) = self.overlay.as_ref().and_then(|o| o.get(id)) {
            buffer.clear();
            buffer.extend_from_slice(data);
            return Ok(Some(gix::objs::Data::new(buffer, *kind, id.kind())));
        }
        if let Some(tree) = self.trees.borrow().0.get(id) {
            buffer.clear();
            buffer.extend_from_slice(tree);
            return Ok(Some(gix::objs::Data::new(buffer, gix::object::Kind::Tree, id.kind())));
        }
        let found = match &self.quarantine {
            Some(q) if q.exists(id) => q.try_find(id, buffer),
            _ => match self.packs.find(id, buffer) {
                Some(kind) => Ok(Some(gix::objs::Data::new(buffer, kind, id.kind()))),
                None => self.main.try_find(id, buffer),
            },
        }?;
        if let Some(data) = &found
            && data.kind == gix::object::Kind::Tree
        {
            self.trees
                .borrow_mut()
                .0
                .insert_with(id.to_owned(), data.data.len(), || data.data.to_vec());
        }
        Ok(found)
    }
}

impl FindHeader for Layered {
    fn try_header(&self, id: &gix::oid) -> gix::Result<Option<gix::objs::Header>> {
        if let Some((kind, data)) = self.overlay.as_ref().and_then(|o| o.get(id)) {
            return Ok(Some(gix::objs::Header {
                kind: *kind,
                size: data.len() as u64,
            }));
        }
        match &self.quarantine {
            Some(q) if q.exists(id) => q.try_header(id),
            _ => match self.packs.header(id) {
                Some((kind, size)) => Ok(Some(gix::objs::Header { kind, size })),
                None => self.main.try_header(id),
            },
        }
    }
}
