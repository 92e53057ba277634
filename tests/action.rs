//! The composite action, run step by step the way the Actions runner runs it: `action.yml` read,
//! `${{ … }}` expanded, each `run:` step executed with `bash` in a real clone of a fixture repository,
//! with the runner's environment files. `uses:` steps (the cache) are emulated by the test.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{BRANCHES_KEP, Branches, branches, git_in};
use serde_json::{Value, json};
use serde_yaml::Value as Yaml;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What one run of an action left behind.
#[derive(Debug)]
struct Outcome {
    /// The exit status of the last step that ran (the first failing one, or the last step).
    status: i32,
    stdout: String,
    stderr: String,
    summary: String,
    outputs: BTreeMap<String, String>,
    /// Remote actions the emulation did not run itself, in order.
    uses: Vec<String>,
}

impl Outcome {
    /// The workflow commands the runner would act on: lines starting `::`, except those between
    /// `::stop-commands::TOKEN` and `::TOKEN::`.
    fn annotations(&self) -> Vec<&str> {
        let mut stopped: Option<String> = None;
        let mut commands = Vec::new();
        for line in self.stdout.lines() {
            match &stopped {
                Some(resume) if line == resume => stopped = None,
                Some(_) => {}
                None => match line.strip_prefix("::stop-commands::") {
                    Some(token) => stopped = Some(format!("::{token}::")),
                    None if line.starts_with("::") => commands.push(line),
                    None => {}
                },
            }
        }
        commands
    }
}

/// One emulated job: a workspace, an event, and the runner's directories.
struct Runner {
    tmp: tempfile::TempDir,
    workspace: PathBuf,
    event_name: String,
    event_path: PathBuf,
    tool_cache: PathBuf,
    extra_env: Vec<(String, String)>,
    /// `github.action_ref`: the tag or branch the workflow's `uses:` names ("" for a local path).
    action_ref: String,
}

impl Runner {
    fn new(workspace: &Path, event_name: &str, payload: Value) -> Runner {
        let tmp = tempfile::tempdir().unwrap();
        let event_path = tmp.path().join("event.json");
        std::fs::write(&event_path, payload.to_string()).unwrap();
        let tool_cache = tmp.path().join("tool-cache");
        std::fs::create_dir(&tool_cache).unwrap();
        Runner {
            tmp,
            workspace: workspace.to_owned(),
            event_name: event_name.to_owned(),
            event_path,
            tool_cache,
            extra_env: Vec::new(),
            action_ref: String::new(),
        }
    }

    fn action_ref(mut self, reference: &str) -> Runner {
        self.action_ref = reference.to_owned();
        self
    }

