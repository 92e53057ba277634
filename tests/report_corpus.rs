//! `report` and `history` on the real KEP history of kubernetes/enhancements (`../shared/corpus/`),
//! where present.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

use common::{clone_corpus, json_run, kepguard_in};

/// The report's figures are the audit's own: the same commits, KEP changes and findings per rule,
/// and each lifecycle rule's findings are the changes it judged and flagged.
#[test]
fn report_figures_match_the_audit_of_the_same_range() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let (_, audit) = json_run(kepguard_in(&repo, &["audit", "--first-parent", "--format", "json"]));
    let (code, doc) = json_run(kepguard_in(&repo, &["report", "--format", "json"]));
    assert_eq!(code, 0, "{doc}");
    let figures = &doc["figures"];
    assert_eq!(figures["commits_checked"], audit["commits_checked"]);
    assert_eq!(figures["keps_checked"], audit["keps_checked"]);

    let mut per_rule: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for f in audit["findings"].as_array().unwrap() {
        let counts = per_rule.entry(f["rule"].as_str().unwrap().to_owned()).or_default();
        match f["severity"].as_str().unwrap() {
            "error" => counts[0] += 1,
            "warning" => counts[1] += 1,
            _ => counts[2] += 1,
        }
    }
    let reported: BTreeMap<String, [u64; 3]> = figures["findings_per_rule"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(rule, c)| {
            let n = |k: &str| c[k].as_u64().unwrap();
            (rule.clone(), [n("errors"), n("warnings"), n("notes")])
        })
        .collect();
    assert_eq!(reported, per_rule);

    let lifecycle = figures["lifecycle_rules"].as_object().unwrap();
    for rule in [
        "implementation-history",
        "prr-on-graduation",
        "stage-monotonic",
        "status-transition",
    ] {
        let found: u64 = per_rule.get(rule).map_or(0, |c| c.iter().sum());
        assert_eq!(lifecycle[rule]["flagged"].as_u64().unwrap(), found, "{rule}");
        assert!(
            lifecycle[rule]["judged"].as_u64().unwrap() > found,
            "{rule}: {lifecycle:?}"
        );
    }
    eprintln!("corpus lifecycle tallies: {lifecycle:?}");

    // The page shows the same headline.
    let html_path = tmp.path().join("keps.html");
    let out = kepguard_in(&repo, &["report", "--out", html_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&html_path).unwrap();
    let ih = &lifecycle["implementation-history"];
    let (judged, flagged) = (ih["judged"].as_u64().unwrap(), ih["flagged"].as_u64().unwrap());
    assert!(
        html.contains(&format!(
            "{} of {judged} changes of status, stage or milestones",
            judged - flagged
        )),
        "the headline's Implementation History figure"
    );
    assert!(html.contains(&format!(
        "<div class=\"value\">{}</div><div class=\"title\">Commits</div>",
        audit["commits_checked"]
    )));
    // A few megabytes at most, for a CI artifact.
    assert!(html.len() < 8 << 20, "{} bytes", html.len());
}

/// KEP-2400 (node swap), as its kep.yaml went: alpha for v1.22, beta for v1.23, slipped and set
/// back to alpha in 2022, beta again for v1.28, GA in v1.34, implemented.
#[test]
fn history_2400_is_the_real_sequence_of_its_stages_and_milestones() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let (code, doc) = json_run(kepguard_in(&repo, &["history", "2400", "--format", "json"]));
    assert_eq!(code, 0, "{doc}");
    let kep = &doc["kep"];
    assert_eq!(kep["path"], "keps/sig-node/2400-node-swap");
    let show = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let seen: Vec<String> = kep["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {} {}",
                show(&e["date"]),
                show(&e["event"]),
                show(&e["status"]),
                show(&e["stage"]),
                show(&e["latest_milestone"])
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            "2021-05-13 created implementable alpha v1.22",
            "2021-09-08 changed implementable beta v1.23",
            "2022-01-11 changed implementable beta v1.24",
            "2022-10-05 changed implementable beta v1.26",
            "2022-10-10 changed implementable alpha v1.26",
            "2023-02-02 changed implementable alpha v1.27",
            "2023-06-15 changed implementable beta v1.28",
            "2023-06-15 changed implementable beta v1.28",
            "2023-10-05 changed implementable beta v1.29",
            "2024-02-06 changed implementable beta v1.30",
            "2025-02-14 changed implementable beta v1.33",
            "2025-06-19 changed implementable stable v1.34",
            "2025-07-17 changed implemented stable v1.34",
        ]
    );
    // The GA change touched neither the Implementation History nor the PRR answers.
    let ga = &kep["entries"][11];
    assert_eq!(ga["implementation_history"], false);
    assert_eq!(ga["prr_answers"], false);
    let changes: Vec<String> = ga["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {} -> {}", show(&c["key"]), show(&c["old"]), show(&c["new"])))
        .collect();
    assert_eq!(changes, ["stage beta -> stable", "latest-milestone v1.33 -> v1.34"]);

    // The terminal form, by path.
    let out = kepguard_in(&repo, &["history", "keps/sig-node/2400-node-swap"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.starts_with("KEP-2400: Node system swap support (sig-node)\n"),
        "{text}"
    );
    assert!(text.contains("stage beta -> alpha"), "{text}");
}
