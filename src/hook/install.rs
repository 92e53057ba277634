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
    is_repository_itself(repo_dir, &repo.repo)?;
    let dir = hooks_dir(&repo.repo)?;
    let exe = std::env::current_exe().context("cannot tell where this kepguard binary is")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let script = script(&exe, kind);
    let path = dir.join(kind.name());
    // A link (dangling or not) would have the script written, and made executable, elsewhere.
    if let Ok(meta) = std::fs::symlink_metadata(&path)
        && meta.file_type().is_symlink()
    {
        let target = std::fs::read_link(&path)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        bail!(
            "{} is a symbolic link (to {target}): kepguard does not write through one; remove it first",
            path.display()
        );
    }
    let mut backup = None;
    match std::fs::read(&path) {
        Ok(existing) if existing == script.as_bytes() => {
            println!("{} already runs {} hook {}", path.display(), exe.display(), kind.name());
            return Ok(ExitCode::SUCCESS);
        }
        Ok(_) if !force => bail!("{} exists and differs: pass --force to replace it", path.display()),
        Ok(_) => {
            // The replaced hook may be the only copy of someone's work: it is moved aside, not lost.
            let to = free_backup_path(&path);
            std::fs::rename(&path, &to)
                .with_context(|| format!("cannot move {} to {}", path.display(), to.display()))?;
            backup = Some(to);
        }
        Err(_) => {}
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&path, &script).with_context(|| format!("cannot write {}", path.display()))?;
    make_executable(&path)?;
    println!("wrote {} (runs {} hook {})", path.display(), exe.display(), kind.name());
    if let Some(backup) = backup {
        println!("the hook it replaces is kept as {}", backup.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses a directory that only lies inside a repository: the hook would land in the enclosing
/// one, which the caller did not name.
fn is_repository_itself(dir: &Path, repo: &gix::Repository) -> Result<()> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let same = |p: &Path| p.canonicalize().is_ok_and(|p| p == dir);
    if repo.workdir().is_some_and(same) || same(repo.git_dir()) {
        return Ok(());
    }
    let top = repo.workdir().unwrap_or_else(|| repo.git_dir());
    bail!(
        "{} is not a repository but lies inside {}: pass --repo {} to install there",
        dir.display(),
        top.display(),
        top.display()
    )
}

/// `<hook>.kepguard-backup`, or the first of `<hook>.kepguard-backup.N` not taken yet.
fn free_backup_path(path: &Path) -> PathBuf {
    let base = format!("{}.kepguard-backup", path.display());
    let taken = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let mut candidate = PathBuf::from(&base);
    let mut n = 1;
    while taken(&candidate) {
        n += 1;
        candidate = PathBuf::from(format!("{base}.{n}"));
    }
    candidate
}

/// `core.hooksPath` (relative to the work tree, or the git directory of a bare repository), else
/// the common git directory's `hooks`. A bare repository is a server's: only its own config counts,
/// since a `core.hooksPath` in the installing user's global config is not the receiving one's.
fn hooks_dir(repo: &gix::Repository) -> Result<PathBuf> {
    let config = repo.config_snapshot();
    let own = |m: &gix::config::file::Metadata| {
        matches!(m.source, gix::config::Source::Local | gix::config::Source::Worktree)
    };
    let configured = if repo.is_bare() {
        let own_value = config.plumbing().string_filter("core.hooksPath", own);
        if own_value.is_none() && config.string("core.hooksPath").is_some() {
            println!(
                "note: core.hooksPath is set outside {} and is ignored: a server repository's hooks go in its own hooks directory",
                repo.git_dir().display()
            );
        }
        own_value
    } else {
        config.string("core.hooksPath")
    };
    let Some(configured) = configured else {
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