    fn env(mut self, key: &str, value: &str) -> Runner {
        self.extra_env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs the action defined in `action_dir/action.yml` with `inputs`. `uses:` steps go to
    /// `on_uses(uses, with)` with their inputs expanded.
    fn run(
        &self,
        action_dir: &Path,
        inputs: &[(&str, &str)],
        on_uses: &dyn Fn(&str, &BTreeMap<String, String>),
    ) -> Outcome {
        let text = std::fs::read_to_string(action_dir.join("action.yml")).unwrap();
        let action: Yaml = serde_yaml::from_str(&text).unwrap();
        assert_eq!(action["runs"]["using"].as_str(), Some("composite"));

        let mut input_values = BTreeMap::new();
        for (name, spec) in action["inputs"].as_mapping().unwrap() {
            let default = spec["default"].as_str().unwrap_or("");
            input_values.insert(name.as_str().unwrap().to_owned(), default.to_owned());
        }
        for (name, value) in inputs {
            assert!(input_values.contains_key(*name), "the action has no input `{name}`");
            input_values.insert((*name).to_owned(), (*value).to_owned());
        }

        let runner_temp = self.tmp.path().join("runner-temp");
        std::fs::create_dir_all(&runner_temp).unwrap();
        let home = self.tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut cx = Contexts {
            inputs: input_values,
            github: BTreeMap::from([
                ("action_path".into(), action_dir.display().to_string()),
                ("workspace".into(), self.workspace.display().to_string()),
                ("event_name".into(), self.event_name.clone()),
                ("event_path".into(), self.event_path.display().to_string()),
                ("action_repository".into(), "kepguard/kepguard".into()),
                ("action_ref".into(), self.action_ref.clone()),
            ]),
            runner: BTreeMap::from([
                ("os".into(), "Linux".into()),
                ("arch".into(), "X64".into()),
                ("temp".into(), runner_temp.display().to_string()),
                ("tool_cache".into(), self.tool_cache.display().to_string()),
            ]),
            steps: BTreeMap::new(),
        };

        let mut outcome = Outcome {
            status: 0,
            stdout: String::new(),
            stderr: String::new(),
            summary: String::new(),
            outputs: BTreeMap::new(),
            uses: Vec::new(),
        };
        let mut path_prefix: Vec<String> = Vec::new();
        for (i, step) in action["runs"]["steps"].as_sequence().unwrap().iter().enumerate() {
            if let Some(uses) = step["uses"].as_str() {
                let mut with = BTreeMap::new();
                if let Some(map) = step["with"].as_mapping() {
                    for (k, v) in map {
                        with.insert(k.as_str().unwrap().to_owned(), cx.expand(v.as_str().unwrap()));
                    }
                }
                on_uses(uses, &with);
                outcome.uses.push(uses.to_owned());
                continue;
            }
            assert!(
                step["if"].is_null(),
                "run steps have no `if:` (the emulation does not evaluate it)"
            );
            assert_eq!(step["shell"].as_str(), Some("bash"), "step {i} runs with bash");
            let script = cx.expand(step["run"].as_str().unwrap());
            let dir = match step["working-directory"].as_str() {
                Some(d) => self.workspace.join(cx.expand(d)),
                None => self.workspace.clone(),
            };
            let step_dir = tempfile::tempdir_in(self.tmp.path()).unwrap();
            let files = step_dir.path();
            let (output_file, summary_file, path_file) =
                (files.join("output"), files.join("summary"), files.join("path"));
            for f in [&output_file, &summary_file, &path_file] {
                std::fs::write(f, "").unwrap();
            }
            std::fs::write(files.join("script.sh"), &script).unwrap();

            let mut path = path_prefix.clone();
            path.push(std::env::var("PATH").unwrap_or_default());
            let mut command = Command::new("bash");
            command
                .args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(files.join("script.sh"))
                .current_dir(&dir)
                .env_clear()
                .env("PATH", path.join(":"))
                .env("HOME", &home)
                .env(
                    "CARGO_HOME",
                    std::env::var("CARGO_HOME")
                        .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap_or_default())),
                )
                .env(
                    "RUSTUP_HOME",
                    std::env::var("RUSTUP_HOME")
                        .unwrap_or_else(|_| format!("{}/.rustup", std::env::var("HOME").unwrap_or_default())),
                )
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_EVENT_NAME", &self.event_name)
                .env("GITHUB_EVENT_PATH", &self.event_path)
                .env("GITHUB_WORKSPACE", &self.workspace)
                .env("GITHUB_ACTION_PATH", action_dir)
                .env("GITHUB_OUTPUT", &output_file)
                .env("GITHUB_STEP_SUMMARY", &summary_file)
                .env("GITHUB_PATH", &path_file)
                .env("RUNNER_OS", "Linux")
                .env("RUNNER_ARCH", "X64")
                .env("RUNNER_TEMP", &runner_temp)
                .env("RUNNER_TOOL_CACHE", &self.tool_cache)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null");
            for (k, v) in &self.extra_env {
                command.env(k, v);
            }
            if let Some(env) = step["env"].as_mapping() {
                for (k, v) in env {
                    command.env(k.as_str().unwrap(), cx.expand(v.as_str().unwrap()));
                }
            }
            let out = command.output().unwrap();
            outcome.stdout.push_str(&String::from_utf8_lossy(&out.stdout));
            outcome.stderr.push_str(&String::from_utf8_lossy(&out.stderr));
            outcome
                .summary
                .push_str(&std::fs::read_to_string(&summary_file).unwrap());
            path_prefix.splice(
                0..0,
                std::fs::read_to_string(&path_file)
                    .unwrap()
                    .lines()
                    .rev()
                    .map(str::to_owned),
            );
            if let Some(id) = step["id"].as_str() {
                let outputs = parse_output_file(&std::fs::read_to_string(&output_file).unwrap());
                cx.steps.insert(id.to_owned(), outputs);
            }
            outcome.status = out.status.code().unwrap_or(-1);
            if outcome.status != 0 {
                break;
            }
        }
        if let Some(outputs) = action["outputs"].as_mapping() {
            for (name, spec) in outputs {
                let value = cx.expand(spec["value"].as_str().unwrap());
                outcome.outputs.insert(name.as_str().unwrap().to_owned(), value);
            }
        }
        outcome
    }
}

/// The expression contexts the action may use; anything else fails the test.
struct Contexts {
    inputs: BTreeMap<String, String>,
    github: BTreeMap<String, String>,
    runner: BTreeMap<String, String>,
    steps: BTreeMap<String, BTreeMap<String, String>>,
}

impl Contexts {
    fn expand(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("an expression is closed") + start;
            out.push_str(&self.value(rest[start + 3..end].trim()));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    fn value(&self, expr: &str) -> String {
        let parts: Vec<&str> = expr.split('.').collect();
        let found = match parts.as_slice() {
            ["inputs", name] => self.inputs.get(*name).cloned(),
            ["github", name] => self.github.get(*name).cloned(),
            ["runner", name] => self.runner.get(*name).cloned(),
            // A step that did not run or set no such output expands to "", as on the runner.
            ["steps", id, "outputs", name] => Some(
                self.steps
                    .get(*id)
                    .and_then(|o| o.get(*name))
                    .cloned()
                    .unwrap_or_default(),
            ),
            _ => None,
        };
        found.unwrap_or_else(|| panic!("the emulation does not know the expression `{expr}`"))
    }
}

/// `name=value` lines and `name<<DELIMITER` blocks, as the runner reads `$GITHUB_OUTPUT`.
fn parse_output_file(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            out.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_owned(), value.to_owned());
        }
    }
    out
}

