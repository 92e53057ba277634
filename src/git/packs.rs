//! Objects read straight from the repository's pack files, with delta bases kept.
//!
//! git stores most versions of a file as deltas against another version, in chains. gix keeps
//! only the object a chain produced, never the base it started from, so reading the versions
//! that share a base inflates that base again for each of them: on the KEP history, more than
//! half of what an audit inflated. This reader keeps every object it decodes, bases and chain
//! links included (as git's delta base cache does), by byte budget. Whatever it cannot read (a
//! loose object, a pack added later, a base in another pack) it leaves to gix.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use gix::object::Kind;
use gix::odb::pack::data::entry::Header;

use super::Kept;

/// The packs of one object directory, opened once for a run; each clone (one a worker) keeps
/// what it decodes apart.
pub struct Packs {
    bundles: Arc<Vec<gix::odb::pack::Bundle>>,
    decoded: RefCell<Decoded>,
}

impl Clone for Packs {
    fn clone(&self) -> Packs {
        Packs {
            bundles: self.bundles.clone(),
            decoded: RefCell::new(Decoded::new(self.decoded.borrow().kept.budget())),
        }
    }
}

/// A decoded object: its kind and its bytes.
type Object = (Kind, Arc<Vec<u8>>);

/// Objects decoded lately, by pack (its place among the bundles) and offset.
struct Decoded {
    kept: Kept<Object, (usize, u64)>,
    inflate: gix::zlib::Inflate,
}

impl Packs {
    /// The packs in `objects/pack` (none when it cannot be listed: gix then reads everything);
    /// each reader keeps `budget` bytes of decoded objects. On the KEP history 4 MiB, as gix's
    /// delta cache had, halves what an audit inflates and keeps its peak memory under 100 MB.
    pub fn open(objects: &Path, hash: gix::hash::Kind, budget: usize) -> Packs {
        let mut bundles = Vec::new();
        if let Ok(dir) = std::fs::read_dir(objects.join("pack")) {
            let mut paths: Vec<_> = dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "idx"))
                .collect();
            paths.sort();
            bundles.extend(paths.iter().filter_map(|p| gix::odb::pack::Bundle::at(p, hash).ok()));
        }
        Packs {
            bundles: Arc::new(bundles),
            decoded: RefCell::new(Decoded::new(budget)),
        }
    }

    /// Object `id` into `buffer`, with its kind; `None` when it is not in these packs or cannot be
    /// read from them here.
    pub fn find(&self, id: &gix::oid, buffer: &mut Vec<u8>) -> Option<Kind> {
        let (pack, offset) = self.locate(id)?;
        let (kind, data) = self.decoded.borrow_mut().decode(&self.bundles[pack], pack, offset)?;
        buffer.clear();
        buffer.extend_from_slice(&data);
        Some(kind)
    }

    /// The pack (its place among the bundles) and offset of object `id`.
    fn locate(&self, id: &gix::oid) -> Option<(usize, u64)> {
        self.bundles
            .iter()
            .enumerate()
            .find_map(|(p, b)| Some((p, b.index.pack_offset_at_index(b.index.lookup(id)?))))
    }

    /// The kind and size of object `id`, from its pack entry (and, for a delta, the start of its
    /// delta); `None` as for [`Packs::find`]. Read here rather than by gix, so that a run touches
    /// one mapping of each pack.
    pub fn header(&self, id: &gix::oid) -> Option<(Kind, u64)> {
        use gix::odb::pack::data::decode::header::ResolvedBase;
        let (pack, offset) = self.locate(id)?;
        let bundle = &self.bundles[pack];
        let entry = bundle.pack.entry(offset).ok()?;
        let resolve = |base: &gix::oid| {
            Ok(bundle
                .index
                .lookup(base)
                .and_then(|i| bundle.pack.entry(bundle.index.pack_offset_at_index(i)).ok())
                .map(ResolvedBase::InPack))
        };
        let header = bundle
            .pack
            .decode_header(entry, &mut self.decoded.borrow_mut().inflate, &resolve)
            .ok()?;
        Some((header.kind, header.object_size))
    }
}

impl Decoded {
    fn new(budget: usize) -> Decoded {
        Decoded {
            kept: Kept::new(budget, budget / 4),
            inflate: gix::zlib::Inflate::default(),
        }
    }

