//! The hooks, end to end: real `git push` into bare repositories with the hooks installed.

mod common;

use std::path::{Path, PathBuf};

use common::{
    clone_corpus, git_in, git_out, git_out_unless_hung, json_run, kep_yaml, kepguard_in, prr_approval, readme,
};

const KEP: &str = "keps/sig-node/1234-frob";
const H1: &str = "- alpha in v1.30";

/// A bare `server.git` with the pre-receive gate installed, and a clone `work` holding one
/// accepted commit with a KEP at alpha.
struct Server {
    _tmp: tempfile::TempDir,
    bare: PathBuf,
    work: PathBuf,
}

impl Server {
    fn new() -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        git_in(root, &["init", "-q", "--bare", "-b", "main", "server.git"]);
        let bare = root.join("server.git");
        let out = kepguard_in(root, &["hook", "install", "--pre-receive", "--repo", "server.git"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("wrote"));
        git_in(root, &["clone", "-q", "server.git", "work"]);
        let work = root.join("work");
        let s = Server { _tmp: tmp, bare, work };
        s.kep("alpha", "v1.30", &[("alpha", "v1.30")], &[], &[H1]);
        s.commit("KEP at alpha");
        let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
        assert!(ok, "{err}");
        s
    }

    fn server_config(&self, key: &str, value: &str) {
        git_in(&self.bare, &["config", "--add", key, value]);
    }

