//! Streams a transcript through a fixed buffer and hands over only the lines the raw
//! pattern hits, as ripgrep does: the pattern runs over many lines at once, and a line is
//! cut out only around a hit. The file is never held whole; a line longer than
//! [`LINE_CAP`] is skipped, read past without being kept.

use std::io::{self, Read};
use std::ops::ControlFlow;

/// The longest line searched: 16 MiB. A longer line (Claude Code has written single lines
/// of several MB; a broken writer could write one of any size) is read past, neither
/// searched nor kept, so memory stays bounded whatever the file holds.
pub const LINE_CAP: usize = 16 << 20;

/// Bytes asked of each read (256 KiB).
const CHUNK: usize = 256 << 10;

/// What one pass over a file met besides its hits.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Passed {
    /// Lines longer than [`LINE_CAP`], skipped.
    pub huge_lines: usize,
}

/// A read buffer kept between files by one thread: it grows with the longest line met,
/// never past [`LINE_CAP`] and one read, and is kept rather than freed and taken again
/// (which fragments the heap of a multi-threaded process).
#[derive(Debug, Default)]
pub struct Buffer {
    data: Vec<u8>,
}

/// Reads `file` to its end and calls `on_line` with each line (without its `\n`) that
/// `raw` matches, and where in the line the leftmost match starts, in order; stops early
/// when `on_line` breaks. A last line without a
/// newline (a file being written, or one that shrank while read) is searched too.
///
/// Errors: read errors; the lines handed over before one stay handed over.
pub fn hits(
    file: &mut dyn Read,
    raw: &regex::bytes::Regex,
    buf: &mut Buffer,
    on_line: &mut dyn FnMut(&[u8], usize) -> ControlFlow<()>,
) -> io::Result<Passed> {
    let mut passed = Passed::default();
    let mut filled = 0;
    // Inside a line over the cap: drop bytes up to its end.
    let mut skipping = false;
    loop {
        if buf.data.len() - filled < CHUNK {
            // Double, but never past what one line under the cap and a read need.
            let want = (buf.data.len() * 2)
                .clamp(CHUNK * 2, LINE_CAP + CHUNK)
                .max(filled + CHUNK);
            buf.data.resize(want, 0);
        }
        let n = read_some(file, &mut buf.data[filled..])?;
        let eof = n == 0;
        let new = filled;
        filled += n;
        let mut start = 0;
        if skipping {
            match memchr::memchr(b'\n', &buf.data[new..filled]) {
                Some(i) => {
                    start = new + i + 1;
                    skipping = false;
                }
                None => {
                    filled = 0;
                    if eof {
                        return Ok(passed);
                    }
                    continue;
                }
            }
        }
        // Search whole lines only; the tail waits for the rest of its line.
        let complete =
            memchr::memrchr(b'\n', &buf.data[start..filled]).map_or(start, |i| start + i + 1);
        let end = if !eof {
            complete
        } else if filled - complete > LINE_CAP {
            passed.huge_lines += 1;
            complete
        } else {
            filled
        };
        if search(&buf.data[..end], start, raw, &mut passed, on_line).is_break() {
            return Ok(passed);
        }
        if eof {
            return Ok(passed);
        }
        buf.data.copy_within(end..filled, 0);
        filled -= end;
        if filled > LINE_CAP {
            passed.huge_lines += 1;
            skipping = true;
            filled = 0;
        }
    }
}

/// Hands `on_line` each line of `region[start..]` (complete lines, the last one possibly
/// without its `\n`) that `raw` matches, but for lines over the cap, which are counted.
fn search(
    region: &[u8],
    start: usize,
    raw: &regex::bytes::Regex,
    passed: &mut Passed,
    on_line: &mut dyn FnMut(&[u8], usize) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut at = start;
    while at < region.len() {
        let Some(m) = raw.find_at(region, at) else {
            break;
        };
        // `raw` never matches a line break, so the hit lies within one line.
        let line_start = memchr::memrchr(b'\n', &region[at..m.start()]).map_or(at, |i| at + i + 1);
        let line_end =
            memchr::memchr(b'\n', &region[m.end()..]).map_or(region.len(), |i| m.end() + i);
        if line_end - line_start > LINE_CAP {
            passed.huge_lines += 1;
        } else {
            on_line(&region[line_start..line_end], m.start() - line_start)?;
        }
        at = line_end + 1;
    }
    ControlFlow::Continue(())
}

/// One read, retried when interrupted.
fn read_some(file: &mut dyn Read, into: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(into) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], pat: &str) -> (Vec<Vec<u8>>, Passed) {
        let raw = regex::bytes::Regex::new(pat).unwrap();
        let mut got = Vec::new();
        let mut buf = Buffer::default();
        let passed = hits(&mut &input[..], &raw, &mut buf, &mut |l, at| {
            assert!(raw.find(l).is_some_and(|m| m.start() == at));
            got.push(l.to_vec());
            ControlFlow::Continue(())
        })
        .unwrap();
        (got, passed)
    }

    #[test]
    fn hands_over_hit_lines_across_buffer_edges() {
        let mut input = Vec::new();
        for i in 0..40_000 {
            input.extend_from_slice(format!("line {i} filler filler filler\n").as_bytes());
        }
        input.extend_from_slice(b"last needle");
        let (got, passed) = collect(&input, "needle|line 39999 ");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], b"line 39999 filler filler filler");
        assert_eq!(got[1], b"last needle");
        assert_eq!(passed.huge_lines, 0);
        let (got, _) = collect(&input, "9 f");
        assert_eq!(got.len(), 4000);
    }

    #[test]
    fn lines_over_the_cap_are_skipped() {
        let mut input = b"a needle\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', LINE_CAP + 10));
        input.extend_from_slice(b" needle\nb needle\n");
        input.extend(std::iter::repeat_n(b'y', LINE_CAP + CHUNK * 3));
        input.extend_from_slice(b"needle");
        let (got, passed) = collect(&input, "needle");
        assert_eq!(got, [b"a needle".to_vec(), b"b needle".to_vec()]);
        assert_eq!(passed.huge_lines, 2);
    }
}