    /// The object at `offset` of `bundle` (number `pack`): from the nearest kept link of its delta
    /// chain, or its base, forward, keeping each link decoded.
    fn decode(&mut self, bundle: &gix::odb::pack::Bundle, pack: usize, offset: u64) -> Option<Object> {
        let mut chain = Vec::new();
        let mut at = offset;
        let (kind, mut data) = loop {
            if let Some(found) = self.kept.get(&(pack, at)) {
                break found.clone();
            }
            // A chain longer than git ever writes (4,095) is a corrupt pack: leave it to gix.
            if chain.len() > 4096 {
                return None;
            }
            let entry = bundle.pack.entry(at).ok()?;
            let kind = match entry.header {
                Header::Commit => Kind::Commit,
                Header::Tree => Kind::Tree,
                Header::Blob => Kind::Blob,
                Header::Tag => Kind::Tag,
                Header::OfsDelta { base_distance } => {
                    at = entry.checked_base_pack_offset(base_distance)?;
                    chain.push(entry);
                    continue;
                }
                Header::RefDelta { base_id } => {
                    at = bundle.index.pack_offset_at_index(bundle.index.lookup(base_id)?);
                    chain.push(entry);
                    continue;
                }
            };
            let data = Arc::new(self.inflate(bundle, &entry)?);
            self.keep(pack, at, kind, &data);
            break (kind, data);
        };
        for link in chain.iter().rev() {
            let delta = self.inflate(bundle, link)?;
            data = Arc::new(apply(&data, &delta)?);
            self.keep(pack, link.pack_offset(), kind, &data);
        }
        Some((kind, data))
    }

    fn inflate(&mut self, bundle: &gix::odb::pack::Bundle, entry: &gix::odb::pack::data::Entry) -> Option<Vec<u8>> {
        let size = usize::try_from(entry.decompressed_size).ok()?;
        // Sizes come from the pack: refuse what no object here can be rather than allocate it.
        if size > 1 << 30 {
            return None;
        }
        let mut out = vec![0; size];
        bundle.pack.decompress_entry(entry, &mut self.inflate, &mut out).ok()?;
        Some(out)
    }

    fn keep(&mut self, pack: usize, offset: u64, kind: Kind, data: &Arc<Vec<u8>>) {
        self.kept
            .insert_with((pack, offset), data.len(), || (kind, data.clone()));
    }
}

/// `base` with git's delta `delta` applied; `None` when the delta does not fit the base.
fn apply(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    fn size(data: &mut &[u8]) -> Option<usize> {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let (&byte, rest) = data.split_first()?;
            *data = rest;
            value |= usize::from(byte & 0x7f).checked_shl(shift)?;
            shift += 7;
            if byte & 0x80 == 0 || shift > 63 {
                return (byte & 0x80 == 0).then_some(value);
            }
        }
    }
    let mut data = delta;
    if size(&mut data)? != base.len() {
        return None;
    }
    let target = size(&mut data)?;
    let mut out = Vec::with_capacity(target.min(1 << 30));
    while let Some((&op, rest)) = data.split_first() {
        data = rest;
        if op & 0x80 != 0 {
            // Copy from the base: which offset and size bytes follow is in the op's low bits.
            let mut field = |bits: u8, shifts: &[u32]| -> Option<usize> {
                let mut value = 0usize;
                for (i, &shift) in shifts.iter().enumerate() {
                    if op & (bits << i) != 0 {
                        let (&byte, rest) = data.split_first()?;
                        data = rest;
                        value |= usize::from(byte) << shift;
                    }
                }
                Some(value)
            };
            let offset = field(0x01, &[0, 8, 16, 24])?;
            let len = match field(0x10, &[0, 8, 16])? {
                0 => 0x10000,
                n => n,
            };
            out.extend_from_slice(base.get(offset..offset.checked_add(len)?)?);
        } else if op != 0 {
            let (insert, rest) = data.split_at_checked(usize::from(op))?;
            out.extend_from_slice(insert);
            data = rest;
        } else {
            return None;
        }
    }
    (out.len() == target).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_copy_and_insert() {
        let base = b"hello, world";
        // base size 12, target size 11: copy "hello" (offset 0, size 5), insert " you", copy "ld"
        let delta = [12, 11, 0x90, 5, 4, b' ', b'y', b'o', b'u', 0x91, 10, 2];
        assert_eq!(apply(base, &delta).as_deref(), Some(&b"hello yould"[..]));
        // A delta for another base, a copy beyond the base, a reserved op, a short result.
        assert_eq!(apply(b"hello", &delta), None);
        assert_eq!(apply(base, &[12, 2, 0x91, 11, 2]), None);
        assert_eq!(apply(base, &[12, 1, 0]), None);
        assert_eq!(apply(base, &[12, 6, 0x90, 5]), None);
        // Size 0 in a copy means 0x10000.
        let big = vec![7u8; 0x10000];
        assert_eq!(
            apply(&big, &[0x80, 0x80, 4, 0x80, 0x80, 4, 0x80]).map(|v| v.len()),
            Some(0x10000)
        );
    }
}