    fn kep(&self, stage: &str, latest: &str, milestones: &[(&str, &str)], prr: &[&str], history: &[&str]) {
        let dir = self.work.join(KEP);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("kep.yaml"),
            kep_yaml("1234", "implementable", stage, latest, milestones),
        )
        .unwrap();
        std::fs::write(dir.join("README.md"), readme("S.", prr, history)).unwrap();
        let prr_dir = self.work.join("keps/prod-readiness/sig-node");
        std::fs::create_dir_all(&prr_dir).unwrap();
        std::fs::write(prr_dir.join("1234.yaml"), prr_approval("1234")).unwrap();
    }

    fn commit(&self, message: &str) -> String {
        git_in(&self.work, &["add", "-A"]);
        git_in(&self.work, &["commit", "-q", "--allow-empty", "-m", message]);
        git_in(&self.work, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// A graduation to beta without an Implementation History entry.
    fn bad_commit(&self) -> String {
        self.kep(
            "beta",
            "v1.31",
            &[("alpha", "v1.30"), ("beta", "v1.31")],
            &["Beta answers."],
            &[H1],
        );
        self.commit("beta without history")
    }

    /// A graduation to beta done right.
    fn good_commit(&self) -> String {
        self.kep(
            "beta",
            "v1.31",
            &[("alpha", "v1.30"), ("beta", "v1.31")],
            &["Beta answers."],
            &[H1, "- beta in v1.31"],
        );
        self.commit("beta")
    }

    fn push(&self, args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
        let mut all = vec!["push"];
        all.extend_from_slice(args);
        let out = git_out(&self.work, &all, envs);
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    fn server_ref(&self, name: &str) -> Option<String> {
        let out = git_out(&self.bare, &["rev-parse", "--verify", "-q", name], &[]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

/// Commits, pushes to main, and asserts the push is refused for `rule` with main unchanged.
fn assert_rejected(s: &Server, rule: &str) {
    let before = s.server_ref("main");
    s.commit(rule);
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
    assert!(!ok, "{rule}: pushed");
    assert!(
        err.contains(&format!("remote: error[{rule}]: KEP-1234")),
        "{rule}: {err}"
    );
    assert!(
        err.contains("pushed to refs/heads/main") && err.contains("blocked the push"),
        "{err}"
    );
    assert_eq!(s.server_ref("main"), before, "{rule}: the server ref moved");
    git_in(&s.work, &["reset", "-q", "--hard", "origin/main"]);
}

#[test]
fn a_push_breaking_each_rule_is_rejected_and_a_clean_push_accepted() {
    let s = Server::new();
    s.kep("alpha", "v1.31", &[("alpha", "v1.30")], &[], &[H1]);
    assert_rejected(&s, "implementation-history");
    s.kep(
        "beta",
        "v1.31",
        &[("alpha", "v1.30"), ("beta", "v1.31")],
        &["<!-- later -->"],
        &[H1, "- beta"],
    );
    assert_rejected(&s, "prr-on-graduation");
    std::fs::write(s.work.join(KEP).join("kep.yaml"), "kep-number: 1234\nstage: [alpha\n").unwrap();
    assert_rejected(&s, "kep-metadata");

    let good = s.good_commit();
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
    assert!(ok, "{err}");
    assert!(err.contains("remote: kepguard: 1 ref update checked"), "{err}");
    assert_eq!(s.server_ref("main").as_deref(), Some(good.as_str()));
    git_in(&s.work, &["fetch", "-q"]);

    s.kep(
        "alpha",
        "v1.32",
        &[("alpha", "v1.30"), ("beta", "v1.31")],
        &["Beta answers."],
        &[H1, "- beta in v1.31", "- back"],
    );
    assert_rejected(&s, "stage-monotonic");
}

/// Installs a wrapper pre-receive hook that records the quarantine's files before and after
/// kepguard runs, to `log_dir`.
fn install_recording_hook(s: &Server, log_dir: &Path) {
    let exe = env!("CARGO_BIN_EXE_kepguard");
    let log = log_dir.display();
    let script = format!(
        "#!/bin/sh\ncat > '{log}/stdin'\nfind \"$GIT_QUARANTINE_PATH\" -type f | sort > '{log}/before'\n\
         '{exe}' hook pre-receive < '{log}/stdin'\nrc=$?\n\
         find \"$GIT_QUARANTINE_PATH\" -type f -newer '{log}/before' | sort > '{log}/written'\n\
         find \"$GIT_QUARANTINE_PATH\" -type f | sort > '{log}/after'\nexit $rc\n"
    );
    let hook = s.bare.join("hooks/pre-receive");
    std::fs::write(&hook, script).unwrap();
    git_in(&s.bare, &["config", "core.fileMode", "true"]);
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&hook)
        .status()
        .unwrap();
}

#[test]
fn objects_arriving_loose_and_packed_are_read_and_the_quarantine_is_left_alone() {
    for (limit, packed) in [("100000", false), ("1", true)] {
        let s = Server::new();
        let logs = tempfile::tempdir().unwrap();
        install_recording_hook(&s, logs.path());
        git_in(&s.bare, &["config", "receive.unpackLimit", limit]);
        s.bad_commit();
        let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
        assert!(!ok && err.contains("error[implementation-history]"), "{err}");
        let read = |f: &str| std::fs::read_to_string(logs.path().join(f)).unwrap();
        let before = read("before");
        assert_eq!(before.contains("/pack/"), packed, "limit {limit}: {before}");
        assert!(packed || before.lines().count() >= 3, "loose objects: {before}");
        assert_eq!(read("after"), before, "the hook changed the quarantine");
        assert_eq!(read("written"), "", "the hook wrote into the quarantine");

        s.good_commit();
        git_in(&s.work, &["reset", "-q", "--soft", "origin/main"]);
        s.commit("beta, done right");
        let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
        assert!(ok, "{err}");
        assert_eq!(read("after"), read("before"));
        assert!(!s.bare.join("objects/info/alternates").exists());
        // The accepted objects are intact for git.
        git_in(&s.bare, &["fsck", "--no-progress"]);
    }
}

#[test]
fn several_refs_new_deleted_forced_and_unchecked_branches() {
    let s = Server::new();
    s.server_config("kepguard.ref", "main");
    s.server_config("kepguard.ref", "release-*");
    let main_before = s.server_ref("main");

    // One push, two refs, one of them bad: everything is refused.
    let good = s.good_commit();
    git_in(&s.work, &["branch", "good", &good]);
    git_in(&s.work, &["reset", "-q", "--hard", "HEAD~1"]);
    let bad = s.bad_commit();
    let (ok, err) = s.push(
        &[
            "origin",
            &format!("{good}:refs/heads/main"),
            &format!("{bad}:refs/heads/release-1"),
        ],
        &[],
    );
    assert!(!ok, "{err}");
    assert!(err.contains("pushed to refs/heads/release-1"), "{err}");
    assert_eq!(s.server_ref("main"), main_before);
    assert_eq!(s.server_ref("release-1"), None);

    // A new branch: checked against its merge-base with the default branch.
    let (ok, err) = s.push(&["origin", &format!("{bad}:refs/heads/release-2")], &[]);
    assert!(!ok && err.contains("error[implementation-history]"), "{err}");
    let (ok, err) = s.push(&["origin", &format!("{good}:refs/heads/release-2")], &[]);
    assert!(ok, "{err}");

    // A deletion is not checked.
    let (ok, err) = s.push(&["origin", ":refs/heads/release-2"], &[]);
    assert!(ok, "{err}");
    assert_eq!(s.server_ref("release-2"), None);

    // A ref outside kepguard.ref is accepted without checks.
    let (ok, err) = s.push(&["origin", &format!("{bad}:refs/heads/feature")], &[]);
    assert!(ok, "{err}");
    assert!(!err.contains("error["), "{err}");

    // Tags are never checked, even where a pattern would match them.
    s.server_config("kepguard.ref", "refs/*");
    let (ok, err) = s.push(&["origin", &format!("{bad}:refs/tags/v1")], &[]);
    assert!(ok && !err.contains("error["), "{err}");
    git_in(&s.bare, &["config", "--unset", "kepguard.ref", "refs/\\*"]);

    // A new branch sharing no history with any ref: every new commit is checked.
    git_in(&s.work, &["checkout", "-q", "--orphan", "unrelated"]);
    s.kep("alpha", "v1.30", &[("alpha", "v1.30")], &[], &[H1]);
    s.commit("orphan root: a new KEP");
    let orphan_bad = s.bad_commit();
    s.good_commit(); // the net change from the root would be clean
    let (ok, err) = s.push(&["origin", "HEAD:refs/heads/release-3"], &[]);
    assert!(!ok && err.contains("error[implementation-history]"), "{err}");
    assert!(err.contains(&orphan_bad), "{err}");
    git_in(&s.work, &["checkout", "-q", "main"]);

    // A force-push is judged by its merge-base with what it replaces.
    let (ok, err) = s.push(&["origin", &format!("{good}:refs/heads/main")], &[]);
    assert!(ok, "{err}");
    git_in(&s.work, &["reset", "-q", "--hard", &format!("{good}~1")]);
    s.kep("alpha", "v1.32", &[("alpha", "v1.30")], &[], &[H1]);
    s.commit("rewrite: retarget without history");
    let (ok, err) = s.push(&["--force", "origin", "HEAD:main"], &[]);
    assert!(!ok && err.contains("error[implementation-history]"), "{err}");
    assert_eq!(s.server_ref("main").as_deref(), Some(good.as_str()));
    // It is also judged against the tip it replaces: dropping the beta graduation is a change.
    git_in(&s.work, &["reset", "-q", "--hard", &format!("{good}~1")]);
    s.commit("rewrite: drops the graduation");
    let (ok, err) = s.push(&["--force", "origin", "HEAD:main"], &[]);
    assert!(!ok && err.contains("error[implementation-history]"), "{err}");
    assert!(err.contains("the tip this force-push replaces"), "{err}");
    s.good_commit();
    let (ok, err) = s.push(&["--force", "origin", "HEAD:main"], &[]);
    assert!(ok, "a rewrite keeping what it replaces: {err}");
}

#[test]
fn mode_each_checks_every_new_commit() {
    let s = Server::new();
    s.bad_commit();
    s.good_commit(); // adds the entry: the net change is clean
    let (ok, err) = s.push(&["origin", "HEAD:refs/heads/main"], &[]);
    assert!(ok, "net mode judges the net change: {err}");
    git_in(&s.work, &["fetch", "-q"]);
    s.kep(
        "stable",
        "v1.32",
        &[("alpha", "v1.30"), ("beta", "v1.31"), ("stable", "v1.32")],
        &["GA."],
        &[H1],
    );
    s.commit("stable, history lost");
    s.kep(
        "stable",
        "v1.32",
        &[("alpha", "v1.30"), ("beta", "v1.31"), ("stable", "v1.32")],
        &["GA."],
        &[H1, "- beta", "- GA"],
    );
    s.commit("history back");
    s.server_config("kepguard.mode", "each");
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
    assert!(!ok && err.contains("error[implementation-history]"), "{err}");
    assert!(err.contains("2 commits"), "{err}");
}

#[test]
fn bypass_is_honoured_only_for_listed_users() {
    let s = Server::new();
    s.server_config("receive.advertisePushOptions", "true");
    s.server_config("kepguard.bypassUser", "alice");
    // KEPGUARD_USER names the user only where the admin trusts the front end setting it.
    s.server_config("kepguard.trustUserEnv", "true");
    s.bad_commit();
    let opt = "kepguard.bypass=hotfix for v1.31";
    let (ok, err) = s.push(&["-o", opt, "origin", "HEAD:main"], &[("KEPGUARD_USER", "bob")]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("bypass refused: user `bob` is not listed in kepguard.bypassUser"),
        "{err}"
    );
    assert!(err.contains("error[implementation-history]"), "{err}");
    let (ok, err) = s.push(&["-o", opt, "origin", "HEAD:main"], &[("GL_USERNAME", "alice")]);
    assert!(ok, "{err}");
    assert!(err.contains("bypass by `alice` (reason: \"hotfix for v1.31\") let through: implementation-history on keps/sig-node/1234-frob"), "{err}");
}

#[test]
fn gitlab_web_lines_carry_the_hook_error_prefix() {
    let s = Server::new();
    s.bad_commit();
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[("GL_PROTOCOL", "web")]);
    assert!(!ok);
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("remote: ") && l.trim_end() != "remote:")
        .collect();
    assert!(
        !ours.is_empty() && ours.iter().all(|l| l.starts_with("remote: GL-HOOK-ERR: ")),
        "{err}"
    );
}

/// New provisional KEPs in one commit on top of HEAD, `count` of them, on branch `many`: a push
/// made slow on purpose, whose check (every KEP's metadata and README read and parsed, after the
/// count against kepguard.maxKepChanges) no machine finishes within a few milliseconds. Written
/// with `git fast-import`, in one process and one pack, not as thousands of work-tree files.
fn many_new_keps(s: &Server, count: usize) -> String {
    let parent = git_in(&s.work, &["rev-parse", "HEAD"]).trim().to_owned();
    let message = format!("{count} new KEPs");
    let mut stream = format!(
        "commit refs/heads/many\ncommitter Test <test@example.com> 1700000000 +0000\ndata {}\n{message}\nfrom {parent}\n",
        message.len()
    );
    for n in 0..count {
        let number = (5000 + n).to_string();
        let dir = format!("keps/sig-node/{number}-k{n}");
        for (name, text) in [
            ("kep.yaml", kep_yaml(&number, "provisional", "alpha", "v1.31", &[])),
            ("README.md", readme("S.", &[], &["- new"])),
        ] {
            stream.push_str(&format!("M 100644 inline {dir}/{name}\ndata {}\n{text}\n", text.len()));
        }
    }
    let mut child = std::process::Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&s.work)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stream.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    git_in(&s.work, &["rev-parse", "refs/heads/many"]).trim().to_owned()
}

#[test]
fn a_push_slower_than_the_deadline_is_rejected_or_accepted_as_on_timeout_says() {
    const KEPS: usize = 2000;
    let s = Server::new();
    let before = s.server_ref("main");
    let head = many_new_keps(&s, KEPS);
    s.server_config("kepguard.timeout", "0.002");
    let push = || {
        let out = git_out_unless_hung(&s.work, &["push", "origin", "many:main"], &[]);
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = push();
    assert!(!ok, "pushed: {err}");
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("kepguard"))
        .map(str::trim_end)
        .collect();
    assert_eq!(
        ours,
        [
            "remote: kepguard: the check did not finish within 0.002 s (kepguard.timeout); push rejected (kepguard.onTimeout=reject)"
        ],
        "{err}"
    );
    assert_eq!(s.server_ref("main"), before, "main moved");

    s.server_config("kepguard.onTimeout", "accept");
    let (ok, err) = push();
    assert!(ok, "{err}");
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("kepguard"))
        .map(str::trim_end)
        .collect();
    assert_eq!(
        ours,
        [
            "remote: kepguard: the check did not finish within 0.002 s (kepguard.timeout); push accepted unchecked (kepguard.onTimeout=accept)"
        ],
        "{err}"
    );
    assert_eq!(s.server_ref("main").as_deref(), Some(head.as_str()));
}

