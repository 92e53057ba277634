//! `kepguard demo`: a small KEP repository with a realistic history, audited on the spot.
//!
//! The repository is written with gitoxide (no `git` needed), with fixed dates so that commit ids,
//! and so the output, are the same on every machine.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use gix::ObjectId;
use gix::bstr::BStr;
use gix::objs::tree::{Entry, EntryKind};

use crate::engine;
use crate::git::{Repo, walk};
use crate::policy::Policy;

const KEP_DIR: &str = "keps/sig-node/4242-pod-frobnication";
const PRR_FILE: &str = "keps/prod-readiness/sig-node/4242.yaml";

/// The PRR approval file once `stages` are approved.
fn prr(stages: &[&str]) -> String {
    let approvals: String = stages
        .iter()
        .map(|s| format!("{s}:\n  approver: \"@wojtek-t\"\n"))
        .collect();
    format!("kep-number: 4242\n{approvals}")
}

/// One step of the demo history.
struct Step {
    message: &'static str,
    kep_yaml: String,
    readme: String,
    /// The PRR approval file: the stages a PRR approver has signed off.
    prr: String,
}

pub fn run(keep: Option<&Path>, color: bool) -> Result<ExitCode> {
    let tmp;
    let dir = match keep {
        Some(dir) => {
            if dir.exists() {
                bail!("{}: already exists; --keep needs a new directory", dir.display());
            }
            dir.to_path_buf()
        }
        None => {
            tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
            tmp.path().join("kep-demo.git")
        }
    };
    let head = build(&dir)?;

    let repo = Repo::open(&dir)?;
    let objects = repo.objects();
    let commits = walk::commits(objects, head, &[], true)?;
    let report = engine::audit(&repo.store, &Policy::default(), &commits, &|| {})?;

    println!(
        "kepguard demo: a KEP repository with {} commits, audited with",
        commits.len()
    );
    println!("`kepguard audit --first-parent` (newest first):\n");
    let mut log = Vec::new();
    for pair in &commits {
        let msg = commit_subject(&repo, pair.commit)?;
        let verdict = match report.findings.iter().filter(|f| f.commit == pair.commit).count() {
            0 => "ok".to_owned(),
            n => format!("{n} finding{}", if n == 1 { "" } else { "s" }),
        };
        log.push(format!("  {} {msg:<58} {verdict}", &pair.commit.to_string()[..10]));
    }
    println!("{}\n", log.join("\n"));
    crate::report::render(&report, crate::report::Format::Human, color, &mut std::io::stdout())?;
    match keep {
        Some(dir) => println!(
            "\nThe repository is kept at {}: try `kepguard audit --repo {0}`.",
            dir.display()
        ),
        None => println!("\n(`kepguard audit` exits 1 on such findings; the demo itself exits 0.)"),
    }
    Ok(ExitCode::SUCCESS)
}

fn commit_subject(repo: &Repo, id: ObjectId) -> Result<String> {
    let commit = repo.repo.find_commit(id)?;
    let msg = commit.message_raw_sloppy().to_string();
    Ok(msg.lines().next().unwrap_or_default().to_owned())
}

/// Writes the demo history into a new bare repository at `dir`; returns the tip.
pub fn build(dir: &Path) -> Result<ObjectId> {
    let repo = gix::init_bare(dir).with_context(|| format!("cannot create a repository at {}", dir.display()))?;
    let mut parent: Option<ObjectId> = None;
    for (i, step) in steps().into_iter().enumerate() {
        let mut files = BTreeMap::new();
        files.insert(
            "keps/sig-node/OWNERS".to_owned(),
            "approvers:\n  - sig-node-leads\n".to_owned(),
        );
        files.insert(format!("{KEP_DIR}/kep.yaml"), step.kep_yaml);
        files.insert(format!("{KEP_DIR}/README.md"), step.readme);
        files.insert(PRR_FILE.to_owned(), step.prr);
        let tree = write_tree(&repo, &files)?;
        let time = format!("{} +0000", 1_714_000_000 + i as u64 * 86_400 * 30);
        let sig = gix::actor::SignatureRef {
            name: BStr::new("Jane Doe"),
            email: BStr::new("jane.doe@example.com"),
            time: &time,
        };
        let id = repo
            .commit_as(sig, sig, "HEAD", step.message, tree, parent)
            .context("cannot write a demo commit")?;
        parent = Some(id.detach());
    }
    parent.context("the demo has no commits")
}

