//! `seance --talk`: reap, choose where claude runs, link the session in, run
//! `claude --fork-session --resume <id>`, and undo everything whatever happens.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use anyhow::{Context, Result, bail};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::link::folder::project_folder_for;
use crate::link::guard::{LinkGuard, LinkRequest, LinkState, fault};
use crate::link::index_patch::Object;
use crate::link::ledger::ProcId;
use crate::link::reaper::reap;

/// Environment variables that make some claude versions refuse to start nested; never
/// passed on to claude.
pub const STRIPPED_ENV: [&str; 2] = ["CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"];

/// Everything a talk needs, decided by the caller (the CLI): the session is already
/// resolved to a full id and found in its owner account.
#[derive(Debug, Clone)]
pub struct TalkPlan {
    /// Full session id (resolved and validated).
    pub session_id: String,
    /// The owner account's `<id>.jsonl`; `None` (only an index or event knows the
    /// session) is an error: there is nothing to resume.
    pub source_transcript: Option<PathBuf>,
    /// The entry for this id in the owner folder's `sessions-index.json`, if any.
    pub source_index_entry: Option<Object>,
    /// The session's working directory: transcript `cwd`, else index `projectPath`,
    /// else event `cwd`.
    pub session_cwd: Option<PathBuf>,
    /// `--here`: run in the current directory even if the session's own exists.
    pub here: bool,
    /// The current account's config dir (its `projects/` receives the link).
    pub current_config_dir: PathBuf,
    /// `--claude` / `SEANCE_CLAUDE`; `None` means `claude` on `PATH`. A bare name
    /// (no `/`) is looked up on `PATH` too.
    pub claude: Option<PathBuf>,
    /// `-p`: one-shot prompt.
    pub prompt: Option<String>,
    /// Arguments after `--`, passed to claude unchanged.
    pub passthrough: Vec<OsString>,
    /// `$XDG_STATE_HOME/seance` (the ledger lives here).
    pub state_dir: PathBuf,
    /// All known accounts' config dirs. Same-store detection compares files by device
    /// and inode, so it does not need these; kept for the contract and diagnostics.
    pub known_config_dirs: Vec<PathBuf>,
}

/// Where claude will run, and why (said on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// The directory (as given, not canonicalized: claude shows it to the user).
    pub dir: PathBuf,
    /// One sentence for the user.
    pub why: String,
}

/// Chooses the run directory: the session's own cwd when it is an existing directory
/// and `here` is false; otherwise `current`.
pub fn choose_run_dir(session_cwd: Option<&Path>, here: bool, current: &Path) -> RunDir {
    let cur = current.display();
    match (session_cwd, here) {
        (_, true) => RunDir {
            dir: current.to_owned(),
            why: format!("running in the current directory {cur} (--here)"),
        },
        (Some(cwd), false) if cwd.is_dir() => RunDir {
            dir: cwd.to_owned(),
            why: format!("running in the session's own directory {}", cwd.display()),
        },
        (Some(cwd), false) => RunDir {
            dir: current.to_owned(),
            why: format!(
                "the session's directory {} no longer exists; running in the current directory {cur}",
                cwd.display()
            ),
        },
        (None, false) => RunDir {
            dir: current.to_owned(),
            why: format!(
                "the session records no directory; running in the current directory {cur}"
            ),
        },
    }
}

