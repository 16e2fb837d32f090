//! Reads a project folder's legacy `sessions-index.json` as an enrichment source.
//!
//! The format is Claude Code's (written up to about 2.1.29, neither written nor read by
//! later versions): `{"version": 1, "entries": [{"sessionId", "fullPath", "fileMtime" (ms
//! since epoch), "firstPrompt", "summary", "customTitle"?, "messageCount", "created",
//! "modified" (ISO-8601), "gitBranch", "projectPath", "isSidechain", ...}], "originalPath"}`.
//! On disks today it is often stale, partial or corrupt, so it only adds to what the
//! transcripts say and is never the only way a session is found. Writing it is
//! `index_patch`'s job.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::discover::transcript::clip;
use crate::link::index_patch::MAX_INDEX_BYTES;
use crate::util::fsread::read_capped;
use crate::util::timefmt::parse_timestamp;

/// File name of the legacy index inside a project folder.
pub const INDEX_FILE: &str = "sessions-index.json";

/// One usable entry of a `sessions-index.json`.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    /// `sessionId`.
    pub session_id: String,
    /// `fullPath`: where the index says the transcript is.
    pub full_path: Option<PathBuf>,
    /// `summary`.
    pub summary: Option<String>,
    /// `customTitle`.
    pub custom_title: Option<String>,
    /// `firstPrompt` (Claude Code wrote `"No prompt"` when there was none; that is dropped).
    pub first_prompt: Option<String>,
    /// `created` (UTC).
    pub created: Option<DateTime<Utc>>,
    /// `modified` (UTC).
    pub modified: Option<DateTime<Utc>>,
    /// `projectPath`: the session's working directory.
    pub project_path: Option<String>,
    /// `gitBranch`.
    pub git_branch: Option<String>,
}

/// Why an index file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not JSON.
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not an object with an `entries` array.
    #[error("not an index: expected an object with an \"entries\" array")]
    Shape,
}

/// The usable entries of one index file, plus how many entries were skipped because
/// they were not objects with a string `sessionId`.
#[derive(Debug, Default)]
pub struct IndexFile {
    /// Entries in file order.
    pub entries: Vec<IndexEntry>,
    /// Entries that were not objects with a string `sessionId`.
    pub skipped: usize,
}

/// Reads and parses `path`: a regular file of at most [`MAX_INDEX_BYTES`] bytes.
///
/// Errors: [`IndexError`] when the file cannot be read (a FIFO, a device or an
/// oversized file included), is not JSON, or is not an object
/// with an `entries` array. Bad individual entries are counted in [`IndexFile::skipped`].
pub fn read_index(path: &Path) -> Result<IndexFile, IndexError> {
    let bytes = read_capped(path, MAX_INDEX_BYTES)?;
    parse_index(&bytes)
}

/// Parses the bytes of an index file; see [`read_index`].
pub fn parse_index(bytes: &[u8]) -> Result<IndexFile, IndexError> {
    #[derive(Deserialize)]
    struct Doc<'a> {
        #[serde(borrow)]
        entries: Option<&'a RawValue>,
    }
    // Valid JSON that is not an object (an array, a string) is a shape error. Checked
    // first because serde would read an array as a struct's fields in order.
    if !bytes.trim_ascii_start().starts_with(b"{") {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)?;
        return Err(IndexError::Shape);
    }
    let doc: Doc = match serde_json::from_slice(bytes) {
        Ok(d) => d,
        Err(e) if e.is_data() => return Err(IndexError::Shape),
        Err(e) => return Err(IndexError::Json(e)),
    };
    let entries: Vec<&RawValue> = doc
        .entries
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .ok_or(IndexError::Shape)?;
    let mut out = IndexFile::default();
    for raw in entries {
        match serde_json::from_str::<Entry>(raw.get())
            .ok()
            .and_then(Entry::into_index_entry)
        {
            Some(entry) => out.entries.push(entry),
            None => out.skipped += 1,
        }
    }
    Ok(out)
}

