//! Turns what the user typed (`cli::Cli`) and the environment into one resolved
//! `Config`: accounts found, town found, directories chosen, filters parsed, colour
//! decided. Decided once, early, then passed down.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::cli::{Cli, ColorChoice, SortKey};
use crate::discover::accounts::{self, Account, Sources, Town};
use crate::discover::warnings::Warnings;

/// Listing filters, all optional and combinable.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Lower-cased substring of `actor`.
    pub role: Option<String>,
    /// Lower-cased substring of `actor`.
    pub rig: Option<String>,
    /// Account name (compared case-insensitively).
    pub account: Option<String>,
    /// Substring of `cwd`.
    pub project: Option<String>,
    /// Last activity at or after this instant (UTC).
    pub since: Option<DateTime<Utc>>,
    /// Lower-cased substring of the title or first prompt.
    pub grep: Option<String>,
    /// At most this many rows (0 = all); `None` when `-n` was not given, which means
    /// [`crate::list::DEFAULT_RECENT`] for a listing and all for the picker.
    pub recent: Option<usize>,
    /// The order.
    pub sort: SortKey,
}

impl Filters {
    /// The filters given, as the flags that set them (`--role crew/max --since …`), for
    /// messages; empty when none. Sanitised for a terminal.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let flags = [
            ("--role", &self.role),
            ("--rig", &self.rig),
            ("--account", &self.account),
            ("--project", &self.project),
            ("--grep", &self.grep),
        ];
        for (flag, value) in flags {
            if let Some(v) = value {
                parts.push(format!("{flag} {v}"));
            }
        }
        if let Some(t) = &self.since {
            parts.push(format!("--since {}", crate::util::timefmt::to_rfc3339(t)));
        }
        crate::util::sanitize::for_terminal(&parts.join(" ")).into_owned()
    }
}

/// Everything the program needs, resolved.
#[derive(Debug)]
pub struct Config {
    /// The user's home directory.
    pub home: Option<PathBuf>,
    /// The directory seance was started in.
    pub cwd: PathBuf,
    /// Every account, the current one first.
    pub accounts: Vec<Account>,
    /// The Gas Town town around us, if any.
    pub town: Option<Town>,
    /// The events file to read, if any.
    pub events_file: Option<PathBuf>,
    /// `$XDG_STATE_HOME/seance` (default `~/.local/state/seance`): the talk ledger.
    pub state_dir: PathBuf,
    /// `$XDG_CACHE_HOME/seance/transcripts-v1.json`, unless `--no-cache`.
    pub cache_file: Option<PathBuf>,
    /// Colour the table.
    pub color: bool,
    /// Table width in columns.
    pub width: usize,
    /// Listing filters.
    pub filters: Filters,
    /// `--json`: print JSON instead of a table.
    pub json: bool,
    /// Problems met while resolving (bad accounts.json, missing account dirs).
    pub warnings: Warnings,
    /// `-v`.
    pub verbose: bool,
}

impl Config {
    /// The current account (always present: it is the first).
    pub fn current_account(&self) -> &Account {
        &self.accounts[0]
    }

    /// Where a scan looked, for "not found" messages: each account's name and dir, and
    /// the events file.
    pub fn looked(&self) -> String {
        let mut parts: Vec<String> = self
            .accounts
            .iter()
            .map(|a| format!("account {} ({})", a.name, a.config_dir.display()))
            .collect();
        if let Some(e) = &self.events_file {
            parts.push(format!("events {}", e.display()));
        }
        parts.join(", ")
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Resolves `cli` against the environment.
///
/// Errors: the current directory cannot be read, no current account can be named (no
/// `CLAUDE_CONFIG_DIR` and no `HOME`), or a filter value is invalid (`--since`).
pub fn resolve(cli: &Cli) -> Result<Config> {
    let home = dirs::home_dir();
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let town_env = env_path("GT_ROOT").or_else(|| env_path("GT_TOWN_ROOT"));
    let town = accounts::find_town(town_env.as_deref(), &cwd);
    let sources = Sources {
        home: home.clone(),
        claude_config_dir: env_path("CLAUDE_CONFIG_DIR"),
        town: town.clone(),
        flag_dirs: cli.account_dirs.clone(),
        env_dirs: std::env::var_os("SEANCE_ACCOUNT_DIRS").filter(|v: &OsString| !v.is_empty()),
    };
    let mut warnings = Warnings::default();
    let accounts = accounts::collect(&sources, &mut warnings);
    anyhow::ensure!(
        accounts.first().is_some_and(|a| a.current),
        "cannot tell the current Claude account: set CLAUDE_CONFIG_DIR or HOME"
    );
    let events_file = cli
        .events
        .clone()
        .or_else(|| town.as_ref().map(Town::events_file));
    let state_dir = dirs::state_dir()
        .or_else(|| home.as_ref().map(|h| h.join(".local/state")))
        .context("cannot tell where to keep state: set XDG_STATE_HOME or HOME")?
        .join("seance");
    let cache_file = if cli.no_cache {
        None
    } else {
        dirs::cache_dir()
            .or_else(|| home.as_ref().map(|h| h.join(".cache")))
            .map(|d| d.join("seance").join(crate::discover::cache::CACHE_FILE))
    };
    let stdout_tty = std::io::stdout().is_terminal();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stdout_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let width = terminal_width(stdout_tty);
    let lower = |s: &Option<String>| s.as_ref().map(|v| v.to_lowercase());
    let filters = Filters {
        role: lower(&cli.role),
        rig: lower(&cli.rig),
        account: cli.account.clone(),
        project: cli.project.clone(),
        since: cli.since,
        grep: lower(&cli.grep),
        recent: cli.recent,
        sort: cli.sort,
    };
    Ok(Config {
        home,
        cwd,
        accounts,
        town,
        events_file,
        state_dir,
        cache_file,
        color,
        width,
        filters,
        json: cli.json,
        warnings,
        verbose: cli.verbose,
    })
}

/// The terminal's width when stdout is one, else `COLUMNS`, else 80. Never below 20.
fn terminal_width(stdout_tty: bool) -> usize {
    let from_term = stdout_tty
        .then(|| console::Term::stdout().size_checked())
        .flatten()
        .map(|(_, w)| w as usize);
    let from_env = || {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0)
    };
    from_term.or_else(from_env).unwrap_or(80).max(20)
}

/// True when `account` names `a`: its name (case-insensitive) or its config dir.
pub fn account_matches(a_name: Option<&str>, a_dir: Option<&Path>, account: &str) -> bool {
    a_name.is_some_and(|n| n.eq_ignore_ascii_case(account))
        || a_dir.is_some_and(|d| d == Path::new(account))
}