/// Finds the claude binary: `explicit` when given (a bare name is searched on `PATH`),
/// else `claude` on `PATH`.
///
/// Errors: not found, not a regular file, or not executable, each naming what was tried
/// and how to point seance elsewhere (`--claude` / `SEANCE_CLAUDE`).
pub fn locate_claude(explicit: Option<&Path>) -> Result<PathBuf> {
    let wanted = explicit.unwrap_or(Path::new("claude"));
    if wanted.components().count() > 1 || wanted.is_absolute() {
        check_executable(wanted)?;
        return Ok(wanted.to_owned());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(wanted);
        if check_executable(&candidate).is_ok() {
            return Ok(candidate);
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

/// Runs a whole talk: reap, choose the run directory, link, patch the index, run
/// claude, undo. Returns the code seance should exit with (claude's status, 128+n for
/// signal n; 128+n as well when a signal arrived before claude could start).
///
/// SIGINT, SIGTERM and SIGHUP are caught for the whole talk (so they never kill seance
/// with a link in place): while claude runs they are forwarded to it (a SIGINT from the
/// terminal is not, since the terminal already sent it to claude's process group), and
/// seance waits for claude, then undoes. All messages go to stderr; in one-shot mode
/// stdout carries claude's stdout only.
///
/// Errors: no transcript, claude missing or not executable (checked before anything is
/// changed), a foreign file at the link path, lock timeouts, I/O errors; whatever was
/// set up is undone before the error returns.
pub fn talk(plan: &TalkPlan) -> Result<i32> {
    let signals = Forwarder::install()?;
    let claude = locate_claude(plan.claude.as_deref())?;
    let source = source_transcript(plan)?;
    reap_and_report(plan)?;
    let (run, canonical_run) = plan_run_dir(plan)?;
    let guard = link_session(plan, &source, &canonical_run)?;

    // A signal during setup: do not start claude at all; the guard undoes on return.
    if let Some(sig) = signals.first_signal() {
        eprintln!("seance: interrupted by signal {sig}; undoing");
        drop(guard);
        return Ok(128 + sig);
    }

    let cmd = claude_command(plan, &claude, &run.dir);
    let code = run_claude(cmd, &claude, &signals, &guard)?;
    undo_and_report(guard, code)?;
    // The handlers stay until here so a signal during the undo cannot cut it short.
    drop(signals);
    Ok(code)
}

/// The session's transcript, canonicalized. Errors: the session has none (only an
/// index or event knows it), or it cannot be resolved.
fn source_transcript(plan: &TalkPlan) -> Result<PathBuf> {
    let Some(source) = &plan.source_transcript else {
        bail!(
            "session {} has no transcript in any account (only an index or event knows it); nothing to resume",
            plan.session_id
        );
    };
    source.canonicalize().with_context(|| {
        format!(
            "the session's transcript {} cannot be read",
            source.display()
        )
    })
}

/// Reaps links left by dead seances in the current account, one stderr line each.
fn reap_and_report(plan: &TalkPlan) -> Result<()> {
    let reaped = reap(&plan.current_config_dir, &plan.state_dir, false)?;
    for line in reaped.to_string().lines() {
        eprintln!("seance: reaped: {line}");
    }
    Ok(())
}

/// Chooses where claude runs (said on stderr) and returns it with its canonical form.
fn plan_run_dir(plan: &TalkPlan) -> Result<(RunDir, PathBuf)> {
    let current = std::env::current_dir().context("reading the current directory")?;
    let run = choose_run_dir(plan.session_cwd.as_deref(), plan.here, &current);
    eprintln!("seance: {}", run.why);
    let canonical_run = run
        .dir
        .canonicalize()
        .with_context(|| format!("resolving {}", run.dir.display()))?;
    Ok((run, canonical_run))
}

/// Links the session into the current account's project folder for `canonical_run`
/// and says on stderr what was done.
fn link_session(plan: &TalkPlan, source: &Path, canonical_run: &Path) -> Result<LinkGuard> {
    // Only used as a new index's `originalPath`; JSON needs text, so lossy is the best
    // there is for a non-UTF-8 directory.
    let original_path = canonical_run.to_string_lossy();
    let folder = project_folder_for(&plan.current_config_dir.join("projects"), canonical_run);

    let guard = LinkGuard::establish(
        &LinkRequest {
            session_id: &plan.session_id,
            source,
            folder: &folder,
            source_entry: plan.source_index_entry.as_ref(),
            original_path: &original_path,
        },
        &plan.state_dir,
    )?;
    match guard.state() {
        LinkState::Made => eprintln!(
            "seance: linked {} -> {}",
            guard.link().display(),
            source.display()
        ),
        LinkState::Joined => eprintln!(
            "seance: sharing the link {} with another seance",
            guard.link().display()
        ),
        LinkState::NotNeeded(why) => eprintln!("seance: no link needed: {why}"),
        LinkState::Pending => {}
    }
    Ok(guard)
}

/// The claude command line: `--fork-session --resume <id>`, `-p` if given, the
/// passthrough arguments, run in `run_dir`, without [`STRIPPED_ENV`], and bound to die
/// with seance.
fn claude_command(plan: &TalkPlan, claude: &Path, run_dir: &Path) -> Command {
    let mut cmd = Command::new(claude);
    cmd.arg("--fork-session")
        .arg("--resume")
        .arg(&plan.session_id);
    if let Some(prompt) = &plan.prompt {
        cmd.arg("-p").arg(prompt);
    }
    cmd.args(&plan.passthrough).current_dir(run_dir);
    for var in STRIPPED_ENV {
        cmd.env_remove(var);
    }
    // claude must not outlive seance: a claude whose seance was killed before noting its
    // pid in the ledger would look ownerless to the reaper, which would take its link.
    // So the kernel sends it SIGTERM when seance dies, and a seance that died before
    // this ran is caught by the parent check.
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    // SAFETY: prctl and getppid are async-signal-safe; nothing else runs in the child
    // before exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(std::io::Error::other("seance exited before claude started"));
            }
            Ok(())
        });
    }
    cmd
}

