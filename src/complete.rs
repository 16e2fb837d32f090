//! Shell completion. `seance --completions <shell>` prints a script that calls seance back
//! on every Tab (clap_complete's dynamic engine, switched on by [`ENV_VAR`]), so values
//! that only the disk knows complete too: session ids after `--talk` (newest first, with
//! their titles where the shell shows descriptions), account names after `--account`,
//! Gas Town actors after `--role` and rigs after `--rig`.
//!
//! A Tab must answer in well under 100 ms, so session ids come from the metadata cache
//! (`discover::cache`) as it is, without the stat walk of a listing; only when there is
//! no cache yet does a Tab run a full scan, which writes one.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{CommandFactory, Parser, ValueEnum};
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{Bash, CompleteEnv, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use crate::cli::Cli;
use crate::config::{self, Config};
use crate::discover::cache;
use crate::discover::{self, ScanOptions};
use crate::util::sanitize::for_terminal;

/// The environment variable that turns a run of seance into a completion request
/// (`SEANCE_COMPLETE=<shell> seance -- <words>`); the scripts `--completions` prints set
/// it. Its own name, not clap's default `COMPLETE`, so an unrelated variable of that
/// name cannot hijack an ordinary run.
pub const ENV_VAR: &str = "SEANCE_COMPLETE";

/// At most this many session ids are offered for one Tab, newest first: enough to pick
/// a recent one, few enough for a shell menu. Typing more of an id narrows the rest.
pub const MAX_IDS: usize = 30;

/// Longest description shown beside a candidate, in characters.
const MAX_HELP_CHARS: usize = 70;

/// A shell `--completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash 4.4 or newer (older ones complete too, unsorted).
    Bash,
    /// Zsh, with descriptions.
    Zsh,
    /// Fish, with descriptions.
    Fish,
    /// Elvish, with descriptions.
    Elvish,
    /// PowerShell, with descriptions.
    Powershell,
}

impl Shell {
    fn completer(self) -> &'static dyn EnvCompleter {
        match self {
            Shell::Bash => &Bash,
            Shell::Zsh => &Zsh,
            Shell::Fish => &Fish,
            Shell::Elvish => &Elvish,
            Shell::Powershell => &Powershell,
        }
    }
}

/// Answers a completion request and exits when [`ENV_VAR`] names a shell; returns at
/// once otherwise (also when it is empty or `0`). Must run before anything is printed.
pub fn complete_from_env() {
    CompleteEnv::with_factory(Cli::command)
        .var(ENV_VAR)
        .complete();
}

/// Writes the completion script for `shell` to `out`. The script calls back the seance
/// that wrote it as it was invoked: `seance` through `PATH`, or the absolute path when it
/// was run by a path (`./target/release/seance`).
///
/// Errors: writing to `out` fails.
pub fn write_script(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let invoked = std::env::args_os()
        .next()
        .map_or_else(|| PathBuf::from("seance"), PathBuf::from);
    let completer = if invoked.components().count() > 1 {
        std::env::current_dir()
            .map(|d| d.join(&invoked))
            .unwrap_or(invoked)
    } else {
        invoked
    };
    shell.completer().write_registration(
        ENV_VAR,
        "seance",
        "seance",
        &completer.to_string_lossy(),
        out,
    )
}

/// The configuration a Tab sees: that of a plain `seance` run from here (same accounts,
/// town, cache), or `None` when even that cannot be resolved (no `HOME`).
fn tab_config() -> Option<Config> {
    let cli = Cli::try_parse_from(["seance"]).ok()?;
    config::resolve(&cli).ok()
}

/// Candidates for `--talk`: ids (UUIDs: nothing else can be talked to by id) of sessions
/// with a transcript that start with `current` (case-insensitive), newest activity first,
/// at most [`MAX_IDS`], each described by its title, account and last activity.
pub fn talk_ids(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(typed) = current.to_str().map(str::to_ascii_lowercase) else {
        return Vec::new();
    };
    let Some(cfg) = tab_config() else {
        return Vec::new();
    };
    let found = from_cache(&cfg, &typed).unwrap_or_else(|| from_scan(&cfg, &typed));
    let now = Utc::now();
    found
        .into_iter()
        .map(|s| {
            let title = s.title.as_deref().unwrap_or("untitled");
            let when = s
                .last
                .map(|t| crate::util::timefmt::age(&t, now))
                .unwrap_or_default();
            let help = format!(
                "{} ({}, {when})",
                for_terminal(title),
                for_terminal(&s.account)
            );
            let help = shorten(&help);
            CompletionCandidate::new(s.id).help(Some(help.into()))
        })
        .collect()
}

