//! Differential test against upstream kepval (`../shared/kepval/`): `kepguard validate` must give
//! kepval's accept/reject verdict on every generated work tree. Each case is real KEP material from
//! the corpus tip (`../shared/corpus/`) with one textual mutation; both tools judge it, and every
//! disagreement is listed on stderr and in `target/kepval-parity.txt`.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::Value;

use common::clone_corpus;

/// An implementable KEP at beta, latest-milestone v1.37, PRR approval for beta.
const BETA: &str = "keps/sig-scheduling/5598-opportunistic-batching";
const BETA_PRR: &str = "keps/prod-readiness/sig-scheduling/5598.yaml";
/// An implemented KEP at stable, latest-milestone v1.24, PRR approval for stable.
const STABLE: &str = "keps/sig-storage/1490-csi-migration-azuredisk";
const STABLE_PRR: &str = "keps/prod-readiness/sig-storage/1490.yaml";
/// A provisional KEP: no stage, no milestones, no PRR file.
const PROV: &str = "keps/sig-cloud-provider/668-out-of-tree-gce";
/// An implemented KEP whose latest-milestone (v1.12) predates PRR; no PRR file.
const OLD: &str = "keps/sig-network/566-coredns-default";
/// An implementable KEP on the deprecation track (stage deprecated, v1.37).
const DEPR: &str = "keps/sig-network/5495-deprecate-ipvs-mode-in-kube-proxy";
const DEPR_PRR: &str = "keps/prod-readiness/sig-network/5495.yaml";

const TEMPLATE_YAML: &str = "keps/NNNN-kep-template/kep.yaml";
const TEMPLATE_README: &str = "keps/NNNN-kep-template/README.md";
const KEPS_README: &str = "keps/README.md";
const ALIASES: &str = "OWNERS_ALIASES";

/// Files of the corpus tip every case starts from.
const BASE_FILES: &[&str] = &[
    KEPS_README,
    TEMPLATE_README,
    TEMPLATE_YAML,
    ALIASES,
    "keps/prod-readiness/README.md",
    "keps/prod-readiness/OWNERS",
    BETA_PRR,
    STABLE_PRR,
    DEPR_PRR,
];
const KEPS: &[&str] = &[BETA, STABLE, PROV, OLD, DEPR];

#[derive(Clone)]
enum Node {
    File(Vec<u8>),
    Link(String),
}

type Tree = BTreeMap<String, Node>;

struct Case {
    name: String,
    tree: Tree,
}

#[test]
fn kepguard_validate_gives_kepvals_verdict() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let kepval_dir = shared.join("kepval");
    if !kepval_dir.join("build.sh").exists() {
        eprintln!("skipping: kepval not found at ../shared/kepval/");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(clone) = clone_corpus(tmp.path(), "corpus.git") else {
        return;
    };
    let Some(kepval) = build_kepval(&kepval_dir, &tmp.path().join("kepval")) else {
        return;
    };

    let cases = generate(&clone, &kepval_dir);
    let mut names = std::collections::HashSet::new();
    for c in &cases {
        assert!(names.insert(c.name.as_str()), "duplicate case name {}", c.name);
    }

    let start = Instant::now();
    let outcomes = run_all(&kepval, &cases, tmp.path());
    let elapsed = start.elapsed();

    let disagreements: Vec<&Outcome> = outcomes.iter().filter(|o| o.disagrees()).collect();
    let mut report = String::new();
    writeln!(
        report,
        "kepval parity: kepguard validate vs upstream kepval, {} cases\n",
        outcomes.len()
    )
    .unwrap();
    writeln!(report, "== disagreements ({})\n", disagreements.len()).unwrap();
    writeln!(report, "{:<56} {:<8} {:<8}", "case", "kepval", "kepguard").unwrap();
    for o in &disagreements {
        writeln!(report, "{:<56} {:<8} {:<8}", o.name, o.kepval.0, o.kepguard.0).unwrap();
        for line in o.kepval.1.lines() {
            writeln!(report, "    kepval:   {line}").unwrap();
        }
        for line in o.kepguard.1.lines() {
            writeln!(report, "    kepguard: {line}").unwrap();
        }
    }
    writeln!(report, "\n== every case\n").unwrap();
    for o in &outcomes {
        let mark = if o.disagrees() { "DIFF" } else { "ok" };
        writeln!(
            report,
            "{mark:<5} {:<56} kepval={:<7} kepguard={}",
            o.name, o.kepval.0, o.kepguard.0
        )
        .unwrap();
    }
    let totals = format!(
        "{} cases, {} disagreements ({:.1}s)",
        outcomes.len(),
        disagreements.len(),
        elapsed.as_secs_f64()
    );
    writeln!(report, "\n{totals}").unwrap();

    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("kepval-parity.txt"), &report).unwrap();
    let shown = report.split("\n== every case").next().unwrap();
    eprintln!("{shown}\n{totals}\n(full list in target/kepval-parity.txt)");

    assert!(outcomes.len() >= 300, "only {} cases", outcomes.len());
    assert!(disagreements.is_empty(), "{totals}");
}

/// Builds `kepvalrun` into `out`; `None`, with a skip message, where Go is not to be had.
fn build_kepval(kepval_dir: &Path, out: &Path) -> Option<PathBuf> {
    let run = Command::new("bash")
        .arg(kepval_dir.join("build.sh"))
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    if !run.status.success() {
        let go = Command::new("sh").args(["-c", "command -v go"]).output();
        if go.map(|o| !o.status.success()).unwrap_or(true) {
            eprintln!("skipping: kepval's build.sh failed and Go is not installed:\n{stderr}");
            return None;
        }
        panic!("kepval's build.sh failed:\n{stderr}");
    }
    let stdout = String::from_utf8(run.stdout).unwrap();
    let path = PathBuf::from(stdout.lines().last().expect("build.sh prints a path").trim());
    assert!(
        path.exists(),
        "build.sh printed {path:?}, which does not exist; stderr:\n{stderr}"
    );
    Some(path)
}

// ---------------------------------------------------------------------------------------------
// Running

struct Outcome {
    name: String,
    /// Verdict (`accept`/`reject`/`exit N`) and details.
    kepval: (String, String),
    kepguard: (String, String),
}

impl Outcome {
    fn disagrees(&self) -> bool {
        self.kepval.0 != self.kepguard.0
    }
}

fn run_all(kepval: &Path, cases: &[Case], tmp: &Path) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    let outcome = run_case(kepval, case, &tmp.join(format!("case-{i}")));
                    results.lock().unwrap().push((i, outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, o)| o).collect()
}

