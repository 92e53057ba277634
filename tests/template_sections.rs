//! template-sections: which template headings are required, how README headings match them, a
//! legacy KEP converted to a directory KEP, and the findings' notes; on fixture repositories and
//! on the real history (`../shared/corpus/`, where present).

mod common;

use common::{Repo, clone_corpus, json_run, kep_yaml, kepguard_in};
use serde_json::Value;

const TEMPLATE: &str = "keps/NNNN-kep-template/README.md";
/// The real template's shape: optional sections with required-looking children, punctuation
/// that READMEs write differently, numbered stories.
const TEMPLATE_TEXT: &str = "# KEP-NNNN: Your short, descriptive title\n\n\
    ## Summary\n\n## Motivation\n\n### Goals\n\n### Non-Goals\n\n## Proposal\n\n\
    ### User Stories (Optional)\n\n#### Story 1\n\n#### Story 2\n\n\
    ### Notes/Constraints/Caveats (Optional)\n\n##### Caveat details\n\n\
    ### Risks and Mitigations\n\n## Design Details\n\n### Upgrade / Downgrade Strategy\n\n\
    ###### What happens if we reenable the feature if it was previously rolled back?\n\n\
    ## Drawbacks\n\n## Alternatives\n\n## Infrastructure Needed (Optional)\n\n### Machines\n";

/// The required headings of [`TEMPLATE_TEXT`], as a README would carry them.
const REQUIRED: [&str; 12] = [
    "# KEP-1234: Frob",
    "## Summary",
    "## Motivation",
    "### Goals",
    "### Non-Goals",
    "## Proposal",
    "### Risks and Mitigations",
    "## Design Details",
    "### Upgrade / Downgrade Strategy",
    "###### What happens if we reenable the feature if it was previously rolled back?",
    "## Drawbacks",
    "## Alternatives",
];

const KEP: &str = "keps/sig-node/1234-frob";

/// A README of `headings`, each with a line of text.
fn readme_of(headings: &[&str]) -> String {
    headings.iter().map(|h| format!("{h}\n\nText.\n\n")).collect()
}

/// The required headings but those in `without`.
fn required_without(without: &[&str]) -> Vec<&'static str> {
    REQUIRED.iter().copied().filter(|h| !without.contains(h)).collect()
}

fn template_repo() -> (Repo, String) {
    let r = Repo::new();
    r.write(TEMPLATE, TEMPLATE_TEXT);
    let base = r.commit("template");
    (r, base)
}

fn alpha_yaml() -> String {
    kep_yaml("1234", "implementable", "alpha", "v1.30", &[("alpha", "v1.30")])
}

/// The template-sections findings of `base..HEAD`, as JSON.
fn findings(r: &Repo, base: &str) -> Vec<Value> {
    let (_, doc) = r.check_json(base, "HEAD");
    template_findings(&doc)
}

fn template_findings(doc: &Value) -> Vec<Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "template-sections")
        .cloned()
        .collect()
}

fn message(f: &Value) -> &str {
    f["message"].as_str().unwrap()
}

/// The human report of `base..HEAD`, where a finding's notes show.
fn human(r: &Repo, base: &str) -> String {
    let out = r.kepguard(&["check", "--base", base, "--head", "HEAD"]);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn headings_under_an_optional_heading_are_optional() {
    let (r, base) = template_repo();
    // No stories, no caveat details, no machines: all under `(Optional)` headings.
    r.kep(KEP, &alpha_yaml(), &readme_of(&REQUIRED));
    r.commit("new KEP without the optional parts");
    assert_eq!(findings(&r, &base), Vec::<Value>::new());

    // A required heading missing still fires, naming only it.
    r.write(
        &format!("{KEP}/README.md"),
        &readme_of(&required_without(&["### Risks and Mitigations"])),
    );
    r.commit("drop Risks");
    let f = findings(&r, &base);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        message(&f[0]).contains("the README lacks required template heading `### Risks and Mitigations`;"),
        "{f:?}"
    );
    assert!(!message(&f[0]).contains("Story"), "{f:?}");
}

#[test]
fn headings_match_whatever_their_case_spacing_punctuation_and_hyphens() {
    let (r, base) = template_repo();
    let variants = readme_of(&[
        "# KEP-1234: Frob",
        "## SUMMARY",
        "## Motivation",
        "### Goals",
        "### Non Goals",
        "## Proposal",
        "### Risks and mitigations",
        "## Design  Details",
        "### Upgrade/Downgrade Strategy",
        "###### What happens if we re-enable the feature if it was previously rolled back",
        "## Drawbacks:",
        "## Alternatives [optional]",
    ]);
    r.kep(KEP, &alpha_yaml(), &variants);
    r.commit("new KEP in its own spelling");
    assert_eq!(findings(&r, &base), Vec::<Value>::new());

    // A heading that only looks alike is still missing.
    r.write(
        &format!("{KEP}/README.md"),
        &variants.replace("### Upgrade/Downgrade Strategy", "### Upgrade Strategy"),
    );
    r.commit("only upgrades");
    let f = findings(&r, &base);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        message(&f[0]).contains("lacks required template heading `### Upgrade / Downgrade Strategy`;"),
        "{f:?}"
    );
}

