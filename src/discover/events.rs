//! Reads Gas Town's `<town>/.events.jsonl` for `session_start` events, which say which
//! agent (actor, role) ran which session. The format is Gas Town's: one JSON object a
//! line, `{"ts": RFC 3339 UTC, "type": "session_start", "actor": "<rig>/crew/<name>",
//! "payload": {"session_id", "role", "topic"?, "cwd"?, ...}}`. Most lines are other event
//! types, some carry multi-MB payloads, and the file is appended to by other processes
//! while we read, so it is streamed with no line-length limit and only lines that
//! mention `session_start` are parsed.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use chrono::{DateTime, Utc};
use memchr::memmem;
use serde_json::Value;

use crate::util::timefmt::parse_timestamp;

/// A `session_start` event.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStart {
    /// `payload.session_id`: usually a UUID, sometimes a fallback like `rig/crew/joe-4242`.
    pub session_id: String,
    /// `ts` (UTC).
    pub ts: Option<DateTime<Utc>>,
    /// `actor`, e.g. `gastown/crew/joe`.
    pub actor: Option<String>,
    /// `payload.role`.
    pub role: Option<String>,
    /// `payload.topic` (patrol roles only).
    pub topic: Option<String>,
    /// `payload.cwd`, when known.
    pub cwd: Option<String>,
}

/// What reading an events file found.
#[derive(Debug, Default)]
pub struct Events {
    /// `session_start` events in file order.
    pub starts: Vec<SessionStart>,
    /// Lines that were not valid events (not JSON objects, or a `session_start` without
    /// a string `payload.session_id`).
    pub bad_lines: usize,
}

/// Streams the events file at `path`.
///
/// Errors: I/O errors opening or reading it (a missing file is the caller's to ignore).
pub fn read_events(path: &Path) -> io::Result<Events> {
    let file = File::open(path)?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let finder = memmem::Finder::new(b"session_start");
    let mut out = Events::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let l = line.trim_ascii();
        if l.is_empty() {
            continue;
        }
        if !(l.starts_with(b"{") && l.ends_with(b"}")) {
            out.bad_lines += 1;
            continue;
        }
        if finder.find(l).is_none() {
            continue;
        }
        match serde_json::from_slice::<Value>(l) {
            Ok(v) => match session_start(&v) {
                Some(Some(s)) => out.starts.push(s),
                Some(None) => out.bad_lines += 1,
                None => {}
            },
            Err(_) => out.bad_lines += 1,
        }
    }
    Ok(out)
}

/// `None`: not a session_start. `Some(None)`: a broken one. `Some(Some(_))`: a good one.
fn session_start(v: &Value) -> Option<Option<SessionStart>> {
    if v.get("type").and_then(Value::as_str) != Some("session_start") {
        return None;
    }
    let payload = v.get("payload");
    let p = |k: &str| {
        payload
            .and_then(|p| p.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let Some(session_id) = p("session_id") else {
        return Some(None);
    };
    Some(Some(SessionStart {
        session_id,
        ts: v
            .get("ts")
            .and_then(Value::as_str)
            .and_then(parse_timestamp),
        actor: v.get("actor").and_then(Value::as_str).map(str::to_owned),
        role: p("role"),
        topic: p("topic"),
        cwd: p("cwd"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_session_starts_and_counts_bad_lines() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let big = "m".repeat(3 * 1024 * 1024);
        writeln!(f, r#"{{"ts":"2026-04-30T13:02:38Z","source":"gt","type":"session_start","actor":"gastown/crew/joe","payload":{{"actor_pid":"x","cwd":"/gt/joe","role":"gastown/crew/joe","session_id":"46621448-3caa-4bbb-8ccc-123456789abc"}},"visibility":"feed"}}"#).unwrap();
        writeln!(f, r#"{{"ts":"2026-04-30T13:03:00Z","type":"mail","actor":"mayor","payload":{{"body":"{big}"}}}}"#).unwrap();
        writeln!(f, "not json at all").unwrap();
        writeln!(
            f,
            r#"{{"type":"session_start","payload":{{"session_id":42}}}}"#
        )
        .unwrap();
        writeln!(f, r#"{{"type":"session_start","payload":"#).unwrap();
        writeln!(f, r#"{{"ts":"bad","type":"session_start","actor":"deacon","payload":{{"session_id":"deacon-1","role":"deacon","topic":"patrol"}}}}"#).unwrap();
        f.write_all(
            br#"{"type":"session_start","actor":"x","payload":{"session_id":"no-newline"}}"#,
        )
        .unwrap();
        let ev = read_events(f.path()).unwrap();
        assert_eq!(ev.bad_lines, 3);
        let ids: Vec<_> = ev.starts.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "46621448-3caa-4bbb-8ccc-123456789abc",
                "deacon-1",
                "no-newline"
            ]
        );
        assert_eq!(ev.starts[0].actor.as_deref(), Some("gastown/crew/joe"));
        assert_eq!(ev.starts[0].cwd.as_deref(), Some("/gt/joe"));
        assert!(ev.starts[0].ts.is_some());
        assert_eq!(ev.starts[1].topic.as_deref(), Some("patrol"));
        assert_eq!(ev.starts[1].ts, None);
    }
}
