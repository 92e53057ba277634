//! The pack reader against gix: every object of a repository, read both ways, must be the same
//! object. On repositories the tests build (offset and reference deltas, long chains) and on the
//! real KEP history (`../shared/corpus/`, where present).

mod common;

use std::path::Path;

use common::{Repo, clone_corpus, git_in};
use gix::objs::{Find, FindHeader};
use kepguard::git::packs::Packs;

/// Reads every object of `dir` with the pack reader (keeping `budget` bytes of decoded objects)
/// and with gix; returns how many the pack reader read itself.
fn compare_all(dir: &Path, budget: usize) -> usize {
    let repo = gix::open(dir).unwrap();
    let packs = Packs::open(&repo.path().join("objects"), repo.object_hash(), budget);
    let ids = git_in(dir, &["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"]);
    let (mut read, mut ours, mut theirs) = (0, Vec::new(), Vec::new());
    for id in ids.lines() {
        let id = gix::ObjectId::from_hex(id.as_bytes()).unwrap();
        let want = repo.objects.try_find(&id, &mut theirs).unwrap().expect("gix reads it");
        let header = repo.objects.try_header(&id).unwrap().unwrap();
        let Some(kind) = packs.find(&id, &mut ours) else {
            continue;
        };
        read += 1;
        assert_eq!((kind, ours.as_slice()), (want.kind, want.data), "{id}");
        assert_eq!(packs.header(&id), Some((header.kind, header.size)), "{id}");
    }
    read
}

fn history(repo: &Repo) {
    // Versions of one file that git stores as deltas of each other, in long chains.
    let mut text = String::new();
    for i in 0..120 {
        text.push_str(&format!("line {i}: {}\n", "x".repeat(i % 17)));
        if i % 7 == 0 {
            text = text.replace("line 3:", &format!("line 3 ({i}):"));
        }
        repo.write("keps/sig-x/1-a/README.md", &text)
            .write(&format!("keps/sig-x/1-a/notes-{}.md", i % 5), &text[..text.len() / 2]);
        repo.commit(&format!("version {i}"));
    }
}

#[test]
fn offset_deltas_read_as_gix_reads_them() {
    let repo = Repo::new();
    history(&repo);
    repo.git(&["repack", "-adf", "--depth=50", "--window=50", "-q"]);
    // Chains decoded whole each time, and from kept links.
    for budget in [0, 64 << 10, 4 << 20] {
        let read = compare_all(&repo.dir, budget);
        assert!(read > 500, "only {read} objects read from the pack");
    }
}

#[test]
fn reference_deltas_read_as_gix_reads_them() {
    let repo = Repo::new();
    history(&repo);
    repo.git(&[
        "-c",
        "repack.useDeltaBaseOffset=false",
        "repack",
        "-adf",
        "--depth=50",
        "-q",
    ]);
    let read = compare_all(&repo.dir, 4 << 20);
    assert!(read > 500, "only {read} objects read from the pack");
}

#[test]
fn loose_objects_are_left_to_gix() {
    let repo = Repo::new();
    history(&repo);
    assert_eq!(compare_all(&repo.dir, 4 << 20), 0);
}

#[test]
fn every_corpus_object_reads_as_gix_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(dir) = clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let read = compare_all(&dir, 4 << 20);
    assert!(read > 10_000, "only {read} objects read from the pack");
}
