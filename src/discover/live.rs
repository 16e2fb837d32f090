//! Live sessions: the claudes running right now, from each account's registry.
//!
//! Every running claude (2.1.197 and 2.1.332, checked) writes
//! `<config>/sessions/<pid>.json` with at least `pid`, `sessionId`, `cwd`, `startedAt`
//! (ms since the Unix epoch), `kind` (`interactive`, `bg`, ...) and `status` (`idle`,
//! `busy`, `waiting`), and removes it on a clean exit. A crash leaves the file behind,
//! and the pid may since have gone to another process, so an entry counts only while its
//! pid runs and that process started when the entry says claude did: `startedAt` is
//! written once claude is up, which took 2 to 5 s after the process started on a loaded
//! machine here, so the process must have started at most [`STARTED_BEFORE`] before it
//! and no later than [`CLOCK_SLACK`] after it. Where the platform layer gives no start
//! time ([`crate::platform::proc_clock::started_at`]), a running pid is all there is.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::Live;
use super::accounts::Account;
use crate::link::ledger::ProcId;

/// Registry files larger than this (64 KiB) are not read: claude's are under 1 KiB.
const MAX_ENTRY: u64 = 64 * 1024;

/// At most this many registry files are read per account.
const MAX_ENTRIES: usize = 4096;

/// How long before its `startedAt` a claude's process may have started (slow start-up).
pub const STARTED_BEFORE: Duration = Duration::from_secs(300);

/// How long after its `startedAt` a claude's process may seem to have started: tick
/// granularity (10 ms) and a wall clock stepped since.
pub const CLOCK_SLACK: Duration = Duration::from_secs(2);

#[derive(Deserialize)]
struct Entry {
    pid: Option<u32>,
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
    #[serde(rename = "startedAt")]
    started_at: Option<serde_json::Number>,
    status: Option<serde_json::Value>,
    kind: Option<serde_json::Value>,
}

/// Every session some account's registry shows as running now, by session id. An
/// unreadable or malformed entry is skipped without a warning: claude rewrites these
/// files on every status change, so one caught half-written is nothing to report.
pub fn running(accounts: &[Account]) -> HashMap<String, Live> {
    let mut seen = HashSet::new();
    let mut out: HashMap<String, (Live, u64)> = HashMap::new();
    for acct in accounts {
        if !seen.insert(acct.canonical.clone()) {
            continue;
        }
        for (id, live, started) in read_registry(&acct.config_dir.join("sessions")) {
            // Two claudes on one session (a plain --resume twice): the later one.
            match out.get(&id) {
                Some((_, s)) if *s >= started => {}
                _ => {
                    out.insert(id, (live, started));
                }
            }
        }
    }
    out.into_iter().map(|(id, (live, _))| (id, live)).collect()
}

/// The live entries of one `sessions/` directory: session id, [`Live`], `startedAt`.
fn read_registry(dir: &Path) -> Vec<(String, Live, u64)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .filter(|e| {
            e.file_name().to_str().is_some_and(|n| {
                n.strip_suffix(".json")
                    .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .take(MAX_ENTRIES)
        .filter_map(|e| read_entry(&e.path()))
        .collect()
}

fn read_entry(path: &Path) -> Option<(String, Live, u64)> {
    let bytes = crate::util::fsread::read_capped(path, MAX_ENTRY).ok()?;
    let e: Entry = serde_json::from_slice(&bytes).ok()?;
    let pid = e.pid?;
    let started_ms = e.started_at.as_ref().and_then(serde_json::Number::as_u64);
    if !is_that_claude(pid, started_ms) {
        return None;
    }
    let text = |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(str::to_owned));
    let live = Live {
        pid,
        status: text(e.status),
        kind: text(e.kind),
    };
    Some((e.session_id?, live, started_ms.unwrap_or(0)))
}

/// Whether `pid` runs and is the claude that registered at `started_ms` (ms since the
/// Unix epoch): see the module's documentation.
pub fn is_that_claude(pid: u32, started_ms: Option<u64>) -> bool {
    let Some(proc_id) = ProcId::of(pid) else {
        return false;
    };
    let Some(began) = crate::platform::proc_clock::started_at(proc_id.start_time) else {
        return true;
    };
    let Some(registered) =
        started_ms.and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
    else {
        // Nothing to check the process against: it may be anyone's now.
        return false;
    };
    started_within(began, registered)
}

/// Whether a process that began at `began` can be the claude that registered at
/// `registered`.
fn started_within(began: SystemTime, registered: SystemTime) -> bool {
    match registered.duration_since(began) {
        Ok(before) => before <= STARTED_BEFORE,
        Err(after) => after.duration() <= CLOCK_SLACK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: SystemTime) -> u64 {
        u64::try_from(t.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
    }

    #[test]
    fn window_around_started_at() {
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert!(started_within(t, t));
        assert!(started_within(t, t + Duration::from_secs(4)));
        assert!(started_within(t + Duration::from_millis(1500), t));
        assert!(
            !started_within(t + Duration::from_secs(3), t),
            "started after"
        );
        assert!(
            !started_within(t, t + Duration::from_secs(3600)),
            "long before"
        );
    }

    #[test]
    fn this_process_is_itself_and_a_dead_pid_is_nobody() {
        let me = std::process::id();
        let now = ms(SystemTime::now());
        // Registered "now": this test process started well within five minutes of it.
        assert!(is_that_claude(me, Some(now)));
        if crate::platform::proc_clock::started_at(ProcId::current().start_time).is_some() {
            assert!(
                !is_that_claude(me, Some(now - 3_600_000)),
                "registered an hour ago"
            );
            assert!(!is_that_claude(me, None));
        }
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!is_that_claude(pid, Some(now)));
    }

    #[test]
    fn registry_files_are_read_bounded_and_leniently() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let now = ms(SystemTime::now());
        let good = format!(
            r#"{{"pid":{me},"sessionId":"s-live","startedAt":{now},"status":"busy","kind":"interactive","more":[1]}}"#
        );
        fs::write(dir.path().join(format!("{me}.json")), good).unwrap();
        fs::write(dir.path().join("12.json"), "{half").unwrap();
        fs::write(dir.path().join(format!("{me}.abc.key")), "k").unwrap();
        fs::write(dir.path().join("notes.json"), "{}").unwrap();
        fs::create_dir(dir.path().join("13.json")).unwrap();
        let got = read_registry(dir.path());
        assert_eq!(got.len(), 1, "{got:?}");
        let (id, live, started) = &got[0];
        assert_eq!(id, "s-live");
        assert_eq!(*started, now);
        assert_eq!(
            *live,
            Live {
                pid: me,
                status: Some("busy".into()),
                kind: Some("interactive".into())
            }
        );
    }
}
