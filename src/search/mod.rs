//! `--search`: which sessions said something, across every transcript of every account.
//!
//! Matching happens on raw bytes first ([`pattern`] makes the pattern a superset of
//! itself over JSON escapes; [`lines`] streams each file through a fixed buffer and cuts
//! out only the lines that hit), and only those lines are decoded ([`record`]) and
//! matched again on their conversation text, so a hit in metadata is never counted and
//! a phrase split by an escape is never missed. Files are searched in parallel.
//!
//! What counts as a session's conversation: its transcript's user and assistant text,
//! tool inputs and results and title records; its subagents' transcripts
//! (`<folder>/<id>/subagents/*.jsonl`, snippets marked `subagent`); the custom title
//! sidecar `<folder>/<id>/custom-title.json` (Claude Code 2.1.332) and the legacy index's
//! `summary` and `customTitle`.

use std::collections::HashSet;
use std::fs;
use std::ops::{ControlFlow, Range};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::Serialize;

use crate::discover::Session;
use crate::discover::warnings::Warnings;
use crate::util::fsread;
use crate::util::timefmt::parse_timestamp;

pub mod lines;
pub mod pattern;
pub mod record;

pub use lines::LINE_CAP;
pub use pattern::Pattern;
pub use record::Role;

use lines::Buffer;

/// At most this many snippets are kept per session.
pub const MAX_SNIPPETS: usize = 3;

/// Characters of context a snippet keeps before its match.
const BEFORE: usize = 60;

/// Characters of context a snippet keeps after its match.
const AFTER: usize = 120;

/// The sidecar holding a rename made in Claude Code's picker (2.1.332):
/// `<folder>/<session-id>/custom-title.json`, `{"customTitle": "...", ...}`.
const SIDECAR: &str = "custom-title.json";

/// A session's hits: serialised as the `matches` object of a `--json` row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Matches {
    /// Messages (records) whose text matches, counting subagents' messages, plus each
    /// distinct matching title once.
    pub count: usize,
    /// The first [`MAX_SNIPPETS`] hits, in file order (transcript, then subagents, then
    /// titles kept outside the transcript).
    pub snippets: Vec<Snippet>,
}

/// The text around one hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snippet {
    /// Up to 60 characters before the match, the match, and up to 120 after, raw (line
    /// breaks and all).
    pub text: Box<str>,
    /// Who said it.
    pub role: Role,
    /// When, RFC 3339 UTC; `null` for titles and records without a time.
    #[serde(serialize_with = "crate::discover::ser_time")]
    pub timestamp: Option<DateTime<Utc>>,
    /// True when the hit is in one of the session's subagent transcripts.
    pub subagent: bool,
    /// Where the match is in `text`, in bytes.
    #[serde(skip)]
    pub hit: Range<usize>,
}

/// How far to search a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Stop at the first confirmed hit: enough to know the session is one (its count and
    /// snippets are then incomplete).
    Any,
    /// Everything: the full count and the first snippets.
    All,
}

/// Searches `sessions` in parallel; gives each one's hits (`None`: no hit) and the
/// problems met in its files (unreadable files, over-long and corrupt lines), in order.
pub fn search_all(
    sessions: &[&Session],
    pattern: &Pattern,
    depth: Depth,
) -> Vec<(Option<Matches>, Warnings)> {
    sessions
        .par_iter()
        .map(|s| {
            let mut w = Warnings::default();
            let m = SCRATCH
                .with_borrow_mut(|scratch| search_session(s, pattern, depth, scratch, &mut w));
            (m, w)
        })
        .collect()
}

/// Buffers one thread keeps from session to session: the read buffer and the one text
/// is unescaped into. Each grows to the longest line (text) met, at most [`LINE_CAP`].
#[derive(Debug, Default)]
pub struct Scratch {
    lines: Buffer,
    text: Vec<u8>,
}

