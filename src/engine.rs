//! The data path: revisions -> changed KEPs (git) -> old/new snapshots (parsing) -> rules ->
//! findings.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Result, bail};
use gix::ObjectId;

use crate::finding::{Finding, Report};
use crate::git::changes::{DiffState, changed_keps};
use crate::git::walk::{self, CommitPair};
use crate::git::{FileTexts, Objects, TreeFiles};
use crate::kep::metadata::Milestone;
use crate::kep::readme::Readme;
use crate::kep::{
    BlobSource, ChangedKep, KepDiff, LegacyCache, LegacyKep, MetadataCache, MetadataState, ReadmeCache, decode_text,
};
use crate::policy::{Level, Policy};
use crate::rules::{self, Context, Scope};

/// What a run keeps from one commit to the next.
#[derive(Default)]
pub struct RunState {
    diff: DiffState,
    readmes: RefCell<ReadmeCache>,
    metadata: RefCell<MetadataCache>,
    legacy: RefCell<LegacyCache>,
    files: RefCell<FileTexts>,
    /// The last parent's commit and tree: on a first-parent line it is the next commit.
    parent_tree: Option<(ObjectId, ObjectId)>,
}

/// Blobs from the object database, with the run's recently parsed READMEs and metadata kept.
struct Blobs<'a> {
    objects: Objects<'a>,
    readmes: &'a RefCell<ReadmeCache>,
    metadata: &'a RefCell<MetadataCache>,
    legacy: &'a RefCell<LegacyCache>,
}

impl BlobSource for Blobs<'_> {
    fn blob(&self, id: &ObjectId) -> Result<Vec<u8>> {
        self.objects.blob(id)
    }

    fn readme(&self, id: &ObjectId) -> Result<Rc<Readme>> {
        self.readmes.borrow_mut().get_or_parse(
            id,
            |r| r.text().len(),
            || Ok(Readme::parse(decode_text(self.objects.blob(id)?), 0)),
        )
    }

    fn metadata(&self, id: &ObjectId) -> Result<Rc<MetadataState>> {
        // The YAML tree and the line index take a few times the text's size.
        let weight = |m: &MetadataState| match m {
            MetadataState::Parsed(m) => 8 * m.source().len(),
            _ => 1024,
        };
        let parse = || BlobSource::metadata(&self.objects, id);
        self.metadata
            .borrow_mut()
            .get_or_parse(id, weight, || Ok(Rc::unwrap_or_clone(parse()?)))
    }

    fn legacy(&self, id: &ObjectId) -> Result<Rc<LegacyKep>> {
        self.legacy
            .borrow_mut()
            .get_or_parse(id, |f| 4 * f.len(), || Ok(LegacyKep::parse(self.objects.blob(id)?)))
    }
}

/// Checks the change from `old_tree` (`None`: empty tree) to `new_tree`, reporting findings
/// against `commit`, in path then rule order. Its KEP changes are judged on one worker per core.
pub fn check_trees<S>(
    store: &S,
    policy: &Policy,
    commit: ObjectId,
    old_tree: Option<ObjectId>,
    new_tree: ObjectId,
    report: &mut Report,
) -> Result<()>
where
    S: gix::objs::Find + Clone + Send,
{
    let objects = Objects(store);
    let changed = changed_keps(objects, &policy.layout, old_tree, new_tree, &mut DiffState::default())?;
    let policy_finding = judged_policy_finding(objects, policy, commit, old_tree, new_tree)?;
    let planned = vec![Planned {
        commit,
        old_tree,
        new_tree,
        policy: None,
        changed,
        policy_finding,
    }];
    report.absorb(judge_planned(store, policy, planned, &|| {}, &NoObserver)?.0);
    Ok(())
}

/// A commit's findings in the order reports list them: by path, then rule, then line.
fn sort_commit_findings(findings: &mut [Finding]) {
    findings
        .sort_by(|a, b| (&a.location.path, a.rule, a.location.line).cmp(&(&b.location.path, b.rule, b.location.line)));
}

