//! The machine formats on a real repository: GitHub annotations, the job summary, and SARIF
//! validated against the official 2.1.0 schema, JUnit parsed back, and GitLab Code Quality.

mod common;

use std::path::Path;

use common::{Repo, beta_yaml, kep_yaml, readme};

/// A repository whose branch `feature` graduates a KEP with neither history nor PRR answers, and
/// whose KEP title tries to inject a workflow command.
fn repo() -> Repo {
    let r = Repo::new();
    let kep = "keps/sig-node/1234-frob";
    r.kep(
        kep,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &["- a"]),
    );
    r.commit("add");
    r.git(&["checkout", "-q", "-b", "feature"]);
    let hostile = kep_yaml(
        "1234",
        "implementable",
        "GA\\r\\n::error::pwned 100%",
        "v1.21",
        &[("alpha", "v1.20")],
    )
    .replace(
        "stage: GA\\r\\n::error::pwned 100%",
        "stage: \"GA\\r\\n::error::pwned 100%\"",
    );
    r.write(&format!("{kep}/kep.yaml"), &hostile);
    r.commit("hostile stage");
    r
}

fn run(r: &Repo, format: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["check", "--base", "main", "--head", "feature", "--format", format];
    args.extend_from_slice(extra);
    let out = r.kepguard(&args);
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn github_format_escapes_kep_text_into_single_line_annotations() {
    let r = repo();
    let (code, out) = run(&r, "github", &[]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    // Three findings, three lines: the hostile stage never starts a line of its own.
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("::error file=keps/sig-node/1234-frob/")),
        "{out}"
    );
    assert!(
        lines.iter().all(|l| l.contains("GA%0D%0A::error::pwned 100%25")),
        "{out}"
    );
    assert!(
        lines[0].contains("README.md,line=") && lines[0].contains(",title=kepguard implementation-history::"),
        "{out}"
    );
    assert!(
        lines[1].contains("kep.yaml,line=") && lines[1].contains(",title=kepguard kep-metadata::"),
        "{out}"
    );
    // kepval cannot find the approval of a stage it does not know.
    assert!(
        lines[2].contains("kep.yaml,line=") && lines[2].contains(",title=kepguard prr-approval::"),
        "{out}"
    );
}

#[test]
fn summary_file_is_appended_with_a_verdict_and_table() {
    let r = repo();
    let summary = r.sibling("summary.md");
    std::fs::write(&summary, "previous step\n").unwrap();
    let (code, _) = run(&r, "json", &["--summary", summary.to_str().unwrap()]);
    assert_eq!(code, 1);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("previous step\n## kepguard: ❌ 3 errors, 0 warnings"),
        "{md}"
    );
    assert!(md.contains("| `kep-metadata` | KEP-1234"), "{md}");
}

#[test]
fn sarif_output_validates_against_the_schema() {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/schemas/sarif-schema-2.1.0.json");
    let Ok(schema) = std::fs::read_to_string(&schema_path) else {
        eprintln!("skipping: {} not found", schema_path.display());
        return;
    };
    let schema: serde_json::Value = serde_json::from_str(&schema).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("the SARIF schema compiles");

    let r = repo();
    // A second finding kind: a graduation without history or PRR answers, on another branch.
    r.git(&["checkout", "-q", "main"]);
    r.git(&["checkout", "-q", "-b", "graduate"]);
    r.kep(
        "keps/sig-node/1234-frob",
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &[], &["- a"]),
    );
    r.commit("graduate");
    for head in ["feature", "graduate"] {
        let out = r.kepguard(&["check", "--base", "main", "--head", head, "--format", "sarif"]);
        assert_eq!(out.status.code(), Some(1));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{doc:#}");
        let run = &doc["runs"][0];
        assert_eq!(doc["version"], "2.1.0");
        assert_eq!(run["tool"]["driver"]["name"], "kepguard");
        for result in run["results"].as_array().unwrap() {
            assert!(result["partialFingerprints"]["kepguard/v1"].is_string());
            let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(uri.starts_with("keps/sig-node/1234-frob/"), "{uri}");
        }
    }
    // A broken document is caught, so the check above means something.
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"results": []}]});
    assert!(!validator.is_valid(&bad));
}

