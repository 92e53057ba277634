//! The lifecycle ledger (`kepguard history`, `report --format json`, the report page) on fixture
//! repositories built with git: a graduation, a slip and a withdrawal, a move between SIG
//! directories, and a legacy single-file KEP converted to a directory.

mod common;

use common::{Repo, beta_yaml, json_run, kep_yaml, readme};
use serde_json::Value;

/// `history KEP --format json`, parsed: the KEP's ledger.
fn history(repo: &Repo, kep: &str) -> Value {
    let (code, doc) = json_run(repo.kepguard(&["history", kep, "--format", "json"]));
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["kind"], "kepguard/history/v1");
    doc["kep"].clone()
}

/// Each entry as `event: key old -> new, ...`, with `IH`/`PRR` marks where they apply.
fn entries(kep: &Value) -> Vec<String> {
    kep["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let changes: Vec<String> = e["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let show = |v: &Value| v.as_str().unwrap_or("(none)").to_owned();
                    format!(
                        "{} {} -> {}",
                        c["key"].as_str().unwrap(),
                        show(&c["old"]),
                        show(&c["new"])
                    )
                })
                .collect();
            let mark = |v: &Value, name: &str| match v.as_bool() {
                Some(true) => format!(" +{name}"),
                Some(false) => format!(" -{name}"),
                None => String::new(),
            };
            format!(
                "{}: {}{}{}",
                e["event"].as_str().unwrap(),
                changes.join(", "),
                mark(&e["implementation_history"], "IH"),
                mark(&e["prr_answers"], "PRR")
            )
        })
        .collect()
}

fn alpha_yaml(number: &str, latest: &str) -> String {
    kep_yaml(number, "implementable", "alpha", latest, &[("alpha", latest)])
}

#[test]
fn a_graduation_is_one_entry_with_what_moved_beside_it() {
    let repo = Repo::new();
    let dir = "keps/sig-node/1001-frob";
    repo.kep(
        dir,
        &alpha_yaml("1001", "v1.20"),
        &readme("Frob.", &[], &["- v1.20: alpha"]),
    );
    repo.commit("KEP-1001: alpha");
    repo.kep(
        dir,
        &beta_yaml("1001", "v1.21"),
        &readme("Frob.", &["Beta answers."], &["- v1.20: alpha", "- v1.21: beta"]),
    );
    repo.commit("KEP-1001: beta");
    // Retargeted without a word in the Implementation History.
    repo.kep(
        dir,
        &kep_yaml(
            "1001",
            "implementable",
            "beta",
            "v1.22",
            &[("alpha", "v1.20"), ("beta", "v1.21"), ("stable", "v1.22")],
        ),
        &readme("Frob.", &["Beta answers."], &["- v1.20: alpha", "- v1.21: beta"]),
    );
    repo.commit("KEP-1001: plan GA");

    let kep = history(&repo, "1001");
    assert_eq!(kep["number"], "1001");
    assert_eq!(kep["path"], dir);
    assert_eq!(kep["stage"], "beta");
    assert_eq!(
        entries(&kep),
        [
            "created: status (none) -> implementable, stage (none) -> alpha, latest-milestone (none) -> v1.20, \
             milestone.alpha (none) -> v1.20",
            "changed: stage alpha -> beta, latest-milestone v1.20 -> v1.21, milestone.beta (none) -> v1.21 +IH +PRR",
            "changed: latest-milestone v1.21 -> v1.22, milestone.stable (none) -> v1.22 -IH -PRR",
        ]
    );
    let last = &kep["entries"][2];
    let rules: Vec<&str> = last["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"implementation-history"), "{rules:?}");

    // A range that starts after its creation starts its ledger with a change, not a creation.
    let (code, doc) = json_run(repo.kepguard(&["history", "1001", "--range", "HEAD~1..HEAD", "--format", "json"]));
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        entries(&doc["kep"]),
        ["changed: latest-milestone v1.21 -> v1.22, milestone.stable (none) -> v1.22 -IH -PRR"]
    );

    // The terminal form names the same changes and the commit subjects.
    let out = repo.kepguard(&["history", "KEP-1001"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("KEP-1001: Test KEP (sig-node)\n"), "{text}");
    assert!(
        text.contains("stage alpha -> beta") && text.contains("KEP-1001: plan GA"),
        "{text}"
    );
    assert!(text.contains("Implementation History not updated"), "{text}");
}

#[test]
fn a_slip_and_a_withdrawal_are_entries_of_their_own() {
    let repo = Repo::new();
    let dir = "keps/sig-node/1002-slip";
    let history_lines = ["- v1.20: alpha", "- v1.21: beta planned"];
    repo.kep(
        dir,
        &kep_yaml(
            "1002",
            "implementable",
            "beta",
            "v1.21",
            &[("alpha", "v1.20"), ("beta", "v1.21")],
        ),
        &readme("Slip.", &[], &history_lines),
    );
    repo.commit("KEP-1002: beta in v1.21");
    repo.kep(
        dir,
        &kep_yaml(
            "1002",
            "implementable",
            "alpha",
            "v1.22",
            &[("alpha", "v1.20"), ("beta", "v1.22")],
        ),
        &readme("Slip.", &[], &[&history_lines[..], &["- v1.22: beta slipped"]].concat()),
    );
    repo.commit("KEP-1002: beta slips to v1.22");
    repo.kep(
        dir,
        &kep_yaml(
            "1002",
            "withdrawn",
            "alpha",
            "v1.22",
            &[("alpha", "v1.20"), ("beta", "v1.22")],
        ),
        &readme(
            "Slip.",
            &[],
            &[&history_lines[..], &["- v1.22: beta slipped", "- withdrawn"]].concat(),
        ),
    );
    repo.commit("KEP-1002: withdrawn");

    let kep = history(&repo, "keps/sig-node/1002-slip");
    assert_eq!(kep["status"], "withdrawn");
    let e = entries(&kep);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert_eq!(
        e[1],
        "changed: stage beta -> alpha, latest-milestone v1.21 -> v1.22, milestone.beta v1.21 -> v1.22 +IH -PRR"
    );
    assert_eq!(e[2], "changed: status implementable -> withdrawn +IH -PRR");
    // The slip is judged by stage-monotonic; the withdrawal is a step of the process.
    let rules = |i: usize| -> Vec<String> {
        kep["entries"][i]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()))
            .collect()
    };
    assert!(
        rules(1).contains(&"stage-monotonic warning".to_owned()),
        "{:?}",
        rules(1)
    );
    assert!(
        !rules(2).iter().any(|r| r.starts_with("status-transition")),
        "{:?}",
        rules(2)
    );
}

