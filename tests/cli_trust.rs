//! What the command line promises beyond the rules: `audit --since`, `--rule`, per-rule counts,
//! the order of human output, the JSON fields, relative bare repositories, uncommitted work and
//! `validate` paths that name no KEP.

mod common;

use std::process::Output;

use common::{Repo, beta_yaml, git_in, git_out, json_run, kep_yaml, kepguard_in, readme, rules};
use serde_json::Value;

const KEP: &str = "keps/sig-node/1234-frob";

fn alpha() -> String {
    kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")])
}

/// Commits everything with author and committer date `date` (ISO 8601); returns the commit id.
fn commit_at(r: &Repo, message: &str, date: &str) -> String {
    r.git(&["add", "-A"]);
    let out = git_out(
        &r.dir,
        &["commit", "-q", "--allow-empty", "-m", message],
        &[("GIT_COMMITTER_DATE", date), ("GIT_AUTHOR_DATE", date)],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    r.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

/// A history across the turn of 2024, one finding per bad commit:
/// add (2023-06-01), graduate without an entry (2023-12-31 23:59:59 UTC), back to alpha
/// (2024-01-01 00:00:00 UTC), OWNERS only (2024-03-01).
struct Dated {
    r: Repo,
    graduate: String,
    back: String,
    owners: String,
}

fn dated() -> Dated {
    let r = Repo::new();
    r.kep(KEP, &alpha(), &readme("S.", &[], &["- alpha"]));
    commit_at(&r, "add", "2023-06-01T12:00:00Z");
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &["Answered."], &["- alpha"]),
    );
    // 2024-01-01 00:59:59 in +01:00 is still 2023 in UTC.
    let graduate = commit_at(&r, "graduate without an entry", "2024-01-01T00:59:59+01:00");
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.22", &[("beta", "v1.21")]),
        &readme("S.", &["Answered."], &["- alpha", "- back"]),
    );
    let back = commit_at(&r, "back to alpha", "2024-01-01T00:00:00Z");
    r.write(&format!("{KEP}/OWNERS"), "x\n");
    let owners = commit_at(&r, "OWNERS", "2024-03-01T08:00:00Z");
    Dated {
        r,
        graduate,
        back,
        owners,
    }
}

fn commits_of(doc: &Value) -> Vec<String> {
    let mut commits: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["commit"].as_str().unwrap().to_owned())
        .collect();
    commits.dedup();
    commits
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit 2 with exactly one `error: ` line on stderr, nothing on stdout; returns that line.
fn usage_error(out: Output) -> String {
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    err
}

#[test]
fn since_a_date_keeps_the_commits_of_that_day_and_later() {
    let d = dated();
    for extra in [&[][..], &["--first-parent"][..]] {
        let mut args = vec!["audit", "--since", "2024-01-01", "--format", "json"];
        args.extend_from_slice(extra);
        let (code, doc) = json_run(d.r.kepguard(&args));
        assert_eq!(code, 1);
        assert_eq!(doc["commits_checked"], 2, "{doc}");
        assert_eq!(commits_of(&doc), vec![d.back.clone()], "{doc}");
    }
    // The day before takes in the graduation, committed at 23:59:59 UTC.
    let (_, doc) = json_run(d.r.kepguard(&["audit", "--since", "2023-12-31", "--format", "json"]));
    assert_eq!(doc["commits_checked"], 3);
    assert_eq!(commits_of(&doc), [d.back.clone(), d.graduate.clone()], "{doc}");
    // After the last commit: nothing to audit, and a clean exit.
    let (code, doc) = json_run(d.r.kepguard(&["audit", "--since", "2025-01-01", "--format", "json"]));
    assert_eq!((code, doc["commits_checked"].as_u64()), (0, Some(0)));
    // With a range too: both limits hold.
    let range = format!("{}..{}", d.graduate, d.owners);
    let (_, doc) = json_run(d.r.kepguard(&["audit", &range, "--since", "2024-02-01", "--format", "json"]));
    assert_eq!((doc["commits_checked"].as_u64(), rules(&doc).len()), (Some(1), 0));
}

