//! `--last`: the newest predecessor among the sessions the filters select. Forks are
//! skipped (an earlier talk's fork is not a predecessor), and so is the session seance
//! runs inside, when an ancestor process is a live claude registered in an account's
//! `sessions/<pid>.json`.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Result;
use chrono::Utc;

use crate::config::Config;
use crate::discover::Session;
use crate::discover::accounts::Account;
use crate::list::{scan_all, select};
use crate::util::sanitize::for_terminal;

/// Largest `sessions/<pid>.json` read (Claude Code writes a few hundred bytes).
const MAX_REGISTRY_BYTES: u64 = 64 * 1024;

/// The newest session the filters select that can be talked to: not a fork, not the
/// session seance runs inside, and with a transcript.
///
/// Errors: none is left; the message says how many matched, what was skipped, where
/// seance looked and which filters applied.
pub fn newest(cfg: &Config) -> Result<Session> {
    let catalog = scan_all(cfg);
    crate::util::say::with_stderr(crate::util::say::Kind::Detail, |err| {
        let _ = catalog.warnings.report(true, err);
    });
    let mut filters = cfg.filters.clone();
    filters.recent = Some(0);
    let (rows, total) = select(&catalog.sessions, &filters);
    let own = own_sessions(&cfg.accounts, &crate::platform::ancestors::ancestors());
    let chosen = rows
        .iter()
        .find(|s| s.forked_from.is_none() && !own.contains(&s.session_id) && s.transcript.is_some())
        .map(|s| (*s).clone());
    let Some(s) = chosen else {
        let forks = rows.iter().filter(|s| s.forked_from.is_some()).count();
        let inside = rows.iter().filter(|s| own.contains(&s.session_id)).count();
        let why = if total == 0 {
            "no session matches".to_owned()
        } else {
            format!(
                "none of the {total} matching sessions is one: {forks} are forks, {inside} run this seance, the others have no transcript"
            )
        };
        anyhow::bail!(
            "no predecessor for --last: {why} (looked in {})",
            super::looked(cfg)
        );
    };
    drop(rows);
    // Freeing a whole catalog only delays the talk.
    std::mem::forget(catalog);
    Ok(s)
}

/// Says on stderr, in one sanitised line, which session `--last` chose.
pub fn say_choice(s: &Session) {
    let title = crate::list::table::shown_title(s);
    let active = s
        .last_active_at
        .map(|t| format!(", active {}", crate::util::timefmt::age(&t, Utc::now())))
        .unwrap_or_default();
    crate::util::say::emit(
        crate::util::say::Kind::Notice,
        &[format!(
            "--last chose session {} from account {}{active}: {}",
            for_terminal(&s.session_id),
            for_terminal(s.account.as_deref().unwrap_or("?")),
            title
        )],
    );
}

/// Ids of the sessions run by `pids` (seance's ancestors), as registered in any
/// account's `sessions/<pid>.json` (Claude Code's live-session registry: `pid`,
/// `sessionId`, ...). A file that is missing, too big, not JSON, or names another pid
/// is ignored.
pub fn own_sessions(accounts: &[Account], pids: &[u32]) -> HashSet<String> {
    let mut ids = HashSet::new();
    for pid in pids {
        for a in accounts {
            if let Some(id) = registered(&a.config_dir, *pid) {
                ids.insert(id);
            }
        }
    }
    ids
}

/// The session id `<config_dir>/sessions/<pid>.json` registers for `pid`.
fn registered(config_dir: &Path, pid: u32) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        pid: Option<u64>,
        #[serde(rename = "sessionId")]
        session_id: Option<String>,
    }
    let path = config_dir.join("sessions").join(format!("{pid}.json"));
    let bytes = crate::util::fsread::read_capped(&path, MAX_REGISTRY_BYTES).ok()?;
    let e: Entry = serde_json::from_slice(&bytes).ok()?;
    if e.pid.is_some_and(|p| p != u64::from(pid)) {
        return None;
    }
    e.session_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_sessions_of_ancestors_are_found() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("acct");
        std::fs::create_dir_all(dir.join("sessions")).unwrap();
        std::fs::write(
            dir.join("sessions/4242.json"),
            r#"{"pid":4242,"sessionId":"s-1","cwd":"/w","startedAt":1}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("sessions/77.json"),
            r#"{"pid":78,"sessionId":"s-2"}"#,
        )
        .unwrap();
        std::fs::write(dir.join("sessions/5.json"), "not json").unwrap();
        let acct = Account {
            name: "a".into(),
            config_dir: dir.clone(),
            canonical: dir.clone(),
            projects: None,
            current: true,
            origin: crate::discover::accounts::Origin::Current,
        };
        let ids = own_sessions(&[acct], &[5, 77, 4242, 9]);
        assert_eq!(ids, HashSet::from(["s-1".to_owned()]));
    }
}
