//! Shell completions and the manual page, generated from the command-line definitions.

mod common;

use std::process::Command;

const SUBCOMMANDS: [&str; 12] = [
    "check",
    "audit",
    "demo",
    "explain",
    "validate",
    "readiness",
    "report",
    "history",
    "completions",
    "man",
    "init",
    "hook",
];

fn kepguard(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kepguard"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completion_loads_and_completes_the_subcommands() {
    let script = kepguard(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kepguard.bash");
    std::fs::write(&file, &script).unwrap();
    // What bash offers after `kepguard re`, through the completion function the script registers.
    let probe = format!(
        "source {}; COMP_WORDS=(kepguard re); COMP_CWORD=1; COMP_LINE='kepguard re'; COMP_POINT=11; \
         _kepguard kepguard re kepguard; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let offered = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        offered.lines().collect::<Vec<_>>(),
        ["report", "readiness"],
        "{offered}"
    );
    for sub in SUBCOMMANDS {
        assert!(script.contains(sub), "{sub}");
    }
}

#[test]
fn every_shell_clap_knows_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(kepguard(&["completions", shell]).contains("kepguard"), "{shell}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_kepguard"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_manual_page_is_roff_naming_every_subcommand() {
    let page = kepguard(&["man"]);
    assert!(page.contains(".TH kepguard 1"), "{page}");
    assert!(page.contains(".SH NAME"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(page.contains(&format!("kepguard\\-{sub}")), "{sub} missing:\n{page}");
    }
}
