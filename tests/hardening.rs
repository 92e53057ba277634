//! Hostile and broken input, end to end on real repositories: odd KEP files and tree entries,
//! broken repositories, and escape sequences in KEP text. Whatever the input, the binary never
//! panics, hangs or reads without bound; bad input is exit 2 with one line on stderr, and odd KEP
//! content is a finding (or skipped) while the rest of the check goes on.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Repo, beta_yaml, git_in, git_out, kep_yaml, output_unless_hung, readme};
use serde_json::Value;

/// The KEP each case makes odd.
const ODD: &str = "keps/sig-node/1234-frob";
/// A KEP that graduates without an Implementation History entry in the same change: its finding
/// shows the run went on past the odd KEP.
const OTHER: &str = "keps/sig-node/2000-other";
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir`, killing it at [`common::HANG`]; asserts it neither panicked nor died from a
/// signal (a stack overflow aborts).
fn run(dir: &Path, args: &[&str]) -> Run {
    run_with(Command::new(env!("CARGO_BIN_EXE_kepguard")).args(args), dir, args)
}

fn run_with(cmd: &mut Command, dir: &Path, args: &[&str]) -> Run {
    let out = output_unless_hung(
        cmd.current_dir(dir).env_remove("NO_COLOR"),
        &format!("kepguard {args:?}"),
    );
    let status = out.status;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = status
        .code()
        .unwrap_or_else(|| panic!("kepguard {args:?} died from a signal ({status}): {stderr}"));
    assert_ne!(code, 101, "kepguard {args:?} panicked: {stderr}");
    assert!(
        !stderr.contains("internal error") && !stderr.contains("panicked"),
        "kepguard {args:?} panicked: {stderr}"
    );
    Run { code, stdout, stderr }
}

/// A run that must be exit 2 with exactly one line on stderr and nothing on stdout; the line.
fn bad_input(dir: &Path, args: &[&str]) -> String {
    let r = run(dir, args);
    assert_eq!(r.code, 2, "kepguard {args:?}: {}{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "kepguard {args:?}: {}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    r.stderr.trim_end().to_owned()
}

fn json(r: &Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", r.stdout, r.stderr))
}

fn findings(doc: &Value) -> &[Value] {
    doc["findings"].as_array().unwrap()
}

/// `rule path:line` of each finding of a document under `kep`.
fn at(doc: &Value, kep: &str) -> Vec<String> {
    findings(doc)
        .iter()
        .filter(|f| f["kep"] == kep)
        .map(|f| {
            format!(
                "{} {}:{}",
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
                f["line"]
            )
        })
        .collect()
}

/// The line of `## Implementation History` in the READMEs the scenarios write.
fn history_line() -> usize {
    let text = readme("S.", &["Answered."], &["- alpha"]);
    text.lines().position(|l| l == "## Implementation History").unwrap() + 1
}

fn alpha(number: &str) -> String {
    kep_yaml(number, "implementable", "alpha", "v1.20", &[("alpha", "v1.20")])
}

