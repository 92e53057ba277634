//! kepguard only reads: every command that reads a repository leaves it byte for byte as it was,
//! the hooks included, run by a real `git push`.

mod common;

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::{Repo, beta_yaml, git_in, git_out, kep_yaml, kepguard_env, kepguard_in, readme};

const KEP: &str = "keps/sig-node/1234-frob";

/// What a command could change in a repository: its refs and HEAD as git reports them, and every
/// file under the git directory (objects, packs, index, config, hooks, logs, ...) and the work
/// tree, with its size, content hash and modification time.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot(BTreeMap<String, String>);

fn snapshot(git_dir: &Path, work_tree: Option<&Path>) -> Snapshot {
    let mut map = BTreeMap::new();
    let refs = git_in(
        git_dir,
        &["for-each-ref", "--format=%(refname) %(objectname) %(symref)"],
    );
    map.insert("refs (for-each-ref)".to_owned(), refs);
    let head = git_out(git_dir, &["rev-parse", "--verify", "-q", "HEAD"], &[]);
    map.insert(
        "HEAD (rev-parse)".to_owned(),
        String::from_utf8_lossy(&head.stdout).into_owned(),
    );
    walk(git_dir, "git-dir", &mut map);
    if let Some(tree) = work_tree {
        walk(tree, "work-tree", &mut map);
    }
    for key in ["git-dir/index", "git-dir/config", "git-dir/HEAD"] {
        if git_dir.join(&key["git-dir/".len()..]).exists() {
            assert!(map.contains_key(key), "{key} is snapshotted");
        }
    }
    Snapshot(map)
}

/// Every entry under `dir`, recursively; a work tree's `.git` is left to the git directory's walk.
fn walk(dir: &Path, label: &str, map: &mut BTreeMap<String, String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = format!("{label}/{}", path.file_name().unwrap().to_string_lossy());
        if label == "work-tree" && name == "work-tree/.git" {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            map.insert(name.clone(), "dir".to_owned());
            walk(&path, &name, map);
        } else if meta.file_type().is_symlink() {
            map.insert(name, format!("symlink {:?}", std::fs::read_link(&path).unwrap()));
        } else {
            let mut hasher = DefaultHasher::new();
            hasher.write(&std::fs::read(&path).unwrap());
            map.insert(
                name,
                format!(
                    "{} bytes, hash {:016x}, mode {:o}, mtime {}.{:09}",
                    meta.len(),
                    hasher.finish(),
                    meta.mode(),
                    meta.mtime(),
                    meta.mtime_nsec()
                ),
            );
        }
    }
}

/// Asserts `after` equals `before`, naming each entry that differs.
fn assert_unchanged(what: &str, before: &Snapshot, after: &Snapshot) {
    let mut diffs = Vec::new();
    for (k, v) in &before.0 {
        match after.0.get(k) {
            None => diffs.push(format!("removed {k}")),
            Some(w) if w != v => diffs.push(format!("changed {k}: {v:?} -> {w:?}")),
            _ => {}
        }
    }
    for k in after.0.keys().filter(|k| !before.0.contains_key(*k)) {
        diffs.push(format!("added {k}: {:?}", after.0[k]));
    }
    assert!(
        diffs.is_empty(),
        "{what} wrote to the repository:\n{}",
        diffs.join("\n")
    );
}

/// A repository with history both packed and loose, an index, and a work tree with staged,
/// modified and untracked changes; its KEP graduates without an entry on branch `feature`.
fn busy_repo() -> (Repo, String) {
    let r = Repo::new();
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &["- alpha"]),
    );
    let base = r.commit("KEP at alpha");
    r.git(&["gc", "-q"]);
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &["Answered."], &["- alpha"]),
    );
    r.commit("graduate without an entry");
    r.write("staged.txt", "staged\n");
    r.git(&["add", "staged.txt"]);
    r.write(&format!("{KEP}/README.md"), "modified, not staged\n");
    r.write("untracked.txt", "untracked\n");
    (r, base)
}

