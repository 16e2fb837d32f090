//! Turns what the user typed (`cli::Cli`) and the environment into one resolved
//! `Config`: accounts found, town found, directories chosen, filters parsed, colour
//! decided. Decided once, early, then passed down.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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
    /// `--search`: only sessions whose conversation matches, searched after every other
    /// filter.
    pub search: Option<crate::search::Pattern>,
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
    /// The directory seance was started in; `None` when it cannot be read (deleted):
    /// only what needs it (`--here`, the town search from it) does without.
    pub cwd: Option<PathBuf>,
    /// Every account, the current one first.
    pub accounts: Vec<Account>,
    /// The Gas Town town around us, if any.
    pub town: Option<Town>,
    /// The events file to read, if any.
    pub events_file: Option<PathBuf>,
    /// `$XDG_STATE_HOME/seance` (default `~/.local/state/seance`, on macOS too): the
    /// talk ledger.
    pub state_dir: PathBuf,
    /// `$XDG_CACHE_HOME/seance/transcripts.bin` (default `~/.cache/seance/`; on
    /// macOS `~/Library/Caches/seance/`), unless `--no-cache`.
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
    /// The current account's `.claude.json`, which holds its trusted directories:
    /// `<config>/.claude.json` under `CLAUDE_CONFIG_DIR`, else `~/.claude.json`.
    pub claude_json: Option<PathBuf>,
}

impl Config {
    /// The current account (always present: it is the first).
    pub fn current_account(&self) -> &Account {
        &self.accounts[0]
    }

