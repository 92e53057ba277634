//! Fixture repositories built with the real git CLI, and helpers to run the real binary.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Repo {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Repo {
    pub fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        std::fs::create_dir(&dir).unwrap();
        let repo = Repo { _tmp: tmp, dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// A second repository in the same temporary directory (for clones).
    pub fn sibling(&self, name: &str) -> PathBuf {
        self.dir.parent().unwrap().join(name)
    }

    pub fn git(&self, args: &[&str]) -> String {
        git_in(&self.dir, args)
    }

    pub fn write(&self, path: &str, content: &str) -> &Repo {
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    pub fn remove(&self, path: &str) -> &Repo {
        self.git(&["rm", "-rq", path]);
        self
    }

    /// Commits everything; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Writes a directory KEP, and where its metadata names an owning SIG and number, a PRR
    /// approval file for every stage in the default PRR directory under the KEP's root.
    pub fn kep(&self, dir: &str, yaml: &str, readme: &str) -> &Repo {
        self.write(&format!("{dir}/kep.yaml"), yaml)
            .write(&format!("{dir}/README.md"), readme);
        let field = |key: &str| {
            yaml.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}: ")))
                .map(|v| v.trim().trim_matches('"').to_owned())
        };
        if let (Some(sig), Some(number)) = (field("owning-sig"), field("kep-number")) {
            let root = dir.split('/').next().unwrap();
            self.write(
                &format!("{root}/prod-readiness/{sig}/{number}.yaml"),
                &prr_approval(&number),
            );
        }
        self
    }

    /// What kepval needs to run at all, which `validate` checks (rule kep-tree): `keps/README.md`,
    /// `keps/prod-readiness/`, the PRR approvers in `OWNERS_ALIASES`, and a template (README and a
    /// valid kep.yaml) whose only headings the fixtures' READMEs all have.
    pub fn kepval_ready(&self) -> &Repo {
        self.write("keps/README.md", "# KEPs\n")
            .write("keps/prod-readiness/README.md", "# PRR approvals\n")
            .write(
                "keps/NNNN-kep-template/README.md",
                "# KEP-NNNN: Your short, descriptive title\n\n## Summary\n\n## Implementation History\n",
            )
            .write(
                "keps/NNNN-kep-template/kep.yaml",
                "title: KEP Template\nkep-number: NNNN\nauthors:\n  - \"@jane.doe\"\nowning-sig: sig-xyz\n\
                 status: provisional\napprovers:\n  - TBD\n",
            );
        if !self.dir.join("OWNERS_ALIASES").exists() {
            self.write(
                "OWNERS_ALIASES",
                "aliases:\n  prod-readiness-approvers:\n    - wojtek-t\n",
            );
        }
        self
    }

    pub fn kepguard(&self, args: &[&str]) -> Output {
        kepguard_in(&self.dir, args)
    }

    /// `check --base BASE --head HEAD --format json`, parsed.
    pub fn check_json(&self, base: &str, head: &str) -> (i32, Value) {
        json_run(self.kepguard(&["check", "--base", base, "--head", head, "--format", "json"]))
    }
}

pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = git_out(dir, args, &[]);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn kepguard_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kepguard"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("kepguard runs")
}

/// Exit code and parsed JSON document of a run.
pub fn json_run(out: Output) -> (i32, Value) {
    let code = out.status.code().expect("exited");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, doc)
}

