//! What kepguard writes cannot be turned against the runner, the reader or the host: outputs under
//! GitHub Actions, the files `--sarif-file`, `--summary` and `--github-output` name, and the hooks
//! `hook install` writes.

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The hooks report errors through their own module, not the command line's: `src/hook/` names
/// `crate::cli` nowhere.
#[test]
fn hooks_do_not_depend_on_the_command_line_module() {
    for entry in std::fs::read_dir(Path::new(ROOT).join("src/hook")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("crate::cli"), "{} uses crate::cli", path.display());
    }
}