thread_local! {
    /// Each search thread's buffers, kept for the life of the thread: freeing and taking
    /// again buffers of several MB (per file, or per rayon job) makes glibc raise its
    /// mmap threshold and fragments the heap, which cost about 20 MB of peak RSS.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// One session's hits, or `None` when nothing it said matches.
pub fn search_session(
    s: &Session,
    pattern: &Pattern,
    depth: Depth,
    scratch: &mut Scratch,
    warnings: &mut Warnings,
) -> Option<Matches> {
    let mut acc = Acc {
        pattern,
        depth,
        matches: Matches::default(),
        titles: HashSet::new(),
    };
    // Titles held in memory cost nothing to try: enough for `Any`.
    if depth == Depth::Any {
        for t in &s.index_titles {
            if acc.title(t).is_break() {
                return Some(acc.matches);
            }
        }
    }
    let folder = s
        .transcript
        .as_deref()
        .or(s.index_file.as_deref())
        .and_then(Path::parent);
    let sub_dir = folder.map(|f| f.join(&s.session_id));
    // Breaks only when `Any` has its hit; the hits are in `acc` either way.
    let _ = (|| {
        if let Some(t) = &s.transcript {
            acc.file(t, false, scratch, warnings)?;
        }
        if let Some(dir) = &sub_dir {
            for f in subagent_files(&dir.join("subagents")) {
                acc.file(&f, true, scratch, warnings)?;
            }
            if let Some(title) = sidecar_title(&dir.join(SIDECAR)) {
                acc.title(&title)?;
            }
        }
        for t in &s.index_titles {
            acc.title(t)?;
        }
        ControlFlow::Continue(())
    })();
    (acc.matches.count > 0).then_some(acc.matches)
}

/// A session's search in progress.
struct Acc<'p> {
    pattern: &'p Pattern,
    depth: Depth,
    matches: Matches,
    /// Matching titles met so far: Claude Code writes the same title record many times.
    titles: HashSet<String>,
}

