//! The rules that judge a KEP as it stands (prr-approval, prr-complete, template-sections),
//! firing and not firing, in a change (`check`) and in a tree (`validate`), on real repositories.

mod common;

use common::{PRR_BETA_ANSWERS, Repo, beta_yaml, json_run, kep_yaml, prr_approval, readme};
use serde_json::Value;

const KEP: &str = "keps/sig-node/1234-frob";
const PRR: &str = "keps/prod-readiness/sig-node/1234.yaml";
const H1: &str = "- 2021-01-01: alpha in v1.30";
const H2: &str = "- 2021-05-01: beta in v1.31";

/// One finding, as the tests compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    rule: String,
    severity: String,
    path: String,
    line: Option<u64>,
    message: String,
}

fn found(doc: &Value) -> Vec<Found> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Found {
            rule: f["rule"].as_str().unwrap().to_owned(),
            severity: f["severity"].as_str().unwrap().to_owned(),
            path: f["path"].as_str().unwrap().to_owned(),
            line: f["line"].as_u64(),
            message: f["message"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// The findings of `rule` for the change `base..HEAD`, with the exit code.
fn check(r: &Repo, base: &str, rule: &str) -> (i32, Vec<Found>) {
    let (code, doc) = r.check_json(base, "HEAD");
    (code, found(&doc).into_iter().filter(|f| f.rule == rule).collect())
}

/// The findings of `rule` when validating the work tree's `HEAD`, with the exit code.
fn validate(r: &Repo, rule: &str) -> (i32, Vec<Found>) {
    let (code, doc) = json_run(r.kepguard(&["validate", "--format", "json"]));
    (code, found(&doc).into_iter().filter(|f| f.rule == rule).collect())
}

/// The 1-based line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> u64 {
    text.lines().position(|l| l.starts_with(prefix)).expect(prefix) as u64 + 1
}

fn alpha_yaml() -> String {
    kep_yaml("1234", "implementable", "alpha", "v1.30", &[("alpha", "v1.30")])
}

/// `KEP` at alpha in v1.30 with every PRR answer and an approval for every stage.
fn alpha_kep() -> (Repo, String) {
    let r = Repo::new();
    r.kepval_ready();
    r.kep(KEP, &alpha_yaml(), &readme("S.", &[], &[H1]));
    let base = r.commit("add KEP");
    (r, base)
}

// prr-approval

#[test]
fn prr_approval_needs_the_file_for_implementable_keps_from_v1_21() {
    let (r, base) = alpha_kep();
    assert_eq!(check(&r, &base, "prr-approval"), (0, vec![]));

    r.remove(PRR);
    r.write(&format!("{KEP}/README.md"), &readme("S, reworded.", &[], &[H1]));
    r.commit("drop the approval");
    let (code, f) = check(&r, &base, "prr-approval");
    assert_eq!((code, f.len()), (1, 1), "{f:?}");
    assert_eq!(f[0].severity, "error");
    assert_eq!(
        (f[0].path.as_str(), f[0].line),
        (
            format!("{KEP}/kep.yaml").as_str(),
            Some(line_of(&alpha_yaml(), "status:"))
        )
    );
    assert!(f[0].message.contains(&format!("no PRR approval file {PRR}")), "{f:?}");
    assert_eq!(validate(&r, "prr-approval").1.len(), 1, "validate reports it too");

    // Not required: provisional, or targeting a release before v1.21 ("0.0" included).
    for (status, latest) in [
        ("provisional", "v1.30"),
        ("implementable", "v1.20"),
        ("implemented", "0.0"),
    ] {
        r.write(
            &format!("{KEP}/kep.yaml"),
            &kep_yaml("1234", status, "alpha", latest, &[("alpha", "v1.20")]),
        );
        r.commit(&format!("{status} {latest}"));
        assert_eq!(check(&r, "HEAD~1", "prr-approval").1, vec![], "{status} {latest}");
    }
    // A milestone that does not parse does not exempt it.
    r.write(
        &format!("{KEP}/kep.yaml"),
        &kep_yaml("1234", "implementable", "alpha", "TBD", &[("alpha", "v1.20")]),
    );
    r.commit("TBD");
    assert_eq!(check(&r, "HEAD~1", "prr-approval").1.len(), 1);
}

#[test]
fn prr_approval_needs_an_approver_for_the_current_stage() {
    let (r, base) = alpha_kep();
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.31"),
        &readme("S.", &["Beta answers."], &[H1, H2]),
    );
    r.write(
        PRR,
        "kep-number: 1234\nalpha:\n  approver: \"@wojtek-t\"\nbeta:\n  approver: \"\"\n",
    );
    r.commit("beta without its approval");
    let (code, f) = check(&r, &base, "prr-approval");
    assert_eq!(code, 1);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].path.as_str(), f[0].line), (PRR, Some(5)), "at the beta approver");
    assert!(f[0].message.contains("names no approver for stage beta"), "{f:?}");

    r.write(PRR, "kep-number: 1234\nalpha:\n  approver: \"@wojtek-t\"\n");
    r.commit("no beta key at all");
    assert_eq!(check(&r, &base, "prr-approval").1.len(), 1);

    r.write(PRR, &prr_approval("1234"));
    r.commit("beta approved");
    assert_eq!(check(&r, &base, "prr-approval"), (0, vec![]));
}

