//! The claude child: finding the binary, building its command line, reading its status.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use anyhow::{Context, Result, bail};

use super::TalkPlan;

/// Environment variables that make some claude versions refuse to start nested; never
/// passed on to claude.
pub const STRIPPED_ENV: [&str; 2] = ["CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"];

/// Finds the claude binary: `explicit` when given (a bare name is searched on `PATH`),
/// else `claude` on `PATH`. The path returned is absolute (claude is started in another
/// directory, where a relative one would name another file).
///
/// Errors: not found, not a regular file, or not executable, each naming what was tried
/// and how to point seance elsewhere (`--claude` / `SEANCE_CLAUDE`).
pub fn locate_claude(explicit: Option<&Path>) -> Result<PathBuf> {
    let wanted = explicit.unwrap_or(Path::new("claude"));
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    if wanted.components().count() > 1 || wanted.is_absolute() {
        check_executable(wanted)?;
        return Ok(absolute(wanted));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(wanted);
        if check_executable(&candidate).is_ok() {
            return Ok(absolute(&candidate));
        }
    }
    bail!(
        "no `{}` found on PATH; install Claude Code or pass --claude <PATH> (or set SEANCE_CLAUDE)",
        wanted.display()
    )
}

fn check_executable(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "the claude binary {} cannot be used (set --claude or SEANCE_CLAUDE)",
            path.display()
        )
    })?;
    if !meta.is_file() {
        bail!("the claude binary {} is not a regular file", path.display());
    }
    let c = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
        .with_context(|| format!("bad path {}", path.display()))?;
    // SAFETY: access() only reads the NUL-terminated path.
    let ok = meta.permissions().mode() & 0o111 != 0
        && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0;
    if !ok {
        bail!("the claude binary {} is not executable", path.display());
    }
    Ok(())
}

/// The exit code seance reports for claude's status: its code, or 128 + n when it died
/// of signal n.
pub fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    }
}

/// The claude command line: `--fork-session --resume <id>`, `--session-id <fork_id>`
/// when seance names the fork, `--no-session-persistence` for `--ephemeral`, the
/// passthrough arguments, then `-p -- <prompt>` in one-shot mode (the prompt is claude's
/// positional argument: after a lone `--` one starting with `-` is not read as an
/// option); run in `run_dir`, without [`STRIPPED_ENV`], and refusing
/// to start once seance is gone (the watchdog `run_claude` binds to it ends it after).
pub(super) fn claude_command(
    plan: &TalkPlan,
    claude: &Path,
    run_dir: &Path,
    fork_id: Option<&str>,
) -> Command {
    let mut cmd = Command::new(claude);
    cmd.arg("--fork-session")
        .arg("--resume")
        .arg(&plan.session_id);
    if let Some(id) = fork_id {
        cmd.arg("--session-id").arg(id);
    }
    if plan.ephemeral {
        cmd.arg("--no-session-persistence");
    }
    cmd.args(&plan.passthrough);
    if let Some(prompt) = &plan.prompt {
        cmd.arg("-p").arg("--").arg(prompt);
    }
    cmd.current_dir(run_dir);
    for var in STRIPPED_ENV {
        cmd.env_remove(var);
    }
    // A relative CLAUDE_CONFIG_DIR or HOME would name another account in run_dir.
    for (var, value) in crate::config::child_env_overrides() {
        cmd.env(var, value);
    }
    // claude must not outlive seance: a claude whose seance was killed before noting its
    // pid in the ledger would look ownerless to the reaper, which would take its link.
    // The watchdog (crate::platform::tether) sends it SIGTERM when seance dies; a seance
    // that died before this child could even run is caught here, and claude never starts.
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    // SAFETY: getppid is async-signal-safe and the error allocates nothing; nothing else
    // runs in the child before exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    cmd
}

/// The `--session-id` the user passed after `--` (`--session-id X` or
/// `--session-id=X`), if any: it names the fork, so seance passes none of its own.
pub(super) fn user_session_id(passthrough: &[OsString]) -> Option<String> {
    let mut args = passthrough.iter();
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--session-id" {
            return Some(args.next()?.to_string_lossy().into_owned());
        }
        if let Some(id) = arg.strip_prefix("--session-id=") {
            return Some(id.to_owned());
        }
    }
    None
}

/// A new random (version 4) UUID for the fork, in the lowercase hyphenated form Claude
/// Code uses for session ids.
///
/// Errors: the operating system's random source failed.
pub(super) fn new_session_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("getting random bytes: {e}"))?;
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    Ok(String::from_utf8_lossy(&crate::discover::uuid_text(&b)).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn fork_ids() {
        let a = new_session_id().unwrap();
        assert!(crate::discover::is_uuid(&a), "{a}");
        assert_eq!(&a[14..15], "4");
        assert!("89ab".contains(&a[19..20]), "{a}");
        assert_ne!(a, new_session_id().unwrap());
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(user_session_id(&args(&["--model", "x"])), None);
        assert_eq!(
            user_session_id(&args(&["--model", "x", "--session-id", "u1"])).as_deref(),
            Some("u1")
        );
        assert_eq!(
            user_session_id(&args(&["--session-id=u2"])).as_deref(),
            Some("u2")
        );
        assert_eq!(user_session_id(&args(&["--session-id"])), None);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGTERM)), 128 + 15);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGINT)), 130);
    }

    #[test]
    fn locating_claude() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let err = locate_claude(Some(&missing)).unwrap_err();
        assert!(format!("{err:#}").contains("nope"), "{err:#}");
        let noexec = tmp.path().join("claude");
        fs::write(&noexec, b"#!/bin/sh\n").unwrap();
        fs::set_permissions(&noexec, fs::Permissions::from_mode(0o644)).unwrap();
        let err = locate_claude(Some(&noexec)).unwrap_err();
        assert!(err.to_string().contains("not executable"), "{err:#}");
        fs::set_permissions(&noexec, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(locate_claude(Some(&noexec)).unwrap(), noexec);
        let err = locate_claude(Some(tmp.path())).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err:#}");
        let err = locate_claude(Some(Path::new("surely-not-a-real-claude-binary"))).unwrap_err();
        assert!(err.to_string().contains("PATH"), "{err:#}");
    }
}
