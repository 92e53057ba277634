//! `kepguard fix`: applies the edits rules offer with their findings ([`Fix`]) to the work tree,
//! never to the repository. The findings are those of `check --worktree` (the change since the
//! merge-base) and, for the KEPs that change touches, of `validate`; each edit is written, shown
//! as a diff, and re-checked: a finding still there afterwards is reported as not fixed.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use gix::ObjectId;

use crate::engine;
use crate::finding::{Edit, Finding, Fix, Report, Severity};
use crate::git::Repo;
use crate::git::worktree::{self, Source};
use crate::policy::Policy;

/// The findings of the work tree against `merge_base` (`None`: before the first commit): the
/// change's, then the tree's for the KEPs the change touches.
pub fn findings(repo: &Repo, policy: &Policy, merge_base: Option<ObjectId>, head: Option<ObjectId>) -> Result<Report> {
    let (store, tree) = worktree::commit_to_be(repo, head, &policy.layout.root, Source::WorkTree)?;
    let commit = head.unwrap_or_else(|| ObjectId::null(repo.repo.object_hash()));
    let old = merge_base
        .map(|m| crate::git::Objects(&store).commit_tree(&m))
        .transpose()?;
    let mut report = Report::default();
    engine::check_trees(&store, policy, commit, old, tree, &mut report)?;
    let touched: Vec<String> = report.keps.iter().cloned().collect();
    if !touched.is_empty() {
        let tree_report = engine::validate_tree(&store, policy, commit, tree, &touched)?;
        report.findings.extend(tree_report.findings);
    }
    Ok(report)
}

/// The findings of `report` with a fix, but notes, that `take` accepts: one per fix, since the
/// change and the tree can report the same problem.
pub fn fixable(report: &Report, mut take: impl FnMut(&Finding) -> bool) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in report
        .findings
        .iter()
        .filter(|f| f.fix.is_some() && f.severity != Severity::Note)
    {
        if !out.iter().any(|g| g.fix == f.fix) && take(f) {
            out.push(f.clone());
        }
    }
    out
}

/// The new text of each file the fixes touch (`None` before: the file is created), with the
/// fixes applied; a fix that cannot apply (its line moved, its file exists) is left out.
pub fn apply(workdir: &Path, fixes: &[&Fix]) -> Result<BTreeMap<String, (Option<String>, String)>> {
    let mut by_path: BTreeMap<&str, Vec<&Edit>> = BTreeMap::new();
    for fix in fixes {
        let edits = by_path.entry(fix.path.as_str()).or_default();
        if !edits.contains(&&fix.edit) {
            edits.push(&fix.edit);
        }
    }
    let mut out = BTreeMap::new();
    for (path, mut edits) in by_path {
        let file = workdir.join(path);
        let before = match std::fs::symlink_metadata(&file) {
            Ok(meta) if meta.file_type().is_symlink() => continue,
            Ok(_) => Some(std::fs::read_to_string(&file).with_context(|| format!("cannot read {path}"))?),
            Err(_) => None,
        };
        let mut lines: Vec<String> = before.as_deref().unwrap_or("").lines().map(str::to_owned).collect();
        let mut appended = Vec::new();
        let mut created = None;
        // Bottom up, so that each edit's line numbers still hold.
        edits.sort_by_key(|e| {
            std::cmp::Reverse(match e {
                Edit::Insert { after, .. } => *after,
                Edit::Replace { line, .. } => *line,
                _ => 0,
            })
        });
        for edit in edits {
            match edit {
                Edit::Insert { after, text } if *after <= lines.len() && before.is_some() => {
                    let new: Vec<String> = text.lines().map(str::to_owned).collect();
                    lines.splice(after..after, new);
                }
                Edit::Replace { line, from, to } if before.is_some() => {
                    let Some(l) = line.checked_sub(1).and_then(|i| lines.get_mut(i)) else {
                        continue;
                    };
                    let Some(colon) = l.find(':') else { continue };
                    if let Some(at) = l[colon..].find(from.as_str()) {
                        l.replace_range(colon + at..colon + at + from.len(), to);
                    }
                }
                Edit::Append { text } if before.is_some() => appended.push(text.clone()),
                Edit::Create { text } if before.is_none() => created = Some(text.clone()),
                _ => {}
            }
        }
        let after = match created {
            Some(text) => text,
            None if before.is_none() => continue,
            None => {
                let mut text = lines.join("\n");
                text.push('\n');
                for a in appended {
                    text.push('\n');
                    text.push_str(&a);
                }
                text
            }
        };
        if before.as_deref() != Some(after.as_str()) {
            out.insert(path.to_owned(), (before, after));
        }
    }
    Ok(out)
}

/// A unified diff of one file's change, as `git diff` shows it.
pub fn diff(path: &str, before: Option<&str>, after: &str) -> String {
    let old_name = match before {
        Some(_) => format!("a/{path}"),
        None => "/dev/null".to_owned(),
    };
    similar::TextDiff::from_lines(before.unwrap_or(""), after)
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &format!("b/{path}"))
        .to_string()
}

/// Writes the new texts into the work tree; never through a symbolic link.
pub fn write(workdir: &Path, changes: &BTreeMap<String, (Option<String>, String)>) -> Result<()> {
    for (path, (_, after)) in changes {
        let file = workdir.join(path);
        if std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_symlink()) {
            bail!("{path} is a symbolic link: kepguard fix does not write through one");
        }
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&file, after).with_context(|| format!("cannot write {path}"))?;
    }
    Ok(())
}

/// Whether `finding` is still reported in `after`: the same rule, KEP and title.
pub fn still_there(finding: &Finding, after: &Report) -> bool {
    after
        .findings
        .iter()
        .any(|f| f.rule == finding.rule && f.kep == finding.kep && f.title == finding.title)
}