#[test]
fn since_a_revision_audits_what_it_cannot_reach() {
    let d = dated();
    let (code, doc) = json_run(d.r.kepguard(&["audit", "--since", &d.graduate, "--format", "json"]));
    assert_eq!((code, doc["commits_checked"].as_u64()), (1, Some(2)));
    assert_eq!(commits_of(&doc), vec![d.back.clone()]);
    let (code, doc) = json_run(d.r.kepguard(&["audit", "--since", "HEAD~1", "--first-parent", "--format", "json"]));
    assert_eq!((code, doc["commits_checked"].as_u64()), (0, Some(1)));
    let (_, doc) = json_run(d.r.kepguard(&["audit", "--since", &d.owners, "--format", "json"]));
    assert_eq!(doc["commits_checked"], 0);
}

#[test]
fn a_bad_since_is_a_one_line_usage_error() {
    let d = dated();
    let err = usage_error(d.r.kepguard(&["audit", "--since", "2024-13-01"]));
    assert!(err.contains("2024-13-01") && err.contains("YYYY-MM-DD"), "{err}");
    let err = usage_error(d.r.kepguard(&["audit", "--since", "2023-02-29", "--first-parent"]));
    assert!(err.contains("2023-02-29"), "{err}");
    let err = usage_error(d.r.kepguard(&["audit", "--since", "no-such-branch"]));
    assert!(
        err.contains("no-such-branch") && err.contains("neither a date"),
        "{err}"
    );
    let err = usage_error(d.r.kepguard(&["audit", "--since", "last tuesday", "--format", "json"]));
    assert!(err.contains("last tuesday"), "{err}");
}

/// Every rule's counts in the JSON summary, recounted from the findings.
fn recount(doc: &Value) -> Value {
    let mut counts = serde_json::Map::new();
    for f in doc["findings"].as_array().unwrap() {
        let entry = counts
            .entry(f["rule"].as_str().unwrap())
            .or_insert_with(|| serde_json::json!({"errors": 0, "warnings": 0, "notes": 0}));
        let key = match f["severity"].as_str().unwrap() {
            "error" => "errors",
            "warning" => "warnings",
            _ => "notes",
        };
        entry[key] = (entry[key].as_u64().unwrap() + 1).into();
    }
    Value::Object(counts)
}

/// A history with errors, warnings and a waived finding: graduation without an entry or PRR
/// answers (two errors), then a latest-milestone that goes down (a warning), and a policy that
/// waives prr-on-graduation.
fn mixed() -> Repo {
    let r = Repo::new();
    r.write(
        ".kepguard.yaml",
        "allow:\n  - rule: prr-on-graduation\n    kep: 1234\n    reason: answered in the linked doc\n",
    );
    r.kep(KEP, &alpha(), &readme("S.", &[], &["- alpha"]));
    r.commit("add");
    r.kep(KEP, &beta_yaml("1234", "v1.21"), &readme("S.", &[], &["- alpha"]));
    r.commit("graduate: no entry, no PRR answers");
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.21").replace("latest-milestone: \"v1.21\"", "latest-milestone: \"v1.20\""),
        &readme("S.", &[], &["- alpha", "- retargeted"]),
    );
    r.commit("latest-milestone goes down");
    r
}

