//! The command line.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::engine;
// Re-exported: `one_line` lived here before it had a module of its own.
pub use crate::error::one_line;
use crate::event::{self, Plan};
use crate::finding::{Finding, Report, Severity};
use crate::git::{Repo, walk};
use crate::policy::Policy;
use crate::report::{self, ColorChoice, Format};
use crate::rules;

#[derive(Parser)]
#[command(
    name = "kepguard",
    version,
    about = "Guards Kubernetes Enhancement Proposals kept in git"
)]
#[command(propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Check a branch's net change: merge-base(base, head) against head.
    Check(CheckArgs),
    /// Check every commit of a range against its first parent.
    Audit(AuditArgs),
    /// Build a small KEP repository in a temporary directory and audit it.
    Demo(DemoArgs),
    /// Explain a rule: what it checks, why, and how to fix a finding. Lists the rules without one.
    Explain {
        /// A rule id, such as `implementation-history`.
        rule: Option<String>,
    },
    /// Write one self-contained HTML page of a KEP repository's compliance over time and each KEP's lifecycle (or its ledger as JSON).
    Report(ReportArgs),
    /// One KEP's lifecycle ledger: every change of its status, stage and milestones, commit by commit.
    History(HistoryArgs),
    /// Check KEPs as they stand in a revision's tree, as kepval does: metadata, PRR approvals, PRR answers, template headings.
    Validate(ValidateArgs),
    /// The Release Team's freeze checks for the KEPs targeting a release: tracked, at risk, or excepted.
    #[command(long_about = READINESS_ABOUT.as_str(), after_long_help = READINESS_CRITERIA.as_str())]
    Readiness(ReadinessArgs),
    /// Apply the fixes rules offer (Implementation History entries, template headings, PRR approval skeletons, the `v` of milestones) to the work tree, and show them as a diff.
    Fix(FixArgs),
    /// Print a shell completion script: `kepguard completions bash > /etc/bash_completion.d/kepguard`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `kepguard man > kepguard.1`.
    Man,
    /// Print the JSON Schema of kep.yaml or .kepguard.yaml, for editors (also in schemas/).
    Schema {
        #[arg(value_enum)]
        of: SchemaOf,
    },
    /// Write a commented default policy file, `.kepguard.yaml`, to start from.
    Init {
        /// Where to write it.
        #[arg(long, value_name = "FILE", default_value = crate::policy::FILE)]
        path: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Git hooks: the server-side pre-receive gate, the local pre-push guard, and their installation.
    Hook {
        #[command(subcommand)]
        hook: HookCommand,
    },
}

