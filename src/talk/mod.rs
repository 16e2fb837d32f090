//! `seance --talk`: reap, choose where claude runs, link the session in, run
//! `claude --fork-session --resume <id>`, and undo everything whatever happens.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::link::folder::project_folder_for;
use crate::link::guard::{LinkGuard, LinkRequest, LinkState, fault};
use crate::link::index_patch::Object;
use crate::link::ledger::ProcId;
use crate::link::reaper::reap;

mod claude;
mod rundir;
mod signals;

use claude::claude_command;
pub use claude::{STRIPPED_ENV, exit_code, locate_claude};
pub use rundir::{RunDir, choose_run_dir};
use signals::{Forwarder, wait_exited_unreaped};

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

fn summarize(actions: &[crate::link::guard::Action]) -> String {
    actions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
