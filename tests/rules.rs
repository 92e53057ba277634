//! Each rule firing and not firing, on real repositories.

mod common;

use common::{Repo, beta_yaml, kep_yaml, readme, rules, severities};

const KEP: &str = "keps/sig-node/1234-frob";
const H1: &str = "- 2021-01-01: alpha in v1.20";
const H2: &str = "- 2021-05-01: beta in v1.21";

/// A repository whose first commit holds `KEP` at alpha in v1.20; returns it and that commit.
fn alpha_kep() -> (Repo, String) {
    let r = Repo::new();
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &[H1]),
    );
    let c = r.commit("add KEP");
    (r, c)
}

/// The first finding's message.
fn message(doc: &serde_json::Value) -> &str {
    doc["findings"][0]["message"].as_str().unwrap()
}

/// The rules of the error-level findings, for tests whose READMEs leave PRR questions open
/// (prr-complete's warnings).
fn errors(doc: &serde_json::Value) -> Vec<String> {
    severities(doc)
        .into_iter()
        .filter_map(|s| s.strip_suffix(" error").map(str::to_owned))
        .collect()
}

/// The first finding of `rule`.
fn finding<'a>(doc: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap()
}

fn check(r: &Repo, base: &str) -> (i32, Vec<String>, serde_json::Value) {
    let (code, doc) = r.check_json(base, "HEAD");
    (code, rules(&doc), doc)
}

#[test]
fn typo_fix_without_lifecycle_change_passes() {
    let (r, base) = alpha_kep();
    r.write(&format!("{KEP}/README.md"), &readme("S, fixed.", &[], &[H1]));
    r.commit("typo");
    assert_eq!(check(&r, &base).1, Vec::<String>::new());
    assert_eq!(check(&r, &base).0, 0);
}

#[test]
fn lifecycle_change_with_history_entry_and_prr_answers_passes() {
    let (r, base) = alpha_kep();
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &["Rollback: turn the gate off."], &[H1, H2]),
    );
    r.commit("beta");
    let (code, found, doc) = check(&r, &base);
    assert_eq!(found, Vec::<String>::new());
    assert_eq!((code, doc["keps_checked"].as_u64()), (0, Some(1)));
}

#[test]
fn history_written_only_inside_an_html_comment_fires() {
    let (r, base) = alpha_kep();
    let hidden = format!("{H1}\n<!-- {H2} -->");
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &["Rollback: off."], &[&hidden]),
    );
    let head = r.commit("beta");
    let (code, found, doc) = check(&r, &base);
    assert_eq!(found, ["implementation-history"]);
    assert_eq!(code, 1);
    let f = &doc["findings"][0];
    assert_eq!(f["commit"], head.as_str());
    assert_eq!(f["kep"], KEP);
    assert_eq!(f["number"], "1234");
    assert_eq!(f["path"], format!("{KEP}/README.md"));
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("KEP-1234") && msg.contains("stage alpha -> beta"), "{msg}");
    assert!(msg.contains("- v1.21: moved to beta"), "suggests an entry: {msg}");
    // The finding points at the section heading.
    let line = f["line"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(r.dir.join(KEP).join("README.md")).unwrap();
    assert_eq!(text.lines().nth(line - 1), Some("## Implementation History"));
}

#[test]
fn milestone_bump_without_entry_fires_and_deleting_entries_is_not_an_update() {
    let (r, base) = alpha_kep();
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.21", &[("alpha", "v1.20")]),
        &readme("S.", &[], &[]),
    );
    r.commit("retarget, dropping the history");
    let (_, found, doc) = check(&r, &base);
    assert_eq!(found, ["implementation-history"]);
    assert!(message(&doc).contains("latest-milestone v1.20 -> v1.21"));
}

#[test]
fn heading_inside_a_code_block_is_not_the_section() {
    let (r, base) = alpha_kep();
    let text = format!(
        "# KEP\n\n```markdown\n## Implementation History\n\n{H1}\n{H2}\n```\n\n## Production Readiness Review Questionnaire\n\nAnswered.\n"
    );
    r.kep(KEP, &beta_yaml("1234", "v1.21"), &text);
    r.commit("beta, history only in a code sample");
    let (_, _, doc) = check(&r, &base);
    assert_eq!(errors(&doc), ["implementation-history"]);
    let f = finding(&doc, "implementation-history");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("no Implementation History section")
    );
    // Without the section, the finding points at the changed kep.yaml line.
    assert_eq!(f["path"], format!("{KEP}/kep.yaml"));
    let line = f["line"].as_u64().unwrap() as usize;
    let yaml = std::fs::read_to_string(r.dir.join(KEP).join("kep.yaml"))
        .unwrap()
        .replace("owning-sig: sig-node", "owning-sig: sig-apps");
    assert!(yaml.lines().nth(line - 1).unwrap().starts_with("stage:"));
}