#[derive(Subcommand)]
pub enum HookCommand {
    /// git's pre-receive hook: reads `<old> <new> <ref>` lines on stdin; settings from `kepguard.*` config.
    PreReceive {
        /// The receiving repository [default: $GIT_DIR, else the current directory].
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
    },
    /// git's pre-push hook: `<remote> <url>` arguments, `<local-ref> <local-oid> <remote-ref> <remote-oid>` lines on stdin.
    PrePush {
        remote: String,
        url: Option<String>,
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
    /// The pre-commit framework's pre-push stage (reads PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF).
    PreCommit {
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
    /// Write a hook script that runs this binary into a repository's hooks directory.
    #[command(group = clap::ArgGroup::new("kind").required(true))]
    Install {
        /// Install the local pre-push guard.
        #[arg(long, group = "kind")]
        pre_push: bool,
        /// Install the server-side pre-receive gate.
        #[arg(long, group = "kind")]
        pre_receive: bool,
        #[command(flatten)]
        repo: RepoArgs,
        /// Replace an existing, different hook.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args)]
pub struct RepoArgs {
    /// The repository to read (work tree or bare); nothing is ever written to it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
}

#[derive(Args, Default)]
pub struct RuleArgs {
    /// Run only rule ID (repeatable); the others are off for this run. A rule the policy turns
    /// off stays off.
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Judge by the policy in FILE instead of the repository's `.kepguard.yaml`, to try one locally.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

#[derive(Args)]
pub struct OutputArgs {
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to colour human output: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Also append a Markdown summary to FILE (for GitHub Actions: $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Also write the report as SARIF 2.1.0 to FILE (for GitHub code scanning).
    #[arg(long, value_name = "FILE")]
    pub sarif_file: Option<PathBuf>,
    /// Also write the report as JUnit XML to FILE (for Prow: $ARTIFACTS/junit_kepguard.xml).
    #[arg(long, value_name = "FILE")]
    pub junit_file: Option<PathBuf>,
    /// Also append `errors=N` and `warnings=N` lines to FILE (for GitHub Actions: $GITHUB_OUTPUT).
    #[arg(long, value_name = "FILE")]
    pub github_output: Option<PathBuf>,
    /// Which findings make the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Report the findings in this baseline (`validate --write-baseline`) as notes, never failing.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// The lowest level of finding that fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FailOn {
    #[default]
    Error,
    Warning,
    /// Report findings but always exit 0 (bad input still exits 2).
    Never,
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The base revision [default: origin/HEAD, else origin/main, else origin/master].
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// The head revision [default: HEAD].
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// Check what the work tree would commit: the KEP root as it is on disk (edits, deletions,
    /// untracked .md/.yaml/.yml files), against merge-base(base, HEAD).
    #[arg(long, conflicts_with_all = ["head", "github", "staged"])]
    pub worktree: bool,
    /// Check what `git commit` would commit: the KEP root as the index holds it, against merge-base(base, HEAD).
    #[arg(long, conflicts_with_all = ["head", "github"])]
    pub staged: bool,
    /// Take the range from the GitHub Actions event (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH);
    /// --base and --head still win.
    #[arg(long)]
    pub github: bool,
    /// Print the revisions the check needs instead of checking: `merge-base BASE HEAD` or
    /// `parent HEAD`, one line (used to deepen a shallow clone first).
    #[arg(long, requires = "github")]
    pub print_range: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// A revision (all history reachable from it) or a range `A..B` [default: HEAD].
    #[arg(value_name = "REV-RANGE")]
    pub range: Option<String>,
    /// Follow only the first parent of merge commits.
    #[arg(long)]
    pub first_parent: bool,
    /// Only commits committed on or after DATE (YYYY-MM-DD, from 00:00 UTC), or only those not
    /// reachable from REV (as `REV..HEAD`).
    #[arg(long, value_name = "DATE|REV")]
    pub since: Option<String>,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// A revision (all history reachable from it) or a range `A..B` [default: HEAD]. The
    /// first-parent line is read: each merged change once, as `audit --first-parent` judges it.
    #[arg(value_name = "REV-RANGE")]
    pub range: Option<String>,
    /// Only commits committed on or after DATE (YYYY-MM-DD, from 00:00 UTC), or only those not
    /// reachable from REV (as `REV..HEAD`).
    #[arg(long, value_name = "DATE|REV")]
    pub since: Option<String>,
    /// Where to write the report [default: standard output].
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// html: one self-contained page; json: every KEP's ledger as `kepguard/ledger/v1`.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// Link commits to URL followed by the commit id, such as
    /// https://github.com/kubernetes/enhancements/commit/
    #[arg(long, value_name = "URL")]
    pub link_base: Option<String>,
    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Json,
}

#[derive(Args)]
pub struct HistoryArgs {
    /// The KEP: its number (2400, KEP-2400) or its path, current or former.
    #[arg(value_name = "KEP")]
    pub kep: String,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The history to read: a revision or a range `A..B` [default: HEAD], first-parent line.
    #[arg(long, value_name = "REV-RANGE")]
    pub range: Option<String>,
    #[arg(long, value_enum, default_value_t = HistoryFormat::Human)]
    pub format: HistoryFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    Human,
    Json,
}

#[derive(Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The revision whose tree to check.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// Only the KEPs at or under these paths (such as keps/sig-node or a KEP directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// Write the errors and warnings found to FILE as a baseline for --baseline, instead of a report.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub write_baseline: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

static READINESS_ABOUT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    "The Release Team's freeze checks for the KEPs targeting a release, computed from git: each KEP \
     tracked, at risk (with what to fix, file and line), or excepted by the exceptions file.\n\n\
     By default the KEPs whose `latest-milestone`, or whose `milestone.<stage>` for their current \
     stage, is the release; --keps or --keps-file name them instead (the tracking board's export). \
     PRR Freeze requires metadata, milestones and prr-approval; Enhancements Freeze adds status, \
     test-plan and graduation-criteria. prr-answers and template are reported, and required with \
     --strict; implementation-history and signoff-checklist with --require-checklist; \
     changed-since with --since."
        .to_owned()
});

static READINESS_CRITERIA: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut s = String::from("Criteria:\n");
    for c in crate::readiness::CRITERIA {
        s.push_str(&format!("  {}\n      {}\n      from: {}\n", c.id, c.summary, c.source));
    }
    s
});

#[derive(Args)]
pub struct ReadinessArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The release, such as v1.37.
    #[arg(long, value_name = "RELEASE")]
    pub release: String,
    /// The freeze whose requirements to check.
    #[arg(long, value_enum, default_value_t = crate::readiness::Freeze::Enhancements)]
    pub freeze: crate::readiness::Freeze,
    /// The revision whose tree to check.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// Only these KEP numbers (comma-separated) instead of those targeting the release.
    #[arg(long, value_name = "N,N", value_delimiter = ',', conflicts_with = "keps_file")]
    pub keps: Vec<String>,
    /// Only the KEP numbers in FILE, one a line (`#` starts a comment), such as the tracking board's export.
    #[arg(long, value_name = "FILE")]
    pub keps_file: Option<PathBuf>,
    /// The Release Team's exceptions file (sig-release `releases/release-1.XX/exceptions.yaml`).
    #[arg(long, value_name = "FILE")]
    pub exceptions: Option<PathBuf>,
    /// The previous cycle's freeze: a graduating KEP's PRR answers or approval must have changed since.
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
    /// Require every (R) item of the Release Signoff Checklist to be checked, and an Implementation History entry for the release.
    #[arg(long)]
    pub require_checklist: bool,
    /// Also require every PRR answer and every template heading (reported either way).
    #[arg(long)]
    pub strict: bool,
    #[arg(long, value_enum, default_value_t = crate::readiness::render::Format::Human)]
    pub format: crate::readiness::render::Format,
    /// Also append the Markdown report to FILE (for GitHub Actions: $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Exit 1 when a KEP is at risk (by default the report exits 0).
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub fail_on: Option<ReadinessFailOn>,
    /// Where links to files point: `<URL>/blob/<commit>/<path>`.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://github.com/kubernetes/enhancements"
    )]
    pub link_base: String,
    /// When to colour human output: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaOf {
    /// kep.yaml, as kepval decodes it.
    Kep,
    /// .kepguard.yaml.
    Policy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReadinessFailOn {
    /// A KEP at risk fails the run.
    AtRisk,
}

