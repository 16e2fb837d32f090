//! The listing job (`seance` with no `--talk`): scan, select, print. [`select`] is the
//! one selection pipeline: the listing, the picker, `--last` and a talk all choose their
//! sessions through it, so a filter added there applies to every one of them.

use std::collections::HashMap;
use std::io::{self, Write};

use anyhow::Result;
use chrono::Utc;

use crate::cli::SortKey;
use crate::config::{Config, Filters, account_matches};
use crate::discover::warnings::Warnings;
use crate::discover::{self, ScanOptions, Session};
use crate::search::{self, Depth, Matches};
use crate::util::say::{self, Kind};
pub mod json;
pub mod table;

use table::TableStyle;

/// Rows a listing shows when `-n` is not given.
pub const DEFAULT_RECENT: usize = 20;

/// The rows a listing shows, and what `--search` found in them.
#[derive(Debug, Default)]
pub struct Selection<'a> {
    /// The kept sessions, in display order, at most `recent` of them.
    pub rows: Vec<&'a Session>,
    /// How many sessions passed the filters before the cut.
    pub total: usize,
    /// With `--search`: each row's hits, in `rows`' order (full counts and snippets);
    /// empty without it.
    pub matches: Vec<Matches>,
    /// Problems met searching (unreadable files, over-long or corrupt lines).
    pub warnings: Warnings,
}

/// The selection pipeline: keeps the sessions that pass every filter ([`passes`]), one
/// copy per id (of an id several accounts hold, the copy active last among those that
/// pass, so `--account c` picks c's copy), ordered by `f.sort` newest first (sessions
/// without that time last, ties by id), at most `f.recent` of them (`None` =
/// [`DEFAULT_RECENT`], 0 = all). Returns the kept sessions and how many passed before
/// the cut. `--search` is one of the filters; [`select_searched`] also gives its hits.
pub fn select<'a>(sessions: &'a [Session], f: &Filters) -> (Vec<&'a Session>, usize) {
    let sel = select_searched(sessions, f);
    (sel.rows, sel.total)
}

/// [`select`], with what `--search` found in each row. The cheap filters run first and
/// only the sessions that pass them are searched; with a limit, sessions past it are
/// searched only until their first hit, and the kept rows then in full.
pub fn select_searched<'a>(sessions: &'a [Session], f: &Filters) -> Selection<'a> {
    let mut kept: Vec<&Session> = sessions.iter().filter(|s| passes(s, f)).collect();
    one_copy_per_id(&mut kept);
    let key = |s: &Session| match f.sort {
        SortKey::Active => s.last_active_at.or(s.started_at),
        SortKey::Started => s.started_at,
    };
    // Each row's key is read once, into a compact array the sort compares in, rather than
    // from two sessions scattered over the heap at every comparison.
    let mut keyed: Vec<_> = kept.iter().map(|s| (key(s), *s)).collect();
    keyed.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.session_id.cmp(&b.1.session_id))
    });
    kept.clear();
    kept.extend(keyed.into_iter().map(|(_, s)| s));
    let cut = f.recent.unwrap_or(DEFAULT_RECENT);
    let Some(pattern) = &f.search else {
        let total = kept.len();
        if cut > 0 {
            kept.truncate(cut);
        }
        return Selection {
            rows: kept,
            total,
            ..Selection::default()
        };
    };
    searched(kept, pattern, cut)
}

/// The `--search` part of [`select_searched`]: `kept` (filtered, one copy per id, in
/// order) searched, at most `cut` rows with hits kept (0 = all).
fn searched<'a>(kept: Vec<&'a Session>, pattern: &search::Pattern, cut: usize) -> Selection<'a> {
    let depth = if cut == 0 { Depth::All } else { Depth::Any };
    let mut warnings = Warnings::default();
    let mut hits: Vec<(&Session, Matches, Warnings)> = kept
        .iter()
        .zip(search::search_all(&kept, pattern, depth))
        .filter_map(|(s, (m, w))| match m {
            Some(m) => Some((*s, m, w)),
            None => {
                warnings.extend(w);
                None
            }
        })
        .collect();
    let total = hits.len();
    if cut > 0 {
        for (_, _, w) in hits.drain(cut.min(total)..) {
            warnings.extend(w);
        }
        // The rows shown were searched only to their first hit: now in full.
        let rows: Vec<&Session> = hits.iter().map(|h| h.0).collect();
        for (h, (m, w)) in hits
            .iter_mut()
            .zip(search::search_all(&rows, pattern, Depth::All))
        {
            h.1 = m.unwrap_or_default();
            h.2 = w;
        }
    }
    let mut sel = Selection {
        total,
        ..Selection::default()
    };
    for (s, m, w) in hits {
        sel.rows.push(s);
        sel.matches.push(m);
        warnings.extend(w);
    }
    sel.warnings = warnings;
    sel
}

