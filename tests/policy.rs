//! `.kepguard.yaml`: levels, options, exceptions and trailers, always read from the base side.

mod common;

use common::{Repo, beta_yaml, git_in, git_out, kep_yaml, kepguard_env, readme, rules, severities};
use serde_json::Value;

const KEP: &str = "keps/sig-node/1234-frob";
const H1: &str = "- v1.20: alpha";

/// `KEP` at alpha in v1.20, with `policy` (if any) committed beside it; returns the commit.
fn base_with(policy: Option<&str>) -> (Repo, String) {
    let r = Repo::new();
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &[H1]),
    );
    if let Some(p) = policy {
        r.write(".kepguard.yaml", p);
    }
    let c = r.commit("add KEP");
    (r, c)
}

/// Graduates `KEP` to beta in `latest` with PRR answers but no history entry.
fn graduate_without_history(r: &Repo, latest: &str, message: &str) {
    r.kep(KEP, &beta_yaml("1234", latest), &readme("S.", &["Answered."], &[H1]));
    r.commit(message);
}

fn check(r: &Repo, base: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["check", "--base", base, "--format", "json"];
    args.extend_from_slice(extra);
    let out = r.kepguard(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), doc, stderr)
}

#[test]
fn levels_turn_rules_into_warnings_or_off() {
    let (r, base) = base_with(Some("rules:\n  implementation-history:\n    level: warning\n"));
    graduate_without_history(&r, "v1.21", "beta");
    let (code, doc, _) = check(&r, &base, &[]);
    assert_eq!(
        (code, severities(&doc)),
        (0, vec!["implementation-history warning".to_owned()])
    );
    assert_eq!(check(&r, &base, &["--fail-on", "warning"]).0, 1);

    let (r, base) = base_with(Some("rules:\n  implementation-history: {level: off}\n"));
    graduate_without_history(&r, "v1.21", "beta");
    let (code, doc, _) = check(&r, &base, &[]);
    assert_eq!((code, rules(&doc)), (0, Vec::<String>::new()));
}

#[test]
fn a_change_cannot_relax_the_policy_that_judges_it() {
    let (r, base) = base_with(None);
    r.write(".kepguard.yaml", "rules:\n  implementation-history: {level: off}\n");
    graduate_without_history(&r, "v1.21", "beta, and turn the rule off");
    let (code, doc, _) = check(&r, &base, &[]);
    // The policy change itself is shown to the reviewer.
    assert_eq!(
        (code, severities(&doc)),
        (
            1,
            vec![
                "policy-change warning".to_owned(),
                "implementation-history error".to_owned()
            ]
        )
    );

    // Once the relaxed policy is on the base side, it applies.
    r.kep(
        KEP,
        &kep_yaml(
            "1234",
            "implementable",
            "stable",
            "v1.22",
            &[("alpha", "v1.20"), ("beta", "v1.21"), ("stable", "v1.22")],
        ),
        &readme("S.", &["Answered.", "More."], &[H1]),
    );
    let relaxed = r.git(&["rev-parse", "HEAD"]).trim().to_owned();
    r.commit("stable");
    let (code, doc, _) = check(&r, &relaxed, &[]);
    assert_eq!((code, rules(&doc)), (0, Vec::<String>::new()));
}

