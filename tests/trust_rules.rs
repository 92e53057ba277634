//! What a KEP reviewer would and would not block, line by line: stage corrections, the release a
//! graduation targets, the `"0.0"` placeholder, metadata habits that are not defects, and messages
//! that say only what is known. Real repositories, the real binary.

mod common;

use common::{Repo, kep_yaml, readme};
use serde_json::Value;

const KEP: &str = "keps/sig-node/1234-frob";
const H1: &str = "- 2021-01-01: first entry";

/// `(severity, message)` of each finding of `rule` in a JSON document.
fn of(doc: &Value, rule: &str) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The severities alone.
fn levels(doc: &Value, rule: &str) -> Vec<String> {
    of(doc, rule).into_iter().map(|(s, _)| s).collect()
}

/// A repository holding `KEP` with metadata `yaml`; the README keeps a history entry per commit so
/// that only the rule under test speaks.
fn repo_with(yaml: &str) -> Repo {
    let r = Repo::new();
    r.kep(KEP, yaml, &readme("S.", &[], &[H1]));
    r.commit("add KEP");
    r
}

/// Commits `yaml` as the KEP's new metadata (with a new history entry and PRR line) and checks
/// that commit.
fn change(r: &Repo, yaml: &str) -> Value {
    let n = r.git(&["rev-list", "--count", "HEAD"]);
    let entry = format!("- entry {}", n.trim());
    r.kep(KEP, yaml, &readme("S.", &[&entry], &[H1, &entry]));
    r.commit("change");
    r.check_json("HEAD~1", "HEAD").1
}

fn validate(r: &Repo) -> Value {
    common::json_run(r.kepguard(&["validate", "--format", "json"])).1
}

// ---- stage-monotonic ----------------------------------------------------------------------

#[test]
fn a_stage_of_a_kep_never_approved_for_a_release_may_be_corrected() {
    let r = repo_with(&kep_yaml(
        "1234",
        "provisional",
        "beta",
        "v1.20",
        &[("alpha", "v1.19"), ("beta", "v1.20")],
    ));
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "provisional",
            "alpha",
            "v1.22",
            &[("alpha", "v1.19"), ("beta", "v1.20")],
        ),
    );
    assert_eq!(levels(&doc, "stage-monotonic"), Vec::<String>::new());
}

#[test]
fn an_implemented_kep_going_back_is_an_error() {
    let r = repo_with(&kep_yaml(
        "1234",
        "implemented",
        "stable",
        "v1.25",
        &[("stable", "v1.25")],
    ));
    let doc = change(
        &r,
        &kep_yaml("1234", "implementable", "beta", "v1.25", &[("stable", "v1.25")]),
    );
    let found = of(&doc, "stage-monotonic");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "error");
    assert!(found[0].1.contains("stable -> beta"), "{found:?}");
}

#[test]
fn a_stage_set_ahead_of_its_release_may_be_corrected() {
    // beta planned for v1.27 while latest-milestone is v1.26: beta was premature.
    let r = repo_with(&kep_yaml(
        "1234",
        "implementable",
        "beta",
        "v1.26",
        &[("alpha", "v1.25"), ("beta", "v1.27")],
    ));
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implementable",
            "alpha",
            "v1.26",
            &[("alpha", "v1.25"), ("beta", "v1.27")],
        ),
    );
    assert_eq!(levels(&doc, "stage-monotonic"), Vec::<String>::new());
    let text = doc.to_string();
    assert!(!text.contains("has shipped"), "{text}");
}

#[test]
fn a_graduation_withdrawn_in_its_own_cycle_passes_but_lowering_the_milestone_does_not_make_one() {
    let old = kep_yaml(
        "1234",
        "implementable",
        "beta",
        "v1.27",
        &[("alpha", "v1.26"), ("beta", "v1.27")],
    );
    // Withdrawn while v1.27 is still the release being worked on.
    let r = repo_with(&old);
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implementable",
            "alpha",
            "v1.27",
            &[("alpha", "v1.26"), ("beta", "v1.27")],
        ),
    );
    assert_eq!(levels(&doc, "stage-monotonic"), Vec::<String>::new());

    // latest-milestone was already past beta's release (v1.28 > v1.27); lowering it back to v1.27
    // in the same change does not make the demotion a withdrawal.
    let r = repo_with(&kep_yaml(
        "1234",
        "implementable",
        "beta",
        "v1.28",
        &[("alpha", "v1.26"), ("beta", "v1.27")],
    ));
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implementable",
            "alpha",
            "v1.27",
            &[("alpha", "v1.26"), ("beta", "v1.27")],
        ),
    );
    assert_eq!(levels(&doc, "stage-monotonic"), vec!["error"]);
}

