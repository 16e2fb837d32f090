//! Reads what the listing needs from a Claude Code transcript (`<session-id>.jsonl`)
//! with bounded reads of its head and tail, never a full parse: files reach tens of MB
//! with single lines of several MB, and there can be tens of thousands of them.
//!
//! The format is Claude Code's own and undocumented: one JSON object per line with a
//! `type` (`user`, `assistant`, `custom-title`, `ai-title`, `summary`, `last-prompt`, ...).
//! Conversation records carry `cwd`, `gitBranch`, `sessionId`, `timestamp`; the first
//! lines of a file may lack them. Unknown shapes are skipped, never fatal.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io;
use std::marker::PhantomData;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use memchr::memmem::Finder;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::util::timefmt::parse_timestamp;

/// Bytes read from each end of a transcript (64 KiB, as Claude Code's own picker does).
pub const WINDOW: u64 = 64 * 1024;

/// Bytes of the head read first (16 KiB): cwd and first prompt are almost always in
/// the first records; the full [`WINDOW`] is read only when they are not.
const FIRST_HEAD: u64 = 16 * 1024;

/// First prompts and titles are cut to this many characters.
pub const MAX_TEXT_CHARS: usize = 400;

/// Where a session's title came from, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TitleKind {
    /// The user's rename (`custom-title` record).
    Custom,
    /// Claude Code's generated title (`ai-title` record).
    Ai,
    /// A `summary` record.
    Summary,
    /// The first real user prompt.
    FirstPrompt,
    /// The `last-prompt` record.
    LastPrompt,
}

/// A record's `uuid` (Claude Code writes a UUID v4, lowercase and hyphenated), held in
/// 16 bytes when it has that form and kept as it was otherwise, so two of them are
/// equal exactly when their strings are. It serialises as its string (so the cache
/// row is the same as for a `String`).
///
/// Held inline rather than as a `String`: a listing carries one per transcript until
/// the merge drops it, and 20,000 small strings freed there left the heap so
/// fragmented that every allocation after it was slower; a warm listing of 20,000
/// sessions spent 15–20 ms more in the merge (see BENCHMARKS.md, fifth pass).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordUuid {
    /// The 16 bytes of a lowercase 8-4-4-4-12 hex UUID.
    Canonical([u8; 16]),
    /// Any other string, as it was.
    Other(Box<str>),
}

impl RecordUuid {
    /// The uuid `s`: [`RecordUuid::Canonical`] when it is a lowercase hyphenated UUID,
    /// else [`RecordUuid::Other`].
    pub fn new(s: &str) -> RecordUuid {
        super::uuid_bytes(s.as_bytes(), super::HexCase::Lower)
            .map_or_else(|| RecordUuid::Other(s.into()), RecordUuid::Canonical)
    }

    /// Calls `f` with the uuid as the string it was read from (formatted on the stack).
    pub fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            RecordUuid::Other(s) => f(s),
            RecordUuid::Canonical(bytes) => {
                // Only ASCII hex digits and hyphens.
                f(std::str::from_utf8(&super::uuid_text(bytes)).unwrap_or_default())
            }
        }
    }
}

impl fmt::Display for RecordUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| f.write_str(s))
    }
}

impl Serialize for RecordUuid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.with_str(|u| s.serialize_str(u))
    }
}

