//! The listing as JSON for scripts: one session object per line inside `[...]`.
//!
//! JSON carries the raw values read from files; only the table sanitises.

use std::io::{self, Write};

use crate::discover::Session;

/// Writes `sessions` as a JSON array (`[]` when empty), one session object per line so
/// line tools work on it too, followed by a newline.
///
/// Errors: I/O errors from `out` (a broken pipe is the caller's to silence).
pub fn write_json(out: &mut dyn Write, sessions: &[&Session]) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    w.write_all(b"[")?;
    for (i, s) in sessions.iter().enumerate() {
        w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut w, s)?;
    }
    w.write_all(if sessions.is_empty() {
        b"]\n"
    } else {
        b"\n]\n"
    })?;
    w.flush()
}
