//! The listing as JSON for scripts: one session object per line inside `[...]`.
//!
//! JSON carries the raw values read from files; only the table sanitises.

use std::io::{self, Write};

use serde::Serialize;

use crate::discover::Session;
use crate::search::Matches;

/// Writes `sessions` as a JSON array (`[]` when empty), one session object per line so
/// line tools work on it too, followed by a newline.
///
/// Errors: I/O errors from `out` (a broken pipe is the caller's to silence).
pub fn write_json(out: &mut dyn Write, sessions: &[&Session]) -> io::Result<()> {
    write_json_searched(out, sessions, None)
}

/// A row of `--search`: the session's fields and its `matches`.
#[derive(Serialize)]
struct SearchedRow<'a> {
    #[serde(flatten)]
    session: &'a Session,
    matches: &'a Matches,
}

/// [`write_json`]; with `matches` (one per session, in order, as `--search` gives them)
/// each row also has a `matches` object: `{"count": N, "snippets": [{"text", "role",
/// "timestamp", "subagent"}]}`. Rows without `--search` have no `matches` key.
///
/// Errors: as [`write_json`].
pub fn write_json_searched(
    out: &mut dyn Write,
    sessions: &[&Session],
    matches: Option<&[Matches]>,
) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    w.write_all(b"[")?;
    for (i, s) in sessions.iter().enumerate() {
        w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        match matches.and_then(|m| m.get(i)) {
            Some(m) => serde_json::to_writer(
                &mut w,
                &SearchedRow {
                    session: s,
                    matches: m,
                },
            )?,
            None => serde_json::to_writer(&mut w, s)?,
        }
    }
    w.write_all(if sessions.is_empty() {
        b"]\n"
    } else {
        b"\n]\n"
    })?;
    w.flush()
}