    /// Where a scan looked, for "not found" messages: each account's name and dir, and
    /// the events file, sanitised for a terminal.
    pub fn looked(&self) -> String {
        use crate::util::sanitize::for_terminal;
        let path = |p: &Path| for_terminal(&p.to_string_lossy()).into_owned();
        let mut parts: Vec<String> = self
            .accounts
            .iter()
            .map(|a| {
                format!(
                    "account {} ({})",
                    for_terminal(&a.name),
                    path(&a.config_dir)
                )
            })
            .collect();
        if let Some(e) = &self.events_file {
            parts.push(format!("events {}", path(e)));
        }
        parts.join(", ")
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// An XDG base directory variable, when set to an absolute path (the spec ignores
/// relative ones).
fn xdg_dir(name: &str) -> Option<PathBuf> {
    env_path(name).filter(|p| p.is_absolute())
}

/// Makes configured paths absolute against the directory seance was started in, which
/// is read at most once and only when a relative path needs it: claude runs elsewhere
/// (the session's directory), where a relative path names another directory or none,
/// and the ledger is read back by seances started anywhere.
#[derive(Default)]
pub struct Absolute {
    cwd: OnceCell<Option<PathBuf>>,
}

impl Absolute {
    /// `path` itself when absolute, else joined to the current directory (with `.`
    /// components dropped).
    ///
    /// Errors: `path` is relative and the current directory cannot be read (deleted,
    /// say); the message names `what` (the variable or flag) and the path.
    pub fn path(&self, what: &str, path: PathBuf) -> Result<PathBuf> {
        if path.is_absolute() {
            return Ok(path);
        }
        let cwd = self
            .cwd
            .get_or_init(|| std::env::current_dir().ok())
            .as_ref()
            .with_context(|| {
                format!(
                    "{what} is the relative path {}, and the current directory cannot be read to resolve it; give an absolute path",
                    crate::util::sanitize::for_terminal(&path.display().to_string())
                )
            })?;
        Ok(cwd.join(path).components().collect())
    }

    /// [`Absolute::path`] for an optional path.
    pub fn opt(&self, what: &str, path: Option<PathBuf>) -> Result<Option<PathBuf>> {
        path.map(|p| self.path(what, p)).transpose()
    }
}

/// Environment variables whose relative values seance made absolute, with those values:
/// claude gets them in place of what seance was given, so it names the same account.
static CHILD_ENV: OnceLock<Vec<(&'static str, PathBuf)>> = OnceLock::new();

/// The environment overrides for children (see [`CHILD_ENV`]): `CLAUDE_CONFIG_DIR` and
/// `HOME` when they were set to relative paths; empty before [`resolve`] ran.
pub fn child_env_overrides() -> &'static [(&'static str, PathBuf)] {
    CHILD_ENV.get().map_or(&[], Vec::as_slice)
}

/// Records the absolute form of each variable in `vars` whose value was relative.
fn note_child_env(vars: &[(&'static str, Option<&PathBuf>)]) {
    let overrides = vars
        .iter()
        .filter_map(|(name, abs)| {
            let given = env_path(name)?;
            let abs = (*abs)?;
            (!given.is_absolute()).then(|| (*name, abs.clone()))
        })
        .collect();
    let _ = CHILD_ENV.set(overrides);
}

/// `SEANCE_ACCOUNT_DIRS` with each entry made absolute (empty entries dropped).
fn absolute_dir_list(abs: &Absolute, list: Option<OsString>) -> Result<Option<OsString>> {
    let Some(list) = list else { return Ok(None) };
    let dirs = std::env::split_paths(&list)
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| abs.path("SEANCE_ACCOUNT_DIRS", p))
        .collect::<Result<Vec<_>>>()?;
    // Each entry came out of a split on ':', so none holds one and joining cannot fail.
    Ok(std::env::join_paths(dirs).ok())
}

/// Resolves `cli` against the environment. Every path it gives is absolute: relative
/// ones (`CLAUDE_CONFIG_DIR`, `HOME`, `GT_ROOT`, `--account-dir`, `--events`, ...) are
/// resolved here, once, against the directory seance was started in.
///
/// Errors: a relative path needs the current directory and it cannot be read, no
/// current account can be named (no `CLAUDE_CONFIG_DIR` and no `HOME`), no state
/// directory, or a filter value is invalid (`--since`, `--search`). A current directory
/// that cannot be read is otherwise not an error here (only `--here` needs it).
pub fn resolve(cli: &Cli) -> Result<Config> {
    let abs = Absolute::default();
    let home = abs.opt("HOME", dirs::home_dir())?;
    let claude_config_dir = abs.opt("CLAUDE_CONFIG_DIR", env_path("CLAUDE_CONFIG_DIR"))?;
    note_child_env(&[
        ("CLAUDE_CONFIG_DIR", claude_config_dir.as_ref()),
        ("HOME", home.as_ref()),
    ]);
    let cwd = std::env::current_dir().ok();
    let town_env = abs.opt(
        "GT_ROOT",
        env_path("GT_ROOT").or_else(|| env_path("GT_TOWN_ROOT")),
    )?;
    let town = match (town_env.as_deref(), cwd.as_deref()) {
        (Some(root), _) => accounts::find_town(Some(root), root),
        (None, Some(cwd)) => accounts::find_town(None, cwd),
        (None, None) => None,
    };
    let sources = Sources {
        home: home.clone(),
        claude_config_dir: claude_config_dir.clone(),
        town: town.clone(),
        flag_dirs: cli
            .account_dirs
            .iter()
            .map(|d| {
                let d = accounts::expand_tilde(&d.to_string_lossy(), home.as_deref());
                abs.path("--account-dir", d)
            })
            .collect::<Result<_>>()?,
        env_dirs: absolute_dir_list(
            &abs,
            std::env::var_os("SEANCE_ACCOUNT_DIRS").filter(|v: &OsString| !v.is_empty()),
        )?,
    };
    let mut warnings = Warnings::default();
    let accounts = accounts::collect(&sources, &mut warnings);
    anyhow::ensure!(
        accounts.first().is_some_and(|a| a.current),
        "cannot tell the current Claude account: set CLAUDE_CONFIG_DIR or HOME"
    );
    let events_file = abs
        .opt("--events", cli.events.clone())?
        .or_else(|| town.as_ref().map(Town::events_file));
    // $XDG_STATE_HOME / $XDG_CACHE_HOME win on every platform (dirs honours them on
    // Linux only; macOS has no state dir and keeps caches in ~/Library/Caches).
    let state_dir = xdg_dir("XDG_STATE_HOME")
        .or_else(dirs::state_dir)
        .or_else(|| home.as_ref().map(|h| h.join(".local/state")))
        .context("cannot tell where to keep state: set XDG_STATE_HOME or HOME")?
        .join("seance");
    let state_dir = abs.path("the state directory", state_dir)?;
    let cache_file = if cli.no_cache {
        None
    } else {
        let dir = xdg_dir("XDG_CACHE_HOME")
            .or_else(dirs::cache_dir)
            .or_else(|| home.as_ref().map(|h| h.join(".cache")));
        abs.opt("the cache directory", dir)?
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
    let claude_json = crate::talk::trust::claude_json_for(
        &accounts[0].config_dir,
        claude_config_dir.is_some(),
        home.as_deref(),
    );
    let filters = filters(cli)?;
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
        claude_json,
    })
}

/// The list filters of `cli`, lower-cased where they match case-insensitively.
///
/// Errors: an invalid `--search` pattern.
fn filters(cli: &Cli) -> Result<Filters> {
    let lower = |s: &Option<String>| s.as_ref().map(|v| v.to_lowercase());
    Ok(Filters {
        role: lower(&cli.role),
        rig: lower(&cli.rig),
        account: cli.account.clone(),
        project: cli.project.clone(),
        since: cli.since,
        grep: lower(&cli.grep),
        search: cli
            .search
            .as_deref()
            .map(|p| crate::search::Pattern::new(p, cli.fixed_strings))
            .transpose()
            .map_err(|e| anyhow::anyhow!("invalid --search pattern: {e}"))?,
        recent: cli.recent,
        sort: cli.sort,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_resolved_once_and_only_when_needed() {
        let a = Absolute::default();
        let _ = a.cwd.set(Some(PathBuf::from("/start")));
        assert_eq!(
            a.path("X", PathBuf::from("./acct/../b")).unwrap(),
            PathBuf::from("/start/acct/../b")
        );
        assert_eq!(
            a.path("X", PathBuf::from("/abs")).unwrap(),
            PathBuf::from("/abs")
        );
        // The current directory is gone: absolute paths are fine, a relative one is an
        // error naming it and what gave it.
        let gone = Absolute::default();
        let _ = gone.cwd.set(None);
        assert_eq!(
            gone.path("X", PathBuf::from("/abs")).unwrap(),
            PathBuf::from("/abs")
        );
        assert_eq!(gone.opt("X", None).unwrap(), None);
        let err = gone
            .path("CLAUDE_CONFIG_DIR", PathBuf::from("acct"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CLAUDE_CONFIG_DIR is the relative path acct"),
            "{err}"
        );
    }
}