/// The cache step restoring a kepguard built earlier (this test's binary) into its directory.
fn cache_hit(uses: &str, with: &BTreeMap<String, String>) {
    assert!(uses.starts_with("actions/cache@"), "{uses}");
    let dir = with["path"].lines().next().unwrap();
    assert!(!dir.is_empty(), "the cache path names the install directory");
    std::fs::create_dir_all(format!("{dir}/bin")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_kepguard"), format!("{dir}/bin/kepguard")).unwrap();
}

/// A bare "origin" holding the fixture's branches, which serves commits by id as GitHub does.
struct Remote {
    f: Branches,
    origin: PathBuf,
}

fn remote() -> Remote {
    let f = branches();
    let origin = f.r.sibling("origin.git");
    git_in(
        f.r.dir.parent().unwrap(),
        &[
            "clone",
            "-q",
            "--bare",
            f.r.dir.to_str().unwrap(),
            origin.to_str().unwrap(),
        ],
    );
    git_in(&origin, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
    Remote { f, origin }
}

impl Remote {
    /// A checkout of `rev` in a new workspace, as actions/checkout makes it: `depth` 0 fetches
    /// every branch with all history, otherwise only `rev`, shallow.
    fn checkout(&self, name: &str, rev: &str, depth: u32) -> PathBuf {
        let ws = self.f.r.sibling(name);
        std::fs::create_dir(&ws).unwrap();
        git_in(&ws, &["init", "-q"]);
        git_in(
            &ws,
            &["remote", "add", "origin", &format!("file://{}", self.origin.display())],
        );
        if depth == 0 {
            git_in(
                &ws,
                &[
                    "fetch",
                    "-q",
                    "--no-tags",
                    "origin",
                    "+refs/heads/*:refs/remotes/origin/*",
                ],
            );
        } else {
            git_in(
                &ws,
                &["fetch", "-q", "--no-tags", &format!("--depth={depth}"), "origin", rev],
            );
        }
        git_in(&ws, &["checkout", "-q", "--detach", rev]);
        ws
    }
}

fn root_action(runner: &Runner, inputs: &[(&str, &str)]) -> Outcome {
    runner.run(Path::new(ROOT), inputs, &cache_hit)
}

fn pull_request(f: &Branches) -> Value {
    json!({"pull_request": {"base": {"sha": f.main}, "head": {"sha": f.feature}}})
}

/// The line of the fixture's bad README where its Implementation History starts.
fn history_line() -> usize {
    common::readme("S.", &["Answered."], &["- a"])
        .lines()
        .position(|l| l == "## Implementation History")
        .unwrap()
        + 1
}

/// The one annotation the fixture's bad commit gets.
fn assert_history_annotation(o: &Outcome) {
    let annotations = o.annotations();
    assert_eq!(annotations.len(), 1, "{o:#?}");
    let a = annotations[0];
    assert!(
        a.starts_with(&format!(
            "::error file={BRANCHES_KEP}/README.md,line={},",
            history_line()
        )) && a.contains(",title=kepguard implementation-history::"),
        "{a}"
    );
}

#[test]
fn pull_request_annotates_summarises_and_fails() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.feature, 0);
    let o = root_action(&Runner::new(&ws, "pull_request", pull_request(&r.f)), &[]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert_history_annotation(&o);
    assert!(o.summary.contains("implementation-history"), "{}", o.summary);
    assert!(
        o.summary
            .contains(&format!("`{BRANCHES_KEP}/README.md:{}`", history_line())),
        "{}",
        o.summary
    );
    assert_eq!(o.outputs["errors"], "1");
    assert_eq!(o.outputs["warnings"], "0");
    assert_eq!(o.outputs["sarif-file"], "");
    assert_eq!(o.uses.len(), 1, "only the cache step is a remote action");
    assert!(
        o.stdout.contains("found kepguard"),
        "the cached build is used: {}",
        o.stdout
    );
}

#[test]
fn clean_pull_request_passes() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.feature, 0);
    let payload = json!({"pull_request": {"base": {"sha": r.f.bad}, "head": {"sha": r.f.feature}}});
    let o = root_action(&Runner::new(&ws, "pull_request", payload), &[]);
    assert_eq!(o.status, 0, "{o:#?}");
    assert!(o.annotations().is_empty(), "{o:#?}");
    assert_eq!(
        (o.outputs["errors"].as_str(), o.outputs["warnings"].as_str()),
        ("0", "0")
    );
    assert!(!o.summary.is_empty());
}