fn run_case(kepval: &Path, case: &Case, dir: &Path) -> Outcome {
    std::fs::create_dir_all(dir).unwrap();
    write_tree(dir, &case.tree);

    let kv = Command::new(kepval).arg(dir).output().expect("kepvalrun runs");
    let kv_stdout = String::from_utf8_lossy(&kv.stdout);
    let kepval_verdict = match kv.status.code() {
        Some(0) => "accept".to_owned(),
        Some(1) => "reject".to_owned(),
        // A panic (exit 2) fails kepval's CI test as surely as an error does.
        Some(2) if String::from_utf8_lossy(&kv.stderr).contains("panic:") => "reject".to_owned(),
        other => format!("exit {other:?}"),
    };
    let kepval_detail = match serde_json::from_str::<Value>(kv_stdout.trim()) {
        Ok(doc) => {
            let mut s = String::new();
            if let Some(f) = doc["fatal"].as_str() {
                writeln!(s, "fatal: {f}").unwrap();
            }
            for (path, errs) in doc["errors"].as_object().into_iter().flatten() {
                for e in errs.as_array().into_iter().flatten() {
                    writeln!(s, "{path}: {}", e.as_str().unwrap_or_default()).unwrap();
                }
            }
            s
        }
        Err(_) => {
            let stderr = String::from_utf8_lossy(&kv.stderr);
            let first: Vec<&str> = stderr.lines().take(3).collect();
            format!("no JSON; stderr: {}", first.join(" | "))
        }
    };
    // Paths as the case's own, not the temporary directory's.
    let kepval_detail = kepval_detail.replace(&format!("{}/", dir.display()), "");

    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "case"],
    ] {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "{}: git {args:?}: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let kg = Command::new(env!("CARGO_BIN_EXE_kepguard"))
        .args(["validate", "--format", "json"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("kepguard runs");
    let code = kg.status.code();
    let kepguard_verdict = match code {
        Some(0) => "accept".to_owned(),
        Some(1) => "reject".to_owned(),
        other => format!("exit {}", other.map_or("signal".to_owned(), |c| c.to_string())),
    };
    let kepguard_detail = match (code, serde_json::from_slice::<Value>(&kg.stdout)) {
        (Some(0 | 1), Ok(doc)) => {
            let mut s = String::new();
            for f in doc["findings"].as_array().into_iter().flatten() {
                if f["severity"] == "error" {
                    writeln!(
                        s,
                        "{} {}: {}",
                        f["rule"].as_str().unwrap_or("?"),
                        f["path"].as_str().unwrap_or(""),
                        f["message"].as_str().unwrap_or("")
                    )
                    .unwrap();
                }
            }
            if s.is_empty() {
                "no error findings".to_owned()
            } else {
                s
            }
        }
        _ => format!("stderr: {}", String::from_utf8_lossy(&kg.stderr).trim()),
    };
    let _ = std::fs::remove_dir_all(dir);
    Outcome {
        name: case.name.clone(),
        kepval: (kepval_verdict, kepval_detail),
        kepguard: (kepguard_verdict, kepguard_detail),
    }
}

fn write_tree(root: &Path, tree: &Tree) {
    for (path, node) in tree {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        match node {
            Node::File(bytes) => std::fs::write(&p, bytes).unwrap(),
            Node::Link(target) => std::os::unix::fs::symlink(target, &p).unwrap(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Material

/// `git show HEAD:path` of the corpus clone.
fn show(clone: &Path, path: &str) -> Vec<u8> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(clone)
        .args(["show", &format!("HEAD:{path}")])
        .output()
        .expect("git runs");
    assert!(out.status.success(), "the corpus tip lacks {path}");
    out.stdout
}

/// The whole tree of the corpus tip.
fn corpus_tree(clone: &Path) -> Tree {
    let ls = Command::new("git")
        .arg("--git-dir")
        .arg(clone)
        .args(["ls-tree", "-r", "-z", "HEAD"])
        .output()
        .expect("git runs");
    let entries: Vec<(String, String, String)> = String::from_utf8(ls.stdout)
        .unwrap()
        .split('\0')
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (meta, path) = e.split_once('\t').unwrap();
            let mut m = meta.split(' ');
            let mode = m.next().unwrap().to_owned();
            let _kind = m.next();
            (mode, m.next().unwrap().to_owned(), path.to_owned())
        })
        .filter(|(mode, _, _)| mode != "160000")
        .collect();
    let mut cat = Command::new("git")
        .arg("--git-dir")
        .arg(clone)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git runs");
    let mut stdin = cat.stdin.take().unwrap();
    let ids: String = entries.iter().map(|(_, id, _)| format!("{id}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(ids.as_bytes()).unwrap());
    let out = cat.wait_with_output().unwrap();
    writer.join().unwrap();
    let mut rest = &out.stdout[..];
    let mut tree = Tree::new();
    for (mode, _, path) in entries {
        let nl = rest.iter().position(|&b| b == b'\n').unwrap();
        let header = std::str::from_utf8(&rest[..nl]).unwrap();
        let size: usize = header.rsplit(' ').next().unwrap().parse().unwrap();
        let body = rest[nl + 1..nl + 1 + size].to_vec();
        rest = &rest[nl + 2 + size..];
        let node = if mode == "120000" {
            Node::Link(String::from_utf8(body).unwrap())
        } else {
            Node::File(body)
        };
        tree.insert(path, node);
    }
    tree
}

/// A directory of the file system as a tree (symlinks kept as links).
fn fs_tree(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, tree: &mut Tree) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
            let ft = entry.file_type().unwrap();
            if ft.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                tree.insert(rel, Node::Link(target.to_str().unwrap().to_owned()));
            } else if ft.is_dir() {
                walk(root, &path, tree);
            } else {
                tree.insert(rel, Node::File(std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut tree = Tree::new();
    walk(root, root, &mut tree);
    tree
}

fn text(tree: &Tree, path: &str) -> String {
    match tree.get(path) {
        Some(Node::File(b)) => String::from_utf8(b.clone()).unwrap(),
        _ => panic!("{path} is not a file of the case"),
    }
}

fn put(tree: &mut Tree, path: &str, content: impl Into<Vec<u8>>) {
    tree.insert(path.to_owned(), Node::File(content.into()));
}

fn edit(tree: &mut Tree, path: &str, f: impl FnOnce(&str) -> String) {
    let new = f(&text(tree, path));
    put(tree, path, new);
}

fn remove_under(tree: &mut Tree, dir: &str) {
    let prefix = format!("{dir}/");
    tree.retain(|p, _| p != dir && !p.starts_with(&prefix));
}

// ---------------------------------------------------------------------------------------------
// Text edits of YAML as written (no re-serialisation: comments and quoting stay real)

/// The line range `[start, end)` of top-level `key`'s block: its line and the indented or
/// compact-sequence lines after it.
fn block(lines: &[&str], key: &str) -> Option<(usize, usize)> {
    let start = lines
        .iter()
        .position(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':')))?;
    let mut end = start + 1;
    while end < lines.len() {
        let l = lines[end];
        let cont = l.starts_with(' ') || l.starts_with('\t') || (l.starts_with('-') && !l.starts_with("---"));
        if !cont {
            break;
        }
        end += 1;
    }
    Some((start, end))
}

/// Replaces top-level `key`'s block with `repl` (lines, no trailing newline; empty drops it), or
/// appends `repl` where the key is absent.
fn set_key(yaml: &str, key: &str, repl: &str) -> String {
    let lines: Vec<&str> = yaml.split_inclusive('\n').collect();
    let mut out = String::new();
    match block(&lines, key) {
        Some((start, end)) => {
            out.extend(lines[..start].iter().copied());
            if !repl.is_empty() {
                out.push_str(repl);
                out.push('\n');
            }
            out.extend(lines[end..].iter().copied());
        }
        None => {
            assert!(!repl.is_empty(), "no `{key}` to drop");
            out = append(yaml, repl);
        }
    }
    out
}

fn drop_key(yaml: &str, key: &str) -> String {
    set_key(yaml, key, "")
}

/// Replaces the first occurrence of `from`, which must be there.
fn sub(yaml: &str, from: &str, to: &str) -> String {
    assert!(yaml.contains(from), "`{from}` not found in\n{yaml}");
    yaml.replacen(from, to, 1)
}

/// Appends lines, after a newline where the text lacks a final one.
fn append(yaml: &str, extra: &str) -> String {
    let mut s = yaml.to_owned();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(extra);
    s.push('\n');
    s
}

fn kep_yaml(dir: &str) -> String {
    format!("{dir}/kep.yaml")
}

// ---------------------------------------------------------------------------------------------
// Cases

struct Gen {
    base: Tree,
    cases: Vec<Case>,
}

impl Gen {
    fn case(&mut self, name: impl Into<String>, f: impl FnOnce(&mut Tree)) {
        let mut tree = self.base.clone();
        f(&mut tree);
        self.cases.push(Case {
            name: name.into(),
            tree,
        });
    }

    /// A case editing `dir`'s kep.yaml.
    fn kep(&mut self, dir: &str, name: &str, f: impl FnOnce(&str) -> String) {
        let short = short(dir);
        self.case(format!("kep/{short}/{name}"), |t| edit(t, &kep_yaml(dir), f));
    }

    /// A case editing a PRR approval file.
    fn prr(&mut self, prr: &str, name: &str, f: impl FnOnce(&str) -> String) {
        let short = prr.rsplit('/').next().unwrap().trim_end_matches(".yaml");
        self.case(format!("prr/{short}/{name}"), |t| edit(t, prr, f));
    }

    fn aliases(&mut self, name: &str, f: impl FnOnce(&str) -> String) {
        self.case(format!("aliases/{name}"), |t| edit(t, ALIASES, f));
    }
}

fn short(dir: &str) -> &'static str {
    match dir {
        BETA => "beta",
        STABLE => "stable",
        PROV => "prov",
        OLD => "old",
        DEPR => "depr",
        _ => panic!("no short name for {dir}"),
    }
}

fn generate(clone: &Path, kepval_dir: &Path) -> Vec<Case> {
    let mut base = Tree::new();
    for f in BASE_FILES {
        put(&mut base, f, show(clone, f));
    }
    for k in KEPS {
        for f in ["README.md", "kep.yaml"] {
            put(&mut base, &format!("{k}/{f}"), show(clone, &format!("{k}/{f}")));
        }
    }
    // The chosen KEPs are what their constants say.
    let field = |dir: &str, key: &str| {
        let y = text(&base, &kep_yaml(dir));
        y.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .map(|v| v.trim().trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    assert_eq!(
        (field(BETA, "status"), field(BETA, "stage")),
        ("implementable".into(), "beta".into())
    );
    assert!(field(BETA, "latest-milestone").starts_with("v1.3"));
    assert_eq!(
        (field(STABLE, "status"), field(STABLE, "stage")),
        ("implemented".into(), "stable".into())
    );
    assert_eq!(field(PROV, "status"), "provisional");
    assert_eq!(field(OLD, "latest-milestone"), "v1.12");
    assert_eq!(field(DEPR, "stage"), "deprecated");

    let mut g = Gen {
        base,
        cases: Vec::new(),
    };
    g.case("base", |_| {});
    kep_yaml_cases(&mut g);
    prr_cases(&mut g);
    alias_cases(&mut g);
    tree_cases(&mut g);
    fixture_cases(&mut g, clone, kepval_dir);
    g.cases
}

fn kep_yaml_cases(g: &mut Gen) {
    // Required fields: dropped, null, empty.
    for dir in [BETA, PROV] {
        for key in ["title", "kep-number", "authors", "owning-sig", "approvers", "status"] {
            g.kep(dir, &format!("{key}/drop"), |y| drop_key(y, key));
            g.kep(dir, &format!("{key}/null-empty"), |y| {
                set_key(y, key, &format!("{key}:"))
            });
            g.kep(dir, &format!("{key}/null-tilde"), |y| {
                set_key(y, key, &format!("{key}: ~"))
            });
            g.kep(dir, &format!("{key}/empty-string"), |y| {
                set_key(y, key, &format!("{key}: \"\""))
            });
        }
    }
    // Enums misspelt.
    for dir in [BETA, STABLE, PROV] {
        for (n, v) in [
            ("implementeable", "implementeable"),
            ("capitalised", "Implementable"),
            ("trailing-space", "\"implementable \""),
            ("unknown", "monkeys"),
        ] {
            g.kep(dir, &format!("status/{n}"), |y| {
                set_key(y, "status", &format!("status: {v}"))
            });
        }
    }
    for dir in [BETA, STABLE, PROV, OLD, DEPR] {
        for (n, v) in [
            ("Beta", "Beta"),
            ("GA", "GA"),
            ("betta", "betta"),
            ("trailing-space", "\"beta \""),
        ] {
            g.kep(dir, &format!("stage/{n}"), |y| {
                set_key(y, "stage", &format!("stage: {v}"))
            });
        }
    }
    // latest-milestone variants, with and without the PRR approval file.
    let milestones: &[(&str, Option<&str>)] = &[
        ("TBD", Some("latest-milestone: TBD")),
        ("V1.37", Some("latest-milestone: V1.37")),
        ("v1.x", Some("latest-milestone: v1.x")),
        ("list-like", Some("latest-milestone: 1.37,1.38")),
        ("unquoted-1.30", Some("latest-milestone: 1.30")),
        ("unquoted-v1.37", Some("latest-milestone: v1.37")),
        ("prerelease-v1.21", Some("latest-milestone: \"v1.21.0-alpha.1\"")),
        ("v1.21", Some("latest-milestone: \"v1.21\"")),
        ("v1.20", Some("latest-milestone: v1.20")),
        ("v1", Some("latest-milestone: \"v1\"")),
        ("spaces", Some("latest-milestone: \" v1.37 \"")),
        ("leading-zero", Some("latest-milestone: \"v01.37\"")),
        ("empty", Some("latest-milestone: \"\"")),
        ("null", Some("latest-milestone:")),
        ("missing", None),
    ];
    for dir in [BETA, STABLE, OLD] {
        let prr = match dir {
            BETA => Some(BETA_PRR),
            STABLE => Some(STABLE_PRR),
            _ => None,
        };
        for (n, line) in milestones {
            let f = |y: &str| match line {
                Some(l) => set_key(y, "latest-milestone", l),
                None => drop_key(y, "latest-milestone"),
            };
            g.kep(dir, &format!("latest-milestone/{n}"), f);
            if let Some(prr) = prr {
                g.case(format!("kep/{}/latest-milestone/{n}/no-prr", short(dir)), |t| {
                    edit(t, &kep_yaml(dir), f);
                    t.remove(prr);
                });
            }
        }
        g.kep(dir, "stage/missing", |y| drop_key(y, "stage"));
        g.kep(dir, "stage/empty", |y| set_key(y, "stage", "stage: \"\""));
        g.kep(dir, "stage/null", |y| set_key(y, "stage", "stage:"));
    }
    // Wrong types at every level.
    for dir in [BETA, PROV] {
        let beta_line = if dir == BETA { "  beta: \"v1.35\"" } else { "" };
        for (n, key, repl) in [
            ("title-list", "title", "title: [x]"),
            ("title-map", "title", "title: {a: b}"),
            ("stage-list", "stage", "stage: [beta]"),
            ("milestone-list", "milestone", "milestone: [v1.35]"),
            ("milestone-string", "milestone", "milestone: \"v1\""),
            ("authors-string", "authors", "authors: \"@a\""),
            ("authors-nested", "authors", "authors: [[\"@a\"]]"),
            ("authors-map", "authors", "authors: {a: \"@a\"}"),
            ("approvers-string", "approvers", "approvers: \"@a\""),
            ("reviewers-string", "reviewers", "reviewers: \"@a\""),
            (
                "participating-sigs-string",
                "participating-sigs",
                "participating-sigs: sig-node",
            ),
            (
                "feature-gates-components-scalar",
                "feature-gates",
                "feature-gates: [{name: X, components: kubelet}]",
            ),
            ("feature-gates-scalar", "feature-gates", "feature-gates: x"),
            (
                "feature-gates-name-list",
                "feature-gates",
                "feature-gates: [{name: [X], components: [kubelet]}]",
            ),
            (
                "disable-supported-maybe",
                "disable-supported",
                "disable-supported: \"maybe\"",
            ),
            (
                "disable-supported-list",
                "disable-supported",
                "disable-supported: [true]",
            ),
            ("metrics-scalar", "metrics", "metrics: x"),
            ("creation-date-map", "creation-date", "creation-date: {y: 2025}"),
            ("status-list", "status", "status: [implementable]"),
            ("kep-number-list", "kep-number", "kep-number: [1]"),
            ("see-also-scalar", "see-also", "see-also: x"),
        ] {
            g.kep(dir, &format!("type/{n}"), |y| set_key(y, key, repl));
        }
        if dir == BETA {
            g.kep(dir, "type/milestone-beta-list", |y| {
                sub(y, beta_line, "  beta: [v1.35]")
            });
            g.kep(dir, "type/milestone-beta-map", |y| {
                sub(y, beta_line, "  beta: {v: 1.35}")
            });
            g.kep(dir, "type/milestone-beta-unquoted", |y| {
                sub(y, beta_line, "  beta: v1.35")
            });
            g.kep(dir, "type/milestone-beta-float", |y| sub(y, beta_line, "  beta: 1.35"));
        }
    }
    // Unknown keys at every level.
    for dir in [BETA, PROV] {
        g.kep(dir, "unknown/top", |y| append(y, "foo: bar"));
        g.kep(dir, "unknown/prr-approvers", |y| {
            append(y, "prr-approvers:\n  - \"@wojtek-t\"")
        });
        g.kep(dir, "unknown/prr-approvers-empty", |y| append(y, "prr-approvers:"));
        g.kep(dir, "unknown/capitalised-Title", |y| append(y, "Title: X"));
        g.kep(dir, "unknown/json-name-kepNumber", |y| append(y, "kepNumber: \"1\""));
        g.kep(dir, "unknown/milestone-key", |y| {
            set_key(y, "milestone", "milestone:\n  beta: \"v1.35\"\n  gamma: \"v1.40\"")
        });
        g.kep(dir, "unknown/feature-gate-key", |y| {
            set_key(
                y,
                "feature-gates",
                "feature-gates:\n  - name: X\n    description: y\n    components:\n      - kubelet",
            )
        });
        g.kep(dir, "unknown/comment-only-key", |y| append(y, "# foo: bar"));
    }
    // Booleans of YAML 1.1 and 1.2 for disable-supported.
    for dir in [BETA, PROV] {
        for v in [
            "y", "n", "Y", "N", "yes", "YES", "yEs", "on", "Off", "true", "True", "TRUE", "tRUE", "false", "no", "1",
            "\"true\"", "\"yes\"", "'false'", "~", "",
        ] {
            let n = if v.is_empty() { "null" } else { v };
            g.kep(dir, &format!("disable-supported/{n}"), |y| {
                set_key(y, "disable-supported", format!("disable-supported: {v}").trim_end())
            });
        }
    }
    // kep-number and owning-sig written oddly (the PRR file name is built from them).
    for (n, v) in [
        ("hex", "0x15DE"),
        ("leading-space", "\" 5598\""),
        ("quoted", "\"5598\""),
        ("single-quoted", "'5598'"),
        ("float", "5598.0"),
        ("exponent", "5.598e3"),
        ("leading-zero", "\"05598\""),
        ("octal-like", "0o12736"),
        ("other-number", "5599"),
        ("negative", "-5598"),
    ] {
        g.kep(BETA, &format!("kep-number/{n}"), |y| {
            set_key(y, "kep-number", &format!("kep-number: {v}"))
        });
        g.kep(PROV, &format!("kep-number/{n}"), |y| {
            set_key(y, "kep-number", &format!("kep-number: {v}"))
        });
    }
    for (n, v) in [
        ("trailing-space", "\"sig-scheduling \""),
        ("capitalised", "SIG-Scheduling"),
        ("other-sig", "sig-node"),
        ("int", "42"),
        ("path-escape", "../prod-readiness/sig-scheduling"),
    ] {
        g.kep(BETA, &format!("owning-sig/{n}"), |y| {
            set_key(y, "owning-sig", &format!("owning-sig: {v}"))
        });
    }
    g.kep(PROV, "owning-sig/not-a-sig", |y| {
        set_key(y, "owning-sig", "owning-sig: not-a-sig")
    });
    // Fields the Proposal struct has without a YAML name of their own.
    for (n, line) in [
        ("path", "path: keps/sig-x/1-y"),
        ("id", "id: abc"),
        ("name", "name: foo"),
        ("prnumber", "prnumber: \"1\""),
        ("prNumber", "prNumber: \"1\""),
        ("filename", "filename: x"),
        ("contents", "contents: x"),
        ("markdown", "markdown: x"),
        ("error", "error: x"),
        ("owningsig", "owningsig: sig-node"),
    ] {
        g.kep(BETA, &format!("struct-field/{n}"), |y| append(y, line));
    }
    // Merge keys and anchors.
    g.kep(BETA, "yaml/merge-top", |y| {
        append(&drop_key(y, "stage"), "<<: {stage: beta}")
    });
    g.kep(BETA, "yaml/merge-unknown", |y| append(y, "<<: {foo: bar}"));
    g.kep(BETA, "yaml/merge-in-milestone", |y| {
        set_key(
            &append(y, "x-m: &m\n  beta: \"v1.35\""),
            "milestone",
            "milestone:\n  <<: *m\n  stable: \"v1.38\"",
        )
    });
    g.kep(BETA, "yaml/merge-anchor-milestone", |y| {
        set_key(y, "milestone", "milestone: &m\n  beta: \"v1.35\"\n  stable: \"v1.38\"")
    });
    g.kep(BETA, "yaml/anchor-alias-list", |y| {
        let y = sub(y, "authors:\n", "authors: &people\n");
        set_key(&y, "reviewers", "reviewers: *people")
    });
    g.kep(BETA, "yaml/anchor-alias-scalar", |y| {
        let y = set_key(y, "latest-milestone", "latest-milestone: &lm \"v1.37\"");
        set_key(&y, "milestone", "milestone:\n  beta: *lm")
    });
    g.kep(BETA, "yaml/undefined-alias", |y| {
        set_key(y, "reviewers", "reviewers: *nobody")
    });
    g.kep(BETA, "yaml/tag-str", |y| {
        set_key(y, "kep-number", "kep-number: !!str 5598")
    });
    g.kep(BETA, "yaml/tag-int-on-string", |y| {
        set_key(y, "title", "title: !!int 3")
    });
    g.kep(BETA, "yaml/tag-bool-string", |y| {
        set_key(y, "disable-supported", "disable-supported: !!str true")
    });
    g.kep(BETA, "yaml/flow-mapping-doc", |y| {
        let _ = y;
        "{title: Flow, kep-number: 5598, authors: [\"@a\"], owning-sig: sig-scheduling, approvers: [\"@b\"], \
         status: implementable, stage: beta, latest-milestone: \"v1.37\"}\n"
            .to_owned()
    });
    g.kep(BETA, "yaml/block-scalar-title", |y| {
        set_key(y, "title", "title: |\n  Opportunistic\n  batching")
    });
    g.kep(BETA, "yaml/folded-title", |y| {
        set_key(y, "title", "title: >-\n  Opportunistic\n  batching")
    });
    // Duplicate keys.
    g.kep(BETA, "duplicate/title", |y| append(y, "title: Other"));
    g.kep(BETA, "duplicate/title-same", |y| {
        append(y, "title: Opportunistic batching")
    });
    g.kep(BETA, "duplicate/stage", |y| append(y, "stage: alpha"));
    g.kep(BETA, "duplicate/kep-number", |y| append(y, "kep-number: 5598"));
    g.kep(BETA, "duplicate/milestone-beta", |y| {
        sub(y, "  beta: \"v1.35\"", "  beta: \"v1.35\"\n  beta: \"v1.35\"")
    });
    g.kep(BETA, "duplicate/feature-gate-name", |y| {
        sub(y, "  - name: OpportunisticBatching", "  - name: A\n    name: B")
    });
    g.kep(PROV, "duplicate/status", |y| append(y, "status: provisional"));
    // More than one document, and `---` where kepval's line reader sees it.
    for dir in [BETA, PROV] {
        let other = if dir == BETA { PROV } else { BETA };
        g.kep(dir, "docs/trailing-separator", |y| append(y, "---"));
        g.kep(dir, "docs/second-doc-partial", |y| append(y, "---\ntitle: other"));
        g.kep(dir, "docs/leading-separator", |y| format!("---\n{y}"));
        g.kep(dir, "docs/leading-separator-comment", |y| {
            format!("--- # metadata\n{y}")
        });
        g.kep(dir, "docs/leading-and-trailing", |y| {
            append(&format!("---\n{y}"), "---")
        });
        g.kep(dir, "docs/leading-trailing-garbage", |y| {
            append(&format!("---\n{y}"), "---\nnot: [valid")
        });
        g.kep(dir, "docs/document-end-marker", |y| append(y, "..."));
        g.kep(dir, "docs/empty-first-doc", |y| format!("---\n---\n{y}"));
        g.case(format!("kep/{}/docs/second-doc-other-kep", short(dir)), |t| {
            let second = text(t, &kep_yaml(other));
            edit(t, &kep_yaml(dir), |y| append(&append(y, "---"), &second));
        });
        g.kep(dir, "dashes/comment-rule-top", |y| format!("# ------------\n{y}"));
        g.kep(dir, "dashes/comment-rule-middle", |y| {
            sub(y, "authors:", "# ---\nauthors:")
        });
        g.kep(dir, "dashes/in-title", |y| {
            set_key(y, "title", "title: \"Opportunistic --- batching\"")
        });
        g.kep(dir, "dashes/in-last-line", |y| append(y, "last-updated: \"2025---10\""));
        g.kep(dir, "dashes/double-dash-only", |y| set_key(y, "title", "title: a -- b"));
    }
    g.kep(BETA, "dashes/in-metric", |y| {
        sub(y, "  - scheduler_batch_attempts_total", "  - scheduler---batch")
    });
    // Lines against bufio.Scanner's 64 KiB token limit.
    for (n, len) in [("line-65535", 65535usize), ("line-65536", 65536), ("line-70000", 70000)] {
        let title = |len: usize| format!("title: {}", "x".repeat(len - "title: ".len()));
        g.kep(BETA, &format!("long/title-{n}"), |y| set_key(y, "title", &title(len)));
        g.kep(PROV, &format!("long/title-{n}"), |y| set_key(y, "title", &title(len)));
    }
    g.kep(BETA, "long/comment-70000", |y| {
        append(y, &format!("# {}", "c".repeat(70000)))
    });
    g.kep(BETA, "long/last-line-no-newline-70000", |y| {
        format!("{}# {}", append(y, ""), "c".repeat(70000))
    });
    // Encodings and layout.
    for dir in [BETA, PROV] {
        g.kep(dir, "format/bom", |y| format!("\u{feff}{y}"));
        g.kep(dir, "format/crlf", |y| y.replace('\n', "\r\n"));
        g.kep(dir, "format/cr-only", |y| y.replace('\n', "\r"));
        g.kep(dir, "format/tab-indent", |y| sub(y, "  - \"@", "\t- \"@"));
        g.kep(dir, "format/tab-after-colon", |y| sub(y, "title: ", "title:\t"));
        g.kep(dir, "format/trailing-spaces", |y| y.replace('\n', "  \n"));
        g.kep(dir, "format/no-final-newline", |y| y.trim_end().to_owned());
        g.kep(dir, "format/empty", |_| String::new());
        g.kep(dir, "format/only-newlines", |_| "\n\n".to_owned());
        g.kep(dir, "format/only-comments", |_| "# nothing here\n# at all\n".to_owned());
        g.kep(dir, "format/top-level-list", |y| {
            y.lines()
                .map(|l| format!("  {l}\n"))
                .collect::<String>()
                .replacen("  ", "- ", 1)
        });
        g.kep(dir, "format/scalar", |_| "hello\n".to_owned());
        g.kep(dir, "format/null", |_| "~\n".to_owned());
        g.kep(dir, "format/empty-map", |_| "{}\n".to_owned());
        g.kep(dir, "format/nul-byte", |y| sub(y, "title: ", "title: a\u{0}"));
        g.kep(dir, "format/latin1", |y| sub(y, "title: ", "title: caf\u{e9} "));
    }
}

fn prr_cases(g: &mut Gen) {
    let b = BETA_PRR;
    g.case("prr/5598/missing", |t| {
        t.remove(b);
    });
    g.prr(b, "empty", |_| String::new());
    g.prr(b, "only-comments", |_| "# approved\n".to_owned());
    g.prr(b, "null-doc", |_| "~\n".to_owned());
    g.prr(b, "empty-map", |_| "{}\n".to_owned());
    g.prr(b, "list-doc", |_| "- kep-number: 5598\n".to_owned());
    g.prr(b, "unknown-top-key", |y| append(y, "foo: bar"));
    g.prr(b, "unknown-stage-key", |y| append(y, "ga:\n  approver: \"@wojtek-t\""));
    g.prr(b, "unknown-key-in-stage", |y| append(y, "  reviewer: \"@x\""));
    g.prr(b, "alpha-empty-map", |y| append(y, "alpha: {}"));
    g.prr(b, "alpha-null", |y| append(y, "alpha:"));
    g.prr(b, "beta-empty-map", |y| {
        sub(y, "beta:\n  approver: \"@wojtek-t\"", "beta: {}")
    });
    g.prr(b, "beta-null", |y| sub(y, "beta:\n  approver: \"@wojtek-t\"", "beta:"));
    g.prr(b, "approver-empty", |y| sub(y, "\"@wojtek-t\"", "\"\""));
    g.prr(b, "approver-null", |y| sub(y, " \"@wojtek-t\"", ""));
    g.prr(b, "approver-tilde", |y| sub(y, "\"@wojtek-t\"", "~"));
    g.prr(b, "other-stage-only", |y| sub(y, "beta:", "alpha:"));
    g.prr(b, "stable-only", |y| sub(y, "beta:", "stable:"));
    g.prr(b, "no-stage-at-all", |_| "kep-number: 5598\n".to_owned());
    g.prr(b, "no-at", |y| sub(y, "\"@wojtek-t\"", "wojtek-t"));
    g.prr(b, "two-at", |y| sub(y, "\"@wojtek-t\"", "\"@@wojtek-t\""));
    g.prr(b, "leading-space", |y| sub(y, "\"@wojtek-t\"", "\" @wojtek-t\""));
    g.prr(b, "trailing-space", |y| sub(y, "\"@wojtek-t\"", "\"@wojtek-t \""));
    g.prr(b, "capitalised", |y| sub(y, "\"@wojtek-t\"", "\"@Wojtek-T\""));
    g.prr(b, "not-an-approver", |y| sub(y, "\"@wojtek-t\"", "\"@sanposhiho\""));
    g.prr(b, "emeritus", |y| sub(y, "\"@wojtek-t\"", "\"@ehashman\""));
    g.prr(b, "alias-name", |y| {
        sub(y, "\"@wojtek-t\"", "\"@prod-readiness-approvers\"")
    });
    g.prr(b, "approver-list", |y| sub(y, "\"@wojtek-t\"", "[\"@wojtek-t\"]"));
    g.prr(b, "approver-int", |y| sub(y, "\"@wojtek-t\"", "42"));
    g.prr(b, "stage-list", |y| {
        sub(
            y,
            "beta:\n  approver: \"@wojtek-t\"",
            "beta:\n  - approver: \"@wojtek-t\"",
        )
    });
    g.prr(b, "stage-scalar", |y| {
        sub(y, "beta:\n  approver: \"@wojtek-t\"", "beta: \"@wojtek-t\"")
    });
    g.prr(b, "kep-number-empty", |y| {
        sub(y, "kep-number: 5598", "kep-number: \"\"")
    });
    g.prr(b, "kep-number-missing", |y| sub(y, "kep-number: 5598\n", ""));
    g.prr(b, "kep-number-list", |y| sub(y, "kep-number: 5598", "kep-number: [1]"));
    g.prr(b, "kep-number-null", |y| sub(y, "kep-number: 5598", "kep-number:"));
    g.prr(b, "kep-number-other", |y| {
        sub(y, "kep-number: 5598", "kep-number: 1234")
    });
    g.prr(b, "kep-number-quoted", |y| {
        sub(y, "kep-number: 5598", "kep-number: \"5598\"")
    });
    g.prr(b, "duplicate-stage", |y| append(y, "beta:\n  approver: \"@wojtek-t\""));
    g.prr(b, "duplicate-kep-number", |y| append(y, "kep-number: 5598"));
    g.prr(b, "duplicate-approver", |y| append(y, "  approver: \"@deads2k\""));
    g.prr(b, "leading-separator", |y| format!("---\n{y}"));
    g.prr(b, "second-doc", |y| append(y, "---\nfoo: bar"));
    g.prr(b, "empty-first-doc", |y| format!("---\n---\n{y}"));
    g.prr(b, "crlf", |y| y.replace('\n', "\r\n"));
    g.prr(b, "bom", |y| format!("\u{feff}{y}"));
    g.prr(b, "tab-indent", |y| sub(y, "  approver", "\tapprover"));
    g.prr(b, "long-comment-70000", |y| {
        append(y, &format!("# {}", "c".repeat(70000)))
    });
    g.prr(b, "dashes-in-comment", |y| format!("# ---\n{y}"));
    g.case("prr/5598/is-a-directory", |t| {
        t.remove(b);
        put(t, &format!("{b}/README.md"), "x\n");
    });
    g.case("prr/5598/symlink-to-valid", |t| {
        let content = text(t, b);
        t.remove(b);
        put(t, "approvals/5598.yaml", content);
        t.insert(b.to_owned(), Node::Link("../../../approvals/5598.yaml".to_owned()));
    });
    g.case("prr/5598/in-wrong-sig-dir", |t| {
        let content = text(t, b);
        t.remove(b);
        put(t, "keps/prod-readiness/sig-node/5598.yaml", content);
    });
    g.case("prr/5598/yml-extension", |t| {
        let content = text(t, b);
        t.remove(b);
        put(t, "keps/prod-readiness/sig-scheduling/5598.yml", content);
    });

    let s = STABLE_PRR;
    g.case("prr/1490/missing", |t| {
        t.remove(s);
    });
    g.prr(s, "beta-only", |y| sub(y, "stable:", "beta:"));
    g.prr(s, "emeritus", |y| sub(y, "\"@wojtek-t\"", "\"@ehashman\""));
    g.prr(s, "not-an-approver", |y| sub(y, "\"@wojtek-t\"", "\"@msau42\""));
    g.prr(s, "alpha-empty-map-added", |y| append(y, "alpha: {}"));

    let d = DEPR_PRR;
    g.case("prr/5495/missing", |t| {
        t.remove(d);
    });
    g.prr(d, "disabled-only", |y| sub(y, "deprecated:", "disabled:"));
    g.prr(d, "removed-only", |y| sub(y, "deprecated:", "removed:"));
    g.prr(d, "not-an-approver", |y| sub(y, "\"@soltysh\"", "\"@thockin\""));
    g.prr(d, "beta-instead", |y| sub(y, "deprecated:", "beta:"));
    // Another KEP's broken PRR file, which no KEP in the tree needs.
    g.case("prr/orphan-broken", |t| {
        put(t, "keps/prod-readiness/sig-node/9999.yaml", "foo: [\n")
    });
    g.case("prr/orphan-for-provisional-broken", |t| {
        put(
            t,
            "keps/prod-readiness/sig-cloud-provider/668.yaml",
            "kep-number: 668\nbeta: {}\n",
        )
    });
}

fn alias_cases(g: &mut Gen) {
    let approvers = "  prod-readiness-approvers:\n    - deads2k\n    - johnbelamaric\n    - jpbetz\n    - soltysh\n    - wojtek-t\n    - kannon92\n";
    let emeritus = "  prod-readiness-approvers-emeritus:\n    - ehashman\n";
    // An edit of the prod-readiness-approvers alias alone (other aliases list the same people).
    let in_prr = |y: &str, from: &str, to: &str| sub(y, approvers, &sub(approvers, from, to));
    g.aliases("approver-with-at", |y| {
        in_prr(y, "    - wojtek-t\n", "    - \"@wojtek-t\"\n")
    });
    g.aliases("approvers-all-with-at", |y| {
        let with_at = approvers
            .replace("    - ", "    - \"@")
            .replace('\n', "\"\n")
            .replace(":\"\n", ":\n");
        sub(y, approvers, &with_at)
    });
    g.aliases("extra-top-level-key", |y| append(y, "filters: {}"));
    g.aliases("extra-top-level-key-first", |y| format!("options: {{}}\n{y}"));
    g.aliases("no-prr-alias", |y| sub(y, approvers, ""));
    g.aliases("no-prr-aliases-at-all", |y| sub(&sub(y, approvers, ""), emeritus, ""));
    g.aliases("prr-alias-empty-list", |y| {
        sub(&sub(y, approvers, "  prod-readiness-approvers: []\n"), emeritus, "")
    });
    g.aliases("prr-alias-null", |y| {
        sub(&sub(y, approvers, "  prod-readiness-approvers:\n"), emeritus, "")
    });
    g.aliases("emeritus-only-with-approvers", |y| {
        sub(
            &sub(y, emeritus, ""),
            approvers,
            &approvers.replace("approvers:", "approvers-emeritus:"),
        )
    });
    g.aliases("prr-alias-scalar", |y| {
        sub(y, approvers, "  prod-readiness-approvers: wojtek-t\n")
    });
    g.aliases("duplicate-alias", |y| {
        sub(y, emeritus, &format!("{emeritus}{emeritus}"))
    });
    g.aliases("duplicate-top-key", |y| append(y, "aliases: {}"));
    g.aliases("empty", |_| String::new());
    g.aliases("tab-indent", |y| in_prr(y, "    - wojtek-t\n", "\t- wojtek-t\n"));
    g.aliases("dashes-comment", |y| format!("# ---\n{y}"));
    g.aliases("approver-trailing-space", |y| {
        in_prr(y, "    - wojtek-t\n", "    - \"wojtek-t \"\n")
    });
    g.aliases("approver-capitalised", |y| {
        in_prr(y, "    - wojtek-t\n", "    - Wojtek-T\n")
    });
    g.case("aliases/missing", |t| {
        t.remove(ALIASES);
    });
}

fn tree_cases(g: &mut Gen) {
    let prov_yaml = kep_yaml(PROV);
    let readme = format!("{PROV}/README.md");
    let copy = |t: &mut Tree, from: &str, to: &str| {
        let node = t.get(from).unwrap().clone();
        t.insert(to.to_owned(), node);
    };
    let broken = "title: [\n";
    // README.md without a kep.yaml beside it.
    g.case("tree/readme-only/kep-dir", |t| {
        copy(t, &readme, "keps/sig-network/9999-readme-only/README.md")
    });
    g.case("tree/readme-only/group-dir", |t| {
        copy(t, &readme, "keps/sig-network/README.md")
    });
    g.case("tree/readme-only/new-group-dir", |t| {
        copy(t, &readme, "keps/sig-new/README.md")
    });
    g.case("tree/readme-only/repo-root", |t| copy(t, &readme, "README.md"));
    g.case("tree/readme-only/outside-keps", |t| copy(t, &readme, "docs/README.md"));
    g.case("tree/readme-only/kep-subdir-before-kep-yaml", |t| {
        copy(t, &readme, &format!("{BETA}/docs/README.md"))
    });
    g.case("tree/readme-only/kep-subdir-after-kep-yaml", |t| {
        copy(t, &readme, &format!("{BETA}/zz/README.md"))
    });
    g.case("tree/readme-only/prod-readiness-subdir", |t| {
        copy(t, &readme, "keps/prod-readiness/sig-node/README.md")
    });
    g.case("tree/readme-lowercase-only", |t| {
        copy(t, &readme, "keps/sig-network/9999-lower/readme.md")
    });
    g.case("tree/kep-readme-removed", |t| {
        t.remove(&format!("{BETA}/README.md"));
    });
    // kep.yaml where no KEP directory is.
    g.case("tree/unnumbered-dir/valid", |t| {
        copy(t, &prov_yaml, "keps/sig-cloud-provider/out-of-tree-foo/kep.yaml")
    });
    g.case("tree/unnumbered-dir/broken", |t| {
        put(t, "keps/sig-cloud-provider/out-of-tree-foo/kep.yaml", broken)
    });
    g.case("tree/group-dir-kep-yaml/valid", |t| {
        copy(t, &prov_yaml, "keps/sig-network/kep.yaml")
    });
    g.case("tree/group-dir-kep-yaml/broken", |t| {
        put(t, "keps/sig-network/kep.yaml", broken)
    });
    g.case("tree/keps-root-kep-yaml/valid", |t| {
        copy(t, &prov_yaml, "keps/kep.yaml")
    });
    g.case("tree/keps-root-kep-yaml/valid-and-broken-kep", |t| {
        copy(t, &prov_yaml, "keps/kep.yaml");
        put(t, &kep_yaml(BETA), broken);
    });
    g.case("tree/repo-root-kep-yaml-broken", |t| put(t, "kep.yaml", broken));
    g.case("tree/outside-keps-broken", |t| {
        put(t, "archive/sig-x/1-old/kep.yaml", broken)
    });
    g.case("tree/kep-yml-broken", |t| {
        put(t, "keps/sig-network/9999-yml/kep.yml", broken)
    });
    g.case("tree/KEP-yaml-uppercase-broken", |t| {
        put(t, "keps/sig-network/9999-upper/KEP.yaml", broken)
    });
    g.case("tree/prod-readiness-kep-yaml-broken", |t| {
        put(t, "keps/prod-readiness/sig-node/kep.yaml", broken)
    });
    g.case("tree/hidden-dir-kep-yaml-broken", |t| {
        put(t, "keps/sig-network/.archive/kep.yaml", broken)
    });
    // The template.
    g.case("tree/template/kep-yaml-unknown-key", |t| {
        edit(t, TEMPLATE_YAML, |y| append(y, "foo: bar"))
    });
    g.case("tree/template/kep-yaml-broken", |t| put(t, TEMPLATE_YAML, broken));
    g.case("tree/template/kep-yaml-implementable", |t| {
        edit(t, TEMPLATE_YAML, |y| set_key(y, "status", "status: implementable"))
    });
    g.case("tree/template/kep-yaml-removed", |t| {
        t.remove(TEMPLATE_YAML);
    });
    g.case("tree/template/readme-removed", |t| {
        t.remove(TEMPLATE_README);
    });
    g.case("tree/template/removed", |t| remove_under(t, "keps/NNNN-kep-template"));
    // The fixed paths kepval stats.
    g.case("tree/keps-readme/missing", |t| {
        t.remove(KEPS_README);
    });
    g.case("tree/keps-readme/symlink", |t| {
        t.insert(
            KEPS_README.to_owned(),
            Node::Link("NNNN-kep-template/README.md".to_owned()),
        );
    });
    g.case("tree/keps-readme/directory", |t| {
        t.remove(KEPS_README);
        put(t, "keps/README.md/x", "x\n");
    });
    g.case("tree/prod-readiness/missing", |t| {
        remove_under(t, "keps/prod-readiness")
    });
    g.case("tree/prod-readiness/missing-no-prr-needed", |t| {
        remove_under(t, "keps/prod-readiness");
        for k in [BETA, STABLE, DEPR] {
            remove_under(t, k);
        }
    });
    g.case("tree/prod-readiness/file", |t| {
        remove_under(t, "keps/prod-readiness");
        put(t, "keps/prod-readiness", "x\n");
    });
    g.case("tree/no-keps-at-all", |t| {
        for k in KEPS {
            remove_under(t, k);
        }
        remove_under(t, "keps/NNNN-kep-template");
        put(t, TEMPLATE_README, "# KEP template\n");
    });
    g.case("tree/only-template", |t| {
        for k in KEPS {
            remove_under(t, k);
        }
    });
    // Symlinks.
    g.case("tree/symlink/kep-yaml-to-valid-outside", |t| {
        copy(t, &prov_yaml, "meta/kep.yaml");
        copy(t, &readme, "keps/sig-network/9999-linked/README.md");
        t.insert(
            "keps/sig-network/9999-linked/kep.yaml".to_owned(),
            Node::Link("../../../meta/kep.yaml".to_owned()),
        );
    });
    g.case("tree/symlink/kep-yaml-to-other-kep", |t| {
        copy(t, &readme, "keps/sig-network/9999-linked/README.md");
        t.insert(
            "keps/sig-network/9999-linked/kep.yaml".to_owned(),
            Node::Link("../../sig-cloud-provider/668-out-of-tree-gce/kep.yaml".to_owned()),
        );
    });
    g.case("tree/symlink/kep-yaml-to-broken", |t| {
        put(t, "meta/kep.yaml", broken);
        copy(t, &readme, "keps/sig-network/9999-linked/README.md");
        t.insert(
            "keps/sig-network/9999-linked/kep.yaml".to_owned(),
            Node::Link("../../../meta/kep.yaml".to_owned()),
        );
    });
    g.case("tree/symlink/kep-yaml-dangling", |t| {
        copy(t, &readme, "keps/sig-network/9999-linked/README.md");
        t.insert(
            "keps/sig-network/9999-linked/kep.yaml".to_owned(),
            Node::Link("nowhere.yaml".to_owned()),
        );
    });
    g.case("tree/symlink/beta-kep-yaml-to-valid-copy", |t| {
        let y = kep_yaml(BETA);
        copy(t, &y, "meta/5598.yaml");
        t.insert(y, Node::Link("../../../meta/5598.yaml".to_owned()));
    });
    g.case("tree/symlink/kep-dir-to-kep", |t| {
        t.insert(
            "keps/sig-network/9999-link".to_owned(),
            Node::Link(format!("../../{BETA}")),
        );
    });
    g.case("tree/symlink/kep-dir-to-broken-kep", |t| {
        put(t, "attic/1234-broken/kep.yaml", broken);
        copy(t, &readme, "attic/1234-broken/README.md");
        t.insert(
            "keps/sig-network/1234-broken".to_owned(),
            Node::Link("../../attic/1234-broken".to_owned()),
        );
    });
    g.case("tree/symlink/group-dir-to-broken", |t| {
        put(t, "attic/sig-x/1234-broken/kep.yaml", broken);
        t.insert("keps/sig-x".to_owned(), Node::Link("../attic/sig-x".to_owned()));
    });
    // Legacy single-file KEPs.
    let front = |meta: &str| format!("---\n{meta}---\n\n# Legacy KEP\n\n## Summary\n\nOld.\n");
    g.case("tree/legacy/valid", |t| {
        let meta = text(t, &prov_yaml);
        put(t, "keps/sig-network/20190101-foo.md", front(&meta));
    });
    g.case("tree/legacy/broken", |t| {
        put(t, "keps/sig-network/20190101-foo.md", front(broken))
    });
    g.case("tree/legacy/implementable-no-prr", |t| {
        let meta = text(t, &kep_yaml(BETA));
        put(t, "keps/sig-network/20190101-foo.md", front(&append(&meta, "")));
    });
    g.case("tree/legacy/as-readme-without-kep-yaml", |t| {
        let meta = text(t, &prov_yaml);
        put(t, "keps/sig-network/9999-legacy/README.md", front(&meta));
    });
    // Nested and inner KEPs.
    g.case("tree/nested/valid", |t| {
        copy(t, &prov_yaml, "keps/sig-network/sub/1234-foo/kep.yaml");
        copy(t, &readme, "keps/sig-network/sub/1234-foo/README.md");
    });
    g.case("tree/nested/broken", |t| {
        put(t, "keps/sig-network/sub/1234-foo/kep.yaml", broken);
        copy(t, &readme, "keps/sig-network/sub/1234-foo/README.md");
    });
    g.case("tree/nested/implementable-no-prr", |t| {
        let y = sub(&text(t, &kep_yaml(BETA)), "kep-number: 5598", "kep-number: 1234");
        put(t, "keps/sig-scheduling/sub/1234-foo/kep.yaml", y);
        copy(t, &readme, "keps/sig-scheduling/sub/1234-foo/README.md");
    });
    g.case("tree/inner-kep-yaml/after-broken", |t| {
        put(t, &format!("{BETA}/zz/kep.yaml"), broken)
    });
    g.case("tree/inner-kep-yaml/before-broken", |t| {
        put(t, &format!("{BETA}/docs/kep.yaml"), broken)
    });
    g.case("tree/inner-kep-yaml/uppercase-dir-broken", |t| {
        put(t, &format!("{BETA}/Archive/kep.yaml"), broken)
    });
    g.case("tree/inner-kep-yaml/before-valid", |t| {
        copy(t, &prov_yaml, &format!("{BETA}/docs/kep.yaml"))
    });
    g.case("tree/kep-without-readme-broken", |t| {
        put(t, "keps/sig-network/9999-bare/kep.yaml", broken)
    });
    g.case("tree/duplicate-kep-number", |t| {
        copy(t, &prov_yaml, "keps/sig-cloud-provider/668-copy/kep.yaml");
        copy(t, &readme, "keps/sig-cloud-provider/668-copy/README.md");
    });
    g.case("tree/dir-number-mismatch", |t| {
        copy(t, &prov_yaml, "keps/sig-cloud-provider/1234-out-of-tree-gce/kep.yaml");
        copy(t, &readme, "keps/sig-cloud-provider/1234-out-of-tree-gce/README.md");
        remove_under(t, PROV);
    });
    g.case("tree/kep-in-wrong-sig-dir", |t| {
        copy(t, &kep_yaml(BETA), "keps/sig-node/5598-opportunistic-batching/kep.yaml");
        copy(
            t,
            &format!("{BETA}/README.md"),
            "keps/sig-node/5598-opportunistic-batching/README.md",
        );
        remove_under(t, BETA);
    });
}

fn fixture_cases(g: &mut Gen, clone: &Path, kepval_dir: &Path) {
    let testdata = kepval_dir.join("src/k8s.io/enhancements/pkg/repo/testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&testdata)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "kepval's testdata lacks its fixtures");
    let readme = format!("{PROV}/README.md");
    for f in files {
        let y = std::fs::read_to_string(&f).unwrap();
        let stem = f.file_stem().unwrap().to_str().unwrap().to_owned();
        let field = |key: &str| {
            y.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}: ")))
                .map(|v| v.trim().trim_matches('"').to_owned())
                .unwrap()
        };
        let dir = format!("keps/{}/{}-{stem}", field("owning-sig"), field("kep-number"));
        g.case(format!("fixture/testdata/{stem}"), |t| {
            let r = t.get(&readme).unwrap().clone();
            put(t, &format!("{dir}/kep.yaml"), y.clone());
            t.insert(format!("{dir}/README.md"), r);
        });
        g.case(format!("fixture/testdata/{stem}/as-beta-kep-yaml"), |t| {
            put(t, &kep_yaml(BETA), y.clone())
        });
    }
    let mut valid = fs_tree(&testdata.join("repos/valid"));
    valid.insert(ALIASES.to_owned(), Node::File(show(clone, ALIASES)));
    g.cases.push(Case {
        name: "fixture/repos-valid".to_owned(),
        tree: valid,
    });
    g.cases.push(Case {
        name: "corpus/tip".to_owned(),
        tree: corpus_tree(clone),
    });
}
