//! `kepguard readiness` on fixture repositories built with git, each criterion both ways, and on
//! the real KEP history where the corpus is present.

mod common;

use common::{Repo, json_run, kep_yaml, readme};
use serde_json::Value;

const TEST_PLAN: &str = "### Test Plan\n\n[x] I/we understand the owners of the involved components may require updates to\n\
    existing tests to make this code solid enough prior to committing the changes necessary\nto implement this enhancement.\n\n\
    Unit tests for the frobnicator.\n\n";
const GRADUATION: &str =
    "### Graduation Criteria\n\n#### Alpha\n\n- Behind a feature gate.\n\n#### Beta\n\n- Enabled by default.\n\n";
const CHECKLIST: &str = "## Release Signoff Checklist\n\n- [x] (R) Enhancement issue in release milestone\n- [x] (R) Graduation criteria is in place\n\
    - [ ] User-facing documentation\n\n";

/// A README that meets every criterion for a KEP at beta in v1.37, with `tweak` applied.
fn full_readme(tweak: impl Fn(String) -> String) -> String {
    let base = readme("Frobs.", &[], &["- 2026-05-01: beta in v1.37"]);
    let base = base.replace("## Summary", &format!("{CHECKLIST}## Summary"));
    let base = base.replace(
        "## Implementation History",
        &format!("## Design Details\n\n{TEST_PLAN}{GRADUATION}## Implementation History"),
    );
    tweak(base)
}

fn yaml(status: &str, stage: &str, latest: &str, milestones: &[(&str, &str)]) -> String {
    kep_yaml("1000", status, stage, latest, milestones)
}

fn beta_137() -> String {
    yaml(
        "implementable",
        "beta",
        "v1.37",
        &[("alpha", "v1.36"), ("beta", "v1.37")],
    )
}

/// A repository holding the KEP `keps/sig-node/1000-frob` with `yaml` and `readme`.
fn repo_with(yaml: &str, readme: &str) -> Repo {
    let r = Repo::new();
    r.kepval_ready().kep("keps/sig-node/1000-frob", yaml, readme);
    r.commit("KEPs");
    r
}

fn readiness(r: &Repo, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["readiness", "--release", "v1.37", "--format", "json"];
    all.extend_from_slice(args);
    json_run(r.kepguard(&all))
}

