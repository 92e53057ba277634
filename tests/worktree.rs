//! `check --worktree` and `check --staged`: what a commit would hold, judged before it is made,
//! with nothing written to the repository.

mod common;

use common::{Repo, beta_yaml, json_run, kep_yaml, readme, rules};

const KEP: &str = "keps/sig-node/1234-frob";

/// A committed KEP at alpha; the work tree then graduates it to beta without a history entry.
fn graduated_on_disk() -> Repo {
    let r = Repo::new();
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &["Answered."], &["- v1.20: alpha"]),
    );
    r.commit("alpha");
    r.write(&format!("{KEP}/kep.yaml"), &beta_yaml("1234", "v1.21"));
    r
}

fn check(r: &Repo, flag: &str) -> (i32, serde_json::Value) {
    json_run(r.kepguard(&["check", "--base", "HEAD", flag, "--format", "json"]))
}

#[test]
fn the_work_tree_and_the_index_are_judged_as_the_commit_would_be() {
    let r = graduated_on_disk();
    let before = common::files_under(&r.dir.join(".git"));
    let (code, doc) = check(&r, "--worktree");
    let graduation = vec!["implementation-history".to_owned(), "prr-on-graduation".to_owned()];
    assert_eq!((code, rules(&doc)), (1, graduation.clone()), "{doc}");
    assert_eq!(doc["commits_checked"], 1);
    // Nothing staged yet: the index is HEAD's.
    let (code, doc) = check(&r, "--staged");
    assert_eq!((code, rules(&doc)), (0, Vec::<String>::new()), "{doc}");
    assert_eq!(
        common::files_under(&r.dir.join(".git")),
        before,
        "nothing written to .git"
    );

    r.git(&["add", "-A"]);
    let (code, doc) = check(&r, "--staged");
    assert_eq!((code, rules(&doc)), (1, graduation), "{doc}");
    // The entry and the answers written on disk only: the work tree passes, the index does not.
    r.write(
        &format!("{KEP}/README.md"),
        &readme("S.", &["Answered, for beta too."], &["- v1.20: alpha", "- v1.21: beta"]),
    );
    assert_eq!(check(&r, "--worktree").0, 0);
    assert_eq!(check(&r, "--staged").0, 1);
}

#[test]
fn untracked_and_deleted_files_count_in_the_work_tree_only() {
    let r = graduated_on_disk();
    r.git(&["checkout", "--", "."]);
    r.write(
        "keps/sig-apps/77-new/kep.yaml",
        "title: New\nkep-number: 77\nauthors:\n  - \"@a\"\nowning-sig: sig-apps\nstatus: implementable\napprovers:\n  - \"@b\"\nstage: alpha\nlatest-milestone: \"v1.30\"\nmilestone:\n  alpha: \"v1.30\"\nbogus-field: 1\n",
    );
    let (code, doc) = check(&r, "--worktree");
    assert_eq!(code, 1, "{doc}");
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kep"] == "keps/sig-apps/77-new"),
        "{doc}"
    );
    assert_eq!(check(&r, "--staged").0, 0, "untracked files are not staged");

    std::fs::remove_dir_all(r.dir.join("keps/sig-apps")).unwrap();
    std::fs::remove_file(r.dir.join(format!("{KEP}/README.md"))).unwrap();
    let (_, doc) = check(&r, "--worktree");
    assert_eq!(doc["keps_checked"], 1, "the KEP whose README is deleted on disk: {doc}");
}

#[test]
fn plain_check_names_the_flags_and_a_bare_repository_has_no_work_tree() {
    let r = graduated_on_disk();
    let out = r.kepguard(&["check", "--base", "HEAD"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--worktree or --staged checks them"), "{err}");

    let bare = r.sibling("bare.git");
    common::git_in(&r.dir, &["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let out = common::kepguard_in(&bare, &["check", "--base", "HEAD", "--worktree"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--worktree needs a work tree"), "{err}");
    let out = r.kepguard(&["check", "--worktree", "--staged"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_first_commit_of_a_repository_is_judged_whole() {
    let r = Repo::new();
    r.write(
        "keps/sig-apps/77-new/kep.yaml",
        "title: New\nkep-number: 77\nauthors:\n  - \"@a\"\nowning-sig: sig-apps\nstatus: implementable\napprovers:\n  - \"@b\"\nbogus-field: 1\n",
    )
    .write("keps/sig-apps/77-new/README.md", &readme("S.", &[], &["- new"]));
    r.git(&["add", "-A"]);
    let out = r.kepguard(&["check", "--staged", "--base", "HEAD", "--format", "json"]);
    let (code, doc) = json_run(out);
    assert_eq!(code, 1, "{doc}");
    assert!(rules(&doc).contains(&"kep-metadata".to_owned()), "{doc}");
}