#[test]
fn allow_entries_waive_one_rule_for_one_kep_as_a_note() {
    let policy = "allow:\n  - rule: implementation-history\n    kep: 1234\n    reason: \"reviewed in #42\"\n";
    let (r, base) = base_with(Some(policy));
    graduate_without_history(&r, "v1.21", "beta");
    let (code, doc, _) = check(&r, &base, &[]);
    assert_eq!(
        (code, severities(&doc)),
        (0, vec!["implementation-history note".to_owned()])
    );
    assert!(doc["findings"][0]["message"].as_str().is_some());
    assert_eq!(check(&r, &base, &["--fail-on", "warning"]).0, 0, "notes never fail");

    // The human report says why.
    let out = r.kepguard(&["check", "--base", &base, "--color", "never"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("allowed by .kepguard.yaml at "), "{text}");
    assert!(text.contains(": reviewed in #42"), "{text}");
    assert!(text.contains("1 finding waived by policy"), "{text}");

    // Another KEP number is not waived.
    let (r, base) = base_with(Some(&policy.replace("1234", "999")));
    graduate_without_history(&r, "v1.21", "beta");
    assert_eq!(check(&r, &base, &[]).0, 1);
}

#[test]
fn an_exception_until_a_milestone_expires_after_it() {
    let policy = "allow:\n  - {rule: implementation-history, kep: keps/sig-node/1234-frob, reason: ok, until: v1.21}\n";
    let (r, base) = base_with(Some(policy));
    graduate_without_history(&r, "v1.21", "beta in v1.21");
    assert_eq!(
        severities(&check(&r, &base, &[]).1),
        vec!["implementation-history note"]
    );

    let (r, base) = base_with(Some(policy));
    graduate_without_history(&r, "v1.22", "beta in v1.22");
    let (code, doc, _) = check(&r, &base, &[]);
    assert_eq!(
        (code, severities(&doc)),
        (1, vec!["implementation-history error".to_owned()])
    );
    let out = r.kepguard(&["check", "--base", &base, "--color", "never"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("expired after v1.21"));
}

#[test]
fn rule_options_when_and_since() {
    // when: any: a README edit without a history entry fires.
    let (r, base) = base_with(Some("rules:\n  implementation-history:\n    when: any\n"));
    r.write(&format!("{KEP}/README.md"), &readme("S, reworded.", &[], &[H1]));
    r.commit("reword");
    let (code, doc, _) = check(&r, &base, &[]);
    assert_eq!((code, rules(&doc)), (1, vec!["implementation-history".to_owned()]));
    assert!(
        doc["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the KEP changed")
    );
    // ...and the default does not.
    let (r, base) = base_with(None);
    r.write(&format!("{KEP}/README.md"), &readme("S, reworded.", &[], &[H1]));
    r.commit("reword");
    assert_eq!(check(&r, &base, &[]).0, 0);

    // since: v1.25 exempts a v1.24 graduation from prr-on-graduation.
    let graduate_with_history = |r: &Repo| {
        r.kep(
            KEP,
            &beta_yaml("1234", "v1.24"),
            &readme("S.", &[], &[H1, "- v1.24: beta"]),
        );
        r.commit("beta");
    };
    let (r, base) = base_with(Some("rules:\n  prr-on-graduation:\n    since: v1.25\n"));
    graduate_with_history(&r);
    assert_eq!(check(&r, &base, &[]).0, 0);
    let (r, base) = base_with(None);
    graduate_with_history(&r);
    assert_eq!(rules(&check(&r, &base, &[]).1), vec!["prr-on-graduation"]);
}

#[test]
fn trailers_waive_only_where_the_policy_enables_them() {
    let trailer = "beta\n\nKepguard-Allow: implementation-history 1234: history lives in the tracking issue";
    let (r, base) = base_with(Some("trailers: true\n"));
    graduate_without_history(&r, "v1.21", trailer);
    let (code, doc, _) = check(&r, &base, &[]);
    assert_eq!(
        (code, severities(&doc)),
        (0, vec!["implementation-history note".to_owned()])
    );
    let out = r.kepguard(&["check", "--base", &base, "--color", "never"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Kepguard-Allow trailer in commit"));

    let (r, base) = base_with(None);
    graduate_without_history(&r, "v1.21", trailer);
    assert_eq!(check(&r, &base, &[]).0, 1, "trailers are off by default");

    // audit honours each commit's own trailers.
    let (r, base) = base_with(Some("trailers: true\n"));
    graduate_without_history(&r, "v1.21", trailer);
    let out = r.kepguard(&["audit", &format!("{base}..HEAD"), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_broken_policy_on_the_base_side_is_a_one_line_error_with_its_line() {
    let (r, base) = base_with(Some("rules:\n  implementation-histroy:\n    level: off\n"));
    graduate_without_history(&r, "v1.21", "beta");
    let (code, _, stderr) = check(&r, &base, &[]);
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(".kepguard.yaml at ") && stderr.contains(":2: rules: unknown rule `implementation-histroy`"),
        "{stderr}"
    );
}

#[test]
fn a_custom_kep_root() {
    let r = Repo::new();
    r.write(".kepguard.yaml", "keps: proposals\nprr-dir: proposals/prr\n");
    let dir = "proposals/sig-node/1234-frob";
    r.kep(
        dir,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &[H1]),
    );
    let base = r.commit("add");
    r.kep(dir, &beta_yaml("1234", "v1.21"), &readme("S.", &["Answered."], &[H1]));
    r.commit("beta");
    // The approval sits in the default PRR directory, not the policy's.
    let (code, doc, _) = check(&r, &base, &[]);
    assert_eq!(
        (code, rules(&doc)),
        (1, vec!["implementation-history".to_owned(), "prr-approval".to_owned()])
    );
    assert!(
        doc["findings"][1]["message"]
            .as_str()
            .unwrap()
            .contains("proposals/prr/sig-node/1234.yaml")
    );
    r.write("proposals/prr/sig-node/1234.yaml", &common::prr_approval("1234"));
    r.commit("approval where the policy says");
    let (code, doc, _) = check(&r, &base, &[]);
    assert_eq!((code, rules(&doc)), (1, vec!["implementation-history".to_owned()]));
    assert_eq!(doc["findings"][0]["kep"], dir);
}

#[test]
fn init_writes_the_commented_default_policy_once() {
    let r = Repo::new();
    let out = r.kepguard(&["init"]);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(r.dir.join(".kepguard.yaml")).unwrap();
    assert!(text.contains("# ") && text.contains("implementation-history"));
    let out = r.kepguard(&["init"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    assert_eq!(r.kepguard(&["init", "--force"]).status.code(), Some(0));

    // The written policy is in force once committed.
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &[H1]),
    );
    let base = r.commit("add");
    graduate_without_history(&r, "v1.21", "beta");
    assert_eq!(check(&r, &base, &[]).0, 1);
}

#[test]
fn pre_receive_reads_the_policy_of_the_default_branch_tip() {
    let (r, _) = base_with(None);
    let server = r.sibling("server.git");
    git_in(
        r.dir.parent().unwrap(),
        &[
            "clone",
            "-q",
            "--bare",
            r.dir.to_str().unwrap(),
            server.to_str().unwrap(),
        ],
    );
    let out = kepguard_env(
        &server,
        &["hook", "install", "--pre-receive", "--repo", server.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    r.git(&["remote", "add", "server", server.to_str().unwrap()]);

    // A push that relaxes the policy and breaks the rule in one go is still judged by the old one.
    r.write(".kepguard.yaml", "rules:\n  implementation-history: {level: off}\n");
    graduate_without_history(&r, "v1.21", "beta, and turn the rule off");
    let push = git_out(&r.dir, &["push", "-q", "server", "HEAD:main"], &[]);
    assert!(!push.status.success());
    assert!(String::from_utf8_lossy(&push.stderr).contains("implementation-history"));

    // Relaxing first (a reviewed change on its own, pushed by a policy administrator), then the
    // exception, passes; anyone else's policy change is refused.
    r.git(&["reset", "-q", "--hard", "HEAD~1"]);
    r.write(".kepguard.yaml", "rules:\n  implementation-history: {level: off}\n");
    r.commit("policy: implementation-history off");
    git_in(&server, &["config", "kepguard.policyAdmin", "alice"]);
    let push = git_out(
        &r.dir,
        &["push", "-q", "server", "HEAD:main"],
        &[("GL_USERNAME", "bob")],
    );
    assert!(!push.status.success());
    assert!(String::from_utf8_lossy(&push.stderr).contains("policy-change"));
    assert!(
        git_out(
            &r.dir,
            &["push", "-q", "server", "HEAD:main"],
            &[("GL_USERNAME", "alice")]
        )
        .status
        .success()
    );
    graduate_without_history(&r, "v1.21", "beta");
    let push = git_out(&r.dir, &["push", "-q", "server", "HEAD:main"], &[]);
    assert!(push.status.success(), "{}", String::from_utf8_lossy(&push.stderr));
}

#[test]
fn a_policy_file_can_be_tried_locally_and_the_last_line_names_the_judge() {
    let (r, base) = base_with(Some("rules:\n  stage-skip:\n    level: warning\n"));
    graduate_without_history(&r, "v1.21", "graduate");
    let short = &base[..12];
    let out = r.kepguard(&["check", "--base", &base, "--color", "never"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.trim_end()
            .ends_with(&format!("judged by .kepguard.yaml at {short})")),
        "{text}"
    );

    let trial = r.sibling("trial.yaml");
    std::fs::write(&trial, "rules:\n  implementation-history: {level: off}\n").unwrap();
    for cmd in [vec!["check", "--base", base.as_str()], vec!["audit"], vec!["validate"]] {
        let mut args = cmd.clone();
        args.extend(["--policy", trial.to_str().unwrap(), "--color", "never"]);
        let out = r.kepguard(&args);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains("implementation-history]"), "{args:?}: {text}");
        assert!(
            text.trim_end().ends_with(&format!("judged by {})", trial.display())),
            "{args:?}: {text}"
        );
    }
    std::fs::write(&trial, "rules:\n  no-such-rule: {level: off}\n").unwrap();
    let out = r.kepguard(&["check", "--base", &base, "--policy", trial.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(&format!("error: {}", trial.display())));

    // The gates judge by the reviewed policy only.
    for hook in [vec!["hook", "pre-receive"], vec!["hook", "pre-commit"]] {
        let mut args = hook.clone();
        args.extend(["--policy", trial.to_str().unwrap()]);
        let out = r.kepguard(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("unexpected argument '--policy'"),
            "{args:?}"
        );
    }
}