impl Acc<'_> {
    /// Searches one transcript file; breaks when `Any` has its hit.
    fn file(
        &mut self,
        path: &Path,
        subagent: bool,
        scratch: &mut Scratch,
        warnings: &mut Warnings,
    ) -> ControlFlow<()> {
        let mut file = match fsread::open_regular(path) {
            Ok((f, _)) => f,
            Err(e) => {
                warnings.add("unreadable transcripts not searched", path, &e.to_string());
                return ControlFlow::Continue(());
            }
        };
        let mut corrupt = 0usize;
        let mut stop = false;
        let pattern = self.pattern;
        let text = &mut scratch.text;
        let passed = lines::hits(
            &mut file,
            pattern.raw(),
            &mut scratch.lines,
            &mut |line, at| {
                let flow = self.line(line, at, subagent, text, &mut corrupt);
                stop = flow.is_break();
                flow
            },
        );
        match passed {
            Ok(p) if p.huge_lines > 0 => warnings.add(
                "lines over 16 MiB not searched",
                path,
                &format!("{} lines", p.huge_lines),
            ),
            Ok(_) => {}
            Err(e) => warnings.add("unreadable transcripts not searched", path, &e.to_string()),
        }
        if corrupt > 0 {
            warnings.add(
                "corrupt lines not searched",
                path,
                &format!("{corrupt} lines are not JSON objects"),
            );
        }
        if stop {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// One line the raw pattern hit, leftmost at byte `at`: the conversation strings the
    /// raw pattern matches in are decoded (into `text`) and matched. A line counts once
    /// however many of its strings match.
    fn line(
        &mut self,
        line: &[u8],
        at: usize,
        subagent: bool,
        text: &mut Vec<u8>,
        corrupt: &mut usize,
    ) -> ControlFlow<()> {
        let Some(outline) = record::outline(line) else {
            if !line.trim_ascii().is_empty() {
                *corrupt += 1;
            }
            return ControlFlow::Continue(());
        };
        // A string holding a text match holds a raw match (the raw pattern is a
        // superset), and none ends before the leftmost one starts.
        for piece in outline.pieces.iter().filter(|p| p.span.end > at) {
            let inner = &line[piece.span.start + 1..piece.span.end - 1];
            let Some((excerpt, hit)) = self.find_in(inner, piece.role, text) else {
                continue;
            };
            self.matches.count += 1;
            if self.matches.snippets.len() < MAX_SNIPPETS {
                self.matches.snippets.push(Snippet {
                    text: excerpt,
                    role: piece.role,
                    timestamp: timestamp(line, outline.timestamp.as_ref()),
                    subagent,
                    hit,
                });
            }
            return match self.depth {
                Depth::Any => ControlFlow::Break(()),
                Depth::All => ControlFlow::Continue(()),
            };
        }
        ControlFlow::Continue(())
    }

    /// The first text match in the inside of a string literal, as an excerpt and where
    /// the match is in it; `None` when there is none, or when it is a title already
    /// counted. Around each raw match only a window is unescaped when the pattern
    /// allows ([`Pattern::window`]), else the whole string.
    fn find_in(
        &mut self,
        inner: &[u8],
        role: Role,
        text: &mut Vec<u8>,
    ) -> Option<(Box<str>, Range<usize>)> {
        let pattern = self.pattern;
        match pattern.window().filter(|_| role != Role::Title) {
            Some(pad) => pattern.raw().find_iter(inner).find_map(|m| {
                let w = record::align(
                    inner,
                    m.start().saturating_sub(pad + 4 * BEFORE),
                    m.end() + pad + 4 * AFTER,
                );
                let part = record::unescape(&inner[w], text)?;
                let hit = pattern.text().find(&part)?;
                Some(excerpt(&part, hit.range()))
            }),
            None => {
                if !pattern.raw().is_match(inner) {
                    return None;
                }
                let all = record::unescape(inner, text)?;
                let hit = pattern.text().find(&all)?;
                // Titles count once per distinct text, wherever they are written.
                if role == Role::Title && !self.titles.insert(all.to_string()) {
                    return None;
                }
                Some(excerpt(&all, hit.range()))
            }
        }
    }

    /// A title kept outside the transcripts (sidecar, index).
    fn title(&mut self, t: &str) -> ControlFlow<()> {
        let Some(m) = self.pattern.text().find(t) else {
            return ControlFlow::Continue(());
        };
        if !self.titles.insert(t.to_owned()) {
            return ControlFlow::Continue(());
        }
        self.matches.count += 1;
        if self.matches.snippets.len() < MAX_SNIPPETS {
            let (text, hit) = excerpt(t, m.range());
            self.matches.snippets.push(Snippet {
                text,
                role: Role::Title,
                timestamp: None,
                subagent: false,
                hit,
            });
        }
        if self.depth == Depth::Any {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// A record's `timestamp` (the literal's span in `line`) as RFC 3339 UTC, when it is one.
fn timestamp(line: &[u8], span: Option<&Range<usize>>) -> Option<DateTime<Utc>> {
    let mut scratch = Vec::new();
    let t = record::decode_str(line.get(span?.clone())?, &mut scratch)?;
    parse_timestamp(&t)
}

/// The text around `hit` in `t`: [`BEFORE`] characters before it and [`AFTER`] after,
/// and where the match is in that excerpt.
fn excerpt(t: &str, hit: Range<usize>) -> (Box<str>, Range<usize>) {
    let start = t[..hit.start]
        .char_indices()
        .rev()
        .nth(BEFORE - 1)
        .map_or(0, |(i, _)| i);
    let end = t[hit.end..]
        .char_indices()
        .nth(AFTER)
        .map_or(t.len(), |(i, _)| hit.end + i);
    (t[start..end].into(), hit.start - start..hit.end - start)
}

/// The `*.jsonl` files of a session's `subagents/` folder, by name; none when it is
/// missing or unreadable.
fn subagent_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

/// The `customTitle` of a sidecar (at most 64 KiB read), when there is a readable one.
fn sidecar_title(path: &Path) -> Option<String> {
    let bytes = fsread::read_capped(path, 64 * 1024).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("customTitle")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_keep_context_on_char_boundaries() {
        let t = format!("{}needle{}", "é".repeat(100), "ü".repeat(200));
        let m = t.find("needle").unwrap();
        let (text, hit) = excerpt(&t, m..m + 6);
        assert_eq!(&text[hit], "needle");
        assert_eq!(text.chars().count(), BEFORE + 6 + AFTER);
        let (text, hit) = excerpt("needle", 0..6);
        assert_eq!(&*text, "needle");
        assert_eq!(hit, 0..6);
    }
}
