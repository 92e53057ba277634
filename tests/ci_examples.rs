//! The Prow and GitLab examples under `examples/`: their kepguard commands run, as the jobs would
//! run them, on a fixture repository, and write the reports the CI systems read.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Repo, beta_yaml, kep_yaml, readme};

fn example(path: &str) -> serde_yaml::Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A repository whose branch `feature` graduates a KEP without an Implementation History entry.
fn repo() -> (Repo, String, String) {
    let r = Repo::new();
    let kep = "keps/sig-node/1234-frob";
    r.kep(
        kep,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &["- a"]),
    );
    let base = r.commit("add");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(&format!("{kep}/kep.yaml"), &beta_yaml("1234", "v1.21"));
    let head = r.commit("graduate");
    (r, base, head)
}

/// Runs `script` in bash in the repository, with the built kepguard first on PATH.
fn bash(dir: &Path, script: &str, env: &[(&str, &str)]) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_kepguard")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn the_prow_presubmit_writes_junit_to_artifacts() {
    let job = &example("examples/prow/presubmit.yaml")["presubmits"]["kubernetes/enhancements"][0];
    assert_eq!(job["decorate"], true);
    let script = job["spec"]["containers"][0]["command"][2].as_str().unwrap();
    // From the checkout on: the download needs the network and a published release.
    let run_part = &script[script.find("# Prow checks out").expect("the kepguard step")..];
    let (r, base, _) = repo();
    let artifacts = r.sibling("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let out = bash(
        &r.dir,
        run_part,
        &[("PULL_BASE_SHA", &base), ("ARTIFACTS", artifacts.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let xml = std::fs::read_to_string(artifacts.join("junit_kepguard.xml")).unwrap();
    assert!(xml.contains("<testsuites name=\"kepguard\""), "{xml}");
    assert!(
        xml.contains("<failure type=\"error\" message=\"KEP-1234: stage alpha -&gt; beta"),
        "{xml}"
    );
}

#[test]
fn the_gitlab_job_writes_the_code_quality_report_it_uploads() {
    let job = &example("examples/gitlab/.gitlab-ci.yml")["kepguard"];
    let report = job["artifacts"]["reports"]["codequality"].as_str().unwrap();
    let script: Vec<&str> = job["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let (r, base, head) = repo();
    let env = [
        ("CI_MERGE_REQUEST_DIFF_BASE_SHA", base.as_str()),
        ("CI_COMMIT_SHA", head.as_str()),
    ];
    let first = bash(&r.dir, script[0], &env);
    assert_eq!(first.status.code(), Some(0), "the report step never fails the job");
    let issues: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.dir.join(report)).unwrap()).unwrap();
    assert_eq!(issues[0]["check_name"], "implementation-history");
    let second = bash(&r.dir, script[1], &env);
    assert_eq!(second.status.code(), Some(1), "errors fail the job");
    assert!(String::from_utf8_lossy(&second.stdout).contains("error[implementation-history]"));
}
