//! GitHub Actions events: which range a workflow run checks.
//!
//! The range comes from the event payload, never from `GITHUB_SHA` (for pull requests that is a
//! test merge commit).

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// What to compare, as named by the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// `merge-base(base, head)` against `head`, as a pull request shows it.
    MergeBase {
        base: String,
        head: String,
        base_field: &'static str,
        head_field: &'static str,
    },
    /// `head` against its first parent (a root commit against the empty tree).
    Parent { head: String, head_field: &'static str },
}

impl Plan {
    /// One line saying what will be checked and why.
    pub fn describe(&self, event: &str) -> String {
        match self {
            Plan::MergeBase { base, head, .. } => {
                format!(
                    "{event}: checking merge-base({}, {}) .. {}",
                    short(base),
                    short(head),
                    short(head)
                )
            }
            Plan::Parent { head, .. } => format!("{event}: checking {0}^ .. {0}", short(head)),
        }
    }
}

impl Plan {
    /// The plan as one line for scripts: `merge-base BASE HEAD` or `parent HEAD`.
    pub fn machine(&self) -> String {
        match self {
            Plan::MergeBase { base, head, .. } => format!("merge-base {base} {head}"),
            Plan::Parent { head, .. } => format!("parent {head}"),
        }
    }
}

fn short(rev: &str) -> &str {
    if rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        &rev[..12]
    } else {
        rev
    }
}

fn is_zero(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// Reads the event named `name` from the payload file at `path`.
pub fn plan_from_file(name: &str, path: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the event payload {} (GITHUB_EVENT_PATH)", path.display()))?;
    let payload: Value =
        serde_json::from_str(&text).with_context(|| format!("the event payload {} is not JSON", path.display()))?;
    plan(name, &payload)
}

/// The plan for event `name` with `payload`.
pub fn plan(name: &str, payload: &Value) -> Result<Plan> {
    let field = |path: &'static str| -> Result<String> {
        let v = path.split('.').fold(payload, |v, k| &v[k]);
        match v.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => bail!("the {name} event payload has no `{path}`"),
        }
    };
    Ok(match name {
        "pull_request" | "pull_request_target" => Plan::MergeBase {
            base: field("pull_request.base.sha")?,
            head: field("pull_request.head.sha")?,
            base_field: "pull_request.base.sha",
            head_field: "pull_request.head.sha",
        },
        "merge_group" => Plan::MergeBase {
            base: field("merge_group.base_sha")?,
            head: field("merge_group.head_sha")?,
            base_field: "merge_group.base_sha",
            head_field: "merge_group.head_sha",
        },
        "push" => {
            let after = field("after")?;
            // A new branch adds what it holds beyond the default branch, not only its tip.
            let default = payload["repository"]["default_branch"]
                .as_str()
                .filter(|b| safe_branch(b) && payload["ref"].as_str() != Some(&format!("refs/heads/{b}")));
            match payload["before"].as_str() {
                None | Some("") => new_branch(after, default),
                Some(before) if is_zero(before) => new_branch(after, default),
                // Fast-forward or forced: the merge-base is `before` or where the histories meet.
                Some(before) => Plan::MergeBase {
                    base: before.to_owned(),
                    head: after,
                    base_field: "before",
                    head_field: "after",
                },
            }
        }
        _ => Plan::Parent {
            head: "HEAD".into(),
            head_field: "HEAD",
        },
    })
}

/// A new branch: against where it left the default branch, when the event names one; else (the
/// default branch itself, first pushed) against the tip's first parent.
fn new_branch(after: String, default: Option<&str>) -> Plan {
    match default {
        Some(branch) => Plan::MergeBase {
            base: format!("origin/{branch}"),
            head: after,
            base_field: "repository.default_branch",
            head_field: "after",
        },
        None => Plan::Parent {
            head: after,
            head_field: "after",
        },
    }
}

/// A branch name the action may put in a refspec: no spaces, no `..`, no leading `-`.
fn safe_branch(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.contains("..")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b))
}

/// The error for a commit the clone does not have.
pub fn missing_commit(sha: &str, field: &str) -> String {
    format!(
        "commit {sha} ({field}) is not in this clone, which is probably shallow: use `fetch-depth: 0` with actions/checkout, or let the kepguard action deepen the clone"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn pull_requests_and_merge_groups_use_their_base_and_head() {
        let pr = json!({"pull_request": {"base": {"sha": A}, "head": {"sha": B}}});
        for name in ["pull_request", "pull_request_target"] {
            assert!(matches!(plan(name, &pr).unwrap(), Plan::MergeBase { base, head, .. } if base == A && head == B));
        }
        let mg = json!({"merge_group": {"base_sha": A, "head_sha": B}});
        assert!(matches!(plan("merge_group", &mg).unwrap(), Plan::MergeBase { base, .. } if base == A));
        let err = plan("pull_request", &json!({"pull_request": {}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pull_request.base.sha"), "{err}");
    }

    #[test]
    fn pushes_use_before_unless_it_is_zero_or_missing() {
        let push = |before: Value| json!({"before": before, "after": B, "forced": true});
        assert!(matches!(plan("push", &push(json!(A))).unwrap(), Plan::MergeBase { base, .. } if base == A));
        for before in [json!(Z), Value::Null, json!("")] {
            assert_eq!(
                plan("push", &push(before)).unwrap(),
                Plan::Parent {
                    head: B.into(),
                    head_field: "after"
                }
            );
        }
    }

    #[test]
    fn a_new_branch_is_checked_from_the_default_branch_it_left() {
        let p = plan(
            "push",
            &json!({"before": Z, "after": B, "ref": "refs/heads/feature", "repository": {"default_branch": "main"}}),
        )
        .unwrap();
        assert!(
            matches!(p, Plan::MergeBase { ref base, .. } if base == "origin/main"),
            "{p:?}"
        );
        // The default branch itself, or a name unfit for a refspec: the tip against its parent.
        for (r, d) in [
            ("refs/heads/main", "main"),
            ("refs/heads/x", "a b"),
            ("refs/heads/x", ".."),
        ] {
            let p = plan(
                "push",
                &json!({"before": Z, "after": B, "ref": r, "repository": {"default_branch": d}}),
            );
            assert!(matches!(p.unwrap(), Plan::Parent { .. }), "{r} {d}");
        }
    }

    #[test]
    fn other_events_check_the_last_commit_and_say_so() {
        let p = plan("workflow_dispatch", &json!({})).unwrap();
        assert_eq!(
            p,
            Plan::Parent {
                head: "HEAD".into(),
                head_field: "HEAD"
            }
        );
        assert_eq!(
            p.describe("workflow_dispatch"),
            "workflow_dispatch: checking HEAD^ .. HEAD"
        );
    }
}