/// [`policy_finding`], judged by the policy unless `policy-change` is off.
fn judged_policy_finding(
    objects: Objects<'_>,
    policy: &Policy,
    commit: ObjectId,
    old_tree: Option<ObjectId>,
    new_tree: ObjectId,
) -> Result<Option<Finding>> {
    if policy.level(rules::policy_change::INFO.id) == Level::Off {
        return Ok(None);
    }
    let Some(mut finding) = policy_finding(objects, commit, old_tree, new_tree)? else {
        return Ok(None);
    };
    // A policy that does not parse stays an error whatever the level: it would stop every later
    // check.
    let severity = finding.severity;
    policy.judge(&mut finding, None);
    if severity == crate::finding::Severity::Error && finding.severity == crate::finding::Severity::Warning {
        finding.severity = severity;
    }
    Ok(Some(finding))
}

/// A finding of `policy-change` when the change touches the policy file: an error when the new
/// policy does not parse, else a warning a reviewer must see (the pre-receive gate raises it).
fn policy_finding(
    objects: Objects<'_>,
    commit: ObjectId,
    old_tree: Option<ObjectId>,
    new_tree: ObjectId,
) -> Result<Option<Finding>> {
    let file = crate::policy::FILE;
    let entry = |tree: ObjectId| objects.entry_at(tree, &[file]);
    let old = old_tree.map(entry).transpose()?.flatten();
    let new = entry(new_tree)?;
    if old == new {
        return Ok(None);
    }
    let info = &rules::policy_change::INFO;
    let mut finding = Finding {
        rule: info.id,
        severity: info.default_severity,
        commit,
        kep: file.to_owned(),
        number: String::new(),
        location: crate::finding::Location {
            path: file.to_owned(),
            line: None,
            snippet: None,
        },
        title: match (old, new) {
            (_, None) => format!("the change deletes the policy file {file}"),
            (None, Some(_)) => format!("the change adds a policy file {file}"),
            _ => format!("the change edits the policy file {file}"),
        },
        help: "it applies to later changes: review it as a change to what the gate blocks".into(),
        fix: None,
        notes: Vec::new(),
    };
    if new.is_some()
        && let Some(text) = objects.file_text(new_tree, file)?
        && let Err(e) = Policy::parse(&text, file)
    {
        finding.severity = crate::finding::Severity::Error;
        finding.title = format!("the policy file does not parse: {e}");
        finding.help = "fix it: every later check would stop on it".into();
    }
    Ok(Some(finding))
}

/// Runs the rules the policy enables on one KEP (in a tree, only those judging a KEP as it
/// stands), then applies the policy's levels and exceptions to what they found.
fn judge_kep(cx: &Context<'_>, findings: &mut Vec<Finding>) -> Result<()> {
    let before = findings.len();
    for rule in rules::ALL {
        if (cx.scope == Scope::Change || rule.snapshot()) && cx.policy.level(rule.info().id) != Level::Off {
            rule.check(cx, findings)?;
        }
    }
    // An exception that holds `until` a milestone is judged by the later of the old and new
    // latest-milestone, so lowering it in the change cannot revive an expired exception.
    let latest_of = |side: Option<&crate::kep::Snapshot<'_>>| {
        side.and_then(|s| s.metadata.parsed())
            .and_then(|m| m.scalar("latest-milestone"))
            .and_then(|m| Milestone::parse(&m))
    };
    let latest = latest_of(cx.diff.new.as_ref()).max(latest_of(cx.diff.old.as_ref()));
    for finding in &mut findings[before..] {
        cx.policy.judge(finding, latest);
    }
    Ok(())
}

/// `kepguard validate`: every KEP in the tree of `commit` (or those under `paths`) as it stands,
/// judged by the snapshot rules.
pub fn validate<S>(store: &S, policy: &Policy, commit: ObjectId, paths: &[String]) -> Result<Report>
where
    S: gix::objs::Find + Clone + Send,
{
    let tree = Objects(store).commit_tree(&commit)?;
    validate_tree(store, policy, commit, tree, paths)
}