/// True when `s` passes every filter in `f` but `--search` (the order and the cut
/// aside).
pub fn passes(s: &Session, f: &Filters) -> bool {
    let has = |field: Option<&str>, needle: &Option<String>| match needle {
        None => true,
        Some(n) => field.is_some_and(|v| v.to_lowercase().contains(n.as_str())),
    };
    has(s.actor.as_deref(), &f.role)
        && has(s.actor.as_deref(), &f.rig)
        && f.account
            .as_deref()
            .is_none_or(|a| account_matches(s.account.as_deref(), s.config_dir.as_deref(), a))
        && f.project
            .as_deref()
            .is_none_or(|p| s.cwd.as_deref().is_some_and(|c| c.contains(p)))
        && f.since
            .is_none_or(|t| s.last_active_at.or(s.started_at).is_some_and(|a| a >= t))
        && (has(s.title.as_deref(), &f.grep)
            || (f.grep.is_some() && has(s.first_prompt.as_deref(), &f.grep)))
}

/// Of the ids held by several accounts, keeps the copy active last (then the current
/// account's, then the first account's name); others are untouched.
fn one_copy_per_id(kept: &mut Vec<&Session>) {
    if kept.iter().all(|s| s.copies <= 1) {
        return;
    }
    let mut best: HashMap<&str, usize> = HashMap::new();
    for (i, s) in kept.iter().enumerate().filter(|(_, s)| s.copies > 1) {
        let better = |j: usize| {
            let o = kept[j];
            (
                s.last_active_at,
                s.current_account,
                std::cmp::Reverse(&s.account),
            ) > (
                o.last_active_at,
                o.current_account,
                std::cmp::Reverse(&o.account),
            )
        };
        match best.get(s.session_id.as_str()) {
            Some(&j) if !better(j) => {}
            _ => {
                best.insert(&s.session_id, i);
            }
        }
    }
    let mut i = 0;
    kept.retain(|s| {
        let keep = s.copies <= 1 || best.get(s.session_id.as_str()) == Some(&i);
        i += 1;
        keep
    });
}

/// Checks that `--account`, when given, names a known account.
///
/// Errors: it names none; the message lists the known names.
pub fn check_account(cfg: &Config) -> Result<()> {
    let Some(a) = &cfg.filters.account else {
        return Ok(());
    };
    let known = cfg
        .accounts
        .iter()
        .any(|acct| account_matches(Some(&acct.name), Some(&acct.config_dir), a));
    if !known {
        let names: Vec<String> = cfg
            .accounts
            .iter()
            .map(|a| crate::util::sanitize::for_terminal(&a.name).into_owned())
            .collect();
        anyhow::bail!(
            "no account named '{}' (known: {})",
            crate::util::sanitize::for_terminal(a),
            names.join(", ")
        );
    }
    Ok(())
}

/// Scans every account as a listing does (with the metadata cache), reporting a cache
/// that could not be written under `-v`.
pub fn scan_all(cfg: &Config) -> discover::Catalog {
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
    catalog
}

