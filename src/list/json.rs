//! The listing as JSON for scripts: one session object per line inside `[...]`.
//!
//! JSON carries the raw values read from files; only the table sanitises.

use std::io::{self, Write};

use rayon::prelude::*;
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

/// Rows serialised at once (in parallel) before they are written: bounds the memory a
/// listing of any size holds to about this many rows of output.
const BATCH_ROWS: usize = 2048;

/// Rows one parallel task serialises.
const CHUNK_ROWS: usize = 256;

/// [`write_json`]; with `matches` (one per session, in order, as `--search` gives them)
/// each row also has a `matches` object: `{"count": N, "snippets": [{"text", "role",
/// "timestamp", "subagent"}]}`. Rows without `--search` have no `matches` key.
///
/// Rows are serialised on every core, a batch at a time, and written in order.
///
/// Errors: as [`write_json`].
pub fn write_json_searched(
    out: &mut dyn Write,
    sessions: &[&Session],
    matches: Option<&[Matches]>,
) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    w.write_all(b"[")?;
    // One buffer per chunk of a batch, reused by every batch: fresh buffers for each
    // would touch new pages (a page fault each) for every row of the output.
    let mut bufs: Vec<Vec<u8>> = Vec::new();
    for (b, batch) in sessions.chunks(BATCH_ROWS).enumerate() {
        let first = b * BATCH_ROWS;
        let n = batch.len().div_ceil(CHUNK_ROWS);
        if bufs.len() < n {
            bufs.resize_with(n, || Vec::with_capacity(batch.len().min(CHUNK_ROWS) * 1024));
        }
        bufs[..n]
            .par_iter_mut()
            .zip(batch.par_chunks(CHUNK_ROWS))
            .enumerate()
            .try_for_each(|(c, (buf, rows))| {
                buf.clear();
                serialize_rows(buf, rows, first + c * CHUNK_ROWS, matches)
            })?;
        for buf in &bufs[..n] {
            w.write_all(buf)?;
        }
    }
    w.write_all(if sessions.is_empty() {
        b"]\n"
    } else {
        b"\n]\n"
    })?;
    w.flush()
}

/// Appends to `buf` the rows `sessions`, the first of which is row `first` of the
/// listing, each preceded by the separator it needs (`\n` for the listing's first row,
/// else `,\n`).
fn serialize_rows(
    buf: &mut Vec<u8>,
    sessions: &[&Session],
    first: usize,
    matches: Option<&[Matches]>,
) -> io::Result<()> {
    for (k, s) in sessions.iter().enumerate() {
        let i = first + k;
        buf.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        match matches.and_then(|m| m.get(i)) {
            Some(m) => serde_json::to_writer(
                &mut *buf,
                &SearchedRow {
                    session: s,
                    matches: m,
                },
            )?,
            None => serde_json::to_writer(&mut *buf, s)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sessions numbered 0..n, each with a title that needs escaping.
    fn sessions(n: usize) -> Vec<Session> {
        (0..n)
            .map(|i| {
                let mut s = Session::new(format!("{i:08x}-0000-4000-8000-000000000000"));
                s.title = Some(format!("row \"{i}\"\n\u{1b}[31m"));
                s
            })
            .collect()
    }

    #[test]
    fn batches_are_written_in_order_one_row_a_line() {
        // Over two batches, with a last chunk and a last batch that are not full.
        let n = 2 * BATCH_ROWS + CHUNK_ROWS + 3;
        let all = sessions(n);
        let rows: Vec<&Session> = all.iter().collect();
        let mut out = Vec::new();
        write_json(&mut out, &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), n + 2, "[, one line per row, ]");
        assert_eq!((lines[0], lines[n + 1]), ("[", "]"));
        for (i, line) in lines[1..=n].iter().enumerate() {
            let row = line.strip_suffix(',').unwrap_or(line);
            assert_eq!(i + 1 < n, line.ends_with(','), "row {i}: separator");
            assert_eq!(*row, serde_json::to_string(&all[i]).unwrap(), "row {i}");
        }
        let parsed: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.len(), n);
    }

    #[test]
    fn each_row_gets_its_own_matches() {
        let n = BATCH_ROWS + 7;
        let all = sessions(n);
        let rows: Vec<&Session> = all.iter().collect();
        let matches: Vec<Matches> = (0..n)
            .map(|i| Matches {
                count: i,
                ..Matches::default()
            })
            .collect();
        let mut out = Vec::new();
        write_json_searched(&mut out, &rows, Some(&matches)).unwrap();
        let parsed: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
        for (i, row) in parsed.iter().enumerate() {
            assert_eq!(row["matches"]["count"], i, "row {i}");
            assert_eq!(row["session_id"], all[i].session_id.as_str());
        }
    }

    #[test]
    fn no_rows_is_an_empty_array() {
        let mut out = Vec::new();
        write_json(&mut out, &[]).unwrap();
        assert_eq!(out, b"[]\n");
    }
}