#[test]
fn prr_approval_file_must_parse_and_name_the_kep() {
    let (r, base) = alpha_kep();
    r.write(PRR, "kep-number: 1234\nalpha: [unclosed\n");
    r.commit("broken approval");
    let f = check(&r, &base, "prr-approval").1;
    assert_eq!(f.len(), 0, "the KEP itself was not touched: {f:?}");
    r.write(&format!("{KEP}/README.md"), &readme("S, reworded.", &[], &[H1]));
    r.commit("touch the KEP");
    let f = check(&r, &base, "prr-approval").1;
    assert_eq!((f.len(), f[0].path.as_str()), (1, PRR), "{f:?}");
    assert!(f[0].message.contains("does not parse"), "{f:?}");

    r.write(PRR, "alpha:\n  approver: \"@wojtek-t\"\n");
    r.commit("no number");
    let f = check(&r, &base, "prr-approval").1;
    assert!(f[0].message.contains("has no `kep-number`"), "{f:?}");

    // Another KEP's number: an error when the change writes it...
    r.write(PRR, &prr_approval("999"));
    r.commit("wrong number");
    let f = check(&r, &base, "prr-approval").1;
    assert_eq!((f[0].severity.as_str(), f[0].line), ("error", Some(1)), "{f:?}");
    assert!(f[0].message.contains("is for kep-number 999"), "{f:?}");
    // ...a warning when it was there before the change, and in validate (kepval never compares).
    let before = r.commit("nothing");
    r.write(&format!("{KEP}/README.md"), &readme("S, again.", &[], &[H1]));
    r.commit("touch again");
    let f = check(&r, &before, "prr-approval").1;
    assert_eq!((f.len(), f[0].severity.as_str()), (1, "warning"), "{f:?}");
    let (code, f) = validate(&r, "prr-approval");
    assert_eq!((code, f[0].severity.as_str()), (0, "warning"), "{f:?}");
}