/// Runs the listing and returns the exit code (0; a closed stdout is not an error).
///
/// Errors: writing to stdout fails for a reason other than a broken pipe, or
/// `--account` names no known account.
pub fn run(cfg: &Config) -> Result<i32> {
    check_account(cfg)?;
    let catalog = scan_all(cfg);
    let sel = select_searched(&catalog.sessions, &cfg.filters);

    let result = print(cfg, &sel, catalog.sessions.len());
    say::with_stderr(Kind::Notice, |err| {
        let _ = cfg.warnings.report(cfg.verbose, err);
        let _ = catalog.warnings.report(cfg.verbose, err);
        let _ = sel.warnings.report(cfg.verbose, err);
    });
    // The process ends right after this: freeing tens of thousands of sessions one by
    // one would only delay the exit (about 5% of a warm listing).
    drop(sel);
    std::mem::forget(catalog);
    match result {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(anyhow::Error::new(e).context("writing the listing")),
    }
}

fn print(cfg: &Config, sel: &Selection, all: usize) -> io::Result<()> {
    let (rows, total) = (&sel.rows, sel.total);
    let matches = cfg.filters.search.as_ref().map(|_| sel.matches.as_slice());
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if cfg.json {
        return json::write_json_searched(&mut out, rows, matches);
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
        sort: cfg.filters.sort,
    };
    table::write_table_searched(
        &mut out,
        rows,
        matches,
        &style,
        &footer(rows, total, cfg.filters.sort),
    )
}

/// The footer under the table: how many rows of how many, the order, the marks, and
/// how to talk to one.
fn footer(rows: &[&Session], total: usize, sort: SortKey) -> String {
    let shown = if rows.len() < total {
        format!("{} of {total} sessions (-n 0 shows all)", rows.len())
    } else {
        format!("{total} session{}", if total == 1 { "" } else { "s" })
    };
    let order = match sort {
        SortKey::Active => "newest activity first",
        SortKey::Started => "newest start first",
    };
    format!(
        "{shown}, {order}. {}. Talk to one: seance --talk <ID or name> [-p \"question\"]; pick from a list: seance --talk; the newest: seance --last.",
        table::legend(rows)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn copy(id: &str, account: &str, active: &str) -> Session {
        let mut s = Session::new(id.to_owned());
        s.account = Some(account.into());
        s.config_dir = Some(std::path::PathBuf::from(format!("/accts/{account}")).into());
        s.last_active_at = Some(DateTime::parse_from_rfc3339(active).unwrap().to_utc());
        s.copies = 3;
        s
    }

    #[test]
    fn filters_choose_the_copy_of_an_id_several_accounts_hold() {
        let id = "46621448-3caa-4bbb-8ccc-123456789abc";
        let sessions = vec![
            copy(id, "a", "2026-03-01T00:00:00Z"),
            copy(id, "b", "2026-03-03T00:00:00Z"),
            copy(id, "c", "2026-03-02T00:00:00Z"),
        ];
        let all = Filters {
            recent: Some(0),
            ..Default::default()
        };
        let (rows, total) = select(&sessions, &all);
        assert_eq!(total, 1);
        assert_eq!(rows[0].account.as_deref(), Some("b"), "the newest copy");
        let c = Filters {
            account: Some("c".into()),
            ..all.clone()
        };
        let (rows, _) = select(&sessions, &c);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].account.as_deref(), Some("c"), "the filter's copy");
    }

    #[test]
    fn the_order_is_the_sort_key_newest_first() {
        let mut a = copy(
            "aaaa0000-0000-4000-8000-000000000000",
            "a",
            "2026-03-09T00:00:00Z",
        );
        a.started_at = Some(
            DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
                .unwrap()
                .to_utc(),
        );
        let mut b = copy(
            "bbbb0000-0000-4000-8000-000000000000",
            "a",
            "2026-03-05T00:00:00Z",
        );
        b.started_at = Some(
            DateTime::parse_from_rfc3339("2026-03-04T00:00:00Z")
                .unwrap()
                .to_utc(),
        );
        a.copies = 1;
        b.copies = 1;
        let sessions = vec![a, b];
        let mut f = Filters::default();
        let ids = |f: &Filters| -> Vec<char> {
            select(&sessions, f)
                .0
                .iter()
                .map(|s| s.session_id.chars().next().unwrap())
                .collect()
        };
        assert_eq!(ids(&f), ['a', 'b']);
        f.sort = SortKey::Started;
        assert_eq!(ids(&f), ['b', 'a']);
        f.recent = Some(1);
        assert_eq!(ids(&f), ['b']);
    }
}