#[test]
fn push_events_new_branches_and_force_pushes() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.feature, 0);
    let f = &r.f;

    let o = root_action(
        &Runner::new(&ws, "push", json!({"before": f.base, "after": f.feature})),
        &[],
    );
    assert_eq!(o.status, 1, "{o:#?}");
    assert_history_annotation(&o);

    // A new branch: only the pushed tip against its parent; the tip is clean, the commit before it is not.
    let zero = "0".repeat(40);
    let o = root_action(
        &Runner::new(&ws, "push", json!({"before": zero, "after": f.feature})),
        &[],
    );
    assert_eq!((o.status, o.outputs["errors"].as_str()), (0, "0"), "{o:#?}");
    let o = root_action(&Runner::new(&ws, "push", json!({"before": zero, "after": f.bad})), &[]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert_history_annotation(&o);

    // With the default branch named, a new branch is checked from where it left it: the bad
    // commit before the clean tip is found.
    let new_branch = json!({"before": zero, "after": f.feature, "ref": "refs/heads/feature", "repository": {"default_branch": "main"}});
    let o = root_action(&Runner::new(&ws, "push", new_branch.clone()), &[]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert_history_annotation(&o);
    // Also from a depth-1 clone, which lacks origin/main until the action fetches it.
    let shallow = r.checkout("ws-shallow", &f.feature, 1);
    let o = root_action(&Runner::new(&shallow, "push", new_branch), &[]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert_history_annotation(&o);

    // A force-push that replaced main's line with feature: checked from the fork point.
    let forced = json!({"before": f.main, "after": f.feature, "forced": true});
    let o = root_action(&Runner::new(&ws, "push", forced), &[]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert_history_annotation(&o);
}

#[test]
fn merge_group() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.feature, 0);
    let payload = json!({"merge_group": {"base_sha": r.f.main, "head_sha": r.f.feature}});
    let o = root_action(&Runner::new(&ws, "merge_group", payload), &[]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert_history_annotation(&o);
    assert_eq!(o.outputs["errors"], "1");
}

#[test]
fn shallow_clone_is_deepened_until_the_range_is_there() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.feature, 1);
    assert_eq!(git_in(&ws, &["rev-parse", "--is-shallow-repository"]).trim(), "true");
    let o = root_action(&Runner::new(&ws, "pull_request", pull_request(&r.f)), &[]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert!(o.stdout.contains("kepguard: fetching up to 50 commits"), "{}", o.stdout);
    assert_history_annotation(&o);

    // A new branch pushed into a depth-1 clone needs the tip's parent.
    let ws = r.checkout("ws2", &r.f.bad, 1);
    let payload = json!({"before": "0".repeat(40), "after": r.f.bad});
    let o = root_action(&Runner::new(&ws, "push", payload), &[]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert_history_annotation(&o);
}

#[test]
fn a_base_that_cannot_be_fetched_fails_with_the_remedy() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.feature, 1);
    // A commit origin does not have.
    r.f.r.write("elsewhere.txt", "x\n");
    let stray = r.f.r.commit("not pushed");
    let payload = json!({"pull_request": {"base": {"sha": stray}, "head": {"sha": r.f.feature}}});
    let o = root_action(&Runner::new(&ws, "pull_request", payload), &[]);
    assert_eq!(o.status, 2, "{o:#?}");
    let error = o
        .annotations()
        .into_iter()
        .find(|a| a.starts_with("::error"))
        .unwrap_or_default();
    assert!(error.contains(&stray) && error.contains("fetch-depth: 0"), "{o:#?}");

    // The deepening is bounded: history cut off beyond the last depth fails the same way.
    let ws = r.checkout("ws2", &r.f.feature, 1);
    let o = root_action(
        &Runner::new(&ws, "pull_request", pull_request(&r.f)).env("KEPGUARD_DEEPEN_DEPTHS", "1"),
        &[],
    );
    assert_eq!(o.status, 2, "{o:#?}");
    let error = o
        .annotations()
        .into_iter()
        .find(|a| a.starts_with("::error"))
        .unwrap_or_default();
    assert!(
        error.contains("merge-base") && error.contains("1 times") && error.contains("fetch-depth: 0"),
        "{o:#?}"
    );
}

#[test]
fn inputs_shape_the_outputs() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.feature, 0);
    let runner = Runner::new(&ws, "pull_request", pull_request(&r.f));

    // fail-on never: the findings are reported, the step passes.
    let o = root_action(&runner, &[("fail-on", "never"), ("sarif-file", "out/kepguard.sarif")]);
    assert_eq!(o.status, 0, "{o:#?}");
    assert_history_annotation(&o);
    assert_eq!(o.outputs["errors"], "1");
    let sarif = PathBuf::from(&o.outputs["sarif-file"]);
    assert_eq!(sarif, ws.join("out/kepguard.sarif"));
    let doc: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(doc["runs"][0]["results"][0]["ruleId"], "implementation-history");

    // No annotations and no summary: the human report in the log instead.
    let o = root_action(&runner, &[("annotations", "false"), ("summary", "false")]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert!(o.annotations().is_empty(), "{o:#?}");
    assert!(o.stdout.contains("error[implementation-history]"), "{}", o.stdout);
    assert!(
        o.stdout.contains("::stop-commands::"),
        "KEP text cannot issue commands: {}",
        o.stdout
    );
    assert_eq!(o.summary, "");

    // fail-on warning fails on errors too; explicit base/head win over the event.
    let o = root_action(&runner, &[("fail-on", "warning")]);
    assert_eq!(o.status, 1, "{o:#?}");
    let o = root_action(&runner, &[("base", &r.f.bad)]);
    assert_eq!((o.status, o.outputs["errors"].as_str()), (0, "0"), "{o:#?}");

    // Bad inputs stop the step with one clear error.
    let o = root_action(&runner, &[("annotations", "yes")]);
    assert_eq!(o.status, 2, "{o:#?}");
    assert!(
        o.stdout
            .contains("::error title=kepguard::input `annotations` must be true or false")
    );
    let o = root_action(&runner, &[("fail-on", "sometimes")]);
    assert_eq!(o.status, 2, "{o:#?}");
}