#[test]
fn a_setting_that_does_not_parse_rejects_the_push_with_one_line() {
    let s = Server::new();
    s.server_config("kepguard.mode", "sometimes");
    s.bad_commit();
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
    assert!(!ok, "{err}");
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("kepguard"))
        .map(str::trim_end)
        .collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(
        ours[0].contains("kepguard.mode is `sometimes`") && ours[0].contains("push rejected"),
        "{err}"
    );
}

/// A clone of `s` with the pre-push guard installed.
fn pre_push_clone(s: &Server) -> PathBuf {
    let root = s.work.parent().unwrap();
    git_in(root, &["clone", "-q", "server.git", "local"]);
    let local = root.join("local");
    let out = kepguard_in(&local, &["hook", "install", "--pre-push"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Installing again is a no-op; a different hook is kept unless --force.
    let again = kepguard_in(&local, &["hook", "install", "--pre-push"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already runs"));
    local
}

#[test]
fn pre_push_blocks_a_bad_push_and_lets_a_good_one_through() {
    let s = Server::new();
    // The server accepts anything, so only the local guard stands in the way.
    std::fs::remove_file(s.bare.join("hooks/pre-receive")).unwrap();
    let local = pre_push_clone(&s);
    let work = Server {
        _tmp: tempfile::tempdir().unwrap(),
        bare: s.bare.clone(),
        work: local.clone(),
    };
    work.bad_commit();
    let (ok, err) = work.push(&["origin", "HEAD:main"], &[]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("error[implementation-history]") && err.contains("git push --no-verify"),
        "{err}"
    );
    assert!(!err.contains('\x1b'), "no colour off a terminal");
    let (ok, err) = work.push(&["origin", "HEAD:refs/heads/topic"], &[]);
    assert!(
        !ok && err.contains("error[implementation-history]"),
        "a new remote branch: {err}"
    );
    git_in(&local, &["reset", "-q", "--hard", "HEAD~1"]);
    let good = work.good_commit();
    let (ok, err) = work.push(&["origin", "HEAD:refs/heads/topic"], &[]);
    assert!(ok, "{err}");
    let (ok, err) = work.push(&["origin", "HEAD:main"], &[]);
    assert!(ok, "{err}");
    assert_eq!(s.server_ref("main").as_deref(), Some(good.as_str()));
    // A deletion is not checked.
    let (ok, err) = work.push(&["origin", ":refs/heads/topic"], &[]);
    assert!(ok, "{err}");

    // On a terminal the guard's diagnostics are coloured.
    work.kep(
        "beta",
        "v1.32",
        &[("alpha", "v1.30"), ("beta", "v1.31")],
        &["Beta answers."],
        &[H1],
    );
    work.commit("retarget without an entry");
    if let Some(tty) = git_push_in_pty(&local) {
        let line = tty
            .lines()
            .find(|l| l.contains("implementation-history"))
            .unwrap_or_default();
        assert!(common::has_sgr(line), "{tty:?}");
    }
    git_in(&local, &["reset", "-q", "--hard", "origin/main"]);

    // Without tracking refs for the remote, the guard says to fetch first.
    git_in(&local, &["remote", "add", "mirror", s.bare.to_str().unwrap()]);
    work.bad_commit();
    let (ok, err) = work.push(&["mirror", "HEAD:refs/heads/other"], &[]);
    assert!(!ok && err.contains("git fetch mirror"), "{err}");

    // An existing different hook is not overwritten without --force.
    std::fs::write(local.join(".git/hooks/pre-push"), "#!/bin/sh\nexit 0\n").unwrap();
    let out = kepguard_in(&local, &["hook", "install", "--pre-push"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let out = kepguard_in(&local, &["hook", "install", "--pre-push", "--force"]);
    assert!(out.status.success());
}

#[test]
fn install_honours_core_hooks_path() {
    let s = Server::new();
    git_in(&s.work, &["config", "core.hooksPath", ".githooks"]);
    let out = kepguard_in(&s.work, &["hook", "install", "--pre-push"]);
    assert!(out.status.success());
    assert!(s.work.join(".githooks/pre-push").exists());
}

#[test]
fn a_thousand_corpus_commits_pushed_onto_the_history_before_them() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let Some(source) = clone_corpus(root, "source.git") else {
        return;
    };
    let base = git_in(&source, &["rev-parse", "HEAD~1000"]).trim().to_owned();
    git_in(root, &["init", "-q", "--bare", "-b", "master", "server.git"]);
    let server = root.join("server.git");
    git_in(
        &source,
        &[
            "push",
            "-q",
            server.to_str().unwrap(),
            &format!("{base}:refs/heads/master"),
        ],
    );
    let out = kepguard_in(root, &["hook", "install", "--pre-receive", "--repo", "server.git"]);
    assert!(out.status.success());
    // This test is about what the gate judges, not how fast: a busy machine running a debug build
    // must not hit the deadline (the benchmark measures the time; deadlines have their own test).
    git_in(&server, &["config", "kepguard.timeout", "600"]);

    for mode in ["net", "each"] {
        git_in(&server, &["config", "kepguard.mode", mode]);
        git_in(&server, &["config", "kepguard.bypassUser", "ci"]);
        git_in(&server, &["config", "kepguard.trustUserEnv", "true"]);
        git_in(&server, &["config", "receive.advertisePushOptions", "true"]);
        // The bypass lets the push land whatever the history holds, and reports what it let through.
        let out = git_out_unless_hung(
            &source,
            &[
                "push",
                "-o",
                "kepguard.bypass=landing the history",
                server.to_str().unwrap(),
                "HEAD:refs/heads/master",
            ],
            &[("KEPGUARD_USER", "ci")],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        // What it let through was checked, in time: findings, not an unchecked push.
        assert!(
            err.contains("bypass by `ci` (reason: \"landing the history\") let through: ")
                && err.contains("implementation-history on keps/")
                && !err.contains("an unchecked push"),
            "{err}"
        );
        // Rewinding is judged against the tip it replaces (a thousand commits of KEP changes
        // undone), so it takes a bypass too.
        let out = git_out_unless_hung(
            &source,
            &[
                "push",
                "-q",
                "-f",
                "-o",
                "kepguard.bypass=rewinding",
                server.to_str().unwrap(),
                &format!("{base}:refs/heads/master"),
            ],
            &[("KEPGUARD_USER", "ci")],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // Without a bypass, the net change of the 1,000 commits is judged, as `check` judges the
    // same range, and the push is refused.
    git_in(&server, &["config", "kepguard.mode", "net"]);
    let (code, doc) = json_run(kepguard_in(
        &source,
        &["check", "--base", &base, "--head", "HEAD", "--format", "json"],
    ));
    assert_eq!(code, 1, "{doc}");
    let expected = format!(
        "remote: kepguard: {} errors blocked the push (1 ref update checked, {} KEP changes in 1 commit; ",
        doc["summary"]["errors"], doc["keps_checked"]
    );
    let out = git_out_unless_hung(
        &source,
        &["push", server.to_str().unwrap(), "HEAD:refs/heads/master"],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.lines().any(|l| l.starts_with(&expected)), "{expected}\n{err}");
    let master = git_in(&server, &["rev-parse", "refs/heads/master"]);
    assert_eq!(master.trim(), base, "master moved");
}

#[test]
fn shipped_shims_run_kepguard_from_the_environment_or_say_it_is_missing() {
    let s = Server::new();
    let shim = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/pre-receive");
    std::fs::copy(&shim, s.bare.join("hooks/pre-receive")).unwrap();
    s.bad_commit();
    let exe = env!("CARGO_BIN_EXE_kepguard");
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[("KEPGUARD", exe)]);
    assert!(!ok && err.contains("error[implementation-history]"), "{err}");
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[("KEPGUARD", "/nonexistent/kepguard")]);
    assert!(!ok && err.contains("cannot find the kepguard binary"), "{err}");

    let shim = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/pre-push");
    std::fs::copy(&shim, s.work.join(".git/hooks/pre-push")).unwrap();
    std::fs::remove_file(s.bare.join("hooks/pre-receive")).unwrap();
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[("KEPGUARD", exe)]);
    assert!(
        !ok && err.contains("error[implementation-history]") && err.contains("--no-verify"),
        "{err}"
    );
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[("KEPGUARD", "/nonexistent/kepguard")]);
    assert!(!ok && err.contains("cannot find the kepguard binary"), "{err}");
}

#[test]
fn pre_commit_framework_runs_the_hook_at_the_pre_push_stage() {
    let which = std::process::Command::new("sh")
        .args(["-c", "command -v pre-commit"])
        .output()
        .unwrap();
    if !which.status.success() {
        eprintln!("skipping: the pre-commit framework is not installed (pip install pre-commit)");
        return;
    }
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rev = git_in(project, &["rev-parse", "HEAD"]).trim().to_owned();
    let s = Server::new();
    std::fs::remove_file(s.bare.join("hooks/pre-receive")).unwrap();
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: kepguard\n",
        project.display()
    );
    std::fs::write(s.work.join(".pre-commit-config.yaml"), config).unwrap();
    s.commit("use the pre-commit framework");
    let cache = s.work.parent().unwrap().join("pre-commit-cache");
    let cache = cache.to_str().unwrap();
    // The framework builds the hook with `cargo install --path`; sharing this build's target
    // directory lets it reuse what is already compiled.
    let target = project.join("target");
    let env = [
        ("PRE_COMMIT_HOME", cache),
        ("CARGO_TARGET_DIR", target.to_str().unwrap()),
    ];
    let out = std::process::Command::new("pre-commit")
        .args(["install", "--hook-type", "pre-push"])
        .current_dir(&s.work)
        .envs(env)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    s.bad_commit();
    let out = git_out(&s.work, &["push", "origin", "HEAD:main"], &env);
    let all = both(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("kepguard") && all.contains("error[implementation-history]"),
        "{all}"
    );
    git_in(&s.work, &["reset", "-q", "--hard", "HEAD~1"]);
    s.good_commit();
    let out = git_out(&s.work, &["push", "origin", "HEAD:main"], &env);
    let all = both(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("kepguard") && all.contains("Passed"), "{all}");

    // A first push of a whole new history (a root commit among the pushed ones): the framework
    // passes no range, and every new commit is checked.
    let root = s.work.parent().unwrap();
    git_in(root, &["init", "-q", "--bare", "-b", "main", "fresh.git"]);
    git_in(
        &s.work,
        &["remote", "add", "fresh", root.join("fresh.git").to_str().unwrap()],
    );
    s.kep(
        "beta",
        "v1.32",
        &[("alpha", "v1.30"), ("beta", "v1.31")],
        &["Beta answers."],
        &[H1, "- beta in v1.31"],
    );
    s.commit("retarget without an entry");
    let out = git_out(&s.work, &["push", "fresh", "HEAD:main"], &env);
    let all = both(&out);
    assert!(
        !out.status.success() && all.contains("error[implementation-history]"),
        "{all}"
    );
}

#[test]
fn pre_commit_framework_checks_the_staged_change_at_the_pre_commit_stage() {
    let which = std::process::Command::new("sh")
        .args(["-c", "command -v pre-commit"])
        .output()
        .unwrap();
    if !which.status.success() {
        eprintln!("skipping: the pre-commit framework is not installed (pip install pre-commit)");
        return;
    }
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rev = git_in(project, &["rev-parse", "HEAD"]).trim().to_owned();
    let s = Server::new();
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: kepguard-staged\n",
        project.display()
    );
    std::fs::write(s.work.join(".pre-commit-config.yaml"), config).unwrap();
    s.commit("use the pre-commit framework");
    let cache = s.work.parent().unwrap().join("pre-commit-cache");
    let target = project.join("target");
    let env = [
        ("PRE_COMMIT_HOME", cache.to_str().unwrap()),
        ("CARGO_TARGET_DIR", target.to_str().unwrap()),
    ];
    let out = std::process::Command::new("pre-commit")
        .args(["install", "--hook-type", "pre-commit"])
        .current_dir(&s.work)
        .envs(env)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // A graduation without an entry, staged: the commit is refused and nothing is committed.
    let head = git_in(&s.work, &["rev-parse", "HEAD"]);
    s.kep(
        "beta",
        "v1.31",
        &[("alpha", "v1.30"), ("beta", "v1.31")],
        &["Beta answers."],
        &[H1],
    );
    git_in(&s.work, &["add", "-A"]);
    let out = git_out(&s.work, &["commit", "-q", "-m", "beta without history"], &env);
    let all = both(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("error[implementation-history]"), "{all}");
    assert_eq!(git_in(&s.work, &["rev-parse", "HEAD"]), head);

    // The entry added and staged: the commit goes through.
    s.kep(
        "beta",
        "v1.31",
        &[("alpha", "v1.30"), ("beta", "v1.31")],
        &["Beta answers."],
        &[H1, "- beta in v1.31"],
    );
    git_in(&s.work, &["add", "-A"]);
    let out = git_out(&s.work, &["commit", "-q", "-m", "beta"], &env);
    assert!(out.status.success(), "{}", both(&out));
}

/// A command's stdout and stderr together.
fn both(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `git push origin HEAD:main` under a pseudo-terminal (util-linux `script`), or `None` without it.
fn git_push_in_pty(dir: &Path) -> Option<String> {
    let which = std::process::Command::new("sh")
        .args(["-c", "command -v script"])
        .output()
        .ok()?;
    if !which.status.success() {
        return None;
    }
    let out = std::process::Command::new("script")
        // git's own colours are off so that only kepguard's can show.
        .args(["-qefc", "git -c color.ui=never push origin HEAD:main", "/dev/null"])
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