/// What a Tab offers of one session.
#[derive(Debug)]
struct IdCandidate {
    id: String,
    account: String,
    title: Option<String>,
    last: Option<DateTime<Utc>>,
}

/// Session ids from the metadata cache alone, or `None` when there is no usable cache
/// (none configured, missing, corrupt, empty). Rows are read borrowed from the file's
/// bytes ([`cache::views`]) and only the shown ones are copied. Rows of transcripts
/// outside the accounts seen from here, or gone since the cache was written, are left
/// out.
fn from_cache(cfg: &Config, typed: &str) -> Option<Vec<IdCandidate>> {
    let bytes = std::fs::read(cfg.cache_file.as_deref()?).ok()?;
    let rows = cache::views(&bytes).filter(|r| !r.is_empty())?;
    // A transcript is `<projects>/<folder>/<id>.jsonl`, `<projects>` as found or resolved.
    let roots: Vec<(String, &str)> = cfg
        .accounts
        .iter()
        .flat_map(|a| [Some(a.projects_dir()), a.projects.clone()].map(|p| (p, &a.name)))
        .filter_map(|(p, name)| Some((p?.into_os_string().into_string().ok()?, name.as_str())))
        .collect();
    let mut found: Vec<(&str, &str, &cache::RowView)> = rows
        .iter()
        .filter_map(|row| {
            let (dir, file) = row.path.rsplit_once('/')?;
            let id = file
                .strip_suffix(".jsonl")
                .filter(|id| discover::is_uuid(id))?;
            if !id.get(..typed.len())?.eq_ignore_ascii_case(typed) {
                return None;
            }
            let root = dir.rsplit_once('/')?.0;
            let (_, account) = roots.iter().find(|(r, _)| r == root)?;
            Some((id, *account, row))
        })
        .collect();
    // Newest first, as the listing orders them: by the transcript's mtime.
    found.sort_unstable_by(|a, b| b.2.mtime_ns.cmp(&a.2.mtime_ns).then_with(|| a.0.cmp(b.0)));
    let mut shown: Vec<IdCandidate> = Vec::new();
    for (id, account, row) in found {
        if shown.len() == MAX_IDS {
            break;
        }
        if shown.iter().any(|c| c.id == id) || !std::path::Path::new(row.path).exists() {
            continue;
        }
        shown.push(IdCandidate {
            id: id.to_owned(),
            account: account.to_owned(),
            title: row.meta.title.map(str::to_owned),
            // As the listing dates it: the mtime (0 when unknown), else the first time.
            last: i64::try_from(row.mtime_ns)
                .ok()
                .filter(|&ns| ns > 0)
                .map(DateTime::from_timestamp_nanos)
                .or_else(|| {
                    row.meta
                        .first_timestamp_ms
                        .and_then(DateTime::from_timestamp_millis)
                }),
        });
    }
    Some(shown)
}

/// Session ids from a full scan, which also writes the cache the next Tab reads.
fn from_scan(cfg: &Config, typed: &str) -> Vec<IdCandidate> {
    let catalog = discover::scan(ScanOptions {
        accounts: &cfg.accounts,
        events_file: cfg.events_file.as_deref(),
        want: None,
        cache_file: cfg.cache_file.as_deref(),
        exact_id: None,
    });
    let mut found: Vec<IdCandidate> = catalog
        .sessions
        .into_iter()
        .filter(|s| s.transcript.is_some() && discover::is_uuid(&s.session_id))
        .filter(|s| {
            s.session_id
                .get(..typed.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(typed))
        })
        .map(|s| IdCandidate {
            id: s.session_id,
            account: s.account.as_deref().unwrap_or_default().to_owned(),
            title: s.title,
            last: s.last_active_at.or(s.started_at),
        })
        .collect();
    newest_first(&mut found, |c| c);
    found.truncate(MAX_IDS);
    found
}