#[test]
fn setext_heading_counts_as_the_section() {
    let r = Repo::new();
    let body = |h: &[&str]| {
        format!(
            "KEP\n===\n\nProduction Readiness Review Questionnaire\n------------------------------------------\n\nAnswers: {}\n\nImplementation History\n----------------------\n\n{}\n",
            h.len(),
            h.join("\n")
        )
    };
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        &body(&[H1]),
    );
    let base = r.commit("add");
    r.kep(KEP, &beta_yaml("1234", "v1.21"), &body(&[H1, H2]));
    r.commit("beta");
    assert_eq!(errors(&check(&r, &base).2), Vec::<String>::new());
    r.kep(KEP, &beta_yaml("1234", "v1.22"), &body(&[H1, H2]));
    r.commit("retarget without entry");
    assert_eq!(
        errors(&check(&r, &base).2),
        Vec::<String>::new(),
        "net change still has the entry"
    );
    assert_eq!(errors(&check(&r, "HEAD~1").2), ["implementation-history"]);
}

#[test]
fn kep_moved_to_another_sig_is_compared_with_its_old_directory() {
    let (r, base) = alpha_kep();
    let moved = "keps/sig-apps/1234-frob";
    // Moved without a lifecycle change: passes.
    let yaml = std::fs::read_to_string(r.dir.join(KEP).join("kep.yaml"))
        .unwrap()
        .replace("owning-sig: sig-node", "owning-sig: sig-apps");
    let text = std::fs::read_to_string(r.dir.join(KEP).join("README.md")).unwrap();
    r.remove(KEP);
    r.kep(moved, &yaml, &text);
    r.commit("move to sig-apps");
    let (code, found, doc) = check(&r, &base);
    assert_eq!((code, found), (0, vec![]));
    assert_eq!(doc["keps_checked"], 1, "a move is one KEP change");
    // Moved and graduated without an entry: fires, against the new directory.
    r.kep(
        moved,
        &beta_yaml("1234", "v1.21").replace("sig-node", "sig-apps"),
        &text,
    );
    r.commit("graduate");
    let (_, found, doc) = check(&r, &base);
    assert_eq!(found, ["implementation-history", "prr-on-graduation"]);
    assert_eq!(doc["findings"][0]["kep"], moved);
}

#[test]
fn new_and_deleted_keps_are_not_subject_to_the_diff_rules() {
    let (r, base) = alpha_kep();
    r.kep(
        "keps/sig-apps/999-new",
        &kep_yaml("999", "implementable", "stable", "v1.30", &[]).replace("sig-node", "sig-apps"),
        "# no sections\n",
    );
    r.commit("new KEP without history");
    // Only the snapshot rules judge a new KEP: its PRR questions are unanswered.
    let (code, found, _) = check(&r, &base);
    assert_eq!((code, found), (0, vec!["prr-complete".to_owned(); 6]));
    r.remove(KEP);
    let del = r.commit("delete");
    let (code, found, _) = check(&r, &format!("{del}~1"));
    assert_eq!((code, found), (0, vec![]));
}

#[test]
fn invalid_kep_yaml_is_a_metadata_error_and_skips_the_diff_rules() {
    let (r, base) = alpha_kep();
    r.write(
        &format!("{KEP}/kep.yaml"),
        "title: x\nstage: [beta\nlatest-milestone: v1.21\n",
    );
    r.commit("broken yaml");
    let (code, found, doc) = check(&r, &base);
    assert_eq!((code, found), (1, vec!["kep-metadata".to_owned()]));
    let f = &doc["findings"][0];
    assert_eq!(f["path"], format!("{KEP}/kep.yaml"));
    assert!(f["line"].as_u64().is_some(), "the parser's line: {f}");
    let human = String::from_utf8(r.kepguard(&["check", "--base", &base]).stdout).unwrap();
    assert!(
        human.contains("error[kep-metadata]") && human.contains("| latest-milestone: v1.21"),
        "{human}"
    );
    // A list document is not a mapping.
    r.write(&format!("{KEP}/kep.yaml"), "- stage: beta\n");
    r.commit("a list");
    let (_, found, doc) = check(&r, &base);
    assert_eq!(found, ["kep-metadata"]);
    assert!(message(&doc).contains("mapping"));
}

