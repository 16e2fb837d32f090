//! Command-line types (clap): what the user typed, before any decision is made.
//! `config` turns these into the resolved settings the program runs on.

use std::ffi::OsString;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Parser, ValueEnum};

const AFTER_HELP: &str = "\
Accounts are found in $CLAUDE_CONFIG_DIR (else ~/.claude), a Gas Town town's
mayor/accounts.json (town from $GT_ROOT/$GT_TOWN_ROOT or the directories above),
--account-dir, $SEANCE_ACCOUNT_DIRS (':'-separated) and ~/.claude*, ~/.ccs/instances/*.

Examples:
  seance                              the 20 newest sessions of every account
  seance --role crew --since 2d       Gas Town crew sessions of the last two days
  seance --talk 4662                  resume session 4662... as a fork, interactively
  seance --talk 4662 -p 'where did you put the migration?'

Exit status:
  0    success (for --talk: claude exited 0)
  1    runtime error (session not found, claude missing, lock timeout, I/O error)
  2    usage error (bad flags or values)
  N    with --talk: claude's own exit status, 128+n when it died of signal n";

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// seance: talk to an earlier Claude Code session from any of your Claude accounts.
///
/// With no --talk, lists the sessions of every account, newest first.
#[derive(Debug, Parser)]
#[command(name = "seance", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Talk to this session (full id or unique prefix): link it into the current
    /// account and run `claude --fork-session --resume <id>`, then undo the link.
    #[arg(short = 't', long, value_name = "ID", help_heading = "Talk")]
    pub talk: Option<String>,

    /// Ask one question and print only the answer (claude -p); needs --talk.
    #[arg(
        short = 'p',
        long = "prompt",
        value_name = "TEXT",
        requires = "talk",
        help_heading = "Talk"
    )]
    pub prompt: Option<String>,

    /// Resume in the current directory instead of the session's own.
    #[arg(long, requires = "talk", help_heading = "Talk")]
    pub here: bool,

    /// The claude binary [default: claude on PATH].
    #[arg(
        long,
        env = "SEANCE_CLAUDE",
        value_name = "PATH",
        help_heading = "Talk"
    )]
    pub claude: Option<PathBuf>,

    /// Only remove links and index entries left by interrupted talks, and say what went.
    #[arg(long, conflicts_with = "talk", help_heading = "Talk")]
    pub reap: bool,

    /// With --reap: say what would be removed, remove nothing.
    #[arg(long, requires = "reap", help_heading = "Talk")]
    pub dry_run: bool,

    /// Arguments after `--` are passed to claude unchanged (with --talk).
    #[arg(last = true, value_name = "CLAUDE_ARGS", requires = "talk")]
    pub claude_args: Vec<OsString>,

    /// Show at most N sessions, newest first (0 = all).
    #[arg(
        short = 'n',
        long = "recent",
        value_name = "N",
        default_value_t = 20,
        help_heading = "List"
    )]
    pub recent: usize,

    /// Only sessions whose Gas Town actor contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT", help_heading = "List")]
    pub role: Option<String>,

    /// Only sessions whose Gas Town actor (rig/...) contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT", help_heading = "List")]
    pub rig: Option<String>,

    /// Only sessions of the account named NAME (handle or directory name).
    #[arg(long, value_name = "NAME", help_heading = "List")]
    pub account: Option<String>,

    /// Only sessions whose working directory contains TEXT.
    #[arg(long, value_name = "TEXT", help_heading = "List")]
    pub project: Option<String>,

    /// Only sessions active since WHEN: 90m, 36h, 7d, 2w, 2026-11-15 or RFC 3339.
    #[arg(long, value_name = "WHEN", value_parser = parse_since_arg, help_heading = "List")]
    pub since: Option<DateTime<Utc>>,

    /// Only sessions whose title or first prompt contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT", help_heading = "List")]
    pub grep: Option<String>,

    /// Only sessions whose conversation matches PATTERN (a regex; case-insensitive unless
    /// it has a capital letter): messages, tool calls and results, titles, subagents.
    #[arg(long, value_name = "PATTERN", help_heading = "List")]
    pub search: Option<String>,

    /// Take the --search pattern literally, not as a regex.
    #[arg(short = 'F', long, requires = "search", help_heading = "List")]
    pub fixed_strings: bool,

    /// Print a JSON array instead of a table.
    #[arg(long, help_heading = "List")]
    pub json: bool,

    /// When to colour the table.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto, help_heading = "List")]
    pub color: ColorChoice,

    /// Read and write no metadata cache.
    #[arg(long, help_heading = "List")]
    pub no_cache: bool,

    /// Also look in this account (config dir); repeatable.
    #[arg(long = "account-dir", value_name = "DIR", help_heading = "Sources")]
    pub account_dirs: Vec<PathBuf>,

    /// Gas Town events file [default: TOWN/.events.jsonl].
    #[arg(
        long,
        env = "SEANCE_EVENTS",
        value_name = "FILE",
        help_heading = "Sources"
    )]
    pub events: Option<PathBuf>,

    /// List every skipped file, not just a count per kind.
    #[arg(short, long)]
    pub verbose: bool,
}

impl Cli {
    /// Checks what clap cannot: that `--search` compiles. A bad pattern is a usage
    /// error (exit 2) carrying the regex error.
    ///
    /// Errors: a clap `ValueValidation` error.
    pub fn validate(self) -> Result<Cli, clap::Error> {
        if let Some(p) = &self.search
            && let Err(e) = crate::search::Pattern::new(p, self.fixed_strings)
        {
            use clap::CommandFactory;
            return Err(Cli::command().error(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid --search pattern: {e}"),
            ));
        }
        Ok(self)
    }
}

/// `--since` is checked while parsing, so a bad value is a usage error (exit 2).
fn parse_since_arg(s: &str) -> Result<DateTime<Utc>, String> {
    crate::util::timefmt::parse_since(s, Utc::now())
}
