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
pub mod messages;
mod rundir;
mod signals;
pub mod trust;

use crate::util::sanitize;
pub use claude::{STRIPPED_ENV, exit_code, locate_claude};
use claude::{claude_command, new_session_id, user_session_id};
use messages::{Msg, Place};
pub use rundir::{RunDir, choose_run_dir};
use signals::{Forwarder, wait_exited_unreaped};
use trust::Trust;

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
    /// The session's title (from its files; shown sanitised).
    pub title: Option<String>,
    /// The name of the account that owns the session.
    pub owner_account: Option<String>,
    /// The current account's name (the fork is made there).
    pub current_account: String,
    /// The current account's `.claude.json` (see [`trust::claude_json_for`]); `None`
    /// skips the trust check.
    pub claude_json: Option<PathBuf>,
    /// `--ephemeral`: with a prompt only; claude saves nothing
    /// (`--no-session-persistence`).
    pub ephemeral: bool,
}

/// Runs a whole talk: reap, choose the run directory, link, patch the index, run
/// claude, undo, then say where the conversation went on. Returns the code seance
/// should exit with (claude's status, 128+n for signal n; 128+n as well when a signal
/// arrived before claude could start).
///
/// SIGINT, SIGTERM and SIGHUP are caught for the whole talk (so they never kill seance
/// with a link in place): while claude runs they are forwarded to it (a SIGINT from the
/// terminal is not, since the terminal already sent it to claude's process group), and
/// seance waits for claude, then undoes. All messages go to stderr (see [`messages`]);
/// in one-shot mode stdout carries claude's stdout only.
///
/// Errors: no transcript, claude missing or not executable (checked before anything is
/// changed), a run directory that cannot be used, a foreign file at the link path, lock
/// timeouts, I/O errors; whatever was set up is undone before the error returns.
pub fn talk(plan: &TalkPlan) -> Result<i32> {
    let signals = Forwarder::install()?;
    let claude = locate_claude(plan.claude.as_deref())?;
    let source = source_transcript(plan)?;
    reap_and_report(plan)?;
    let (run, canonical_run) = plan_run_dir(plan)?;
    let trust_before = check_trust(plan, &run, &canonical_run, true);
    let fork = Fork::choose(plan)?;
    let guard = link_session(plan, &source, &canonical_run)?;

    // A signal during setup: do not start claude at all; the guard undoes on return.
    if let Some(sig) = signals.first_signal() {
        Msg::Interrupted(sig).say();
        drop(guard);
        return Ok(128 + sig);
    }

    let cmd = claude_command(plan, &claude, &run.dir, fork.ours());
    let code = run_claude(cmd, &claude, &run.dir, &signals, &guard)?;
    undo_and_report(guard, code)?;
    report_after(plan, &run, &canonical_run, &fork, trust_before);
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
            sanitize::path(source)
        )
    })
}

/// Reaps links left by dead seances in the current account (said with `-v`).
fn reap_and_report(plan: &TalkPlan) -> Result<()> {
    let reaped = reap(&plan.current_config_dir, &plan.state_dir, false)?;
    Msg::Reaped(&reaped.actions).say();
    Ok(())
}

/// Chooses where claude runs, says which session and where, and returns the directory
/// with its canonical form.
fn plan_run_dir(plan: &TalkPlan) -> Result<(RunDir, PathBuf)> {
    let run = choose_run_dir(
        plan.session_cwd.as_deref(),
        plan.here,
        std::env::current_dir,
    )?;
    Msg::Start {
        id: &plan.session_id,
        title: plan.title.as_deref(),
        account: plan.owner_account.as_deref(),
        dir: &run.dir,
        place: &run.place,
    }
    .say();
    let canonical_run = run
        .dir
        .canonicalize()
        .with_context(|| format!("resolving {}", sanitize::path(&run.dir)))?;
    Ok((run, canonical_run))
}

/// For an interactive talk, whether the current account trusts the run directory;
/// before claude starts (`announce`), an untrusted one is said. `None` in one-shot mode
/// (claude -p never asks) or without a `.claude.json` to look in.
fn check_trust(plan: &TalkPlan, run: &RunDir, canonical: &Path, announce: bool) -> Option<Trust> {
    if plan.prompt.is_some() {
        return None;
    }
    let file = plan.claude_json.as_deref()?;
    let trust = trust::check(file, &[&run.dir, canonical]);
    if announce {
        match &trust {
            Trust::Untrusted => Msg::TrustAsk {
                dir: &run.dir,
                own: run.place == Place::Own,
            }
            .say(),
            Trust::Unknown(why) => {
                crate::util::say::detail(&format!("not checking trust: {why}"));
            }
            Trust::Trusted => {}
        }
    }
    Some(trust)
}

