//! `check --github`: the range comes from the Actions event payload.

mod common;

use std::path::Path;

use common::{branches as fixture, git_in, json_run, kepguard_env, rules};
use serde_json::json;

fn run_event(dir: &Path, name: &str, payload: serde_json::Value, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("event.json");
    std::fs::write(&path, payload.to_string()).unwrap();
    let mut args = vec!["check", "--github", "--format", "json"];
    args.extend_from_slice(extra);
    let out = kepguard_env(
        dir,
        &args,
        &[
            ("GITHUB_EVENT_NAME", name),
            ("GITHUB_EVENT_PATH", path.to_str().unwrap()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() == Some(2) {
        return (2, serde_json::Value::Null, stderr);
    }
    let (code, doc) = json_run(out);
    (code, doc, stderr)
}

#[test]
fn pull_request_uses_base_and_head_with_merge_base_semantics() {
    let f = fixture();
    let payload = json!({"pull_request": {"base": {"sha": f.main}, "head": {"sha": f.feature}}});
    let (code, doc, stderr) = run_event(&f.r.dir, "pull_request", payload.clone(), &[]);
    assert_eq!(
        (code, rules(&doc)),
        (1, vec!["implementation-history".to_owned()]),
        "{stderr}"
    );
    assert_eq!(doc["findings"][0]["commit"], f.feature.as_str());
    assert!(stderr.contains("pull_request: checking merge-base("), "{stderr}");
    let (code, _, _) = run_event(&f.r.dir, "pull_request_target", payload, &[]);
    assert_eq!(code, 1);
}

#[test]
fn push_uses_before_and_after_and_handles_new_branches_and_force_pushes() {
    let f = fixture();
    let (code, doc, _) = run_event(&f.r.dir, "push", json!({"before": f.base, "after": f.feature}), &[]);
    assert_eq!((code, rules(&doc)), (1, vec!["implementation-history".to_owned()]));

    // A new branch (all-zero before): only the pushed tip against its first parent.
    let zero = "0".repeat(40);
    let (code, doc, stderr) = run_event(&f.r.dir, "push", json!({"before": zero, "after": f.feature}), &[]);
    assert_eq!(
        (code, doc["findings"].as_array().unwrap().len()),
        (0, 0),
        "the tip is clean: {stderr}"
    );
    assert!(stderr.contains("^ .. "), "{stderr}");
    let (code, _, _) = run_event(&f.r.dir, "push", json!({"after": f.bad}), &[]);
    assert_eq!(code, 1, "a missing before is a new branch too");

    // A force-push from main's line onto feature: the merge-base is the fork point.
    let (code, doc, _) = run_event(
        &f.r.dir,
        "push",
        json!({"before": f.main, "after": f.feature, "forced": true}),
        &[],
    );
    assert_eq!((code, rules(&doc)), (1, vec!["implementation-history".to_owned()]));
    assert_eq!(doc["keps_checked"], 1);
}

#[test]
fn merge_group_and_other_events() {
    let f = fixture();
    let (code, doc, _) = run_event(
        &f.r.dir,
        "merge_group",
        json!({"merge_group": {"base_sha": f.main, "head_sha": f.bad}}),
        &[],
    );
    assert_eq!((code, rules(&doc)), (1, vec!["implementation-history".to_owned()]));

    f.r.git(&["checkout", "-q", &f.bad]);
    let (code, _, stderr) = run_event(&f.r.dir, "workflow_dispatch", json!({}), &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("workflow_dispatch: checking HEAD^ .. HEAD"), "{stderr}");
}

#[test]
fn explicit_revisions_win_over_the_event() {
    let f = fixture();
    let payload = json!({"pull_request": {"base": {"sha": f.main}, "head": {"sha": f.feature}}});
    let (code, doc, stderr) = run_event(&f.r.dir, "pull_request", payload, &["--base", &f.bad]);
    assert_eq!((code, doc["keps_checked"].as_u64()), (0, Some(0)), "{stderr}");
}

#[test]
fn missing_event_settings_and_missing_commits_are_clear_errors() {
    let f = fixture();
    let out = kepguard_env(&f.r.dir, &["check", "--github"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GITHUB_EVENT_PATH"));

    // A shallow clone of feature lacks main's commits.
    let shallow = f.r.sibling("shallow");
    let url = format!("file://{}", f.r.dir.display());
    git_in(
        f.r.dir.parent().unwrap(),
        &["clone", "-q", "--depth", "1", "--branch", "feature", &url, "shallow"],
    );
    let payload = json!({"pull_request": {"base": {"sha": f.main}, "head": {"sha": f.feature}}});
    let (code, _, stderr) = run_event(&shallow, "pull_request", payload, &[]);
    assert_eq!(code, 2, "{stderr}");
    let line = stderr.lines().last().unwrap();
    assert!(
        line.contains(&f.main) && line.contains("pull_request.base.sha") && line.contains("fetch-depth: 0"),
        "{stderr}"
    );
}
