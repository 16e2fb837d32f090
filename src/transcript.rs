//! Reads what the listing needs from a Claude Code transcript (`<session-id>.jsonl`)
//! with bounded reads of its head and tail, never a full parse: files reach tens of MB
//! with single lines of several MB, and there can be tens of thousands of them.
//!
//! The format is Claude Code's own and undocumented: one JSON object per line with a
//! `type` (`user`, `assistant`, `custom-title`, `ai-title`, `summary`, `last-prompt`, ...).
//! Conversation records carry `cwd`, `gitBranch`, `sessionId`, `timestamp`; the first
//! lines of a file may lack them. Unknown shapes are skipped, never fatal.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use chrono::{DateTime, Utc};
use memchr::memmem;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::timefmt::parse_timestamp;

/// Bytes read from each end of a transcript (64 KiB, as Claude Code's own picker does).
pub const WINDOW: u64 = 64 * 1024;

/// First prompts and titles are cut to this many characters.
pub const MAX_TEXT_CHARS: usize = 400;

/// What a transcript says about its session. Every field is optional: a field the
/// bounded reads did not find stays `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TranscriptMeta {
    /// Working directory of the first conversation record.
    pub cwd: Option<String>,
    /// `gitBranch` of the first conversation record that has one.
    pub git_branch: Option<String>,
    /// First `timestamp` in the file (UTC).
    pub first_timestamp: Option<DateTime<Utc>>,
    /// Last `timestamp` in the file (UTC).
    pub last_timestamp: Option<DateTime<Utc>>,
    /// Text of the first real user prompt (not a tool result, meta record or command wrapper).
    pub first_prompt: Option<String>,
    /// The last `custom-title` record's `customTitle` (a rename by the user).
    pub custom_title: Option<String>,
    /// The last `ai-title` record's `aiTitle`.
    pub ai_title: Option<String>,
    /// The last `summary` record's `summary`.
    pub summary: Option<String>,
    /// The last `last-prompt` record's `lastPrompt`.
    pub last_prompt: Option<String>,
    /// `forkedFrom.sessionId`: the session this one was forked from.
    pub forked_from: Option<String>,
    /// True when the head held bytes that are not JSON lines at all (binary or corrupt).
    pub corrupt: bool,
}

impl TranscriptMeta {
    /// The title to show: custom title, then AI title, then summary, then the first
    /// prompt, then the last prompt.
    pub fn title(&self) -> Option<&str> {
        self.custom_title
            .as_deref()
            .or(self.ai_title.as_deref())
            .or(self.summary.as_deref())
            .or(self.first_prompt.as_deref())
            .or(self.last_prompt.as_deref())
    }
}