#[test]
fn a_move_between_sig_directories_continues_the_ledger() {
    let repo = Repo::new();
    let (old, new) = ("keps/sig-node/1003-move", "keps/sig-apps/1003-move");
    repo.kep(
        old,
        &alpha_yaml("1003", "v1.20"),
        &readme("Move.", &[], &["- v1.20: alpha"]),
    );
    repo.commit("KEP-1003: alpha");
    std::fs::create_dir_all(repo.dir.join("keps/sig-apps")).unwrap();
    repo.git(&["mv", old, new]);
    let moved = alpha_yaml("1003", "v1.20").replace("owning-sig: sig-node", "owning-sig: sig-apps");
    repo.write(&format!("{new}/kep.yaml"), &moved);
    repo.commit("KEP-1003: to sig-apps");
    repo.kep(
        new,
        &beta_yaml("1003", "v1.21").replace("owning-sig: sig-node", "owning-sig: sig-apps"),
        &readme("Move.", &["Beta."], &["- v1.20: alpha", "- v1.21: beta"]),
    );
    repo.commit("KEP-1003: beta");

    for name in ["1003", old, new] {
        let kep = history(&repo, name);
        assert_eq!(kep["path"], new, "{name}");
        assert_eq!(kep["former_paths"], serde_json::json!([old]), "{name}");
        assert_eq!(kep["owning_sig"], "sig-apps");
        let e = entries(&kep);
        assert_eq!(e.len(), 3, "{e:#?}");
        assert!(e[0].starts_with("created: "), "{e:#?}");
        assert_eq!(e[1], "moved: ");
        assert!(e[2].starts_with("changed: stage alpha -> beta"), "{e:#?}");
        assert_eq!(kep["entries"][1]["from"], old);
    }
}

#[test]
fn a_legacy_kep_converted_to_a_directory_keeps_its_ledger() {
    let repo = Repo::new();
    let legacy = "keps/sig-node/0004-frob.md";
    repo.write(
        legacy,
        "---\ntitle: Frob the nodes\nkep-number: 4\nauthors:\n  - \"@jane\"\nowning-sig: sig-node\n\
         status: provisional\ncreation-date: 2019-01-01\n---\n\n# Frob the nodes\n\n## Summary\n\nFrob.\n\n\
         ## Implementation History\n\n- 2019-01-01: proposed\n",
    );
    repo.commit("Frob KEP, provisional");
    repo.remove(legacy);
    let dir = "keps/sig-node/4-frob-the-nodes";
    let yaml = alpha_yaml("4", "v1.20").replace("title: Test KEP", "title: Frob the nodes");
    repo.kep(
        dir,
        &yaml,
        &readme(
            "Frob.",
            &[],
            &["- 2019-01-01: proposed", "- v1.20: implementable, alpha"],
        ),
    );
    repo.commit("KEP-4: convert to a directory, implementable for v1.20");

    let kep = history(&repo, "4");
    assert_eq!(kep["path"], dir);
    assert_eq!(kep["former_paths"], serde_json::json!([legacy]));
    assert_eq!(kep["deleted"], false);
    let e = entries(&kep);
    assert_eq!(
        e,
        [
            "created: status (none) -> provisional",
            "converted: status provisional -> implementable, stage (none) -> alpha, latest-milestone (none) -> v1.20, \
             milestone.alpha (none) -> v1.20",
        ]
    );
    assert_eq!(kep["entries"][1]["from"], legacy);
    // The legacy path names the same KEP.
    assert_eq!(history(&repo, legacy)["path"], dir);
}

