//! The Release Team's exceptions file: `releases/release-1.XX/exceptions.yaml` in
//! kubernetes/sig-release, one list per freeze (`enhancementFreeze`, `codeFreeze`, `docsFreeze`),
//! each entry naming the enhancement issue (the KEP number) and the request's `status`:
//!
//! ```yaml
//! enhancementFreeze:
//! - name: "Pod Level Resource Specifications"
//!   issue: 2837
//!   date_requested: 2024-06-18
//!   date_reviewed: 2024-06-20
//!   thread: https://groups.google.com/g/kubernetes-sig-release/c/8y4BOM8RoUM
//!   pull_requests:
//!     - https://github.com/kubernetes/enhancements/pull/4678
//!   status: "rejected"
//! ```
//!
//! PRR Freeze has no list in the files the Release Team kept; `prrFreeze`, in the same shape, is
//! read for `--freeze prr`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_yaml::Value;

use super::Freeze;
use crate::kep::metadata::render_scalar;

/// One exception request, as the file records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// The enhancement issue's number: the KEP number.
    pub issue: String,
    pub name: Option<String>,
    /// `approved`, `rejected`, `removed`, or whatever the file says; only `approved` excepts a KEP.
    pub status: String,
    pub date_reviewed: Option<String>,
    pub thread: Option<String>,
}

impl Exception {
    pub fn approved(&self) -> bool {
        self.status.eq_ignore_ascii_case("approved")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    #[serde(default)]
    enhancement_freeze: Option<Vec<Entry>>,
    #[serde(default)]
    prr_freeze: Option<Vec<Entry>>,
    #[serde(default)]
    #[allow(dead_code)]
    code_freeze: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    docs_freeze: Option<Value>,
}

#[derive(Deserialize)]
struct Entry {
    issue: Value,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    date_reviewed: Option<Value>,
    #[serde(default)]
    thread: Option<Value>,
}

/// The exception requests for `freeze` in the exceptions file at `path`.
pub fn read(path: &Path, freeze: Freeze) -> Result<Vec<Exception>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text, freeze).with_context(|| format!("{} is not an exceptions file", path.display()))
}

pub fn parse(text: &str, freeze: Freeze) -> Result<Vec<Exception>> {
    let file: File = serde_yaml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (list, key) = match freeze {
        Freeze::Enhancements => (file.enhancement_freeze, "enhancementFreeze"),
        Freeze::Prr => (file.prr_freeze, "prrFreeze"),
    };
    let text_of = |v: Option<Value>| v.as_ref().and_then(render_scalar);
    let mut out = Vec::new();
    for (i, e) in list.unwrap_or_default().into_iter().enumerate() {
        let issue = render_scalar(&e.issue)
            .map(|s| s.trim_start_matches('#').to_owned())
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
        let Some(issue) = issue else {
            bail!("entry {} of `{key}` has no issue number", i + 1);
        };
        out.push(Exception {
            issue,
            name: text_of(e.name),
            status: text_of(e.status).unwrap_or_else(|| "unknown".into()),
            date_reviewed: text_of(e.date_reviewed),
            thread: text_of(e.thread),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "enhancementFreeze:\n- name: \"Pod Level Resource Specifications\"\n  issue: 2837\n  \
        date_requested: 2024-06-18\n  date_reviewed: 2024-06-20\n  thread: https://groups.google.com/g/x\n  \
        pull_requests:\n    - https://github.com/kubernetes/enhancements/pull/4678\n  status: \"rejected\"\n\
        - name: Other\n  issue: \"#4444\"\n  status: approved\ncodeFreeze:\n- name: Late\n  issue: 1\n  status: approved\n";

    #[test]
    fn the_release_teams_file_is_read_per_freeze() {
        let e = parse(FILE, Freeze::Enhancements).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].issue, "2837");
        assert_eq!(e[0].status, "rejected");
        assert!(!e[0].approved());
        assert_eq!(e[0].date_reviewed.as_deref(), Some("2024-06-20"));
        assert_eq!(e[1].issue, "4444");
        assert!(e[1].approved());
        assert!(parse(FILE, Freeze::Prr).unwrap().is_empty());
    }

    #[test]
    fn an_entry_without_an_issue_number_is_refused() {
        let err = parse("enhancementFreeze:\n- name: x\n  issue: soon\n", Freeze::Enhancements).unwrap_err();
        assert_eq!(err.to_string(), "entry 1 of `enhancementFreeze` has no issue number");
        assert!(parse("- a\n- b\n", Freeze::Enhancements).is_err());
    }
}
