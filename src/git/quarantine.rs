//! The object source every command reads through: the repository's objects, with those of a push
//! that a pre-receive hook has not accepted yet looked up first.
//!
//! git keeps a push's objects in a quarantine directory (`GIT_QUARANTINE_PATH`) that gix does not
//! read by itself. This source never writes: a file left in the quarantine (such as
//! `info/alternates`) would be moved into the repository on accept. It also holds the blob caps:
//! a lookup under a cap reads the object's header first and refuses an oversized blob unread.

use std::path::Path;

use anyhow::{Context, Result};
use gix::objs::{Exists, Find, FindHeader};

use super::{TooLarge, take_blob_cap};

#[derive(Clone)]
pub struct Layered {
    quarantine: Option<gix::odb::Handle>,
    main: gix::OdbHandle,
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
        Ok(Layered {
            quarantine,
            main: repo.objects.clone(),
        })
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
        match &self.quarantine {
            Some(q) if q.exists(id) => q.try_find(id, buffer),
            _ => self.main.try_find(id, buffer),
        }
    }
}

impl FindHeader for Layered {
    fn try_header(&self, id: &gix::oid) -> gix::Result<Option<gix::objs::Header>> {
        match &self.quarantine {
            Some(q) if q.exists(id) => q.try_header(id),
            _ => self.main.try_header(id),
        }
    }
}