fn run_ok(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let out = kepguard_env(dir, args, envs);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "kepguard {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn check_audit_validate_explain_and_demo_leave_the_repository_alone() {
    let (r, base) = busy_repo();
    let outside = tempfile::tempdir().unwrap();
    let file = |name: &str| outside.path().join(name).to_str().unwrap().to_owned();
    let (summary, sarif, output) = (file("summary.md"), file("out/report.sarif"), file("github-output"));
    let kept = file("demo");
    let git_dir = r.dir.join(".git");
    let before = snapshot(&git_dir, Some(&r.dir));

    let mut commands: Vec<Vec<&str>> = Vec::new();
    for format in ["human", "json", "github", "sarif"] {
        commands.push(vec!["check", "--base", &base, "--format", format]);
        commands.push(vec!["audit", "--format", format]);
        commands.push(vec!["validate", "--format", format]);
    }
    commands.extend([
        vec![
            "check",
            "--base",
            &base,
            "--summary",
            &summary,
            "--sarif-file",
            &sarif,
            "--github-output",
            &output,
            "--color",
            "always",
        ],
        vec!["audit", "--first-parent", &base, "--summary", &summary],
        vec!["audit", "main..feature"],
        vec!["validate", "--rev", "main", KEP],
        vec!["explain"],
        vec!["explain", "implementation-history"],
        vec!["demo", "--keep", &kept],
    ]);
    for args in &commands {
        run_ok(&r.dir, args, &[]);
        assert_unchanged(
            &format!("kepguard {args:?}"),
            &before,
            &snapshot(&git_dir, Some(&r.dir)),
        );
    }
    assert!(Path::new(&kept).join("HEAD").exists(), "demo kept its repository");
    assert!(Path::new(&sarif).exists() && Path::new(&summary).exists());

    // From outside the repository, and on a bare clone.
    for args in [
        vec!["check", "--repo", r.dir.to_str().unwrap(), "--base", &base],
        vec!["audit", "--repo", r.dir.to_str().unwrap()],
    ] {
        run_ok(outside.path(), &args, &[]);
        assert_unchanged(
            &format!("kepguard {args:?}"),
            &before,
            &snapshot(&git_dir, Some(&r.dir)),
        );
    }
    git_in(
        outside.path(),
        &["clone", "-q", "--bare", r.dir.to_str().unwrap(), "bare.git"],
    );
    let bare = outside.path().join("bare.git");
    let before = snapshot(&bare, None);
    for args in [
        vec!["check", "--base", &base, "--head", "feature"],
        vec!["audit", "feature"],
        vec!["validate", "--rev", "feature"],
    ] {
        run_ok(&bare, &args, &[]);
        assert_unchanged(
            &format!("kepguard {args:?} in a bare repository"),
            &before,
            &snapshot(&bare, None),
        );
    }
}

#[test]
fn the_pre_commit_stage_leaves_the_repository_alone() {
    let (r, base) = busy_repo();
    let git_dir = r.dir.join(".git");
    let before = snapshot(&git_dir, Some(&r.dir));
    let out = run_ok(
        &r.dir,
        &["hook", "pre-commit"],
        &[("PRE_COMMIT_FROM_REF", &base), ("PRE_COMMIT_TO_REF", "feature")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_unchanged("kepguard hook pre-commit", &before, &snapshot(&git_dir, Some(&r.dir)));
}

/// A bare server and a clone `work` that pushed one KEP at alpha to it, then committed a
/// graduation without an Implementation History entry.
struct Pushing {
    _tmp: tempfile::TempDir,
    server: PathBuf,
    work: PathBuf,
}

fn pushing() -> Pushing {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    git_in(root, &["init", "-q", "--bare", "-b", "main", "server.git"]);
    git_in(root, &["clone", "-q", "server.git", "work"]);
    let work = root.join("work");
    let write = |path: &str, text: &str| {
        let p = work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let commit = |message: &str| {
        git_in(&work, &["add", "-A"]);
        git_in(&work, &["commit", "-q", "-m", message]);
    };
    write(
        &format!("{KEP}/kep.yaml"),
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
    );
    write(&format!("{KEP}/README.md"), &readme("S.", &[], &["- alpha"]));
    commit("KEP at alpha");
    git_in(&work, &["push", "-q", "origin", "HEAD:main"]);
    write(&format!("{KEP}/kep.yaml"), &beta_yaml("1234", "v1.21"));
    write(&format!("{KEP}/README.md"), &readme("S.", &["Answered."], &["- alpha"]));
    commit("graduate without an entry");
    Pushing {
        server: root.join("server.git"),
        work,
        _tmp: tmp,
    }
}

/// The pushes are ones the hook rejects: git then leaves both repositories as they were (on the
/// server it removes the quarantine it received the objects into), so any difference is kepguard's.
/// An accepted push would change refs, reflogs and objects through git itself.
#[test]
fn the_pre_receive_gate_run_by_git_push_leaves_the_server_alone() {
    let p = pushing();
    let root = p.server.parent().unwrap();
    let out = kepguard_in(root, &["hook", "install", "--pre-receive", "--repo", "server.git"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Installing writes the hook, and setting the mode the config: each snapshot is taken after.
    let work_before = snapshot(&p.work.join(".git"), Some(&p.work));
    for mode in ["net", "each"] {
        git_in(&p.server, &["config", "kepguard.mode", mode]);
        let before = snapshot(&p.server, None);
        let out = git_out(&p.work, &["push", "origin", "HEAD:main"], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{mode}: {err}");
        assert!(
            err.contains("error[implementation-history]") && err.contains("blocked the push"),
            "{err}"
        );
        assert_unchanged(&format!("pre-receive ({mode})"), &before, &snapshot(&p.server, None));
    }
    assert_unchanged(
        "git push (client)",
        &work_before,
        &snapshot(&p.work.join(".git"), Some(&p.work)),
    );
}

#[test]
fn the_pre_push_guard_run_by_git_push_leaves_the_clone_alone() {
    let p = pushing();
    let out = kepguard_in(&p.work, &["hook", "install", "--pre-push"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let git_dir = p.work.join(".git");
    let before = snapshot(&git_dir, Some(&p.work));
    let server_before = snapshot(&p.server, None);
    for target in ["HEAD:main", "HEAD:refs/heads/topic"] {
        let out = git_out(&p.work, &["push", "origin", target], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{target}: {err}");
        assert!(
            err.contains("error[implementation-history]") && err.contains("push blocked"),
            "{err}"
        );
        assert_unchanged(
            &format!("pre-push ({target})"),
            &before,
            &snapshot(&git_dir, Some(&p.work)),
        );
    }
    assert_unchanged("pre-push (server)", &server_before, &snapshot(&p.server, None));
}