/// The KEP's criteria as `id outcome` (failed ones only when `failed_only`).
fn outcomes(doc: &Value, number: &str) -> Vec<String> {
    let kep = doc["keps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["number"] == number)
        .unwrap_or_else(|| panic!("KEP {number} not in {doc}"));
    kep["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["criterion"].as_str().unwrap(),
                c["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

fn failed(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for k in doc["keps"].as_array().unwrap() {
        for c in k["criteria"].as_array().unwrap() {
            if c["outcome"] == "failed" && c["required"] == true {
                out.push(c["criterion"].as_str().unwrap().to_owned());
            }
        }
    }
    out
}

fn verdict(doc: &Value, number: &str) -> String {
    doc["keps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["number"] == number)
        .map(|k| k["verdict"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("KEP {number} not in {doc}"))
}

#[test]
fn a_kep_that_meets_every_criterion_is_tracked() {
    let r = repo_with(&beta_137(), &full_readme(|s| s));
    let (code, doc) = readiness(&r, &["--require-checklist", "--strict"]);
    assert_eq!(code, 0);
    assert_eq!(doc["schema"], "kepguard/readiness/v1");
    assert_eq!(failed(&doc), Vec::<String>::new(), "{doc}");
    assert_eq!(verdict(&doc, "1000"), "tracked");
    assert_eq!(doc["counts"]["tracked"], 1);
    assert!(outcomes(&doc, "1000").contains(&"changed-since not-applicable".to_owned()));
    let kep = &doc["keps"][0];
    assert_eq!(kep["graduating"], true);
    assert_eq!(kep["checklist"].as_array().unwrap().len(), 2);
}

/// Each criterion fails on its own when the fixture breaks what it checks.
#[test]
fn each_criterion_fails_alone_when_its_part_is_broken() {
    let cases: Vec<(&str, String, String)> = vec![
        (
            "status",
            yaml("provisional", "beta", "v1.37", &[("alpha", "v1.36"), ("beta", "v1.37")]),
            full_readme(|s| s),
        ),
        // Graduating to beta in v1.37 while `stage` still says alpha.
        (
            "milestones",
            yaml(
                "implementable",
                "alpha",
                "v1.37",
                &[("alpha", "v1.36"), ("beta", "v1.37")],
            ),
            full_readme(|s| s),
        ),
        (
            "milestones",
            yaml("implementable", "beta", "v1.37", &[("alpha", "v1.36")]),
            full_readme(|s| s),
        ),
        (
            "test-plan",
            beta_137(),
            full_readme(|s| s.replace("[x] I/we", "[ ] I/we")),
        ),
        (
            "test-plan",
            beta_137(),
            full_readme(|s| s.replace("Unit tests for the frobnicator.", "")),
        ),
        (
            "graduation-criteria",
            beta_137(),
            full_readme(|s| s.replace("#### Beta\n\n- Enabled by default.", "<!--\n#### Beta\n-->")),
        ),
        (
            "implementation-history",
            beta_137(),
            full_readme(|s| s.replace("beta in v1.37", "beta")),
        ),
        (
            "signoff-checklist",
            beta_137(),
            full_readme(|s| s.replace("- [x] (R) Graduation", "- [ ] (R) Graduation")),
        ),
        (
            "prr-answers",
            beta_137(),
            full_readme(|s| s.replace("It cannot.", "<!-- answer -->")),
        ),
        (
            "template",
            beta_137(),
            full_readme(|s| s.replace("## Summary\n\nFrobs.\n\n", "")),
        ),
        (
            "metadata",
            beta_137().replace("owning-sig: sig-node", "owning-sig: sig-node\nowning-sig: sig-apps"),
            full_readme(|s| s),
        ),
    ];
    for (criterion, y, md) in cases {
        let r = repo_with(&y, &md);
        let (code, doc) = readiness(&r, &["--require-checklist", "--strict", "--keps", "1000"]);
        assert_eq!(code, 0, "{criterion}: {doc}");
        assert_eq!(failed(&doc), vec![criterion.to_owned()], "{criterion}: {doc}");
        assert_eq!(verdict(&doc, "1000"), "at-risk", "{criterion}");
    }
}

#[test]
fn prr_answers_and_template_are_reported_and_required_only_with_strict() {
    let r = repo_with(&beta_137(), &full_readme(|s| s.replace("## Summary\n\nFrobs.\n\n", "")));
    let (_, doc) = readiness(&r, &[]);
    assert_eq!(verdict(&doc, "1000"), "tracked");
    assert!(outcomes(&doc, "1000").contains(&"template failed".to_owned()), "{doc}");
    let (_, doc) = readiness(&r, &["--strict"]);
    assert_eq!(failed(&doc), vec!["template"]);
}

#[test]
fn the_prr_approval_must_name_an_approver_for_the_stage() {
    let r = repo_with(&beta_137(), &full_readme(|s| s));
    r.write(
        "keps/prod-readiness/sig-node/1000.yaml",
        "kep-number: 1000\nalpha:\n  approver: \"@wojtek-t\"\n",
    );
    r.commit("approval for alpha only");
    let (_, doc) = readiness(&r, &[]);
    assert_eq!(failed(&doc), vec!["prr-approval"], "{doc}");
    // At PRR Freeze the README's template and Test Plan are not yet required.
    let r = repo_with(&beta_137(), &full_readme(|s| s.replace("[x] I/we", "[ ] I/we")));
    let (_, doc) = readiness(&r, &["--freeze", "prr"]);
    assert_eq!(failed(&doc), Vec::<String>::new(), "{doc}");
    assert_eq!(doc["freeze"], "prr");
}

#[test]
fn a_kep_staying_at_its_stage_is_told_apart_from_one_that_forgot_its_milestones() {
    let staying = yaml(
        "implementable",
        "beta",
        "v1.37",
        &[("alpha", "v1.35"), ("beta", "v1.36")],
    );
    let r = repo_with(&staying, &full_readme(|s| s));
    let (_, doc) = readiness(&r, &[]);
    assert_eq!(failed(&doc), Vec::<String>::new(), "{doc}");
    let kep = &doc["keps"][0];
    assert_eq!(kep["graduating"], false);
    let milestones = kep["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["criterion"] == "milestones")
        .unwrap();
    assert_eq!(milestones["detail"], "stays at beta (since v1.36)");

    let forgot = yaml(
        "implementable",
        "beta",
        "v1.36",
        &[("alpha", "v1.35"), ("beta", "v1.36")],
    );
    let r = repo_with(&forgot, &full_readme(|s| s));
    let (_, doc) = readiness(&r, &[]);
    assert_eq!(doc["counts"]["keps"], 0, "not targeting v1.37: not selected by default");
    let (_, doc) = readiness(&r, &["--keps", "1000"]);
    assert_eq!(failed(&doc), vec!["milestones"]);
}

#[test]
fn the_release_teams_exceptions_file_excepts_an_approved_request() {
    let r = repo_with(
        &yaml("provisional", "beta", "v1.37", &[("beta", "v1.37")]),
        &full_readme(|s| s),
    );
    let file = r.sibling("exceptions.yaml");
    std::fs::write(
        &file,
        "enhancementFreeze:\n- name: \"Frob\"\n  issue: 1000\n  date_requested: 2026-06-18\n  date_reviewed: 2026-06-20\n  \
         thread: https://groups.google.com/g/kubernetes-sig-release/c/x\n  pull_requests:\n    - https://github.com/kubernetes/enhancements/pull/1\n  status: \"approved\"\n",
    )
    .unwrap();
    let (_, doc) = readiness(&r, &["--exceptions", file.to_str().unwrap()]);
    assert_eq!(verdict(&doc, "1000"), "exception");
    assert_eq!(doc["keps"][0]["exception"]["status"], "approved");
    std::fs::write(
        &file,
        std::fs::read_to_string(&file).unwrap().replace("approved", "rejected"),
    )
    .unwrap();
    let (_, doc) = readiness(&r, &["--exceptions", file.to_str().unwrap()]);
    assert_eq!(verdict(&doc, "1000"), "at-risk");
    std::fs::write(&file, "enhancementFreeze:\n- name: x\n  issue: soon\n").unwrap();
    let out = r.kepguard(&[
        "readiness",
        "--release",
        "v1.37",
        "--exceptions",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("entry 1 of `enhancementFreeze` has no issue number"),
        "{err}"
    );
}

#[test]
fn an_explicit_list_judges_those_keps_and_names_the_unknown() {
    let r = Repo::new();
    r.kepval_ready()
        .kep("keps/sig-node/1000-frob", &beta_137(), &full_readme(|s| s))
        .kep(
            "keps/sig-node/2000-old",
            &kep_yaml("2000", "implemented", "stable", "v1.30", &[("stable", "v1.30")]),
            &full_readme(|s| s),
        );
    r.commit("KEPs");
    let list = r.sibling("keps.txt");
    std::fs::write(&list, "# from the tracking board\n2000\nKEP-1000\n3000\n").unwrap();
    let (_, doc) = readiness(&r, &["--keps-file", list.to_str().unwrap()]);
    let numbers: Vec<&str> = doc["keps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["1000", "2000"]);
    assert_eq!(doc["unknown"], serde_json::json!(["3000"]));
    assert_eq!(verdict(&doc, "2000"), "at-risk");
    let (_, doc) = readiness(&r, &[]);
    assert_eq!(doc["counts"]["keps"], 1, "by default only the KEPs targeting v1.37");
    std::fs::write(&list, "1000\nfrob\n").unwrap();
    let out = r.kepguard(&["readiness", "--release", "v1.37", "--keps-file", list.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn fail_on_at_risk_sets_the_exit_code() {
    let r = repo_with(
        &yaml("provisional", "beta", "v1.37", &[("beta", "v1.37")]),
        &full_readme(|s| s),
    );
    assert_eq!(r.kepguard(&["readiness", "--release", "v1.37"]).status.code(), Some(0));
    let out = r.kepguard(&["readiness", "--release", "v1.37", "--fail-on", "at-risk"]);
    assert_eq!(out.status.code(), Some(1));
    for bad in ["1.x", "v1.37\"; touch pwned", "1.9-ish", "v1"] {
        let out = r.kepguard(&["readiness", "--release", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
    let out = r.kepguard(&["readiness", "--release", "1.x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a release such as v1.37"));
}

#[test]
fn since_asks_a_graduating_kep_for_new_prr_answers_or_approval() {
    let r = repo_with(&beta_137(), &full_readme(|s| s));
    let then = r.commit("the previous freeze");
    r.write(
        "keps/sig-node/1000-frob/README.md",
        &full_readme(|s| s.replace("Frobs.", "Frobs well.")),
    );
    r.commit("summary only");
    let (_, doc) = readiness(&r, &["--since", &then]);
    assert_eq!(failed(&doc), vec!["changed-since"], "{doc}");
    r.write(
        "keps/sig-node/1000-frob/README.md",
        &full_readme(|s| s.replace("It cannot.", "It cannot, we tested.")),
    );
    r.commit("PRR answer");
    let (_, doc) = readiness(&r, &["--since", &then]);
    assert_eq!(failed(&doc), Vec::<String>::new(), "{doc}");
}

#[test]
fn every_format_renders_and_the_data_ones_parse_back() {
    let r = Repo::new();
    r.kepval_ready()
        .kep("keps/sig-node/1000-frob", &beta_137(), &full_readme(|s| s))
        .kep(
            "keps/sig-apps/1001-late",
            &kep_yaml("1001", "provisional", "alpha", "v1.37", &[("alpha", "v1.37")]).replace("sig-node", "sig-apps"),
            &full_readme(|s| s),
        );
    r.commit("KEPs");
    let run = |format: &str| {
        let out = r.kepguard(&[
            "readiness",
            "--release",
            "v1.37",
            "--format",
            format,
            "--color",
            "never",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let human = run("human");
    let lines: Vec<&str> = human.lines().collect();
    assert!(lines[0].starts_with("SIG"), "{human}");
    assert!(
        lines[1].starts_with("sig-apps") && lines[1].contains("at-risk") && lines[1].ends_with("status"),
        "{human}"
    );
    assert!(
        lines[2].starts_with("sig-node") && lines[2].contains("tracked"),
        "{human}"
    );
    assert!(
        human.contains("error[status]: KEP-1001: `status` is `provisional`"),
        "{human}"
    );
    assert!(human.contains("--> keps/sig-apps/1001-late/kep.yaml:6"), "{human}");
    assert!(human.ends_with("2 KEPs for v1.37 enhancements freeze: 1 tracked, 1 at risk, 0 with an exception\n"));

    let csv_text = run("csv");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "kep");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((&rows[0][0], &rows[0][7], &rows[0][8]), ("1001", "at-risk", "status"));
    assert_eq!((&rows[1][0], &rows[1][7]), ("1000", "tracked"));

    let md = run("markdown");
    assert!(md.contains("| KEP | Title | SIG | Stage | Verdict | Failing |"), "{md}");
    assert!(md.contains("Hello @jane 👋, v1.37 Enhancements team here."), "{md}");
    assert!(
        md.contains("The status of this enhancement is marked as `At risk for enhancements freeze`."),
        "{md}"
    );
    assert!(
        md.contains("The status of this enhancement is marked as `Tracked for enhancements freeze`."),
        "{md}"
    );
    assert!(
        md.contains("- ❌ KEP status is marked as `implementable` for `latest-milestone: v1.37`."),
        "{md}"
    );
    assert!(md.contains("/blob/"), "{md}");

    let (_, doc) = json_run(r.kepguard(&["readiness", "--release", "v1.37", "--format", "json"]));
    assert_eq!(
        doc["counts"],
        serde_json::json!({"keps": 2, "tracked": 1, "at_risk": 1, "exception": 0})
    );
    assert_eq!(doc["criteria"].as_array().unwrap().len(), 11);
}

#[test]
fn help_lists_each_criterion_and_where_it_comes_from() {
    let r = Repo::new();
    let out = r.kepguard(&["readiness", "--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    for id in [
        "metadata",
        "status",
        "milestones",
        "prr-approval",
        "prr-answers",
        "template",
        "test-plan",
        "graduation-criteria",
        "implementation-history",
        "signoff-checklist",
        "changed-since",
    ] {
        assert!(help.contains(&format!("  {id}\n")), "{id} missing from:\n{help}");
    }
    assert!(help.contains("from: release_phases.md"), "{help}");
}

/// At the corpus tip: the KEPs whose `latest-milestone` is v1.37, with pinned counts and three
/// KEPs checked by hand, one of each verdict.
#[test]
fn the_real_history_at_its_tip() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = common::clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let exceptions = tmp.path().join("exceptions.yaml");
    std::fs::write(
        &exceptions,
        "enhancementFreeze:\n- name: Kubelet Pod Readiness API\n  issue: 4188\n  status: approved\n",
    )
    .unwrap();
    let out = common::kepguard_in(
        &repo,
        &[
            "readiness",
            "--release",
            "v1.37",
            "--format",
            "json",
            "--exceptions",
            exceptions.to_str().unwrap(),
        ],
    );
    let (code, doc) = json_run(out);
    assert_eq!(code, 0);
    assert_eq!(
        doc["counts"],
        serde_json::json!({"keps": 94, "tracked": 80, "at_risk": 13, "exception": 1}),
        "the tip's counts moved"
    );
    // Every selected KEP names v1.37 as its latest milestone, as `v1.37`, `"v1.37"` or `1.37`.
    for k in doc["keps"].as_array().unwrap() {
        assert_eq!(
            k["latest_milestone"].as_str().unwrap().trim_start_matches('v'),
            "1.37",
            "{}",
            k["path"]
        );
    }
    assert_eq!(verdict(&doc, "3541"), "tracked");
    assert_eq!(verdict(&doc, "5975"), "at-risk");
    assert_eq!(verdict(&doc, "4188"), "exception");
    let failing = |n: &str| -> Vec<String> {
        let k = doc["keps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["number"] == n)
            .unwrap();
        k["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["outcome"] == "failed" && c["required"] == true)
            .map(|c| c["criterion"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(failing("5975"), ["status", "graduation-criteria"]);
    assert_eq!(failing("4188"), ["test-plan"]);
}

#[test]
fn the_readme_documents_every_criterion() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for id in [
        "metadata",
        "status",
        "milestones",
        "prr-approval",
        "prr-answers",
        "template",
        "test-plan",
        "graduation-criteria",
        "implementation-history",
        "signoff-checklist",
        "changed-since",
    ] {
        assert!(readme.contains(&format!("| `{id}` |")), "README lacks a row for {id}");
    }
}

/// At the last first-parent commit before v1.33's Enhancements Freeze (02:00 UTC, 14 February
/// 2025), the KEPs tracked are as many as the release shipped: 64 enhancements, by its release
/// announcement.
#[test]
fn the_v1_33_freeze_tracks_as_many_keps_as_the_release_shipped() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = common::clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let freeze = common::git_in(
        &repo,
        &[
            "rev-list",
            "--first-parent",
            "-1",
            "--before=2025-02-14T02:00:00Z",
            "HEAD",
        ],
    );
    let (code, doc) = json_run(common::kepguard_in(
        &repo,
        &[
            "readiness",
            "--release",
            "v1.33",
            "--rev",
            freeze.trim(),
            "--format",
            "json",
        ],
    ));
    assert_eq!(code, 0);
    assert_eq!(
        doc["counts"],
        serde_json::json!({"keps": 78, "tracked": 64, "at_risk": 14, "exception": 0})
    );
}