impl<'de> Deserialize<'de> for RecordUuid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RecordUuid;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a record uuid (a string)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RecordUuid, E> {
                Ok(RecordUuid::new(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// What a transcript says about its session. Every field is optional: a field the
/// bounded reads did not find stays `None`. This is also the metadata cache's row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TranscriptMeta {
    /// Working directory of the first record that has one.
    pub cwd: Option<String>,
    /// `gitBranch` of the first record carrying the key. Outside a git repository Claude
    /// Code writes `""` (older builds) or the literal `"HEAD"` (2.1.197 and 2.1.332, checked):
    /// both are `None`.
    pub git_branch: Option<String>,
    /// First `timestamp` in the file (UTC, millisecond precision).
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub first_timestamp: Option<DateTime<Utc>>,
    /// Last `timestamp` in the file (UTC, millisecond precision). Only read when asked
    /// for (see [`read_meta_with`]) or when the head has no timestamp: a listing dates a
    /// session by its file's mtime and needs this only where the mtime is unknown, and
    /// finding it can mean parsing the file's longest line (a 2.1.332 prompt snapshot).
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_timestamp: Option<DateTime<Utc>>,
    /// Text of the first real user prompt (not a tool result, meta record or command
    /// wrapper), at most [`MAX_TEXT_CHARS`] characters.
    pub first_prompt: Option<String>,
    /// The title: the last custom title, else the last AI title, else the last summary,
    /// else the first prompt, else the last prompt.
    pub title: Option<String>,
    /// Where [`Self::title`] came from.
    pub title_kind: Option<TitleKind>,
    /// `forkedFrom.sessionId`: the session this one was forked from, when Claude Code
    /// recorded it (2.1.197 does not).
    pub forked_from: Option<String>,
    /// `uuid` of the record holding the first prompt. A fork copies the predecessor's
    /// records with their uuids, so two sessions sharing it are fork and parent.
    pub first_prompt_uuid: Option<RecordUuid>,
    /// Timestamp of the first line in the head that is not a conversation record (no
    /// `uuid`): `queue-operation` (`-p`), `file-history-snapshot` (interactive; its
    /// timestamp is nested), and the like. Only the session's own claude writes those, so
    /// for a fork, whose first conversation records are copies bearing the parent's
    /// times, this dates the fork itself (checked on 2.1.197 and 2.1.332).
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub bookkeeping_at: Option<DateTime<Utc>>,
    /// The last `agent-name` record's `agentName` (written with each rename, and by
    /// `--name`), at most [`MAX_TEXT_CHARS`] characters.
    pub agent_name: Option<String>,
    /// The last `last-prompt` record's `lastPrompt`, at most [`MAX_TEXT_CHARS`]
    /// characters.
    pub last_prompt: Option<String>,
    /// True when the head held bytes but no JSON object line at all (binary or corrupt).
    pub corrupt: bool,
    /// The conversation's record chain, read in full only for sessions that share their
    /// first prompt with another (forks and their parents); see [`super::forks`].
    pub chain: Option<Box<super::forks::Chain>>,
    /// The `custom-title.json` sidecar as last read; see [`super::sidecar`].
    pub sidecar: Option<Box<super::sidecar::SidecarTitle>>,
}

/// Reads the metadata of the transcript at `path`, whose size is `size` bytes. Reads at
/// most [`WINDOW`] bytes from the start (16 KiB first, the rest only when needed) and
/// [`WINDOW`] from the end; a file of at most 80 KiB is read whole, once.
///
/// Errors: only I/O errors opening or reading the file. Content that is not JSON is
/// skipped; a head with no JSON object line at all sets [`TranscriptMeta::corrupt`].
pub fn read_meta(path: &Path, size: u64) -> io::Result<TranscriptMeta> {
    read_meta_with(path, size, &mut Vec::new(), true)
}

/// [`read_meta`] reading through `buf`, a buffer the caller keeps between calls so a
/// scan of thousands of files allocates (and zeroes) it once per thread; its contents
/// on return are unspecified. [`TranscriptMeta::last_timestamp`] is found only when
/// `want_last` is set or the head gives no first timestamp.
///
/// Errors: as [`read_meta`].
pub fn read_meta_with(
    path: &Path,
    size: u64,
    buf: &mut Vec<u8>,
    want_last: bool,
) -> io::Result<TranscriptMeta> {
    // Regular files only: the listing checked, but the path may have been swapped for
    // a FIFO or a device since.
    let (file, _) = crate::util::fsread::open_regular(path)?;
    read_meta_from(&file, size, buf, want_last)
}

/// [`read_meta_with`] for a transcript already open (by
/// [`crate::util::fsread::open_regular`] or a [`crate::util::fsread::DirHandle`]).
///
/// Errors: as [`read_meta`], for reading only.
pub fn read_meta_from(
    file: &File,
    size: u64,
    buf: &mut Vec<u8>,
    want_last: bool,
) -> io::Result<TranscriptMeta> {
    let mut meta = TranscriptMeta::default();
    let mut titles = Titles::default();
    // Reads go to fixed offsets (`pread`): no seeks, and the buffer keeps its length so
    // it is never zeroed again.
    let whole = (WINDOW + FIRST_HEAD) as usize;
    if buf.len() < whole {
        buf.resize(whole, 0);
    }
    if size <= WINDOW + FIRST_HEAD {
        let n = read_full_at(file, &mut buf[..whole], 0)?;
        scan_head(&buf[..n], true, &mut meta);
        scan_tail(&buf[..n], true, want_last, &mut meta, &mut titles);
    } else {
        // The head scan stops at the record that completes cwd and first prompt, so when
        // a short head holds both, the full window would give the same answer.
        let (first, window) = (FIRST_HEAD as usize, WINDOW as usize);
        file.read_exact_at(&mut buf[..first], 0)?;
        scan_head(&buf[..first], false, &mut meta);
        let mut head_len = first;
        if meta.cwd.is_none() || meta.first_prompt.is_none() {
            meta = TranscriptMeta::default();
            file.read_exact_at(&mut buf[first..window], FIRST_HEAD)?;
            scan_head(&buf[..window], false, &mut meta);
            head_len = window;
        }
        // A fork starts with a copy of its parent's title records, and its own turns
        // (a 2.1.332 turn writes over 100 KB) can push every later copy out of the tail:
        // the head's title records count for the types the tail lacks.
        let mut head_titles = Titles::default();
        let head = &buf[..head_len];
        let complete = memchr::memrchr(b'\n', head).map_or(0, |i| i + 1);
        scan_titles(&head[..complete], &mut head_titles, false);
        let n = read_full_at(file, &mut buf[..window], size - WINDOW)?;
        scan_tail(&buf[..n], false, want_last, &mut meta, &mut titles);
        titles.fill_from(head_titles);
    }
    if meta.first_timestamp.is_none() {
        meta.first_timestamp = meta.last_timestamp;
    }
    meta.agent_name = titles.agent;
    meta.last_prompt = titles.last_prompt.clone();
    let candidates = [
        (titles.custom, TitleKind::Custom),
        (titles.ai, TitleKind::Ai),
        (titles.summary, TitleKind::Summary),
        (meta.first_prompt.clone(), TitleKind::FirstPrompt),
        (titles.last_prompt, TitleKind::LastPrompt),
    ];
    if let Some((t, k)) = candidates.into_iter().find_map(|(t, k)| t.map(|t| (t, k))) {
        meta.title = Some(t);
        meta.title_kind = Some(k);
    }
    Ok(meta)
}

/// Reads into `buf` from byte `offset` until it is full or the file ends; returns the
/// number of bytes read.
fn read_full_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// One transcript line, as far as the listing cares: unknown fields are skipped without
/// being built, strings are borrowed from the buffer when they hold no escapes, and
/// `message.content` is read as `C` (see [`Content`]): only as far as the first prompt
/// needs, or not at all.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Record<'a, C> {
    #[serde(rename = "type", borrow)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cwd: Option<Cow<'a, str>>,
    #[serde(rename = "gitBranch", borrow)]
    git_branch: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(rename = "isMeta")]
    is_meta: Option<bool>,
    #[serde(rename = "isCompactSummary")]
    is_compact_summary: Option<bool>,
    #[serde(rename = "forkedFrom", borrow)]
    forked_from: Option<Forked<'a>>,
    message: Option<Message<C>>,
    #[serde(rename = "customTitle", borrow)]
    custom_title: Option<Cow<'a, str>>,
    #[serde(rename = "aiTitle", borrow)]
    ai_title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    summary: Option<Cow<'a, str>>,
    #[serde(rename = "lastPrompt", borrow)]
    last_prompt: Option<Cow<'a, str>>,
    #[serde(rename = "agentName", borrow)]
    agent_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Forked<'a> {
    #[serde(rename = "sessionId", borrow)]
    session_id: Option<Cow<'a, str>>,
}