/// A change that plants `kepguard.sarif` as a symbolic link cannot have the action overwrite (or
/// upload) the file it points to.
#[cfg(unix)]
#[test]
fn a_planted_sarif_link_is_not_written_through() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.feature, 0);
    let outside = r.f.r.sibling("outside.txt");
    std::fs::write(&outside, "precious\n").unwrap();
    std::os::unix::fs::symlink(&outside, ws.join("kepguard.sarif")).unwrap();
    let runner = Runner::new(&ws, "pull_request", pull_request(&r.f));
    let o = root_action(&runner, &[("sarif-file", "kepguard.sarif")]);
    assert_eq!(o.status, 2, "{o:#?}");
    assert!(o.stderr.contains("symbolic link"), "{o:#?}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious\n");
    assert_eq!(o.outputs["sarif-file"], "", "{o:#?}");
}

/// A line break in `sarif-file` or `version` would add lines to `$GITHUB_OUTPUT`, setting outputs
/// (`errors=0`) a later step trusts: both inputs are refused before anything is written.
#[test]
fn inputs_cannot_add_outputs() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.feature, 0);
    let runner = Runner::new(&ws, "pull_request", pull_request(&r.f));
    for sarif in ["x.sarif\nerrors=0", "x.sarif\rerrors=0"] {
        let o = root_action(&runner, &[("sarif-file", sarif)]);
        assert_eq!(o.status, 2, "{o:#?}");
        assert!(
            o.stdout
                .contains("::error title=kepguard::input `sarif-file` must be one line"),
            "{o:#?}"
        );
        assert_ne!(o.outputs["errors"], "0", "{o:#?}");
    }
    for version in ["0.1.0\nkey=evil", "../../x", "0.1.0\r"] {
        let o = root_action(&runner, &[("version", version)]);
        assert_eq!(o.status, 2, "{version:?}: {o:#?}");
        assert!(
            o.stdout
                .contains("::error title=kepguard::input `version` must be a release version"),
            "{o:#?}"
        );
        assert!(o.outputs.values().all(|v| !v.contains("evil")), "{o:#?}");
    }
}

#[test]
fn working_directory_points_at_the_repository() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.feature, 0);
    let outer = r.f.r.sibling("outer");
    std::fs::create_dir(&outer).unwrap();
    std::fs::rename(&ws, outer.join("keps-repo")).unwrap();
    let runner = Runner::new(&outer, "pull_request", pull_request(&r.f));
    let o = root_action(&runner, &[("working-directory", "keps-repo")]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert_history_annotation(&o);
}

#[test]
fn other_events_check_the_head_commit_and_say_so() {
    let r = remote();
    let ws = r.checkout("ws", &r.f.bad, 0);
    let o = root_action(&Runner::new(&ws, "workflow_dispatch", json!({})), &[]);
    assert_eq!(o.status, 1, "{o:#?}");
    assert!(
        o.stderr.contains("workflow_dispatch: checking HEAD^ .. HEAD"),
        "{}",
        o.stderr
    );
}

/// `actions/install` with no cache to restore.
fn install_action(runner: &Runner, version: &str) -> Outcome {
    let cache_miss = |uses: &str, _: &BTreeMap<String, String>| assert!(uses.starts_with("actions/cache@"));
    runner.run(
        &Path::new(ROOT).join("actions/install"),
        &[("version", version)],
        &cache_miss,
    )
}

/// What `dist/package.sh` packed from this test's binary: the archive's name and content, and the
/// lines it wrote for `actions/install/checksums.txt`.
struct Packed {
    name: String,
    bytes: Vec<u8>,
    checksums: String,
}