/// The JUnit document, parsed back: `(suite, [(case, failure message or "")])`, in order.
fn junit_cases(xml: &str) -> Vec<(String, Vec<(String, String)>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &str| -> String {
        e.attributes()
            .map(Result::unwrap)
            .find(|a| a.key.0 == name)
            .map(|a| {
                a.normalized_value(quick_xml::XmlVersion::default())
                    .unwrap()
                    .into_owned()
            })
            .unwrap_or_default()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().0 {
                "testsuite" => out.push((attr(&e, "name"), Vec::new())),
                "testcase" => out.last_mut().unwrap().1.push((attr(&e, "name"), String::new())),
                "failure" => out.last_mut().unwrap().1.last_mut().unwrap().1 = attr(&e, "message"),
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[test]
fn junit_has_a_suite_per_rule_and_a_case_per_kep() {
    let r = repo();
    r.git(&["checkout", "-q", "feature"]);
    r.kep(
        "keps/sig-node/2000-clean",
        &kep_yaml("2000", "provisional", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &["- a"]),
    );
    r.commit("a clean KEP beside it");
    let junit = r.sibling("out/junit_kepguard.xml");
    let (code, xml) = run(&r, "junit", &["--junit-file", junit.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        std::fs::read_to_string(&junit).unwrap(),
        xml,
        "the file holds the same report"
    );
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"kepguard\""),
        "{xml}"
    );
    let suites = junit_cases(&xml);
    let names: Vec<&str> = suites.iter().map(|(s, _)| s.as_str()).collect();
    assert!(names.starts_with(&["implementation-history"]), "{names:?}");
    assert_eq!(names.len(), 13, "one suite per rule: {names:?}");
    for (suite, cases) in &suites {
        let kep_names: Vec<&str> = cases.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            kep_names,
            ["keps/sig-node/1234-frob", "keps/sig-node/2000-clean"],
            "{suite}"
        );
    }
    let failing: Vec<(&str, &str)> = suites
        .iter()
        .flat_map(|(s, cases)| {
            cases
                .iter()
                .filter(|(_, f)| !f.is_empty())
                .map(move |(c, _)| (s.as_str(), c.as_str()))
        })
        .collect();
    assert_eq!(
        failing,
        [
            ("implementation-history", "keps/sig-node/1234-frob"),
            ("kep-metadata", "keps/sig-node/1234-frob"),
            ("prr-approval", "keps/sig-node/1234-frob")
        ]
    );
    // The hostile stage's control characters cannot break the XML.
    assert!(suites[0].1[0].1.contains("KEP-1234"), "{xml}");
    assert!(xml.contains("failures=\"3\""), "{xml}");
}

#[test]
fn gitlab_code_quality_has_the_fields_gitlab_reads_and_stable_fingerprints() {
    let r = repo();
    let (code, out) = run(&r, "gitlab", &[]);
    assert_eq!(code, 1);
    let issues: serde_json::Value = serde_json::from_str(&out).unwrap();
    let issues = issues.as_array().unwrap();
    assert_eq!(issues.len(), 3);
    for issue in issues {
        // GitLab's required fields (its Code Quality documentation).
        assert!(issue["description"].as_str().is_some_and(|d| !d.is_empty()), "{issue}");
        assert!(issue["check_name"].as_str().is_some(), "{issue}");
        assert_eq!(issue["fingerprint"].as_str().map(str::len), Some(16), "{issue}");
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&issue["severity"].as_str().unwrap()));
        assert!(
            issue["location"]["path"]
                .as_str()
                .unwrap()
                .starts_with("keps/sig-node/1234-frob/")
        );
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    let fingerprints: std::collections::HashSet<&str> =
        issues.iter().map(|i| i["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(fingerprints.len(), 3);
    // A later commit that only moves the lines keeps the fingerprints.
    let readme_path = r.dir.join("keps/sig-node/1234-frob/README.md");
    r.git(&["checkout", "-q", "feature"]);
    let text = std::fs::read_to_string(&readme_path).unwrap();
    std::fs::write(&readme_path, format!("\n\n{text}")).unwrap();
    r.commit("move lines");
    let (_, again) = run(&r, "gitlab", &[]);
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    let again: std::collections::HashSet<&str> = again
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(again, fingerprints);
}