/// Starts claude, forwards signals to it and notes it in the ledger, waits for it, and
/// returns its exit code (see [`exit_code`]).
fn run_claude(
    mut cmd: Command,
    claude: &Path,
    signals: &Forwarder,
    guard: &LinkGuard,
) -> Result<i32> {
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", claude.display()))?;
    let child_pid = child.id();
    signals.forward_to(child_pid);
    if let Some(id) = ProcId::of(child_pid)
        && let Err(e) = guard.set_child(id)
    {
        eprintln!("seance: warning: could not note claude in the ledger: {e:#}");
    }
    fault("after-spawn");

    wait_exited_unreaped(child_pid);
    // claude has exited but is not reaped yet, so its pid cannot have been recycled
    // while the handlers could still signal it; stop forwarding before reaping.
    signals.stop_forwarding();
    let status = child.wait();
    let status = status.with_context(|| format!("waiting for {}", claude.display()))?;
    Ok(exit_code(status))
}

/// Releases the link (undoing what this talk set up) and says on stderr what was undone.
fn undo_and_report(guard: LinkGuard, code: i32) -> Result<()> {
    let undone = guard
        .release()
        .with_context(|| format!("claude exited with {code}, but undoing the link failed"))?;
    if !undone.is_empty() {
        eprintln!("seance: undone: {}", summarize(&undone));
    }
    Ok(())
}

/// SIGINT, SIGTERM and SIGHUP handlers for one talk. Installed for the whole talk so
/// these signals never kill seance with a link in place; they forward to claude once it
/// runs and otherwise just remember the first signal. Unregistered on drop.
///
/// The handlers only touch atomics and call kill(2), both async-signal-safe. Each talk
/// registers its own, so two talks in one process (tests) do not mix their children.
struct Forwarder {
    ids: Vec<signal_hook_registry::SigId>,
    child: Arc<AtomicI32>,
    first: Arc<AtomicI32>,
    /// A signal due to claude that may have arrived before claude's pid was known.
    pending: Arc<AtomicI32>,
}

