//! `migguard install-hook`: installs `hooks/pre-commit` as the repository's
//! git pre-commit hook, and `--uninstall` removes it again.

use std::path::PathBuf;

use clap::Args;

use super::{current_dir, print};
use crate::error::{Error, ExitStatus, Result};
use crate::fsutil::write_atomic;
use crate::git::Git;

/// The hook, as shipped in `hooks/pre-commit`.
pub const HOOK: &str = include_str!("../../hooks/pre-commit");
/// The line that marks a hook as migguard's (any version of it).
const MARKER: &str = "# migguard pre-commit hook";
const BACKUP_SUFFIX: &str = ".before-migguard";

#[derive(Debug, Args)]
pub struct InstallHookArgs {
    /// Replace an existing hook that is not migguard's (it is kept as pre-commit.before-migguard)
    #[arg(long)]
    force: bool,
    /// Remove the hook migguard installed (and restore the one it replaced)
    #[arg(long)]
    uninstall: bool,
}

/// `core.hooksPath` when set (relative to the work tree, as git reads it),
/// else the hooks folder of the main repository (shared by worktrees).
fn hooks_dir(git: &Git) -> PathBuf {
    let config = git.repo.config_snapshot();
    match config.trusted_path("core.hooksPath") {
        Ok(Some(p)) if p.is_absolute() => p,
        Ok(Some(p)) => git.workdir.join(p),
        _ => git.repo.common_dir().join("hooks"),
    }
}

fn is_ours(text: &str) -> bool {
    text.lines().take(3).any(|l| l.starts_with(MARKER))
}

pub fn run(args: &InstallHookArgs) -> Result<ExitStatus> {
    let git = Git::discover(&current_dir()?)?;
    let dir = hooks_dir(&git);
    let hook = dir.join("pre-commit");
    let backup = dir.join(format!("pre-commit{BACKUP_SUFFIX}"));
    let existing = match std::fs::read(&hook) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::read(&hook, e)),
    };
    if args.uninstall {
        return match existing {
            None => {
                print(&format!("no pre-commit hook at {}: nothing to remove\n", hook.display()));
                Ok(ExitStatus::Clean)
            }
            Some(text) if is_ours(&text) => {
                if backup.exists() {
                    std::fs::rename(&backup, &hook).map_err(|e| Error::write(&hook, e))?;
                    print(&format!("removed migguard's hook; restored the previous one at {}\n", hook.display()));
                } else {
                    std::fs::remove_file(&hook).map_err(|e| Error::write(&hook, e))?;
                    print(&format!("removed {}\n", hook.display()));
                }
                Ok(ExitStatus::Clean)
            }
            Some(_) => Err(Error::file(
                &hook,
                "this pre-commit hook is not migguard's: left as it is (remove the `migguard check --staged` line from it by hand if you chained it)",
            )),
        };
    }
    match &existing {
        Some(text) if text == HOOK => {
            print(&format!(
                "the migguard pre-commit hook is already installed at {}\n",
                hook.display()
            ));
            return Ok(ExitStatus::Clean);
        }
        Some(text) if !is_ours(text) && !args.force => {
            return Err(Error::file(
                &hook,
                "a pre-commit hook that is not migguard's already exists. Either chain migguard from it by adding the line\n    migguard check --staged || exit $?\nor replace it with `migguard install-hook --force` (it is kept as pre-commit.before-migguard and restored by --uninstall)",
            ));
        }
        Some(text) if !is_ours(text) => {
            std::fs::rename(&hook, &backup).map_err(|e| Error::write(&backup, e))?;
            print(&format!("kept the previous hook as {}\n", backup.display()));
        }
        _ => {}
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    write_atomic(&hook, HOOK.as_bytes())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::write(&hook, e))?;
    print(&format!(
        "installed the migguard pre-commit hook at {}\nskip it once in an emergency with `git commit --no-verify`\n",
        hook.display()
    ));
    Ok(ExitStatus::Clean)
}
