//! `kepguard hook install`: writes a hook script that runs this binary by absolute path.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use gix::bstr::ByteSlice;

use crate::git::Repo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    PreReceive,
    PrePush,
}

impl HookKind {
    pub fn name(self) -> &'static str {
        match self {
            HookKind::PreReceive => "pre-receive",
            HookKind::PrePush => "pre-push",
        }
    }
}

pub fn install(repo_dir: &Path, kind: HookKind, force: bool) -> Result<ExitCode> {
    let repo = Repo::open(repo_dir)?;
    let dir = hooks_dir(&repo.repo)?;
    let exe = std::env::current_exe().context("cannot tell where this kepguard binary is")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let script = script(&exe, kind);
    let path = dir.join(kind.name());
    match std::fs::read(&path) {
        Ok(existing) if existing == script.as_bytes() => {
            println!("{} already runs {} hook {}", path.display(), exe.display(), kind.name());
            return Ok(ExitCode::SUCCESS);
        }
        Ok(_) if !force => bail!("{} exists and differs: pass --force to replace it", path.display()),
        _ => {}
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&path, &script).with_context(|| format!("cannot write {}", path.display()))?;
    make_executable(&path)?;
    println!("wrote {} (runs {} hook {})", path.display(), exe.display(), kind.name());
    Ok(ExitCode::SUCCESS)
}

/// `core.hooksPath` (relative to the work tree, or the git directory of a bare repository), else
/// the common git directory's `hooks`.
fn hooks_dir(repo: &gix::Repository) -> Result<PathBuf> {
    let config = repo.config_snapshot();
    let Some(configured) = config.string("core.hooksPath") else {
        return Ok(repo.common_dir().join("hooks"));
    };
    let configured = configured.to_str().context("core.hooksPath is not UTF-8")?;
    let path = match configured.strip_prefix("~/") {
        Some(rest) => {
            PathBuf::from(std::env::var_os("HOME").context("core.hooksPath uses ~ but HOME is not set")?).join(rest)
        }
        None => PathBuf::from(configured),
    };
    Ok(if path.is_absolute() {
        path
    } else {
        repo.workdir().unwrap_or_else(|| repo.git_dir()).join(path)
    })
}

fn script(exe: &Path, kind: HookKind) -> String {
    let quoted = format!("'{}'", exe.display().to_string().replace('\'', r"'\''"));
    format!(
        "#!/bin/sh\n# kepguard {name} hook, written by `kepguard hook install`.\nexec {quoted} hook {name} \"$@\"\n",
        name = kind.name()
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_quotes_the_binary_path() {
        let s = script(Path::new("/opt/it's/kepguard"), HookKind::PrePush);
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains(r"exec '/opt/it'\''s/kepguard' hook pre-push "), "{s}");
    }
}
