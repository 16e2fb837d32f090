//! Integration tests of the id resolver through the library API
//! (`seance::discover::resolve::{normalize, resolve}` over `seance::discover::scan`), on real
//! trees of accounts built in a temp dir.

mod list_support;

use std::path::{Path, PathBuf};

use seance::discover::accounts::{self, Account, Sources};
use seance::discover::resolve::{ResolveError, normalize, resolve};
use seance::discover::warnings::Warnings;
use seance::discover::{self, Catalog, ScanOptions};

use list_support::*;

/// Two ids sharing their first 8 characters, and a third sharing the first 4.
const TWIN_A: &str = "4662144a-3caa-4bbb-8ccc-123456789abc";
const TWIN_B: &str = "4662144a-9999-4bbb-8ccc-123456789abc";
const COUSIN: &str = "4662ffff-0000-4000-8000-000000000000";

struct World {
    _sb: Sandbox,
    accounts: Vec<Account>,
    events: PathBuf,
}

fn world() -> World {
    let sb = Sandbox::new();
    let other = account(&sb.home.join(".claude-other"));
    let ts = "2026-03-01T00:00:00Z";
    transcript(&sb.current, "-a", TWIN_A, convo("/a", ts, ts, "first twin"));
    transcript(&other, "-b", TWIN_B, convo("/b", ts, ts, "second twin"));
    transcript(&other, "-b", COUSIN, convo("/b", ts, ts, "cousin"));
    transcript(&sb.current, "-a", PLAIN, convo("/a", ts, ts, "plain"));
    // The same id as a file in both accounts: one session, the newer copy.
    transcript(&sb.current, "-a", AI, convo("/old", ts, ts, "older copy"));
    transcript(
        &other,
        "-b",
        AI,
        convo("/new", ts, "2026-03-09T00:00:00Z", "newer copy"),
    );
    let events = sb.root().join("events.jsonl");
    std::fs::write(
        &events,
        format!(
            "{{\"ts\":\"{ts}\",\"type\":\"session_start\",\"actor\":\"mayor\",\"payload\":{{\"session_id\":\"{EVONLY}\"}}}}\n"
        ),
    )
    .unwrap();
    let src = Sources {
        home: Some(sb.home.clone()),
        claude_config_dir: Some(sb.current.clone()),
        ..Default::default()
    };
    let mut w = Warnings::default();
    let accounts = accounts::collect(&src, &mut w);
    assert!(w.is_empty());
    assert_eq!(accounts.len(), 2);
    World {
        _sb: sb,
        accounts,
        events,
    }
}

fn scan(w: &World, want: Option<&(dyn Fn(&str) -> bool + Sync)>) -> Catalog {
    discover::scan(ScanOptions {
        accounts: &w.accounts,
        events_file: Some(&w.events),
        want,
        cache_file: None,
        exact_id: None,
    })
}