#[test]
fn a_kep_that_keeps_the_stage_milestone_it_moved_past_contradicts_itself() {
    let r = repo_with(&kep_yaml(
        "1234",
        "implementable",
        "beta",
        "v1.27",
        &[("alpha", "v1.26"), ("beta", "v1.27")],
    ));
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implementable",
            "alpha",
            "v1.28",
            &[("alpha", "v1.26"), ("beta", "v1.27")],
        ),
    );
    let found = of(&doc, "stage-monotonic");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "error");
    assert!(found[0].1.contains("`milestone.beta` still says v1.27"), "{found:?}");
    assert!(
        !found[0].1.contains("shipped,"),
        "says nothing it cannot know: {found:?}"
    );
}

#[test]
fn a_slipped_graduation_is_a_warning_that_says_what_is_known() {
    for new_milestones in [
        vec![("alpha", "v1.26"), ("beta", "v1.29")], // moved later
        vec![("alpha", "v1.26")],                    // removed
    ] {
        let r = repo_with(&kep_yaml(
            "1234",
            "implementable",
            "beta",
            "v1.27",
            &[("alpha", "v1.26"), ("beta", "v1.27")],
        ));
        let doc = change(
            &r,
            &kep_yaml("1234", "implementable", "alpha", "v1.28", &new_milestones),
        );
        let found = of(&doc, "stage-monotonic");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "warning");
        assert!(
            found[0].1.contains("beta, planned for v1.27, is withdrawn")
                && found[0]
                    .1
                    .contains("if v1.27 shipped it as beta, this is a demotion: say so in the Implementation History"),
            "{found:?}"
        );
        assert_eq!(r.check_json("HEAD~1", "HEAD").0, 0, "a warning does not block");
    }
}

#[test]
fn the_policy_can_make_a_slipped_graduation_an_error() {
    let r = Repo::new();
    r.write(".kepguard.yaml", "rules:\n  stage-monotonic:\n    slip: error\n");
    r.kep(
        KEP,
        &kep_yaml(
            "1234",
            "implementable",
            "beta",
            "v1.27",
            &[("alpha", "v1.26"), ("beta", "v1.27")],
        ),
        &readme("S.", &[], &[H1]),
    );
    r.commit("add KEP and policy");
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implementable",
            "alpha",
            "v1.28",
            &[("alpha", "v1.26"), ("beta", "v1.29")],
        ),
    );
    assert_eq!(levels(&doc, "stage-monotonic"), vec!["error"]);

    // The policy in force is the base side's: a bad one fails the run that reads it.
    r.write(".kepguard.yaml", "rules:\n  stage-monotonic:\n    slip: loud\n");
    r.commit("bad policy");
    let out = r.kepguard(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".kepguard.yaml") && err.contains("slip"), "{err}");
}

// ---- status-transition ---------------------------------------------------------------------

#[test]
fn reopening_an_implemented_kep_for_its_next_stage_is_normal() {
    let r = repo_with(&kep_yaml(
        "1234",
        "implemented",
        "stable",
        "v1.25",
        &[("stable", "v1.25")],
    ));
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implementable",
            "stable",
            "v1.30",
            &[("stable", "v1.25"), ("deprecated", "v1.30")],
        ),
    );
    assert_eq!(levels(&doc, "status-transition"), Vec::<String>::new());
    let doc = change(
        &r,
        &kep_yaml("1234", "provisional", "stable", "v1.30", &[("stable", "v1.25")]),
    );
    assert_eq!(levels(&doc, "status-transition"), vec!["warning"]);
}

// ---- PRR: the release a graduation targets -------------------------------------------------

/// A KEP at beta that graduates to stable with its PRR answers untouched.
fn ga_without_prr_answers(old_latest: &str, new_latest: &str, stable: Option<&str>) -> Value {
    let r = Repo::new();
    r.kep(
        KEP,
        &kep_yaml(
            "1234",
            "implementable",
            "beta",
            old_latest,
            &[("alpha", "v1.18"), ("beta", "v1.19")],
        ),
        &readme("S.", &[], &[H1]),
    );
    r.commit("add KEP");
    let mut milestones = vec![("alpha", "v1.18"), ("beta", "v1.19")];
    if let Some(s) = stable {
        milestones.push(("stable", s));
    }
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "stable", new_latest, &milestones),
        &readme("S.", &[], &[H1, "- GA"]),
    );
    r.commit("GA");
    r.check_json("HEAD~1", "HEAD").1
}

