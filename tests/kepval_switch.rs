//! The policy's `kepval` switch: what kepval rejects only because of how it reads files is an
//! error that says so, unless the repository says it does not run kepval; the real checks stay.

mod common;

use common::{Repo, json_run, kep_yaml, readme};
use serde_json::Value;

const KEP: &str = "keps/sig-node/1234-frob";

/// A repository kepval can run on, holding one implementable KEP whose metadata is `yaml`, and
/// with `policy` as `.kepguard.yaml` when given.
fn repo(yaml: &str, policy: Option<&str>) -> Repo {
    let r = Repo::new();
    r.kepval_ready();
    r.kep(KEP, yaml, &readme("S.", &[], &["- alpha"]));
    if let Some(p) = policy {
        r.write(".kepguard.yaml", p);
    }
    r.commit("KEP");
    r
}

fn validate(r: &Repo) -> (i32, Vec<(String, String, String)>) {
    let (code, doc) = json_run(r.kepguard(&["validate", "--format", "json"]));
    let found = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f: &Value| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
                f["notes"].to_string(),
            )
        })
        .collect();
    (code, found)
}

fn alpha() -> String {
    kep_yaml("1234", "implementable", "alpha", "v1.31", &[("alpha", "v1.31")])
}

#[test]
fn a_line_containing_three_dashes_is_kepvals_document_marker() {
    let yaml = alpha().replace("title: Test KEP", "title: Frobbing --- at scale");
    let (code, found) = validate(&repo(&yaml, None));
    assert_eq!(code, 1, "{found:?}");
    assert_eq!(found.len(), 1, "{found:?}");
    let (rule, message, notes) = &found[0];
    assert_eq!(rule, "kep-metadata");
    assert!(
        message.contains("treats line 1, which contains `---`, as a document marker")
            && message.contains("move `---` out of this value"),
        "{message}"
    );
    assert!(notes.contains("kepval: false"), "{notes}");
    // A repository that does not run kepval reads the file as YAML does.
    assert_eq!(validate(&repo(&yaml, Some("kepval: false\n"))), (0, vec![]));
}

#[test]
fn a_line_over_64_kib_fails_kepvals_reader() {
    let yaml = alpha().replace("title: Test KEP", &format!("title: {}", "x".repeat(70_000)));
    let (code, found) = validate(&repo(&yaml, None));
    assert_eq!((code, found.len()), (1, 1), "{found:?}");
    assert!(found[0].1.contains("over 64 KiB"), "{found:?}");
    assert_eq!(validate(&repo(&yaml, Some("kepval: false\n"))).0, 0);
}

#[test]
fn an_approver_is_compared_as_written_only_for_kepval() {
    let r = repo(&alpha(), None);
    r.write(
        "keps/prod-readiness/sig-node/1234.yaml",
        "kep-number: 1234\nalpha:\n  approver: \"@wojtek-t \"\n",
    );
    r.commit("a space after the name");
    let (code, found) = validate(&r);
    assert_eq!((code, found.len()), (1, 1), "{found:?}");
    assert_eq!(found[0].0, "prr-approval");
    assert!(found[0].1.contains("kepval compares approvers exactly"), "{found:?}");
    r.write(".kepguard.yaml", "kepval: false\n");
    r.commit("no kepval here");
    assert_eq!(validate(&r), (0, vec![]));
    // Someone who is no approver at all stays an error either way.
    r.write(
        "keps/prod-readiness/sig-node/1234.yaml",
        "kep-number: 1234\nalpha:\n  approver: \"@jane\"\n",
    );
    r.commit("not an approver");
    let (code, found) = validate(&r);
    assert_eq!((code, found[0].0.as_str()), (1, "prr-approval"), "{found:?}");
}

#[test]
fn kepvals_preconditions_only_matter_where_it_runs() {
    let r = repo(&alpha(), None);
    r.remove("keps/README.md");
    r.commit("no keps/README.md");
    let (code, found) = validate(&r);
    assert_eq!((code, found[0].0.as_str()), (1, "kep-tree"), "{found:?}");
    assert!(found[0].1.contains("keps/README.md"), "{found:?}");
    r.write(".kepguard.yaml", "kepval: false\n");
    r.commit("no kepval here");
    assert_eq!(validate(&r), (0, vec![]));
}

#[test]
fn the_real_checks_stay_without_kepval() {
    // A README with no kep.yaml beside it, and an unknown field, whatever the switch.
    let r = repo(
        &format!("{}prr-approvers: [\"@a\"]\n", alpha()),
        Some("kepval: false\n"),
    );
    r.write("keps/sig-node/5678-orphan/README.md", "# Orphan\n");
    r.commit("orphan README");
    let (code, found) = validate(&r);
    let rules: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(code, 1);
    assert!(
        rules.contains(&"kep-tree") && rules.contains(&"kep-metadata"),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.1.contains("5678-orphan has a README.md but no kep.yaml")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.1.contains("unknown field `prr-approvers`")),
        "{found:?}"
    );
}