#[test]
fn old_side_unparseable_skips_silently() {
    let r = Repo::new();
    r.kep(KEP, "stage: [oops\n", &readme("S.", &[], &[]));
    let base = r.commit("broken");
    r.kep(KEP, &beta_yaml("1234", "v1.21"), &readme("S.", &[], &[]));
    r.commit("fixed and graduated");
    assert_eq!(check(&r, &base).1, Vec::<String>::new());
}

#[test]
fn invalid_stage_is_a_metadata_error_not_stage_monotonic() {
    let (r, base) = alpha_kep();
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "GA", "v1.20", &[("alpha", "v1.20")]),
        &readme("S.", &[], &[H1, "- GA"]),
    );
    r.commit("GA");
    let (_, found, doc) = check(&r, &base);
    assert_eq!(found, ["kep-metadata"]);
    assert!(message(&doc).contains("invalid stage `GA`"));
}

#[test]
fn legacy_single_file_kep_is_checked_with_its_front_matter() {
    let r = Repo::new();
    let legacy = "keps/sig-node/0008-sysctl.md";
    let doc = |status: &str, history: &[&str]| {
        format!(
            "---\ntitle: Sysctls\nkep-number: 8\nauthors: [\"@jane\"]\nowning-sig: sig-node\napprovers: [\"@oscar\"]\nstage: alpha\nlatest-milestone: v1.11\nstatus: {status}\n---\n\n# Sysctls\n\n## Implementation History\n\n{}\n",
            history.join("\n")
        )
    };
    r.write(legacy, &doc("provisional", &["- 2018-04-30: proposed"]));
    r.write("keps/sig-node/README.md", "# not a KEP\n");
    let base = r.commit("legacy");
    r.write(legacy, &doc("implementable", &["- 2018-04-30: proposed"]));
    r.write("keps/sig-node/README.md", "# still not a KEP\n");
    r.commit("implementable without entry");
    let (code, found, out) = check(&r, &base);
    assert_eq!((code, found), (1, vec!["implementation-history".to_owned()]));
    let f = &out["findings"][0];
    assert_eq!(
        (f["kep"].as_str(), f["path"].as_str(), f["number"].as_str()),
        (Some(legacy), Some(legacy), Some("8"))
    );
    assert_eq!(f["line"], 14, "the heading's line in the file, front matter included");
    r.write(
        legacy,
        &doc(
            "implementable",
            &["- 2018-04-30: proposed", "- 2018-06-01: implementable"],
        ),
    );
    r.commit("entry");
    assert_eq!(check(&r, &base).1, Vec::<String>::new());
    // A Markdown file without front matter is not a KEP.
    r.write("keps/sig-node/notes.md", "# Notes\nstatus: whatever\n");
    r.commit("notes");
    assert_eq!(check(&r, "HEAD~1").2["keps_checked"], 0);
}

/// Beta planned for v1.21, then back to alpha with `latest-milestone: latest` (history updated).
fn beta_in_v1_21_back_to_alpha_in(latest: &str) -> (i32, Vec<String>, serde_json::Value) {
    let (r, _) = alpha_kep();
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &["Rollback."], &[H1, H2]),
    );
    let base = r.commit("beta planned for v1.21");
    let milestones = [("alpha", "v1.20"), ("beta", "v1.21")];
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", latest, &milestones),
        &readme("S.", &["Rollback."], &[H1, H2, "- back to alpha"]),
    );
    r.commit("back to alpha");
    check(&r, &base)
}

#[test]
fn withdrawn_same_cycle_graduation_passes() {
    let (code, found, _) = beta_in_v1_21_back_to_alpha_in("v1.21");
    assert_eq!((code, found), (0, vec![]));
}

#[test]
fn shipped_beta_going_back_to_alpha_fires() {
    let (code, found, doc) = beta_in_v1_21_back_to_alpha_in("v1.22");
    assert_eq!((code, found), (1, vec!["stage-monotonic".to_owned()]));
    let msg = message(&doc);
    assert!(msg.contains("beta -> alpha") && msg.contains("v1.21"), "{msg}");
}

#[test]
fn graduation_before_v1_21_needs_no_prr_answers() {
    let (r, base) = alpha_kep();
    r.kep(KEP, &beta_yaml("1234", "v1.20"), &readme("S.", &[], &[H1, H2]));
    r.commit("beta in v1.20");
    assert_eq!(check(&r, &base).1, Vec::<String>::new());
}