#[test]
fn a_stale_latest_milestone_does_not_exempt_a_graduation_and_the_message_names_its_release() {
    let doc = ga_without_prr_answers("v1.19", "v1.20", Some("v1.34"));
    let found = of(&doc, "prr-on-graduation");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].1.contains("graduation beta -> stable in v1.34"), "{found:?}");

    // A graduation that really belongs to a release before PRR is exempt.
    let doc = ga_without_prr_answers("v1.19", "v1.20", Some("v1.20"));
    assert_eq!(levels(&doc, "prr-on-graduation"), Vec::<String>::new());
}

#[test]
fn lowering_latest_milestone_in_the_graduation_does_not_exempt_it() {
    let doc = ga_without_prr_answers("v1.24", "v1.20", None);
    assert_eq!(levels(&doc, "prr-on-graduation"), vec!["error"]);
    let doc = ga_without_prr_answers("v1.24", "0.0", None);
    assert_eq!(levels(&doc, "prr-on-graduation"), vec!["error"]);
}

#[test]
fn setting_the_pre_prr_placeholder_on_a_kep_that_needs_prr_is_an_error_that_names_the_effect() {
    // A beta graduation that replaces v1.23 by "0.0" (as KEP-2915 did).
    let r = repo_with(&kep_yaml(
        "1234",
        "implementable",
        "alpha",
        "v1.22",
        &[("alpha", "v1.22")],
    ));
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implementable",
            "beta",
            "0.0",
            &[("alpha", "v1.22"), ("beta", "v1.23")],
        ),
    );
    let found: Vec<_> = of(&doc, "prr-approval")
        .into_iter()
        .filter(|(_, m)| m.contains("0.0"))
        .collect();
    assert_eq!(found.len(), 1, "{doc}");
    assert_eq!(found[0].0, "error");
    assert!(
        found[0]
            .1
            .contains("would switch PRR off, but its `milestone.beta` is v1.23")
            && found[0].1.contains("set latest-milestone to v1.23"),
        "{found:?}"
    );

    // A new implementable KEP created with it.
    let r2 = Repo::new();
    r2.write("README.md", "x\n");
    r2.commit("root");
    r2.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "0.0", &[]),
        &readme("S.", &[], &[H1]),
    );
    r2.commit("add KEP");
    let doc = r2.check_json("HEAD~1", "HEAD").1;
    assert!(
        of(&doc, "prr-approval")
            .iter()
            .any(|(s, m)| s == "error" && m.contains("it is a new implementable KEP")),
        "{doc}"
    );
}

#[test]
fn the_placeholder_on_a_kep_older_than_prr_is_fine() {
    let r = repo_with(&kep_yaml(
        "1234",
        "implemented",
        "stable",
        "v1.16",
        &[("alpha", "v1.12"), ("stable", "v1.16")],
    ));
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implemented",
            "stable",
            "0.0",
            &[("alpha", "v1.12"), ("stable", "v1.16")],
        ),
    );
    assert_eq!(levels(&doc, "prr-approval"), Vec::<String>::new());
    // A provisional KEP that names no release yet is not switching anything off either.
    let r = Repo::new();
    r.write("README.md", "x\n");
    r.commit("root");
    r.kep(
        KEP,
        &kep_yaml("1234", "provisional", "alpha", "0.0", &[]),
        &readme("S.", &[], &[H1]),
    );
    r.commit("add KEP");
    assert_eq!(
        levels(&r.check_json("HEAD~1", "HEAD").1, "prr-approval"),
        Vec::<String>::new()
    );
}

