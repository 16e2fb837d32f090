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

/// Runs seance with the process's arguments and returns the exit code: 0 success,
/// 1 runtime error (printed once as `seance: <error>`), 2 usage error (from clap), or
/// claude's status for a talk.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return code;
        }
    };
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("seance: {e:#}");
            1
        }
    }
}

fn run(cli: &Cli) -> Result<i32> {
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
        Outcome::Talk { session, announced } => talk_to(cli, &cfg, &session, announced),
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

/// Talks to `session` (found by `find`); says which it is on stderr unless the finder
/// already did (`announced`).
fn talk_to(cli: &Cli, cfg: &Config, session: &discover::Session, announced: bool) -> Result<i32> {
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
        .with_context(|| format!("resolving {}", transcript.display()))?;
    if !announced {
        eprintln!(
            "seance: session {} from account {} ({})",
            session.session_id,
            session.account.as_deref().unwrap_or("?"),
            crate::util::sanitize::for_terminal(session.title.as_deref().unwrap_or("untitled"))
        );
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
    };
    talk::talk(&plan)
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
