//! Top-level dispatch: parse the command line, resolve the configuration once, then
//! run one job (list, talk or reap) and turn its outcome into an exit code.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::Cli;
use crate::config::{self, Config};
use crate::discover;
use crate::find::{self, Outcome};
use crate::talk::{self, TalkPlan};
use crate::util::sanitize;
use crate::util::say::{self, Kind, Verbosity};

/// Runs seance with the process's arguments and returns the exit code: 0 success,
/// 1 runtime error (printed once as `seance: <error>`), 2 usage error (from clap), or
/// claude's status for a talk.
pub fn main() -> i32 {
    crate::complete::complete_from_env();
    let cli = match Cli::try_parse().and_then(Cli::validate) {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return code;
        }
    };
    say::set_verbosity(if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    });
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            // Once, sanitised line by line: error contexts carry paths from files.
            say::error(&format!("{e:#}"));
            1
        }
    }
}

fn run(cli: &Cli) -> Result<i32> {
    if let Some(code) = setup(cli)? {
        return Ok(code);
    }
    // A hostile id is turned away before any file is read.
    let target = find::target(cli)?;
    let cfg = config::resolve(cli)?;
    if cli.reap {
        return reap(&cfg, cli.dry_run);
    }
    crate::list::check_account(&cfg)?;
    let Some(target) = target else {
        return crate::list::run(&cfg);
    };
    match find::find(&cfg, target)? {
        Outcome::Exit(code) => Ok(code),
        Outcome::Talk { session, .. } => talk_to(cli, &cfg, &session),
    }
}

/// `--completions` and `--man` print their text and end the run (`Some(0)`); else `None`.
fn setup(cli: &Cli) -> Result<Option<i32>> {
    let mut out = std::io::stdout().lock();
    let written = if let Some(shell) = cli.completions {
        crate::complete::write_script(shell, &mut out)
    } else if cli.man {
        crate::manpage::write(&mut out)
    } else {
        return Ok(None);
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing to stdout"))
        }
        _ => Ok(Some(0)),
    }
}

fn reap(cfg: &Config, dry_run: bool) -> Result<i32> {
    let report =
        crate::link::reaper::reap(&cfg.current_account().config_dir, &cfg.state_dir, dry_run)?;
    let mut out = std::io::stdout().lock();
    if report.is_empty() {
        let _ = writeln!(out, "Nothing to reap.");
    } else {
        let _ = write!(out, "{report}");
    }
    Ok(0)
}

/// Talks to `session` (found by `find`). The talk itself says which session it is (the
/// finder's own line, for `--last`, says why that one was chosen).
fn talk_to(cli: &Cli, cfg: &Config, session: &discover::Session) -> Result<i32> {
    let transcript = session.transcript.as_ref().with_context(|| {
        let known = if session.index_file.is_some() {
            "an index entry whose transcript is gone"
        } else {
            "a Gas Town event"
        };
        format!(
            "session {} has no transcript to resume (known only from {known})",
            session.session_id
        )
    })?;
    // Link to the file itself, not to another link, so the link stays valid for as long
    // as the transcript does.
    let source = std::fs::canonicalize(transcript)
        .with_context(|| format!("resolving {}", sanitize::path(transcript)))?;
    if let Some(live) = &session.live {
        say::emit(Kind::Notice, &[still_running(live)]);
    }
    let plan = TalkPlan {
        session_id: session.session_id.clone(),
        source_transcript: Some(source),
        source_index_entry: owner_index_entry(session, transcript),
        session_cwd: session.cwd.as_ref().map(PathBuf::from),
        here: cli.here,
        current_config_dir: cfg.current_account().config_dir.clone(),
        claude: cli.claude.clone(),
        prompt: cli.prompt.clone(),
        passthrough: cli.claude_args.clone(),
        state_dir: cfg.state_dir.clone(),
        known_config_dirs: cfg.accounts.iter().map(|a| a.config_dir.clone()).collect(),
        title: session.title.clone(),
        owner_account: session.account.as_deref().map(str::to_owned),
        current_account: cfg.current_account().name.clone(),
        claude_json: cfg.claude_json.clone(),
        ephemeral: cli.ephemeral,
    };
    talk::talk(&plan)
}

/// The notice (without the `seance: ` prefix) that the session is open in a running
/// claude: talking to it is safe, the talk forks it and leaves the running one as it is.
fn still_running(live: &discover::Live) -> String {
    let status = live
        .status
        .as_deref()
        .map(|s| format!(", {}", crate::util::sanitize::for_terminal(s)))
        .unwrap_or_default();
    format!(
        "the session is still running (claude pid {}{status}); the talk forks it, it runs on",
        live.pid
    )
}

/// The session's index entry when it comes from the index beside its transcript: an
/// entry elsewhere (say, one another seance added to the current account) is not the
/// owner's to copy. An index that cannot be read now gives no entry: the talk goes on
/// without patching.
fn owner_index_entry(
    session: &discover::Session,
    transcript: &std::path::Path,
) -> Option<crate::link::index_patch::Object> {
    let index = session.index_file.as_ref()?;
    if index.parent() != transcript.parent() {
        return None;
    }
    crate::discover::index::raw_entry(index, &session.session_id)
        .ok()
        .flatten()
}