#[test]
fn prr_approver_must_be_in_the_owners_aliases_of_the_base_side() {
    let r = Repo::new();
    let aliases = |approvers: &str| {
        format!(
            "aliases:\n  sig-node-leads:\n    - dchen\n  prod-readiness-approvers:\n{approvers}  prod-readiness-approvers-emeritus:\n    - ehashman\n"
        )
    };
    r.write("OWNERS_ALIASES", &aliases("    - deads2k\n    - wojtek-t\n"));
    r.kepval_ready();
    r.kep(KEP, &alpha_yaml(), &readme("S.", &[], &[H1]));
    r.write(PRR, "kep-number: 1234\nalpha:\n  approver: \"@ehashman\"\n");
    let base = r.commit("approved by someone now emeritus");
    let (code, _) = validate(&r, "prr-approval");
    assert_eq!(code, 0, "an approval recorded before stays valid");

    // A touch of the KEP keeps the recorded approval valid.
    r.write(&format!("{KEP}/README.md"), &readme("S, reworded.", &[], &[H1]));
    r.commit("typo");
    assert_eq!(check(&r, &base, "prr-approval"), (0, vec![]));

    // A new approval by an emeritus approver, or by anyone else, is refused.
    for who in ["@ehashman", "jane"] {
        r.kep(
            KEP,
            &beta_yaml("1234", "v1.31"),
            &readme("S.", &["Beta answers."], &[H1, H2]),
        );
        r.write(
            PRR,
            &format!("kep-number: 1234\nalpha:\n  approver: \"@ehashman\"\nbeta:\n  approver: \"{who}\"\n"),
        );
        r.commit("beta");
        let (code, f) = check(&r, &base, "prr-approval");
        assert_eq!((code, f.len()), (1, 1), "{who}: {f:?}");
        assert_eq!((f[0].path.as_str(), f[0].line), (PRR, Some(5)));
        // Someone kepval does not know, or an emeritus approver kepval takes but a new approval may not name.
        assert!(
            f[0].message.contains("who is not a PRR approver")
                || f[0]
                    .message
                    .contains("is not in `prod-readiness-approvers` of OWNERS_ALIASES"),
            "{f:?}"
        );
    }

    // Adding yourself to the aliases in the same change does not help: they come from the base.
    r.write("OWNERS_ALIASES", &aliases("    - deads2k\n    - jane\n"));
    r.commit("jane approves herself");
    assert_eq!(check(&r, &base, "prr-approval").1.len(), 1);

    r.write(
        PRR,
        "kep-number: 1234\nalpha:\n  approver: \"@ehashman\"\nbeta:\n  approver: deads2k\n",
    );
    r.commit("beta approved by a PRR approver, without @");
    assert_eq!(check(&r, &base, "prr-approval"), (0, vec![]));
}

// prr-complete

#[test]
fn prr_complete_reports_each_unanswered_question_at_its_heading() {
    let r = Repo::new();
    r.write("OWNERS", "x\n");
    r.commit("init");
    let text = readme("S.", &[], &[H1]).replace(
        "Feature gate.\n",
        "<!-- Describe the mechanism. -->\n\n###### Does enabling the feature change any default behavior?\n\nTBD\n",
    );
    r.kep(KEP, &alpha_yaml(), &text);
    r.commit("new KEP with two open questions");
    let (code, f) = check(&r, "HEAD~1", "prr-complete");
    // Warnings only: the change still passes.
    assert_eq!(code, 0);
    let at: Vec<(Option<u64>, &str)> = f.iter().map(|f| (f.line, f.severity.as_str())).collect();
    assert_eq!(
        at,
        vec![
            (
                Some(line_of(&text, "###### How can this feature be enabled")),
                "warning"
            ),
            (Some(line_of(&text, "###### Does enabling the feature")), "warning"),
        ],
        "{f:?}"
    );
    assert!(
        f[0].message
            .contains("PRR question unanswered at stage alpha: How can this feature")
    );
}