/// [`validate`] of `tree`, which need not be a commit's (`kepguard fix` judges the work tree's),
/// findings reported against `commit`.
pub fn validate_tree<S>(
    store: &S,
    policy: &Policy,
    commit: ObjectId,
    tree: ObjectId,
    paths: &[String],
) -> Result<Report>
where
    S: gix::objs::Find + Clone + Send,
{
    let objects = Objects(store);
    // Against the empty tree every KEP is new: one walk of the KEP root finds them all.
    let keps = changed_keps(objects, &policy.layout, None, tree, &mut DiffState::default())?;
    let covers = |p: &str, kep: &str| {
        let p = p.trim_end_matches('/');
        kep == p || kep.starts_with(&format!("{p}/")) || p.starts_with(&format!("{kep}/"))
    };
    // A path holding no KEP would otherwise pass as a clean tree.
    if let Some(path) = paths.iter().find(|p| !keps.iter().any(|c| covers(p, &c.kep.path))) {
        bail!(
            "`{path}` matches no KEP in {} (KEPs are directories under `{}/<group>/`; paths are relative to the repository root)",
            commit.to_hex_with_len(12),
            policy.layout.root
        );
    }
    let select = |c: &ChangedKep| paths.is_empty() || paths.iter().any(|p| covers(p, &c.kep.path));
    let checked: std::collections::BTreeSet<String> =
        keps.iter().filter(|c| select(c)).map(|c| c.kep.path.clone()).collect();
    let keps_checked = checked.len();
    let judged = each_kep_at(store, policy, commit, tree, keps, select, |cx, _| {
        snapshot_findings(cx).map(Some)
    })?;
    let mut report = Report {
        findings: judged.into_iter().flatten().collect(),
        keps_checked,
        keps: checked,
        ..Report::default()
    };
    let repo = TreeFiles::new(objects, tree, Some(tree));
    let tcx = rules::TreeContext {
        commit,
        policy,
        repo: &repo,
    };
    let before = report.findings.len();
    // The tree as a whole is judged when the whole tree is asked for.
    for rule in rules::ALL.iter().filter(|_| paths.is_empty()) {
        if policy.level(rule.info().id) != Level::Off {
            rule.check_tree(&tcx, &mut report.findings)?;
        }
    }
    for finding in &mut report.findings[before..] {
        policy.judge(finding, None);
    }
    report.commits_checked = 1;
    Ok(report)
}

/// The findings of the rules that judge a KEP as it stands (those `validate` runs), under the
/// policy's levels and exceptions.
pub fn snapshot_findings(cx: &Context<'_>) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    judge_kep(cx, &mut findings)?;
    Ok(findings)
}

/// Runs `work` on each KEP of `keps` (found in the tree `tree` of `commit`) that `select` takes,
/// as it stands (scope [`Scope::Tree`]), on one worker per core, with the worker's objects; what it
/// returns, in `keps` order.
pub fn each_kep_at<S, T>(
    store: &S,
    policy: &Policy,
    commit: ObjectId,
    tree: ObjectId,
    keps: Vec<ChangedKep>,
    select: impl Fn(&ChangedKep) -> bool,
    work: impl Fn(&Context<'_>, Objects<'_>) -> Result<Option<T>> + Sync,
) -> Result<Vec<T>>
where
    S: gix::objs::Find + Clone + Send,
    T: Send,
{
    let wanted: Vec<ChangedKep> = keps.into_iter().filter(|c| select(c)).collect();
    // A few KEPs at a time: each worker keeps its caches warm over neighbours in the tree.
    let judged = in_parallel(store, wanted.len(), 8, |objects, state, i| {
        let blobs = Blobs {
            objects,
            readmes: &state.readmes,
            metadata: &state.metadata,
            legacy: &state.legacy,
        };
        let repo = TreeFiles::new(objects, tree, Some(tree)).with_texts(&state.files);
        let diff = KepDiff::load(&wanted[i], &blobs)?;
        let cx = Context {
            commit,
            diff: &diff,
            policy,
            repo: &repo,
            scope: Scope::Tree,
        };
        work(&cx, objects)
    })?;
    Ok(judged.into_iter().flatten().collect())
}