/// One entry as far as the listing cares. Every field is taken raw and kept only when
/// it is a string, so one odd field does not cost the whole entry; the rest of the entry
/// is skipped without being built.
#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(rename = "sessionId", borrow)]
    session_id: Option<&'a RawValue>,
    #[serde(rename = "fullPath", borrow)]
    full_path: Option<&'a RawValue>,
    #[serde(borrow)]
    summary: Option<&'a RawValue>,
    #[serde(rename = "customTitle", borrow)]
    custom_title: Option<&'a RawValue>,
    #[serde(rename = "firstPrompt", borrow)]
    first_prompt: Option<&'a RawValue>,
    #[serde(borrow)]
    created: Option<&'a RawValue>,
    #[serde(borrow)]
    modified: Option<&'a RawValue>,
    #[serde(rename = "projectPath", borrow)]
    project_path: Option<&'a RawValue>,
    #[serde(rename = "gitBranch", borrow)]
    git_branch: Option<&'a RawValue>,
}

impl Entry<'_> {
    fn into_index_entry(self) -> Option<IndexEntry> {
        let s = |v: Option<&RawValue>| {
            let text: Cow<str> = serde_json::from_str(v?.get()).ok()?;
            let t = text.trim();
            (!t.is_empty()).then(|| t.to_owned())
        };
        Some(IndexEntry {
            session_id: s(self.session_id)?,
            full_path: s(self.full_path).map(PathBuf::from),
            summary: s(self.summary).map(|t| clip(&t)),
            custom_title: s(self.custom_title).map(|t| clip(&t)),
            first_prompt: s(self.first_prompt)
                .filter(|p| p != "No prompt")
                .map(|t| clip(&t)),
            created: s(self.created).and_then(|t| parse_timestamp(&t)),
            modified: s(self.modified).and_then(|t| parse_timestamp(&t)),
            project_path: s(self.project_path),
            git_branch: s(self.git_branch),
        })
    }
}

/// The entry for `session_id` in the index file at `path`, whole: every field kept in
/// order, as a talk copies it into the target folder's index. `None` when the file has
/// no object entry with that `sessionId`.
///
/// Errors: as [`read_index`].
pub fn raw_entry(path: &Path, session_id: &str) -> Result<Option<Map<String, Value>>, IndexError> {
    let v: Value = serde_json::from_slice(&read_capped(path, MAX_INDEX_BYTES)?)?;
    let entries = v
        .get("entries")
        .and_then(Value::as_array)
        .ok_or(IndexError::Shape)?;
    Ok(entries
        .iter()
        .filter_map(Value::as_object)
        .find(|e| e.get("sessionId").and_then(Value::as_str) == Some(session_id))
        .cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_and_skips_bad_ones() {
        let doc = br#"{"version":1,"entries":[
            {"sessionId":"a","fullPath":"/p/a.jsonl","summary":"Sum","firstPrompt":"No prompt","created":"2026-01-01T00:00:00.000Z","projectPath":"/w","extra":1},
            "not an object", {"noId":true}, {"sessionId":7}],
            "originalPath":"/w"}"#;
        let f = parse_index(doc).unwrap();
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.skipped, 3);
        let e = &f.entries[0];
        assert_eq!(e.session_id, "a");
        assert_eq!(e.summary.as_deref(), Some("Sum"));
        assert_eq!(e.first_prompt, None);
        assert_eq!(e.project_path.as_deref(), Some("/w"));
        assert_eq!(e.created.unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(matches!(parse_index(b"[1,2]"), Err(IndexError::Shape)));
        assert!(matches!(parse_index(b"\"x\""), Err(IndexError::Shape)));
        assert!(matches!(
            parse_index(b"{\"entries\":{}}"),
            Err(IndexError::Shape)
        ));
        assert!(matches!(
            parse_index(b"{not json"),
            Err(IndexError::Json(_))
        ));
        assert!(matches!(parse_index(b""), Err(IndexError::Json(_))));
    }
}