/// Writes `files` (path -> content) as nested trees; returns the root tree.
fn write_tree(repo: &gix::Repository, files: &BTreeMap<String, String>) -> Result<ObjectId> {
    let mut blobs: BTreeMap<&str, ObjectId> = BTreeMap::new();
    let mut dirs: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (path, content) in files {
        match path.split_once('/') {
            Some((dir, rest)) => {
                dirs.entry(dir).or_default().insert(rest.to_owned(), content.clone());
            }
            None => {
                blobs.insert(path, repo.write_blob(content.as_bytes())?.detach());
            }
        }
    }
    let mut tree = gix::objs::Tree::empty();
    for (name, id) in blobs {
        tree.entries.push(Entry {
            mode: EntryKind::Blob.into(),
            filename: name.into(),
            oid: id,
        });
    }
    for (name, sub) in dirs {
        let id = write_tree(repo, &sub)?;
        tree.entries.push(Entry {
            mode: EntryKind::Tree.into(),
            filename: name.into(),
            oid: id,
        });
    }
    tree.entries.sort();
    Ok(repo.write_object(&tree)?.detach())
}

fn kep_yaml(stage: &str, latest: &str, milestones: &[(&str, &str)]) -> String {
    let milestones: String = milestones.iter().map(|(s, m)| format!("  {s}: \"{m}\"\n")).collect();
    format!(
        "title: Pod Frobnication\nkep-number: 4242\nauthors:\n  - \"@jane.doe\"\nowning-sig: sig-node\n\
         status: implementable\ncreation-date: 2024-04-25\n\
         reviewers:\n  - \"@alice.doe\"\napprovers:\n  - \"@oscar.doe\"\n\n\
         # The target maturity stage in the current dev cycle for this KEP.\nstage: {stage}\n\n\
         # The most recent milestone for which work toward delivery of this KEP has been done.\n\
         latest-milestone: \"{latest}\"\n\n\
         # The milestone at which this feature was, or is targeted to be, at each stage.\nmilestone:\n{milestones}\n\
         feature-gates:\n  - name: PodFrobnication\n    components:\n      - kubelet\n      - kube-apiserver\n\
         disable-supported: true\n\nmetrics:\n  - kubelet_pod_frobnications_total\n"
    )
}

