//! `kepguard fix`: the rules' edits applied to the work tree only, shown as a diff, re-checked.

mod common;

use common::{Repo, kep_yaml, readme};

const KEP: &str = "keps/sig-node/1234-frob";

/// A committed KEP at alpha; the work tree graduates it to beta, writing milestones without their
/// `v`, with PRR answers for beta but no history entry and no PRR approval file.
fn graduated_on_disk(history: bool) -> Repo {
    let r = Repo::new();
    let history_lines: &[&str] = if history { &["- v1.20: alpha"] } else { &[] };
    let mut md = readme("S.", &["Answered."], history_lines);
    if !history {
        md = md.replace(
            "## Implementation History\n\n<!--\nMajor milestones go here.\n-->\n\n\n\n",
            "",
        );
    }
    r.write(
        &format!("{KEP}/kep.yaml"),
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
    )
    .write(&format!("{KEP}/README.md"), &md);
    r.commit("alpha");
    let beta = kep_yaml(
        "1234",
        "implementable",
        "beta",
        "1.21",
        &[("alpha", "v1.20"), ("beta", "1.21")],
    );
    r.write(&format!("{KEP}/kep.yaml"), &beta).write(
        &format!("{KEP}/README.md"),
        &md.replace("Answered.", "Answered, for beta too."),
    );
    r
}

fn files(r: &Repo) -> Vec<(String, Vec<u8>)> {
    common::files_under(&r.dir)
}

fn git_dir(r: &Repo) -> Vec<(String, Vec<u8>)> {
    common::files_under(&r.dir.join(".git"))
}

#[test]
fn dry_run_shows_the_diff_and_writes_nothing() {
    let r = graduated_on_disk(true);
    let before = files(&r);
    let out = r.kepguard(&["fix", "--base", "HEAD", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("+++ b/{KEP}/README.md")) && text.contains("+- v1.21: moved to beta"),
        "{text}"
    );
    assert!(
        text.contains("--- /dev/null\n+++ b/keps/prod-readiness/sig-node/1234.yaml"),
        "{text}"
    );
    assert!(
        text.contains("-latest-milestone: \"1.21\"\n+latest-milestone: \"v1.21\""),
        "{text}"
    );
    assert!(
        text.ends_with("kepguard fix: 4 fixes would change 3 files (--dry-run: nothing written)\n"),
        "{text}"
    );
    assert_eq!(files(&r), before, "nothing written");
}

