//! What kepguard writes cannot be turned against the runner, the reader or the host: outputs under
//! GitHub Actions, the files `--sarif-file`, `--summary` and `--github-output` name, and the hooks
//! `hook install` writes.

use std::path::Path;

mod common;

use common::{Repo, beta_yaml, kep_yaml, kepguard_env, readme};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The hooks report errors through their own module, not the command line's: `src/hook/` names
/// `crate::cli` nowhere.
#[test]
fn hooks_do_not_depend_on_the_command_line_module() {
    for entry in std::fs::read_dir(Path::new(ROOT).join("src/hook")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("crate::cli"), "{} uses crate::cli", path.display());
    }
}

/// A repository whose feature branch graduates the KEP in `dir` without an Implementation History
/// entry (one error); returns it with (base, head).
fn graduation_in(dir: &str) -> (Repo, String, String) {
    let r = Repo::new();
    r.kep(
        dir,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &["- a"]),
    );
    let base = r.commit("add");
    r.kep(
        dir,
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &["Answered."], &["- a"]),
    );
    let head = r.commit("graduate without history");
    (r, base, head)
}

fn run(r: &Repo, args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let out = kepguard_env(&r.dir, args, envs);
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Under GitHub Actions the human report cannot issue workflow commands (`##[add-mask]` is
/// matched anywhere in a line): commands are stopped around it with a fresh token per run.
#[test]
fn the_human_report_stops_workflow_commands_under_actions() {
    let (r, base, head) = graduation_in("keps/sig-node/1234-##[add-mask]frob ::error::fake");
    let args = ["check", "--base", &base, "--head", &head, "--format", "human"];
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let (code, stdout, stderr) = run(&r, &args, &[("GITHUB_ACTIONS", "true")]);
        assert_eq!(code, 1, "{stdout}{stderr}");
        assert!(stdout.contains("##[add-mask]frob"), "{stdout}");
        let lines: Vec<&str> = stdout.lines().collect();
        let token = lines[0]
            .strip_prefix("::stop-commands::")
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(token.len() >= 32, "{token}");
        assert_eq!(lines.last().copied(), Some(format!("::{token}::").as_str()), "{stdout}");
        let resumes = format!("::{token}::");
        assert_eq!(stdout.matches(&resumes).count(), 1, "{stdout}");
        tokens.push(token.to_owned());
    }
    assert_ne!(tokens[0], tokens[1], "a fresh token each run");

    // Outside Actions, and in the other formats, nothing is added.
    let (_, stdout, _) = run(&r, &args, &[("GITHUB_ACTIONS", "")]);
    assert!(!stdout.contains("::stop-commands::"), "{stdout}");
    let (_, stdout, _) = run(
        &r,
        &["check", "--base", &base, "--head", &head, "--format", "json"],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert!(stdout.starts_with('{'), "{stdout}");
}

/// KEP directory names cannot add headings, HTML, links or rows to the job summary.
#[test]
fn the_summary_escapes_kep_text() {
    let (r, base, head) = graduation_in(
        "keps/sig-node/1234-x\n\n## kepguard: ✅ no findings\n\n<img src=x onerror=alert(1)> [a](b) `c` | d",
    );
    let summary = r.dir.parent().unwrap().join("summary.md");
    let (code, stdout, stderr) = run(
        &r,
        &[
            "check",
            "--base",
            &base,
            "--head",
            &head,
            "--format",
            "json",
            "--summary",
            summary.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    let md = std::fs::read_to_string(&summary).unwrap();
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headings,
        ["## kepguard: ❌ 1 error, 0 warnings", "### Per rule"],
        "{md}"
    );
    assert!(!md.lines().any(|l| l.starts_with('<')), "{md}");
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| error ")).collect();
    assert_eq!(rows.len(), 1, "{md}");
    // Every cell of the row is one of the table's five: no pipe escapes its cell.
    let row = rows[0].replace("\\|", "");
    assert_eq!(row.matches('|').count(), 6, "{md}");
    // Outside code spans (where Markdown and HTML are shown as written) no tag or link survives.
    let outside_code: String = row.split('`').step_by(2).collect();
    assert!(!outside_code.contains('<') && !outside_code.contains("]("), "{row}");
}

/// `--sarif-file`, `--summary` and `--github-output` do not write through a symbolic link the
/// checked-out change may have planted, dangling or not.
#[cfg(unix)]
#[test]
fn output_files_are_not_written_through_symbolic_links() {
    let (r, base, head) = graduation_in("keps/sig-node/1234-frob");
    let outside = r.dir.parent().unwrap().join("outside");
    std::fs::create_dir(&outside).unwrap();
    for flag in ["--sarif-file", "--summary", "--github-output"] {
        for existing in [true, false] {
            let target = outside.join(format!("{flag}-{existing}"));
            if existing {
                std::fs::write(&target, "precious\n").unwrap();
            }
            let link = r.dir.join("kepguard.out");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let (code, stdout, stderr) = run(
                &r,
                &[
                    "check",
                    "--base",
                    &base,
                    "--head",
                    &head,
                    "--format",
                    "json",
                    flag,
                    "kepguard.out",
                ],
                &[],
            );
            assert_eq!(code, 2, "{flag}: {stdout}{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(stderr.contains("symbolic link"), "{stderr}");
            match existing {
                true => assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n", "{flag}"),
                false => assert!(!target.exists(), "{flag} created {}", target.display()),
            }
        }
    }
    // Nor through a linked directory on the way of a relative path.
    let dir_target = outside.join("dir");
    std::fs::create_dir(&dir_target).unwrap();
    std::os::unix::fs::symlink(&dir_target, r.dir.join("out")).unwrap();
    for relative in ["out/kepguard.sarif", "out/new/kepguard.sarif"] {
        let (code, stdout, stderr) = run(
            &r,
            &[
                "check",
                "--base",
                &base,
                "--head",
                &head,
                "--format",
                "json",
                "--sarif-file",
                relative,
            ],
            &[],
        );
        assert_eq!((code, stderr.lines().count()), (2, 1), "{relative}: {stdout}{stderr}");
        assert!(stderr.contains("symbolic link"), "{stderr}");
        assert_eq!(std::fs::read_dir(&dir_target).unwrap().count(), 0, "{relative}");
    }
    // A regular file is still appended to (the summary and output files GitHub provides).
    let output = r.dir.parent().unwrap().join("github-output");
    std::fs::write(&output, "before=1\n").unwrap();
    let (code, _, stderr) = run(
        &r,
        &[
            "check",
            "--base",
            &base,
            "--head",
            &head,
            "--format",
            "json",
            "--github-output",
            output.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "before=1\nerrors=1\nwarnings=0\n"
    );
}

/// A temporary directory with a bare repository `server.git` in it.
fn bare() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    common::git_in(tmp.path(), &["init", "-q", "--bare", "-b", "main", "server.git"]);
    let dir = tmp.path().join("server.git");
    (tmp, dir)
}

fn install(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut all = vec!["hook", "install"];
    all.extend_from_slice(args);
    let out = kepguard_env(dir, &all, envs);
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `hooks/pre-receive` symbolic link is not written through (nor its target made executable),
/// dangling or not, even with --force.
#[cfg(unix)]
#[test]
fn install_refuses_a_hook_that_is_a_symbolic_link() {
    let (tmp, server) = bare();
    let target = tmp.path().join("elsewhere");
    std::fs::create_dir_all(server.join("hooks")).unwrap();
    std::os::unix::fs::symlink(&target, server.join("hooks/pre-receive")).unwrap();
    for force in [&[][..], &["--force"][..]] {
        let mut args = vec!["--pre-receive", "--repo", "server.git"];
        args.extend_from_slice(force);
        let (code, stdout, stderr) = install(tmp.path(), &args, &[]);
        assert_eq!(code, 2, "{stdout}{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("symbolic link"), "{stderr}");
        assert!(!target.exists(), "the link's target was written");
    }
}

/// A server repository's hook goes in its own hooks directory, whatever `core.hooksPath` the
/// installing user's global config sets; the repository's own setting still counts.
#[test]
fn install_into_a_bare_repository_ignores_a_global_hooks_path() {
    let (tmp, server) = bare();
    let home = tmp.path().join("home");
    let global_hooks = tmp.path().join("global-hooks");
    std::fs::create_dir_all(&home).unwrap();
    let gitconfig = home.join(".gitconfig");
    std::fs::write(
        &gitconfig,
        format!("[core]\n\thooksPath = {}\n", global_hooks.display()),
    )
    .unwrap();
    let envs = [
        ("HOME", home.to_str().unwrap()),
        ("GIT_CONFIG_GLOBAL", gitconfig.to_str().unwrap()),
        ("XDG_CONFIG_HOME", home.to_str().unwrap()),
    ];
    let (code, stdout, stderr) = install(tmp.path(), &["--pre-receive", "--repo", "server.git"], &envs);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(server.join("hooks/pre-receive").exists(), "{stdout}");
    assert!(!global_hooks.join("pre-receive").exists(), "{stdout}");
    assert!(stdout.contains("core.hooksPath"), "it says so: {stdout}");

    common::git_in(&server, &["config", "core.hooksPath", "custom"]);
    let (code, stdout, stderr) = install(tmp.path(), &["--pre-receive", "--repo", "server.git"], &envs);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(server.join("custom/pre-receive").exists(), "{stdout}");
}

/// `--repo` naming a plain directory inside a repository does not install into the enclosing one.
#[test]
fn install_refuses_a_directory_that_is_not_a_repository() {
    let r = Repo::new();
    r.write("plain/file", "x\n");
    let (code, stdout, stderr) = install(&r.dir, &["--pre-push", "--repo", "plain"], &[]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a repository"), "{stderr}");
    assert!(!r.dir.join(".git/hooks/pre-push").exists());
    // The repository itself, named by its work tree or its git directory, is fine.
    assert_eq!(install(&r.dir, &["--pre-push"], &[]).0, 0);
    assert_eq!(install(&r.dir, &["--pre-push", "--repo", ".git"], &[]).0, 0);
}

/// `--force` keeps the hook it replaces, and says where.
#[test]
fn install_force_keeps_a_backup() {
    let (tmp, server) = bare();
    let hook = server.join("hooks/pre-receive");
    std::fs::create_dir_all(server.join("hooks")).unwrap();
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    let (code, stdout, stderr) = install(tmp.path(), &["--pre-receive", "--repo", "server.git", "--force"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let backup = server.join("hooks/pre-receive.kepguard-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), "#!/bin/sh\necho mine\n");
    assert!(stdout.contains(&backup.display().to_string()), "{stdout}");
    assert!(std::fs::read_to_string(&hook).unwrap().contains("kepguard"));

    // A second replacement does not overwrite the first backup.
    std::fs::write(&hook, "#!/bin/sh\necho other\n").unwrap();
    let (code, stdout, _) = install(tmp.path(), &["--pre-receive", "--repo", "server.git", "--force"], &[]);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), "#!/bin/sh\necho mine\n");
    let second = server.join("hooks/pre-receive.kepguard-backup.2");
    assert_eq!(std::fs::read_to_string(&second).unwrap(), "#!/bin/sh\necho other\n");
    assert!(stdout.contains(&second.display().to_string()), "{stdout}");
}