/// The README in the KEP template's structure; `history` and `prr_extra` vary per step.
fn readme(summary: &str, prr_extra: &str, history: &str) -> String {
    format!(
        r#"# KEP-4242: Pod Frobnication

<!-- toc -->
- [Release Signoff Checklist](#release-signoff-checklist)
- [Summary](#summary)
- [Motivation](#motivation)
- [Proposal](#proposal)
- [Design Details](#design-details)
- [Production Readiness Review Questionnaire](#production-readiness-review-questionnaire)
- [Implementation History](#implementation-history)
<!-- /toc -->

## Release Signoff Checklist

- [x] (R) Enhancement issue in release milestone, which links to KEP dir in [kubernetes/enhancements]
- [x] (R) KEP approvers have approved the KEP status as `implementable`
- [x] (R) Design details are appropriately documented
- [x] (R) Production readiness review completed

## Summary

{summary}

## Motivation

### Goals

- Let the kubelet frobnicate pods without restarting them.

### Non-Goals

- Frobnicating nodes.

## Proposal

A new field `spec.frobnication` on Pod, honoured by the kubelet behind the
`PodFrobnication` feature gate.

### Risks and Mitigations

Frobnication is idempotent, so a retry after a kubelet restart is safe.

## Design Details

### Test Plan

[x] I/we understand the owners of the involved components may require updates to
existing tests to make this code solid enough prior to committing the changes necessary
to implement this enhancement.

##### Unit tests

- `pkg/kubelet/frob`: 2024-04-25 - 81%

### Graduation Criteria

#### Alpha

- Feature implemented behind a feature flag

#### Beta

- Gather feedback from developers

#### GA

- Two releases of soak time at beta

### Upgrade / Downgrade Strategy

Nothing to do: the field is ignored by kubelets without the feature.

### Version Skew Strategy

An old kubelet ignores the field; the API server drops it when the gate is off.

## Production Readiness Review Questionnaire

### Feature Enablement and Rollback

<!--
This section must be completed when targeting alpha to a release.
-->

###### How can this feature be enabled / disabled in a live cluster?

- [x] Feature gate (also fill in values in `kep.yaml`)
  - Feature gate name: PodFrobnication
  - Components depending on the feature gate: kubelet, kube-apiserver

###### Does enabling the feature change any default behavior?

No.

###### Can the feature be disabled once it has been enabled (i.e. can we roll back the enablement)?

Yes, by turning the gate off; frobnicated pods keep running.
{prr_extra}
## Implementation History

<!--
Major milestones in the lifecycle of a KEP should be tracked in this section.
-->

{history}
## Drawbacks

One more field on Pod.

## Alternatives

An annotation, rejected because annotations are not validated.
"#
    )
}

const SUMMARY: &str = "Pods can be frobnicated in place by the kubelet.";
const SUMMARY_TYPO: &str = "Pods can be frobnicated in place by the kubelet, without a restart.";

const PRR_BETA: &str = r#"
### Rollout, Upgrade and Rollback Planning

###### How can a rollout or rollback fail? Can it impact already running workloads?

A kubelet that crashes mid-frobnication retries on start; running workloads are not touched.

### Monitoring Requirements

###### How can an operator determine if the feature is in use by workloads?

`kubelet_pod_frobnications_total` is non-zero.

### Dependencies

###### Does this feature depend on any specific services running in the cluster?

No.

### Scalability

###### Will enabling / using this feature result in any new API calls?

No: the kubelet acts on the pod it already watches.

### Troubleshooting

###### What are other known failure modes?

A pod whose container runtime lacks frobnication support stays unfrobnicated; the kubelet
logs a warning and records an event.
"#;

fn steps() -> Vec<Step> {
    let h1 = "- 2024-04-25: KEP merged as implementable, alpha in v1.30\n";
    let h2 = "- 2024-04-25: KEP merged as implementable, alpha in v1.30\n- 2024-05-25: graduated to beta in v1.31\n";
    let h3 = "- 2024-04-25: KEP merged as implementable, alpha in v1.30\n- 2024-05-25: graduated to beta in v1.31\n- 2024-07-24: graduated to stable in v1.32\n";
    let h4_comment = "- 2024-04-25: KEP merged as implementable, alpha in v1.30\n- 2024-05-25: graduated to beta in v1.31\n- 2024-07-24: graduated to stable in v1.32\n<!-- - 2024-08-23: retargeted to v1.33 -->\n";
    let h5 = "- 2024-04-25: KEP merged as implementable, alpha in v1.30\n- 2024-05-25: graduated to beta in v1.31\n- 2024-07-24: graduated to stable in v1.32\n<!-- - 2024-08-23: retargeted to v1.33 -->\n- 2024-09-22: back to beta in v1.33\n";
    let alpha = [("alpha", "v1.30")];
    let beta = [("alpha", "v1.30"), ("beta", "v1.31")];
    let stable = [("alpha", "v1.30"), ("beta", "v1.31"), ("stable", "v1.32")];
    vec![
        Step {
            message: "KEP-4242: add Pod Frobnication as implementable for alpha",
            kep_yaml: kep_yaml("alpha", "v1.30", &alpha),
            readme: readme(SUMMARY, "", h1),
            prr: prr(&["alpha"]),
        },
        Step {
            message: "KEP-4242: graduate to beta in v1.31",
            kep_yaml: kep_yaml("beta", "v1.31", &beta),
            readme: readme(SUMMARY, PRR_BETA, h2),
            prr: prr(&["alpha", "beta"]),
        },
        Step {
            message: "KEP-4242: clarify the summary",
            kep_yaml: kep_yaml("beta", "v1.31", &beta),
            readme: readme(SUMMARY_TYPO, PRR_BETA, h2),
            prr: prr(&["alpha", "beta"]),
        },
        Step {
            message: "KEP-4242: graduate to stable in v1.32",
            kep_yaml: kep_yaml("stable", "v1.32", &stable),
            readme: readme(SUMMARY_TYPO, PRR_BETA, h3),
            prr: prr(&["alpha", "beta", "stable"]),
        },
        Step {
            message: "KEP-4242: retarget to v1.33",
            kep_yaml: kep_yaml("stable", "v1.33", &stable),
            readme: readme(SUMMARY_TYPO, PRR_BETA, h4_comment),
            prr: prr(&["alpha", "beta", "stable"]),
        },
        Step {
            message: "KEP-4242: move back to beta",
            kep_yaml: kep_yaml("beta", "v1.33", &stable),
            readme: readme(SUMMARY_TYPO, PRR_BETA, h5),
            prr: prr(&["alpha", "beta", "stable"]),
        },
    ]
}