#[test]
fn a_numbered_template_heading_matches_a_readme_heading_naming_the_item() {
    let r = Repo::new();
    // Stories required here: their parent is not optional.
    r.write(
        TEMPLATE,
        "# KEP-NNNN: Title\n\n## User Stories\n\n### Story 1\n\n### Story 2\n\n## Drawbacks\n",
    );
    let base = r.commit("template");
    r.kep(
        KEP,
        &alpha_yaml(),
        &readme_of(&[
            "# KEP-1234: Frob",
            "## User Stories",
            "### Story 1: Async Init",
            "### Story 2 - Retries",
            "## Drawbacks",
        ]),
    );
    r.commit("new KEP with named stories");
    assert_eq!(findings(&r, &base), Vec::<Value>::new());

    // `Story 10` is not `Story 1`.
    r.write(
        &format!("{KEP}/README.md"),
        &readme_of(&[
            "# KEP-1234: Frob",
            "## User Stories",
            "### Story 10",
            "### Story 2",
            "## Drawbacks",
        ]),
    );
    r.commit("renumbered");
    let f = findings(&r, &base);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        message(&f[0]).contains("lacks required template heading `### Story 1`;"),
        "{f:?}"
    );
}

#[test]
fn every_missing_heading_is_in_the_notes_and_the_title_names_the_first_few() {
    let (r, base) = template_repo();
    let gone = [
        "### Goals",
        "### Non-Goals",
        "### Risks and Mitigations",
        "### Upgrade / Downgrade Strategy",
        "## Drawbacks",
        "## Alternatives",
    ];
    r.kep(KEP, &alpha_yaml(), &readme_of(&required_without(&gone)));
    r.commit("new KEP lacking six headings");
    let f = findings(&r, &base);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        message(&f[0]).contains(
            "lacks required template headings `### Goals`, `### Non-Goals`, `### Risks and Mitigations`, \
             `### Upgrade / Downgrade Strategy`, and 2 more;"
        ),
        "{f:?}"
    );
    let text = human(&r, &base);
    assert!(
        text.contains(
            "missing: ### Goals | ### Non-Goals | ### Risks and Mitigations | ### Upgrade / Downgrade Strategy \
             | ## Drawbacks | ## Alternatives"
        ),
        "{text}"
    );

    // One missing heading is listed too.
    r.write(
        &format!("{KEP}/README.md"),
        &readme_of(&required_without(&["## Alternatives"])),
    );
    r.commit("all but Alternatives");
    let text = human(&r, &base);
    assert!(text.contains("missing: ## Alternatives\n"), "{text}");
}

#[test]
fn a_bold_label_opening_a_list_item_counts_as_the_heading() {
    let (r, base) = template_repo();
    let question = "###### What happens if we reenable the feature if it was previously rolled back?";
    let text = readme_of(&REQUIRED);
    // As templates before 2021 posed the PRR questions, wrapped over two lines.
    r.kep(
        KEP,
        &alpha_yaml(),
        &text.replace(
            question,
            "* **What happens if we reenable the feature if it was\n  previously rolled back?**\n  Nothing.",
        ),
    );
    r.commit("new KEP with the question as a bold item");
    assert_eq!(findings(&r, &base), Vec::<Value>::new());

    // Bold text inside a sentence is no label.
    r.write(
        &format!("{KEP}/README.md"),
        &text.replace(
            question,
            "We ask **what happens if we reenable the feature if it was previously rolled back?**",
        ),
    );
    r.commit("the question in passing");
    let f = findings(&r, &base);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(message(&f[0]).contains(&format!("`{question}`")), "{f:?}");
}

#[test]
fn a_question_worded_as_an_earlier_template_did_matches() {
    let (r, base) = template_repo();
    let question = "###### What happens if we reenable the feature if it was previously rolled back?";
    let text = readme_of(&REQUIRED);
    r.kep(
        KEP,
        &alpha_yaml(),
        &text.replace(
            question,
            "###### What happens if we reenable the feature after it was rolled back?",
        ),
    );
    r.commit("new KEP asking the question its own way");
    assert_eq!(findings(&r, &base), Vec::<Value>::new());

    // Three words changed: another question.
    r.write(
        &format!("{KEP}/README.md"),
        &text.replace(
            question,
            "###### What happens if we disable the feature after it was rolled out?",
        ),
    );
    r.commit("another question");
    let f = findings(&r, &base);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(message(&f[0]).contains(&format!("`{question}`")), "{f:?}");
}

