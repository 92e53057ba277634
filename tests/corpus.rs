//! The real KEP history of kubernetes/enhancements (`../shared/corpus/`), where present.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

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
    reviewer_verdicts(&doc);
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

/// The findings of `rule` at commit `prefix` on KEP `number`, as `(severity, message)`.
fn at(doc: &Value, prefix: &str, number: &str, rule: &str) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["commit"].as_str().unwrap().starts_with(prefix)
                && f["number"].as_str().unwrap().trim_start_matches('0') == number
                && f["rule"] == rule
        })
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn errors(found: &[(String, String)]) -> Vec<&str> {
    found
        .iter()
        .filter(|(s, _)| s == "error")
        .map(|(_, m)| m.as_str())
        .collect()
}

/// What a KEP reviewer decided on the real commits of this history (ids of the corpus bundle).
fn reviewer_verdicts(doc: &Value) {
    // The 14 backward stage moves: 13 corrections of stages that never shipped (premature,
    // provisional, or slipped graduations), and one real demotion (KEP-3386), a warning.
    let moves = [
        ("2bdebeb576", "2400"),
        ("791c129cdc", "1495"),
        ("1189c157c1", "1864"),
        ("423765f49b", "3458"),
        ("f421338967", "3041"),
        ("215e4c7ea8", "2371"),
        ("12cd109c09", "2371"),
        ("fb224dd125", "2433"),
        ("59d9e2c332", "277"),
        ("81d49713f9", "1790"),
        ("054cc865ff", "2644"),
        ("618f1c9d45", "3085"),
        ("7b9aa7808c", "2570"),
    ];
    for (commit, kep) in moves {
        let found = at(doc, commit, kep, "stage-monotonic");
        assert!(errors(&found).is_empty(), "{commit} KEP-{kep}: {found:?}");
        assert!(found.iter().all(|(_, m)| !m.contains("has shipped")), "{found:?}");
    }
    let demotion = at(doc, "38e3726e5d", "3386", "stage-monotonic");
    assert_eq!(demotion.len(), 1, "{demotion:?}");
    assert_eq!(demotion[0].0, "warning", "{demotion:?}");
    assert!(
        demotion[0].1.contains("beta, planned for v1.27, is withdrawn"),
        "{demotion:?}"
    );

    // Placeholders for later stages' milestones, a milestone without its `v`, and a metadata file
    // renamed into kep.yaml are not defects a change introduces.
    for (commit, kep) in [
        ("548af76d96", "5882"),
        ("7d52c8e144", "2339"),
        ("83b84b0efd", "3926"),
        ("ca7ba42a94", "3488"),
        ("2bd25a8300", "6030"),
        ("a402c798c2", "4331"),
        ("a402c798c2", "4326"),
    ] {
        let found = at(doc, commit, kep, "kep-metadata");
        assert!(errors(&found).is_empty(), "{commit} KEP-{kep}: {found:?}");
    }
    // Real SIGs without a KEP directory are groups (`<group>-leads` in OWNERS_ALIASES).
    for (commit, kep) in [("1e12714527", "5958"), ("9172b53cba", "3720"), ("608b011dba", "4460")] {
        let found = at(doc, commit, kep, "kep-metadata");
        assert!(errors(&found).is_empty(), "{commit} KEP-{kep}: {found:?}");
    }
    // ... and what the review found real stays an error.
    for (commit, kep, what) in [
        ("905eb0b58e", "4438", "names sig-scheduler, not a group"),
        ("566a5a6eba", "5532", "names sig-jobset, not a group"),
        ("28d37efac0", "2853", "names sig-contribex, not a group"),
        (
            "45481a19fc",
            "5075",
            "creation-date `2025-30-01` is not a YYYY-MM-DD date",
        ),
        (
            "cca8d7e0da",
            "5000",
            "invalid status `provisional|implementable|implemented|deferred|rejected|withdrawn|replaced`",
        ),
        ("5843b7100e", "NNNN", "kep-number NNNN does not match"),
        ("021700d171", "2625", "invalid status `imlpemented`"),
        ("2b74448f76", "1611", "invalid stage `GA`"),
    ] {
        let found = at(doc, commit, kep, "kep-metadata");
        assert!(
            errors(&found).iter().any(|m| m.contains(what)),
            "{commit} KEP-{kep} {what}: {found:?}"
        );
    }

    // Story headings sit under `User Stories (Optional)`: never required.
    for f in doc["findings"].as_array().unwrap() {
        if f["rule"] == "template-sections" {
            assert!(!f["message"].as_str().unwrap().contains("Story 1"), "{f}");
        }
    }

    // A graduation is named by the release its stage targets, not a stale latest-milestone.
    for (commit, kep, release) in [
        ("f2530be16e", "2340", "graduation beta -> stable in v1.34"),
        ("36678c74db", "4358", "graduation beta -> stable in v1.32"),
        ("3c73dd3119", "4381", "graduation beta -> stable in v1.34"),
        ("2b6b00f925", "4192", "graduation alpha -> beta in v1.35"),
    ] {
        let found = at(doc, commit, kep, "prr-on-graduation");
        assert!(
            errors(&found).iter().any(|m| m.contains(release)),
            "{commit}: {found:?}"
        );
    }
    // "0.0" switching PRR off: a new implementable KEP, a KEP whose milestones say v1.32, and a
    // beta graduation that replaced v1.23 by it; a retroactive update of old KEPs is fine.
    for (commit, kep) in [("e935ce24de", "4214"), ("a882124fb2", "4656"), ("846dce822f", "2915")] {
        let found = at(doc, commit, kep, "prr-approval");
        assert!(
            errors(&found).iter().any(|m| m.contains("would switch PRR off")),
            "{commit} KEP-{kep}: {found:?}"
        );
    }
    assert!(
        errors(&at(doc, "846dce822f", "2915", "prr-on-graduation"))
            .iter()
            .any(|m| m.contains("graduation alpha -> beta in v1.24")),
        "the graduation is judged by its own release"
    );
    let retro: Vec<_> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["commit"].as_str().unwrap().starts_with("7bf7e499bf") && f["severity"] == "error")
        .collect();
    assert!(retro.is_empty(), "{retro:?}");

    // Reopening an implemented KEP for its next stage is normal practice.
    for (commit, kep) in [("7bb67c919d", "1205"), ("8de0eaf8c5", "383")] {
        assert_eq!(at(doc, commit, kep, "status-transition"), vec![], "{commit}");
    }
    // A section hidden by a fence that is never closed says so.
    let hidden = at(doc, "ac3666e1fb", "3107", "implementation-history");
    assert!(
        hidden
            .iter()
            .any(|(_, m)| m.contains("inside a code block opened at line 310 and never closed")),
        "{hidden:?}"
    );
    // No rule errs on a backward stage move in this history.
    assert_eq!(
        doc["summary"]["rules"]["stage-monotonic"]["errors"].as_u64(),
        Some(0),
        "{}",
        doc["summary"]
    );
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
