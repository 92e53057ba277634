//! `kepguard hook pre-push` and `kepguard hook pre-commit`: the local guard before `git push`.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use gix::ObjectId;
use gix::objs::Exists;

use super::{diagnostics, fields, parse_oid, say};
use crate::engine;
use crate::finding::{Report, Severity};
use crate::git::{self, Repo, walk};
use crate::policy::Policy;
use crate::report::ColorChoice;

/// git's pre-push hook: `<remote> <url>` as arguments, one line per ref on stdin.
pub fn run(remote: &str, input: &str, color: ColorChoice) -> Result<ExitCode> {
    let repo = Repo::open(Path::new("."))?;
    let mut report = Report::default();
    for (i, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f = fields(line, 4, i + 1, "<local-ref> <local-oid> <remote-ref> <remote-oid>")?;
        let local = parse_oid(f[1], "pre-push input")?;
        if local.is_null() {
            continue; // a deletion
        }
        let remote_oid = Some(parse_oid(f[3], "pre-push input")?).filter(|id| !id.is_null());
        let mut pushed = check_pushed(&repo, remote, local, remote_oid)?;
        for finding in &mut pushed.findings {
            finding
                .notes
                .insert(0, format!("pushing {} to {remote} {}", f[0], f[2]));
        }
        report.absorb(pushed);
    }
    Ok(finish(&report, color))
}

/// The pre-commit framework's pre-push stage: the range comes from `PRE_COMMIT_FROM_REF` and
/// `PRE_COMMIT_TO_REF`. When the pushed commits include a root commit the framework sets neither
/// (its "all files" case); then every commit of `PRE_COMMIT_LOCAL_BRANCH` the remote lacks is
/// checked.
pub fn run_pre_commit(color: ColorChoice) -> Result<ExitCode> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let remote = var("PRE_COMMIT_REMOTE_NAME").unwrap_or_else(|| "origin".into());
    let repo = Repo::open(Path::new("."))?;
    let report = match (var("PRE_COMMIT_TO_REF"), var("PRE_COMMIT_LOCAL_BRANCH")) {
        (Some(to), _) => {
            let local = repo.resolve(&to)?;
            let from = var("PRE_COMMIT_FROM_REF").and_then(|f| repo.resolve(&f).ok());
            check_pushed(&repo, &remote, local, from)?
        }
        (None, Some(branch)) => check_new_history(&repo, &remote, repo.resolve(&branch)?)?,
        (None, None) => bail!(
            "PRE_COMMIT_TO_REF is not set: `kepguard hook pre-commit` runs at the pre-commit framework's pre-push stage"
        ),
    };
    Ok(finish(&report, color))
}

/// Every commit reachable from `local` and from none of the remote's tracking refs, each against
/// its first parent.
fn check_new_history(repo: &Repo, remote: &str, local: ObjectId) -> Result<Report> {
    let known = git::ref_tips(&repo.repo, Some(&format!("refs/remotes/{remote}/")))?;
    let commits = walk::commits(repo.objects(), local, &known, false)?;
    // The policy of the remote's default branch, as last fetched, judges history it has not seen.
    let policy = match tracking_default(repo, remote) {
        Ok(tip) => Policy::at_commit(repo.objects(), tip)?,
        Err(_) => Policy::default(),
    };
    engine::audit(&repo.store, &policy, &commits, &|| {})
}

/// Checks what pushing `local` adds over what the remote has: `merge-base(remote, local)` against
/// `local`, where the remote's commit is known here; else against the remote's default branch as
/// last fetched.
pub fn check_pushed(repo: &Repo, remote: &str, local: ObjectId, remote_oid: Option<ObjectId>) -> Result<Report> {
    let base = match remote_oid.filter(|id| repo.repo.objects.exists(id)) {
        Some(known) => known,
        None => tracking_default(repo, remote)?,
    };
    engine::check_range(&repo.store, base, local, None)
}

fn tracking_default(repo: &Repo, remote: &str) -> Result<ObjectId> {
    for branch in ["HEAD", "main", "master"] {
        if let Some(id) = repo.reference_commit(&format!("refs/remotes/{remote}/{branch}")) {
            return Ok(id);
        }
    }
    bail!(
        "cannot tell what `{remote}` already has (no refs/remotes/{remote}/HEAD, main or master): run `git fetch {remote}` first"
    )
}

fn finish(report: &Report, color: ColorChoice) -> ExitCode {
    let color = color.enabled_for(std::io::stderr().is_terminal());
    if !report.findings.is_empty() {
        match diagnostics(report, color, "") {
            Ok(text) => say(&text),
            Err(e) => say(&format!("kepguard: cannot render findings: {e}\n")),
        }
    }
    let errors = report.count(Severity::Error);
    if errors == 0 {
        return ExitCode::SUCCESS;
    }
    say(&format!(
        "kepguard: {errors} error{} in the KEP changes being pushed; push blocked.\n\
         Fix them and push again, or skip this check once with `git push --no-verify`.\n",
        if errors == 1 { "" } else { "s" }
    ));
    ExitCode::from(1)
}
