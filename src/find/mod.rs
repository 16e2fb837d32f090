//! Finding the session a talk is for: by id or prefix, by name, the newest (`--last`),
//! or picked in a full-screen list (`--talk` with no value). Every way chooses through
//! the listing's selection pipeline ([`crate::list::select`]), so the filters (and the
//! copy they pick of an id several accounts hold) apply to each.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::config::{Config, Filters};
use crate::discover::resolve::{self, Query, ResolveError};
use crate::discover::{self, ScanOptions, Session};
use crate::list::{scan_all, select};
use crate::pick::{self, Picked};

pub mod last;

/// What the command line asks to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `--talk <ID or name>`.
    Query(Query),
    /// `--talk` with no value: the picker.
    Pick,
    /// `--last`.
    Last,
}

/// What [`find`] decided.
#[derive(Debug)]
pub enum Outcome {
    /// Talk to this session. `announced` is true when the choice was already said on
    /// stderr (`--last`).
    Talk {
        /// The session (the copy the filters chose).
        session: Box<Session>,
        /// The choice was already said on stderr.
        announced: bool,
    },
    /// Do not talk; exit with this code (130: the picker was left; 2: usage error,
    /// already printed; 128+n: signal n in the picker).
    Exit(i32),
}

/// What `cli` asks to talk to, if anything, checked before any file is read.
///
/// Errors: `--talk` text that is neither an id nor a possible name (see
/// [`resolve::classify`]).
pub fn target(cli: &Cli) -> Result<Option<Target>, ResolveError> {
    if cli.last {
        return Ok(Some(Target::Last));
    }
    match &cli.talk {
        None => Ok(None),
        Some(None) => Ok(Some(Target::Pick)),
        Some(Some(text)) => resolve::classify(text).map(|q| Some(Target::Query(q))),
    }
}

/// Finds the session `target` names among those `cfg`'s filters select.
///
/// Errors: nothing matches or several do ([`ResolveError`]), `--last` finds no
/// predecessor, a picked session is gone, or the terminal cannot be set up.
pub fn find(cfg: &Config, target: Target) -> Result<Outcome> {
    let session = match target {
        Target::Query(Query::Prefix(p)) => by_prefix(cfg, &p)?,
        Target::Query(Query::Name(n)) => by_name(cfg, &n)?,
        Target::Last => {
            let s = last::newest(cfg)?;
            last::say_choice(&s);
            return Ok(Outcome::Talk {
                session: Box::new(s),
                announced: true,
            });
        }
        Target::Pick => return picked(cfg),
    };
    Ok(Outcome::Talk {
        session: Box::new(session),
        announced: false,
    })
}

/// The filters with no cut: a talk chooses among every session they select.
fn uncut(cfg: &Config) -> Filters {
    Filters {
        recent: Some(0),
        ..cfg.filters.clone()
    }
}

/// Where a scan looked and which filters applied, for "not found" messages.
pub fn looked(cfg: &Config) -> String {
    let filters = cfg.filters.describe();
    if filters.is_empty() {
        cfg.looked()
    } else {
        format!("{}; filters: {filters}", cfg.looked())
    }
}

/// The session whose id starts with `prefix`; when none does, the session so named
/// (a title may look like an id: `cafe`).
fn by_prefix(cfg: &Config, prefix: &str) -> Result<Session> {
    let want = |id: &str| {
        id.as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    // Actors come only from the events file, which the exact-id path may skip.
    let needs_events = cfg.filters.role.is_some() || cfg.filters.rig.is_some();
    let catalog = discover::scan(ScanOptions {
        accounts: &cfg.accounts,
        events_file: cfg.events_file.as_deref(),
        want: Some(&want),
        cache_file: None,
        exact_id: (discover::is_uuid(prefix) && !needs_events).then_some(prefix),
    });
    crate::util::say::with_stderr(crate::util::say::Kind::Detail, |err| {
        let _ = catalog.warnings.report(true, err);
    });
    let (rows, _) = select(&catalog.sessions, &uncut(cfg));
    match resolve::resolve(rows.iter().copied(), prefix, &looked(cfg)) {
        Ok(s) => Ok(s.clone()),
        Err(e @ ResolveError::NotFound { .. }) => by_name(cfg, prefix).map_err(|_| e.into()),
        Err(e) => Err(e.into()),
    }
}

/// The one session named `name` (custom title or agent name).
fn by_name(cfg: &Config, name: &str) -> Result<Session> {
    let catalog = scan_all(cfg);
    crate::util::say::with_stderr(crate::util::say::Kind::Detail, |err| {
        let _ = catalog.warnings.report(true, err);
    });
    let (rows, _) = select(&catalog.sessions, &uncut(cfg));
    let found = resolve::resolve_name(rows.iter().copied(), name, &looked(cfg))?.clone();
    drop(rows);
    // Freeing a whole catalog only delays the talk.
    std::mem::forget(catalog);
    Ok(found)
}

/// Runs the picker when there is a terminal to draw on, and looks the picked copy up
/// again (it may have gone since the cache listed it).
fn picked(cfg: &Config) -> Result<Outcome> {
    if !pick::terminal_available() {
        let e = Cli::command().error(
            clap::error::ErrorKind::MissingRequiredArgument,
            "--talk needs a session id or name here: there is no terminal to pick one on \
             (give --talk <ID or name>, or --last)",
        );
        let _ = e.print();
        return Ok(Outcome::Exit(2));
    }
    let mut filters = cfg.filters.clone();
    filters.recent = Some(filters.recent.unwrap_or(0));
    let (id, config_dir) = match pick::pick(cfg, &filters)? {
        Picked::Left => return Ok(Outcome::Exit(130)),
        Picked::Signal(sig) => return Ok(Outcome::Exit(128 + sig)),
        Picked::Session { id, config_dir } => (id, config_dir),
    };
    let want = |s: &str| s == id;
    let catalog = discover::scan(ScanOptions {
        accounts: &cfg.accounts,
        events_file: cfg.events_file.as_deref(),
        want: Some(&want),
        cache_file: None,
        exact_id: discover::is_uuid(&id).then_some(id.as_str()),
    });
    let session = catalog
        .sessions
        .into_iter()
        .find(|s| s.config_dir.as_deref() == config_dir.as_deref())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "session {} is gone (it was listed from the cache; looked in {})",
                crate::util::sanitize::for_terminal(&id),
                cfg.looked()
            )
        })?;
    Ok(Outcome::Talk {
        session: Box::new(session),
        announced: false,
    })
}