/// The KEPs in the tree of `commit`, with that tree.
pub fn keps_at<S>(store: &S, policy: &Policy, commit: ObjectId) -> Result<(ObjectId, Vec<ChangedKep>)>
where
    S: gix::objs::Find + Clone + Send,
{
    let objects = Objects(store);
    let tree = objects.commit_tree(&commit)?;
    // Against the empty tree every KEP is new: one walk of the KEP root finds them all.
    let keps = changed_keps(objects, &policy.layout, None, tree, &mut DiffState::default())?;
    Ok((tree, keps))
}

/// The net change of a branch, as a pull request shows it: the tree of `merge-base(base, head)`
/// against the tree of `head`, judged by the merge-base's policy unless `policy` is given.
pub fn check_range<S>(store: &S, base: ObjectId, head: ObjectId, policy: Option<&Policy>) -> Result<Report>
where
    S: gix::objs::Find + Clone + Send,
{
    let objects = Objects(store);
    let Some(merge_base) = objects.merge_base(base, head)? else {
        bail!("{head} shares no history with the base {base}");
    };
    let own;
    let policy = match policy {
        Some(p) => p,
        None => {
            own = Policy::at_commit(objects, merge_base)?;
            &own
        }
    };
    let mut report = Report::default();
    check_against(store, policy, merge_base, head, &mut report)?;
    Ok(report)
}

/// Checks commit `head` against commit `base` (their trees compared directly), adding to `report`.
/// With trailers enabled, the commits between them may waive findings.
pub fn check_against<S>(store: &S, policy: &Policy, base: ObjectId, head: ObjectId, report: &mut Report) -> Result<()>
where
    S: gix::objs::Find + Clone + Send,
{
    let objects = Objects(store);
    let (old, new) = (objects.commit_tree(&base)?, objects.commit_tree(&head)?);
    let with_trailers;
    let policy = if policy.trailers {
        let commits: Vec<ObjectId> = walk::commits(objects, head, &[base], false)?
            .iter()
            .map(|p| p.commit)
            .collect();
        with_trailers = policy.with_trailers(objects, &commits)?;
        &with_trailers
    } else {
        policy
    };
    check_trees(store, policy, head, Some(old), new, report)
}

/// Checks commit `head` against its first parent (a root commit against the empty tree), judged
/// by the parent's policy unless `policy` is given.
pub fn check_commit<S>(store: &S, head: ObjectId, policy: Option<&Policy>) -> Result<Report>
where
    S: gix::objs::Find + Clone + Send,
{
    let objects = Objects(store);
    let mut report = Report::default();
    let parent = objects.first_parent(&head)?;
    let own;
    let policy = match (policy, parent) {
        (Some(p), _) => p,
        (None, Some(parent)) => {
            own = Policy::at_commit(objects, parent)?;
            &own
        }
        (None, None) => {
            own = Policy::default();
            &own
        }
    };
    match parent {
        Some(parent) => check_against(store, policy, parent, head, &mut report)?,
        None => {
            let tree = objects.commit_tree(&head)?;
            check_trees(store, policy, head, None, tree, &mut report)?;
        }
    }
    Ok(report)
}

/// One commit of an audit once its KEP changes are known: the first pass's result.
struct Planned {
    commit: ObjectId,
    old_tree: Option<ObjectId>,
    new_tree: ObjectId,
    /// The run's policy plus this commit's trailers, when trailers are enabled.
    policy: Option<Policy>,
    changed: Vec<ChangedKep>,
    policy_finding: Option<Finding>,
}

/// Checks each commit against its first parent under one policy (with trailers enabled, each
/// commit's own trailers), reporting in the order given, as [`check_trees`] would commit by
/// commit; `progress` is told as each commit is done.
///
/// A first pass diffs the commits' trees, a batch of commits at a time on one worker per core. The
/// second judges the KEP changes grouped by KEP, each KEP's changes newest first on one worker:
/// the new side of a change is then the old side of the one just judged, already read and parsed,
/// and each version is decoded after the newer one git stores it as a delta against.
pub fn audit<S>(store: &S, policy: &Policy, commits: &[CommitPair], progress: &(dyn Fn() + Sync)) -> Result<Report>
where
    S: gix::objs::Find + Clone + Send,
{
    let feed = |push: &mut dyn FnMut(CommitPair)| {
        commits.iter().for_each(|pair| push(*pair));
        Ok(())
    };
    let workers = workers_for(commits.len().div_ceil(BATCH));
    audit_fed(store, policy, workers, feed, progress, &NoObserver).map(|(_, report, _)| report)
}

