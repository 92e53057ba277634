use anyhow::Result;

use super::{Context, Rule, RuleInfo, TreeContext, declare_rule};
use crate::finding::Finding;
use crate::kep::{EntryKind, kepval};

declare_rule! {
    /// ## What it checks
    /// The KEP tree is one kepval (`hack/verify-kep-metadata.sh`) can validate, as `kepguard
    /// validate` sees a whole tree:
    ///
    /// - `keps/`, `keps/prod-readiness/`, `keps/README.md` and the template's README
    ///   (`keps/NNNN-kep-template/README.md`) exist, and `OWNERS_ALIASES` lists
    ///   `prod-readiness-approvers` in a form kepval decodes (only `aliases`, each a list);
    /// - every directory under `keps/` with a `README.md` has a `kep.yaml` beside it;
    /// - every `kep.yaml` kepval finds by walking `keps/` that is not a numbered KEP directory
    ///   (the template's, an unnumbered or nested directory) passes kepval's checks, which
    ///   `kep-metadata` and `prr-approval` apply to numbered KEPs.
    ///
    /// kepval walks `keps/` in name order, skips any directory named `prod-readiness`, and stops
    /// reading a directory at its `kep.yaml`; so does this rule.
    ///
    /// ## Why
    /// kepval refuses the whole repository when any of these fails, so upstream CI fails for every
    /// pull request until it is fixed.
    ///
    /// ## How to fix
    /// Restore the file or directory named; add the missing `kep.yaml` beside a KEP's README (or
    /// move the README into a KEP); fix the `kep.yaml` the message names.
    INFO, "kep-tree", Error, "the KEP tree is one kepval can validate"
}

pub struct KepTree;

impl Rule for KepTree {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn snapshot(&self) -> bool {
        true
    }

    fn check(&self, _cx: &Context<'_>, _out: &mut Vec<Finding>) -> Result<()> {
        Ok(())
    }

    fn check_tree(&self, cx: &TreeContext<'_>, out: &mut Vec<Finding>) -> Result<()> {
        let layout = &cx.policy.layout;
        let root = layout.root.as_str();
        // What kepval needs before it looks at any KEP; it stops at the first missing one.
        let fatal = |path: &str, what: &str| {
            cx.finding(
                &INFO,
                path,
                None,
                format!("{what}; kepval (hack/verify-kep-metadata.sh) cannot run without it"),
                format!("restore {path}"),
            )
        };
        // Git keeps no empty directory: one with no entries is not there.
        if cx.repo.new_entries(root)?.is_empty() {
            if cx.policy.kepval {
                out.push(fatal(root, &format!("there is no `{root}/` directory")));
            }
            return Ok(());
        }
        let aliases = cx.repo.new_file("OWNERS_ALIASES")?;
        let approvers = aliases.as_deref().and_then(|t| kepval::prr_approvers(t).ok());
        // What kepval needs before it reads any KEP; it stops at the first that is missing. A
        // repository that does not run kepval needs none of it.
        if cx.policy.kepval && !kepval_can_run(cx, root, aliases.as_deref(), &fatal, out)? {
            return Ok(());
        }
        let walk = kepval::walk(cx.repo, root, &layout.prr_group)?;
        for dir in &walk.readme_without_metadata {
            let metadata = format!("{dir}/kep.yaml");
            out.push(cx.finding(
                &INFO,
                &metadata,
                None,
                format!("{dir} has a README.md but no kep.yaml beside it"),
                format!("add {metadata} (see the KEP template's), or move the README out of {root}/"),
            ));
        }
        let found = walk.found;
        if found.is_empty() && cx.policy.kepval {
            out.push(fatal(root, &format!("there is no `kep.yaml` under `{root}/`")));
            return Ok(());
        }
        let read = |path: &str| cx.repo.new_file(path).ok().flatten().map(|t| t.as_bytes().to_vec());
        let prr_file = |sig: &str, number: &str| layout.prr_file(sig, number);
        for path in found {
            // Numbered KEPs are kep-metadata's and prr-approval's, with their own messages.
            let rel: Vec<&str> = path
                .strip_prefix(&format!("{root}/"))
                .unwrap_or(&path)
                .split('/')
                .collect();
            if layout.classify(&rel).is_some() {
                continue;
            }
            let Some(bytes) = read(&path) else { continue };
            if let Err(r) = kepval::validate_file(&bytes, &read, &prr_file, approvers.as_deref(), cx.policy.kepval) {
                let mut f = cx.finding(
                    &INFO,
                    &path,
                    r.line,
                    format!("{path}: {}", r.message),
                    "kepval validates every kep.yaml under keps/, this one too: fix it, or remove it".into(),
                );
                if r.artefact {
                    f.notes.push(kepval::ARTEFACT.into());
                }
                out.push(f);
            }
        }
        Ok(())
    }
}

/// kepval's preconditions, in its order: `keps/prod-readiness/`, `keps/README.md`, the PRR
/// approvers in `OWNERS_ALIASES`, the template's README. Reports the first missing and says
/// whether all are there.
fn kepval_can_run(
    cx: &TreeContext<'_>,
    root: &str,
    aliases: Option<&str>,
    fatal: &dyn Fn(&str, &str) -> Finding,
    out: &mut Vec<Finding>,
) -> Result<bool> {
    let layout = &cx.policy.layout;
    let prr_dir = format!("{root}/{}", layout.prr_group);
    let keps = cx.repo.new_entries(root)?;
    if !keps.iter().any(|(n, k)| *n == layout.prr_group && *k == EntryKind::Dir) {
        out.push(fatal(&prr_dir, &format!("there is no `{prr_dir}/` directory")));
        return Ok(false);
    }
    if cx.repo.new_file(&format!("{root}/README.md"))?.is_none() {
        out.push(fatal(
            &format!("{root}/README.md"),
            &format!("there is no `{root}/README.md` file"),
        ));
        return Ok(false);
    }
    let Some(text) = aliases else {
        out.push(fatal(
            "OWNERS_ALIASES",
            "there is no OWNERS_ALIASES, where kepval reads the PRR approvers",
        ));
        return Ok(false);
    };
    if let Err(r) = kepval::prr_approvers(text) {
        let mut f = cx.finding(
            &INFO,
            "OWNERS_ALIASES",
            r.line,
            format!(
                "OWNERS_ALIASES: {}; kepval (hack/verify-kep-metadata.sh) cannot run",
                r.message
            ),
            "keep only `aliases:` at the top, each alias a list, with `prod-readiness-approvers` among them".into(),
        );
        f.notes.push("kepval decodes OWNERS_ALIASES strictly".into());
        out.push(f);
        return Ok(false);
    }
    let template = format!("{root}/NNNN-kep-template/README.md");
    if cx.repo.new_file(&template)?.is_none() {
        out.push(fatal(&template, "there is no KEP template README"));
        return Ok(false);
    }
    Ok(true)
}
