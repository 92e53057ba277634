//! The gate cannot be talked round: a value the change itself sets never decides whether a rule
//! applies, a push cannot buy an unchecked pass with its size, and the policy is gated. Real
//! `git push` into a bare repository with the pre-receive gate installed, as the attacks were made.

mod common;

use std::path::PathBuf;

use common::{git_in, git_out, kep_yaml, kepguard_in, prr_approval, readme};

const KEP: &str = "keps/sig-node/1234-frob";

/// A bare server with the gate, and a clone whose first commit (accepted) holds the KEP as
/// `yaml`, with `policy` as `.kepguard.yaml` when given.
struct Server {
    _tmp: tempfile::TempDir,
    bare: PathBuf,
    work: PathBuf,
}

impl Server {
    fn new(yaml: &str, history: &[&str], policy: Option<&str>) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        git_in(root, &["init", "-q", "--bare", "-b", "main", "server.git"]);
        let out = kepguard_in(root, &["hook", "install", "--pre-receive", "--repo", "server.git"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        git_in(root, &["clone", "-q", "server.git", "work"]);
        let s = Server {
            bare: root.join("server.git"),
            work: root.join("work"),
            _tmp: tmp,
        };
        if let Some(p) = policy {
            s.write(".kepguard.yaml", p);
        }
        s.write("keps/prod-readiness/sig-node/1234.yaml", &prr_approval("1234"));
        s.change(yaml, &[], history);
        let (ok, err) = s.push();
        assert!(ok, "{err}");
        s
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Commits the KEP as `yaml` with a README holding `prr` answers and `history` entries.
    fn change(&self, yaml: &str, prr: &[&str], history: &[&str]) {
        self.write(&format!("{KEP}/kep.yaml"), yaml);
        self.write(&format!("{KEP}/README.md"), &readme("S.", prr, history));
        git_in(&self.work, &["add", "-A"]);
        git_in(&self.work, &["commit", "-q", "--allow-empty", "-m", "change"]);
    }

    fn push(&self) -> (bool, String) {
        let out = git_out(&self.work, &["push", "origin", "HEAD:main"], &[]);
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    fn main(&self) -> String {
        git_in(&self.bare, &["rev-parse", "main"]).trim().to_owned()
    }
}

#[test]
fn lowering_latest_milestone_does_not_switch_prr_off() {
    // Beta in v1.24, graduating to stable with latest-milestone set back to v1.20 and no PRR
    // answers (as KEP-2008's attempt did).
    let s = Server::new(
        &kep_yaml(
            "1234",
            "implementable",
            "beta",
            "v1.24",
            &[("alpha", "v1.22"), ("beta", "v1.24")],
        ),
        &["- beta in v1.24"],
        None,
    );
    let before = s.main();
    s.change(
        &kep_yaml(
            "1234",
            "implementable",
            "stable",
            "v1.20",
            &[("alpha", "v1.22"), ("beta", "v1.24")],
        ),
        &[],
        &["- beta in v1.24", "- stable"],
    );
    let (ok, err) = s.push();
    assert!(!ok, "pushed: {err}");
    assert!(err.contains("remote: error[prr-on-graduation]: KEP-1234"), "{err}");
    assert_eq!(s.main(), before, "main moved");
}

#[test]
fn lowering_latest_milestone_does_not_revive_an_expired_exception() {
    let policy = "allow:\n  - {rule: implementation-history, kep: 1234, reason: \"reviewed\", until: v1.30}\n";
    let s = Server::new(
        &kep_yaml("1234", "implementable", "alpha", "v1.31", &[("alpha", "v1.31")]),
        &["- alpha in v1.31"],
        Some(policy),
    );
    let before = s.main();
    // Retargeted back to v1.30, inside the exception, with no history entry.
    s.change(
        &kep_yaml("1234", "implementable", "alpha", "v1.30", &[("alpha", "v1.31")]),
        &[],
        &["- alpha in v1.31"],
    );
    let (ok, err) = s.push();
    assert!(!ok, "pushed: {err}");
    assert!(err.contains("remote: error[implementation-history]: KEP-1234"), "{err}");
    assert!(err.contains("expired after v1.30"), "{err}");
    assert_eq!(s.main(), before, "main moved");
}

#[test]
fn lowering_latest_milestone_does_not_make_a_demotion_a_withdrawal() {
    // Beta planned for v1.31; the KEP has moved on to v1.32.
    let s = Server::new(
        &kep_yaml(
            "1234",
            "implementable",
            "beta",
            "v1.32",
            &[("alpha", "v1.30"), ("beta", "v1.31")],
        ),
        &["- beta in v1.31"],
        None,
    );
    let before = s.main();
    s.change(
        &kep_yaml(
            "1234",
            "implementable",
            "alpha",
            "v1.31",
            &[("alpha", "v1.30"), ("beta", "v1.31")],
        ),
        &[],
        &["- beta in v1.31", "- back to alpha"],
    );
    let (ok, err) = s.push();
    assert!(!ok, "pushed: {err}");
    assert!(err.contains("remote: error[stage-monotonic]: KEP-1234"), "{err}");
    assert_eq!(s.main(), before, "main moved");
}

#[test]
fn lowering_latest_milestone_does_not_waive_the_prr_approval() {
    let s = Server::new(
        &kep_yaml(
            "1234",
            "implementable",
            "beta",
            "v1.24",
            &[("alpha", "v1.22"), ("beta", "v1.24")],
        ),
        &["- beta in v1.24"],
        None,
    );
    s.write(
        "keps/prod-readiness/sig-node/1234.yaml",
        "kep-number: 1234\nalpha:\n  approver: \"@wojtek-t\"\nbeta:\n  approver: \"@wojtek-t\"\n",
    );
    s.change(
        &kep_yaml(
            "1234",
            "implementable",
            "beta",
            "v1.24",
            &[("alpha", "v1.22"), ("beta", "v1.24")],
        ),
        &[],
        &["- beta in v1.24"],
    );
    let (ok, err) = s.push();
    assert!(ok, "{err}");
    let before = s.main();
    // Stable with no stable approval, latest-milestone set back before PRR.
    s.change(
        &kep_yaml(
            "1234",
            "implementable",
            "stable",
            "v1.20",
            &[("alpha", "v1.22"), ("beta", "v1.24")],
        ),
        &["GA answers."],
        &["- beta in v1.24", "- stable"],
    );
    let (ok, err) = s.push();
    assert!(!ok, "pushed: {err}");
    assert!(
        err.contains("remote: error[prr-approval]: KEP-1234") && err.contains("no approver for stage stable"),
        "{err}"
    );
    assert_eq!(s.main(), before, "main moved");
}

#[test]
fn a_push_over_max_kep_changes_is_refused_whatever_on_timeout_says() {
    let s = Server::new(
        &kep_yaml("1234", "implementable", "alpha", "v1.31", &[("alpha", "v1.31")]),
        &["- alpha in v1.31"],
        None,
    );
    for (key, value) in [
        ("kepguard.maxKepChanges", "3"),
        ("kepguard.onTimeout", "accept"),
        // No check finishes within a microsecond: the deadline is surely passed.
        ("kepguard.timeout", "0.000001"),
    ] {
        git_in(&s.bare, &["config", key, value]);
    }
    let before = s.main();
    // Four new provisional KEPs: cheap to write, and each one work for the gate.
    for n in 0..4 {
        let dir = format!("keps/sig-node/{}-k{n}", 2000 + n);
        s.write(
            &format!("{dir}/kep.yaml"),
            &kep_yaml(&(2000 + n).to_string(), "provisional", "alpha", "v1.31", &[]),
        );
        s.write(&format!("{dir}/README.md"), &readme("S.", &[], &["- new"]));
    }
    git_in(&s.work, &["add", "-A"]);
    git_in(&s.work, &["commit", "-q", "-m", "four KEPs"]);
    let (ok, err) = s.push();
    assert!(!ok, "pushed: {err}");
    assert!(
        err.contains("the push changes 4 KEPs, more than kepguard.maxKepChanges (3)"),
        "{err}"
    );
    assert_eq!(s.main(), before, "main moved");

    // Within the limit, the deadline and onTimeout decide as before.
    git_in(&s.bare, &["config", "kepguard.maxKepChanges", "4"]);
    let (ok, err) = s.push();
    assert!(ok, "{err}");
    assert!(err.contains("onTimeout=accept"), "{err}");

    git_in(&s.bare, &["config", "kepguard.maxKepChanges", "many"]);
    s.change(
        &kep_yaml("1234", "implementable", "alpha", "v1.31", &[("alpha", "v1.31")]),
        &["x"],
        &["- alpha in v1.31"],
    );
    let (ok, err) = s.push();
    assert!(!ok && err.contains("kepguard.maxKepChanges is `many`"), "{err}");
}

/// Pushes HEAD to main with `envs`.
fn push_as(s: &Server, envs: &[(&str, &str)]) -> (bool, String) {
    let out = git_out(&s.work, &["push", "origin", "HEAD:main"], envs);
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn commit_file(s: &Server, path: &str, text: &str) {
    s.write(path, text);
    git_in(&s.work, &["add", "-A"]);
    git_in(&s.work, &["commit", "-q", "-m", "policy"]);
}

#[test]
fn a_policy_change_is_refused_unless_a_policy_admin_pushes_it() {
    let s = Server::new(
        &kep_yaml("1234", "implementable", "alpha", "v1.31", &[("alpha", "v1.31")]),
        &["- alpha in v1.31"],
        None,
    );
    git_in(&s.bare, &["config", "kepguard.policyAdmin", "alice"]);
    let before = s.main();
    // Push 1 of the attack: every rule off, no KEP touched.
    let off = "rules:\n  implementation-history: {level: off}\n  stage-monotonic: {level: off}\n";
    commit_file(&s, ".kepguard.yaml", off);
    let (ok, err) = push_as(&s, &[("GL_USERNAME", "mallory")]);
    assert!(!ok, "pushed: {err}");
    assert!(err.contains("remote: error[policy-change]"), "{err}");
    assert!(err.contains("kepguard.policyAdmin"), "{err}");
    assert_eq!(s.main(), before, "main moved");

    // A policy administrator may; a policy that does not parse is refused even from one.
    let (ok, err) = push_as(&s, &[("GL_USERNAME", "alice")]);
    assert!(ok, "{err}");
    assert!(
        err.contains("warning[policy-change]") && err.contains("a kepguard.policyAdmin"),
        "{err}"
    );
    commit_file(&s, ".kepguard.yaml", "rulez: {}\n");
    let (ok, err) = push_as(&s, &[("GL_USERNAME", "alice")]);
    assert!(!ok, "pushed: {err}");
    assert!(err.contains("the policy file does not parse"), "{err}");
}

#[test]
fn a_broken_policy_on_the_server_is_judged_by_the_defaults_and_can_be_fixed() {
    // The broken policy got in before the gate was installed.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let root = root.as_path();
    git_in(root, &["init", "-q", "--bare", "-b", "main", "server.git"]);
    git_in(root, &["clone", "-q", "server.git", "work"]);
    let s = Server {
        bare: root.join("server.git"),
        work: root.join("work"),
        _tmp: tmp,
    };
    s.write(".kepguard.yaml", "rulez: {}\n");
    s.write("keps/prod-readiness/sig-node/1234.yaml", &prr_approval("1234"));
    s.change(
        &kep_yaml("1234", "implementable", "alpha", "v1.31", &[("alpha", "v1.31")]),
        &[],
        &["- alpha in v1.31"],
    );
    let (ok, err) = s.push();
    assert!(ok, "{err}");
    let out = kepguard_in(root, &["hook", "install", "--pre-receive", "--repo", "server.git"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    git_in(&s.bare, &["config", "kepguard.policyAdmin", "alice"]);

    // A bad change is still refused, by the built-in defaults, and the push says why.
    s.change(
        &kep_yaml("1234", "implementable", "alpha", "v1.32", &[("alpha", "v1.31")]),
        &[],
        &["- alpha in v1.31"],
    );
    let (ok, err) = s.push();
    assert!(!ok, "pushed: {err}");
    assert!(err.contains("judging with the built-in defaults"), "{err}");
    assert!(err.contains("remote: error[implementation-history]"), "{err}");
    git_in(&s.work, &["reset", "-q", "--hard", "HEAD~1"]);
    // The fix goes through.
    commit_file(&s, ".kepguard.yaml", "trailers: false\n");
    let (ok, err) = push_as(&s, &[("GL_USERNAME", "alice")]);
    assert!(ok, "{err}");
}

#[test]
fn a_policy_pinned_on_the_server_wins_over_the_repositorys() {
    let s = Server::new(
        &kep_yaml("1234", "implementable", "alpha", "v1.31", &[("alpha", "v1.31")]),
        &["- alpha in v1.31"],
        Some("rules:\n  implementation-history: {level: off}\n"),
    );
    let pinned = s.bare.join("pinned.yaml");
    std::fs::write(&pinned, "rules:\n  implementation-history: {level: error}\n").unwrap();
    git_in(&s.bare, &["config", "kepguard.policy", pinned.to_str().unwrap()]);
    s.change(
        &kep_yaml("1234", "implementable", "alpha", "v1.32", &[("alpha", "v1.31")]),
        &[],
        &["- alpha in v1.31"],
    );
    let (ok, err) = s.push();
    assert!(!ok, "pushed: {err}");
    assert!(err.contains("remote: error[implementation-history]"), "{err}");
}

#[test]
fn check_shows_a_policy_change_to_the_reviewer() {
    let r = common::Repo::new();
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.31", &[("alpha", "v1.31")]),
        &readme("S.", &[], &["- alpha"]),
    );
    let base = r.commit("KEP");
    r.write(".kepguard.yaml", "rules:\n  implementation-history: {level: off}\n");
    r.commit("relax");
    let (code, doc) = r.check_json(&base, "HEAD");
    assert_eq!(code, 0, "{doc}");
    let f = &doc["findings"][0];
    assert_eq!(
        (f["rule"].as_str(), f["severity"].as_str()),
        (Some("policy-change"), Some("warning")),
        "{doc}"
    );
    assert_eq!(f["path"], ".kepguard.yaml");
}