/// The release archive `dist/package.sh` packs, once per test process, from this test's binary
/// (`KEPGUARD_DIST_BIN`: no build), for `x86_64-unknown-linux-musl`: the target `install.sh`
/// downloads on the emulated runner (Linux, X64).
fn packed() -> &'static Packed {
    static PACKED: OnceLock<Packed> = OnceLock::new();
    PACKED.get_or_init(|| {
        const TARGET: &str = "x86_64-unknown-linux-musl";
        let out = tempfile::Builder::new()
            .prefix("dist-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let o = Command::new(Path::new(ROOT).join("dist/package.sh"))
            .arg(TARGET)
            .env("KEPGUARD_DIST_BIN", env!("CARGO_BIN_EXE_kepguard"))
            .env("KEPGUARD_DIST_OUT", out.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "dist/package.sh: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // Named as install.sh asks for it, with a line for the archive and one for its binary.
        let name = format!("kepguard-v{}-{TARGET}.tar.gz", env!("CARGO_PKG_VERSION"));
        let checksums = std::fs::read_to_string(out.path().join("checksums.txt")).unwrap();
        let names: Vec<_> = checksums
            .lines()
            .map(|line| {
                let (sum, name) = line.split_once("  ").unwrap();
                assert!(sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
                name
            })
            .collect();
        assert_eq!(names, [name.clone(), format!("{name}:kepguard")], "{checksums}");
        let bytes = std::fs::read(out.path().join(&name)).unwrap();
        Packed { name, bytes, checksums }
    })
}

/// A release `v<version>` in a directory laid out as release downloads are, holding the archive
/// `dist/package.sh` packs, and the checksums file that pins it (the archive's SHA-256 replaced by
/// `checksum` when given); returns the release's `file://` base URL. The archive is published as
/// `version` rather than Cargo.toml's: for the action's own version, install.sh would build the
/// action's source instead of failing where the tests expect it to.
fn publish_release(dir: &Path, version: &str, checksum: Option<&str>) -> String {
    let packed = packed();
    let (ours, theirs) = (
        format!("kepguard-v{}-", env!("CARGO_PKG_VERSION")),
        format!("kepguard-v{version}-"),
    );
    let archive = packed.name.replacen(&ours, &theirs, 1);
    let release = dir.join(format!("v{version}"));
    std::fs::create_dir_all(&release).unwrap();
    std::fs::write(release.join(&archive), &packed.bytes).unwrap();
    let pins: String = packed
        .checksums
        .lines()
        .map(|line| {
            let (sum, name) = line.split_once("  ").unwrap();
            let name = name.replacen(&ours, &theirs, 1);
            let sum = checksum.filter(|_| name == archive).unwrap_or(sum);
            format!("{sum}  {name}\n")
        })
        .collect();
    std::fs::write(dir.join("checksums.txt"), pins).unwrap();
    format!("file://{}", dir.display())
}

/// A runner whose installs come from the release mirror `url` under `releases`, pinned by its
/// checksums file.
fn release_runner(tmp: &Path, releases: &Path, url: &str) -> Runner {
    Runner::new(tmp, "push", json!({}))
        .env("KEPGUARD_RELEASES_URL", url)
        .env("KEPGUARD_CHECKSUMS", releases.join("checksums.txt").to_str().unwrap())
}

#[test]
fn at_a_release_tag_the_action_installs_that_release_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let releases = tmp.path().join("releases");
    let own = env!("CARGO_PKG_VERSION");
    let url = publish_release(&releases, own, None);
    let runner = release_runner(tmp.path(), &releases, &url).action_ref("v1");
    let o = install_action(&runner, "");
    assert_eq!(o.status, 0, "{o:#?}");
    assert_eq!(
        PathBuf::from(&o.outputs["path"]),
        runner.tool_cache.join(format!("kepguard/v{own}/X64/bin/kepguard"))
    );
    assert!(o.stdout.contains("downloading"), "{}", o.stdout);

    // At a branch, or at a tag whose release the action does not pin, the source is built: the
    // cache key names the source's content, not a release.
    let key = |reference: &str, checksums: &Path| {
        let out = tmp.path().join(format!("key-{reference}"));
        let status = Command::new("bash")
            .arg(Path::new(ROOT).join("actions/install/install.sh"))
            .arg("key")
            .env("KEPGUARD_ACTION_REF", reference)
            .env("KEPGUARD_CHECKSUMS", checksums)
            .env("GITHUB_OUTPUT", &out)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read_to_string(out).unwrap()
    };
    let pins = releases.join("checksums.txt");
    assert!(key("v1", &pins).contains(&format!("-v{own}\n")), "{}", key("v1", &pins));
    assert!(key("main", &pins).contains("-src-"), "{}", key("main", &pins));
    assert!(key("v1", &tmp.path().join("none.txt")).contains("-src-"));
}

#[test]
fn install_downloads_a_verified_release_and_reuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let releases = tmp.path().join("releases");
    let url = publish_release(&releases, "9.9.9", None);
    let runner = release_runner(tmp.path(), &releases, &url);
    let o = install_action(&runner, "v9.9.9");
    assert_eq!(o.status, 0, "{o:#?}");
    let path = PathBuf::from(&o.outputs["path"]);
    assert_eq!(path, runner.tool_cache.join("kepguard/v9.9.9/X64/bin/kepguard"));
    let version = Command::new(&path).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("kepguard "));
    assert!(o.stdout.contains("downloading"), "{}", o.stdout);

    // The tool cache (as the cache step restores it) is used as it is.
    let o = install_action(&runner, "9.9.9");
    assert_eq!(
        (o.status, o.outputs["path"].as_str()),
        (0, path.to_str().unwrap()),
        "{o:#?}"
    );
    assert!(o.stdout.contains("found kepguard"), "{}", o.stdout);

    // A cached binary that is not the pinned one (another job wrote the cache) is replaced.
    std::fs::write(&path, "#!/bin/sh\necho kepguard 6.6.6\n").unwrap();
    let o = install_action(&runner, "9.9.9");
    assert_eq!(o.status, 0, "{o:#?}");
    assert!(o.stdout.contains("is not the binary this action pins"), "{}", o.stdout);
    let version = Command::new(&path).arg("--version").output().unwrap();
    assert!(!String::from_utf8_lossy(&version.stdout).contains("6.6.6"));
}

#[test]
fn install_trusts_only_what_the_action_pins() {
    let tmp = tempfile::tempdir().unwrap();
    let releases = tmp.path().join("releases");
    let url = publish_release(&releases, "9.9.9", None);
    // The server's own checksum says nothing: a version the action does not pin is refused.
    let o = install_action(
        &release_runner(tmp.path(), &tmp.path().join("elsewhere"), &url),
        "9.9.9",
    );
    assert_eq!(o.status, 1, "{o:#?}");
    assert!(o.stdout.contains("pins no SHA-256"), "{}", o.stdout);
    assert!(!o.stdout.contains("downloading"), "{}", o.stdout);
    // Plain http is refused, and a version must be a release number.
    let runner = release_runner(tmp.path(), &releases, "http://127.0.0.1:9/releases");
    let o = install_action(&runner, "9.9.9");
    assert!(o.status == 1 && o.stderr.contains("https only"), "{o:#?}");
    for bad in ["1.2", "9.9.9-rc1", "latest"] {
        let o = install_action(&release_runner(tmp.path(), &releases, &url), bad);
        assert_eq!(o.status, 2, "{bad}: {o:#?}");
    }
}