/// A record's `message`, its `content` read as `C`.
#[derive(Deserialize)]
#[serde(default)]
pub(super) struct Message<C> {
    content: Option<C>,
}

impl<C> Default for Message<C> {
    fn default() -> Self {
        Message { content: None }
    }
}

impl<C: Content> Message<C> {
    /// The first real prompt of the content (see [`prompt_text`]).
    pub(super) fn prompt(self) -> Option<String> {
        self.content.and_then(Content::prompt)
    }
}

/// How `message.content` is read. Three ways, cheapest first:
/// - [`IgnoredAny`]: skipped (its strings are not even checked to be UTF-8), for reads
///   that need no prompt;
/// - [`Prompt`]: a string, or an array of blocks read as [`prompt_text`] reads it, so
///   only the blocks' `type` and `text` are built and checked; any other shape fails
///   the line's parse;
/// - [`Raw`]: the content kept raw and handed to [`prompt_text`], which never fails the
///   line for its shape. A line [`Prompt`] refuses is read again this way, so both
///   together give what [`Raw`] alone gives, except that bytes that are not UTF-8 in
///   parts of the content nobody reads no longer make the line unreadable.
pub(super) trait Content: Default {
    /// The first real prompt the content holds, as [`prompt_text`] finds it.
    fn prompt(self) -> Option<String>;
}

impl Content for IgnoredAny {
    fn prompt(self) -> Option<String> {
        None
    }
}

/// `content` kept raw (UTF-8 checked, nothing built) for [`prompt_text`].
#[derive(Deserialize, Default)]
pub(super) struct Raw<'a>(#[serde(borrow)] Option<&'a RawValue>);

impl Content for Raw<'_> {
    fn prompt(self) -> Option<String> {
        self.0.and_then(prompt_text)
    }
}

/// `content` as the first prompt needs it: the string, or of an array of blocks the
/// text of the first `text` block that is a real prompt. Strings other than those are
/// skipped unread. Fails on anything but a string or an array of objects (or pairs)
/// with string or null `type` and `text`: those are read again as [`Raw`].
#[derive(Default)]
pub(super) struct Prompt<'a>(Option<Cow<'a, str>>);

impl Content for Prompt<'_> {
    fn prompt(self) -> Option<String> {
        self.0.as_deref().and_then(real_prompt)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Prompt<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PromptVisitor(PhantomData))
    }
}

struct PromptVisitor<'a>(PhantomData<Prompt<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for PromptVisitor<'a> {
    type Value = Prompt<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an array of content blocks")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Prompt(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Prompt(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Prompt(Some(Cow::Owned(v))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Every block must read as one (as `prompt_text` reads them all), the first
        // real prompt wins.
        let mut first = None;
        while let Some(b) = seq.next_element::<Block<'a>>()? {
            if first.is_none()
                && b.ty.as_deref() == Some("text")
                && b.text.as_deref().and_then(real_text).is_some()
            {
                first = b.text;
            }
        }
        Ok(Prompt(first))
    }
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

