//! A cache of what the last read of Gas Town's events file found, so a listing reads
//! only the lines appended since. The file is append-only in Gas Town's use and grows
//! to tens of MB; reading and scanning it whole was the slowest part of a warm listing.
//!
//! The cache file, `events.bin` beside the transcript metadata cache, holds the events
//! file's path, device and inode, the offset just past the last `\n` the read met
//! ([`Mark::end`]), CRC-32s of the 4 KiB at the start of the file and of the 4 KiB just
//! before that offset, and what the lines before the offset held (their
//! `session_start` events and bad/long line counts). It is used only when all of these
//! still match: same path, same device and inode, the file at least that long, and
//! both 4 KiB windows, reread now, the same bytes. Then only the bytes from the offset
//! on are read. Otherwise (the file shrank, was replaced, was rewritten) it is read
//! whole and the cache rewritten. A last line without a `\n` (being written while we
//! read) is read as [`read_events`] reads it but left out of the cache, so it is read
//! again next time.
//!
//! Like the metadata cache it is only a shortcut: missing, corrupt (magic, checksum),
//! undecodable, of another version or over [`MAX_EVENTS_CACHE_BYTES`], it is ignored
//! and rebuilt; it is replaced atomically (temp file, rename) and losing a race
//! with another seance only costs time.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::events::{Events, Mark, SessionStart, read_events, read_on};
use crate::util::fsread::{open_regular, read_capped};

/// File name of the events cache, in the directory of the metadata cache.
pub const EVENTS_CACHE_FILE: &str = "events.bin";

/// Largest events cache read or written, in bytes (64 MiB: hundreds of thousands of
/// `session_start` events). A bigger one is not written, so the file is read whole.
pub const MAX_EVENTS_CACHE_BYTES: u64 = 64 << 20;

/// Bumped whenever [`SessionStart`], the way lines are judged (`read_on`, `MAX_LINE`),
/// the fingerprint or the file's layout changes.
const VERSION: u32 = 1;

/// Magic bytes opening the cache file, then a little-endian CRC-32 of the rest, then
/// the postcard-encoded `(VERSION, State)`.
const MAGIC: &[u8; 8] = b"seance\0e";

/// Bytes of each window of the events file whose CRC-32 is kept.
const WINDOW: u64 = 4096;

/// The cache as written: borrowed, so saving copies nothing.
#[derive(Serialize)]
struct StateRef<'a> {
    key: &'a Key,
    end: u64,
    head_crc: u32,
    tail_crc: u32,
    bad_lines: u64,
    long_lines: u64,
    starts: &'a [SessionStart],
}

/// The cache as read back.
#[derive(Deserialize)]
struct State {
    key: Key,
    end: u64,
    head_crc: u32,
    tail_crc: u32,
    bad_lines: u64,
    long_lines: u64,
    starts: Vec<SessionStart>,
}

/// Which events file a cache is of: its path's bytes, device and inode.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Key {
    path: Vec<u8>,
    dev: u64,
    ino: u64,
}

/// Reads the events file at `path` as [`read_events`] does, giving the same result,
/// but resumes where the last read stopped when the events cache beside `cache_file`
/// (the metadata cache's path) says the file only grew since. With no `cache_file`
/// it is [`read_events`]. The cache is rewritten when the read got further than it
/// says; failing to write it is not an error (it only costs time next time).
///
/// Errors: those of [`read_events`] (opening or reading the events file).
pub fn read_events_cached(path: &Path, cache_file: Option<&Path>) -> io::Result<Events> {
    let Some(cache_path) = cache_file.map(|c| c.with_file_name(EVENTS_CACHE_FILE)) else {
        return read_events(path);
    };
    let (mut file, meta) = open_regular(path)?;
    let key = Key {
        path: path.as_os_str().as_bytes().to_vec(),
        dev: meta.dev(),
        ino: meta.ino(),
    };
    let (prior, at) = match load(&cache_path, &key, &file, meta.len()) {
        Some(s) => {
            let prior = Events {
                starts: s.starts,
                bad_lines: usize::try_from(s.bad_lines).unwrap_or(usize::MAX),
                long_lines: usize::try_from(s.long_lines).unwrap_or(usize::MAX),
            };
            (Some(prior), s.end)
        }
        None => (None, 0),
    };
    let cached = prior.is_some();
    file.seek(SeekFrom::Start(at))?;
    let (events, mark) = read_on(&file, prior.unwrap_or_default(), at)?;
    if !cached || mark.end != at {
        let _ = save(&cache_path, &key, &file, &events, mark);
    }
    Ok(events)
}