#[test]
fn prr_complete_holds_a_change_to_what_it_leaves_open() {
    let r = Repo::new();
    r.write("OWNERS", "x\n");
    r.commit("init");
    // At alpha only "Feature Enablement and Rollback" must be answered.
    let alpha_text = readme("S.", &[], &[H1]).replace(PRR_BETA_ANSWERS, "");
    r.kep(KEP, &alpha_yaml(), &alpha_text);
    let base = r.commit("alpha");
    assert_eq!(check(&r, "HEAD~1", "prr-complete").1, vec![]);

    // Graduating to beta asks five more sections.
    r.kep(
        KEP,
        &beta_yaml("1234", "v1.31"),
        &readme("S.", &["More."], &[H1, H2]).replace(PRR_BETA_ANSWERS, ""),
    );
    r.commit("beta without the beta answers");
    let f = check(&r, &base, "prr-complete").1;
    let titles: Vec<&str> = f.iter().map(|f| f.message.split(';').next().unwrap()).collect();
    assert_eq!(titles.len(), 5, "{titles:?}");
    assert!(
        titles[0].ends_with("stage beta, but the README has no \"Rollout, Upgrade and Rollback Planning\" section")
    );

    r.kep(KEP, &beta_yaml("1234", "v1.31"), &readme("S.", &["More."], &[H1, H2]));
    let answered = r.commit("beta answers");
    assert_eq!(check(&r, &base, "prr-complete").1, vec![]);

    // metrics from beta, feature-gates and disable-supported from alpha.
    let no_metrics = beta_yaml("1234", "v1.31").replace("metrics:\n  - frob_total\n", "");
    r.write(&format!("{KEP}/kep.yaml"), &no_metrics);
    r.commit("drop metrics");
    let f = check(&r, &answered, "prr-complete").1;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].line, Some(line_of(&no_metrics, "stage:")));
    assert!(f[0].message.contains("`metrics` is not set"));

    // A later change that leaves the gap alone is not held to it; validate still reports it.
    let gap = r.commit("nothing");
    r.write(
        &format!("{KEP}/README.md"),
        &readme("S, reworded.", &["More."], &[H1, H2]),
    );
    r.commit("typo");
    assert_eq!(check(&r, &gap, "prr-complete").1, vec![]);
    assert_eq!(validate(&r, "prr-complete").1.len(), 1);

    // Provisional KEPs are not asked.
    r.write(
        &format!("{KEP}/kep.yaml"),
        &no_metrics.replace("status: implementable", "status: provisional"),
    );
    r.commit("back to provisional");
    assert_eq!(validate(&r, "prr-complete").1, vec![]);
}

// template-sections

const TEMPLATE: &str = "keps/NNNN-kep-template/README.md";
const TEMPLATE_TEXT: &str = "# KEP-NNNN: Your short, descriptive title\n\n## Summary\n\n## Motivation\n\n### Goals\n\n### User Stories (Optional)\n\n## Drawbacks\n";

/// A README with the template's headings, minus those in `without`.
fn kep_readme(without: &[&str]) -> String {
    [
        "# KEP-1234: Frob",
        "## Summary",
        "## Motivation",
        "### Goals",
        "### User Stories (Optional)",
        "## Drawbacks",
    ]
    .iter()
    .filter(|h| !without.contains(h))
    .map(|h| format!("{h}\n\nText.\n\n"))
    .collect()
}

fn template_repo() -> Repo {
    let r = Repo::new();
    // The template directory's kep.yaml is kepval's to validate, not a KEP of kepguard's.
    r.kepval_ready();
    r.write(TEMPLATE, TEMPLATE_TEXT);
    r
}

#[test]
fn template_sections_fire_on_a_new_kep_lacking_required_headings() {
    let r = template_repo();
    let base = r.commit("template");
    let text = kep_readme(&["## Drawbacks", "### User Stories (Optional)"]);
    r.kep(KEP, &alpha_yaml(), &text);
    r.commit("new KEP");
    let (code, f) = check(&r, &base, "template-sections");
    assert_eq!((code, f.len()), (1, 1), "{f:?}");
    assert_eq!(f[0].severity, "error");
    assert!(
        f[0].message
            .contains("the README lacks required template heading `## Drawbacks`"),
        "{f:?}"
    );
    // Pointed at where it belongs: after the last required heading before it.
    assert_eq!(
        (f[0].path.clone(), f[0].line),
        (format!("{KEP}/README.md"), Some(line_of(&text, "### Goals")))
    );

    r.write(
        &format!("{KEP}/README.md"),
        &kep_readme(&["### User Stories (Optional)"]),
    );
    r.commit("add Drawbacks; optional headings may go");
    assert_eq!(check(&r, &base, "template-sections"), (0, vec![]));
}