/// Sorts by last activity, newest first (unknown last), ties by id.
fn newest_first<T>(items: &mut [T], get: impl Fn(&T) -> &IdCandidate) {
    items.sort_by(|a, b| {
        let (a, b) = (get(a), get(b));
        b.last.cmp(&a.last).then_with(|| a.id.cmp(&b.id))
    });
}

/// Candidates for `--account`: the name of every account seance sees from here, each
/// described by its config directory.
pub fn account_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy().to_lowercase();
    let Some(cfg) = tab_config() else {
        return Vec::new();
    };
    cfg.accounts
        .iter()
        .filter(|a| a.name.to_lowercase().starts_with(&typed) && is_plain(&a.name))
        .map(|a| {
            let mark = if a.current { ", current" } else { "" };
            let help = format!("{}{mark}", a.config_dir.display());
            CompletionCandidate::new(&a.name).help(Some(shorten(&for_terminal(&help)).into()))
        })
        .collect()
}

/// Candidates for `--role`: the Gas Town actors of the town's `session_start` events
/// (`gastown/crew/joe`, `mayor`), most recently started first.
pub fn role_actors(current: &OsStr) -> Vec<CompletionCandidate> {
    actors(current, |actor| Some(actor.to_owned()))
}

/// Candidates for `--rig`: the rigs, the first segment of every actor that has one
/// (`gastown` of `gastown/crew/joe`), most recently active first.
pub fn rig_names(current: &OsStr) -> Vec<CompletionCandidate> {
    actors(current, |actor| {
        actor.split_once('/').map(|(rig, _)| rig.to_owned())
    })
}

/// Distinct `key(actor)` values of the events file that start with `current`
/// (case-insensitive), newest event first, each described by how many sessions it
/// started and when it last did.
fn actors(current: &OsStr, key: impl Fn(&str) -> Option<String>) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy().to_lowercase();
    let Some(cfg) = tab_config() else {
        return Vec::new();
    };
    let Some(events) = cfg.events_file else {
        return Vec::new();
    };
    let read = discover::events_cache::read_events_cached(&events, cfg.cache_file.as_deref());
    let Ok(events) = read else {
        return Vec::new();
    };
    let mut seen: HashMap<String, (usize, Option<DateTime<Utc>>)> = HashMap::new();
    for start in &events.starts {
        let Some(k) = start.actor.as_deref().and_then(&key) else {
            continue;
        };
        if k.is_empty() || !is_plain(&k) || !k.to_lowercase().starts_with(&typed) {
            continue;
        }
        let entry = seen.entry(k).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(start.ts);
    }
    let mut rows: Vec<_> = seen.into_iter().collect();
    rows.sort_by(|a, b| b.1.1.cmp(&a.1.1).then_with(|| a.0.cmp(&b.0)));
    let now = Utc::now();
    rows.into_iter()
        .map(|(k, (n, last))| {
            let s = if n == 1 { "" } else { "s" };
            let when = last
                .map(|t| format!(", last {}", crate::util::timefmt::age(&t, now)))
                .unwrap_or_default();
            let help = format!("{n} session{s}{when}");
            CompletionCandidate::new(k).help(Some(help.into()))
        })
        .collect()
}

/// True for a value that can go onto the command line as it is: nothing in it that
/// [`for_terminal`] would have to neutralise. A value that is not (an account or actor
/// name read from a file, holding control characters) is not offered at all: offered
/// neutralised, it would no longer match.
fn is_plain(s: &str) -> bool {
    matches!(for_terminal(s), std::borrow::Cow::Borrowed(_))
}

/// `s` cut to [`MAX_HELP_CHARS`] characters, with `…` when cut.
fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_HELP_CHARS {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_HELP_CHARS - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("short"), "short");
        let long = "é".repeat(100);
        let cut = shorten(&long);
        assert_eq!(cut.chars().count(), MAX_HELP_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn only_plain_values_are_offered() {
        assert!(is_plain("gastown/crew/joe"));
        assert!(!is_plain("evil\u{1b}]0;title\u{7}"));
        assert!(!is_plain("two\nlines"));
    }

    #[test]
    fn every_shell_writes_a_script_naming_the_variable() {
        for shell in Shell::value_variants() {
            let mut out = Vec::new();
            write_script(*shell, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains(ENV_VAR), "{shell:?}: {text}");
        }
    }
}