#[test]
fn graduation_from_v1_21_without_prr_answers_fires() {
    let (r, base) = alpha_kep();
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.21"),
        &readme("S.", &["<!-- TODO answer -->"], &[H1, H2]),
    );
    r.commit("beta in v1.21");
    let (_, found, doc) = check(&r, &base);
    assert_eq!(found, ["prr-on-graduation"]);
    let f = &doc["findings"][0];
    assert!(f["message"].as_str().unwrap().contains("alpha -> beta in v1.21"));
    // Without a parseable latest-milestone the rule applies too.
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "stable", "TBD", &[("alpha", "v1.20")]),
        &readme("S.", &[], &[H1, H2, "- GA"]),
    );
    r.commit("stable, milestone TBD");
    assert_eq!(
        check(&r, "HEAD~1").1,
        ["prr-on-graduation", "kep-metadata"],
        "TBD is no milestone"
    );
}

#[test]
fn prr_section_missing_points_at_the_stage_line() {
    let (r, base) = alpha_kep();
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.25"),
        &format!("# KEP\n\n## Implementation History\n\n{H1}\n{H2}\n"),
    );
    r.commit("beta, PRR section dropped");
    let (_, _, doc) = check(&r, &base);
    assert_eq!(errors(&doc), ["prr-on-graduation"]);
    assert_eq!(finding(&doc, "prr-on-graduation")["path"], format!("{KEP}/kep.yaml"));
}

/// `KEP` with `status`, `stage` and milestones changed from the alpha fixture, with a history entry
/// and PRR answers so only the rule under test can fire; returns the rules that fired and levels.
fn change_to(status: &str, stage: &str, latest: &str, milestones: &[(&str, &str)]) -> Vec<String> {
    let (r, base) = alpha_kep();
    r.kep(
        KEP,
        &kep_yaml("1234", status, stage, latest, milestones),
        &readme("S.", &["Answered."], &[H1, H2]),
    );
    r.commit("change");
    severities(&r.check_json(&base, "HEAD").1)
}

const ALPHA: &[(&str, &str)] = &[("alpha", "v1.20")];

#[test]
fn status_transition_fires_off_the_process_and_not_on_it() {
    let all = &[("alpha", "v1.20"), ("beta", "v1.21"), ("stable", "v1.22")];
    assert_eq!(change_to("implemented", "stable", "v1.22", all), Vec::<String>::new());
    assert_eq!(change_to("withdrawn", "alpha", "v1.20", ALPHA), Vec::<String>::new());
    assert_eq!(
        change_to("provisional", "alpha", "v1.20", ALPHA),
        vec!["status-transition warning"]
    );
    // Leaving a final status.
    let (r, _) = alpha_kep();
    r.kep(
        KEP,
        &kep_yaml("1234", "rejected", "alpha", "v1.20", ALPHA),
        &readme("S.", &[], &[H1, H2]),
    );
    let rejected = r.commit("reject");
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", ALPHA),
        &readme("S.", &[], &[H1, H2, "- again"]),
    );
    r.commit("revive");
    let (code, doc) = r.check_json(&rejected, "HEAD");
    assert_eq!(
        (code, rules(&doc)),
        (0, vec!["status-transition".to_owned()]),
        "a warning does not fail"
    );
    assert!(message(&doc).contains("status rejected -> implementable"));
}