/// The rule ids of a JSON document's findings, in order.
pub fn rules(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

/// `<rule> <severity>` of each of a JSON document's findings, in order.
pub fn severities(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect()
}

/// A `kep.yaml`. `milestones` are `(stage, milestone)` pairs.
pub fn kep_yaml(number: &str, status: &str, stage: &str, latest: &str, milestones: &[(&str, &str)]) -> String {
    let mut s = format!(
        "title: Test KEP\nkep-number: {number}\nauthors:\n  - \"@jane\"\nowning-sig: sig-node\nstatus: {status}\n\
         creation-date: 2021-01-01\napprovers:\n  - \"@oscar\"\nfeature-gates:\n  - name: Frob\n    components:\n      - kubelet\n\
         disable-supported: true\nmetrics:\n  - frob_total\nstage: {stage}\nlatest-milestone: \"{latest}\"\nmilestone:\n"
    );
    for (st, m) in milestones {
        s.push_str(&format!("  {st}: \"{m}\"\n"));
    }
    s
}

/// A PRR approval file approving every stage by `@wojtek-t`.
pub fn prr_approval(number: &str) -> String {
    format!(
        "kep-number: {number}\nalpha:\n  approver: \"@wojtek-t\"\nbeta:\n  approver: \"@wojtek-t\"\nstable:\n  approver: \"@wojtek-t\"\n"
    )
}

/// KEP `number` graduated to beta in `latest`, after alpha in v1.20.
pub fn beta_yaml(number: &str, latest: &str) -> String {
    kep_yaml(
        number,
        "implementable",
        "beta",
        latest,
        &[("alpha", "v1.20"), ("beta", latest)],
    )
}

/// A README in the template's shape, every PRR question of every stage answered; `history` and
/// `prr` are the visible lines of those sections (`prr` added to the first answer).
pub fn readme(summary: &str, prr: &[&str], history: &[&str]) -> String {
    format!(
        "# KEP: Test\n\n## Summary\n\n{summary}\n\n## Production Readiness Review Questionnaire\n\n\
         ### Feature Enablement and Rollback\n\n<!--\nThis section must be completed when targeting alpha.\n-->\n\n\
         ###### How can this feature be enabled / disabled in a live cluster?\n\nFeature gate.\n\n{}\n\
         {PRR_BETA_ANSWERS}\
         ## Implementation History\n\n<!--\nMajor milestones go here.\n-->\n\n{}\n\n## Drawbacks\n\nNone.\n",
        prr.join("\n"),
        history.join("\n")
    )
}

/// The PRR subsections beta adds, each question answered.
pub const PRR_BETA_ANSWERS: &str = "### Rollout, Upgrade and Rollback Planning\n\n\
     ###### How can a rollout or rollback fail? Can it impact already running workloads?\n\nIt cannot.\n\n\
     ### Monitoring Requirements\n\n###### How can an operator determine if the feature is in use by workloads?\n\nA metric.\n\n\
     ### Dependencies\n\n###### Does this feature depend on any specific services running in the cluster?\n\nNo.\n\n\
     ### Scalability\n\n###### Will enabling / using this feature result in any new API calls?\n\nNo.\n\n\
     ### Troubleshooting\n\n###### What are other known failure modes?\n\nNone known.\n\n";

/// A bare clone of the corpus bundle (`../shared/corpus/`) at `dir/name`; `None`, with a skip
/// message, where the bundle is absent.
pub fn clone_corpus(dir: &Path, name: &str) -> Option<PathBuf> {
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/k8s-enhancements-keps.bundle");
    if !bundle.exists() {
        eprintln!("skipping: corpus bundle not found at ../shared/corpus/");
        return None;
    }
    git_in(dir, &["clone", "-q", "--bare", bundle.to_str().unwrap(), name]);
    Some(dir.join(name))
}

/// Runs kepguard under a pseudo-terminal (util-linux `script`), returning what the terminal saw,
/// or `None` where `script` is not installed.
pub fn kepguard_in_pty(dir: &Path, args: &[&str], no_color: bool) -> Option<String> {
    let which = Command::new("sh").args(["-c", "command -v script"]).output().ok()?;
    if !which.status.success() {
        eprintln!("skipping the terminal part: util-linux `script` is not installed");
        return None;
    }
    let cmd = std::iter::once(env!("CARGO_BIN_EXE_kepguard"))
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = Command::new("script");
    c.args(["-qefc", &cmd, "/dev/null"])
        .current_dir(dir)
        .env_remove("NO_COLOR");
    if no_color {
        c.env("NO_COLOR", "1");
    }
    let out = c.output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `text` holds an SGR (colour or style) escape sequence.
pub fn has_sgr(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|s| {
        s.strip_prefix('[').is_some_and(|rest| {
            let params = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
            rest.as_bytes().get(params) == Some(&b'm')
        })
    })
}

/// Far above what any test's run needs; a run that reaches it hangs, or does quadratic work. A
/// guard only, never a speed measure: minutes, so that a busy machine running a debug build does
/// not fail correct work (the benchmark measures speed).
pub const HANG: Duration = Duration::from_secs(180);

/// Runs `cmd` to its end, its stdin empty and its output collected, killing it at [`HANG`] (and
/// failing the test, naming `what`).
pub fn output_unless_hung(cmd: &mut Command, what: &str) -> Output {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
    let pipe = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            r.read_to_end(&mut buf).unwrap();
            buf
        })
    };
    let stdout = pipe(Box::new(child.stdout.take().unwrap()));
    let stderr = pipe(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > HANG {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{what} hung (killed after {HANG:?})");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// [`git_out`], killed at [`HANG`]: for pushes whose hook has much to do.
pub fn git_out_unless_hung(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    output_unless_hung(&mut git_command(dir, args, envs), &format!("git {args:?}"))
}

/// Runs git with extra environment, without asserting success.
pub fn git_out(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    git_command(dir, args, envs).output().expect("git runs")
}

fn git_command(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut c = Command::new("git");
    c.args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("NO_COLOR");
    for (k, v) in envs {
        c.env(k, v);
    }
    c
}

/// Runs kepguard with extra environment.
pub fn kepguard_env(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kepguard"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .envs(envs.iter().copied())
        .output()
        .expect("kepguard runs")
}

/// The KEP of [`branches`].
pub const BRANCHES_KEP: &str = "keps/sig-node/1234-frob";

/// main: KEP at alpha, then an unrelated commit. feature (from the first commit): a graduation
/// without history, then a clean commit on top.
pub struct Branches {
    pub r: Repo,
    pub base: String,
    pub main: String,
    pub bad: String,
    pub feature: String,
}

pub fn branches() -> Branches {
    let r = Repo::new();
    r.kep(
        BRANCHES_KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &["- a"]),
    );
    let base = r.commit("add");
    r.write("keps/sig-node/OWNERS", "x\n");
    let main = r.commit("main moves on");
    r.git(&["checkout", "-q", "-b", "feature", &base]);
    r.kep(
        BRANCHES_KEP,
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &["Answered."], &["- a"]),
    );
    let bad = r.commit("graduate without history");
    r.write("notes.txt", "x\n");
    let feature = r.commit("unrelated");
    Branches {
        r,
        base,
        main,
        bad,
        feature,
    }
}