/// Parses one line, its `message.content` read as `C`; `None` for anything that is not a
/// JSON object of the expected shape.
fn parse<'a, C: Content + Deserialize<'a>>(line: &'a [u8]) -> Option<Record<'a, C>> {
    serde_json::from_slice(line).ok()
}

static CWD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"cwd\""));
static TIMESTAMP: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"timestamp\""));
static FORKED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"forkedFrom\""));
static USER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"user\""));

/// Scans the start of a file for the cwd, branch, first timestamp, fork parent and
/// first prompt. `whole` says the buffer ends at the end of the file, so its last line
/// is complete even without a newline.
fn scan_head(buf: &[u8], whole: bool, meta: &mut TranscriptMeta) {
    let mut saw_bytes = false;
    let mut saw_object = false;
    let mut branch_decided = false;
    let mut rest = buf;
    while !rest.is_empty() {
        let (line, next, complete) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..], true),
            None => (rest, &rest[rest.len()..], whole),
        };
        rest = next;
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        saw_bytes = true;
        if !line.starts_with(b"{") {
            continue;
        }
        saw_object = true;
        if !complete {
            // A line longer than the window: pull the plain fields out of its start.
            salvage_fields(line, meta);
            break;
        }
        // Snapshots, queue operations and the like carry none of these: skip the parse.
        let wanted = CWD.find(line).is_some()
            || TIMESTAMP.find(line).is_some()
            || FORKED.find(line).is_some()
            || (meta.first_prompt.is_none() && USER.find(line).is_some());
        if !wanted {
            continue;
        }
        // The content is read only while the first prompt is missing; a line whose
        // content the quick read refuses is read again raw.
        let complete = if meta.first_prompt.is_none() {
            match parse::<Prompt>(line) {
                Some(r) => take_head(r, meta, &mut branch_decided, line),
                None => match parse::<Raw>(line) {
                    Some(r) => take_head(r, meta, &mut branch_decided, line),
                    None => continue,
                },
            }
        } else {
            match parse::<IgnoredAny>(line) {
                Some(r) => take_head(r, meta, &mut branch_decided, line),
                None => continue,
            }
        };
        if complete {
            break;
        }
    }
    meta.corrupt = saw_bytes && !saw_object;
}

/// Takes what the head scan wants from record `r` of `line` into `meta`; returns whether
/// the scan is done (cwd and first prompt found). `branch_decided` is set once a record
/// carried a `gitBranch` key.
fn take_head<C: Content>(
    r: Record<'_, C>,
    meta: &mut TranscriptMeta,
    branch_decided: &mut bool,
    line: &[u8],
) -> bool {
    if meta.cwd.is_none() {
        meta.cwd = r.cwd.map(Cow::into_owned);
    }
    // The first record carrying a `gitBranch` key decides it: outside git it is
    // empty, and later records should not be searched for one.
    if !*branch_decided && let Some(b) = r.git_branch {
        *branch_decided = true;
        meta.git_branch = Some(b.into_owned()).filter(|b| is_branch(b));
    }
    if meta.bookkeeping_at.is_none() && r.uuid.is_none() {
        meta.bookkeeping_at = match r.timestamp.as_deref() {
            Some(t) => parse_timestamp(t),
            None => string_after(line, b"\"timestamp\":\"").and_then(|t| parse_timestamp(&t)),
        };
    }
    if meta.first_timestamp.is_none() {
        meta.first_timestamp = r.timestamp.as_deref().and_then(parse_timestamp);
    }
    if meta.forked_from.is_none() {
        meta.forked_from = r
            .forked_from
            .and_then(|f| f.session_id)
            .map(Cow::into_owned);
    }
    if meta.first_prompt.is_none()
        && r.ty.as_deref() == Some("user")
        && r.is_meta != Some(true)
        && r.is_compact_summary != Some(true)
    {
        meta.first_prompt = r.message.and_then(Message::prompt);
        if meta.first_prompt.is_some() {
            meta.first_prompt_uuid = r.uuid.as_deref().map(RecordUuid::new);
        }
    }
    // The branch comes with the cwd in every record Claude Code writes; a file
    // whose records lack it is not worth reading further for it.
    meta.cwd.is_some() && meta.first_prompt.is_some()
}

/// Whether a `gitBranch` value names a branch: Claude Code writes `""` or `"HEAD"` when
/// there is none (outside git, or a detached head).
pub fn is_branch(b: &str) -> bool {
    !b.is_empty() && b != "HEAD"
}