#[test]
fn install_refuses_an_archive_that_does_not_match_its_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let releases = tmp.path().join("releases");
    let url = publish_release(&releases, "9.9.9", Some(&"0".repeat(64)));
    let runner = release_runner(tmp.path(), &releases, &url);
    let o = install_action(&runner, "9.9.9");
    assert_eq!(o.status, 1, "{o:#?}");
    assert!(
        o.stderr.contains("does not match the SHA-256 this action pins"),
        "{}",
        o.stderr
    );
    assert!(!runner.tool_cache.join("kepguard/v9.9.9/X64/bin/kepguard").exists());
    assert_eq!(o.outputs["path"], "");

    // A version the action does not pin, other than the action's own source, is an error too.
    let o = install_action(&runner, "9.9.8");
    assert_eq!(o.status, 1, "{o:#?}");
    assert!(o.stdout.contains("pins no SHA-256"), "{}", o.stdout);
    assert!(o.stderr.contains("no prebuilt kepguard v9.9.8"), "{}", o.stderr);
}

/// Without a version the action builds its own source with cargo, once per source content.
#[test]
fn install_builds_the_action_source_once() {
    let tmp = tempfile::tempdir().unwrap();
    // A target directory that outlives the test, so a second local run builds incrementally.
    let target = Path::new(ROOT).join("target/action-install");
    let runner = Runner::new(tmp.path(), "push", json!({})).env("CARGO_TARGET_DIR", target.to_str().unwrap());
    let o = install_action(&runner, "");
    assert_eq!(o.status, 0, "{o:#?}");
    assert!(o.stdout.contains("building kepguard"), "{}", o.stdout);
    let path = PathBuf::from(&o.outputs["path"]);
    assert!(path.starts_with(runner.tool_cache.join("kepguard")) && path.ends_with("X64/bin/kepguard"));
    let built = Command::new(&path).arg("explain").output().unwrap();
    assert!(String::from_utf8_lossy(&built.stdout).contains("implementation-history"));

    let o = install_action(&runner, "");
    assert_eq!(
        (o.status, o.outputs["path"].as_str()),
        (0, path.to_str().unwrap()),
        "{o:#?}"
    );
    assert!(o.stdout.contains("found kepguard"), "{}", o.stdout);
}

/// `actions/readiness`, the kepguard built for this test restored from the cache.
fn readiness_action(runner: &Runner, inputs: &[(&str, &str)]) -> Outcome {
    runner.run(&Path::new(ROOT).join("actions/readiness"), inputs, &cache_hit)
}

/// A README that meets every Enhancements Freeze criterion for an alpha in v1.37.
fn ready_readme() -> String {
    common::readme(
        "S.\n\n## Test Plan\n\n\
         - [x] I/we understand the owners of the involved components may require updates to existing tests.\n\n\
         Unit tests.\n\n## Graduation Criteria\n\n### Alpha\n\n- Behind a feature gate.",
        &[],
        &["- 2026-01-10: targeted at v1.37 for alpha"],
    )
}

/// A repository (at `repo` under its workspace) with two KEPs going alpha in v1.37: KEP-1001
/// tracked, KEP-1002 at risk (still `provisional`).
fn readiness_repo() -> common::Repo {
    let r = common::Repo::new();
    r.kepval_ready();
    let alpha = |number: &str, status: &str| common::kep_yaml(number, status, "alpha", "v1.37", &[("alpha", "v1.37")]);
    r.kep(
        "keps/sig-node/1001-ready",
        &alpha("1001", "implementable"),
        &ready_readme(),
    );
    r.kep(
        "keps/sig-node/1002-risky",
        &alpha("1002", "provisional"),
        &ready_readme(),
    );
    r.commit("two KEPs for v1.37");
    r
}

/// The workspace holding the fixture (in its `repo` directory), on a scheduled run.
fn readiness_runner(r: &common::Repo) -> Runner {
    Runner::new(r.dir.parent().unwrap(), "schedule", json!({}))
}