#[test]
fn template_sections_fire_on_removal_and_leave_old_gaps_to_validate() {
    let r = template_repo();
    r.kep(KEP, &alpha_yaml(), &kep_readme(&["## Drawbacks"]));
    let base = r.commit("KEP that never had Drawbacks");
    let (code, f) = validate(&r, "template-sections");
    assert_eq!((code, f.len(), f[0].severity.as_str()), (0, 1, "warning"), "{f:?}");

    // Touching the README leaves the old gap alone...
    r.write(
        &format!("{KEP}/README.md"),
        &kep_readme(&["## Drawbacks"]).replace("Text.", "Words."),
    );
    r.commit("reword");
    assert_eq!(check(&r, &base, "template-sections"), (0, vec![]));

    // ...but removing a heading fires, matched by text whatever its level or case.
    r.write(
        &format!("{KEP}/README.md"),
        &kep_readme(&["## Drawbacks", "### Goals", "# KEP-1234: Frob"]).replace("## Summary", "#### SUMMARY"),
    );
    r.commit("drop Goals and the title");
    let f = check(&r, &base, "template-sections").1;
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains(
            "the change removes required template headings `# KEP-NNNN: Your short, descriptive title`, `### Goals`"
        ),
        "{f:?}"
    );
    assert!(!f[0].message.contains("Summary"), "{f:?}");

    // Deleting the README removes them all.
    r.git(&["rm", "-q", &format!("{KEP}/README.md")]);
    r.commit("delete README");
    let f = check(&r, &base, "template-sections").1;
    assert!(f[0].message.contains("deletes the README"), "{f:?}");
}

#[test]
fn template_sections_use_the_base_sides_template_and_the_policys_path() {
    let r = template_repo();
    r.kep(KEP, &alpha_yaml(), &kep_readme(&[]));
    let base = r.commit("complete KEP");
    // A change that adds a heading to the template is not judged by it.
    r.write(TEMPLATE, &format!("{TEMPLATE_TEXT}\n## Alternatives\n"));
    r.write(&format!("{KEP}/README.md"), &kep_readme(&[]).replace("Text.", "Words."));
    r.commit("template grows; KEP touched");
    assert_eq!(check(&r, &base, "template-sections"), (0, vec![]));

    // The policy names another template; a new KEP lacking its heading fires.
    r.write(".kepguard.yaml", "template: docs/kep-template.md\n");
    r.write("docs/kep-template.md", "# T\n\n## Summary\n\n## Security Model\n");
    let base = r.commit("own template");
    r.kep(
        "keps/sig-node/1235-new",
        &kep_yaml("1235", "provisional", "alpha", "v1.31", &[]),
        &kep_readme(&[]),
    );
    r.commit("new KEP");
    let f = check(&r, &base, "template-sections").1;
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("`## Security Model`"), "{f:?}");
    assert!(f[0].message.contains("restore it from docs/kep-template.md"), "{f:?}");
}

#[test]
fn since_moves_the_milestone_the_prr_rules_apply_from() {
    let r = Repo::new();
    r.write(
        ".kepguard.yaml",
        "rules:\n  prr-approval:\n    since: v1.31\n  prr-complete:\n    since: v1.31\n",
    );
    r.commit("policy");
    r.kep(KEP, &alpha_yaml(), "# KEP-1234: Frob\n");
    std::fs::remove_file(r.dir.join(PRR)).unwrap();
    r.commit("v1.30 KEP without approval or answers");
    assert_eq!(check(&r, "HEAD~1", "prr-approval").1, vec![]);
    assert_eq!(check(&r, "HEAD~1", "prr-complete").1, vec![]);
    r.write(
        &format!("{KEP}/kep.yaml"),
        &kep_yaml("1234", "implementable", "alpha", "v1.31", &[("alpha", "v1.31")]),
    );
    r.commit("retarget to v1.31");
    assert_eq!(check(&r, "HEAD~1", "prr-approval").1.len(), 1);
    assert!(!check(&r, "HEAD~1", "prr-complete").1.is_empty());
}