#[test]
fn per_rule_counts_equal_the_findings_in_registry_order() {
    let r = mixed();
    let (_, doc) = json_run(r.kepguard(&["audit", "--format", "json"]));
    let summary = &doc["summary"];
    assert_eq!(summary["rules"], recount(&doc), "{doc}");
    let ids: Vec<&str> = summary["rules"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(ids.len() >= 3, "{doc}");
    let total = |key: &str| {
        summary["rules"]
            .as_object()
            .unwrap()
            .values()
            .map(|c| c[key].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(summary["errors"].as_u64(), Some(total("errors")));
    assert_eq!(summary["warnings"].as_u64(), Some(total("warnings")));
    assert_eq!(summary["notes"].as_u64(), Some(total("notes")));
    assert!(
        total("errors") > 0 && total("warnings") > 0 && total("notes") > 0,
        "{doc}"
    );

    // Human output: one row per rule, in the order `explain` lists rules, before the summary line.
    let text = stdout(&r.kepguard(&["audit"]));
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("rule "))
        .expect("a per-rule table");
    assert!(lines[header].contains("errors") && lines[header].contains("warnings") && lines[header].contains("waived"));
    let rows: Vec<Vec<&str>> = lines[header + 1..header + 1 + ids.len()]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let listed = stdout(&kepguard_in(&r.dir, &["explain"]));
    let rank = |id: &str| listed.find(&format!("  {id} ")).unwrap();
    let mut in_registry_order: Vec<&str> = rows.iter().map(|row| row[0]).collect();
    in_registry_order.sort_by_key(|id| rank(id));
    assert_eq!(rows.iter().map(|row| row[0]).collect::<Vec<_>>(), in_registry_order);
    for row in &rows {
        let c = &summary["rules"][row[0]];
        assert_eq!(
            row[1..],
            [
                &c["errors"].to_string(),
                &c["warnings"].to_string(),
                &c["notes"].to_string()
            ]
        );
    }
    assert!(lines.last().unwrap().starts_with("kepguard: "), "{text}");
    assert_eq!(
        lines[header + 1 + ids.len()],
        "",
        "a blank line before the summary line"
    );

    // No findings, no table.
    let text = stdout(&r.kepguard(&["audit", "HEAD~2"]));
    assert!(!text.contains("warnings  "), "{text}");
}

#[test]
fn rule_runs_only_the_rules_named() {
    let r = mixed();
    let (_, all) = json_run(r.kepguard(&["audit", "--format", "json"]));
    assert!(rules(&all).contains(&"implementation-history".to_owned()));
    let (code, doc) = json_run(r.kepguard(&["audit", "--rule", "milestone-monotonic", "--format", "json"]));
    assert_eq!(rules(&doc), ["milestone-monotonic"], "{doc}");
    assert_eq!(code, 0, "a warning does not fail the run");
    let (code, doc) = json_run(r.kepguard(&[
        "audit",
        "--rule",
        "milestone-monotonic",
        "--rule",
        "implementation-history",
        "--format",
        "json",
    ]));
    let mut got = rules(&doc);
    got.sort();
    got.dedup();
    assert_eq!(
        (code, got),
        (
            1,
            vec!["implementation-history".to_owned(), "milestone-monotonic".to_owned()]
        )
    );
    assert_eq!(
        doc["summary"]["rules"].as_object().unwrap().len(),
        2,
        "only the rules that ran are counted"
    );

    // check takes it too.
    let (code, doc) = json_run(r.kepguard(&["check", "--base", "HEAD~2", "--head", "HEAD~1", "--format", "json"]));
    assert!(code == 1 && rules(&doc).len() > 1, "{doc}");
    let (_, doc) = json_run(r.kepguard(&[
        "check",
        "--base",
        "HEAD~2",
        "--head",
        "HEAD~1",
        "--rule",
        "prr-on-graduation",
        "--format",
        "json",
    ]));
    assert_eq!(rules(&doc), ["prr-on-graduation"], "{doc}");

    // validate takes the rules that judge a tree, and refuses the others.
    let (_, doc) = json_run(r.kepguard(&["validate", "--rule", "prr-complete", "--format", "json"]));
    assert!(rules(&doc).iter().all(|id| id == "prr-complete"), "{doc}");
    let err = usage_error(r.kepguard(&["validate", "--rule", "stage-monotonic"]));
    assert!(err.contains("stage-monotonic") && err.contains("kep-metadata"), "{err}");

    for cmd in ["audit", "check", "validate"] {
        let err = usage_error(r.kepguard(&[cmd, "--rule", "stage-monotonik"]));
        assert!(
            err.contains("unknown rule `stage-monotonik`") && err.contains("implementation-history, stage-monotonic"),
            "{err}"
        );
    }
}

#[test]
fn a_rule_the_policy_turns_off_stays_off() {
    let r = mixed();
    r.write(".kepguard.yaml", "rules:\n  milestone-monotonic: {level: off}\n");
    r.commit("policy: milestone-monotonic off");
    let out = r.kepguard(&["audit", "--rule", "milestone-monotonic", "--format", "json"]);
    assert!(
        stderr(&out).contains("`milestone-monotonic` is off"),
        "{}",
        stderr(&out)
    );
    let (code, doc) = json_run(out);
    assert_eq!((code, rules(&doc).len()), (0, 0));
}

#[test]
fn human_output_puts_errors_before_warnings_before_notes() {
    let r = mixed();
    // The JSON keeps the walk order: the warning's commit is the newest.
    let (_, doc) = json_run(r.kepguard(&["audit", "--format", "json"]));
    let severities: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities.first(), Some(&"warning"), "{doc}");
    let text = stdout(&r.kepguard(&["audit"]));
    let heads: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once('[').map(|(level, _)| level))
        .filter(|level| ["error", "warning", "note"].contains(level))
        .collect();
    let rank = |l: &str| ["error", "warning", "note"].iter().position(|x| *x == l).unwrap();
    let mut sorted = heads.clone();
    sorted.sort_by_key(|l| rank(l));
    assert_eq!(heads, sorted, "{text}");
    assert!(
        heads.contains(&"error") && heads.contains(&"warning") && heads.contains(&"note"),
        "{text}"
    );
    // Within a severity, the walk order holds.
    let errors: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    let positions: Vec<usize> = errors
        .iter()
        .map(|f| text.find(&format!("error[{}]", f["rule"].as_str().unwrap())).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn json_findings_carry_title_help_notes_and_the_document_its_version() {
    let r = mixed();
    let (_, doc) = json_run(r.kepguard(&["audit", "--format", "json"]));
    assert_eq!(doc["schema"], "kepguard/v1");
    assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"));
    for f in doc["findings"].as_array().unwrap() {
        let (title, help) = (f["title"].as_str().unwrap(), f["help"].as_str().unwrap());
        assert!(!title.is_empty() && !help.is_empty(), "{f}");
        assert_eq!(f["message"], format!("{title}; {help}"), "message stays");
        assert!(f["notes"].is_array(), "{f}");
    }
    let waived = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["severity"] == "note")
        .expect("a waived finding");
    let notes = waived["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("answered in the linked doc")),
        "{waived}"
    );
}

#[test]
fn a_relative_path_to_a_bare_repository_works_for_every_command() {
    let d = dated();
    let parent = d.r.dir.parent().unwrap();
    git_in(parent, &["clone", "-q", "--bare", "repo", "keps.git"]);
    let work = parent.join("work");
    std::fs::create_dir(&work).unwrap();
    let (code, doc) = json_run(kepguard_in(
        &work,
        &["check", "--repo", "../keps.git", "--base", "HEAD~2", "--format", "json"],
    ));
    assert_eq!((code, doc["commits_checked"].as_u64()), (1, Some(1)), "{doc}");
    let (code, doc) = json_run(kepguard_in(
        &work,
        &["audit", "--repo", "../keps.git", "--format", "json"],
    ));
    assert_eq!((code, doc["commits_checked"].as_u64()), (1, Some(4)));
    let (_, doc) = json_run(kepguard_in(
        &work,
        &["validate", "--repo", "../keps.git", "--format", "json"],
    ));
    assert_eq!(doc["keps_checked"], 1);
    // And from inside the bare repository, and via a path that walks out and back in.
    let bare = parent.join("keps.git");
    let (_, doc) = json_run(kepguard_in(&bare, &["audit", "--format", "json"]));
    assert_eq!(doc["commits_checked"], 4);
    let (_, doc) = json_run(kepguard_in(
        &work,
        &["audit", "--repo", "../work/../keps.git/", "--format", "json"],
    ));
    assert_eq!(doc["commits_checked"], 4);
    let err = usage_error(kepguard_in(&work, &["check", "--repo", "../nope.git"]));
    assert!(
        err.contains("../nope.git") && err.contains("not a git repository"),
        "{err}"
    );
}

#[test]
fn check_says_when_uncommitted_kep_edits_were_not_checked() {
    let b = common::branches();
    let r = &b.r;
    let index = std::fs::read(r.dir.join(".git/index")).unwrap();
    let clean = r.kepguard(&["check", "--base", "main"]);
    assert_eq!(clean.status.code(), Some(1));
    assert_eq!(stderr(&clean), "", "a clean work tree: nothing to say");

    // An unstaged edit of a KEP.
    let readme_path = format!("{}/README.md", common::BRANCHES_KEP);
    let text = std::fs::read_to_string(r.dir.join(&readme_path)).unwrap();
    r.write(&readme_path, &text.replace("- a", "- a\n- v1.21: beta"));
    let out = r.kepguard(&["check", "--base", "main", "--format", "json"]);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("commits only") && err.contains("1 uncommitted file") && err.contains(&readme_path),
        "{err}"
    );
    let (code, doc) = json_run(out);
    assert_eq!(
        (code, rules(&doc).len()),
        (1, 1),
        "the note does not change the verdict"
    );
    assert_eq!(
        std::fs::read(r.dir.join(".git/index")).unwrap(),
        index,
        "the index is read, never refreshed"
    );

    // Staged, plus a new KEP git does not track yet: counted, the first path named.
    r.git(&["add", &readme_path]);
    r.write("keps/sig-apps/7-new/kep.yaml", "title: x\n");
    r.write("keps/sig-apps/7-new/notes.swp", "x");
    let err = stderr(&r.kepguard(&["check", "--base", "main"]));
    assert!(
        err.contains("2 uncommitted files") && err.contains("(first: keps/sig-apps/7-new/kep.yaml)"),
        "{err}"
    );

    // Edits outside the KEP root, or a --head other than the work tree's, say nothing.
    r.git(&["stash", "-q", "-u"]);
    r.write("notes.txt", "changed\n");
    assert_eq!(stderr(&r.kepguard(&["check", "--base", "main"])), "");
    r.write(&readme_path, "changed\n");
    assert_eq!(stderr(&r.kepguard(&["check", "--base", "main", "--head", &b.bad])), "");
    // A deleted KEP file counts too.
    std::fs::remove_file(r.dir.join(&readme_path)).unwrap();
    let err = stderr(&r.kepguard(&["check", "--base", "main"]));
    assert!(
        err.contains("1 uncommitted file") && err.contains(&readme_path),
        "{err}"
    );
}

#[test]
fn validate_refuses_a_path_without_a_kep_and_counts_keps() {
    let d = dated();
    let err = usage_error(d.r.kepguard(&["validate", "keps/sig-nope"]));
    assert!(
        err.contains("`keps/sig-nope`") && err.contains("matches no KEP"),
        "{err}"
    );
    // One good path does not excuse another.
    let err = usage_error(d.r.kepguard(&["validate", KEP, "keps/sig-node/9-missing/", "--format", "json"]));
    assert!(err.contains("keps/sig-node/9-missing/"), "{err}");

    let out = d.r.kepguard(&["validate", "keps/sig-node"]);
    let text = stdout(&out);
    let last = text.lines().last().unwrap();
    assert!(last.contains("1 KEP checked") && !last.contains("KEP change"), "{text}");
    let out = d.r.kepguard(&["validate", KEP]);
    assert!(out.status.code() != Some(2), "{}", stderr(&out));
}