#[test]
fn fixes_are_written_to_the_work_tree_only_and_re_checked() {
    let r = graduated_on_disk(true);
    let git_before = git_dir(&r);
    let out = r.kepguard(&["fix", "--base", "HEAD", "--color", "never"]);
    let text = String::from_utf8(out.stdout).unwrap();
    // The PRR approver is the reviewer's to write: that error stays, and says so.
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("names no approver for stage beta"), "{text}");
    assert!(
        text.ends_with("kepguard fix: 4 fixes applied in 3 files; 1 error left\n"),
        "{text}"
    );
    assert_eq!(git_dir(&r), git_before, "nothing written to .git");

    let md = std::fs::read_to_string(r.dir.join(format!("{KEP}/README.md"))).unwrap();
    assert!(md.contains("- v1.20: alpha\n- v1.21: moved to beta\n"), "{md}");
    let yaml = std::fs::read_to_string(r.dir.join(format!("{KEP}/kep.yaml"))).unwrap();
    assert!(
        yaml.contains("latest-milestone: \"v1.21\"") && yaml.contains("  beta: \"v1.21\""),
        "{yaml}"
    );
    let prr = std::fs::read_to_string(r.dir.join("keps/prod-readiness/sig-node/1234.yaml")).unwrap();
    assert_eq!(prr, "kep-number: 1234\nbeta:\n  approver: \"\"\n");

    // The approver written, everything passes, and a second fix has nothing to do.
    std::fs::write(
        r.dir.join("keps/prod-readiness/sig-node/1234.yaml"),
        common::prr_approval("1234"),
    )
    .unwrap();
    let out = r.kepguard(&["fix", "--base", "HEAD"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text, "kepguard fix: 0 fixes applied in 0 files; 0 errors left\n");
    let out = r.kepguard(&["check", "--base", "HEAD", "--worktree"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_missing_history_section_is_appended() {
    let r = graduated_on_disk(false);
    let md_before = std::fs::read_to_string(r.dir.join(format!("{KEP}/README.md"))).unwrap();
    assert!(!md_before.contains("## Implementation History"));
    r.kepguard(&["fix", "--base", "HEAD"]);
    let md = std::fs::read_to_string(r.dir.join(format!("{KEP}/README.md"))).unwrap();
    assert!(
        md.ends_with("\n\n## Implementation History\n\n- v1.21: moved to beta\n"),
        "{md}"
    );
}

#[test]
fn a_bare_repository_has_no_work_tree_to_fix() {
    let r = graduated_on_disk(true);
    let bare = r.sibling("bare.git");
    common::git_in(&r.dir, &["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let out = common::kepguard_in(&bare, &["fix", "--base", "HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fix writes to a work tree"));
}

#[test]
fn missing_template_headings_come_back_with_the_templates_guidance() {
    let r = Repo::new();
    r.kepval_ready();
    r.write(
        "keps/NNNN-kep-template/README.md",
        "# KEP-NNNN: Title\n\n## Summary\n\n<!--\nOne paragraph.\n-->\n\n## Motivation\n\n<!--\nWhy.\n-->\n\n### Goals\n\n\
         ## Proposal\n\n## Implementation History\n\n## Drawbacks\n\n<!--\nWhy not.\n-->\n",
    );
    let md = "# KEP-1234: Frob\n\n## Summary\n\nS.\n\n## Motivation\n\nM.\n\n### Goals\n\nG.\n\n## Proposal\n\nP.\n\n\
              ## Implementation History\n\n- v1.20: alpha\n\n## Drawbacks\n\nNone.\n";
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        md,
    );
    r.commit("alpha");
    // The change drops Motivation (with Goals) and Drawbacks.
    let cut = md
        .replace("## Motivation\n\nM.\n\n### Goals\n\nG.\n\n", "")
        .replace("## Drawbacks\n\nNone.\n", "");
    r.write(&format!("{KEP}/README.md"), &cut);
    let out = r.kepguard(&["fix", "--base", "HEAD", "--color", "never"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let fixed = std::fs::read_to_string(r.dir.join(format!("{KEP}/README.md"))).unwrap();
    let order: Vec<&str> = fixed.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        order,
        [
            "# KEP-1234: Frob",
            "## Summary",
            "## Motivation",
            "### Goals",
            "## Proposal",
            "## Implementation History",
            "## Drawbacks"
        ],
        "{fixed}"
    );
    assert!(fixed.contains("## Motivation\n\n<!--\nWhy.\n-->\n"), "{fixed}");
    assert!(fixed.contains("## Drawbacks\n\n<!--\nWhy not.\n-->\n"), "{fixed}");
    let out = r.kepguard(&["check", "--base", "HEAD", "--worktree"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_fix_that_does_not_resolve_its_finding_is_named_and_written_once() {
    let r = Repo::new();
    r.kepval_ready();
    r.write(
        "keps/NNNN-kep-template/README.md",
        "# KEP-NNNN: Title\n\n## Summary\n\n## Drawbacks\n\n<!--\nWhy not.\n-->\n",
    );
    let md = "# KEP-1234: Frob\n\n## Summary\n\nS.\n\n## Drawbacks\n\nNone.\n";
    r.kep(
        KEP,
        &kep_yaml("1234", "implementable", "alpha", "v1.20", &[("alpha", "v1.20")]),
        md,
    );
    r.commit("alpha");
    // Drawbacks dropped, and a code fence left open where it would go back: restored inside the
    // fence, the heading is no heading.
    r.write(
        &format!("{KEP}/README.md"),
        "# KEP-1234: Frob\n\n## Summary\n\nS.\n\n```\nopen fence\n",
    );
    let out = r.kepguard(&["fix", "--base", "HEAD", "--color", "never"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("kepguard fix: not fixed: KEP-1234: the change removes required template heading `## Drawbacks`"),
        "{text}"
    );
    let fixed = std::fs::read_to_string(r.dir.join(format!("{KEP}/README.md"))).unwrap();
    assert_eq!(fixed.matches("## Drawbacks").count(), 1, "{fixed}");
}
