//! `kepguard hook pre-receive`: the server-side gate.
//!
//! Settings come only from the receiving repository's config, which a push cannot change. The
//! pushed objects are read from git's quarantine; nothing is written anywhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::{diagnostics, fields, parse_oid, prefixed, say};
use crate::engine;
use crate::finding::{Report, Severity};
use crate::git::quarantine::Layered;
use crate::git::{self, Objects, Repo, walk};
use crate::policy::Policy;
use crate::report::human::clean;

/// Environment variables the hosting platform sets to the authenticated pushing user. The first
/// one set decides, even when empty: an empty value means the platform vouches for nobody.
pub const USER_VARIABLES: [&str; 3] = ["GITHUB_USER_LOGIN", "GL_USERNAME", "GITEA_PUSHER_NAME"];

/// A front end's own user variable: anyone able to set a push's environment could set it, so it
/// counts only where the admin says the front end sets it (`kepguard.trustUserEnv=true`).
pub const OWN_USER_VARIABLE: &str = "KEPGUARD_USER";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each ref update's net change.
    Net,
    /// Every new commit against its first parent.
    Each,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Ref globs to check; empty: the default branch.
    pub refs: Vec<String>,
    pub mode: Mode,
    pub timeout: Duration,
    pub accept_on_timeout: bool,
    pub bypass_users: Vec<String>,
    /// Whether `KEPGUARD_USER` names the pushing user.
    pub trust_user_env: bool,
    /// Where honoured bypasses are recorded, one JSON line each.
    pub bypass_log: Option<PathBuf>,
    /// The most KEP changes one push may bring: a pusher must not be able to buy an
    /// `onTimeout=accept` with work of their own making.
    pub max_kep_changes: usize,
    /// Users who may change the policy file on a checked ref.
    pub policy_admins: Vec<String>,
    /// A policy file on the server that wins over the repository's own.
    pub policy_file: Option<PathBuf>,
}

/// `kepguard.maxKepChanges` by default: far above any real change (the largest commit in
/// kubernetes/enhancements' history touches under 200 KEPs), far below what outlasts a deadline.
pub const MAX_KEP_CHANGES: usize = 5000;

impl Settings {
    /// Reads the `kepguard.*` keys of the repository's config.
    pub fn read(repo: &gix::Repository) -> Result<Settings> {
        let git_dir = repo.git_dir();
        let config = repo.config_snapshot();
        let file = config.plumbing();
        let values = |key: &str| -> Vec<String> {
            file.raw_values(key)
                .unwrap_or_default()
                .iter()
                .map(|v| v.to_str_lossy().trim().to_owned())
                .collect()
        };
        let last = |key: &str| values(key).pop();
        let mode = match last("kepguard.mode").as_deref() {
            None | Some("net") => Mode::Net,
            Some("each") => Mode::Each,
            Some(other) => bail!("kepguard.mode is `{other}`: use `net` or `each`"),
        };
        let timeout = match last("kepguard.timeout") {
            None => Duration::from_millis(4500),
            Some(t) => t
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s < 86_400.0)
                .map(Duration::from_secs_f64)
                .with_context(|| format!("kepguard.timeout is `{t}`: use seconds, such as 4.5"))?,
        };
        let accept_on_timeout = match last("kepguard.onTimeout").as_deref() {
            None | Some("reject") => false,
            Some("accept") => true,
            Some(other) => bail!("kepguard.onTimeout is `{other}`: use `reject` or `accept`"),
        };
        let trust_user_env = match last("kepguard.trustUserEnv").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => bail!("kepguard.trustUserEnv is `{other}`: use `true` or `false`"),
        };
        let bypass_log = match last("kepguard.bypassLog") {
            None => None,
            Some(p) if p.is_empty() => {
                bail!("kepguard.bypassLog is empty: name a file outside the repository's objects")
            }
            Some(p) => Some(bypass_log_path(git_dir, Path::new(&p))?),
        };
        let max_kep_changes = match last("kepguard.maxKepChanges") {
            None => MAX_KEP_CHANGES,
            Some(n) => n
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| format!("kepguard.maxKepChanges is `{n}`: use a whole number, such as 5000"))?,
        };
        let policy_file = match last("kepguard.policy") {
            None => None,
            Some(p) if p.is_empty() => bail!("kepguard.policy is empty: name a policy file on the server"),
            Some(p) => Some(git_dir.join(p)),
        };
        Ok(Settings {
            max_kep_changes,
            policy_admins: values("kepguard.policyAdmin")
                .into_iter()
                .filter(|u| !u.is_empty())
                .collect(),
            policy_file,
            refs: values("kepguard.ref").into_iter().filter(|r| !r.is_empty()).collect(),
            mode,
            timeout,
            accept_on_timeout,
            bypass_users: values("kepguard.bypassUser"),
            trust_user_env,
            bypass_log,
        })
    }

    /// Whether ref `name` is checked. A pattern starting with `refs/` matches the full name;
    /// another matches a branch name (`refs/heads/` stripped). Without patterns, the default
    /// branches (see [`default_branches`]) are checked.
    pub fn checks(&self, name: &str, defaults: &[String]) -> bool {
        if name.starts_with("refs/tags/") {
            return false;
        }
        if self.refs.is_empty() {
            return defaults.iter().any(|d| d == name);
        }
        self.refs.iter().any(|pattern| {
            let value = if pattern.starts_with("refs/") {
                name
            } else {
                name.strip_prefix("refs/heads/").unwrap_or(name)
            };
            gix::glob::wildmatch(
                pattern.as_bytes().as_bstr(),
                value.as_bytes().as_bstr(),
                gix::glob::wildmatch::Mode::NO_MATCH_SLASH_LITERAL,
            )
        })
    }
}