impl Forwarder {
    fn install() -> Result<Forwarder> {
        let child = Arc::new(AtomicI32::new(0));
        let first = Arc::new(AtomicI32::new(0));
        let pending = Arc::new(AtomicI32::new(0));
        let mut ids = Vec::new();
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            let (child, first, pending) =
                (Arc::clone(&child), Arc::clone(&first), Arc::clone(&pending));
            let action = move |info: &libc::siginfo_t| {
                let _ = first.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
                // A terminal's ^C (SI_KERNEL) went to the whole foreground process
                // group, claude included; sending it again would make claude see one ^C
                // as two. (Interactive claude 2.1.197 keeps the terminal raw, so there
                // ^C is input, not a signal; this matters for a cooked terminal, as in
                // -p or before claude sets raw mode.) Signals sent by a process
                // (si_code <= 0: kill, tkill, sigqueue) reached seance alone: pass on.
                if sig == SIGINT && info.si_code == libc::SI_KERNEL {
                    return;
                }
                // Note it before looking at the pid: either we see the pid, or
                // forward_to sees this note (a duplicate is harmless).
                pending.store(sig, Ordering::SeqCst);
                let pid = child.load(Ordering::SeqCst);
                if pid > 0 {
                    // SAFETY: kill(2) is async-signal-safe; pid is our unreaped child.
                    unsafe {
                        libc::kill(pid, sig);
                    }
                }
            };
            // SAFETY: the action only uses atomics and kill(2), which are allowed in a
            // signal handler; it neither allocates nor locks.
            let id = unsafe { signal_hook_registry::register_sigaction(sig, action) }
                .with_context(|| format!("installing a handler for signal {sig}"))?;
            ids.push(id);
        }
        Ok(Forwarder {
            ids,
            child,
            first,
            pending,
        })
    }

    /// From now on, forward to `pid`; also sends it a signal that came in between the
    /// setup check and now.
    fn forward_to(&self, pid: u32) {
        let Ok(pid) = i32::try_from(pid) else {
            return;
        };
        self.child.store(pid, Ordering::SeqCst);
        let sig = self.pending.swap(0, Ordering::SeqCst);
        if sig != 0 {
            // SAFETY: kill(2) to our own unreaped child.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }

    /// Stop forwarding (claude has exited).
    fn stop_forwarding(&self) {
        self.child.store(0, Ordering::SeqCst);
    }

    /// The first signal received, if any.
    fn first_signal(&self) -> Option<i32> {
        match self.first.load(Ordering::SeqCst) {
            0 => None,
            sig => Some(sig),
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        // claude is gone (or never started): nothing to forward to any more.
        self.child.store(0, Ordering::SeqCst);
        for id in self.ids.drain(..) {
            signal_hook_registry::unregister(id);
        }
    }
}

/// Blocks until child `pid` has exited, leaving it unreaped (`waitid` with `WNOWAIT`),
/// retrying on EINTR. Any other error returns at once: the reaping wait that follows
/// reports it.
fn wait_exited_unreaped(pid: u32) {
    let id: libc::id_t = pid;
    loop {
        // SAFETY: a zeroed siginfo_t is a valid out-buffer for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid only writes into `info`.
        let r = unsafe { libc::waitid(libc::P_PID, id, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

fn summarize(actions: &[crate::link::guard::Action]) -> String {
    actions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn run_dir_rule() {
        let tmp = tempfile::tempdir().unwrap();
        let cur = tmp.path().join("cur");
        let own = tmp.path().join("own");
        fs::create_dir_all(&own).unwrap();
        let r = choose_run_dir(Some(&own), false, &cur);
        assert_eq!(r.dir, own);
        assert!(r.why.contains("session's own"));
        let r = choose_run_dir(Some(&own), true, &cur);
        assert_eq!(r.dir, cur);
        assert!(r.why.contains("--here"));
        let gone = tmp.path().join("gone");
        let r = choose_run_dir(Some(&gone), false, &cur);
        assert_eq!(r.dir, cur);
        assert!(r.why.contains("no longer exists"));
        let file = tmp.path().join("file");
        fs::write(&file, b"").unwrap();
        assert_eq!(choose_run_dir(Some(&file), false, &cur).dir, cur);
        let r = choose_run_dir(None, false, &cur);
        assert_eq!(r.dir, cur);
        assert!(r.why.contains("records no directory"));
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
