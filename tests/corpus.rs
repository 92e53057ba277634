//! The real KEP history of kubernetes/enhancements (`../shared/corpus/`), where present.

mod common;

use std::collections::BTreeMap;

use common::{clone_corpus, git_in, json_run, kepguard_in, kepguard_in_pty};

#[test]
fn audit_of_the_whole_first_parent_history_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let first_parent = git_in(&repo, &["rev-list", "--first-parent", "HEAD"]);

    let out = kepguard_in(&repo, &["audit", "--first-parent", "--format", "json"]);
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, doc) = json_run(out);
    assert_eq!(code, 1, "the history holds error-level findings");
    assert_eq!(
        doc["commits_checked"].as_u64(),
        Some(first_parent.lines().count() as u64)
    );

    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    for f in doc["findings"].as_array().unwrap() {
        *per_rule.entry(f["rule"].as_str().unwrap().to_owned()).or_default() += 1;
        assert!(first_parent.contains(f["commit"].as_str().unwrap()), "{f}");
        // Findings point into the KEP, or for prr-approval at its approval file.
        let path = f["path"].as_str().unwrap();
        match f["rule"].as_str().unwrap() {
            "prr-approval" if path.starts_with("keps/prod-readiness/") => {
                assert!(
                    path.ends_with(&format!("/{}.yaml", f["number"].as_str().unwrap())),
                    "{f}"
                )
            }
            _ => assert!(path.starts_with(f["kep"].as_str().unwrap()), "{f}"),
        }
    }
    eprintln!("corpus findings per rule: {per_rule:?}");
    // Stages went backwards after shipping 14 times in this history.
    assert_eq!(per_rule.get("stage-monotonic"), Some(&14));
    for rule in [
        "implementation-history",
        "prr-on-graduation",
        "kep-metadata",
        "prr-approval",
        "prr-complete",
        "template-sections",
    ] {
        assert!(per_rule.get(rule).is_some_and(|&n| n > 0), "{rule}: {per_rule:?}");
    }

    // With a terminal on stderr, the audit shows a progress bar (without one, stderr stays empty).
    if let Some(tty) = kepguard_in_pty(&repo, &["audit", "--first-parent", "--format", "json"], true) {
        assert!(
            tty.contains("auditing [") && tty.contains("commits"),
            "{}",
            &tty[..tty.len().min(300)]
        );
    }
}

/// `validate` is a drop-in for kepval: the corpus tip, which kepval accepts, has no error-level
/// finding (the stricter checks, PRR answers and template headings are warnings there), while
/// each snapshot rule finds something to warn about.
#[test]
fn validate_accepts_the_tip_that_kepval_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let (code, doc) = json_run(kepguard_in(&repo, &["validate", "--format", "json"]));
    let errors: Vec<_> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert_eq!((code, errors.len()), (0, 0), "{errors:#?}");
    assert!(doc["keps_checked"].as_u64().unwrap() > 600);
    let warnings = doc["summary"]["warnings"].as_u64().unwrap();
    eprintln!(
        "validate at the corpus tip: {} KEPs, {warnings} warnings",
        doc["keps_checked"]
    );
    assert!(warnings > 0, "the tip has known stricter-than-kepval problems");
    let warned: std::collections::BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    // prr-approval warns where an approval file names another KEP's number (4192 holds 3299).
    for rule in ["kep-metadata", "prr-approval", "prr-complete", "template-sections"] {
        assert!(warned.contains(rule), "{rule}: {warned:?}");
    }
}