/// The bypass log's path (relative: to the git dir), refused inside the git dir's `objects/` or
/// `refs/`: git would take a file there for repository data, and a push could then carry it.
fn bypass_log_path(git_dir: &Path, value: &Path) -> Result<PathBuf> {
    let path = git_dir.join(value);
    // The file may not exist yet; its directory must, for it to be written.
    let resolved = match (path.parent(), path.file_name()) {
        (Some(dir), Some(file)) => dir
            .canonicalize()
            .map(|d| d.join(file))
            .unwrap_or_else(|_| path.clone()),
        _ => bail!("kepguard.bypassLog `{}` does not name a file", value.display()),
    };
    let git_dir = git_dir.canonicalize().unwrap_or_else(|_| git_dir.to_owned());
    for inside in ["objects", "refs"] {
        if resolved.starts_with(git_dir.join(inside)) {
            bail!(
                "kepguard.bypassLog `{}` is inside the repository's {inside}/: put it outside the objects and refs",
                value.display()
            );
        }
    }
    Ok(path)
}

/// One line of pre-receive input. A zero id is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub old: Option<ObjectId>,
    pub new: Option<ObjectId>,
    pub name: String,
}

pub fn parse_updates(input: &str) -> Result<Vec<Update>> {
    let mut updates = Vec::new();
    for (i, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f = fields(line, 3, i + 1, "<old-oid> <new-oid> <refname>")?;
        let id = |s: &str| parse_oid(s, "pre-receive input").map(|id| (!id.is_null()).then_some(id));
        updates.push(Update {
            old: id(f[0])?,
            new: id(f[1])?,
            name: f[2].to_owned(),
        });
    }
    Ok(updates)
}

/// What the push asked for with `-o kepguard.bypass=<reason>`, and whether it is honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bypass {
    NotAsked,
    Honoured { user: String, reason: String },
    Refused(String),
}

pub fn bypass(settings: &Settings, push_options: &[String], user: Option<&str>) -> Bypass {
    let Some(reason) = push_options.iter().rev().find_map(|o| {
        o.strip_prefix("kepguard.bypass")
            .and_then(|r| if r.is_empty() { Some("") } else { r.strip_prefix('=') })
    }) else {
        return Bypass::NotAsked;
    };
    let reason = reason.trim();
    match user {
        _ if reason.is_empty() => Bypass::Refused("a bypass needs a reason: -o kepguard.bypass=\"<reason>\"".into()),
        None => Bypass::Refused(format!(
            "the pushing user is unknown (none of {} names one; {OWN_USER_VARIABLE} counts only with kepguard.trustUserEnv=true)",
            USER_VARIABLES.join(", ")
        )),
        Some(u) if !settings.bypass_users.iter().any(|b| b == u) => {
            Bypass::Refused(format!("user `{u}` is not listed in kepguard.bypassUser"))
        }
        Some(u) => Bypass::Honoured {
            user: u.to_owned(),
            reason: reason.to_owned(),
        },
    }
}

