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

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs;
use std::ops::{ControlFlow, Range};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::discover::Session;
use crate::discover::warnings::Warnings;
use crate::util::fsread;
use crate::util::timefmt::{parse_timestamp, to_rfc3339};

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
const BEFORE: usize = 80;

/// Characters of context a snippet keeps after its match.
const AFTER: usize = 160;

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
    /// Up to 80 characters before the match, the match, and up to 160 after, raw (line
    /// breaks and all).
    pub text: String,
    /// Who said it.
    pub role: Role,
    /// When, RFC 3339 UTC; `null` for titles and records without a time.
    pub timestamp: Option<String>,
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
        .map_init(Buffer::default, |buf, s| {
            let mut w = Warnings::default();
            let m = search_session(s, pattern, depth, buf, &mut w);
            buf.trim();
            (m, w)
        })
        .collect()
}

/// One session's hits, or `None` when nothing it said matches.
pub fn search_session(
    s: &Session,
    pattern: &Pattern,
    depth: Depth,
    buf: &mut Buffer,
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
            acc.file(t, false, buf, warnings)?;
        }
        if let Some(dir) = &sub_dir {
            for f in subagent_files(&dir.join("subagents")) {
                acc.file(&f, true, buf, warnings)?;
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
        buf: &mut Buffer,
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
        let passed = lines::hits(&mut file, pattern.raw(), buf, &mut |line| {
            let flow = self.line(line, subagent, &mut corrupt);
            stop = flow.is_break();
            flow
        });
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

    /// One raw hit: decoded (as lossy UTF-8 when it is not valid UTF-8) and matched on
    /// what was said. A line counts once however many of its texts match.
    fn line(&mut self, line: &[u8], subagent: bool, corrupt: &mut usize) -> ControlFlow<()> {
        let text: Cow<str> = match std::str::from_utf8(line) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(line),
        };
        let Some(said) = record::decode(&text) else {
            if !text.trim().is_empty() {
                *corrupt += 1;
            }
            return ControlFlow::Continue(());
        };
        let ts = said
            .timestamp
            .as_deref()
            .and_then(parse_timestamp)
            .map(|t| to_rfc3339(&t));
        let mut counted = false;
        for (role, t) in &said.texts {
            let Some(m) = self.pattern.text().find(t) else {
                continue;
            };
            if *role == Role::Title {
                // Titles count once per distinct text, wherever they are written.
                if !self.titles.insert(t.to_string()) {
                    continue;
                }
            }
            if !counted {
                counted = true;
                self.matches.count += 1;
                if self.matches.snippets.len() < MAX_SNIPPETS {
                    self.matches
                        .snippets
                        .push(snippet(t, m.range(), *role, ts.clone(), subagent));
                }
            }
        }
        if counted && self.depth == Depth::Any {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
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
            self.matches
                .snippets
                .push(snippet(t, m.range(), Role::Title, None, false));
        }
        if self.depth == Depth::Any {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// The text around `hit` in `t`: [`BEFORE`] characters before it and [`AFTER`] after.
fn snippet(
    t: &str,
    hit: Range<usize>,
    role: Role,
    timestamp: Option<String>,
    subagent: bool,
) -> Snippet {
    let start = t[..hit.start]
        .char_indices()
        .rev()
        .nth(BEFORE - 1)
        .map_or(0, |(i, _)| i);
    let end = t[hit.end..]
        .char_indices()
        .nth(AFTER)
        .map_or(t.len(), |(i, _)| hit.end + i);
    Snippet {
        text: t[start..end].to_owned(),
        role,
        timestamp,
        subagent,
        hit: hit.start - start..hit.end - start,
    }
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
        let s = snippet(&t, m..m + 6, Role::User, None, false);
        assert_eq!(&s.text[s.hit.clone()], "needle");
        assert_eq!(s.text.chars().count(), BEFORE + 6 + AFTER);
        let s = snippet("needle", 0..6, Role::User, None, false);
        assert_eq!(s.text, "needle");
        assert_eq!(s.hit, 0..6);
    }
}