/// [`audit`] of the commits `walk` hands over as it finds them, in that order; also returns them.
/// The first pass starts on the first batch while the walk goes on: without a commit-graph,
/// walking a long history is a tenth of an audit, on one core.
pub fn audit_walked<S>(
    store: &S,
    policy: &Policy,
    walk: impl FnOnce(&mut dyn FnMut(CommitPair)) -> Result<()>,
    progress: &(dyn Fn() + Sync),
) -> Result<(Vec<CommitPair>, Report)>
where
    S: gix::objs::Find + Clone + Send,
{
    let (commits, report, _) = audit_fed(store, policy, workers_for(usize::MAX), walk, progress, &NoObserver)?;
    Ok((commits, report))
}

/// What a consumer of an audit (the ledger of `kepguard report`) learns of each judged KEP
/// change beside its findings, on the worker that judged it, while its snapshots are parsed.
pub trait Observer: Sync {
    type Note: Send;
    fn observe(&self, cx: &Context<'_>, findings: &[Finding]) -> Result<Self::Note>;
}

/// An observed audit's commits, report, and notes per commit.
pub type Observed<N> = (Vec<CommitPair>, Report, Vec<Vec<N>>);

/// An audit with nothing to learn beside the findings.
pub struct NoObserver;

impl Observer for NoObserver {
    type Note = ();
    fn observe(&self, _cx: &Context<'_>, _findings: &[Finding]) -> Result<()> {
        Ok(())
    }
}

/// [`audit_walked`] that also hands each judged KEP change to `observer`: its notes, per commit
/// in the commits' order, per change in the order the commit's findings list them.
pub fn audit_observed<S, O>(
    store: &S,
    policy: &Policy,
    walk: impl FnOnce(&mut dyn FnMut(CommitPair)) -> Result<()>,
    progress: &(dyn Fn() + Sync),
    observer: &O,
) -> Result<Observed<O::Note>>
where
    S: gix::objs::Find + Clone + Send,
    O: Observer,
{
    audit_fed(store, policy, workers_for(usize::MAX), walk, progress, observer)
}

/// Both passes of an audit over the commits `feed` hands over, on `workers` workers.
fn audit_fed<S, O>(
    store: &S,
    policy: &Policy,
    workers: usize,
    feed: impl FnOnce(&mut dyn FnMut(CommitPair)) -> Result<()>,
    progress: &(dyn Fn() + Sync),
    observer: &O,
) -> Result<Observed<O::Note>>
where
    S: gix::objs::Find + Clone + Send,
    O: Observer,
{
    let (commits, planned) = in_parallel_fed(store, workers, BATCH, feed, |objects, state, pair| {
        plan(objects, state, policy, pair, progress)
    })?;
    let (report, notes) = judge_planned(store, policy, planned, progress, observer)?;
    Ok((commits, report, notes))
}

/// The first pass for one commit: its trees, trailers and KEP changes.
fn plan(
    objects: Objects<'_>,
    state: &mut RunState,
    policy: &Policy,
    pair: &CommitPair,
    progress: &(dyn Fn() + Sync),
) -> Result<Planned> {
    let new_tree = match state.parent_tree {
        Some((commit, tree)) if commit == pair.commit => tree,
        _ => objects.commit_tree(&pair.commit)?,
    };
    let old_tree = pair.parent.map(|p| objects.commit_tree(&p)).transpose()?;
    state.parent_tree = pair.parent.zip(old_tree);
    let own = policy
        .trailers
        .then(|| policy.with_trailers(objects, &[pair.commit]))
        .transpose()?;
    let run_policy = own.as_ref().unwrap_or(policy);
    let changed = changed_keps(objects, &run_policy.layout, old_tree, new_tree, &mut state.diff)?;
    let policy_finding = judged_policy_finding(objects, run_policy, pair.commit, old_tree, new_tree)?;
    if changed.is_empty() {
        progress();
    }
    Ok(Planned {
        commit: pair.commit,
        old_tree,
        new_tree,
        policy: own,
        changed,
        policy_finding,
    })
}

/// Judges the KEP changes of `planned` grouped by KEP, each KEP's changes in the order given
/// (newest first from a walk) on one worker, and reports them commit by commit in that order;
/// `progress` is told as each commit with KEP changes is done.
fn judge_planned<S, O>(
    store: &S,
    policy: &Policy,
    planned: Vec<Planned>,
    progress: &(dyn Fn() + Sync),
    observer: &O,
) -> Result<(Report, Vec<Vec<O::Note>>)>
where
    S: gix::objs::Find + Clone + Send,
    O: Observer,
{
    // Each KEP's changes newest first, as git log lists them: git packs a file's newest version
    // whole and older ones as deltas against newer ones, so decoding in this order finds most
    // bases in the delta cache (a tenth of an audit's time, against oldest first). The largest
    // groups first, so that workers finish together.
    let mut by_kep: std::collections::HashMap<&str, Vec<(usize, usize)>> = std::collections::HashMap::new();
    for (c, plan) in planned.iter().enumerate() {
        for (k, change) in plan.changed.iter().enumerate() {
            by_kep.entry(change.kep.path.as_str()).or_default().push((c, k));
        }
    }
    let mut groups: Vec<Vec<(usize, usize)>> = by_kep.into_values().collect();
    groups.sort_by_key(|g| std::cmp::Reverse((g.len(), g[0])));
    let pending: Vec<AtomicUsize> = planned.iter().map(|p| AtomicUsize::new(p.changed.len())).collect();
    let judged = in_parallel(store, groups.len(), 1, |objects, state, g| {
        let mut out = Vec::with_capacity(groups[g].len());
        for &(c, k) in &groups[g] {
            let plan = &planned[c];
            let blobs = Blobs {
                objects,
                readmes: &state.readmes,
                metadata: &state.metadata,
                legacy: &state.legacy,
            };
            let repo = TreeFiles::new(objects, plan.new_tree, plan.old_tree).with_texts(&state.files);
            let diff = KepDiff::load(&plan.changed[k], &blobs)?;
            let cx = Context {
                commit: plan.commit,
                diff: &diff,
                policy: plan.policy.as_ref().unwrap_or(policy),
                repo: &repo,
                scope: Scope::Change,
            };
            let mut findings = Vec::new();
            judge_kep(&cx, &mut findings)?;
            let note = observer.observe(&cx, &findings)?;
            out.push(((c, k), findings, note));
            if pending[c].fetch_sub(1, Ordering::Relaxed) == 1 {
                progress();
            }
        }
        Ok(out)
    })?;

    // Back in commit order, each commit's findings in its changes' order, as check_trees has them.
    let mut per_change: Vec<Vec<Vec<Finding>>> = planned.iter().map(|p| vec![Vec::new(); p.changed.len()]).collect();
    let mut per_note: Vec<Vec<Option<O::Note>>> = planned
        .iter()
        .map(|p| p.changed.iter().map(|_| None).collect())
        .collect();
    for ((c, k), findings, note) in judged.into_iter().flatten() {
        per_change[c][k] = findings;
        per_note[c][k] = Some(note);
    }
    let notes = per_note
        .into_iter()
        .map(|n| n.into_iter().flatten().collect())
        .collect();
    let mut report = Report::default();
    for (plan, changes) in planned.into_iter().zip(per_change) {
        let mut findings: Vec<Finding> = changes.into_iter().flatten().collect();
        findings.extend(plan.policy_finding);
        sort_commit_findings(&mut findings);
        report.keps_checked += plan.changed.len();
        report.keps.extend(plan.changed.iter().map(|c| c.kep.path.clone()));
        report.commits_checked += 1;
        report.findings.extend(findings);
    }
    Ok((report, notes))
}

/// Commits one worker takes at a time in the first pass: small enough to balance uneven commits
/// between workers, large enough to keep a worker's diff buffers warm.
const BATCH: usize = 32;

/// Runs `work` on the items `0..n`, `batch` at a time, on one worker per core, each with its own
/// handle on `store` and its own [`RunState`]; the results in item order. After a failure no more
/// items are started, and the failure is the result.
fn in_parallel<S, T>(
    store: &S,
    n: usize,
    batch: usize,
    work: impl Fn(Objects<'_>, &mut RunState, usize) -> Result<T> + Sync,
) -> Result<Vec<T>>
where
    S: gix::objs::Find + Clone + Send,
    T: Send,
{
    let feed = |push: &mut dyn FnMut(usize)| {
        (0..n).for_each(push);
        Ok(())
    };
    let (_, out) = in_parallel_fed(
        store,
        workers_for(n.div_ceil(batch)),
        batch,
        feed,
        |objects, state, &i| work(objects, state, i),
    )?;
    Ok(out)
}

/// Workers for `batches` batches of work: one per core, no more than there are batches.
fn workers_for(batches: usize) -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(batches)
}

/// Runs `work` on the items that `feed` hands over, `batch` at a time, on `workers` workers, each
/// with its own handle on `store` and its own [`RunState`]; returns the items and their results,
/// in the order handed over. `feed` runs on the calling thread while the workers take the batches
/// it has filled so far. After a failure no more batches are started, and the failure (the
/// feed's first) is the result.
fn in_parallel_fed<S, I, T>(
    store: &S,
    workers: usize,
    batch: usize,
    feed: impl FnOnce(&mut dyn FnMut(I)) -> Result<()>,
    work: impl Fn(Objects<'_>, &mut RunState, &I) -> Result<T> + Sync,
) -> Result<(Vec<I>, Vec<T>)>
where
    S: gix::objs::Find + Clone + Send,
    I: Send,
    T: Send,
{
    if workers <= 1 {
        let mut items = Vec::new();
        feed(&mut |item| items.push(item))?;
        let mut state = RunState::default();
        let out = items
            .iter()
            .map(|item| work(Objects(store), &mut state, item))
            .collect::<Result<_>>()?;
        return Ok((items, out));
    }
    struct Queue<I> {
        filled: std::collections::VecDeque<(usize, Vec<I>)>,
        closed: bool,
    }
    let queue = Mutex::new(Queue {
        filled: std::collections::VecDeque::new(),
        closed: false,
    });
    let ready = std::sync::Condvar::new();
    let failed = AtomicBool::new(false);
    type Done<I, T> = Vec<(usize, Vec<I>, Result<Vec<T>>)>;
    let done: Mutex<Done<I, T>> = Mutex::new(Vec::new());
    fn lock<Q>(m: &Mutex<Q>) -> std::sync::MutexGuard<'_, Q> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
    let fed = std::thread::scope(|scope| {
        for _ in 0..workers {
            let store = store.clone();
            let (queue, ready, failed, done, work) = (&queue, &ready, &failed, &done, &work);
            scope.spawn(move || {
                let objects = Objects(&store);
                let mut state = RunState::default();
                loop {
                    let next = {
                        let mut q = lock(queue);
                        loop {
                            if failed.load(Ordering::Relaxed) {
                                break None;
                            }
                            if let Some(next) = q.filled.pop_front() {
                                break Some(next);
                            }
                            if q.closed {
                                break None;
                            }
                            q = ready.wait(q).unwrap_or_else(|e| e.into_inner());
                        }
                    };
                    let Some((b, items)) = next else { break };
                    let result: Result<Vec<T>> = items.iter().map(|item| work(objects, &mut state, item)).collect();
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                        ready.notify_all();
                    }
                    lock(done).push((b, items, result));
                }
            });
        }
        // Closed however the feed ends, a panic included, so that no worker waits for ever.
        struct Close<'a, I>(&'a Mutex<Queue<I>>, &'a std::sync::Condvar);
        impl<I> Drop for Close<'_, I> {
            fn drop(&mut self) {
                lock(self.0).closed = true;
                self.1.notify_all();
            }
        }
        let close = Close(&queue, &ready);
        let mut filling = Vec::with_capacity(batch);
        let mut batches = 0;
        let mut hand_over = |items: Vec<I>| {
            lock(&queue).filled.push_back((batches, items));
            batches += 1;
            ready.notify_one();
        };
        let fed = feed(&mut |item| {
            filling.push(item);
            if filling.len() == batch && !failed.load(Ordering::Relaxed) {
                hand_over(std::mem::replace(&mut filling, Vec::with_capacity(batch)));
            }
        });
        if !filling.is_empty() {
            hand_over(filling);
        }
        if fed.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        drop(close);
        fed
    });
    fed?;
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(b, ..)| *b);
    let (mut items, mut out) = (Vec::new(), Vec::new());
    for (_, batch_items, result) in done {
        out.extend(result?);
        items.extend(batch_items);
    }
    Ok((items, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gix::objs::find::Never;

    fn feed_of(n: usize) -> impl FnOnce(&mut dyn FnMut(usize)) -> Result<()> {
        move |push| {
            (0..n).for_each(push);
            Ok(())
        }
    }

    #[test]
    fn fed_items_come_back_in_order_with_their_results_whatever_the_workers() {
        for workers in [1, 2, 3, 8] {
            for n in [0, 1, 5, 32, 33, 1000] {
                let (items, out) = in_parallel_fed(&Never, workers, 4, feed_of(n), |_, _, &i| Ok(i * 10)).unwrap();
                assert_eq!(items, (0..n).collect::<Vec<_>>(), "{workers} workers, {n} items");
                assert_eq!(
                    out,
                    (0..n).map(|i| i * 10).collect::<Vec<_>>(),
                    "{workers} workers, {n} items"
                );
            }
        }
    }

    #[test]
    fn work_starts_before_the_feed_ends() {
        // The feed waits for the work on its first batch before it hands over the rest (bounded,
        // as a guard against a hang): work that started only after the feed would fail this.
        let started = AtomicUsize::new(0);
        let feed = |push: &mut dyn FnMut(usize)| {
            (0..4).for_each(&mut *push);
            let since = std::time::Instant::now();
            while started.load(Ordering::SeqCst) == 0 && since.elapsed() < std::time::Duration::from_secs(120) {
                std::thread::yield_now();
            }
            assert!(
                started.load(Ordering::SeqCst) > 0,
                "no work started while the feed went on"
            );
            (4..8).for_each(push);
            Ok(())
        };
        let (_, out) = in_parallel_fed(&Never, 2, 4, feed, |_, _, &i| {
            started.fetch_add(1, Ordering::SeqCst);
            Ok(i)
        })
        .unwrap();
        assert_eq!(out, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn a_failing_item_or_feed_is_the_result() {
        for workers in [1, 2] {
            let err = in_parallel_fed(&Never, workers, 4, feed_of(100), |_, _, &i| {
                if i == 37 { bail!("item {i} failed") } else { Ok(i) }
            })
            .unwrap_err();
            assert_eq!(err.to_string(), "item 37 failed");
            let feed = |push: &mut dyn FnMut(usize)| {
                (0..10).for_each(push);
                bail!("the walk failed")
            };
            let err = in_parallel_fed(&Never, workers, 4, feed, |_, _, &i| Ok(i)).unwrap_err();
            assert_eq!(err.to_string(), "the walk failed");
        }
    }

    #[test]
    fn a_panicking_feed_panics_rather_than_leaving_workers_waiting() {
        let outcome = std::panic::catch_unwind(|| {
            let feed = |push: &mut dyn FnMut(usize)| -> Result<()> {
                (0..3).for_each(push);
                panic!("the feed broke")
            };
            in_parallel_fed(&Never, 2, 4, feed, |_, _, &i| Ok(i))
        });
        assert!(outcome.is_err());
    }
}