/// A legacy KEP file: front matter, then a README of `headings`.
fn legacy(title: &str, created: &str, headings: &[&str]) -> String {
    format!(
        "---\ntitle: {title}\nauthors:\n  - \"@jane\"\nowning-sig: sig-node\nstatus: implementable\n\
         creation-date: {created}\n---\n\n{}",
        readme_of(headings)
    )
}

/// The directory KEP a legacy file becomes, titled `title`.
fn converted_yaml(title: &str, created: &str) -> String {
    alpha_yaml()
        .replace("title: Test KEP", &format!("title: {title}"))
        .replace("creation-date: 2021-01-01", &format!("creation-date: {created}"))
}

const LEGACY: &str = "keps/sig-node/20190101-frob.md";
const OTHER_LEGACY: &str = "keps/sig-node/20190202-other.md";

/// A repository whose base holds the template, [`LEGACY`] (lacking Non-Goals, Risks and
/// Alternatives) and [`OTHER_LEGACY`].
fn legacy_repo() -> (Repo, String) {
    let r = Repo::new();
    r.write(TEMPLATE, TEMPLATE_TEXT);
    let old = required_without(&["### Non-Goals", "### Risks and Mitigations", "## Alternatives"]);
    r.write(LEGACY, &legacy("Frob Things", "2019-01-01", &old));
    r.write(OTHER_LEGACY, &legacy("Other Things", "2019-02-02", &REQUIRED));
    let base = r.commit("template and legacy KEPs");
    (r, base)
}

#[test]
fn a_legacy_kep_converted_to_a_directory_is_held_only_to_the_headings_it_had() {
    let (r, base) = legacy_repo();
    let old = required_without(&["### Non-Goals", "### Risks and Mitigations", "## Alternatives"]);
    r.remove(LEGACY);
    r.kep(KEP, &converted_yaml("Frob things", "2019-01-01"), &readme_of(&old));
    r.commit("convert the legacy KEP");
    assert_eq!(findings(&r, &base), Vec::<Value>::new());

    // Dropping a heading the legacy file had fires, as a removal, naming only it.
    let fewer: Vec<&str> = old.iter().copied().filter(|h| *h != "## Drawbacks").collect();
    r.write(&format!("{KEP}/README.md"), &readme_of(&fewer));
    r.commit("convert, dropping Drawbacks");
    let f = findings(&r, &base);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        message(&f[0]).contains("KEP-1234: the change removes required template heading `## Drawbacks`;"),
        "{f:?}"
    );
    let text = human(&r, &base);
    assert!(
        text.contains(&format!("converted from the legacy KEP {LEGACY}")),
        "{text}"
    );
}

#[test]
fn a_conversion_is_found_by_number_title_creation_date_or_as_the_only_deleted_kep_there() {
    let old = required_without(&["### Non-Goals", "### Risks and Mitigations", "## Alternatives"]);
    // Retitled but created the same day, beside another deleted legacy KEP.
    let (r, base) = legacy_repo();
    r.remove(LEGACY);
    r.remove(OTHER_LEGACY);
    r.kep(KEP, &converted_yaml("Frobbing", "2019-01-01"), &readme_of(&old));
    r.commit("convert both; this one retitled");
    assert_eq!(findings(&r, &base), Vec::<Value>::new());

    // A shorter title, beside another deleted legacy KEP.
    let (r, base) = legacy_repo();
    r.remove(LEGACY);
    r.remove(OTHER_LEGACY);
    r.kep(KEP, &converted_yaml("Frob", "2021-01-01"), &readme_of(&old));
    r.commit("convert both; this one's title shortened");
    assert_eq!(findings(&r, &base), Vec::<Value>::new());

    // Retitled and redated, but the only legacy KEP the change deletes there.
    let (r, base) = legacy_repo();
    r.remove(LEGACY);
    r.kep(KEP, &converted_yaml("Frobbing", "2021-01-01"), &readme_of(&old));
    r.commit("convert, retitled");
    assert_eq!(findings(&r, &base), Vec::<Value>::new());

    // The legacy file names its number.
    let (r, base) = legacy_repo();
    r.write(
        LEGACY,
        &legacy("Elsewhere", "2018-01-01", &old).replace("title:", "kep-number: 1234\ntitle:"),
    );
    let base2 = r.commit("number the legacy KEP");
    r.remove(LEGACY);
    r.remove(OTHER_LEGACY);
    r.kep(KEP, &converted_yaml("Frobbing", "2021-01-01"), &readme_of(&old));
    r.commit("convert both");
    assert_eq!(findings(&r, &base2), Vec::<Value>::new());
    // Judged from before the number, neither title nor date singles it out: a new KEP.
    assert_eq!(findings(&r, &base).len(), 1);
}