/// Every distinct blob ever stored at a path `keep` accepts in the history of `repo`, as
/// `("<id> <path>", text)`, read in one `git cat-file --batch`.
#[allow(dead_code)]
pub fn corpus_blobs(repo: &Path, keep: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    use std::io::{BufRead, BufReader, Write};
    let mut ids: Vec<(String, String)> = git_in(repo, &["rev-list", "--objects", "--all"])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, path)| keep(path))
        .map(|(id, path)| (id.to_owned(), path.to_owned()))
        .collect();
    ids.sort();
    ids.dedup_by(|a, b| a.0 == b.0);

    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(repo)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git cat-file runs");
    let mut stdin = child.stdin.take().unwrap();
    let request: String = ids.iter().map(|(id, _)| format!("{id}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()).unwrap());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut blobs = Vec::with_capacity(ids.len());
    for (id, path) in ids {
        let mut header = String::new();
        out.read_line(&mut header).unwrap();
        let fields: Vec<&str> = header.split_whitespace().collect();
        assert_eq!(fields.get(1), Some(&"blob"), "{id} {path}: {header}");
        let size: usize = fields[2].parse().unwrap();
        let mut bytes = vec![0; size + 1];
        out.read_exact(&mut bytes).unwrap();
        bytes.pop();
        blobs.push((format!("{id} {path}"), kepguard::kep::decode_text(bytes)));
    }
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    blobs
}

/// Every file under `dir`, with its bytes, sorted by path: to show that a run wrote nothing.
pub fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}