fn push_options() -> Vec<String> {
    let count: usize = std::env::var("GIT_PUSH_OPTION_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (0..count)
        .filter_map(|i| std::env::var(format!("GIT_PUSH_OPTION_{i}")).ok())
        .collect()
}

/// The user the server vouches for. The first platform variable set decides, even when empty, so
/// that an empty one cannot fall through to a variable the pusher might control.
fn pushing_user(settings: &Settings) -> Option<String> {
    let value = |k: &str| std::env::var_os(k).map(|v| v.into_string().ok().filter(|v| !v.trim().is_empty()));
    if let Some(user) = USER_VARIABLES.iter().find_map(|k| value(k)) {
        return user;
    }
    if settings.trust_user_env {
        return value(OWN_USER_VARIABLE).flatten();
    }
    None
}

/// Runs the hook on `input` (its stdin) for the repository at `git_dir`.
pub fn run(git_dir: &Path, input: &str) -> ExitCode {
    let start = Instant::now();
    let prefix = if std::env::var("GL_PROTOCOL").as_deref() == Ok("web") {
        "GL-HOOK-ERR: "
    } else {
        ""
    };
    match gate(git_dir, input, start, prefix) {
        Ok(code) => code,
        Err(e) => {
            let cause = crate::error::one_line(&e);
            say(&prefixed(&format!("kepguard: error: {cause}; push rejected"), prefix));
            ExitCode::from(2)
        }
    }
}

fn gate(git_dir: &Path, input: &str, start: Instant, prefix: &str) -> Result<ExitCode> {
    let updates = parse_updates(input)?;
    let repo = Repo::open(git_dir)?;
    let settings = Settings::read(&repo.repo)?;
    let bypass = bypass(&settings, &push_options(), pushing_user(&settings).as_deref());
    if let Bypass::Refused(why) = &bypass {
        say(&prefixed(
            &format!("kepguard: bypass refused: {why}; checking the push as usual"),
            prefix,
        ));
    }

    // The check runs on a worker so that the deadline holds even inside one slow step.
    let quarantine = std::env::var_os("GIT_QUARANTINE_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    // Counted before the deadline starts to matter: an oversized push is refused whatever
    // `onTimeout` says (a listed bypass user still gets through, and is recorded below).
    if !matches!(bypass, Bypass::Honoured { .. }) {
        let count = kep_changes(&repo.repo, quarantine.as_deref(), &updates, &settings)?;
        if count > settings.max_kep_changes {
            say(&prefixed(
                &format!(
                    "kepguard: the push changes {count} KEPs, more than kepguard.maxKepChanges ({}); push rejected: split it, or ask an admin",
                    settings.max_kep_changes
                ),
                prefix,
            ));
            return Ok(ExitCode::FAILURE);
        }
    }
    let (tx, rx) = mpsc::channel();
    let shared = repo.repo.into_sync();
    let (worker_updates, worker_settings) = (updates.clone(), settings.clone());
    std::thread::spawn(move || {
        let repo = shared.to_thread_local();
        let result = check_updates(&repo, quarantine.as_deref(), &worker_updates, &worker_settings);
        let _ = tx.send((Instant::now(), result));
    });
    // A result counts only if the check finished in time: one already waiting when this thread
    // gets to look (it may have been descheduled past the deadline) was still late.
    let deadline = start + settings.timeout;
    let outcome = rx
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .ok()
        .filter(|(finished, _)| *finished <= deadline)
        .map(|(_, result)| result);
    let ms = start.elapsed().as_millis();

    if let Some(Ok(o)) = &outcome
        && let Some(warning) = &o.unmatched
    {
        say(&prefixed(&format!("kepguard: warning: {warning}"), prefix));
    }

    if let Bypass::Honoured { user, reason } = &bypass {
        let (user, reason) = (clean(user), clean(reason));
        let let_through = match &outcome {
            Some(Ok(o)) if o.report.findings.is_empty() => "no findings".to_owned(),
            Some(Ok(o)) => o
                .report
                .findings
                .iter()
                .map(|f| format!("{} on {} ({})", f.rule, clean(&f.kep), &f.commit.to_string()[..12]))
                .collect::<Vec<_>>()
                .join(", "),
            Some(Err(e)) => format!("an unchecked push (the check failed: {})", clean(&e.to_string())),
            None => "an unchecked push (the check timed out)".to_owned(),
        };
        let recorded = match &settings.bypass_log {
            None => Ok(" (not recorded: kepguard.bypassLog is not set)".to_owned()),
            Some(path) => record_bypass(path, &bypass, &updates, &outcome)
                .map(|()| String::new())
                .with_context(|| format!("cannot append to kepguard.bypassLog {}", path.display())),
        };
        match recorded {
            Ok(note) => {
                say(&prefixed(
                    &format!(
                        "kepguard: bypass by `{user}` (reason: \"{reason}\") let through: {let_through} ({ms} ms){note}"
                    ),
                    prefix,
                ));
                return Ok(ExitCode::SUCCESS);
            }
            // The admin asked for a record of every bypass: without one, there is no bypass.
            Err(e) => say(&prefixed(
                &format!(
                    "kepguard: bypass refused: {}; checking the push as usual",
                    crate::error::one_line(&e)
                ),
                prefix,
            )),
        }
    }

    let Some(outcome) = outcome else {
        let secs = settings.timeout.as_secs_f64();
        return Ok(if settings.accept_on_timeout {
            say(&prefixed(
                &format!(
                    "kepguard: the check did not finish within {secs} s (kepguard.timeout); push accepted unchecked (kepguard.onTimeout=accept)"
                ),
                prefix,
            ));
            ExitCode::SUCCESS
        } else {
            say(&prefixed(
                &format!(
                    "kepguard: the check did not finish within {secs} s (kepguard.timeout); push rejected (kepguard.onTimeout=reject)"
                ),
                prefix,
            ));
            ExitCode::from(1)
        });
    };
    let mut outcome = outcome?;
    for warning in &outcome.warnings {
        say(&prefixed(&format!("kepguard: warning: {}", clean(warning)), prefix));
    }
    if !outcome.bootstrap {
        gate_policy_changes(&mut outcome.report, &settings, pushing_user(&settings).as_deref());
    }
    let report = &outcome.report;
    if !report.findings.is_empty() {
        say(&diagnostics(report, false, prefix)?);
    }
    let (errors, warnings) = (report.count(Severity::Error), report.count(Severity::Warning));
    let checked = format!(
        "{} ref update{} checked, {} KEP change{} in {} commit{}",
        outcome.refs_checked,
        plural(outcome.refs_checked),
        report.keps_checked,
        plural(report.keps_checked),
        report.commits_checked,
        plural(report.commits_checked),
    );
    if errors > 0 {
        say(&prefixed(
            &format!(
                "kepguard: {errors} error{} blocked the push ({checked}; {ms} ms)",
                plural(errors)
            ),
            prefix,
        ));
        return Ok(ExitCode::from(1));
    }
    say(&prefixed(
        &format!("kepguard: {checked}: {warnings} warning{} ({ms} ms)", plural(warnings)),
        prefix,
    ));
    Ok(ExitCode::SUCCESS)
}

/// A change to the policy file on a checked ref is an error unless a policy administrator pushes
/// it: it decides what every later push may land.
fn gate_policy_changes(report: &mut Report, settings: &Settings, user: Option<&str>) {
    let admin = user.is_some_and(|u| settings.policy_admins.iter().any(|a| a == u));
    for finding in report
        .findings
        .iter_mut()
        .filter(|f| f.rule == crate::rules::policy_change::INFO.id && f.severity == Severity::Warning)
    {
        if admin {
            finding.notes.push(format!(
                "pushed by `{}`, a kepguard.policyAdmin",
                clean(user.unwrap_or_default())
            ));
        } else {
            finding.severity = Severity::Error;
            finding.notes.push(
                "only the users in the server's kepguard.policyAdmin may change the policy on a checked ref".into(),
            );
        }
    }
}

/// Appends one JSON line for an honoured bypass to `path`, in one write so that concurrent pushes
/// do not interleave their lines.
fn record_bypass(path: &Path, bypass: &Bypass, updates: &[Update], outcome: &Option<Result<Outcome>>) -> Result<()> {
    use std::io::Write;
    let Bypass::Honoured { user, reason } = bypass else {
        return Ok(());
    };
    let (check, findings) = match outcome {
        Some(Ok(o)) => (
            "done".to_owned(),
            o.report
                .findings
                .iter()
                .map(|f| serde_json::json!({ "rule": f.rule, "kep": f.kep, "message": f.message() }))
                .collect(),
        ),
        Some(Err(e)) => (format!("failed: {e}"), Vec::new()),
        None => ("timed out".to_owned(), Vec::new()),
    };
    let entry = serde_json::json!({
        "time": utc_now(),
        "user": user,
        "refs": updates.iter().map(|u| serde_json::json!({
            "ref": u.name,
            "old": u.old.map(|id| id.to_string()),
            "new": u.new.map(|id| id.to_string()),
        })).collect::<Vec<_>>(),
        "reason": reason,
        "check": check,
        "findings": findings,
    });
    let mut line = serde_json::to_vec(&entry)?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(&line)?;
    file.sync_data()?;
    Ok(())
}

/// The current time as RFC 3339 UTC, to the second.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = crate::date::civil(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

struct Outcome {
    report: Report,
    refs_checked: usize,
    /// Why no ref is checked, when none is: said on every push until the config is fixed.
    unmatched: Option<String>,
    /// Other things the server admin should know, said on every push.
    warnings: Vec<String>,
    /// Whether the default branch does not exist yet: the first push brings the first policy.
    bootstrap: bool,
}

/// The policy that judges a push: the server's pinned file, else the default branch's as it is
/// before the push (so a push cannot relax it). A default branch whose policy does not parse is
/// judged by the built-in defaults, and says so, rather than refusing every push, the fix included.
fn gate_policy(
    objects: Objects<'_>,
    settings: &Settings,
    default_tip: Option<ObjectId>,
    warnings: &mut Vec<String>,
) -> Result<Policy> {
    if let Some(path) = &settings.policy_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read kepguard.policy {}", path.display()))?;
        return Policy::parse(&text, &path.display().to_string());
    }
    let Some(tip) = default_tip else {
        return Ok(Policy::default());
    };
    Ok(match Policy::at_commit(objects, tip) {
        Ok(policy) => policy,
        Err(e) => {
            warnings.push(format!(
                "{}; judging with the built-in defaults until a policy administrator fixes it",
                crate::error::one_line(&e)
            ));
            Policy::default()
        }
    })
}

/// The branches checked without `kepguard.ref`: the one HEAD names, and while it does not exist,
/// `main` and `master` too (a plain `git init --bare` names `master` whatever the team pushes).
/// Also the branch whose tip is the default policy's source, when one exists.
fn default_branches(repo: &gix::Repository) -> (Vec<String>, Option<ObjectId>) {
    let head = repo.head_name().ok().flatten().map(|n| n.as_bstr().to_string());
    if let Some(head) = &head
        && let Some(tip) = git::reference_commit(repo, head)
    {
        return (vec![head.clone()], Some(tip));
    }
    let mut names: Vec<String> = head.into_iter().collect();
    for fallback in ["refs/heads/main", "refs/heads/master"] {
        if !names.iter().any(|n| n == fallback) {
            names.push(fallback.to_owned());
        }
    }
    let tip = names.iter().find_map(|n| git::reference_commit(repo, n));
    (names, tip)
}

/// Whether ref `name` is checked: by its own name or, for a symbolic ref, by any ref it points
/// through (an alias of a checked branch updates that branch).
fn is_checked(repo: &gix::Repository, settings: &Settings, defaults: &[String], name: &str) -> bool {
    let mut name = name.to_owned();
    // A bounded walk: git itself gives up on symbolic refs nested deeper than 5.
    for _ in 0..6 {
        if settings.checks(&name, defaults) {
            return true;
        }
        let target = match repo.try_find_reference(name.as_str()) {
            Ok(Some(r)) => r.target().try_name().map(|t| t.as_bstr().to_string()),
            _ => None,
        };
        match target {
            Some(t) => name = t,
            None => return false,
        }
    }
    false
}

/// Adds to `report` the findings of `extra` it does not hold yet (same rule, KEP and title).
fn absorb_new(report: &mut Report, extra: Report, note: &str) {
    report.keps_checked += extra.keps_checked;
    for mut finding in extra.findings {
        let seen = report
            .findings
            .iter()
            .any(|f| f.rule == finding.rule && f.kep == finding.kep && f.title == finding.title);
        if !seen {
            finding.notes.push(note.to_owned());
            report.findings.push(finding);
        }
    }
}

/// How many KEPs the checked updates of a push change, each update's net change from what it
/// would be compared with (its old tip, else the default branch; all of it for an unrelated one).
fn kep_changes(
    repo: &gix::Repository,
    quarantine: Option<&Path>,
    updates: &[Update],
    settings: &Settings,
) -> Result<usize> {
    let layered = Layered::new(repo, quarantine)?;
    let objects = Objects(&layered);
    let (defaults, default_tip) = default_branches(repo);
    // The same policy the check uses (a pinned one included); its warnings are said by the check.
    let policy = gate_policy(objects, settings, default_tip, &mut Vec::new())?;
    let mut count = 0;
    for update in updates {
        let Some(new) = update.new else { continue };
        if !is_checked(repo, settings, &defaults, &update.name) {
            continue;
        }
        let old_tree = match update.old.or(default_tip) {
            Some(base) => Some(objects.commit_tree(&base)?),
            None => None,
        };
        let new_tree = objects.commit_tree(&new)?;
        count += crate::git::changes::changed_keps(
            objects,
            &policy.layout,
            old_tree,
            new_tree,
            &mut crate::git::changes::DiffState::default(),
        )?
        .len();
    }
    Ok(count)
}

fn check_updates(
    repo: &gix::Repository,
    quarantine: Option<&Path>,
    updates: &[Update],
    settings: &Settings,
) -> Result<Outcome> {
    let layered = Layered::new(repo, quarantine)?;
    let objects = Objects(&layered);
    let (defaults, default_tip) = default_branches(repo);
    let mut warnings = Vec::new();
    let policy = gate_policy(objects, settings, default_tip, &mut warnings)?;
    // Vetted history: what the checked refs reached before this push. Commits reachable only from
    // tags or unchecked branches were never checked, so they are checked when they reach a
    // checked ref.
    let mut vetted = Vec::new();
    let mut any_checked_ref = false;
    for reference in repo
        .references()
        .context("cannot list references")?
        .all()
        .context("cannot list references")?
    {
        let Ok(mut reference) = reference else { continue };
        let name = reference.name().as_bstr().to_string();
        if !is_checked(repo, settings, &defaults, &name) {
            continue;
        }
        any_checked_ref = true;
        if let Ok(commit) = reference.peel_to_commit() {
            vetted.push(commit.id);
        }
    }
    vetted.sort();
    vetted.dedup();

    let mut report = Report::default();
    let mut refs_checked = 0;
    let mut any_checked_update = false;
    for update in updates {
        if !is_checked(repo, settings, &defaults, &update.name) {
            continue;
        }
        any_checked_update = true;
        let Some(new) = update.new else { continue };
        refs_checked += 1;
        let before = report.findings.len();
        let against = update.old.or(default_tip);
        // Each mode checks the pushed commits as the walk finds them: a fast-forward shows the old
        // tip as a pushed commit's parent, which makes it the merge-base without a second walk.
        let base = match settings.mode {
            Mode::Each => {
                let walk = |each: &mut dyn FnMut(walk::CommitPair)| walk::visit(objects, new, &vetted, false, each);
                let (commits, checked) = engine::audit_walked(&layered, &policy, walk, &|| {})?;
                report.absorb(checked);
                match against {
                    Some(against) if against == new || commits.iter().any(|pair| pair.parent == Some(against)) => {
                        Some(against)
                    }
                    Some(against) => objects.merge_base(against, new)?,
                    None => None,
                }
            }
            Mode::Net => {
                let base = against
                    .map(|against| objects.merge_base(against, new))
                    .transpose()?
                    .flatten();
                match base {
                    Some(base) => engine::check_against(&layered, &policy, base, new, &mut report)?,
                    None => {
                        let commits = walk::commits(objects, new, &vetted, false)?;
                        report.absorb(engine::audit(&layered, &policy, &commits, &|| {})?);
                    }
                }
                base
            }
        };
        // A force-push replaces the old tip: what it undoes counts as well as what it adds.
        // `base` is already the merge-base of the old tip and the new one.
        if let Some(old) = update.old
            && base != Some(old)
        {
            let mut replaced = Report::default();
            engine::check_against(&layered, &policy, old, new, &mut replaced)?;
            absorb_new(
                &mut report,
                replaced,
                &format!("compared with {old}, the tip this force-push replaces"),
            );
        }
        for finding in &mut report.findings[before..] {
            finding.notes.insert(0, format!("pushed to {}", update.name));
        }
    }
    let unmatched = (!any_checked_ref && !any_checked_update).then(|| {
        if settings.refs.is_empty() {
            format!(
                "no ref is checked: none of {} exists or is pushed; set kepguard.ref to the branches to check",
                defaults.join(", ")
            )
        } else {
            format!(
                "no ref is checked: no existing or pushed ref matches kepguard.ref ({})",
                settings.refs.join(", ")
            )
        }
    });
    Ok(Outcome {
        report,
        refs_checked,
        unmatched,
        warnings,
        bootstrap: default_tip.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(refs: &[&str], users: &[&str]) -> Settings {
        Settings {
            refs: refs.iter().map(|s| s.to_string()).collect(),
            mode: Mode::Net,
            timeout: Duration::from_secs(1),
            accept_on_timeout: false,
            max_kep_changes: MAX_KEP_CHANGES,
            policy_admins: Vec::new(),
            policy_file: None,
            bypass_users: users.iter().map(|s| s.to_string()).collect(),
            trust_user_env: false,
            bypass_log: None,
        }
    }

    #[test]
    fn ref_patterns_match_full_names_or_branch_names() {
        let s = settings(&["main", "release-*", "refs/heads/keps/*"], &[]);
        assert!(s.checks("refs/heads/main", &[]));
        assert!(s.checks("refs/heads/release-1.30", &[]));
        assert!(s.checks("refs/heads/keps/x", &[]));
        assert!(!s.checks("refs/heads/feature", &[]));
        assert!(!s.checks("refs/heads/release-1/x", &[]));
        assert!(!s.checks("refs/tags/main", &[]));
        let default = settings(&[], &[]);
        let trunk = ["refs/heads/trunk".to_owned()];
        assert!(default.checks("refs/heads/trunk", &trunk));
        assert!(!default.checks("refs/heads/main", &trunk));
    }

    #[test]
    fn updates_parse_with_zero_ids_as_none() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let u = parse_updates(&format!("{z} {a} refs/heads/new\n{a} {z} refs/heads/gone\n")).unwrap();
        assert_eq!(u[0].old, None);
        assert!(u[0].new.is_some());
        assert_eq!(u[1].new, None);
        assert!(parse_updates("x y\n").unwrap_err().to_string().contains("line 1"));
        assert!(parse_updates(&format!("{a} nothex refs/heads/x")).is_err());
    }

    #[test]
    fn bypass_needs_a_listed_user_and_a_reason() {
        let s = settings(&[], &["alice"]);
        let opts = |o: &str| vec![o.to_owned()];
        assert_eq!(bypass(&s, &[], Some("alice")), Bypass::NotAsked);
        assert_eq!(
            bypass(&s, &opts("kepguard.bypass=hotfix"), Some("alice")),
            Bypass::Honoured {
                user: "alice".into(),
                reason: "hotfix".into()
            }
        );
        assert!(
            matches!(bypass(&s, &opts("kepguard.bypass=hotfix"), Some("bob")), Bypass::Refused(w) if w.contains("bob"))
        );
        assert!(matches!(bypass(&s, &opts("kepguard.bypass=x"), None), Bypass::Refused(w) if w.contains("unknown")));
        assert!(
            matches!(bypass(&s, &opts("kepguard.bypass"), Some("alice")), Bypass::Refused(w) if w.contains("reason"))
        );
        assert_eq!(
            bypass(&s, &opts("kepguard.bypassed=x"), Some("alice")),
            Bypass::NotAsked
        );
    }
}
