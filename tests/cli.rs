//! The command line: revisions, exit codes, output formats, audit ranges, explain and demo.

mod common;

use common::{Repo, beta_yaml, git_in, has_sgr, json_run, kep_yaml, kepguard_in, kepguard_in_pty, readme, rules};

const KEP: &str = "keps/sig-node/1234-frob";
const OTHER: &str = "keps/sig-apps/2000-other";

fn alpha(number: &str) -> String {
    kep_yaml(number, "implementable", "alpha", "v1.20", &[("alpha", "v1.20")])
}

/// main: two KEPs at alpha. branch `feature`: KEP graduates without an entry (one finding).
fn repo_with_bad_branch() -> Repo {
    let r = Repo::new();
    r.kep(KEP, &alpha("1234"), &readme("S.", &[], &["- alpha"]));
    r.kep(OTHER, &alpha("2000"), &readme("S.", &[], &["- alpha"]));
    r.commit("two KEPs");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &["Answered."], &["- alpha"]),
    );
    r.commit("graduate without entry");
    r
}

#[test]
fn check_compares_the_merge_base_not_the_base_tip() {
    let r = repo_with_bad_branch();
    // main moves on after the branch point: OTHER graduates properly there.
    r.git(&["checkout", "-q", "main"]);
    r.kep(
        OTHER,
        &beta_yaml("2000", "v1.21"),
        &readme("S.", &["Answered."], &["- alpha", "- beta"]),
    );
    r.commit("main: OTHER to beta");
    // Diffing main's tip against feature would show OTHER going beta -> alpha.
    let (code, doc) = r.check_json("main", "feature");
    assert_eq!(rules(&doc), ["implementation-history"], "{doc}");
    assert_eq!(doc["findings"][0]["kep"], KEP);
    assert_eq!(code, 1);
    assert_eq!(doc["commits_checked"], 1);
    assert_eq!(doc["findings"][0]["commit"], r.git(&["rev-parse", "feature"]).trim());
}

#[test]
fn unresolvable_base_is_a_usage_error_on_one_line() {
    let r = repo_with_bad_branch();
    let out = r.kepguard(&["check", "--base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: ") && err.contains("no-such-branch"), "{err}");
    assert!(out.stdout.is_empty());

    // No --base and no origin: say to pass --base.
    let out = r.kepguard(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--base") && err.lines().count() == 1, "{err}");
}

#[test]
fn check_defaults_to_the_remote_default_branch() {
    let r = repo_with_bad_branch();
    r.git(&["checkout", "-q", "main"]);
    let clone = r.sibling("clone");
    git_in(
        r.dir.parent().unwrap(),
        &["clone", "-q", r.dir.to_str().unwrap(), "clone"],
    );
    git_in(&clone, &["checkout", "-q", "-b", "topic", "origin/feature"]);
    let (code, doc) = json_run(kepguard_in(&clone, &["check", "--format", "json"]));
    assert_eq!((code, rules(&doc)), (1, vec!["implementation-history".to_owned()]));
    // Without origin/HEAD, origin/main is used.
    git_in(&clone, &["remote", "set-head", "origin", "-d"]);
    let (code, _) = json_run(kepguard_in(&clone, &["check", "--format", "json"]));
    assert_eq!(code, 1);
}

#[test]
fn not_a_repository_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = kepguard_in(dir.path(), &["audit"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a git repository"));
    let out = kepguard_in(dir.path(), &["check", "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors are exit 2");
}

#[test]
fn json_document_has_the_v1_shape() {
    let r = repo_with_bad_branch();
    let (_, doc) = r.check_json("main", "feature");
    let keys: Vec<_> = doc.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "commits_checked",
            "findings",
            "keps_checked",
            "schema",
            "summary",
            "version"
        ]
    );
    assert_eq!(doc["schema"], "kepguard/v1");
    assert_eq!(
        doc["summary"],
        serde_json::json!({"errors": 1, "warnings": 0, "notes": 0,
            "rules": {"implementation-history": {"errors": 1, "warnings": 0, "notes": 0}}})
    );
    let f = doc["findings"][0].as_object().unwrap();
    let mut fields: Vec<_> = f.keys().cloned().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "commit", "help", "kep", "line", "message", "notes", "number", "path", "rule", "severity", "title"
        ]
    );
    assert_eq!(f["severity"], "error");
    assert_eq!(f["commit"].as_str().unwrap().len(), 40);
}