#[test]
fn an_approval_only_the_stage_milestone_requires_is_a_warning_in_validate() {
    let r = Repo::new();
    r.write("README.md", "x\n");
    r.commit("root");
    // latest-milestone v1.20 exempts it for kepval; milestone.alpha v1.22 does not for kepguard.
    r.write(
        &format!("{KEP}/kep.yaml"),
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.22")]),
    )
    .write(&format!("{KEP}/README.md"), &readme("S.", &[], &[H1]));
    r.commit("add KEP without approval");
    let doc = r.check_json("HEAD~1", "HEAD").1;
    assert_eq!(levels(&doc, "prr-approval"), vec!["error"], "a new KEP targeting v1.22");
    let doc = validate(&r);
    let found = of(&doc, "prr-approval");
    assert_eq!(levels(&doc, "prr-approval"), vec!["warning"], "{found:?}");
}

#[test]
fn a_prr_approval_finding_points_at_the_key_not_at_a_comment() {
    let r = repo_with(&kep_yaml(
        "1234",
        "implementable",
        "alpha",
        "v1.22",
        &[("alpha", "v1.22")],
    ));
    r.write(
        &format!("{KEP}/kep.yaml"),
        &kep_yaml(
            "1234",
            "implementable",
            "beta",
            "v1.23",
            &[("alpha", "v1.22"), ("beta", "v1.23")],
        ),
    )
    .write(
        "keps/prod-readiness/sig-node/1234.yaml",
        "# Approvals for KEP-1234.\n# One stage per key.\nkep-number: 1234\nalpha:\n  approver: \"@wojtek-t\"\n",
    );
    r.commit("beta, approval without beta");
    let doc = r.check_json("HEAD~1", "HEAD").1;
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "prr-approval")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(f["path"], "keps/prod-readiness/sig-node/1234.yaml");
    assert_eq!(f["line"], 3, "at `kep-number:`, not the comment on line 1: {f}");
}

// ---- kep-metadata: defects, not habits ------------------------------------------------------

#[test]
fn placeholders_for_later_stages_are_plans_not_defects() {
    let r = repo_with(&kep_yaml(
        "1234",
        "implementable",
        "alpha",
        "v1.30",
        &[("alpha", "v1.30")],
    ));
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implementable",
            "alpha",
            "v1.30",
            &[("alpha", "v1.30"), ("beta", ""), ("stable", "TBD")],
        ),
    );
    assert_eq!(levels(&doc, "kep-metadata"), Vec::<String>::new());
    // The current stage's milestone is no plan: a placeholder there is still a defect.
    let doc = change(
        &r,
        &kep_yaml("1234", "implementable", "alpha", "v1.30", &[("alpha", "TBD")]),
    );
    assert_eq!(levels(&doc, "kep-metadata"), vec!["error"]);
    // An earlier stage the KEP skipped may stay empty.
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implementable",
            "beta",
            "v1.31",
            &[("alpha", ""), ("beta", "v1.31")],
        ),
    );
    assert_eq!(levels(&doc, "kep-metadata"), Vec::<String>::new());
    // So is a template literal left in a later stage.
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implementable",
            "alpha",
            "v1.30",
            &[("alpha", "v1.30"), ("beta", "v1.xx")],
        ),
    );
    assert_eq!(levels(&doc, "kep-metadata"), vec!["error"]);
}

#[test]
fn a_kep_not_yet_targeting_a_release_may_leave_every_milestone_open() {
    let r = repo_with(&kep_yaml(
        "1234",
        "provisional",
        "alpha",
        "v1.30",
        &[("alpha", "v1.30")],
    ));
    let doc = change(
        &r,
        &kep_yaml("1234", "provisional", "alpha", "TBD", &[("alpha", "TBD"), ("beta", "")]),
    );
    assert_eq!(levels(&doc, "kep-metadata"), Vec::<String>::new());
    // Once implementable, latest-milestone must name the release.
    let doc = change(
        &r,
        &kep_yaml("1234", "implementable", "alpha", "TBD", &[("alpha", "v1.30")]),
    );
    assert_eq!(levels(&doc, "kep-metadata"), vec!["error"]);
}

#[test]
fn an_unpadded_real_date_is_a_warning_and_an_impossible_one_an_error() {
    let yaml = kep_yaml("1234", "implementable", "alpha", "v1.30", &[("alpha", "v1.30")]);
    let r = repo_with(&yaml);
    let doc = change(
        &r,
        &yaml.replace("creation-date: 2021-01-01", "creation-date: 2021-1-5"),
    );
    let found = of(&doc, "kep-metadata");
    assert_eq!(levels(&doc, "kep-metadata"), vec!["warning"], "{found:?}");
    assert!(found[0].1.contains("write `creation-date: 2021-01-05`"), "{found:?}");
    let doc = change(
        &r,
        &yaml.replace("creation-date: 2021-01-01", "creation-date: 2025-30-01"),
    );
    assert_eq!(levels(&doc, "kep-metadata"), vec!["error"]);
}