#[test]
fn readiness_summarises_the_release_and_counts_its_keps() {
    let r = readiness_repo();
    let runner = readiness_runner(&r);
    let o = readiness_action(&runner, &[("release", "v1.37"), ("working-directory", "repo")]);
    assert_eq!(o.status, 0, "a KEP at risk does not fail the step by default: {o:#?}");
    assert_eq!(o.uses.len(), 1, "only the cache step is a remote action");
    assert!(
        o.stdout.contains("found kepguard"),
        "the cached build is used: {}",
        o.stdout
    );

    assert!(o.summary.contains("v1.37"), "{}", o.summary);
    assert!(o.summary.contains("At risk for enhancements freeze"), "{}", o.summary);
    assert!(
        o.summary.contains("KEP-1002") || o.summary.contains("1002"),
        "{}",
        o.summary
    );
    assert_eq!(
        (
            o.outputs["tracked"].as_str(),
            o.outputs["at-risk"].as_str(),
            o.outputs["exception"].as_str()
        ),
        ("1", "1", "0"),
        "{o:#?}"
    );
    assert!(
        o.stdout.contains("1 tracked, 1 at risk, 0 with an exception"),
        "{}",
        o.stdout
    );
    assert!(o.annotations().is_empty(), "{o:#?}");

    // The JSON report, in the runner's temporary directory, holds the counts the outputs give.
    let report = PathBuf::from(&o.outputs["report"]);
    assert!(report.starts_with(runner.tmp.path().join("runner-temp")), "{report:?}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(doc["release"], "v1.37");
    assert_eq!(doc["freeze"], "enhancements");
    assert_eq!(doc["counts"]["tracked"], 1);
    assert_eq!(doc["counts"]["at_risk"], 1);

    // A second run in the job writes a report of its own.
    let again = readiness_action(&runner, &[("release", "v1.37"), ("working-directory", "repo")]);
    assert_eq!(again.status, 0, "{again:#?}");
    assert_ne!(again.outputs["report"], o.outputs["report"]);
    assert!(report.exists());

    // PRR Freeze does not ask for `status`: both KEPs are tracked for it.
    let o = readiness_action(
        &runner,
        &[("release", "v1.37"), ("freeze", "prr"), ("working-directory", "repo")],
    );
    assert_eq!(o.status, 0, "{o:#?}");
    assert_eq!(
        (o.outputs["tracked"].as_str(), o.outputs["at-risk"].as_str()),
        ("2", "0"),
        "{o:#?}"
    );
}

#[test]
fn readiness_fails_on_a_kep_at_risk_when_asked() {
    let r = readiness_repo();
    let runner = readiness_runner(&r);
    let o = readiness_action(
        &runner,
        &[
            ("release", "v1.37"),
            ("working-directory", "repo"),
            ("fail-on-at-risk", "true"),
        ],
    );
    assert_eq!(o.status, 1, "{o:#?}");
    // The report and the outputs are there all the same.
    assert!(o.summary.contains("At risk for enhancements freeze"), "{}", o.summary);
    assert_eq!(
        (o.outputs["tracked"].as_str(), o.outputs["at-risk"].as_str()),
        ("1", "1"),
        "{o:#?}"
    );
    assert!(PathBuf::from(&o.outputs["report"]).is_file(), "{o:#?}");
    assert_eq!(
        o.annotations(),
        ["::error title=kepguard readiness::1 KEP(s) at risk for the v1.37 enhancements freeze (see the job summary)"],
        "{o:#?}"
    );

    // Only the tracked KEP, named in a file relative to `working-directory`: nothing at risk.
    std::fs::write(r.dir.join("board.txt"), "# the tracking board\n1001\n").unwrap();
    let o = readiness_action(
        &runner,
        &[
            ("release", "v1.37"),
            ("working-directory", "repo"),
            ("fail-on-at-risk", "true"),
            ("keps-file", "board.txt"),
        ],
    );
    assert_eq!(o.status, 0, "{o:#?}");
    assert_eq!(
        (o.outputs["tracked"].as_str(), o.outputs["at-risk"].as_str()),
        ("1", "0"),
        "{o:#?}"
    );

    // A value other than true or false is refused, not taken for false.
    let o = readiness_action(
        &runner,
        &[
            ("release", "v1.37"),
            ("working-directory", "repo"),
            ("fail-on-at-risk", "yes"),
        ],
    );
    assert_eq!(o.status, 2, "{o:#?}");
    assert!(
        o.stdout
            .contains("::error title=kepguard readiness::input `fail-on-at-risk` must be true or false"),
        "{o:#?}"
    );
}

/// Inputs reach the step as environment variables, never as shell code: shell metacharacters in
/// any of them run nothing, and a line break cannot add outputs.
#[test]
fn readiness_inputs_cannot_run_code() {
    let r = readiness_repo();
    let runner = readiness_runner(&r);
    let workspace = r.dir.parent().unwrap();
    let pwned = || {
        [
            r.dir.join("pwned"),
            workspace.join("pwned"),
            Path::new(ROOT).join("actions/readiness/pwned"),
        ]
        .into_iter()
        .find(|p| p.exists())
    };
    let attacks: &[(&str, &str)] = &[
        ("release", "v1.37\"; touch pwned; \""),
        ("release", "v1.37'; touch pwned; '"),
        ("release", "$(touch pwned)"),
        ("release", "v1.37\ntracked=99"),
        ("freeze", "enhancements\"; touch pwned; \""),
        ("fail-on-at-risk", "false; touch pwned"),
        ("keps-file", "$(touch pwned)"),
        ("exceptions", "`touch pwned`"),
        ("since", "\"; touch pwned; \""),
        ("since", "--repo=/"),
    ];
    for &(input, value) in attacks {
        let mut inputs = vec![("working-directory", "repo")];
        if input != "release" {
            inputs.push(("release", "v1.37"));
        }
        inputs.push((input, value));
        let o = readiness_action(&runner, &inputs);
        assert_eq!(pwned(), None, "{input}={value:?} ran code: {o:#?}");
        assert_eq!(o.status, 2, "{input}={value:?}: {o:#?}");
        assert!(
            o.outputs.values().all(|v| !v.contains("99")) && o.outputs["tracked"].is_empty(),
            "{input}={value:?}: {o:#?}"
        );
    }
}
