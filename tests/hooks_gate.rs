//! The pre-receive gate against an ordinary pusher walking around it: real `git push` into bare
//! repositories with the hook installed.

mod common;

use std::path::PathBuf;

use common::{git_in, git_out, kep_yaml, kepguard_in, prr_approval, readme};

const KEP: &str = "keps/sig-node/1234-frob";
const H1: &str = "- alpha in v1.30";

/// A bare `server.git` (made with `init_args`) with the pre-receive gate installed, and a clone
/// `work` holding one commit with a KEP at alpha, pushed to `main` unless `push_first` is false.
struct Server {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    bare: PathBuf,
    work: PathBuf,
}

impl Server {
    fn new() -> Server {
        Server::with(&["-b", "main"], true)
    }

    fn with(init_args: &[&str], push_first: bool) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let mut init = vec!["init", "-q", "--bare"];
        init.extend_from_slice(init_args);
        init.push("server.git");
        git_in(&root, &init);
        let bare = root.join("server.git");
        let out = kepguard_in(&root, &["hook", "install", "--pre-receive", "--repo", "server.git"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        git_in(&root, &["clone", "-q", "server.git", "work"]);
        let work = root.join("work");
        let s = Server {
            _tmp: tmp,
            root,
            bare,
            work,
        };
        s.kep("alpha", "v1.30", &[("alpha", "v1.30")], &[], &[H1]);
        s.commit("KEP at alpha");
        if push_first {
            let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
            assert!(ok, "{err}");
        }
        s
    }

    fn server_config(&self, key: &str, value: &str) {
        git_in(&self.bare, &["config", "--add", key, value]);
    }

    fn kep(&self, stage: &str, latest: &str, milestones: &[(&str, &str)], prr: &[&str], history: &[&str]) {
        self.kep_with("implementable", stage, latest, milestones, prr, history);
    }

    fn kep_with(
        &self,
        status: &str,
        stage: &str,
        latest: &str,
        milestones: &[(&str, &str)],
        prr: &[&str],
        history: &[&str],
    ) {
        let dir = self.work.join(KEP);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("kep.yaml"),
            kep_yaml("1234", status, stage, latest, milestones),
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

    /// A graduation to stable done right, and shipped.
    fn stable_commit(&self) -> String {
        self.kep_with(
            "implemented",
            "stable",
            "v1.32",
            &[("alpha", "v1.30"), ("beta", "v1.31"), ("stable", "v1.32")],
            &["GA."],
            &[H1, "- beta in v1.31", "- GA in v1.32"],
        );
        self.commit("GA")
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

    fn allow_bypass(&self, user: &str) {
        self.server_config("receive.advertisePushOptions", "true");
        self.server_config("kepguard.bypassUser", user);
    }
}

fn assert_refused(ok: bool, err: &str, rule: &str) {
    assert!(!ok, "accepted: {err}");
    assert!(err.contains(&format!("error[{rule}]")), "{rule}: {err}");
}

#[test]
fn each_mode_a_bad_commit_parked_on_a_tag_or_unchecked_branch_is_checked_when_main_reaches_it() {
    for park in ["refs/tags/scratch", "refs/heads/scratch"] {
        let s = Server::new();
        s.server_config("kepguard.mode", "each");
        let main_before = s.server_ref("main");
        let bad = s.bad_commit();
        // Parking is allowed: neither ref is checked.
        let (ok, err) = s.push(&["origin", &format!("HEAD:{park}")], &[]);
        assert!(ok, "{park}: {err}");
        let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
        assert_refused(ok, &err, "implementation-history");
        assert!(err.contains(&bad) && err.contains("1 commit"), "{err}");
        assert_eq!(s.server_ref("main"), main_before, "{park}");
    }
}

#[test]
fn net_mode_an_unrelated_history_parked_on_a_branch_is_checked_when_forced_onto_main() {
    let s = Server::new();
    let main_before = s.server_ref("main");
    git_in(&s.work, &["checkout", "-q", "--orphan", "copy"]);
    s.commit("a copy of the tree");
    s.bad_commit();
    let (ok, err) = s.push(&["origin", "HEAD:refs/heads/scratch"], &[]);
    assert!(ok, "{err}");
    let (ok, err) = s.push(&["--force", "origin", "HEAD:main"], &[]);
    assert_refused(ok, &err, "implementation-history");
    assert_eq!(s.server_ref("main"), main_before);
}

#[test]
fn while_head_is_unborn_a_tag_does_not_vet_the_first_push() {
    let s = Server::with(&["-b", "main"], false);
    let bad = s.bad_commit();
    let (ok, err) = s.push(&["origin", "HEAD:refs/tags/scratch"], &[]);
    assert!(ok, "{err}");
    for mode in ["net", "each"] {
        git_in(&s.bare, &["config", "kepguard.mode", mode]);
        let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
        assert_refused(ok, &err, "implementation-history");
        assert!(err.contains(&bad), "{mode}: {err}");
        assert_eq!(s.server_ref("main"), None, "{mode}");
    }
}

#[test]
fn a_force_push_rewinding_a_graduation_is_judged_against_the_old_tip() {
    let s = Server::new();
    let beta = s.good_commit();
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
    assert!(ok, "{err}");
    let stable = s.stable_commit();
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
    assert!(ok, "{err}");

    // Back to before GA, plus a commit touching no KEP: the merge-base sees no KEP change.
    git_in(&s.work, &["reset", "-q", "--hard", &beta]);
    std::fs::write(s.work.join("NOTES.md"), "a typo fixed\n").unwrap();
    s.commit("typo");
    for mode in ["net", "each"] {
        git_in(&s.bare, &["config", "kepguard.mode", mode]);
        let (ok, err) = s.push(&["--force", "origin", "HEAD:main"], &[]);
        assert_refused(ok, &err, "stage-monotonic");
        assert!(err.contains("the tip this force-push replaces"), "{mode}: {err}");
        assert_eq!(s.server_ref("main").as_deref(), Some(stable.as_str()), "{mode}");
    }

    // A listed bypass user can still rewind.
    s.allow_bypass("alice");
    let (ok, err) = s.push(
        &["--force", "-o", "kepguard.bypass=undo GA", "origin", "HEAD:main"],
        &[("GL_USERNAME", "alice")],
    );
    assert!(
        ok && err.contains("stage-monotonic on keps/sig-node/1234-frob"),
        "{err}"
    );
}

#[test]
fn a_server_made_by_plain_init_checks_main_and_warns_while_nothing_matches() {
    // HEAD names `master`; the team pushes `main`.
    let s = Server::with(&[], false);
    assert_eq!(git_in(&s.bare, &["symbolic-ref", "HEAD"]).trim(), "refs/heads/master");
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
    assert!(ok && err.contains("1 ref update checked"), "{err}");
    assert!(!err.contains("warning: no ref is checked"), "{err}");
    s.bad_commit();
    let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
    assert_refused(ok, &err, "implementation-history");

    // An alias of a checked branch updates that branch: it is checked too.
    git_in(&s.bare, &["symbolic-ref", "refs/heads/latest", "refs/heads/main"]);
    let (ok, err) = s.push(&["origin", "HEAD:refs/heads/latest"], &[]);
    assert_refused(ok, &err, "implementation-history");

    // Nothing matches: said on every push.
    let t = Server::with(&[], false);
    for _ in 0..2 {
        let (ok, err) = t.push(&["origin", "HEAD:trunk"], &[]);
        assert!(ok, "{err}");
        assert!(
            err.contains("remote: kepguard: warning: no ref is checked") && err.contains("kepguard.ref"),
            "{err}"
        );
        t.commit("more");
    }
    t.server_config("kepguard.ref", "trunk");
    let (ok, err) = t.push(&["origin", "HEAD:trunk"], &[]);
    assert!(ok && !err.contains("warning: no ref"), "{err}");
}

#[test]
fn bypasses_are_recorded_and_only_the_server_names_the_user() {
    let s = Server::new();
    s.allow_bypass("alice");
    let log = s.root.join("audit/bypass.jsonl");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    s.server_config("kepguard.bypassLog", log.to_str().unwrap());
    s.bad_commit();
    let opt = "kepguard.bypass=hotfix \x1b]0;owned\x07 \r remote: fake";

    // The pusher's own variable is not the server's word.
    let (ok, err) = s.push(&["-o", opt, "origin", "HEAD:main"], &[("KEPGUARD_USER", "alice")]);
    assert!(
        !ok && err.contains("bypass refused: the pushing user is unknown"),
        "{err}"
    );
    // Nor does an empty platform variable fall through to it.
    s.server_config("kepguard.trustUserEnv", "true");
    let (ok, err) = s.push(
        &["-o", opt, "origin", "HEAD:main"],
        &[("GL_USERNAME", ""), ("KEPGUARD_USER", "alice")],
    );
    assert!(
        !ok && err.contains("bypass refused: the pushing user is unknown"),
        "{err}"
    );
    assert!(!log.exists(), "a refused bypass is not recorded");
    let (ok, err) = s.push(&["-o", opt, "origin", "HEAD:main"], &[("GL_USERNAME", "alice")]);
    assert!(ok, "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("bypass by `alice`"))
        .unwrap_or_default();
    assert!(line.contains("reason: \"hotfix \u{fffd}"), "{err:?}");
    assert!(!err.contains('\x1b') && !line.contains('\r'), "{err:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let entry: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(entry["user"], "alice");
    assert_eq!(entry["reason"], "hotfix \x1b]0;owned\x07 \r remote: fake");
    assert_eq!(entry["refs"][0]["ref"], "refs/heads/main");
    assert!(entry["time"].as_str().unwrap().ends_with('Z'), "{entry}");
    assert_eq!(entry["findings"][0]["rule"], "implementation-history");
    assert_eq!(entry["findings"][0]["kep"], KEP);
    assert!(
        entry["findings"][0]["message"].as_str().unwrap().contains("KEP-1234"),
        "{entry}"
    );

    // Where the admin trusts the front end, its variable names the user.
    git_in(&s.work, &["reset", "-q", "--hard", "HEAD~1"]);
    s.bad_commit();
    s.commit("a new commit id");
    let (ok, err) = s.push(
        &["--force", "-o", "kepguard.bypass=again", "origin", "HEAD:main"],
        &[("KEPGUARD_USER", "alice")],
    );
    assert!(ok && err.contains("bypass by `alice`"), "{err}");
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);

    // A log that cannot be written: no record, no bypass.
    s.kep(
        "beta",
        "v1.32",
        &[("alpha", "v1.30"), ("beta", "v1.32")],
        &["Beta answers."],
        &[H1],
    );
    s.commit("retarget without history");
    git_in(
        &s.bare,
        &["config", "kepguard.bypassLog", "/nonexistent/dir/bypass.jsonl"],
    );
    let (ok, err) = s.push(&["-o", opt, "origin", "HEAD:main"], &[("GL_USERNAME", "alice")]);
    assert!(
        !ok && err.contains("bypass refused: cannot append to kepguard.bypassLog"),
        "{err}"
    );

    // Never among the repository's objects or refs: every push is refused with one line.
    for inside in ["objects/bypass.jsonl", "refs/heads/bypass"] {
        git_in(&s.bare, &["config", "kepguard.bypassLog", inside]);
        let (ok, err) = s.push(&["origin", "HEAD:main"], &[]);
        let ours: Vec<&str> = err.lines().filter(|l| l.contains("kepguard")).collect();
        assert!(
            !ok && ours.len() == 1 && ours[0].contains("is inside the repository's"),
            "{err}"
        );
    }
    assert!(!s.bare.join("objects/bypass.jsonl").exists());
}
