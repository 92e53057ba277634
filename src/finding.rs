//! Findings: what rules report, and the report every output format renders.

use gix::ObjectId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    /// A finding the policy waives: reported, never failing.
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// Where a finding points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Repository-relative file path.
    pub path: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// The text of that line, for a snippet.
    pub snippet: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub commit: ObjectId,
    /// The KEP directory (legacy: its file).
    pub kep: String,
    pub number: String,
    pub location: Location,
    /// What is wrong, naming the KEP and the transition.
    pub title: String,
    /// How to fix it.
    pub help: String,
    pub notes: Vec<String>,
    /// An edit of the work tree that resolves the finding, applied by `kepguard fix`.
    pub fix: Option<Fix>,
}

/// An edit a rule offers for its finding: safe, local, and re-checked after `kepguard fix` writes
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// The repository-relative file it edits.
    pub path: String,
    pub edit: Edit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Insert `text` (whole lines) after 1-based line `after` (0: at the top).
    Insert { after: usize, text: String },
    /// Append `text` at the end of the file, after a blank line.
    Append { text: String },
    /// On 1-based line `line`, replace the first `from` after its first `:` with `to`.
    Replace { line: usize, from: String, to: String },
    /// Create the file, which must not exist, with `text`.
    Create { text: String },
}

impl Finding {
    /// The self-contained message: what is wrong and how to fix it, in one read.
    pub fn message(&self) -> String {
        format!("{}; {}", self.title, self.help)
    }

    /// Stable across commits and line moves: the same problem in the same KEP file keeps its
    /// identity, so code scanning, GitLab and a baseline recognise it from one run to the next.
    pub fn fingerprint(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for part in [
            self.rule,
            self.kep.as_str(),
            self.location.path.as_str(),
            self.title.as_str(),
        ] {
            for b in part.bytes().chain(std::iter::once(0)) {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        format!("{hash:016x}")
    }
}

/// Everything a run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub commits_checked: usize,
    pub keps_checked: usize,
    pub findings: Vec<Finding>,
    /// KEPs were judged as they stand in one tree (`validate`), not as changes.
    pub tree: bool,
    /// The paths of the KEPs checked, each once, for reports that list the clean ones too (JUnit).
    pub keps: std::collections::BTreeSet<String>,
    /// Where the policy that judged the run came from, when one policy did: `.kepguard.yaml at
    /// <commit>`, a file given with `--policy`, or the built-in defaults.
    pub policy: Option<String>,
}

/// How many findings of each severity one rule reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCounts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
}

/// `3 errors`, `1 warning`.
pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

impl Report {
    /// What was checked, for summaries: `655 KEPs`, or `12 KEP changes in 3 commits`.
    pub fn checked(&self) -> String {
        match self.tree {
            true => plural(self.keps_checked, "KEP"),
            false => format!(
                "{} in {}",
                plural(self.keps_checked, "KEP change"),
                plural(self.commits_checked, "commit")
            ),
        }
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    /// The counts of each rule that reported anything, in the registry's order (`rules::ALL`),
    /// so that every output lists rules alike.
    pub fn per_rule(&self) -> Vec<(&'static str, RuleCounts)> {
        let mut counts: Vec<(&'static str, RuleCounts)> = Vec::new();
        for f in &self.findings {
            let i = match counts.iter().position(|(id, _)| *id == f.rule) {
                Some(i) => i,
                None => {
                    counts.push((f.rule, RuleCounts::default()));
                    counts.len() - 1
                }
            };
            let c = &mut counts[i].1;
            match f.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Note => c.notes += 1,
            }
        }
        let rank = |id: &str| {
            crate::rules::ALL
                .iter()
                .position(|r| r.info().id == id)
                .unwrap_or(usize::MAX)
        };
        counts.sort_by_key(|(id, _)| rank(id));
        counts
    }
}

impl Report {
    /// Adds another run's counts and findings to this one.
    pub fn absorb(&mut self, other: Report) {
        self.commits_checked += other.commits_checked;
        self.keps_checked += other.keps_checked;
        self.findings.extend(other.findings);
        self.keps.extend(other.keps);
    }
}