#[test]
fn a_new_kep_beside_a_legacy_kep_that_stays_is_not_a_conversion() {
    let (r, base) = legacy_repo();
    let old = required_without(&["### Non-Goals", "### Risks and Mitigations", "## Alternatives"]);
    r.kep(KEP, &converted_yaml("Frob Things", "2019-01-01"), &readme_of(&old));
    r.commit("copy the legacy KEP, keeping it");
    let f = findings(&r, &base);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        message(&f[0]).contains(
            "the README lacks required template headings `### Non-Goals`, `### Risks and Mitigations`, `## Alternatives`;"
        ),
        "{f:?}"
    );
}

/// The template-sections findings of real commit `commit` (against its first parent) for KEP
/// `kep`.
fn corpus_findings(repo: &std::path::Path, commit: &str, kep: &str) -> Vec<Value> {
    let (_, doc) = json_run(kepguard_in(
        repo,
        &[
            "check",
            "--base",
            &format!("{commit}^"),
            "--head",
            commit,
            "--format",
            "json",
        ],
    ));
    template_findings(&doc)
        .into_iter()
        .filter(|f| f["kep"] == kep)
        .collect()
}

#[test]
fn real_history_names_only_headings_really_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    // Each of these was reported before, naming headings that were optional or present.
    let fine = [
        // No stories: they sit under `User Stories (Optional)`.
        (
            "62fede8757872dff12e4fd79449a1d7f250a8e91",
            "keps/sig-storage/4958-csi-sidecars-all-in-one",
        ),
        // `#### Story 1: GPU-aware AI training` and so on.
        (
            "72b32dc58e9fa84690ad269ebde96d56863af561",
            "keps/sig-multicluster/5313-placement-decision-api",
        ),
        // `What happens if we re-enable the feature...`.
        (
            "9c84e4efcba433e47a90ddb7373df0975b41178a",
            "keps/sig-instrumentation/4785-resource-state-metrics",
        ),
        // `# Motivation`, one level up.
        (
            "e11bc02634acac7db907b9eff72d74bee7956d3c",
            "keps/sig-auth/3331-structured-config-for-oidc-authentication",
        ),
        // The PRR questions as bold list items, as the template then posed them.
        (
            "1b6dccf169272bf299bcfa22dcc2299da5ce518e",
            "keps/sig-apps/1847-autoremove-statefulset-pvcs",
        ),
        // PRR questions worded a little differently: "useful to improve", "a non-negligible".
        (
            "5377f1bc667032c55e0ca9fbc5e04a901d803e22",
            "keps/sig-api-machinery/6178-concurrent-watch-object-decode",
        ),
        (
            "23659be87fd580f29875808d24f2776c43955cfe",
            "keps/sig-scheduling/5142-pop-backoffq-when-activeq-empty",
        ),
        // Legacy KEPs converted to directories, lacking what the legacy files lacked.
        (
            "900987e644f8fd76fb4f7eb036b02fd6a7724970",
            "keps/sig-scheduling/902-non-preempting-priorityclass",
        ),
        (
            "7af28d9d1d0ed54e4d191c9811b0585aa3e0d269",
            "keps/sig-cloud-provider/providers/2530-alibaba-cloud",
        ),
    ];
    for (commit, kep) in fine {
        assert_eq!(
            corpus_findings(&repo, commit, kep),
            Vec::<Value>::new(),
            "{commit} {kep}"
        );
    }

    // Drawbacks is only in an HTML comment: really missing.
    let f = corpus_findings(
        &repo,
        "8eab763304f485d86025702bf6c3659d5f55cf31",
        "keps/sig-scheduling/2926-job-mutable-scheduling-directives",
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        message(&f[0]).starts_with("KEP-2926: the README lacks required template heading `## Drawbacks`;"),
        "{f:?}"
    );
    // A conversion that dropped two sections the legacy file had.
    let f = corpus_findings(
        &repo,
        "fb2684a661fd3e46118443f5f57831f13fda97bb",
        "keps/sig-cli/2257-kui",
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        message(&f[0]).starts_with(
            "KEP-2257: the change removes required template headings `### Upgrade / Downgrade Strategy`, \
             `### Version Skew Strategy`;"
        ),
        "{f:?}"
    );
}