#[test]
fn report_json_holds_every_ledger_and_the_audits_counts() {
    let repo = Repo::new();
    repo.kep(
        "keps/sig-node/1001-frob",
        &alpha_yaml("1001", "v1.20"),
        &readme("Frob.", &[], &[]),
    );
    repo.commit("KEP-1001: alpha");
    repo.kep(
        "keps/sig-node/1001-frob",
        &beta_yaml("1001", "v1.21"),
        &readme("Frob.", &[], &[]),
    );
    repo.kep(
        "keps/sig-apps/1005-other",
        &alpha_yaml("1005", "v1.21"),
        &readme("Other.", &[], &[]),
    );
    repo.commit("KEP-1001: beta; KEP-1005");

    let (code, doc) = json_run(repo.kepguard(&["report", "--format", "json"]));
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["kind"], "kepguard/ledger/v1");
    let numbers: Vec<&str> = doc["keps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["1001", "1005"]);
    let (_, audit) = json_run(repo.kepguard(&["audit", "--first-parent", "--format", "json"]));
    let figures = &doc["figures"];
    assert_eq!(figures["commits_checked"], audit["commits_checked"]);
    assert_eq!(figures["keps_checked"], audit["keps_checked"]);
    let count = |rule: &str| {
        audit["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == rule)
            .count()
    };
    assert_eq!(figures["lifecycle_rules"]["implementation-history"]["judged"], 1);
    assert_eq!(
        figures["lifecycle_rules"]["implementation-history"]["flagged"],
        count("implementation-history")
    );
    assert_eq!(
        figures["lifecycle_rules"]["prr-on-graduation"]["flagged"],
        count("prr-on-graduation")
    );
    assert_eq!(count("prr-on-graduation"), 1);
}

#[test]
fn the_report_page_is_one_self_contained_file() {
    let repo = Repo::new();
    let dir = "keps/sig-node/1001-frob";
    repo.kep(dir, &alpha_yaml("1001", "v1.20"), &readme("Frob <b>.", &[], &[]));
    repo.commit("KEP-1001: alpha");
    repo.kep(dir, &beta_yaml("1001", "v1.21"), &readme("Frob.", &[], &[]));
    repo.commit("KEP-1001: beta");
    let out_path = repo.sibling("keps.html");
    let out = repo.kepguard(&[
        "report",
        "--out",
        out_path.to_str().unwrap(),
        "--link-base",
        "https://example.com/commit/",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&out_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80]);
    // Nothing is fetched: no external script, style sheet, image or font.
    for fetch in ["<script src", "<link", "<img", "@import", "url("] {
        assert!(!html.contains(fetch), "the page fetches something: {fetch}");
    }
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert!(html.contains(&format!("href=\"https://example.com/commit/{}\"", head.trim())));
    assert!(html.matches("<svg").count() >= 2);
    assert!(html.contains("<details class=\"kep\" data-search=\"1001 kep-1001 test kep sig-node"));
    assert!(html.contains("id=\"kep-search\""));
    assert!(html.contains("id=\"rule-implementation-history\""));
    // Written nowhere but --out: the repository is untouched.
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn history_of_an_unknown_kep_is_a_one_line_error() {
    let repo = Repo::new();
    repo.kep(
        "keps/sig-node/1001-frob",
        &alpha_yaml("1001", "v1.20"),
        &readme("Frob.", &[], &[]),
    );
    repo.commit("KEP-1001: alpha");
    let out = repo.kepguard(&["history", "9999"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("`9999`"), "{err}");
}

#[test]
fn a_legacy_kep_file_moved_to_another_sig_continues_its_ledger() {
    let repo = Repo::new();
    let (old, new) = ("keps/sig-node/0005-frob.md", "keps/sig-apps/20190101-frob.md");
    let text = |status: &str| {
        format!(
            "---\ntitle: Frob the apps\nkep-number: 5\nauthors:\n  - \"@jane\"\nowning-sig: sig-node\n\
             status: {status}\ncreation-date: 2019-01-01\n---\n\n# Frob the apps\n\n## Summary\n\nFrob.\n"
        )
    };
    repo.write(old, &text("provisional"));
    repo.commit("Frob KEP, provisional");
    repo.remove(old);
    repo.write(new, &text("implementable"));
    repo.commit("Frob KEP: to sig-apps, implementable");

    let kep = history(&repo, new);
    assert_eq!(kep["former_paths"], serde_json::json!([old]));
    assert_eq!(kep["deleted"], false);
    assert_eq!(
        entries(&kep),
        [
            "created: status (none) -> provisional",
            "moved: status provisional -> implementable"
        ]
    );
}