#[test]
fn an_implemented_kep_before_stable_is_a_question_not_a_defect() {
    let r = repo_with(&kep_yaml(
        "1234",
        "implementable",
        "beta",
        "v1.30",
        &[("beta", "v1.30")],
    ));
    let doc = change(
        &r,
        &kep_yaml("1234", "implemented", "beta", "v1.30", &[("beta", "v1.30")]),
    );
    assert_eq!(levels(&doc, "kep-metadata"), vec!["warning"]);
    // Past stable, on the deprecation track, there is nothing to ask.
    let doc = change(
        &r,
        &kep_yaml(
            "1234",
            "implemented",
            "removed",
            "v1.33",
            &[
                ("beta", "v1.30"),
                ("stable", "v1.31"),
                ("deprecated", "v1.32"),
                ("disabled", "v1.33"),
                ("removed", "v1.33"),
            ],
        ),
    );
    assert_eq!(levels(&doc, "kep-metadata"), Vec::<String>::new());
}

#[test]
fn a_milestone_without_its_v_is_only_a_validate_warning() {
    let r = repo_with(&kep_yaml(
        "1234",
        "implementable",
        "alpha",
        "v1.30",
        &[("alpha", "v1.30")],
    ));
    let doc = change(
        &r,
        &kep_yaml("1234", "implementable", "alpha", "1.30", &[("alpha", "1.30")]),
    );
    assert_eq!(levels(&doc, "kep-metadata"), Vec::<String>::new());
    let doc = validate(&r);
    let found = of(&doc, "kep-metadata");
    assert_eq!(levels(&doc, "kep-metadata"), vec!["warning", "warning"], "{found:?}");
    assert!(found[0].1.contains("lacks the `v`"), "{found:?}");
}

/// A kep.yaml owned by `sig` under `keps/sig-node/`, with `participating` groups.
fn owned_by(participating: &str) -> String {
    kep_yaml("1234", "implementable", "alpha", "v1.30", &[("alpha", "v1.30")]).replace(
        "owning-sig: sig-node\n",
        &format!("owning-sig: sig-node\nparticipating-sigs:\n  - {participating}\n"),
    )
}

#[test]
fn groups_are_directories_leads_aliases_committees_or_the_policys() {
    let r = Repo::new();
    r.write(
        "OWNERS_ALIASES",
        "aliases:\n  sig-scalability-leads:\n    - a\n  committee-steering:\n    - b\n  prod-readiness-approvers:\n    - wojtek-t\n",
    )
    .write(".kepguard.yaml", "rules:\n  kep-metadata:\n    groups: [wg-serving]\n");
    r.kep(KEP, &owned_by("sig-node"), &readme("S.", &[], &[H1]));
    r.commit("add KEP");
    for real in ["sig-scalability", "committee-steering", "wg-serving"] {
        let doc = change(&r, &owned_by(real));
        assert_eq!(levels(&doc, "kep-metadata"), Vec::<String>::new(), "{real}: {doc}");
    }
    for fake in ["sig-scheduler", "sig-jobset"] {
        let doc = change(&r, &owned_by(fake));
        let found = of(&doc, "kep-metadata");
        assert_eq!(levels(&doc, "kep-metadata"), vec!["error"], "{fake}: {found:?}");
        assert!(found[0].1.contains(&format!("names {fake}, not a group")), "{found:?}");
        // Restore a valid group so the next case is introduced by its own change.
        change(&r, &owned_by("sig-node"));
    }
}

#[test]
fn a_metadata_file_renamed_into_kep_yaml_introduces_nothing() {
    let bad_date = kep_yaml("1234", "implementable", "alpha", "v1.30", &[("alpha", "v1.30")])
        .replace("creation-date: 2021-01-01", "creation-date: yyyy-mm-dd");
    let r = Repo::new();
    r.write(&format!("{KEP}/1234.yaml"), &bad_date)
        .write(&format!("{KEP}/README.md"), &readme("S.", &[], &[H1]));
    r.commit("metadata under the wrong name");
    r.git(&["mv", &format!("{KEP}/1234.yaml"), &format!("{KEP}/kep.yaml")]);
    r.commit("rename into kep.yaml");
    let doc = r.check_json("HEAD~1", "HEAD").1;
    assert_eq!(levels(&doc, "kep-metadata"), vec!["warning"], "{doc}");

    // Written fresh, the same value is introduced by the change.
    let r = Repo::new();
    r.write("README.md", "x\n");
    r.commit("root");
    r.kep(KEP, &bad_date, &readme("S.", &[], &[H1]));
    r.commit("add KEP");
    assert_eq!(levels(&r.check_json("HEAD~1", "HEAD").1, "kep-metadata"), vec!["error"]);
}