/// Links the session into the current account's project folder for `canonical_run`
/// and says (with `-v`) what was done.
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
        LinkState::Made => Msg::Linked {
            link: guard.link(),
            target: source,
        }
        .say(),
        LinkState::Joined => Msg::Joined { link: guard.link() }.say(),
        LinkState::NotNeeded(why) => Msg::NoLink(why).say(),
        LinkState::Pending => {}
    }
    if let Some(index) = guard.patched_index() {
        Msg::IndexPatched(index).say();
    }
    Ok(guard)
}

/// The fork's session id: seance's own new one, or the one the user passed after `--`;
/// none with `--ephemeral` (nothing is saved).
enum Fork {
    Ours(String),
    Users(String),
    Ephemeral,
}

impl Fork {
    fn choose(plan: &TalkPlan) -> Result<Fork> {
        if plan.ephemeral {
            return Ok(Fork::Ephemeral);
        }
        match user_session_id(&plan.passthrough) {
            Some(id) => Ok(Fork::Users(id)),
            None => Ok(Fork::Ours(new_session_id()?)),
        }
    }

    /// The id seance passes as `--session-id`.
    fn ours(&self) -> Option<&str> {
        match self {
            Fork::Ours(id) => Some(id),
            _ => None,
        }
    }

    fn id(&self) -> Option<&str> {
        match self {
            Fork::Ours(id) | Fork::Users(id) => Some(id),
            Fork::Ephemeral => None,
        }
    }
}

/// Starts claude in `run_dir`, forwards signals to it and notes it in the ledger, waits
/// for it, and returns its exit code (see [`exit_code`]).
fn run_claude(
    mut cmd: Command,
    claude: &Path,
    run_dir: &Path,
    signals: &Forwarder,
    guard: &LinkGuard,
) -> Result<i32> {
    let mut child = cmd.spawn().with_context(|| {
        format!(
            "starting claude ({}) in {}",
            sanitize::path(claude),
            sanitize::path(run_dir)
        )
    })?;
    let child_pid = child.id();
    signals.forward_to(child_pid);
    if let Some(id) = ProcId::of(child_pid)
        && let Err(e) = guard.set_child(id)
    {
        Msg::NotInLedger(&format!("{e:#}")).say();
    }
    fault("after-spawn");

    wait_exited_unreaped(child_pid);
    // claude has exited but is not reaped yet, so its pid cannot have been recycled
    // while the handlers could still signal it; stop forwarding before reaping.
    signals.stop_forwarding();
    let status = child.wait();
    let status = status.with_context(|| format!("waiting for {}", sanitize::path(claude)))?;
    Ok(exit_code(status))
}

/// Releases the link (undoing what this talk set up); the steps are said with `-v`,
/// anything left behind by default, and a failure is the talk's error.
fn undo_and_report(guard: LinkGuard, code: i32) -> Result<()> {
    let link = guard.link().to_owned();
    let undone = guard.release().with_context(|| {
        format!(
            "claude exited with {code}, but undoing the link {} failed \
             (`seance --reap` removes what is left)",
            sanitize::path(&link)
        )
    })?;
    Msg::Undone(&undone).say();
    Ok(())
}

/// After claude: where the conversation went on (the fork's transcript exists in the
/// current account's project folder for the run directory), that nothing was kept, or
/// why claude did not start.
///
/// claude refused an untrusted directory when it was untrusted before, is still
/// untrusted now (answering Yes records the trust in `.claude.json` on both checked
/// versions) and wrote no fork. The exit status alone cannot tell (1 for a refusal, but
/// also for other failures), and claude's own words are on the terminal, not ours.
fn report_after(
    plan: &TalkPlan,
    run: &RunDir,
    canonical_run: &Path,
    fork: &Fork,
    trust_before: Option<Trust>,
) {
    let Some(id) = fork.id() else {
        Msg::NothingKept { ephemeral: true }.say();
        return;
    };
    let folder = project_folder_for(&plan.current_config_dir.join("projects"), canonical_run);
    let saved = folder
        .join(format!("{id}.jsonl"))
        .symlink_metadata()
        .is_ok_and(|m| m.is_file());
    if saved {
        Msg::Continues {
            id,
            account: &plan.current_account,
            dir: &run.dir,
        }
        .say();
        return;
    }
    let refused = trust_before == Some(Trust::Untrusted)
        && check_trust(plan, run, canonical_run, false) == Some(Trust::Untrusted);
    if refused {
        Msg::TrustRefused {
            dir: &run.dir,
            own: run.place == Place::Own,
        }
        .say();
    } else {
        Msg::NothingKept { ephemeral: false }.say();
    }
}