#[test]
fn milestone_monotonic_fires_when_milestones_go_backwards() {
    // v1.19 < v1.20: latest-milestone went down.
    assert_eq!(
        change_to("implementable", "alpha", "v1.19", &[("alpha", "v1.19")]),
        vec!["milestone-monotonic warning"]
    );
    // Versions compare numerically: v1.9 -> v1.10 is forward.
    let (r, _) = alpha_kep();
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.9", &[("alpha", "v1.9")]),
        &readme("S.", &[], &[H1]),
    );
    let nine = r.commit("v1.9");
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.10", &[("alpha", "v1.10")]),
        &readme("S.", &[], &[H1, H2]),
    );
    r.commit("v1.10");
    assert_eq!(rules(&r.check_json(&nine, "HEAD").1), Vec::<String>::new());
    // beta planned before alpha.
    assert_eq!(
        change_to(
            "implementable",
            "beta",
            "v1.21",
            &[("alpha", "v1.22"), ("beta", "v1.21")]
        ),
        vec!["milestone-monotonic warning"]
    );
    assert_eq!(
        change_to(
            "implementable",
            "beta",
            "v1.21",
            &[("alpha", "v1.20"), ("beta", "v1.21")]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn stage_skip_fires_on_alpha_to_stable_without_beta() {
    assert_eq!(
        change_to(
            "implemented",
            "stable",
            "v1.22",
            &[("alpha", "v1.20"), ("stable", "v1.22")]
        ),
        vec!["stage-skip warning"]
    );
    assert_eq!(
        change_to(
            "implemented",
            "stable",
            "v1.22",
            &[("alpha", "v1.20"), ("beta", "v1.21"), ("stable", "v1.22")]
        ),
        Vec::<String>::new()
    );
}

/// Rewrites the alpha fixture's kep.yaml with `edit` (keeping the README, with an entry added);
/// returns `(rule severity, message)` of each finding.
fn metadata_change(edit: impl Fn(&str) -> String) -> Vec<(String, String)> {
    let (r, base) = alpha_kep();
    let yaml = std::fs::read_to_string(r.dir.join(KEP).join("kep.yaml")).unwrap();
    r.kep(KEP, &edit(&yaml), &readme("S.", &[], &[H1, H2]));
    r.commit("edit metadata");
    let (_, doc) = r.check_json(&base, "HEAD");
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                format!("{} {}", f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn kep_metadata_reports_what_kepval_rejects_as_errors() {
    let found = metadata_change(|y| y.replace("approvers:", "aprovers:"));
    let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert!(found.iter().all(|(r, _)| r == "kep-metadata error"), "{found:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("unknown field `aprovers`; did you mean `approvers`?")),
        "{messages:?}"
    );
    // kepval stops at the first problem, and so does the finding.
    assert_eq!(messages.len(), 1, "{messages:?}");
    let found = metadata_change(|y| y.replace("approvers:\n  - \"@oscar\"\n", ""));
    assert!(
        found
            .iter()
            .any(|(_, m)| m.contains("required field `approvers` is missing")),
        "{found:?}"
    );

    let found = metadata_change(|y| y.replace("authors:\n  - \"@jane\"", "authors: \"@jane\""));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].1.contains("`authors` must be a list"));
    assert_eq!(metadata_change(|y| y.to_owned()), Vec::new(), "a valid file passes");
}

#[test]
fn kep_metadata_stricter_checks_fire_when_a_change_introduces_them() {
    let one = |edit: &dyn Fn(&str) -> String| {
        let found = metadata_change(edit);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "kep-metadata error");
        found[0].1.clone()
    };
    assert!(
        one(&|y| y.replace("status: implementable", "status: implementeable"))
            .contains("invalid status `implementeable`; did you mean `implementable`?")
    );
    assert!(one(&|y| y.replace("stage: alpha", "stage: GA")).contains("did you mean `stable`?"));
    assert!(
        one(&|y| y.replace("kep-number: 1234", "kep-number: 4321"))
            .contains("does not match the directory's number 1234")
    );
    assert!(
        one(&|y| y.replace("creation-date: 2021-01-01", "creation-date: 2021-14-01")).contains("not a YYYY-MM-DD date")
    );
    // Some KEPs are scoped to a stage: implemented before stable is only ever a warning.
    let found = metadata_change(|y| y.replace("status: implementable", "status: implemented"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "kep-metadata warning");
    assert!(found[0].1.contains("status implemented with stage alpha"), "{found:?}");
    let found = metadata_change(|y| y.replace("owning-sig: sig-node", "owning-sig: sig-apps"));
    assert!(
        found[0].1.contains("owning-sig sig-apps but the KEP is under sig-node"),
        "{found:?}"
    );
    assert!(
        found[1].1.contains("sig-apps is not a group of this repository"),
        "{found:?}"
    );
    assert!(one(&|y| format!("{y}participating-sigs:\n  - sig-nodes\n")).contains("did you mean `sig-node`?"));
}

#[test]
fn kep_metadata_problems_a_kep_already_had_are_warnings() {
    let (r, _) = alpha_kep();
    let yaml = std::fs::read_to_string(r.dir.join(KEP).join("kep.yaml")).unwrap();
    r.kep(
        KEP,
        &yaml.replace("creation-date: 2021-01-01", "creation-date: 2021-14-01"),
        &readme("S.", &[], &[H1]),
    );
    let base = r.commit("an impossible date");
    r.kep(
        KEP,
        &yaml.replace("creation-date: 2021-01-01", "creation-date: 2021-14-01"),
        &readme("S, reworded.", &[], &[H1]),
    );
    r.commit("reword");
    let (code, doc) = r.check_json(&base, "HEAD");
    assert_eq!(code, 0);
    assert_eq!(doc["findings"][0]["severity"], "warning");
    assert!(
        doc["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("creation-date `2021-14-01`")
    );
}