fn looked(w: &World) -> String {
    w.accounts
        .iter()
        .map(|a| a.config_dir.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn pick(w: &World, input: &str) -> Result<String, ResolveError> {
    let cat = scan(w, None);
    let prefix = normalize(input)?;
    resolve(&cat.sessions, &prefix, &looked(w)).map(|s| s.session_id.clone())
}

#[test]
fn full_ids_and_unique_prefixes_resolve() {
    let w = world();
    assert_eq!(pick(&w, TWIN_A).unwrap(), TWIN_A);
    assert_eq!(pick(&w, &TWIN_A.to_uppercase()).unwrap(), TWIN_A);
    assert_eq!(pick(&w, "4662144a-3").unwrap(), TWIN_A);
    assert_eq!(pick(&w, "4662f").unwrap(), COUSIN);
    assert_eq!(pick(&w, "dddd").unwrap(), PLAIN);
    // Copied from the table with its ellipsis.
    assert_eq!(pick(&w, "4662ffff…").unwrap(), COUSIN);
    assert_eq!(pick(&w, "4662ffff...").unwrap(), COUSIN);
    assert_eq!(pick(&w, " dddd0004 ").unwrap(), PLAIN);
    // A session known only from events resolves too.
    assert_eq!(pick(&w, &EVONLY[..6]).unwrap(), EVONLY);
}

#[test]
fn an_id_in_two_accounts_is_two_copies_not_an_ambiguity() {
    let w = world();
    let cat = scan(&w, None);
    let same: Vec<_> = cat.sessions.iter().filter(|s| s.session_id == AI).collect();
    assert_eq!(same.len(), 2, "each account's copy is kept");
    assert!(same.iter().all(|s| s.copies == 2));
    assert_eq!(pick(&w, "bbbb").unwrap(), AI);
    // Resolving picks the copy active last; the selection pipeline the same, unless a
    // filter picks another.
    let s = resolve(&cat.sessions, "bbbb", "x").unwrap();
    assert_eq!(s.account.as_deref(), Some(".claude-other"));
    assert_eq!(s.title.as_deref(), Some("newer copy"));
    let mut f = seance::config::Filters {
        recent: Some(0),
        ..Default::default()
    };
    let (rows, _) = seance::list::select(&cat.sessions, &f);
    let copy = |rows: &[&seance::discover::Session]| {
        let r: Vec<_> = rows.iter().filter(|s| s.session_id == AI).collect();
        assert_eq!(r.len(), 1);
        r[0].account.clone()
    };
    assert_eq!(copy(&rows).as_deref(), Some(".claude-other"));
    f.account = Some(".claude".into());
    let (rows, _) = seance::list::select(&cat.sessions, &f);
    assert_eq!(copy(&rows).as_deref(), Some(".claude"));
    let s = resolve(rows.iter().copied(), "bbbb", "x").unwrap();
    assert_eq!(s.title.as_deref(), Some("older copy"));
    // Even when a caller's list holds it twice.
    let mut twice = cat.sessions.clone();
    let copy = twice
        .iter()
        .find(|s| s.session_id == PLAIN)
        .unwrap()
        .clone();
    twice.push(copy);
    assert_eq!(resolve(&twice, "dddd", "x").unwrap().session_id, PLAIN);
}

#[test]
fn an_ambiguous_prefix_names_every_candidate() {
    let w = world();
    for (input, want) in [
        ("4662144a", vec![TWIN_A, TWIN_B]),
        ("4662", vec![TWIN_A, TWIN_B, COUSIN]),
    ] {
        match pick(&w, input) {
            Err(e @ ResolveError::Ambiguous { .. }) => {
                let ResolveError::Ambiguous { candidates, .. } = &e else {
                    unreachable!()
                };
                let got: Vec<&str> = candidates.iter().map(|c| c.0.as_str()).collect();
                assert_eq!(got, want);
                let msg = e.to_string();
                for id in &want {
                    assert!(msg.contains(id), "{id} not named: {msg}");
                }
                assert!(
                    msg.contains("first twin") && msg.contains("second twin"),
                    "{msg}"
                );
                assert!(
                    msg.contains(".claude ") || msg.contains(".claude\n"),
                    "{msg}"
                );
                assert!(msg.contains(".claude-other"), "{msg}");
            }
            other => panic!("{input}: {other:?}"),
        }
    }
}

#[test]
fn no_match_says_where_it_looked() {
    let w = world();
    match pick(&w, "0123") {
        Err(e @ ResolveError::NotFound { .. }) => {
            let msg = e.to_string();
            for a in &w.accounts {
                assert!(msg.contains(a.config_dir.to_str().unwrap()), "{msg}");
            }
            assert!(msg.contains("0123"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostile_input_is_rejected_before_any_file_is_read() {
    let w = world();
    for bad in [
        "../../etc/passwd",
        "4662/144a",
        "4662.144a",
        "4662 144a",
        "466",
        "…",
        "...",
        "4662\0abcd",
        "zzzz",
        &"a".repeat(37),
        "",
    ] {
        assert!(
            matches!(normalize(bad), Err(ResolveError::Invalid(_))),
            "{bad:?} accepted"
        );
        assert!(
            matches!(pick(&w, bad), Err(ResolveError::Invalid(_))),
            "{bad:?} accepted"
        );
    }
    // The message cannot drive a terminal.
    let msg = normalize("\x1b[31mabc/").unwrap_err().to_string();
    assert!(!msg.contains('\x1b'), "{msg:?}");
}

#[test]
fn a_wanted_prefix_limits_what_the_scan_reads() {
    let w = world();
    let want = |id: &str| id.starts_with("4662");
    let cat = scan(&w, Some(&want));
    let mut got: Vec<&str> = cat.sessions.iter().map(|s| s.session_id.as_str()).collect();
    got.sort();
    assert_eq!(got, [TWIN_A, TWIN_B, COUSIN]);
    let s = resolve(&cat.sessions, &normalize("4662f").unwrap(), "").unwrap();
    assert_eq!(s.transcript.as_deref().map(Path::exists), Some(true));
    assert_eq!(s.account.as_deref(), Some(".claude-other"));
}

#[test]
fn a_full_id_scan_finds_the_same_session_as_a_full_scan() {
    // The talk's fast path lists only folders holding <id>.jsonl and skips the events
    // file; what it finds must be what the full scan finds, and an id with no
    // transcript (events-only) must still be found through the fallback.
    let w = world();
    for id in [TWIN_A, TWIN_B, COUSIN, PLAIN, AI, EVONLY] {
        let want = |s: &str| s == id;
        let full = scan(&w, Some(&want));
        let fast = discover::scan(ScanOptions {
            accounts: &w.accounts,
            events_file: Some(&w.events),
            want: Some(&want),
            cache_file: None,
            exact_id: Some(id),
        });
        // Everything but what only events say (the fast path reads them only for a
        // missing cwd).
        let as_json = |c: &Catalog| {
            let mut v = serde_json::to_value(&c.sessions).unwrap();
            if !c.sessions[0].sources.contains(discover::Source::Transcript) {
                return v;
            }
            for row in v.as_array_mut().unwrap() {
                let row = row.as_object_mut().unwrap();
                for key in ["actor", "role", "topic", "sources"] {
                    row.remove(key);
                }
            }
            v
        };
        assert_eq!(as_json(&fast), as_json(&full), "{id}");
        // AI is a file in both accounts: two copies.
        let copies = if id == AI { 2 } else { 1 };
        assert_eq!(fast.sessions.len(), copies, "{id}");
    }
}