const LEGACY: &str = "keps/sig-node/0042-legacy.md";

fn legacy(front: &str, body: &str) -> String {
    format!("---\n{front}---\n\n# Legacy\n\n{body}\n## Implementation History\n\n- 2019: x\n")
}

#[test]
fn legacy_keps_are_held_to_their_front_matter_parsing_only() {
    let r = Repo::new();
    r.write("README.md", "x\n");
    r.commit("root");
    // kepval never read these: unknown fields and missing ones are not findings.
    r.write(
        LEGACY,
        &legacy(
            "title: Legacy\nkep-number: 42\nstatus: implementable\nmodified-date: 2019-01-01\n",
            "Text.\n",
        ),
    );
    r.commit("add legacy KEP");
    let doc = r.check_json("HEAD~1", "HEAD").1;
    for rule in ["kep-metadata", "prr-approval", "prr-complete", "template-sections"] {
        assert_eq!(levels(&doc, rule), Vec::<String>::new(), "{rule}: {doc}");
    }
    // Breaking the front matter is an error...
    r.write(LEGACY, &legacy("title: [unclosed\nstatus: implementable\n", "Text.\n"));
    r.commit("break it");
    assert_eq!(levels(&r.check_json("HEAD~1", "HEAD").1, "kep-metadata"), vec!["error"]);
    // ...but a later change to the body does not inherit it as an error.
    r.write(
        LEGACY,
        &legacy("title: [unclosed\nstatus: implementable\n", "Text, edited.\n"),
    );
    r.commit("edit the body");
    assert_eq!(
        levels(&r.check_json("HEAD~1", "HEAD").1, "kep-metadata"),
        vec!["warning"]
    );
}

// ---- messages -----------------------------------------------------------------------------

#[test]
fn a_section_hidden_by_a_fence_never_closed_is_named_as_such() {
    let r = repo_with(&kep_yaml(
        "1234",
        "implementable",
        "alpha",
        "v1.22",
        &[("alpha", "v1.22")],
    ));
    // The fence opened in the Summary swallows every heading after it.
    let text = readme("Run:\n\n```\nkubectl frob\n", &[], &[H1, "- beta"]);
    r.write(&format!("{KEP}/README.md"), &text).write(
        &format!("{KEP}/kep.yaml"),
        &kep_yaml("1234", "implementable", "alpha", "v1.23", &[("alpha", "v1.22")]),
    );
    r.commit("retarget");
    let doc = r.check_json("HEAD~1", "HEAD").1;
    let found = of(&doc, "implementation-history");
    assert_eq!(found.len(), 1, "{doc}");
    let fence = text.lines().position(|l| l == "```").unwrap() + 1;
    assert!(
        found[0].1.contains(&format!(
            "the Implementation History heading is inside a code block opened at line {fence} and never closed"
        )),
        "{found:?}"
    );
    assert!(
        !found[0].1.contains("has no Implementation History section"),
        "{found:?}"
    );
}

#[test]
fn a_suggested_history_entry_never_echoes_a_placeholder_release() {
    let r = repo_with(&kep_yaml(
        "1234",
        "implementable",
        "alpha",
        "0.0",
        &[("alpha", "v1.22")],
    ));
    r.write(
        &format!("{KEP}/kep.yaml"),
        &kep_yaml(
            "1234",
            "implementable",
            "beta",
            "0.0",
            &[("alpha", "v1.22"), ("beta", "v1.23")],
        ),
    );
    r.commit("beta, history untouched");
    let doc = r.check_json("HEAD~1", "HEAD").1;
    let found = of(&doc, "implementation-history");
    assert_eq!(found.len(), 1, "{doc}");
    assert!(found[0].1.contains("such as `- v1.23: moved to beta`"), "{found:?}");
    assert!(!found[0].1.contains("0.0:"), "{found:?}");
}