/// Bytes at `path` in the work tree (any bytes, any name).
fn write_bytes(r: &Repo, path: &[u8], content: &[u8]) {
    let p = r.dir.join(std::ffi::OsStr::from_bytes(path));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// Writes `content` as a blob; its id.
fn hash_object(r: &Repo, content: &[u8]) -> String {
    let mut child = Command::new("git")
        .args(["hash-object", "-w", "--stdin"])
        .current_dir(&r.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), content).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Puts an index entry of any mode at `path`, replacing what was there (the work tree is left
/// alone, so commit with [`commit_index`]).
fn cacheinfo(r: &Repo, mode: &str, id: &str, path: &str) {
    let _ = git_out(&r.dir, &["rm", "-rq", "--cached", "--ignore-unmatch", path], &[]);
    r.git(&["update-index", "--add", "--cacheinfo", &format!("{mode},{id},{path}")]);
}

/// Commits the index as it is; the commit id.
fn commit_index(r: &Repo, message: &str) -> String {
    r.git(&["commit", "-q", "--allow-empty", "-m", message]);
    r.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

/// The loose object file of `id`.
fn loose(r: &Repo, id: &str) -> std::path::PathBuf {
    r.dir.join(".git/objects").join(&id[..2]).join(&id[2..])
}

/// base: ODD and OTHER at alpha. head: OTHER graduates without an Implementation History entry,
/// and `odd` does what the case does to ODD (in the work tree, or the index for plumbing; the
/// head commit is made from the index).
fn scenario(odd: impl FnOnce(&Repo)) -> (Repo, String, String) {
    scenario_staged(|r| {
        odd(r);
        r.git(&["add", "-A", ODD]);
    })
}

/// [`scenario`] where `odd` stages what it does itself (plumbing on the index).
fn scenario_staged(odd: impl FnOnce(&Repo)) -> (Repo, String, String) {
    let r = Repo::new();
    r.kep(ODD, &alpha("1234"), &readme("S.", &[], &["- alpha"]));
    r.kep(OTHER, &alpha("2000"), &readme("S.", &[], &["- alpha"]));
    let base = r.commit("two KEPs at alpha");
    r.kep(
        OTHER,
        &beta_yaml("2000", "v1.21"),
        &readme("S.", &["Answered."], &["- alpha"]),
    );
    r.git(&["add", "-A", OTHER]);
    odd(&r);
    let head = commit_index(&r, "odd change");
    (r, base, head)
}

/// Every reading command finishes on the scenario, and OTHER's finding is still reported: check
/// in every format, audit of the range, validate of the head. Returns check's JSON document.
fn survives(r: &Repo, base: &str, head: &str) -> Value {
    let check = run(&r.dir, &["check", "--base", base, "--head", head, "--format", "json"]);
    let doc = json(&check);
    assert_eq!(check.code, 1, "{doc}");
    assert_eq!(
        at(&doc, OTHER),
        [format!("implementation-history {OTHER}/README.md:{}", history_line())],
        "{doc}"
    );
    for format in ["human", "github", "sarif"] {
        let other = run(&r.dir, &["check", "--base", base, "--head", head, "--format", format]);
        assert_eq!(other.code, 1, "{format}: {}", other.stderr);
        // GitHub shows ten errors per step; past that a notice points to the rest.
        let shown = other.stdout.contains("implementation-history")
            || (format == "github" && other.stdout.contains("more findings are not shown"));
        assert!(shown, "{format}: {}", other.stdout);
    }
    let audit = run(&r.dir, &["audit", &format!("{base}..{head}"), "--format", "json"]);
    let audited = json(&audit);
    assert_eq!(audit.code, 1, "{audited}");
    assert_eq!(at(&audited, OTHER), at(&doc, OTHER), "{audited}");
    let validate = run(&r.dir, &["validate", "--rev", head, "--format", "json"]);
    let validated = json(&validate);
    assert!(validate.code <= 1, "{}", validate.stderr);
    assert!(validated["keps_checked"].as_u64().unwrap() >= 1, "{validated}");
    doc
}

/// The maximum resident set of a run in KiB, where GNU time is installed.
fn max_rss_kib(dir: &Path, args: &[&str]) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        eprintln!("skipping the memory measurement: /usr/bin/time is not installed");
        return None;
    }
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new(time);
    cmd.args([
        "-f",
        "%M",
        "-o",
        report.path().to_str().unwrap(),
        env!("CARGO_BIN_EXE_kepguard"),
    ])
    .args(args);
    run_with(&mut cmd, dir, args);
    let text = std::fs::read_to_string(report.path()).unwrap();
    text.lines().last()?.trim().parse().ok()
}

// 1. Size caps.

#[test]
fn oversized_kep_files_are_findings_and_never_read() {
    const BIG: &str = "keps/sig-auth/3000-big";
    const LEGACY: &str = "keps/sig-node/0042-legacy.md";
    let (r, base, head) = scenario(|r| {
        // 50 MB: a real README followed by filler.
        let mut big = readme("S.", &[], &["- alpha"]).into_bytes();
        while big.len() < 50 << 20 {
            big.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n");
        }
        write_bytes(r, format!("{ODD}/README.md").as_bytes(), &big);
        // A new KEP whose kep.yaml is 2 MB (over the 1 MiB cap) of otherwise valid YAML.
        let mut yaml = alpha("3000");
        while yaml.len() < 2 << 20 {
            yaml.push_str("# padding padding padding padding padding padding padding\n");
        }
        r.write(&format!("{BIG}/kep.yaml"), &yaml)
            .write(&format!("{BIG}/README.md"), &readme("S.", &[], &["- alpha"]));
        // A legacy single-file KEP of 11 MiB, over the README cap.
        let mut legacy = b"---\ntitle: Legacy\nstatus: provisional\n---\n# Legacy\n".to_vec();
        legacy.resize(11 << 20, b'x');
        write_bytes(r, LEGACY.as_bytes(), &legacy);
        r.git(&["add", "-A", BIG, LEGACY]);
    });
    let check = ["check", "--base", &base, "--head", &head, "--format", "json"];
    let doc = survives(&r, &base, &head);
    assert_eq!(at(&doc, ODD), [format!("file-too-large {ODD}/README.md:null")], "{doc}");
    assert_eq!(at(&doc, BIG), [format!("file-too-large {BIG}/kep.yaml:null")], "{doc}");
    assert_eq!(at(&doc, LEGACY), [format!("file-too-large {LEGACY}:null")], "{doc}");
    let message = |kep: &str| {
        let f = findings(&doc).iter().find(|f| f["kep"] == kep).unwrap();
        f["message"].as_str().unwrap().to_owned()
    };
    assert!(
        message(BIG).starts_with("KEP-3000: kep.yaml is 2.0 MiB, over the 1 MiB kepguard reads"),
        "{}",
        message(BIG)
    );
    assert!(
        message(ODD).starts_with("KEP-1234: README.md is 50.0 MiB, over the 10 MiB"),
        "{}",
        message(ODD)
    );
    assert!(
        message(LEGACY).starts_with("KEP-0042: 0042-legacy.md is 11 MiB"),
        "{}",
        message(LEGACY)
    );

    // The 50 MB blob is never inflated: the whole run stays far below its size.
    if let Some(kib) = max_rss_kib(&r.dir, &check) {
        assert!(kib < 40 * 1024, "check peaked at {kib} KiB");
    }
    let validate = json(&run(&r.dir, &["validate", "--rev", &head, "--format", "json"]));
    let validated: Vec<String> = [BIG, LEGACY, ODD].iter().flat_map(|k| at(&validate, k)).collect();
    assert_eq!(
        validated,
        [
            format!("file-too-large {BIG}/kep.yaml:null"),
            format!("file-too-large {LEGACY}:null"),
            format!("file-too-large {ODD}/README.md:null"),
        ],
        "{validate}"
    );
    let explain = run(&r.dir, &["explain", "file-too-large"]);
    assert_eq!(explain.code, 0);
    assert!(explain.stdout.contains("## How to fix"), "{}", explain.stdout);
}

#[test]
fn the_pre_receive_gate_refuses_an_oversized_readme_from_the_quarantine_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    git_in(root, &["init", "-q", "--bare", "-b", "main", "server.git"]);
    let install = run(root, &["hook", "install", "--pre-receive", "--repo", "server.git"]);
    assert_eq!(install.code, 0, "{}", install.stderr);
    // What is tested is the refusal, not its speed: a busy machine must not hit the deadline.
    git_in(&root.join("server.git"), &["config", "kepguard.timeout", "600"]);
    // The hook's peak memory, where GNU time is installed, shows whether the blob was inflated.
    let rss = root.join("hook-rss");
    let time = Path::new("/usr/bin/time");
    if time.exists() {
        let hook = format!(
            "#!/bin/sh\nexec {} -f %M -o '{}' '{}' hook pre-receive \"$@\"\n",
            time.display(),
            rss.display(),
            env!("CARGO_BIN_EXE_kepguard")
        );
        std::fs::write(root.join("server.git/hooks/pre-receive"), hook).unwrap();
    } else {
        eprintln!("skipping the memory measurement: /usr/bin/time is not installed");
    }
    git_in(root, &["clone", "-q", "server.git", "work"]);
    let work = root.join("work");
    let write = |path: &str, bytes: &[u8]| {
        let p = work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    write(&format!("{ODD}/kep.yaml"), alpha("1234").as_bytes());
    write(&format!("{ODD}/README.md"), readme("S.", &[], &["- alpha"]).as_bytes());
    git_in(&work, &["add", "-A"]);
    git_in(&work, &["commit", "-q", "-m", "KEP at alpha"]);
    let out = git_out(&work, &["push", "origin", "HEAD:main"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let mut big = readme("S.", &[], &["- alpha", "- more"]).into_bytes();
    while big.len() < 50 << 20 {
        big.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n");
    }
    write(&format!("{ODD}/README.md"), &big);
    git_in(&work, &["commit", "-q", "-am", "a 50 MB README"]);
    let out = git_out(&work, &["push", "origin", "HEAD:main"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("remote: error[file-too-large]: KEP-1234: README.md is 50.0 MiB"),
        "{err}"
    );
    // The 50 MB blob was never inflated: the hook stays far below its size.
    if time.exists() {
        let text = std::fs::read_to_string(&rss).unwrap();
        let kib: u64 = text
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("{text}"));
        assert!(kib < 40 * 1024, "the gate peaked at {kib} KiB");
    }
}

// 2. Binary content and invalid UTF-8.

#[test]
fn binary_metadata_is_a_metadata_finding_at_its_line() {
    let (r, base, head) = scenario(|r| {
        let mut bytes = b"title: Test KEP\nkep-number: 1234\n".to_vec();
        bytes.extend((0u8..=255).cycle().take(4096));
        write_bytes(r, format!("{ODD}/kep.yaml").as_bytes(), &bytes);
        // Binary in the README too: it is text with replacement characters, not a failure.
        let mut readme_bytes = readme("S.", &[], &["- alpha"]).into_bytes();
        readme_bytes.extend((0u8..=255).rev().cycle().take(4096));
        write_bytes(r, format!("{ODD}/README.md").as_bytes(), &readme_bytes);
    });
    let doc = survives(&r, &base, &head);
    let odd = at(&doc, ODD);
    assert!(
        odd.iter()
            .any(|f| f.starts_with(&format!("kep-metadata {ODD}/kep.yaml:"))),
        "{doc}"
    );
}

#[test]
fn invalid_utf8_in_metadata_is_named_with_its_line() {
    let (r, base, head) = scenario(|r| {
        let yaml = alpha("1234").replace("title: Test KEP", "title: Caf\u{1}");
        let bytes = yaml.replace('\u{1}', "\u{0}").into_bytes();
        // `title: Caf\xe9` (Latin-1), on line 1.
        let bytes: Vec<u8> = bytes.into_iter().map(|b| if b == 0 { 0xe9 } else { b }).collect();
        write_bytes(r, format!("{ODD}/kep.yaml").as_bytes(), &bytes);
        write_bytes(
            r,
            format!("{ODD}/README.md").as_bytes(),
            b"# T\xff\xfe\n\n## Summary\n\n\xc3\x28\n",
        );
    });
    let doc = survives(&r, &base, &head);
    let odd: Vec<Value> = findings(&doc).iter().filter(|f| f["kep"] == ODD).cloned().collect();
    let meta = odd
        .iter()
        .find(|f| f["rule"] == "kep-metadata")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(meta["line"], 1, "{meta}");
    assert!(meta["message"].as_str().unwrap().contains("UTF-8"), "{meta}");
    let human = run(&r.dir, &["check", "--base", &base, "--head", &head]);
    assert!(human.stdout.contains("1 | title: Caf\u{fffd}"), "{}", human.stdout);
}

// 3. CRLF, BOM and tabs.

#[test]
fn crlf_and_a_bom_parse_as_written_by_windows_editors() {
    let (r, base, head) = scenario(|r| {
        let crlf = |s: &str| format!("\u{feff}{}", s.replace('\n', "\r\n"));
        // A graduation without a history entry: judged exactly as with LF line endings.
        r.write(&format!("{ODD}/kep.yaml"), &crlf(&beta_yaml("1234", "v1.21")))
            .write(
                &format!("{ODD}/README.md"),
                &crlf(&readme("S.", &["Answered."], &["- alpha"])),
            );
    });
    let doc = survives(&r, &base, &head);
    let line = history_line();
    assert_eq!(
        at(&doc, ODD),
        [format!("implementation-history {ODD}/README.md:{line}")],
        "{doc}"
    );
    let human = run(&r.dir, &["check", "--base", &base, "--head", &head]);
    assert!(!human.stdout.contains('\r'), "{:?}", human.stdout);
    assert!(
        human.stdout.contains(&format!("{line} | ## Implementation History\n")),
        "{}",
        human.stdout
    );
}

#[test]
fn tabs_in_metadata_are_a_finding_at_the_line() {
    let (r, base, head) = scenario(|r| {
        let yaml = alpha("1234").replace("  - \"@oscar\"", "\t- \"@oscar\"");
        r.write(&format!("{ODD}/kep.yaml"), &yaml);
    });
    let doc = survives(&r, &base, &head);
    let line = alpha("1234").lines().position(|l| l.contains("@oscar")).unwrap() + 1;
    assert_eq!(at(&doc, ODD), [format!("kep-metadata {ODD}/kep.yaml:{line}")], "{doc}");
}

// 4. YAML bombs.

#[test]
fn alias_bombs_and_deep_nesting_are_a_metadata_finding() {
    let mut laughs = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        laughs.push_str(&format!(
            "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    let deep_flow = format!("title: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let deep_map = format!("title: {}x{}\n", "{a: ".repeat(10_000), "}".repeat(10_000));
    // Compact block sequences nest one level per `- `.
    let deep_block = format!("see-also:\n{}x\n", "- ".repeat(10_000));
    for (name, yaml) in [
        ("billion laughs", laughs),
        ("deep flow sequences", deep_flow),
        ("deep flow mappings", deep_map),
        ("deep block sequences", deep_block),
    ] {
        let (r, base, head) = scenario(|r| {
            r.write(&format!("{ODD}/kep.yaml"), &format!("{}{yaml}", alpha("1234")));
        });
        let doc = survives(&r, &base, &head);
        let odd = at(&doc, ODD);
        assert!(
            !odd.is_empty() && odd.iter().all(|f| f.starts_with("kep-metadata ")),
            "{name}: {doc}"
        );
    }
}

#[test]
fn deeply_nested_readmes_are_read_without_a_finding() {
    let quotes = format!("{}x\n", "> ".repeat(10_000));
    let brackets = format!("{}x{}\n", "[".repeat(50_000), "](u)".repeat(50_000));
    // 4 MB, under the README cap: parsed, not skipped.
    let lists: String = (0..2_000).map(|i| format!("{}- x\n", "  ".repeat(i))).collect();
    for (name, extra) in [("block quotes", quotes), ("brackets", brackets), ("lists", lists)] {
        let (r, base, head) = scenario(|r| {
            r.write(
                &format!("{ODD}/README.md"),
                &format!("{}{extra}", readme("S.", &[], &["- alpha"])),
            );
        });
        let doc = survives(&r, &base, &head);
        assert_eq!(at(&doc, ODD), Vec::<String>::new(), "{name}: {doc}");
    }
}

#[test]
fn thirty_thousand_unknown_fields_are_one_finding_at_the_first() {
    let (r, base, head) = scenario(|r| {
        let fields: String = (0..30_000).map(|i| format!("unknown-{i}: x\n")).collect();
        r.write(&format!("{ODD}/kep.yaml"), &format!("{}{fields}", alpha("1234")));
    });
    let doc = survives(&r, &base, &head);
    // kepval stops at the first unknown field, and so does the finding.
    let odd = at(&doc, ODD);
    let first = alpha("1234").lines().count() + 1;
    assert_eq!(odd, vec![format!("kep-metadata {ODD}/kep.yaml:{first}")]);
}

#[test]
fn a_finding_for_each_of_ten_thousand_unanswered_prr_questions() {
    // Enough questions to show that none is dropped or merged and that each is named at its own
    // line; how the time grows with the count is the benchmark's to measure.
    const QUESTIONS: usize = 10_000;
    let (r, base, head) = scenario(|r| {
        let questions: String = (0..QUESTIONS).map(|i| format!("###### Question {i}?\n\n")).collect();
        let text = readme("S.", &[], &["- alpha", "- beta"]).replace(
            "### Rollout, Upgrade and Rollback Planning",
            &format!("{questions}### Rollout, Upgrade and Rollback Planning"),
        );
        r.write(&format!("{ODD}/kep.yaml"), &beta_yaml("1234", "v1.21"))
            .write(&format!("{ODD}/README.md"), &text);
    });
    let doc = survives(&r, &base, &head);
    // Each question is a finding of its own, in order, at its heading's line (two lines apart).
    let text = r.git(&["show", &format!("{head}:{ODD}/README.md")]);
    let first = text.lines().position(|l| l == "###### Question 0?").unwrap() + 1;
    let odd: Vec<&Value> = findings(&doc).iter().filter(|f| f["kep"] == ODD).collect();
    assert_eq!(odd.len(), QUESTIONS, "{doc}");
    for (i, f) in odd.iter().enumerate() {
        assert_eq!(
            (f["rule"].as_str(), f["severity"].as_str(), f["line"].as_u64()),
            (Some("prr-complete"), Some("warning"), Some((first + 2 * i) as u64)),
            "{f}"
        );
        assert_eq!(
            f["title"],
            format!("KEP-1234: PRR question unanswered at stage beta: Question {i}?"),
            "{f}"
        );
    }
}

// 5. Metadata that is not a mapping, and duplicate keys.

#[test]
fn metadata_lists_scalars_and_duplicate_keys_are_findings() {
    for (name, yaml, expect) in [
        ("a list", "- title: x\n- kep-number: 1\n".to_owned(), "a list"),
        ("a scalar", "just some words\n".to_owned(), "a scalar"),
        ("empty", String::new(), "an empty document"),
        (
            "duplicate keys",
            format!("{}status: provisional\n", alpha("1234")),
            "duplicate",
        ),
    ] {
        let (r, base, head) = scenario(|r| {
            r.write(&format!("{ODD}/kep.yaml"), &yaml);
        });
        let doc = survives(&r, &base, &head);
        let odd: Vec<Value> = findings(&doc).iter().filter(|f| f["kep"] == ODD).cloned().collect();
        assert_eq!(odd.len(), 1, "{name}: {doc}");
        assert_eq!(odd[0]["rule"], "kep-metadata", "{name}: {doc}");
        assert!(odd[0]["message"].as_str().unwrap().contains(expect), "{name}: {doc}");
    }
}

// 6. kep.yaml that is not a regular file, and a KEP without one.

#[test]
fn metadata_as_symlink_directory_or_submodule_is_not_a_regular_file() {
    // A link is read as the file it names (kepval opens it so); one that names nothing is not a file.
    fn symlink(r: &Repo) {
        let target = hash_object(r, b"../no-such-kep/kep.yaml");
        cacheinfo(r, "120000", &target, &format!("{ODD}/kep.yaml"));
    }
    fn directory(r: &Repo) {
        std::fs::remove_file(r.dir.join(ODD).join("kep.yaml")).unwrap();
        r.write(&format!("{ODD}/kep.yaml/kep.yaml"), &alpha("1234"));
        r.git(&["add", "-A", ODD]);
    }
    fn submodule(r: &Repo) {
        let commit = r.git(&["rev-parse", "HEAD"]).trim().to_owned();
        cacheinfo(r, "160000", &commit, &format!("{ODD}/kep.yaml"));
    }
    type Odd = fn(&Repo);
    let cases: [(&str, Odd); 3] = [("120000", symlink), ("040000", directory), ("160000", submodule)];
    for (mode, odd) in cases {
        let (r, base, head) = scenario_staged(odd);
        let entry = r.git(&["ls-tree", &head, &format!("{ODD}/kep.yaml")]);
        assert!(entry.starts_with(mode), "{entry}");
        let doc = survives(&r, &base, &head);
        assert_eq!(
            at(&doc, ODD),
            [format!("kep-metadata {ODD}/kep.yaml:null")],
            "{entry}: {doc}"
        );
        let message = findings(&doc).iter().find(|f| f["kep"] == ODD).unwrap()["message"]
            .as_str()
            .unwrap();
        assert!(message.contains("is not a regular file"), "{message}");
    }
}

#[test]
fn a_kep_directory_without_metadata_is_left_alone() {
    let (r, base, head) = scenario(|r| {
        std::fs::remove_file(r.dir.join(ODD).join("kep.yaml")).unwrap();
        r.write(&format!("{ODD}/README.md"), &readme("Changed.", &[], &["- alpha"]));
    });
    let doc = survives(&r, &base, &head);
    assert_eq!(at(&doc, ODD), Vec::<String>::new(), "{doc}");
}

// 7. Names that are not UTF-8.

#[test]
fn non_utf8_paths_under_keps_are_skipped() {
    let (r, base, head) = scenario(|r| {
        let yaml = beta_yaml("1235", "v1.21");
        let text = readme("S.", &[], &["- alpha"]);
        write_bytes(r, b"keps/sig-node/1235-caf\xe9/kep.yaml", yaml.as_bytes());
        write_bytes(r, b"keps/sig-node/1235-caf\xe9/README.md", text.as_bytes());
        write_bytes(r, b"keps/sig-\xff\xfe/1236-x/kep.yaml", yaml.as_bytes());
        write_bytes(r, b"keps/sig-node/\xc0.md", b"---\ntitle: x\n---\n# x\n");
        r.git(&["add", "-A", "keps"]);
    });
    let names = r.git(&["-c", "core.quotepath=true", "ls-tree", "-r", "--name-only", &head]);
    assert!(names.contains("\\351"), "{names}");
    survives(&r, &base, &head);
}

// 8. Empty repositories and unborn HEAD.

#[test]
fn empty_repository_and_unborn_head() {
    let r = Repo::new();
    // Nothing to compare or validate: a clear line naming the unborn branch.
    for args in [
        &["check", "--base", "HEAD"][..],
        &["check", "--base", "main", "--head", "main"],
        &["validate"],
    ] {
        let line = bad_input(&r.dir, args);
        assert!(
            line.contains("no commits yet") && line.contains("main"),
            "{args:?}: {line}"
        );
    }
    let line = bad_input(&r.dir, &["check"]);
    assert!(line.contains("--base"), "{line}");
    // The history reachable from an unborn HEAD is empty: nothing to audit.
    let audit = run(&r.dir, &["audit", "--format", "json"]);
    let doc = json(&audit);
    assert_eq!((audit.code, &doc["commits_checked"]), (0, &Value::from(0)), "{doc}");
    let human = run(&r.dir, &["audit"]);
    assert_eq!(human.code, 0);
    assert!(
        human
            .stdout
            .contains("no findings (0 KEP changes in 0 commits checked)"),
        "{}",
        human.stdout
    );

    // An orphan branch in a repository with history: HEAD is unborn, other revisions resolve.
    r.kepval_ready();
    r.kep(ODD, &alpha("1234"), &readme("S.", &[], &["- alpha"]));
    r.commit("first");
    r.git(&["checkout", "-q", "--orphan", "fresh"]);
    let line = bad_input(&r.dir, &["check", "--base", "main"]);
    assert!(line.contains("`fresh`") && line.contains("no commits yet"), "{line}");
    assert_eq!(run(&r.dir, &["audit"]).code, 0);
    assert_eq!(run(&r.dir, &["validate", "--rev", "main"]).code, 0);
    assert_eq!(run(&r.dir, &["audit", "main"]).code, 0);
}

// 9. Shallow clones.

#[test]
fn a_base_missing_from_a_shallow_clone_is_named() {
    let r = Repo::new();
    r.kepval_ready();
    r.kep(ODD, &alpha("1234"), &readme("S.", &[], &["- alpha"]));
    let old = r.commit("first");
    r.kep(
        ODD,
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &["Answered."], &["- alpha"]),
    );
    let parent = r.commit("second");
    r.write("notes.txt", "x\n");
    r.commit("third");
    let url = format!("file://{}", r.dir.display());
    git_in(
        r.dir.parent().unwrap(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let shallow = r.sibling("shallow");

    for missing in [&old, &parent] {
        let line = bad_input(&shallow, &["check", "--base", missing]);
        assert!(line.contains(missing.as_str()), "{line}");
        assert!(line.contains("shallow"), "{line}");
    }
    // An abbreviated id that names nothing here.
    let line = bad_input(&shallow, &["check", "--base", &old[..10]]);
    assert!(line.contains(&old[..10]), "{line}");
    // The tip's parent is cut off: auditing it or asking for HEAD^ names what is missing.
    let line = bad_input(&shallow, &["check", "--base", "HEAD^"]);
    assert!(line.contains("HEAD^") && line.contains("shallow"), "{line}");
    // Auditing checks each commit against its parent; the boundary commit's parent is not here.
    let line = bad_input(&shallow, &["audit"]);
    assert!(line.contains(parent.as_str()) && line.contains("shallow"), "{line}");
    assert_eq!(run(&shallow, &["validate"]).code, 0);
}

// 10. Broken object databases.

#[test]
fn corrupt_and_missing_objects_are_named() {
    let (r, base, head) = scenario(|_| {});
    let blob = r
        .git(&["rev-parse", &format!("{head}:{OTHER}/README.md")])
        .trim()
        .to_owned();
    let tree = r.git(&["rev-parse", &format!("{head}:{OTHER}")]).trim().to_owned();
    let yaml = r
        .git(&["rev-parse", &format!("{head}:{OTHER}/kep.yaml")])
        .trim()
        .to_owned();
    let range = format!("{base}..{head}");
    let commands: [&[&str]; 3] = [
        &["check", "--base", &base, "--head", &head],
        &["audit", &range],
        &["validate", "--rev", &head],
    ];

    for (what, id) in [("blob", &blob), ("tree", &tree), ("metadata blob", &yaml)] {
        let file = loose(&r, id);
        let good = std::fs::read(&file).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

        for garbage in [
            &b"garbage, not zlib"[..],
            &[0x78, 0x9c, 0xff, 0xff, 0xff, 0x00][..],
            &[][..],
        ] {
            std::fs::write(&file, garbage).unwrap();
            for args in commands {
                let line = bad_input(&r.dir, args);
                assert!(
                    line.contains(id.as_str()),
                    "corrupt {what} {garbage:?}, {args:?}: {line}"
                );
            }
        }
        std::fs::remove_file(&file).unwrap();
        for args in commands {
            let line = bad_input(&r.dir, args);
            assert!(line.contains(id.as_str()), "missing {what}, {args:?}: {line}");
        }
        std::fs::write(&file, good).unwrap();
    }
    // Restored, the check runs again.
    assert_eq!(run(&r.dir, commands[0]).code, 1);

    // A corrupt, then a missing commit object: named whether given by id or reached from HEAD.
    let file = loose(&r, &head);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&file, b"not a commit").unwrap();
    for args in [commands[0], &["audit"], &["validate"], &["check", "--base", &base]] {
        let line = bad_input(&r.dir, args);
        assert!(
            line.contains(head.as_str()) && line.contains("corrupt"),
            "{args:?}: {line}"
        );
    }
    std::fs::remove_file(&file).unwrap();
    let line = bad_input(&r.dir, commands[0]);
    assert!(
        line.contains(&format!("commit {head} is not in this repository")),
        "{line}"
    );
    for args in [&["audit"][..], &["validate"]] {
        let line = bad_input(&r.dir, args);
        assert!(
            line.contains(&format!("object {head}, which is missing")),
            "{args:?}: {line}"
        );
    }
}

// 11. KEP text on terminals and in machine formats.

/// KEP text carrying terminal escapes: in a README heading (a finding's title and snippet) and
/// the name of that KEP's directory (a path), in another KEP's status value (a title), and raw in
/// a third KEP's kep.yaml (the snippet of its parse error).
struct Hostile {
    r: Repo,
    base: String,
    head: String,
    dir: String,
}

/// The status value [`hostile`] writes, as the YAML parser reads it.
const RAW_STATUS: &str = "implementable\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n::error::x %0A\u{9b}31m";

fn hostile() -> Hostile {
    let dir = "keps/sig-node/1234-x\u{1b}]0;pwned-dir\u{7}";
    let r = Repo::new();
    r.kep(dir, &alpha("1234"), &readme("S.", &[], &["- alpha"]));
    r.kep(OTHER, &alpha("2000"), &readme("S.", &[], &["- alpha"]));
    let base = r.commit("KEPs at alpha");
    // A graduation whose first PRR question, its heading full of escapes, has no answer.
    let heading = "###### How can this feature be enabled / disabled in a live cluster?";
    let text = readme("S.", &[], &["- alpha", "- beta"])
        .replace(
            heading,
            &format!("{heading} \u{1b}[31mred\u{1b}[0m \u{1b}]8;;http://pwned\u{1b}\\link\u{1b}]8;;\u{1b}\\"),
        )
        .replace("Feature gate.\n", "");
    r.write(&format!("{dir}/kep.yaml"), &beta_yaml("1234", "v1.21"))
        .write(&format!("{dir}/README.md"), &text);
    // YAML escapes put OSC and CSI sequences, a line break and a C1 CSI into a value.
    let yaml = alpha("2000").replace(
        "status: implementable",
        "status: \"implementable\\e]0;pwned\\a\\e[2J\\r\\n::error::x %0A\\u009b31m\"",
    );
    r.write(&format!("{OTHER}/kep.yaml"), &yaml);
    // Raw control bytes are not YAML: a parse error whose snippet is this line.
    let raw = alpha("3000").replace("title: Test KEP", "title: Test \u{1b}]0;pwned\u{7}\u{1b}[2J KEP");
    r.kep("keps/sig-node/3000-raw", &raw, &readme("S.", &[], &["- alpha"]));
    let head = r.commit("hostile text");
    Hostile {
        r,
        base,
        head,
        dir: dir.to_owned(),
    }
}

/// Whether `text` holds a control character other than a line break, or an escape sequence
/// other than SGR colours.
fn escapes_other_than_colour(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find(|c: char| c.is_control() && c != '\n') {
        let tail = &rest[i..];
        let sgr = tail.strip_prefix("\u{1b}[").and_then(|t| {
            let n = t.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
            (t.as_bytes().get(n) == Some(&b'm')).then_some(&t[n + 1..])
        });
        match sgr {
            Some(after) => rest = after,
            None => return Some(tail.chars().take(20).collect()),
        }
    }
    None
}

#[test]
fn human_output_strips_escapes_from_kep_text_but_keeps_its_colours() {
    let h = hostile();
    for color in ["never", "always"] {
        let out = run(
            &h.r.dir,
            &["check", "--base", &h.base, "--head", &h.head, "--color", color],
        );
        assert_eq!(out.code, 1, "{}", out.stderr);
        for expected in [
            "invalid status",
            "PRR question unanswered",
            "not valid KEP metadata",
            "keps/sig-node/1234-x",
        ] {
            assert!(out.stdout.contains(expected), "{expected}: {}", out.stdout);
        }
        if let Some(bad) = escapes_other_than_colour(&out.stdout) {
            panic!("--color {color}: {bad:?} reached the terminal:\n{}", out.stdout);
        }
        // What only raw sequences carried is gone with them (kep.yaml's own `\e` text stays).
        assert!(
            !out.stdout.contains("pwned-dir") && !out.stdout.contains("http://pwned"),
            "{}",
            out.stdout
        );
        // KEP text never starts a line of its own.
        assert!(
            !out.stdout.lines().any(|l| l.trim_start().starts_with("::")),
            "{}",
            out.stdout
        );
        assert_eq!(common::has_sgr(&out.stdout), color == "always");
    }
    for args in [&["validate", "--rev", &h.head][..], &["audit"]] {
        let out = run(&h.r.dir, args);
        assert!(out.stdout.contains("keps/sig-node/1234-x"), "{}", out.stdout);
        assert!(
            escapes_other_than_colour(&out.stdout).is_none(),
            "{args:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn github_annotations_cannot_be_injected_by_kep_text() {
    let h = hostile();
    let out = run(
        &h.r.dir,
        &["check", "--base", &h.base, "--head", &h.head, "--format", "github"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines.len() >= 3, "{}", out.stdout);
    for line in &lines {
        assert!(
            line.starts_with("::error file=") || line.starts_with("::warning file="),
            "{line}"
        );
        assert!(!line.contains('\r'), "{line:?}");
    }
    let status = lines.iter().find(|l| l.contains("invalid status")).unwrap();
    // The line break is data, and a literal `%0A` stays literal.
    assert!(status.contains("%0D%0A::error::x %250A"), "{status}");
    assert!(
        status.starts_with(&format!("::error file={OTHER}/kep.yaml,line=6,")),
        "{status}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("file=keps/sig-node/1234-x\u{1b}]0;pwned-dir\u{7}/README.md")),
        "{}",
        out.stdout
    );
}

#[test]
fn json_and_sarif_carry_kep_text_verbatim() {
    let h = hostile();
    let out = run(
        &h.r.dir,
        &["check", "--base", &h.base, "--head", &h.head, "--format", "json"],
    );
    assert_eq!(out.stdout.lines().count(), 1, "one JSON line: {}", out.stdout);
    let doc = json(&out);
    let messages: Vec<&str> = findings(&doc).iter().map(|f| f["message"].as_str().unwrap()).collect();
    assert!(messages.iter().any(|m| m.contains(RAW_STATUS)), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("\u{1b}[31mred")), "{messages:?}");
    assert!(findings(&doc).iter().any(|f| f["kep"] == h.dir.as_str()), "{doc}");

    let out = run(
        &h.r.dir,
        &["check", "--base", &h.base, "--head", &h.head, "--format", "sarif"],
    );
    let sarif = json(&out);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["message"]["text"].as_str().unwrap().contains(RAW_STATUS)),
        "{sarif}"
    );
    let uris: Vec<&str> = results
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    // A URI percent-encodes what it cannot hold.
    assert!(
        uris.contains(&"keps/sig-node/1234-x%1B%5D0;pwned-dir%07/README.md"),
        "{uris:?}"
    );
}

#[test]
fn error_lines_on_stderr_carry_no_escapes() {
    let r = Repo::new();
    r.commit("empty");
    let line = bad_input(&r.dir, &["check", "--base", "no\u{1b}]0;pwned\u{7}such"]);
    assert!(escapes_other_than_colour(&line).is_none(), "{line:?}");
}
