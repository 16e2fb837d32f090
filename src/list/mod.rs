//! The listing job (`seance` with no `--talk`): scan, filter, sort, print.

use std::io::{self, Write};

use anyhow::Result;
use chrono::Utc;

use crate::config::{Config, Filters, account_matches};
use crate::discover::{self, ScanOptions, Session};
use crate::util::say::{self, Kind};
pub mod json;
pub mod table;

use table::TableStyle;

/// Keeps the sessions that pass every filter, newest first by `started_at` (sessions
/// with no start time last, ties by id), at most `recent` of them (0 = all). Returns the
/// kept sessions and how many passed the filters before the cut.
pub fn select<'a>(sessions: &'a [Session], f: &Filters) -> (Vec<&'a Session>, usize) {
    let has = |field: Option<&str>, needle: &Option<String>| match needle {
        None => true,
        Some(n) => field.is_some_and(|v| v.to_lowercase().contains(n.as_str())),
    };
    let mut kept: Vec<&Session> = sessions
        .iter()
        .filter(|s| has(s.actor.as_deref(), &f.role))
        .filter(|s| has(s.actor.as_deref(), &f.rig))
        .filter(|s| {
            f.account
                .as_deref()
                .is_none_or(|a| account_matches(s.account.as_deref(), s.config_dir.as_deref(), a))
        })
        .filter(|s| {
            f.project
                .as_deref()
                .is_none_or(|p| s.cwd.as_deref().is_some_and(|c| c.contains(p)))
        })
        .filter(|s| {
            f.since
                .is_none_or(|t| s.last_active_at.or(s.started_at).is_some_and(|a| a >= t))
        })
        .filter(|s| {
            has(s.title.as_deref(), &f.grep)
                || (f.grep.is_some() && has(s.first_prompt.as_deref(), &f.grep))
        })
        .collect();
    kept.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then_with(|| a.session_id.cmp(&b.session_id))
    });
    let total = kept.len();
    if f.recent > 0 {
        kept.truncate(f.recent);
    }
    (kept, total)
}

/// Runs the listing and returns the exit code (0; a closed stdout is not an error).
///
/// Errors: writing to stdout fails for a reason other than a broken pipe, or
/// `--account` names no known account.
pub fn run(cfg: &Config) -> Result<i32> {
    if let Some(a) = &cfg.filters.account {
        let known = cfg
            .accounts
            .iter()
            .any(|acct| account_matches(Some(&acct.name), Some(&acct.config_dir), a));
        if !known {
            use crate::util::sanitize::for_terminal;
            let names: Vec<_> = cfg.accounts.iter().map(|a| for_terminal(&a.name)).collect();
            anyhow::bail!(
                "no account named '{}' (known: {})",
                for_terminal(a),
                names.join(", ")
            );
        }
    }
    let catalog = discover::scan(ScanOptions {
        accounts: &cfg.accounts,
        events_file: cfg.events_file.as_deref(),
        want: None,
        cache_file: cfg.cache_file.as_deref(),
        exact_id: None,
    });
    if let Some(e) = &catalog.cache_error {
        say::detail(&format!("note: {e}"));
    }
    let (rows, total) = select(&catalog.sessions, &cfg.filters);

    let result = print(cfg, &rows, total, catalog.sessions.len());
    say::with_stderr(Kind::Notice, |err| {
        let _ = cfg.warnings.report(cfg.verbose, err);
        let _ = catalog.warnings.report(cfg.verbose, err);
    });
    // The process ends right after this: freeing tens of thousands of sessions one by
    // one would only delay the exit (about 5% of a warm listing).
    drop(rows);
    std::mem::forget(catalog);
    match result {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(anyhow::Error::new(e).context("writing the listing")),
    }
}

fn print(cfg: &Config, rows: &[&Session], total: usize, all: usize) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if cfg.json {
        return json::write_json(&mut out, rows);
    }
    if rows.is_empty() {
        if all == 0 {
            writeln!(out, "No sessions found. Looked in: {}.", cfg.looked())?;
        } else {
            writeln!(
                out,
                "No sessions match the filters ({all} sessions in all)."
            )?;
        }
        return Ok(());
    }
    let style = TableStyle {
        width: cfg.width,
        color: cfg.color,
        home: cfg.home.clone(),
        now: Utc::now(),
    };
    table::write_table(&mut out, rows, &style)?;
    let shown = if rows.len() < total {
        format!("{} of {total} sessions (-n 0 shows all)", rows.len())
    } else {
        format!("{total} session{}", if total == 1 { "" } else { "s" })
    };
    writeln!(
        out,
        "\n{shown}. * = current account. Talk to one: seance --talk <ID> [-p \"question\"]"
    )
}
