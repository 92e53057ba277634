//! Baselines: `validate --write-baseline` then `--baseline` turns an old tree's findings into
//! notes, new findings still fail, and fixed entries are named so the file shrinks.

mod common;

use common::{Repo, json_run, kep_yaml, readme};

/// A tree with two KEPs whose metadata is stricter-than-kepval wrong (warnings in `validate`).
fn repo() -> Repo {
    let r = Repo::new();
    r.kepval_ready()
        .kep(
            "keps/sig-node/1000-a",
            &kep_yaml("1000", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")])
                .replace("creation-date: 2021-01-01", "creation-date: someday"),
            &readme("S.", &[], &["- a"]),
        )
        .kep(
            "keps/sig-node/2000-b",
            &kep_yaml("2000", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")])
                .replace("creation-date: 2021-01-01", "creation-date: later"),
            &readme("S.", &[], &["- a"]),
        );
    r.commit("two KEPs");
    r
}

fn severities(doc: &serde_json::Value) -> Vec<String> {
    common::severities(doc)
}

#[test]
fn a_baseline_turns_old_findings_into_notes_and_new_ones_still_fail() {
    let r = repo();
    let (_, before) = json_run(r.kepguard(&["validate", "--format", "json"]));
    let warnings = before["summary"]["warnings"].as_u64().unwrap();
    assert!(warnings >= 2, "{before}");
    let file = r.sibling("baseline.json");
    let out = r.kepguard(&["validate", "--write-baseline", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("kepguard: wrote {warnings} baseline entries to {}\n", file.display())
    );
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["schema"], "kepguard/baseline/v1");
    let entry = &doc["findings"][0];
    for key in ["fingerprint", "rule", "kep", "message"] {
        assert!(entry[key].as_str().is_some_and(|v| !v.is_empty()), "{entry}");
    }

    // The gate: every old finding is a note, so --fail-on warning passes.
    let (code, after) = json_run(r.kepguard(&[
        "validate",
        "--format",
        "json",
        "--fail-on",
        "warning",
        "--baseline",
        file.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{after}");
    assert!(severities(&after).iter().all(|s| s.ends_with(" note")), "{after}");
    assert_eq!(
        after["findings"][0]["notes"].as_array().unwrap().last().unwrap(),
        &format!("in the baseline {}: reported, not failing", file.display())
    );

    // A new problem is not in the baseline: it fails.
    r.write(
        "keps/sig-node/3000-c/kep.yaml",
        &kep_yaml("3000", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")])
            .replace("creation-date: 2021-01-01", "creation-date: never"),
    )
    .write("keps/sig-node/3000-c/README.md", &readme("S.", &[], &["- a"]))
    .write("keps/prod-readiness/sig-node/3000.yaml", &common::prr_approval("3000"));
    r.commit("a new KEP with the same problem");
    let out = r.kepguard(&["validate", "--fail-on", "warning", "--baseline", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("KEP-3000"));

    // Fixing an old problem leaves its entry matching nothing: it is named.
    r.write(
        "keps/sig-node/1000-a/kep.yaml",
        &kep_yaml("1000", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
    );
    r.remove("keps/sig-node/3000-c");
    r.commit("fix A, drop C");
    let out = r.kepguard(&["validate", "--fail-on", "warning", "--baseline", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("entry matches no finding any more (fixed: kep-metadata keps/sig-node/1000-a)"),
        "{err}"
    );
    assert!(err.contains("--write-baseline"), "{err}");
    // Validating part of the tree does not call the rest fixed.
    let out = r.kepguard(&["validate", "keps/sig-node/2000-b", "--baseline", file.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn a_file_that_is_no_baseline_is_refused_in_one_line() {
    let r = repo();
    let file = r.sibling("baseline.json");
    for (text, says) in [
        ("not json", "is not a kepguard baseline"),
        (
            "{\"schema\": \"kepguard/v1\", \"findings\": []}",
            "is a `kepguard/v1` document, not a `kepguard/baseline/v1` baseline",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let out = r.kepguard(&["validate", "--baseline", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err}");
    }
    let out = r.kepguard(&["validate", "--baseline", "/nonexistent/b.json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn check_and_audit_take_a_baseline_too() {
    let r = repo();
    let base = r.git(&["rev-parse", "HEAD"]).trim().to_owned();
    r.write(
        "keps/sig-node/2000-b/kep.yaml",
        &kep_yaml("2000", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")])
            .replace("creation-date: 2021-01-01", "creation-date: soon"),
    );
    r.commit("another bad date");
    let file = r.sibling("b.json");
    assert!(
        r.kepguard(&["validate", "--write-baseline", file.to_str().unwrap()])
            .status
            .success()
    );
    let range = format!("{base}..HEAD");
    for args in [
        vec!["check", "--base", base.as_str(), "--head", "HEAD"],
        vec!["audit", range.as_str()],
    ] {
        let mut all = args.clone();
        all.extend(["--format", "json", "--fail-on", "warning"]);
        let (code, doc) = json_run(r.kepguard(&all));
        assert_eq!(
            (code, severities(&doc)),
            (1, vec!["kep-metadata warning".to_owned()]),
            "{all:?}"
        );
        all.extend(["--baseline", file.to_str().unwrap()]);
        let out = r.kepguard(&all);
        // A change's findings are a few of the tree's: the rest are not reported as fixed.
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{all:?}");
        let (code, doc) = json_run(out);
        assert_eq!(
            (code, severities(&doc)),
            (0, vec!["kep-metadata note".to_owned()]),
            "{all:?}"
        );
    }
}