/// The cached state for the events file `file` (open, `len` bytes long, identified by
/// `key`) when the cache at `cache_path` is sound and still describes its first bytes.
fn load(cache_path: &Path, key: &Key, file: &File, len: u64) -> Option<State> {
    let bytes = read_capped(cache_path, MAX_EVENTS_CACHE_BYTES).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?;
    let (crc, body) = rest.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*crc) != crc32fast::hash(body) {
        return None;
    }
    let (version, body): (u32, &[u8]) = postcard::take_from_bytes(body).ok()?;
    if version != VERSION {
        return None;
    }
    let state: State = postcard::from_bytes(body).ok()?;
    if state.key != *key || state.end > len {
        return None;
    }
    let (head_crc, tail_crc) = fingerprint(file, state.end).ok()?;
    (head_crc == state.head_crc && tail_crc == state.tail_crc).then_some(state)
}

/// CRC-32s of the first [`WINDOW`] bytes of `file` and of the [`WINDOW`] bytes before
/// `end` (fewer when `end` is smaller), reread from the file now.
///
/// Errors: read errors, `UnexpectedEof` when the file is shorter than `end`, and
/// `InvalidData` when the byte before `end` is not a `\n` (`end` is always just past
/// one: the file changed under us).
fn fingerprint(file: &File, end: u64) -> io::Result<(u32, u32)> {
    let n = end.min(WINDOW);
    let mut buf = vec![0; usize::try_from(n).unwrap_or(0)];
    file.read_exact_at(&mut buf, 0)?;
    let head = crc32fast::hash(&buf);
    file.read_exact_at(&mut buf, end - n)?;
    if end > 0 && buf.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no newline where the read stopped",
        ));
    }
    Ok((head, crc32fast::hash(&buf)))
}