/// Reads the metadata of the transcript at `path`, whose size is `size` bytes. Reads at
/// most [`WINDOW`] bytes from the start and [`WINDOW`] from the end.
///
/// Errors: only I/O errors opening or reading the file. Content that is not JSON is
/// skipped; a head with no parseable line at all sets [`TranscriptMeta::corrupt`].
pub fn read_meta(path: &Path, size: u64) -> io::Result<TranscriptMeta> {
    let mut file = File::open(path)?;
    let mut meta = TranscriptMeta::default();
    if size <= 2 * WINDOW {
        let mut buf = Vec::with_capacity(size as usize);
        file.take(2 * WINDOW).read_to_end(&mut buf)?;
        scan_head(&buf, true, &mut meta);
        scan_tail(&buf, true, &mut meta);
    } else {
        let mut head = vec![0; WINDOW as usize];
        file.read_exact(&mut head)?;
        scan_head(&head, false, &mut meta);
        let mut tail = vec![0; WINDOW as usize];
        file.seek(SeekFrom::Start(size - WINDOW))?;
        let n = read_full(&mut file, &mut tail)?;
        tail.truncate(n);
        scan_tail(&tail, false, &mut meta);
    }
    if meta.first_timestamp.is_none() {
        meta.first_timestamp = meta.last_timestamp;
    }
    Ok(meta)
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Lines of the head worth parsing: anything else (snapshots, queue operations) is
/// skipped by a substring search, which is far cheaper than a JSON parse.
const HEAD_MARKERS: &[&[u8]] = &[
    b"\"cwd\"",
    b"\"timestamp\"",
    b"forkedFrom",
    b"custom-title",
    b"ai-title",
    b"\"summary\"",
    b"last-prompt",
];

/// Scans the start of a file. `whole` says the buffer ends at the end of the file, so
/// its last line is complete even without a newline.
fn scan_head(buf: &[u8], whole: bool, meta: &mut TranscriptMeta) {
    let mut lines = buf.split(|&b| b == b'\n').peekable();
    let mut parsed_any = false;
    let mut saw_bytes = false;
    let mut branch_decided = false;
    while let Some(line) = lines.next() {
        let complete = whole || lines.peek().is_some();
        let line = trim_ascii(line);
        if line.is_empty() {
            continue;
        }
        saw_bytes = true;
        if !complete {
            // A line longer than the window: pull the plain fields out of its start.
            salvage_fields(line, meta);
            break;
        }
        if !line.starts_with(b"{") {
            continue;
        }
        parsed_any = true;
        if !HEAD_MARKERS.iter().any(|m| memmem::find(line, m).is_some()) {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        take_head_fields(&v, meta, &mut branch_decided);
        if meta.cwd.is_some() && meta.first_prompt.is_some() && branch_decided {
            break;
        }
    }
    meta.corrupt = saw_bytes && !parsed_any && meta.cwd.is_none();
}

fn take_head_fields(v: &Value, meta: &mut TranscriptMeta, branch_decided: &mut bool) {
    let obj = match v.as_object() {
        Some(o) => o,
        None => return,
    };
    if meta.cwd.is_none() {
        meta.cwd = str_field(v, "cwd");
    }
    // The first record carrying a `gitBranch` key decides it: outside git it is empty,
    // and later records should not be searched for one.
    if !*branch_decided {
        if let Some(b) = obj.get("gitBranch").and_then(Value::as_str) {
            *branch_decided = true;
            meta.git_branch = Some(b.to_owned()).filter(|b| !b.is_empty());
        }
    }
    if meta.first_timestamp.is_none() {
        meta.first_timestamp = str_field(v, "timestamp").and_then(|t| parse_timestamp(&t));
    }
    if meta.forked_from.is_none() {
        meta.forked_from = v
            .get("forkedFrom")
            .and_then(|f| f.get("sessionId"))
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    if meta.first_prompt.is_none()
        && obj.get("type").and_then(Value::as_str) == Some("user")
        && obj.get("isMeta").and_then(Value::as_bool) != Some(true)
        && obj.get("isCompactSummary").and_then(Value::as_bool) != Some(true)
    {
        meta.first_prompt = prompt_text(v.get("message").and_then(|m| m.get("content")));
    }
    // Title records can sit in the head of a short file; the tail scan overrides them.
    take_title_record(v, meta);
}

/// The first human-typed text of a user message's `content` (a string, or an array of
/// blocks of which only `text` blocks count).
fn prompt_text(content: Option<&Value>) -> Option<String> {
    match content? {
        Value::String(s) => real_prompt(s),
        Value::Array(blocks) => blocks.iter().find_map(|b| {
            if b.get("type").and_then(Value::as_str) == Some("text") {
                real_prompt(b.get("text")?.as_str()?)
            } else {
                None
            }
        }),
        _ => None,
    }
}

/// Wrappers Claude Code injects into user records that the user did not type.
const INJECTED: &[&str] = &[
    "<system-reminder>",
    "<command-name>",
    "<command-message>",
    "<command-args>",
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    "<user-prompt-submit-hook>",
    "<bash-input>",
    "<bash-stdout>",
    "<bash-stderr>",
    "Caveat: The messages below were generated by the user while running local commands",
    "[Request interrupted",
];

fn real_prompt(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() || INJECTED.iter().any(|p| t.starts_with(p)) {
        return None;
    }
    Some(clip(t))
}

/// Cuts text to [`MAX_TEXT_CHARS`] characters, adding `…` when cut.
pub fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn take_title_record(v: &Value, meta: &mut TranscriptMeta) {
    let (slot, key) = match v.get("type").and_then(Value::as_str) {
        Some("custom-title") => (&mut meta.custom_title, "customTitle"),
        Some("ai-title") => (&mut meta.ai_title, "aiTitle"),
        Some("summary") => (&mut meta.summary, "summary"),
        Some("last-prompt") => (&mut meta.last_prompt, "lastPrompt"),
        _ => return,
    };
    if let Some(s) = v.get(key).and_then(Value::as_str) {
        let s = s.trim();
        if !s.is_empty() {
            *slot = Some(clip(s));
        }
    }
}

/// Record types whose lines the tail scan parses; everything else is only searched
/// for its `timestamp`.
const TITLE_MARKERS: &[&[u8]] = &[b"custom-title", b"ai-title", b"\"summary\"", b"last-prompt"];

/// Scans the end of a file, newest line first, for the last timestamp and the last
/// title records. `whole` says the buffer starts at the start of the file.
fn scan_tail(buf: &[u8], whole: bool, meta: &mut TranscriptMeta) {
    let mut lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
    if !whole && !lines.is_empty() {
        // The first piece starts mid-line unless the window began on a line boundary.
        let first = lines.remove(0);
        if meta.last_timestamp.is_none() && lines.iter().all(|l| trim_ascii(l).is_empty()) {
            // One line longer than the window: take its last top-level-looking timestamp.
            meta.last_timestamp = last_timestamp_in(first);
        }
    }
    let mut custom = None;
    let mut ai = None;
    let mut summary = None;
    let mut last_prompt = None;
    for line in lines.iter().rev() {
        let line = trim_ascii(line);
        if line.is_empty() {
            continue;
        }
        let titled = TITLE_MARKERS
            .iter()
            .any(|m| memmem::find(line, m).is_some());
        if meta.last_timestamp.is_none() && memmem::find(line, b"\"timestamp\"").is_some() {
            meta.last_timestamp = serde_json::from_slice::<Value>(line)
                .ok()
                .and_then(|v| str_field(&v, "timestamp"))
                .and_then(|t| parse_timestamp(&t));
        }
        if titled {
            if let Ok(v) = serde_json::from_slice::<Value>(line) {
                let mut m = TranscriptMeta::default();
                take_title_record(&v, &mut m);
                custom = custom.or(m.custom_title);
                ai = ai.or(m.ai_title);
                summary = summary.or(m.summary);
                last_prompt = last_prompt.or(m.last_prompt);
            }
        }
    }
    meta.custom_title = custom.or(meta.custom_title.take());
    meta.ai_title = ai.or(meta.ai_title.take());
    meta.summary = summary.or(meta.summary.take());
    meta.last_prompt = last_prompt.or(meta.last_prompt.take());
}

/// Pulls `cwd`, `gitBranch`, `timestamp` and `sessionId`-free fields out of the start of
/// a line too long to parse within the window. In JSON text an unescaped `"cwd":"` can
/// only be a key, never the inside of a string, so a plain search is safe enough.
fn salvage_fields(line: &[u8], meta: &mut TranscriptMeta) {
    if meta.cwd.is_none() {
        meta.cwd = string_after(line, b"\"cwd\":\"");
    }
    if meta.git_branch.is_none() {
        meta.git_branch = string_after(line, b"\"gitBranch\":\"").filter(|b| !b.is_empty());
    }
    if meta.first_timestamp.is_none() {
        meta.first_timestamp =
            string_after(line, b"\"timestamp\":\"").and_then(|t| parse_timestamp(&t));
    }
}

fn last_timestamp_in(buf: &[u8]) -> Option<DateTime<Utc>> {
    let pos = memmem::rfind(buf, b"\"timestamp\":\"")?;
    string_after(&buf[pos..], b"\"timestamp\":\"").and_then(|t| parse_timestamp(&t))
}

/// The JSON string value that follows `key` (which ends with the opening quote), decoded.
fn string_after(buf: &[u8], key: &[u8]) -> Option<String> {
    let start = memmem::find(buf, key)? + key.len();
    let rest = &buf[start..];
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'\\' => i += 2,
            b'"' => {
                let mut quoted = Vec::with_capacity(i + 2);
                quoted.push(b'"');
                quoted.extend_from_slice(&rest[..i]);
                quoted.push(b'"');
                return serde_json::from_slice(&quoted).ok();
            }
            _ => i += 1,
        }
    }
    None
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(lines: &[String]) -> (tempfile::NamedTempFile, u64) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        let size = f.as_file().metadata().unwrap().len();
        (f, size)
    }

    fn user(text: &str, ts: &str) -> String {
        serde_json::json!({"type":"user","cwd":"/w/p","gitBranch":"main","sessionId":"s","timestamp":ts,
            "message":{"role":"user","content":text}})
        .to_string()
    }

    #[test]
    fn head_and_tail_of_a_small_file() {
        let lines = vec![
            r#"{"type":"mode","mode":"default"}"#.to_string(),
            serde_json::json!({"type":"user","isMeta":true,"cwd":"/w/p","timestamp":"2026-01-01T00:00:00.000Z","message":{"content":"<system-reminder>x</system-reminder>"}}).to_string(),
            user("<command-name>/clear</command-name>", "2026-01-01T00:00:01.000Z"),
            serde_json::json!({"type":"user","cwd":"/w/p","gitBranch":"dev","timestamp":"2026-01-01T00:00:02.000Z","message":{"content":[{"type":"tool_result","content":"x"},{"type":"text","text":"fix the bug"}]}}).to_string(),
            r#"{"type":"ai-title","aiTitle":"Bug fixing"}"#.to_string(),
            user("second", "2026-01-01T00:05:00.000Z"),
            r#"{"type":"custom-title","customTitle":"old name"}"#.to_string(),
            r#"{"type":"custom-title","customTitle":"My rename"}"#.to_string(),
        ];
        let (f, size) = write(&lines);
        let m = read_meta(f.path(), size).unwrap();
        assert_eq!(m.cwd.as_deref(), Some("/w/p"));
        assert_eq!(m.git_branch.as_deref(), Some("main"));
        assert_eq!(m.first_prompt.as_deref(), Some("fix the bug"));
        assert_eq!(m.ai_title.as_deref(), Some("Bug fixing"));
        assert_eq!(m.custom_title.as_deref(), Some("My rename"));
        assert_eq!(m.title(), Some("My rename"));
        assert_eq!(
            m.first_timestamp.unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        assert_eq!(
            m.last_timestamp.unwrap().to_rfc3339(),
            "2026-01-01T00:05:00+00:00"
        );
        assert!(!m.corrupt);
    }

    #[test]
    fn big_file_reads_only_the_ends() {
        let mut lines = vec![user("start here", "2026-02-01T00:00:00.000Z")];
        let filler = "x".repeat(1000);
        for i in 0..500 {
            lines.push(user(&format!("{filler}{i}"), "2026-02-01T01:00:00.000Z"));
        }
        // A title record in the middle is beyond both windows and must not be seen.
        lines.insert(
            200,
            r#"{"type":"custom-title","customTitle":"hidden"}"#.to_string(),
        );
        lines.push(r#"{"type":"ai-title","aiTitle":"Tail title"}"#.to_string());
        lines.push(user("end", "2026-02-02T00:00:00.000Z"));
        let (f, size) = write(&lines);
        assert!(size > 4 * WINDOW);
        let m = read_meta(f.path(), size).unwrap();
        assert_eq!(m.first_prompt.as_deref(), Some("start here"));
        assert_eq!(m.title(), Some("Tail title"));
        assert_eq!(m.custom_title, None);
        assert_eq!(
            m.last_timestamp.unwrap().to_rfc3339(),
            "2026-02-02T00:00:00+00:00"
        );
    }

    #[test]
    fn one_huge_line_is_salvaged() {
        let huge = user(&"y".repeat(3 * 1024 * 1024), "2026-03-01T00:00:00.000Z");
        let (f, size) = write(&[huge]);
        let m = read_meta(f.path(), size).unwrap();
        assert_eq!(m.cwd.as_deref(), Some("/w/p"));
        assert_eq!(m.git_branch.as_deref(), Some("main"));
        assert_eq!(
            m.first_timestamp.unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        assert!(!m.corrupt);
    }

    #[test]
    fn binary_and_empty_files() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&[0u8, 159, 146, 150, 255, 10, 1, 2, 3])
            .unwrap();
        let m = read_meta(f.path(), 9).unwrap();
        assert!(m.corrupt);
        assert_eq!(m.title(), None);
        let e = tempfile::NamedTempFile::new().unwrap();
        let m = read_meta(e.path(), 0).unwrap();
        assert!(!m.corrupt);
        assert_eq!(m, TranscriptMeta::default());
    }

    #[test]
    fn forked_from_and_long_prompt_clipped() {
        let long = "z".repeat(MAX_TEXT_CHARS + 50);
        let l = serde_json::json!({"type":"user","cwd":"/w","timestamp":"2026-01-01T00:00:00Z",
            "forkedFrom":{"sessionId":"abc","messageUuid":"u"},"message":{"content":long}})
        .to_string();
        let (f, size) = write(&[l]);
        let m = read_meta(f.path(), size).unwrap();
        assert_eq!(m.forked_from.as_deref(), Some("abc"));
        let p = m.first_prompt.unwrap();
        assert_eq!(p.chars().count(), MAX_TEXT_CHARS + 1);
        assert!(p.ends_with('…'));
    }
}
