//! Command-line types (clap): what the user typed, before any decision is made.
//! `config` turns these into the resolved settings the program runs on.

use std::ffi::OsString;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Parser, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use crate::complete;

const AFTER_HELP: &str = "\
Accounts: $CLAUDE_CONFIG_DIR (else ~/.claude), a Gas Town town's
mayor/accounts.json (town from $GT_ROOT/$GT_TOWN_ROOT or the directories
above), --account-dir, $SEANCE_ACCOUNT_DIRS (':'-separated), ~/.claude* and
~/.ccs/instances/*.

Order: newest activity first (the transcript's modification time, as in
Claude Code's own picker); --sort started orders by start. The filters also
choose what a talk uses: of an id several accounts hold, --account picks
the copy.

Examples:
  seance                         the 20 sessions active last, every account
  seance --role crew --since 2d  Gas Town crew sessions of the last two days
  seance --talk                  pick a session in a full-screen list
  seance --talk 4662             resume session 4662... as a fork
  seance --talk 'Lantern notes'  the session renamed so (title or agent name)
  seance --talk 4662 -p 'where did you put the migration?'
  seance --role crew/max --last -p 'where did you put the migration?'
  seance --talk 4662 -p 'and the tests?' --ephemeral   (keeps no fork)

Exit status:
  0    success (for --talk: claude exited 0)
  1    runtime error (not found or ambiguous, claude missing, lock, I/O)
  2    usage error (bad flags or values; --talk with no id and no terminal)
  130  the picker was left (Esc or Ctrl-C); nothing was linked
  N    with --talk: claude's own exit status, 128+n for signal n";

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

/// `--sort`: the order of the listing, the picker and `--last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SortKey {
    /// Newest activity first: the transcript's modification time.
    #[default]
    Active,
    /// Newest start first.
    Started,
}

/// seance: talk to an earlier Claude Code session from any of your Claude accounts.
///
/// With no --talk, lists the sessions of every account, newest activity first.
#[derive(Debug, Parser)]
#[command(name = "seance", version, after_help = AFTER_HELP, max_term_width = 100)]
#[command(group(ArgGroup::new("target").args(["talk", "last"])))]
pub struct Cli {
    /// Talk to this session: link it into the current account and run `claude
    /// --fork-session --resume <id>`, then undo the link. ID is a full id or a unique
    /// prefix; any other text is a name, matched exactly (any case) against custom
    /// titles and agent names. With no value, pick the session in a full-screen list.
    #[arg(
        short = 't',
        long,
        value_name = "ID|NAME",
        num_args = 0..=1,
        help_heading = "Talk",
        add = ArgValueCompleter::new(complete::talk_ids)
    )]
    pub talk: Option<Option<String>>,

    /// Talk to the newest session the filters select, skipping forks and the session
    /// seance runs inside (when run from Claude Code).
    #[arg(long, conflicts_with = "talk", help_heading = "Talk")]
    pub last: bool,

    /// Ask one question and print only the answer (claude -p); needs --talk or --last.
    #[arg(
        short = 'p',
        long = "prompt",
        value_name = "TEXT",
        requires = "target",
        help_heading = "Talk"
    )]
    pub prompt: Option<String>,

    /// Resume in the current directory instead of the session's own.
    #[arg(long, requires = "target", help_heading = "Talk")]
    pub here: bool,

    /// With -p: keep nothing (claude --no-session-persistence), so no fork is saved.
    #[arg(long, requires = "prompt", help_heading = "Talk")]
    pub ephemeral: bool,

    /// The claude binary [default: claude on PATH].
    #[arg(
        long,
        env = "SEANCE_CLAUDE",
        value_name = "PATH",
        help_heading = "Talk"
    )]
    pub claude: Option<PathBuf>,

    /// Only remove links and index entries left by interrupted talks, and say what went.
    #[arg(long, conflicts_with_all = ["talk", "last"], help_heading = "Talk")]
    pub reap: bool,

    /// With --reap: say what would be removed, remove nothing.
    #[arg(long, requires = "reap", help_heading = "Talk")]
    pub dry_run: bool,

    /// Arguments after `--` are passed to claude unchanged (with --talk or --last).
    #[arg(last = true, value_name = "CLAUDE_ARGS", requires = "target")]
    pub claude_args: Vec<OsString>,

    /// Show at most N sessions (0 = all) [default: 20; the picker: all].
    #[arg(short = 'n', long = "recent", value_name = "N", help_heading = "List")]
    pub recent: Option<usize>,

    /// Order: newest activity first (the transcript's mtime), or newest start first.
    #[arg(long, value_enum, value_name = "KEY", default_value_t = SortKey::Active, help_heading = "List")]
    pub sort: SortKey,

    /// Only sessions whose Gas Town actor contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT", help_heading = "List",
          add = ArgValueCompleter::new(complete::role_actors))]
    pub role: Option<String>,

    /// Only sessions whose Gas Town actor (rig/...) contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT", help_heading = "List",
          add = ArgValueCompleter::new(complete::rig_names))]
    pub rig: Option<String>,

    /// Only sessions of the account named NAME (handle or directory name).
    #[arg(long, value_name = "NAME", help_heading = "List",
          add = ArgValueCompleter::new(complete::account_names))]
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

    /// Read and write no cache (transcript metadata, events).
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

    /// Say more: every skipped file; for a talk, the link, index and undo steps too.
    #[arg(short, long)]
    pub verbose: bool,

    /// Say nothing on stderr but errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print a completion script for SHELL (flags, session ids, accounts, actors).
    #[arg(long, value_enum, value_name = "SHELL", help_heading = "Setup")]
    pub completions: Option<complete::Shell>,

    /// Print the manual page (roff).
    #[arg(long, help_heading = "Setup")]
    pub man: bool,
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