/// Writes the cache for the events file `file` (identified by `key`): what `events`
/// held at `mark`, with the fingerprint of the bytes before `mark.end` reread now.
/// Nothing is written when that fails or the cache would be over
/// [`MAX_EVENTS_CACHE_BYTES`].
fn save(cache_path: &Path, key: &Key, file: &File, events: &Events, mark: Mark) -> Option<()> {
    let (head_crc, tail_crc) = fingerprint(file, mark.end).ok()?;
    let state = StateRef {
        key,
        end: mark.end,
        head_crc,
        tail_crc,
        bad_lines: mark.bad_lines as u64,
        long_lines: mark.long_lines as u64,
        starts: events.starts.get(..mark.starts)?,
    };
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&[0; 4]);
    let mut bytes = postcard::to_extend(&(VERSION, state), bytes).ok()?;
    if bytes.len() as u64 > MAX_EVENTS_CACHE_BYTES {
        return None;
    }
    let crc = crc32fast::hash(&bytes[MAGIC.len() + 4..]);
    bytes[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&crc.to_le_bytes());
    let dir = cache_path.parent().unwrap_or(Path::new("."));
    crate::util::atomic::create_private_dir_all(dir).ok()?;
    super::cache::remove_stale_temps(cache_path);
    crate::util::atomic::write_atomic_unsynced(cache_path, &bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, OpenOptions};
    use std::io::Write;
    use std::path::PathBuf;

    fn start(id: &str) -> String {
        format!(
            r#"{{"ts":"2026-04-30T13:02:38.123456789Z","type":"session_start","actor":"gastown/crew/joe","payload":{{"session_id":"{id}","role":"crew","cwd":"/gt/{id}"}}}}"#
        )
    }

    struct Town {
        _dir: tempfile::TempDir,
        events: PathBuf,
        cache: PathBuf,
    }

    impl Town {
        fn new() -> Town {
            let dir = tempfile::tempdir().unwrap();
            let events = dir.path().join(".events.jsonl");
            let cache = dir.path().join("cache/seance/transcripts.bin");
            fs::write(&events, "").unwrap();
            Town {
                _dir: dir,
                events,
                cache,
            }
        }

        fn append(&self, bytes: &[u8]) {
            let mut f = OpenOptions::new().append(true).open(&self.events).unwrap();
            f.write_all(bytes).unwrap();
        }

        /// Reads with the cache and checks the result is what a whole read gives.
        fn read(&self) -> Events {
            let got = read_events_cached(&self.events, Some(&self.cache)).unwrap();
            assert_same(&got, &read_events(&self.events).unwrap());
            got
        }

        fn cache_file(&self) -> PathBuf {
            self.cache.with_file_name(EVENTS_CACHE_FILE)
        }
    }

    fn assert_same(got: &Events, want: &Events) {
        assert_eq!(got.starts, want.starts);
        assert_eq!(
            (got.bad_lines, got.long_lines),
            (want.bad_lines, want.long_lines)
        );
    }

    fn ids(ev: &Events) -> Vec<&str> {
        ev.starts.iter().map(|s| s.session_id.as_str()).collect()
    }

    /// Lines between the two fingerprinted windows, so that changing them in place is
    /// seen only by a whole read: what tells a resumed read from a whole one.
    fn padded_file(t: &Town, middle: &str) {
        let pad = format!("{}\n", r#"{"type":"mail","body":"x"}"#).repeat(300);
        let body = format!("{pad}{}\n{pad}", start(middle));
        fs::write(&t.events, body).unwrap();
    }

    /// Rewrites the id in the middle of a [`padded_file`] in place (same size, inode
    /// and fingerprint windows).
    fn change_middle(t: &Town, from: &str, to: &str) {
        assert_eq!(from.len(), to.len());
        let bytes = fs::read(&t.events).unwrap();
        let text = String::from_utf8(bytes).unwrap().replace(from, to);
        let f = OpenOptions::new().write(true).open(&t.events).unwrap();
        f.write_all_at(text.as_bytes(), 0).unwrap();
    }

    #[test]
    fn appended_lines_are_read_and_the_rest_is_not_reread() {
        let t = Town::new();
        padded_file(&t, "aaaa");
        assert_eq!(ids(&t.read()), ["aaaa"]);
        let first = fs::read(t.cache_file()).unwrap();
        // Changed where no fingerprint looks: a resumed read keeps what it had.
        change_middle(&t, "aaaa", "bbbb");
        t.append(format!("{}\nnot json\n", start("cccc")).as_bytes());
        let got = read_events_cached(&t.events, Some(&t.cache)).unwrap();
        assert_eq!(ids(&got), ["aaaa", "cccc"], "resumed where it stopped");
        assert_eq!(got.bad_lines, 1);
        assert_ne!(fs::read(t.cache_file()).unwrap(), first, "moved on");
        // Nothing new: the same again, and the cache is not rewritten.
        let before = fs::read(t.cache_file()).unwrap();
        let again = read_events_cached(&t.events, Some(&t.cache)).unwrap();
        assert_eq!(ids(&again), ["aaaa", "cccc"]);
        assert_eq!(fs::read(t.cache_file()).unwrap(), before);
        // Without a cache file the file is read whole.
        assert_eq!(
            ids(&read_events_cached(&t.events, None).unwrap()),
            ["bbbb", "cccc"]
        );
    }

    #[test]
    fn a_rewritten_truncated_or_replaced_file_is_read_whole() {
        let t = Town::new();
        t.append(format!("{}\n{}\n", start("one"), start("two")).as_bytes());
        t.read();
        // Rewritten in place, longer, with other bytes before the offset.
        fs::write(
            &t.events,
            format!("{}\n{}\n{}\n", start("uno"), start("two"), start("three")),
        )
        .unwrap();
        assert_eq!(ids(&t.read()), ["uno", "two", "three"]);
        // Truncated.
        fs::write(&t.events, format!("{}\n", start("one"))).unwrap();
        assert_eq!(ids(&t.read()), ["one"]);
        t.append(b"{\"type\":\"x\"}\n");
        t.read();
        // Truncated to nothing, then grown again.
        fs::write(&t.events, "").unwrap();
        assert!(t.read().starts.is_empty());
        t.append(format!("{}\n", start("again")).as_bytes());
        assert_eq!(ids(&t.read()), ["again"]);
        // Replaced by another file (another inode) whose fingerprint windows match:
        // only the inode tells.
        padded_file(&t, "aaaa");
        t.read();
        let other = t.events.with_extension("new");
        fs::copy(&t.events, &other).unwrap();
        fs::rename(&other, &t.events).unwrap();
        change_middle(&t, "aaaa", "bbbb");
        assert_eq!(ids(&t.read()), ["bbbb"]);
        // Another events file (another path) does not use this one's cache.
        let moved = t.events.with_extension("moved");
        fs::rename(&t.events, &moved).unwrap();
        change_middle_at(&moved, "bbbb", "dddd");
        let got = read_events_cached(&moved, Some(&t.cache)).unwrap();
        assert_eq!(ids(&got), ["dddd"]);
    }

    fn change_middle_at(path: &Path, from: &str, to: &str) {
        let text = fs::read_to_string(path).unwrap().replace(from, to);
        let f = OpenOptions::new().write(true).open(path).unwrap();
        f.write_all_at(text.as_bytes(), 0).unwrap();
    }

    #[test]
    fn a_corrupt_or_foreign_cache_is_ignored() {
        let t = Town::new();
        padded_file(&t, "aaaa");
        t.read();
        let good = fs::read(t.cache_file()).unwrap();
        change_middle(&t, "aaaa", "bbbb");
        let mut bad: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"junk".to_vec(),
            good[..good.len() - 1].to_vec(),
            good[..12].to_vec(),
        ];
        for i in (0..good.len()).step_by(7) {
            let mut b = good.clone();
            b[i] ^= 0x20;
            bad.push(b);
        }
        // Right checksum, another version.
        let mut other = good.clone();
        other[12] = 99;
        let crc = crc32fast::hash(&other[12..]);
        other[8..12].copy_from_slice(&crc.to_le_bytes());
        bad.push(other);
        // The sound cache is trusted (so a read giving "bbbb" below is a whole read).
        fs::write(t.cache_file(), &good).unwrap();
        let got = read_events_cached(&t.events, Some(&t.cache)).unwrap();
        assert_eq!(ids(&got), ["aaaa"]);
        for b in bad {
            fs::write(t.cache_file(), &b).unwrap();
            assert_eq!(ids(&t.read()), ["bbbb"], "cache {b:?} trusted");
        }
        // A directory where the cache should be: read whole, no panic.
        fs::remove_file(t.cache_file()).unwrap();
        fs::create_dir(t.cache_file()).unwrap();
        assert_eq!(ids(&t.read()), ["bbbb"]);
    }

    #[test]
    fn a_torn_last_line_is_read_as_a_whole_read_does_then_again_once_complete() {
        let t = Town::new();
        t.append(format!("{}\n", start("one")).as_bytes());
        let line = start("two");
        let (a, b) = line.split_at(40);
        t.append(a.as_bytes());
        let ev = t.read();
        assert_eq!(
            (ids(&ev), ev.bad_lines),
            (vec!["one"], 1),
            "half a line is bad"
        );
        t.append(b.as_bytes());
        let ev = t.read();
        assert_eq!((ids(&ev), ev.bad_lines), (vec!["one", "two"], 0));
        t.append(b"\n");
        let ev = t.read();
        assert_eq!((ids(&ev), ev.bad_lines), (vec!["one", "two"], 0));
        t.append(format!("{}\n", start("three")).as_bytes());
        assert_eq!(ids(&t.read()), ["one", "two", "three"]);
    }

    #[test]
    fn a_whole_line_without_its_newline_is_read_again_once_ended() {
        let t = Town::new();
        t.append(format!("{}\n{}", start("one"), start("two")).as_bytes());
        assert_eq!(ids(&t.read()), ["one", "two"]);
        t.append(format!("\n{}\n", start("three")).as_bytes());
        assert_eq!(ids(&t.read()), ["one", "two", "three"]);
        t.append(b"garbage");
        assert_eq!(t.read().bad_lines, 1);
        t.append(b" still\n");
        assert_eq!(t.read().bad_lines, 1);
    }

    #[test]
    fn a_torn_over_long_line_is_counted_once() {
        let t = Town::new();
        t.append(format!("{}\n", start("one")).as_bytes());
        let pad = "p".repeat(super::super::events::MAX_LINE);
        t.append(format!(r#"{{"type":"session_start","pad":"{pad}"#).as_bytes());
        assert_eq!(t.read().long_lines, 1);
        t.append(b"\"}\n");
        assert_eq!(t.read().long_lines, 1);
        t.append(format!("{}\n", start("two")).as_bytes());
        let ev = t.read();
        assert_eq!((ids(&ev), ev.long_lines), (vec!["one", "two"], 1));
    }

    #[test]
    fn times_come_back_exactly() {
        let t = Town::new();
        t.append(format!("{}\n", start("one")).as_bytes());
        let first = t.read();
        let again = read_events_cached(&t.events, Some(&t.cache)).unwrap();
        assert_eq!(again.starts[0].ts, first.starts[0].ts);
        assert_eq!(
            first.starts[0].ts.unwrap().timestamp_subsec_nanos(),
            123_456_789
        );
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        /// One step: append some bytes (cut anywhere, lines torn), or rewrite or
        /// truncate the file.
        #[derive(Debug, Clone)]
        enum Step {
            Append(Vec<u8>),
            Truncate(usize),
            Rewrite(Vec<u8>),
        }

        fn arb_lines() -> impl Strategy<Value = Vec<u8>> {
            let line = prop_oneof![
                "[a-f0-9]{1,8}".prop_map(|id| start(&id)),
                Just(r#"{"type":"mail","payload":{"body":"hi"}}"#.to_owned()),
                Just(r#"{"type":"session_start","payload":{"session_id":7}}"#.to_owned()),
                Just(r#"{"type":"session_start","payload":"#.to_owned()),
                Just("garbage".to_owned()),
                Just("   ".to_owned()),
                Just(String::new()),
            ];
            // All of it, all but the last newline (a whole line not ended yet), or
            // cut anywhere (a line torn).
            let cut = prop_oneof![
                Just(None),
                Just(Some(None)),
                any::<proptest::sample::Index>().prop_map(|i| Some(Some(i))),
            ];
            (proptest::collection::vec(line, 0..6), cut).prop_map(|(lines, cut)| {
                let mut b = lines.join("\n").into_bytes();
                b.push(b'\n');
                match cut {
                    None => {}
                    Some(None) => drop(b.pop()),
                    Some(Some(i)) => b.truncate(i.index(b.len() + 1)),
                }
                b
            })
        }

        fn arb_step() -> impl Strategy<Value = Step> {
            prop_oneof![
                8 => arb_lines().prop_map(Step::Append),
                1 => any::<usize>().prop_map(Step::Truncate),
                1 => arb_lines().prop_map(Step::Rewrite),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn resumed_reads_equal_whole_reads(steps in proptest::collection::vec(arb_step(), 1..24)) {
                let t = Town::new();
                for step in steps {
                    match step {
                        Step::Append(b) => t.append(&b),
                        Step::Truncate(n) => {
                            let len = fs::metadata(&t.events).unwrap().len();
                            let f = OpenOptions::new().write(true).open(&t.events).unwrap();
                            f.set_len(n as u64 % (len + 1)).unwrap();
                        }
                        Step::Rewrite(b) => fs::write(&t.events, b).unwrap(),
                    }
                    t.read();
                }
            }
        }
    }
}
