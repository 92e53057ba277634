//! `audit` judges a range's KEP changes grouped by KEP, not commit by commit; what it reports must
//! be exactly what checking each commit on its own reports, in the same order, and it must tell
//! its progress once per commit.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use kepguard::engine;
use kepguard::finding::Report;
use kepguard::git::Repo;
use kepguard::git::walk;
use kepguard::policy::Policy;

/// Every finding as text, so that two reports compare whole: rule, severity, commit, location,
/// message, help and notes.
fn shown(report: &Report) -> Vec<String> {
    report.findings.iter().map(|f| format!("{f:?}")).collect()
}

fn same_as_commit_by_commit(repo: &Repo, policy: &Policy, range: usize) {
    let objects = repo.objects();
    let tip = repo.resolve("HEAD").unwrap();
    let base = repo.resolve(&format!("HEAD~{range}")).unwrap();
    let commits = walk::commits(objects, tip, &[base], true).unwrap();
    assert_eq!(commits.len(), range);

    let ticks = AtomicUsize::new(0);
    let audit = engine::audit(&repo.store, policy, &commits, &|| {
        ticks.fetch_add(1, Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(ticks.load(Ordering::Relaxed), commits.len(), "one tick per commit");

    let mut each = Report::default();
    for pair in &commits {
        each.absorb(engine::check_commit(&repo.store, pair.commit, Some(policy)).unwrap());
    }
    assert_eq!(audit.commits_checked, each.commits_checked);
    assert_eq!(audit.keps_checked, each.keps_checked);
    assert!(
        audit.findings.len() > 50,
        "a range with findings: {}",
        audit.findings.len()
    );
    let (a, e) = (shown(&audit), shown(&each));
    if let Some(i) = (0..a.len().max(e.len())).find(|&i| a.get(i) != e.get(i)) {
        panic!("finding {i} differs:\naudit: {:?}\neach:  {:?}", a.get(i), e.get(i));
    }
}

#[test]
fn audit_of_corpus_history_matches_checking_each_commit() {
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = common::clone_corpus(dir.path(), "k.git") else {
        return;
    };
    let repo = Repo::open(&path).unwrap();
    let mut policy = Policy::default();
    same_as_commit_by_commit(&repo, &policy, 400);
    // With trailers on, each commit is judged under its own policy.
    policy.trailers = true;
    same_as_commit_by_commit(&repo, &policy, 150);
}