#[derive(Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The base revision the work tree's change is judged against [default: origin/HEAD, else origin/main, else origin/master].
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Show the diff only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Keep the demo repository at DIR (must not exist yet) to try `check` and `audit` on it.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Runs a parsed command line; errors become exit code 2 in `main`.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(args),
        Command::Audit(args) => audit(args),
        Command::Demo(args) => crate::demo::run(args.keep.as_deref(), args.color.enabled()),
        Command::Explain { rule } => explain(rule.as_deref()),
        Command::Hook { hook } => run_hook(hook),
        Command::Init { path, force } => init(&path, force),
        Command::Validate(args) => validate(args),
        Command::Readiness(args) => readiness(args),
        Command::Report(args) => report_page(args),
        Command::History(args) => history(args),
        Command::Fix(args) => fix(args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "kepguard", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { of } => {
            let schema = match of {
                SchemaOf::Kep => crate::schema::kep(),
                SchemaOf::Policy => crate::schema::policy(),
            };
            print!("{}", crate::schema::text(&schema));
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("cannot render the manual page")?;
            std::io::stdout()
                .write_all(&out)
                .context("cannot write the manual page")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn fix(args: FixArgs) -> Result<ExitCode> {
    let repo = Repo::open(&args.repo.repo)?;
    let Some(workdir) = repo.repo.workdir().map(std::path::Path::to_path_buf) else {
        bail!(
            "fix writes to a work tree; {} is a bare repository",
            args.repo.repo.display()
        );
    };
    let (merge_base, head) = uncommitted_range(&repo, args.base.as_deref())?;
    let policy = policy_at(repo.objects(), merge_base, None)?;
    if !args.dry_run {
        return fix_until_settled(&repo, &workdir, &policy, merge_base, head, args.color.enabled());
    }
    let before = crate::fix::findings(&repo, &policy, merge_base, head)?;
    let fixable = crate::fix::fixable(&before, |_| true);
    let fixes: Vec<&crate::finding::Fix> = fixable.iter().filter_map(|f| f.fix.as_ref()).collect();
    let changes = crate::fix::apply(&workdir, &fixes)?;
    let mut out = std::io::stdout().lock();
    for (path, (old, new)) in &changes {
        write!(out, "{}", crate::fix::diff(path, old.as_deref(), new))?;
    }
    writeln!(
        out,
        "kepguard fix: {} {} would change {} (--dry-run: nothing written)",
        fixable.len(),
        if fixable.len() == 1 { "fix" } else { "fixes" },
        crate::finding::plural(changes.len(), "file")
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Applies fixes and checks again until no fix changes anything (a fix can make room for the next,
/// as the next missing heading after one restored); each pass's diff is shown.
fn fix_until_settled(
    repo: &Repo,
    workdir: &std::path::Path,
    policy: &Policy,
    merge_base: Option<gix::ObjectId>,
    head: Option<gix::ObjectId>,
    color: bool,
) -> Result<ExitCode> {
    use crate::finding::Severity;
    const PASSES: usize = 20;
    let mut out = std::io::stdout().lock();
    let (mut applied, mut files, mut unfixed) = (0, std::collections::BTreeSet::new(), Vec::new());
    let mut report = crate::fix::findings(repo, policy, merge_base, head)?;
    // A finding is fixed once: a fix that did not resolve it is reported, not written again.
    let mut attempted = std::collections::HashSet::new();
    // Where a fix left its finding in place, the rule's other findings for that KEP (the change's
    // and the tree's say the same) are not tried again.
    let mut stuck: std::collections::HashSet<(&'static str, String)> = std::collections::HashSet::new();
    for _ in 0..PASSES {
        let fixable = crate::fix::fixable(&report, |f| {
            !stuck.contains(&(f.rule, f.kep.clone())) && attempted.insert((f.rule, f.kep.clone(), f.title.clone()))
        });
        let fixes: Vec<&crate::finding::Fix> = fixable.iter().filter_map(|f| f.fix.as_ref()).collect();
        let changes = crate::fix::apply(workdir, &fixes)?;
        if changes.is_empty() {
            break;
        }
        for (path, (old, new)) in &changes {
            write!(out, "{}", crate::fix::diff(path, old.as_deref(), new))?;
            files.insert(path.clone());
        }
        crate::fix::write(workdir, &changes)?;
        // Re-checked as written: what a fix meant to resolve and did not is said.
        let after = crate::fix::findings(repo, policy, merge_base, head)?;
        for f in &fixable {
            if crate::fix::still_there(f, &after) {
                stuck.insert((f.rule, f.kep.clone()));
                if !unfixed.contains(&f.title) {
                    unfixed.push(f.title.clone());
                }
            } else {
                applied += 1;
            }
        }
        report = after;
    }
    for title in &unfixed {
        writeln!(out, "kepguard fix: not fixed: {}", report::human::clean(title))?;
    }
    let mut remaining: Vec<Finding> = Vec::new();
    for f in report.findings.iter().filter(|f| f.severity == Severity::Error) {
        let same = |g: &Finding| (g.rule, &g.kep, &g.title, &g.location) == (f.rule, &f.kep, &f.title, &f.location);
        if !remaining.iter().any(same) {
            remaining.push(f.clone());
        }
    }
    if !remaining.is_empty() {
        report::human::render_findings(&remaining, color, &mut out)?;
    }
    writeln!(
        out,
        "kepguard fix: {applied} fix{} applied in {}; {} left",
        if applied == 1 { "" } else { "es" },
        crate::finding::plural(files.len(), "file"),
        crate::finding::plural(remaining.len(), "error")
    )?;
    Ok(match remaining.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    })
}

fn readiness(args: ReadinessArgs) -> Result<ExitCode> {
    use crate::readiness::{self, Verdict};
    let plain = {
        let r = args.release.strip_prefix('v').unwrap_or(&args.release);
        r.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
        })
    };
    let Some(release) = crate::kep::metadata::Milestone::parse(&args.release).filter(|_| plain) else {
        bail!("--release `{}` is not a release such as v1.37", args.release);
    };
    let listed = |n: &str| -> Result<String> {
        let n = n.trim().trim_start_matches('#');
        let n = n.strip_prefix("KEP-").unwrap_or(n);
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            bail!("`{n}` is not a KEP number");
        }
        Ok(n.to_owned())
    };
    let keps = match (&args.keps_file, args.keps.is_empty()) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let numbers = text
                .lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(listed)
                .collect::<Result<Vec<_>>>()
                .with_context(|| format!("{} lists KEP numbers, one a line", path.display()))?;
            Some(numbers)
        }
        (None, false) => Some(args.keps.iter().map(|n| listed(n)).collect::<Result<Vec<_>>>()?),
        (None, true) => None,
    };
    let exceptions = match &args.exceptions {
        Some(path) => readiness::exceptions::read(path, args.freeze)?,
        None => Vec::new(),
    };
    let repo = Repo::open(&args.repo.repo)?;
    let commit = repo.resolve(&args.rev)?;
    let objects = repo.objects();
    let since = match &args.since {
        Some(rev) => Some(objects.commit_tree(&repo.resolve(rev)?)?),
        None => None,
    };
    let policy = Policy::at_commit(objects, commit)?;
    let options = readiness::Options {
        release,
        freeze: args.freeze,
        keps,
        require_checklist: args.require_checklist,
        strict: args.strict,
        since,
    };
    let result = readiness::run(
        &repo.store,
        &policy,
        commit,
        &args.rev,
        &options,
        &exceptions,
        &args.link_base,
    )?;
    if let Some(path) = &args.summary {
        let mut md = Vec::new();
        readiness::render::render(&result, readiness::render::Format::Markdown, false, &mut md)?;
        write_file(path, "summary", WriteMode::Append, &md)?;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    readiness::render::render(&result, args.format, args.color.enabled(), &mut out)
        .context("cannot write the report")?;
    out.flush().ok();
    let at_risk = result.count(Verdict::AtRisk) > 0;
    Ok(match args.fail_on {
        Some(ReadinessFailOn::AtRisk) if at_risk => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn validate(args: ValidateArgs) -> Result<ExitCode> {
    let only = selected_rules(&args.rules.rules)?;
    let tree_rules: Vec<&str> = rules::ALL
        .iter()
        .filter(|r| r.snapshot())
        .map(|r| r.info().id)
        .collect();
    if let Some(id) = only.iter().find(|id| !tree_rules.contains(id)) {
        bail!(
            "rule `{id}` judges changes, not a tree: validate runs only {}",
            tree_rules.join(", ")
        );
    }
    let repo = Repo::open(&args.repo.repo)?;
    let commit = repo.resolve(&args.rev)?;
    let objects = repo.objects();
    // The checked tree's own policy: validate judges a tree, not a change to it.
    let policy = restricted_at(objects, Some(commit), &args.rules, &only)?;
    let mut report = engine::validate(&repo.store, &policy, commit, &args.paths)?;
    report.tree = true;
    report.policy = Some(policy.origin.clone());
    if let Some(path) = &args.write_baseline {
        let text = crate::baseline::of(&report);
        write_file(path, "baseline", WriteMode::Replace, text.as_bytes())?;
        let entries = text.matches("\"fingerprint\"").count();
        let noun = if entries == 1 { "entry" } else { "entries" };
        eprintln!("kepguard: wrote {entries} baseline {noun} to {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    // A whole tree is what a baseline is written from: an entry it no longer finds was fixed.
    emit_with_baseline(&mut report, &args.output, args.paths.is_empty())
}

/// [`emit`] after applying `--baseline`; with `stale_matters`, names the entries that matched
/// nothing on stderr.
fn emit_with_baseline(report: &mut Report, output: &OutputArgs, stale_matters: bool) -> Result<ExitCode> {
    if let Some(path) = &output.baseline {
        let baseline = crate::baseline::read(path)?;
        let stale = crate::baseline::apply(report, &baseline);
        if stale_matters && !stale.is_empty() {
            let named: Vec<String> = stale.iter().take(3).map(|e| format!("{} {}", e.rule, e.kep)).collect();
            eprintln!(
                "kepguard: {} of {} {} no finding any more (fixed: {}{}); `kepguard validate --write-baseline {}` drops them",
                stale.len(),
                baseline.path,
                if stale.len() == 1 {
                    "entry matches"
                } else {
                    "entries match"
                },
                named.join(", "),
                if stale.len() > 3 { ", …" } else { "" },
                baseline.path
            );
        }
    }
    emit(report, output)
}

/// The rule ids `--rule` names, each checked against the registry.
fn selected_rules(ids: &[String]) -> Result<Vec<&'static str>> {
    ids.iter()
        .map(|id| match rules::find(id) {
            Some(rule) => Ok(rule.info().id),
            None => Err(unknown_rule(id)),
        })
        .collect()
}

fn unknown_rule(id: &str) -> anyhow::Error {
    let ids: Vec<_> = rules::ALL.iter().map(|r| r.info().id).collect();
    anyhow::anyhow!("unknown rule `{id}` (rules: {})", ids.join(", "))
}

/// `policy` running only the rules in `only` (all of them when it is empty). A selected rule the
/// policy turns off stays off: `--rule` narrows a run, it does not override a reviewed policy.
fn restrict(mut policy: Policy, only: &[&'static str]) -> Policy {
    if only.is_empty() {
        return policy;
    }
    for id in only {
        if policy.level(id) == crate::policy::Level::Off {
            eprintln!("kepguard: rule `{id}` is off in {}, so it does not run", policy.origin);
        }
    }
    policy.only(only);
    policy
}

/// The policy in `file` when given, else the one in the tree of `commit`, else the built-in
/// defaults.
fn policy_at(
    objects: crate::git::Objects<'_>,
    commit: Option<gix::ObjectId>,
    file: Option<&std::path::Path>,
) -> Result<Policy> {
    match (file, commit) {
        (Some(path), _) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read the policy {}", path.display()))?;
            Policy::parse(&text, &path.display().to_string())
        }
        (None, Some(commit)) => Policy::at_commit(objects, commit),
        (None, None) => Ok(Policy::default()),
    }
}

/// `restrict` applied to [`policy_at`].
fn restricted_at(
    objects: crate::git::Objects<'_>,
    commit: Option<gix::ObjectId>,
    rules: &RuleArgs,
    only: &[&'static str],
) -> Result<Policy> {
    Ok(restrict(policy_at(objects, commit, rules.policy.as_deref())?, only))
}

fn init(path: &std::path::Path, force: bool) -> Result<ExitCode> {
    if path.exists() && !force {
        bail!("{} exists already (--force replaces it)", path.display());
    }
    std::fs::write(path, crate::policy::DEFAULT_TEXT).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "kepguard: wrote {}; commit it to the default branch, where it judges later changes",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn run_hook(hook: HookCommand) -> Result<ExitCode> {
    use crate::hook::{install, pre_push, pre_receive};
    match hook {
        HookCommand::PreReceive { repo } => {
            let dir = repo
                .or_else(|| std::env::var_os("GIT_DIR").map(PathBuf::from))
                .unwrap_or_else(|| ".".into());
            Ok(pre_receive::run(&dir, &read_stdin()?))
        }
        HookCommand::PrePush { remote, color, .. } => pre_push::run(&remote, &read_stdin()?, color),
        HookCommand::PreCommit { color } => pre_push::run_pre_commit(color),
        HookCommand::Install {
            pre_push, repo, force, ..
        } => {
            let kind = if pre_push {
                install::HookKind::PrePush
            } else {
                install::HookKind::PreReceive
            };
            install::install(&repo.repo, kind, force)
        }
    }
}

fn read_stdin() -> Result<String> {
    let mut input = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut input).context("cannot read the hook's input")?;
    Ok(input)
}

fn check(args: CheckArgs) -> Result<ExitCode> {
    let only = selected_rules(&args.rules.rules)?;
    if args.print_range {
        let (_, plan) = github_plan(&args)?;
        println!("{}", plan.machine());
        return Ok(ExitCode::SUCCESS);
    }
    let repo = Repo::open(&args.repo.repo)?;
    if args.github {
        let mut report = check_github_event(&repo, &args, &only)?;
        return emit_with_baseline(&mut report, &args.output, false);
    }
    if args.worktree || args.staged {
        return check_uncommitted(&repo, &args, &only);
    }
    let base = match &args.base {
        Some(rev) => repo.resolve(rev)?,
        None => repo.default_base()?.1,
    };
    let head = repo.resolve(args.head.as_deref().unwrap_or("HEAD"))?;
    let objects = repo.objects();
    // The merge-base's policy, as the engine reads it; without a merge-base the engine says so.
    let merge_base = objects.merge_base(base, head).map_err(|e| shallow(&repo, e))?;
    let policy = match merge_base {
        Some(merge_base) => Some(restricted_at(objects, Some(merge_base), &args.rules, &only)?),
        None => None,
    };
    let mut report = engine::check_range(&repo.store, base, head, policy.as_ref()).map_err(|e| shallow(&repo, e))?;
    report.policy = policy.as_ref().map(|p| p.origin.clone());
    let code = emit_with_baseline(&mut report, &args.output, false)?;
    if repo.repo.head_id().is_ok_and(|id| id.detach() == head) {
        let root = policy.as_ref().map_or("keps", |p| p.layout.root.as_str());
        warn_uncommitted(&repo, head, root);
    }
    Ok(code)
}

/// Says on stderr, in one line, that edits under the KEP root not yet committed were not checked:
/// `check` reads commits, and a clean result must not read as a verdict on them.
/// `check --staged` and `check --worktree`: the tree the index or the work tree would commit,
/// made in memory, against merge-base(base, HEAD); findings name HEAD's commit.
fn check_uncommitted(repo: &Repo, args: &CheckArgs, only: &[&'static str]) -> Result<ExitCode> {
    use crate::git::worktree::{self, Source};
    let flag = if args.staged { "--staged" } else { "--worktree" };
    if repo.repo.workdir().is_none() {
        bail!(
            "{flag} needs a work tree; {} is a bare repository",
            args.repo.repo.display()
        );
    }
    let (merge_base, head) = uncommitted_range(repo, args.base.as_deref())?;
    let policy = restricted_at(repo.objects(), merge_base, &args.rules, only)?;
    let source = if args.staged { Source::Index } else { Source::WorkTree };
    let (store, tree) = worktree::commit_to_be(repo, head, &policy.layout.root, source)?;
    let old = merge_base
        .map(|m| crate::git::Objects(&store).commit_tree(&m))
        .transpose()?;
    let commit = head.unwrap_or_else(|| gix::ObjectId::null(repo.repo.object_hash()));
    let mut report = Report::default();
    engine::check_trees(&store, &policy, commit, old, tree, &mut report)?;
    report.policy = Some(policy.origin.clone());
    emit_with_baseline(&mut report, &args.output, false)
}

/// merge-base(base, HEAD) and HEAD, for judging what the work tree or the index would commit;
/// both `None` before the first commit, when everything it would hold is new.
fn uncommitted_range(repo: &Repo, base: Option<&str>) -> Result<(Option<gix::ObjectId>, Option<gix::ObjectId>)> {
    if repo.head_is_unborn() {
        return Ok((None, None));
    }
    let head = repo.resolve("HEAD")?;
    let base = match base {
        Some(rev) => repo.resolve(rev)?,
        None => repo.default_base()?.1,
    };
    match repo.objects().merge_base(base, head).map_err(|e| shallow(repo, e))? {
        Some(merge_base) => Ok((Some(merge_base), Some(head))),
        None => bail!("HEAD shares no history with the base {base}"),
    }
}

fn warn_uncommitted(repo: &Repo, head: gix::ObjectId, root: &str) {
    match repo.uncommitted(head, root) {
        Ok(files) if files.is_empty() => {}
        Ok(files) => eprintln!(
            "kepguard: note: check reads commits only; {} uncommitted file{} under {root}/ {} not checked (first: {}); --worktree or --staged checks them",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            if files.len() == 1 { "was" } else { "were" },
            report::human::clean(&files[0])
        ),
        Err(e) => eprintln!(
            "kepguard: note: check reads commits only; the work tree could not be compared with them: {}",
            one_line(&e)
        ),
    }
}

/// `e`, with what a shallow clone means for it where the repository is one: history beyond its
/// boundary is missing, not corrupt.
fn shallow(repo: &Repo, e: anyhow::Error) -> anyhow::Error {
    match repo.shallow_hint() {
        "" => e,
        hint => anyhow::anyhow!("{}{hint}", one_line(&e)),
    }
}

/// The event's name and the range it names, with `--base`/`--head` applied.
fn github_plan(args: &CheckArgs) -> Result<(String, Plan)> {
    let name = std::env::var("GITHUB_EVENT_NAME").unwrap_or_default();
    let mut plan = match std::env::var_os("GITHUB_EVENT_PATH") {
        Some(path) if !name.is_empty() => event::plan_from_file(&name, std::path::Path::new(&path))?,
        _ => bail!("--github needs GITHUB_EVENT_NAME and GITHUB_EVENT_PATH (set by GitHub Actions)"),
    };
    // Explicit revisions win over the event.
    if let Some(head) = &args.head {
        plan = match plan {
            Plan::MergeBase { base, base_field, .. } => Plan::MergeBase {
                base,
                head: head.clone(),
                base_field,
                head_field: "--head",
            },
            Plan::Parent { .. } => Plan::Parent {
                head: head.clone(),
                head_field: "--head",
            },
        };
    }
    if let Some(base) = &args.base {
        let (head, head_field) = match plan {
            Plan::MergeBase { head, head_field, .. } | Plan::Parent { head, head_field } => (head, head_field),
        };
        plan = Plan::MergeBase {
            base: base.clone(),
            head,
            base_field: "--base",
            head_field,
        };
    }
    Ok((name, plan))
}

/// `check --github`: the range the workflow's event names, stated on stderr.
fn check_github_event(repo: &Repo, args: &CheckArgs, only: &[&'static str]) -> Result<Report> {
    let (name, plan) = github_plan(args)?;
    eprintln!("kepguard: {}", plan.describe(&name));
    let resolve = |rev: &str, field: &str| {
        repo.resolve(rev).map_err(|e| match field {
            "--base" | "--head" | "HEAD" => e,
            _ => anyhow::anyhow!(event::missing_commit(rev, field)),
        })
    };
    let objects = repo.objects();
    match plan {
        Plan::MergeBase {
            base,
            head,
            base_field,
            head_field,
        } => {
            let (base, head) = (resolve(&base, base_field)?, resolve(&head, head_field)?);
            let policy = match objects.merge_base(base, head)? {
                Some(merge_base) => Some(restricted_at(objects, Some(merge_base), &args.rules, only)?),
                None => None,
            };
            let mut report = engine::check_range(&repo.store, base, head, policy.as_ref()).map_err(|e| {
                anyhow::anyhow!("{e:#}: if the clone is shallow, use `fetch-depth: 0` with actions/checkout, or let the kepguard action deepen the clone")
            })?;
            report.policy = policy.map(|p| p.origin);
            Ok(report)
        }
        Plan::Parent { head, head_field } => {
            let head = resolve(&head, head_field)?;
            let policy = restricted_at(objects, objects.first_parent(&head)?, &args.rules, only)?;
            let mut report = engine::check_commit(&repo.store, head, Some(&policy))?;
            report.policy = Some(policy.origin);
            Ok(report)
        }
    }
}

/// The commits a range names: all reachable from `tip` and none from `hidden`, and with a
/// `--since DATE`, only those committed from that day on.
struct Range {
    tip: gix::ObjectId,
    hidden: Vec<gix::ObjectId>,
    since_day: Option<i64>,
}

impl Range {
    /// Hands the range's commits to `each`, newest first, as the walk finds them (with a
    /// `--since DATE`, once the walk is done and the older ones are left out); `bar` learns how
    /// many there are.
    fn visit(
        &self,
        objects: crate::git::Objects<'_>,
        first_parent: bool,
        bar: &indicatif::ProgressBar,
        each: &mut dyn FnMut(walk::CommitPair),
    ) -> Result<()> {
        match self.since_day {
            Some(seconds) => {
                let commits = walk::commits(objects, self.tip, &self.hidden, first_parent)?;
                let commits = walk::committed_since(objects, commits, seconds)?;
                bar.inc_length(commits.len() as u64);
                commits.into_iter().for_each(each);
                Ok(())
            }
            None => walk::visit(objects, self.tip, &self.hidden, first_parent, &mut |pair| {
                bar.inc_length(1);
                each(pair)
            }),
        }
    }
}

/// Resolves `REV-RANGE` and `--since` as `audit` reads them; `None` when no range is given and
/// HEAD is unborn (an empty history).
fn resolve_range(repo: &Repo, range: Option<&str>, since: Option<&str>) -> Result<Option<Range>> {
    let since_day = match since {
        Some(text) if walk::looks_like_day(text) => Some(
            walk::parse_day(text)
                .ok_or_else(|| anyhow::anyhow!("--since `{text}`: not a date (YYYY-MM-DD, such as 2024-01-31)"))?,
        ),
        _ => None,
    };
    if range.is_none() && repo.head_is_unborn() {
        return Ok(None);
    }
    let range = range.unwrap_or("HEAD");
    let (mut hidden, tip) = match range.split_once("..") {
        Some((_, b)) if b.starts_with('.') => bail!("`{range}`: symmetric ranges (A...B) are not supported, use A..B"),
        Some((a, b)) => {
            let tip = repo.resolve(if b.is_empty() { "HEAD" } else { b })?;
            (vec![repo.resolve(if a.is_empty() { "HEAD" } else { a })?], tip)
        }
        None => (Vec::new(), repo.resolve(range)?),
    };
    if let (Some(rev), None) = (since, since_day) {
        let since = repo.resolve(rev).map_err(|e| {
            anyhow::anyhow!(
                "--since `{rev}` is neither a date (YYYY-MM-DD) nor a revision: {}",
                one_line(&e)
            )
        })?;
        hidden.push(since);
    }
    Ok(Some(Range { tip, hidden, since_day }))
}

fn audit(args: AuditArgs) -> Result<ExitCode> {
    let only = selected_rules(&args.rules.rules)?;
    let repo = Repo::open(&args.repo.repo)?;
    // The history reachable from an unborn HEAD is empty: nothing to audit, not an error.
    let Some(range) = resolve_range(&repo, args.range.as_deref(), args.since.as_deref())? else {
        return emit(&Report::default(), &args.output);
    };
    let objects = repo.objects();
    // History is judged by the policy at the audited tip.
    let policy = restricted_at(objects, Some(range.tip), &args.rules, &only)?;
    // Judged while the walk goes on; the bar learns its length as the walk finds commits.
    let bar = progress_bar(0);
    let walk = |each: &mut dyn FnMut(walk::CommitPair)| range.visit(objects, args.first_parent, &bar, each);
    let audited = engine::audit_walked(&repo.store, &policy, walk, &|| bar.inc(1));
    bar.finish_and_clear();
    let (_, mut report) = audited.map_err(|e| shallow(&repo, e))?;
    report.policy = Some(policy.origin.clone());
    emit_with_baseline(&mut report, &args.output, false)
}

/// The report and the ledger of the first-parent commits of `range` since `since`, judged by the
/// policy at the range's tip (`rules`): what `report` and `history` read.
fn learn_ledger(
    repo: &Repo,
    range: Option<&str>,
    since: Option<&str>,
    rules: &RuleArgs,
) -> Result<(Report, crate::ledger::Ledger)> {
    let only = selected_rules(&rules.rules)?;
    let Some(range) = resolve_range(repo, range, since)? else {
        return Ok(Default::default());
    };
    let objects = repo.objects();
    let policy = restricted_at(objects, Some(range.tip), rules, &only)?;
    let bar = progress_bar(0);
    let walk = |each: &mut dyn FnMut(walk::CommitPair)| range.visit(objects, true, &bar, each);
    let learnt = crate::ledger::learn(&repo.store, &policy, walk, &|| bar.inc(1));
    bar.finish_and_clear();
    let (mut report, ledger) = learnt.map_err(|e| shallow(repo, e))?;
    report.policy = Some(policy.origin.clone());
    Ok((report, ledger))
}

fn report_page(args: ReportArgs) -> Result<ExitCode> {
    let repo = Repo::open(&args.repo.repo)?;
    let (report, ledger) = learn_ledger(&repo, args.range.as_deref(), args.since.as_deref(), &args.rules)?;
    let range = args.range.clone().unwrap_or_else(|| "HEAD".into());
    let range = match &args.since {
        Some(since) => format!("{range} since {since}"),
        None => range,
    };
    let bytes = match args.format {
        ReportFormat::Json => {
            let doc = crate::ledger::json::document(&ledger, &report, &range);
            let mut text = serde_json::to_string_pretty(&doc)?;
            text.push('\n');
            text.into_bytes()
        }
        ReportFormat::Html => {
            let page = crate::dashboard::Page {
                report: &report,
                ledger: &ledger,
                range: &range,
                link_base: args.link_base.as_deref(),
            };
            page.render().into_bytes()
        }
    };
    match &args.out {
        Some(path) => write_file(path, "report", WriteMode::Replace, &bytes)?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn history(args: HistoryArgs) -> Result<ExitCode> {
    let repo = Repo::open(&args.repo.repo)?;
    let (_, ledger) = learn_ledger(&repo, args.range.as_deref(), None, &RuleArgs::default())?;
    let Some(kep) = ledger.find(&args.kep) else {
        bail!(
            "`{}`: no KEP with that number or path changed its lifecycle in this history",
            args.kep
        );
    };
    let text = match args.format {
        HistoryFormat::Human => crate::ledger::history::render(&ledger, kep),
        HistoryFormat::Json => {
            let doc = serde_json::json!({
                "kind": "kepguard/history/v1",
                "kep": crate::ledger::json::kep(&ledger, kep),
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} commits ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix("auditing");
    bar
}

fn emit(report: &Report, output: &OutputArgs) -> Result<ExitCode> {
    if let Some(path) = &output.summary {
        write_file(
            path,
            "summary",
            WriteMode::Append,
            report::summary::markdown(report).as_bytes(),
        )?;
    }
    if let Some(path) = &output.github_output {
        let lines = format!(
            "errors={}\nwarnings={}\n",
            report.count(Severity::Error),
            report.count(Severity::Warning)
        );
        write_file(path, "GitHub output", WriteMode::Append, lines.as_bytes())?;
    }
    // A SARIF or JUnit file beside the main report, its directory made if missing.
    let side_file = |path: &Option<PathBuf>, what: &str, format: Format| -> Result<()> {
        let Some(path) = path else { return Ok(()) };
        let mut bytes = Vec::new();
        report::render(report, format, false, &mut bytes)?;
        refuse_links(path, what)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        write_file(path, what, WriteMode::Replace, &bytes)
    };
    side_file(&output.sarif_file, "SARIF", Format::Sarif)?;
    side_file(&output.junit_file, "JUnit", Format::Junit)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // In an Actions log the runner parses `##[…]` anywhere in a line and `::…::` at its start, so KEP
    // text in the human report could mask secrets or stop annotations: commands are off around it,
    // under a token the text cannot know.
    let token = (output.format == Format::Human && github_actions()).then(stop_commands_token);
    if let Some(token) = &token {
        writeln!(out, "::stop-commands::{token}").context("cannot write the report")?;
    }
    report::render(report, output.format, output.color.enabled(), &mut out).context("cannot write the report")?;
    if let Some(token) = &token {
        writeln!(out, "::{token}::").context("cannot write the report")?;
    }
    out.flush().ok();
    Ok(fail_on_code(report, output.fail_on))
}

fn github_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// 128 unpredictable bits in hex, fresh per run. `RandomState` is keyed from the operating system's
/// random source once per process, so hashing with it yields values nobody outside can predict.
fn stop_commands_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let state = std::hash::RandomState::new();
    let word = |salt: u64| {
        let mut h = state.build_hasher();
        h.write_u64(salt);
        h.write_u32(std::process::id());
        if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            h.write_u128(t.as_nanos());
        }
        h.finish()
    };
    format!("kepguard-{:016x}{:016x}", word(1), word(2))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WriteMode {
    Append,
    Replace,
}

/// Writes `bytes` to `path`, never through a symbolic link: the path may lie in a checked-out
/// change, which could plant a link to a file outside the workspace.
fn write_file(path: &std::path::Path, what: &str, mode: WriteMode, bytes: &[u8]) -> Result<()> {
    refuse_links(path, what)?;
    let mut options = std::fs::OpenOptions::new();
    match mode {
        WriteMode::Append => options.append(true).create(true),
        WriteMode::Replace => options.write(true).create(true).truncate(true),
    };
    // And should a link appear after the check, opening fails rather than follow it.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .with_context(|| format!("cannot write the {what} file {}", path.display()))
}

/// Refuses `path` when it is a symbolic link or, for a relative path (one inside the checkout, as
/// a workflow names it), when any directory on the way is: a planted `out -> /etc` link would
/// redirect `out/kepguard.sarif` as surely as a link in its place.
fn refuse_links(path: &std::path::Path, what: &str) -> Result<()> {
    let is_link = |p: &std::path::Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    let mut checked: Vec<&std::path::Path> = vec![path];
    if path.is_relative() {
        checked.extend(path.ancestors().skip(1).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Some(link) = checked.into_iter().find(|p| is_link(p)) {
        bail!(
            "the {what} file {}: {} is a symbolic link, and kepguard does not write through one",
            path.display(),
            link.display()
        );
    }
    Ok(())
}

/// The exit code for `report` under `--fail-on`.
pub fn fail_on_code(report: &Report, fail_on: FailOn) -> ExitCode {
    let failed = match fail_on {
        FailOn::Error => report.has_errors(),
        FailOn::Warning => report.count(Severity::Error) + report.count(Severity::Warning) > 0,
        FailOn::Never => false,
    };
    ExitCode::from(u8::from(failed))
}

fn explain(rule: Option<&str>) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match rule {
        None => {
            writeln!(out, "Rules (`kepguard explain RULE` for details):\n")?;
            for r in rules::ALL {
                let i = r.info();
                writeln!(out, "  {:<24} {:<8} {}", i.id, i.default_severity.as_str(), i.summary)?;
            }
        }
        Some(id) => {
            let Some(r) = rules::find(id) else {
                return Err(unknown_rule(id));
            };
            let i = r.info();
            writeln!(
                out,
                "{} ({}, default level {})\n",
                i.id,
                i.summary,
                i.default_severity.as_str()
            )?;
            writeln!(out, "{}", rules::doc_text(i).trim_end())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