#[test]
fn human_output_is_rustc_style_and_coloured_only_when_asked() {
    let r = repo_with_bad_branch();
    let out = r.kepguard(&["check", "--base", "main", "--head", "feature"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("error[implementation-history]: KEP-1234: stage alpha -> beta"),
        "{text}"
    );
    assert!(text.contains(&format!("--> {KEP}/README.md:")), "{text}");
    assert!(text.contains("| ## Implementation History"), "{text}");
    assert!(text.contains("= help: add a line under this heading"), "{text}");
    assert!(
        text.trim_end().ends_with(
            "kepguard: 1 error, 0 warnings (1 KEP change in 1 commit checked; judged by the built-in defaults)"
        ),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour when stdout is not a terminal");

    let out = r.kepguard(&["check", "--base", "main", "--head", "feature", "--color", "always"]);
    assert!(String::from_utf8(out.stdout).unwrap().contains('\x1b'));
    let out = r.kepguard(&["check", "--base", "main", "--head", "feature", "--color", "never"]);
    assert!(!String::from_utf8(out.stdout).unwrap().contains('\x1b'));
}

#[test]
fn clean_change_exits_0_with_a_summary() {
    let r = Repo::new();
    r.kep(KEP, &alpha("1234"), &readme("S.", &[], &["- alpha"]));
    r.commit("add");
    let out = r.kepguard(&["check", "--base", "HEAD", "--head", "HEAD"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "kepguard: no findings (0 KEP changes in 1 commit checked; judged by the built-in defaults)"
    );
}

#[test]
fn audit_checks_each_commit_against_its_first_parent() {
    let r = Repo::new();
    let root = {
        r.kep(KEP, &alpha("1234"), &readme("S.", &[], &[]));
        r.commit("root: a new KEP is not judged")
    };
    r.kep(KEP, &beta_yaml("1234", "v1.21"), &readme("S.", &[], &[]));
    let bad1 = r.commit("graduate: no entry, no PRR");
    r.write("keps/sig-node/1234-frob/OWNERS", "x\n");
    r.commit("OWNERS only");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.22", &[("beta", "v1.21")]),
        &readme("S.", &[], &["- x"]),
    );
    let side = r.commit("side: back to alpha");
    r.git(&["checkout", "-q", "main"]);
    r.write("unrelated.txt", "x\n");
    r.commit("main: unrelated");
    r.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let merge = r.git(&["rev-parse", "HEAD"]).trim().to_owned();

    let (code, doc) = json_run(r.kepguard(&["audit", "--format", "json"]));
    assert_eq!(code, 1);
    assert_eq!(doc["commits_checked"], 6);
    let by_commit: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["commit"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Walk order is newest first: the merge (against its first parent), the side commit, then bad1.
    let expected = [
        (&merge, "stage-monotonic"),
        (&side, "stage-monotonic"),
        (&bad1, "implementation-history"),
        (&bad1, "prr-on-graduation"),
    ]
    .map(|(c, r)| (c.clone(), r.to_owned()));
    assert_eq!(by_commit, expected);

    let (_, doc) = json_run(r.kepguard(&["audit", "--first-parent", "--format", "json"]));
    assert_eq!(
        doc["commits_checked"], 5,
        "the side commit is not on the first-parent line"
    );

    let (_, doc) = json_run(r.kepguard(&["audit", &format!("{bad1}..HEAD"), "--format", "json"]));
    assert_eq!(doc["commits_checked"], 4);
    let (code, doc) = json_run(r.kepguard(&["audit", &root, "--format", "json"]));
    assert_eq!(
        (code, doc["commits_checked"].as_u64(), doc["keps_checked"].as_u64()),
        (0, Some(1), Some(1))
    );
}

#[test]
fn explain_lists_rules_and_prints_their_docs() {
    let dir = tempfile::tempdir().unwrap();
    let out = kepguard_in(dir.path(), &["explain"]);
    assert_eq!(out.status.code(), Some(0));
    let list = String::from_utf8(out.stdout).unwrap();
    for id in [
        "implementation-history",
        "stage-monotonic",
        "prr-on-graduation",
        "kep-metadata",
        "prr-approval",
        "prr-complete",
        "template-sections",
        "status-transition",
        "milestone-monotonic",
        "stage-skip",
    ] {
        assert!(list.contains(id), "{list}");
    }
    let out = kepguard_in(dir.path(), &["explain", "stage-monotonic"]);
    let doc = String::from_utf8(out.stdout).unwrap();
    assert!(
        doc.contains("## How to fix") && doc.contains("alpha < beta < stable"),
        "{doc}"
    );
    let out = kepguard_in(dir.path(), &["explain", "no-such-rule"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown rule `no-such-rule`"));
}

#[test]
fn demo_shows_each_rule_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = kepguard_in(dir.path(), &["demo"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for id in [
        "error[implementation-history]",
        "error[stage-monotonic]",
        "error[prr-on-graduation]",
    ] {
        assert!(text.contains(id), "{text}");
    }
    assert!(text.contains("kepguard: 3 errors"), "{text}");
    // The README shows exactly what a newcomer's first command prints.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let shown = readme
        .split_once("The demo prints:\n\n```text\n")
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .map(|(block, _)| block)
        .expect("README has the demo block");
    assert_eq!(shown, text, "README's demo block is out of date");

    // --keep leaves a repository that audit reads the same way.
    let kept = dir.path().join("kept.git");
    let out = kepguard_in(dir.path(), &["demo", "--keep", kept.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let (code, doc) = json_run(kepguard_in(&kept, &["audit", "--first-parent", "--format", "json"]));
    assert_eq!((code, doc["summary"]["errors"].as_u64()), (1, Some(3)));
    let log = git_in(&kept, &["log", "--oneline"]);
    assert_eq!(log.lines().count(), 6, "git reads the repository gix wrote");
}

#[test]
fn on_a_terminal_output_is_coloured_unless_no_color_is_set() {
    let r = repo_with_bad_branch();
    let args = ["check", "--base", "main", "--head", "feature"];
    let Some(tty) = kepguard_in_pty(&r.dir, &args, false) else {
        return;
    };
    assert!(tty.contains("implementation-history") && has_sgr(&tty), "{tty:?}");
    let plain = kepguard_in_pty(&r.dir, &args, true).unwrap();
    assert!(
        plain.contains("implementation-history") && !has_sgr(&plain),
        "{plain:?}"
    );
}

#[test]
fn validate_checks_every_kep_of_a_tree_or_the_paths_given() {
    let r = Repo::new();
    r.kep(
        "keps/sig-node/1-good",
        &kep_yaml("1", "implementable", "alpha", "v1.30", &[("alpha", "v1.30")]),
        &readme("S.", &[], &["- v1.30: alpha"]),
    );
    r.kep(
        "keps/sig-node/2-bad",
        &kep_yaml("2", "implementable", "alpha", "v1.30", &[("alpha", "v1.30")]).replace("approvers:", "aprovers:"),
        &readme("S.", &[], &["- v1.30: alpha"]),
    );
    r.kep(
        "keps/sig-node/3-odd",
        &kep_yaml("3", "implementable", "alpha", "1.30", &[("alpha", "v1.30")]),
        &readme("S.", &[], &[]),
    );
    r.commit("three KEPs");

    let (code, doc) = json_run(r.kepguard(&["validate", "--format", "json"]));
    assert_eq!((code, doc["keps_checked"].as_u64()), (1, Some(3)));
    let found: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kep"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        found.contains(&("keps/sig-node/2-bad".into(), "error".into())),
        "{found:?}"
    );
    // Stricter than kepval: a warning when validating a tree.
    assert!(
        found.contains(&("keps/sig-node/3-odd".into(), "warning".into())),
        "{found:?}"
    );
    assert!(!found.iter().any(|(k, _)| k == "keps/sig-node/1-good"), "{found:?}");

    let (code, doc) = json_run(r.kepguard(&["validate", "--format", "json", "keps/sig-node/1-good"]));
    assert_eq!((code, doc["keps_checked"].as_u64()), (0, Some(1)));
    let (code, doc) = json_run(r.kepguard(&["validate", "--format", "json", "--rev", "HEAD", "keps/sig-node/3-odd/"]));
    assert_eq!((code, doc["summary"]["warnings"].as_u64()), (0, Some(1)));

    let out = r.kepguard(&["validate", "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), doc_count(&r));
    let out = r.kepguard(&["validate", "--rev", "no-such-rev"]);
    assert_eq!(out.status.code(), Some(2));
}

fn doc_count(r: &Repo) -> usize {
    let (_, doc) = json_run(r.kepguard(&["validate", "--format", "json"]));
    doc["findings"].as_array().unwrap().len()
}