/// The first human-typed text of a user message's raw `content` (a string, or an array
/// of blocks of which only `text` blocks count).
pub(super) fn prompt_text(content: &RawValue) -> Option<String> {
    let raw = content.get();
    if raw.starts_with('"') {
        let s: Cow<str> = serde_json::from_str(raw).ok()?;
        return real_prompt(&s);
    }
    if raw.starts_with('[') {
        let blocks: Vec<Block> = serde_json::from_str(raw).ok()?;
        return blocks.iter().find_map(|b| {
            if b.ty.as_deref() == Some("text") {
                real_prompt(b.text.as_deref()?)
            } else {
                None
            }
        });
    }
    None
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
    real_text(s).map(clip)
}

/// `s` trimmed, if it is a real prompt: not empty, not one of the [`INJECTED`] wrappers.
fn real_text(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty() && !INJECTED.iter().any(|p| t.starts_with(p))).then_some(t)
}

/// Cuts text to [`MAX_TEXT_CHARS`] characters, adding `…` when cut.
pub fn clip(s: &str) -> String {
    // A character takes at least one byte: a short text needs no counting.
    if s.len() <= MAX_TEXT_CHARS {
        return s.to_owned();
    }
    match s.char_indices().nth(MAX_TEXT_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The last title records (and the last agent name) found by the tail scan.
#[derive(Default)]
struct Titles {
    custom: Option<String>,
    ai: Option<String>,
    summary: Option<String>,
    last_prompt: Option<String>,
    agent: Option<String>,
}

impl Titles {
    fn slot(&mut self, ty: &str) -> &mut Option<String> {
        match ty {
            "custom-title" => &mut self.custom,
            "ai-title" => &mut self.ai,
            "summary" => &mut self.summary,
            "agent-name" => &mut self.agent,
            _ => &mut self.last_prompt,
        }
    }

    fn missing_any(&self) -> bool {
        self.custom.is_none()
            || self.ai.is_none()
            || self.summary.is_none()
            || self.last_prompt.is_none()
            || self.agent.is_none()
    }

    /// Fills each type this found no record of with `older`'s (records read nearer the
    /// start of the file, so older than any of this one's).
    fn fill_from(&mut self, older: Titles) {
        self.custom = self.custom.take().or(older.custom);
        self.ai = self.ai.take().or(older.ai);
        self.summary = self.summary.take().or(older.summary);
        self.last_prompt = self.last_prompt.take().or(older.last_prompt);
    }

    fn is_empty(&self) -> bool {
        self.custom.is_none()
            && self.ai.is_none()
            && self.summary.is_none()
            && self.last_prompt.is_none()
            && self.agent.is_none()
    }

    /// Takes `line` as a record of `rec`'s type if it is one with a non-empty value and
    /// that type is not found yet (lines come newest first). Returns whether it did.
    fn take(&mut self, rec: &TitleRecord, line: &[u8]) -> bool {
        if self.slot(rec.ty).is_some() {
            return false;
        }
        let Some(r) = parse::<IgnoredAny>(line).filter(|r| r.ty.as_deref() == Some(rec.ty)) else {
            return false;
        };
        let value = match rec.ty {
            "custom-title" => r.custom_title,
            "ai-title" => r.ai_title,
            "summary" => r.summary,
            "agent-name" => r.agent_name,
            _ => r.last_prompt,
        };
        match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => {
                *self.slot(rec.ty) = Some(clip(v));
                true
            }
            None => false,
        }
    }
}

/// A title record type, the marker that finds its lines, and the field it sets.
struct TitleRecord {
    ty: &'static str,
    finder: LazyLock<Finder<'static>>,
}

static TITLE_RECORDS: [TitleRecord; 5] = [
    TitleRecord {
        ty: "custom-title",
        finder: LazyLock::new(|| Finder::new(b"\"custom-title\"")),
    },
    TitleRecord {
        ty: "ai-title",
        finder: LazyLock::new(|| Finder::new(b"\"ai-title\"")),
    },
    TitleRecord {
        ty: "summary",
        finder: LazyLock::new(|| Finder::new(b"\"summary\"")),
    },
    TitleRecord {
        ty: "last-prompt",
        finder: LazyLock::new(|| Finder::new(b"\"last-prompt\"")),
    },
    TitleRecord {
        ty: "agent-name",
        finder: LazyLock::new(|| Finder::new(b"\"agent-name\"")),
    },
];

/// The line of `buf` that contains byte `pos`, as (start, end) offsets.
fn line_around(buf: &[u8], pos: usize) -> (usize, usize) {
    let start = memchr::memrchr(b'\n', &buf[..pos]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &buf[pos..]).map_or(buf.len(), |i| pos + i);
    (start, end)
}

/// Scans the end of a file for the last record of each title type, and for the last
/// timestamp when `want_last` is set or the head found none. `whole` says the buffer
/// starts at the start of the file.
fn scan_tail(
    buf: &[u8],
    whole: bool,
    want_last: bool,
    meta: &mut TranscriptMeta,
    titles: &mut Titles,
) {
    let want_last = want_last || meta.first_timestamp.is_none();
    // Unless the buffer starts the file, its first piece is the end of a cut line.
    let region = if whole {
        buf
    } else {
        match memchr::memchr(b'\n', buf) {
            Some(i) if !buf[i + 1..].trim_ascii().is_empty() => &buf[i + 1..],
            _ => {
                // The window lies inside the last line: its last timestamp key is the
                // best guess (Claude Code writes `timestamp` late in each record).
                if want_last {
                    meta.last_timestamp = last_timestamp_in(buf);
                }
                return;
            }
        }
    };

    // Last timestamp: the newest line that has one.
    let mut end = if want_last { region.len() } else { 0 };
    while end > 0 && meta.last_timestamp.is_none() {
        let start = memchr::memrchr(b'\n', &region[..end]).map_or(0, |i| i + 1);
        let line = region[start..end].trim_ascii();
        if TIMESTAMP.find(line).is_some() {
            meta.last_timestamp = parse::<IgnoredAny>(line)
                .and_then(|r| r.timestamp)
                .as_deref()
                .and_then(parse_timestamp);
        }
        end = start.saturating_sub(1);
        if start == 0 {
            break;
        }
    }

    scan_titles(region, titles, true);
}

/// Finds the last record of each title type in `region` (whole lines) that `titles` has
/// none of yet. With `fallback`, when no line starts with a title record's `type`,
/// every mention of a title type is tried (slower; a writer that orders keys otherwise).
fn scan_titles(region: &[u8], titles: &mut Titles, fallback: bool) {
    // Title records: Claude Code writes them with `type` first, so walking lines from
    // the end and looking at each line's start finds the last of each type in one pass.
    let mut end = region.len();
    while end > 0 && titles.missing_any() {
        let start = memchr::memrchr(b'\n', &region[..end]).map_or(0, |i| i + 1);
        let line = region[start..end].trim_ascii();
        if let Some(rest) = line.strip_prefix(b"{\"type\":\"")
            && let Some(rec) = TITLE_RECORDS
                .iter()
                .find(|r| rest.starts_with(r.ty.as_bytes()) && rest.get(r.ty.len()) == Some(&b'"'))
        {
            titles.take(rec, line);
        }
        if start == 0 {
            break;
        }
        end = start - 1;
    }
    if fallback && titles.is_empty() {
        // A writer that puts `type` elsewhere: find every mention of each title type
        // (forward search is SIMD-accelerated, reverse search is not) from the last.
        for rec in &TITLE_RECORDS {
            let hits: Vec<usize> = rec.finder.find_iter(region).collect();
            let mut searched_below = region.len();
            for &pos in hits.iter().rev() {
                if pos >= searched_below {
                    continue;
                }
                let (s, e) = line_around(region, pos);
                searched_below = s;
                if titles.take(rec, region[s..e].trim_ascii()) {
                    break;
                }
            }
        }
    }
}

/// Pulls `cwd`, `gitBranch` and `timestamp` out of the start of a line too long to
/// parse within the window. In JSON text an unescaped `"cwd":"` can only be a key, never
/// the inside of a string, so a plain search is safe enough.
fn salvage_fields(line: &[u8], meta: &mut TranscriptMeta) {
    if meta.cwd.is_none() {
        meta.cwd = string_after(line, b"\"cwd\":\"");
    }
    if meta.git_branch.is_none() {
        meta.git_branch = string_after(line, b"\"gitBranch\":\"").filter(|b| is_branch(b));
    }
    if meta.first_timestamp.is_none() {
        meta.first_timestamp =
            string_after(line, b"\"timestamp\":\"").and_then(|t| parse_timestamp(&t));
    }
}

fn last_timestamp_in(buf: &[u8]) -> Option<DateTime<Utc>> {
    let pos = memchr::memmem::rfind(buf, b"\"timestamp\":\"")?;
    string_after(&buf[pos..], b"\"timestamp\":\"").and_then(|t| parse_timestamp(&t))
}

/// The JSON string value that follows `key` (which ends with the opening quote), decoded.
fn string_after(buf: &[u8], key: &[u8]) -> Option<String> {
    let start = memchr::memmem::find(buf, key)? + key.len();
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
    fn record_uuids_compare_as_their_strings_and_serialise_as_them() {
        let canon = "0c4b1f0e-9a7d-4e2b-8f3a-5d6c7b8a9e01";
        let u = RecordUuid::new(canon);
        assert!(matches!(u, RecordUuid::Canonical(_)));
        assert_eq!(u.to_string(), canon);
        // Anything else is kept as it was: uppercase, short, hyphens misplaced, non-hex.
        for other in [
            "0C4B1F0E-9A7D-4E2B-8F3A-5D6C7B8A9E01",
            "uuid",
            "",
            "0c4b1f0e9a7d-4e2b-8f3a-5d6c7b8a9e01-",
            "0c4b1f0e-9a7d-4e2b-8f3a-5d6c7b8a9e0g",
            "0c4b1f0e-9a7d-4e2b-8f3a-5d6c7b8a9é",
        ] {
            let o = RecordUuid::new(other);
            assert!(matches!(o, RecordUuid::Other(_)), "{other}");
            assert_eq!(o.to_string(), other);
            assert_ne!(o, u);
        }
        assert_eq!(RecordUuid::new(canon), u);
        assert_ne!(RecordUuid::new("1c4b1f0e-9a7d-4e2b-8f3a-5d6c7b8a9e01"), u);
        // The cache row is what a String's was, and reads back to the same value.
        for v in [u, RecordUuid::new("not a uuid")] {
            let bytes = postcard::to_stdvec(&v).unwrap();
            assert_eq!(bytes, postcard::to_stdvec(&v.to_string()).unwrap());
            assert_eq!(postcard::from_bytes::<RecordUuid>(&bytes).unwrap(), v);
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<RecordUuid>(&json).unwrap(), v);
        }
        assert!(serde_json::from_str::<RecordUuid>("7").is_err());
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
        assert_eq!(m.title.as_deref(), Some("My rename"));
        assert_eq!(m.title_kind, Some(TitleKind::Custom));
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
    fn the_last_timestamp_is_read_only_when_wanted_or_the_head_has_none() {
        let (f, size) = write(&[
            user("first", "2026-01-01T00:00:00.000Z"),
            user("later", "2026-01-01T00:05:00.000Z"),
        ]);
        let m = read_meta_with(f.path(), size, &mut Vec::new(), false).unwrap();
        assert_eq!(m.last_timestamp, None, "the mtime dates it");
        assert_eq!(
            m.first_timestamp.unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        let m = read_meta_with(f.path(), size, &mut Vec::new(), true).unwrap();
        assert_eq!(
            m.last_timestamp.unwrap().to_rfc3339(),
            "2026-01-01T00:05:00+00:00"
        );
        // No timestamp in the head: the tail's stands in for the first one.
        let mut lines = vec![r#"{"type":"mode","mode":"default"}"#.to_string(); 1];
        lines.push("x".repeat(100 * 1024));
        lines.push(user("tail", "2026-02-02T00:00:00.000Z"));
        let (f, size) = write(&lines);
        let m = read_meta_with(f.path(), size, &mut Vec::new(), false).unwrap();
        assert_eq!(
            m.first_timestamp.unwrap().to_rfc3339(),
            "2026-02-02T00:00:00+00:00"
        );
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
        assert_eq!(m.title.as_deref(), Some("Tail title"));
        assert_eq!(m.title_kind, Some(TitleKind::Ai));
        assert_eq!(
            m.last_timestamp.unwrap().to_rfc3339(),
            "2026-02-02T00:00:00+00:00"
        );
    }

    /// A 2.1.332 fork's shape: its parent's title records copied to the top, then the
    /// copied conversation and its own turn, whose `prompt_snapshot` attachment (57 KB
    /// on one line) and `api-request-shape` push everything above out of the tail.
    fn fork_lines(tail_title: Option<&str>) -> Vec<String> {
        let snapshot = |ts: &str| {
            serde_json::json!({"parentUuid":"p","isSidechain":false,"attachment":{
                "type":"prompt_snapshot","text":"s".repeat(57_000)},"type":"attachment",
                "uuid":"a","timestamp":ts,"cwd":"/w/p","sessionId":"s"})
            .to_string()
        };
        let mut lines = vec![
            r#"{"type":"custom-title","customTitle":"Parent title","sessionId":"s"}"#.to_string(),
            r#"{"type":"agent-name","agentName":"Parent title","sessionId":"s"}"#.to_string(),
            r#"{"type":"mode","mode":"normal","sessionId":"s"}"#.to_string(),
            r#"{"type":"atis-latch","atis":"","sessionId":"s"}"#.to_string(),
            user("the parent's first prompt", "2026-04-01T00:00:00.000Z"),
            snapshot("2026-04-01T00:00:01.000Z"),
            user("the fork's prompt", "2026-04-02T00:00:00.000Z"),
            serde_json::json!({"type":"api-request-shape","sessionId":"s",
                "timestamp":"2026-04-02T00:00:00.100Z","shape":{"system":"x".repeat(38_000)}})
            .to_string(),
            snapshot("2026-04-02T00:00:01.000Z"),
            r#"{"type":"cost-state","sessionId":"s","totalCostUSD":0.1}"#.to_string(),
        ];
        if let Some(t) = tail_title {
            lines.push(
                serde_json::json!({"type":"custom-title","customTitle":t,"sessionId":"s"})
                    .to_string(),
            );
        }
        lines
    }

    #[test]
    fn a_title_copied_to_the_head_counts_when_the_tail_has_none() {
        let (f, size) = write(&fork_lines(None));
        assert!(size > WINDOW + FIRST_HEAD, "read as head and tail: {size}");
        let m = read_meta(f.path(), size).unwrap();
        assert_eq!(m.title.as_deref(), Some("Parent title"));
        assert_eq!(m.title_kind, Some(TitleKind::Custom));
        assert_eq!(m.first_prompt.as_deref(), Some("the parent's first prompt"));
        assert_eq!(
            m.last_timestamp.unwrap().to_rfc3339(),
            "2026-04-02T00:00:01+00:00"
        );
    }

    #[test]
    fn a_title_in_the_tail_beats_the_head_copy() {
        let (f, size) = write(&fork_lines(Some("Fork renamed")));
        let m = read_meta(f.path(), size).unwrap();
        assert_eq!(m.title.as_deref(), Some("Fork renamed"));
        assert_eq!(m.title_kind, Some(TitleKind::Custom));
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
        assert_eq!(m.title, None);
        let e = tempfile::NamedTempFile::new().unwrap();
        let m = read_meta(e.path(), 0).unwrap();
        assert!(!m.corrupt);
        assert_eq!(m, TranscriptMeta::default());
    }

    /// The prompt and the fields of a user line whose `message` is `message`: read
    /// quickly with the raw read as fallback (as the scans do), or raw only.
    fn both_reads(message: &str) -> [Option<(Option<String>, Option<String>)>; 2] {
        let line = format!(r#"{{"type":"user","uuid":"u","cwd":"/w","message":{message}}}"#);
        let line = line.as_bytes();
        let fields = |cwd: Option<Cow<str>>, m: Option<Option<String>>| {
            (cwd.map(Cow::into_owned), m.flatten())
        };
        let quick = match parse::<Prompt>(line) {
            Some(r) => Some(fields(r.cwd, r.message.map(Message::prompt))),
            None => parse::<Raw>(line).map(|r| fields(r.cwd, r.message.map(Message::prompt))),
        };
        let raw = parse::<Raw>(line).map(|r| fields(r.cwd, r.message.map(Message::prompt)));
        [quick, raw]
    }

    #[test]
    fn the_quick_content_read_finds_what_the_raw_read_finds() {
        let messages = [
            r#"{"content":"hello"}"#,
            r#"{"content":"  padded \t"}"#,
            r#"{"content":"<command-name>/x</command-name>"}"#,
            r#"{"content":"esc\u00e9\n\"q\""}"#,
            r#"{"content":"\ud83d\ude00 pair"}"#,
            r#"{"content":"lone \ud800"}"#,
            r#"{"content":"lone \udc00 trail"}"#,
            r#"{"content":[{"type":"text","text":"hi"}]}"#,
            r#"{"content":[{"type":"tool_result","content":"x \ud800"},{"type":"text","text":"b"}]}"#,
            r#"{"content":[{"type":"text","text":"<system-reminder>"},{"type":"text","text":"c"}]}"#,
            r#"{"content":[{"type":"text","text":"  "},{"type":"image"},{"type":"text","text":"d"}]}"#,
            r#"{"content":[{"type":"text","text":"x \udc00"}]}"#,
            r#"{"content":[{"type":"text","text":5}]}"#,
            r#"{"content":[{"type":"text","text":null},{"type":"text","text":"e"}]}"#,
            r#"{"content":[{"type":"text","type":"text","text":"dup"}]}"#,
            r#"{"content":[{"type":"text","text":"one","text":"two"}]}"#,
            r#"{"content":[["text","pair"]]}"#,
            r#"{"content":[["text","pair","three"]]}"#,
            r#"{"content":[["text"]]}"#,
            r#"{"content":["str"]}"#,
            r#"{"content":[null]}"#,
            r#"{"content":[1e400]}"#,
            r#"{"content":[{"\ud800":1},{"type":"text","text":"f"}]}"#,
            r#"{"content":[{"type":"text","text":"g","deep":[[[[[[[[[[[[[[]]]]]]]]]]]]]]}]}"#,
            r#"{"content":[{"type":"thinking","thinking":"t"},{"type":"text","text":"h"}]}"#,
            r#"{"content":[]}"#,
            r#"{"content":{}}"#,
            r#"{"content":{"type":"text","text":"obj"}}"#,
            r#"{"content":5}"#,
            r#"{"content":1e400}"#,
            r#"{"content":true}"#,
            r#"{"content":null}"#,
            r#"{"content":"a","content":"b"}"#,
            r#"{"role":"user"}"#,
            r#"[]"#,
            r#"[{"content":"seq"}]"#,
            r#"null"#,
            r#""text""#,
            r#"{"content":[{"type":"text","text":"cut"#,
        ];
        for m in messages {
            let [quick, raw] = both_reads(m);
            assert_eq!(quick, raw, "message {m}");
        }
        // Bytes that are not UTF-8 where nobody reads them no longer cost the line.
        let mut line =
            br#"{"type":"user","cwd":"/w","message":{"content":[{"type":"tool_result","content":"#
                .to_vec();
        line.extend_from_slice(b"\"\xff\"},{\"type\":\"text\",\"text\":\"j\"}]}}");
        assert!(parse::<Raw>(&line).is_none());
        let r = parse::<Prompt>(&line).unwrap();
        assert_eq!(r.message.and_then(Message::prompt).as_deref(), Some("j"));
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
