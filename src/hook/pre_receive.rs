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

/// Environment variables naming the pushing user, by platform.
pub const USER_VARIABLES: [&str; 4] = ["GITHUB_USER_LOGIN", "GL_USERNAME", "GITEA_PUSHER_NAME", "KEPGUARD_USER"];

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
}

impl Settings {
    /// Reads the `kepguard.*` keys of the repository's config.
    pub fn read(repo: &gix::Repository) -> Result<Settings> {
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
        Ok(Settings {
            refs: values("kepguard.ref").into_iter().filter(|r| !r.is_empty()).collect(),
            mode,
            timeout,
            accept_on_timeout,
            bypass_users: values("kepguard.bypassUser"),
        })
    }

    /// Whether ref `name` is checked. A pattern starting with `refs/` matches the full name;
    /// another matches a branch name (`refs/heads/` stripped).
    pub fn checks(&self, name: &str, default_branch: Option<&str>) -> bool {
        if name.starts_with("refs/tags/") {
            return false;
        }
        if self.refs.is_empty() {
            return Some(name) == default_branch;
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
            "the pushing user is unknown (none of {} is set)",
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

fn pushing_user() -> Option<String> {
    USER_VARIABLES
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
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
    let bypass = bypass(&settings, &push_options(), pushing_user().as_deref());
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

    if let Bypass::Honoured { user, reason } = &bypass {
        let let_through = match &outcome {
            Some(Ok(o)) if o.report.findings.is_empty() => "no findings".to_owned(),
            Some(Ok(o)) => o
                .report
                .findings
                .iter()
                .map(|f| {
                    format!(
                        "{} on {} ({})",
                        f.rule,
                        crate::report::human::clean(&f.kep),
                        &f.commit.to_string()[..12]
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            Some(Err(e)) => format!("an unchecked push (the check failed: {e})"),
            None => "an unchecked push (the check timed out)".to_owned(),
        };
        say(&prefixed(
            &format!("kepguard: bypass by `{user}` (reason: \"{reason}\") let through: {let_through} ({ms} ms)"),
            prefix,
        ));
        return Ok(ExitCode::SUCCESS);
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
    let outcome = outcome?;
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

struct Outcome {
    report: Report,
    refs_checked: usize,
}

fn check_updates(
    repo: &gix::Repository,
    quarantine: Option<&Path>,
    updates: &[Update],
    settings: &Settings,
) -> Result<Outcome> {
    let layered = Layered::new(repo, quarantine)?;
    let objects = Objects(&layered);
    let default_branch = repo.head_name().ok().flatten().map(|n| n.as_bstr().to_string());
    let default_tip = default_branch.as_deref().and_then(|n| git::reference_commit(repo, n));
    // The policy of the default branch as it is before this push: a push cannot relax it.
    let policy = match default_tip {
        Some(tip) => Policy::at_commit(objects, tip)?,
        None => Policy::default(),
    };
    let mut existing_tips: Option<Vec<ObjectId>> = None;
    let mut report = Report::default();
    let mut refs_checked = 0;

    for update in updates {
        let Some(new) = update.new else { continue };
        if !settings.checks(&update.name, default_branch.as_deref()) {
            continue;
        }
        refs_checked += 1;
        let before = report.findings.len();
        let base = match update.old.or(default_tip) {
            Some(base) => objects.merge_base(base, new)?,
            None => None,
        };
        match (settings.mode, base) {
            (Mode::Net, Some(base)) => engine::check_against(objects, &policy, base, new, &mut report)?,
            _ => {
                // Every commit that no existing ref reaches yet.
                let hidden = match &existing_tips {
                    Some(t) => t,
                    None => existing_tips.insert(git::ref_tips(repo, None)?),
                };
                let commits = walk::commits(objects, new, hidden, false)?;
                report.absorb(engine::audit(&layered, &policy, &commits, &|| {})?);
            }
        }
        for finding in &mut report.findings[before..] {
            finding.notes.insert(0, format!("pushed to {}", update.name));
        }
    }
    Ok(Outcome { report, refs_checked })
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
            bypass_users: users.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn ref_patterns_match_full_names_or_branch_names() {
        let s = settings(&["main", "release-*", "refs/heads/keps/*"], &[]);
        assert!(s.checks("refs/heads/main", None));
        assert!(s.checks("refs/heads/release-1.30", None));
        assert!(s.checks("refs/heads/keps/x", None));
        assert!(!s.checks("refs/heads/feature", None));
        assert!(!s.checks("refs/heads/release-1/x", None));
        assert!(!s.checks("refs/tags/main", None));
        let default = settings(&[], &[]);
        assert!(default.checks("refs/heads/trunk", Some("refs/heads/trunk")));
        assert!(!default.checks("refs/heads/main", Some("refs/heads/trunk")));
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
