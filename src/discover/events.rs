//! Reads Gas Town's `<town>/.events.jsonl` for `session_start` events, which say which
//! agent (actor, role) ran which session. The format is Gas Town's: one JSON object a
//! line, `{"ts": RFC 3339 UTC, "type": "session_start", "actor": "<rig>/crew/<name>",
//! "payload": {"session_id", "role", "topic"?, "cwd"?, ...}}`. Most lines are other event
//! types, some carry multi-MB payloads, and the file is appended to by other processes
//! while we read, so it is streamed a line at a time, lines past [`MAX_LINE`] are read
//! past without being held, and only lines that mention `session_start` are parsed.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use chrono::{DateTime, Utc};
use memchr::memmem;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::util::fsread::{Line, for_each_line_ended, open_regular};
use crate::util::timefmt::parse_timestamp;

/// A `session_start` event. Serialised only into seance's own events cache
/// ([`super::events_cache`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionStart {
    /// `payload.session_id`: usually a UUID, sometimes a fallback like `rig/crew/joe-4242`.
    pub session_id: String,
    /// `ts` (UTC).
    #[serde(with = "exact_time")]
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
    /// a string `payload.session_id`), over-long ones included.
    pub bad_lines: usize,
    /// Lines longer than [`MAX_LINE`] that may have been `session_start` events (their
    /// head says so) and were skipped unread.
    pub long_lines: usize,
}

/// Longest events line read, in bytes (16 MiB). Gas Town's lines carry payloads of
/// several megabytes at times (a `session_start` among them); longer lines are read
/// past without being held, so a file with no newline at all costs no more memory
/// than this.
pub const MAX_LINE: usize = 16 << 20;

/// Streams the events file at `path`: a regular file only (a FIFO or a device is an
/// `InvalidInput` error, never waited on), one line at a time, at most [`MAX_LINE`]
/// bytes of a line held.
///
/// Errors: I/O errors opening or reading it (a missing file is the caller's to ignore).
pub fn read_events(path: &Path) -> io::Result<Events> {
    let (file, _) = open_regular(path)?;
    Ok(read_on(&file, Events::default(), 0)?.0)
}

/// Where a read of an events file stopped: just past its last `\n`, and what the bytes
/// before that held. A last line without a `\n` (being written as we read) is not in
/// it: a later read resumes at `end` and reads that line again, whole by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Offset in bytes just past the last `\n` (0 when there is none).
    pub end: u64,
    /// How many of the read's `starts` come from lines before `end`.
    pub starts: usize,
    /// `bad_lines` of the lines before `end`.
    pub bad_lines: usize,
    /// `long_lines` of the lines before `end`.
    pub long_lines: usize,
}

/// Reads the rest of an events file from `file`'s current position, which is `at`
/// bytes into it and must be the start of a line, adding what the lines hold to
/// `prior` (what the bytes before `at` held); also gives the [`Mark`] to resume from.
/// The same rules as [`read_events`], so reading a file in two parts gives what one
/// read gives.
///
/// Errors: read errors.
pub fn read_on(file: &File, prior: Events, at: u64) -> io::Result<(Events, Mark)> {
    let reader = BufReader::with_capacity(256 * 1024, file);
    let finder = memmem::Finder::new(b"session_start");
    let mut out = prior;
    let mut torn = None;
    let ended_at = for_each_line_ended(reader, MAX_LINE, |line, ended| {
        if !ended {
            torn = Some(out.mark(0));
        }
        out.judge(&finder, line);
    })?;
    let mark = Mark {
        end: at + ended_at,
        ..torn.unwrap_or_else(|| out.mark(0))
    };
    Ok((out, mark))
}

impl Events {
    /// A [`Mark`] at `end` for what is held now.
    fn mark(&self, end: u64) -> Mark {
        Mark {
            end,
            starts: self.starts.len(),
            bad_lines: self.bad_lines,
            long_lines: self.long_lines,
        }
    }

    /// Counts or keeps one line (`finder` looks for `session_start`).
    fn judge(&mut self, finder: &memmem::Finder, line: Line) {
        let l = match line {
            Line::Whole(l) => l.trim_ascii(),
            Line::Long(head) => {
                let head = head.trim_ascii_start();
                if !head.starts_with(b"{") {
                    self.bad_lines += 1;
                } else if finder.find(head).is_some() {
                    self.bad_lines += 1;
                    self.long_lines += 1;
                }
                return;
            }
        };
        if l.is_empty() {
            return;
        }
        if !(l.starts_with(b"{") && l.ends_with(b"}")) {
            self.bad_lines += 1;
            return;
        }
        if finder.find(l).is_none() {
            return;
        }
        match serde_json::from_slice::<Value>(l) {
            Ok(v) => match session_start(&v) {
                Some(Some(s)) => self.starts.push(s),
                Some(None) => self.bad_lines += 1,
                None => {}
            },
            Err(_) => self.bad_lines += 1,
        }
    }
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

/// An instant as whole seconds and nanoseconds since the Unix epoch, so it comes back
/// exactly as it was parsed (chrono's own serde form is an RFC 3339 string, slower to
/// read back).
mod exact_time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        t.map(|t| (t.timestamp(), t.timestamp_subsec_nanos()))
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<(i64, u32)>::deserialize(d)? {
            None => Ok(None),
            Some((secs, nanos)) => DateTime::from_timestamp(secs, nanos)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("instant out of range")),
        }
    }
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

    #[test]
    fn over_long_lines_are_skipped_and_counted_in_bounded_memory() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let pad = "p".repeat(MAX_LINE);
        // A session_start too long to hold, one of another type, and binary garbage
        // with no newline at all.
        writeln!(
            f,
            r#"{{"type":"session_start","payload":{{"session_id":"x","pad":"{pad}"}}}}"#
        )
        .unwrap();
        writeln!(f, r#"{{"type":"mail","payload":{{"body":"{pad}"}}}}"#).unwrap();
        writeln!(
            f,
            r#"{{"type":"session_start","payload":{{"session_id":"kept"}}}}"#
        )
        .unwrap();
        f.write_all(&vec![0u8; 3 * MAX_LINE]).unwrap();
        let ev = read_events(f.path()).unwrap();
        assert_eq!(ev.starts.len(), 1);
        assert_eq!(ev.starts[0].session_id, "kept");
        assert_eq!((ev.bad_lines, ev.long_lines), (2, 1));
    }

    #[test]
    fn fifos_and_devices_are_refused_without_waiting() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("events");
        crate::util::fsread::make_fifo(&fifo);
        let e = read_events(&fifo).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = read_events(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
