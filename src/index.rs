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
use serde_json::{Map, Value};

use crate::timefmt::parse_timestamp;
use crate::transcript::clip;

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
    /// The whole entry as found, every field kept in order: a talk copies it into the
    /// target folder's index.
    pub raw: Map<String, Value>,
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

/// Reads and parses `path`.
///
/// Errors: [`IndexError`] when the file cannot be read, is not JSON, or is not an object
/// with an `entries` array. Bad individual entries are counted in [`IndexFile::skipped`].
pub fn read_index(path: &Path) -> Result<IndexFile, IndexError> {
    let bytes = std::fs::read(path)?;
    parse_index(&bytes)
}

/// Parses the bytes of an index file; see [`read_index`].
pub fn parse_index(bytes: &[u8]) -> Result<IndexFile, IndexError> {
    let v: Value = serde_json::from_slice(bytes)?;
    let entries = v
        .get("entries")
        .and_then(Value::as_array)
        .ok_or(IndexError::Shape)?;
    let mut out = IndexFile::default();
    for e in entries {
        match e.as_object().and_then(entry_from) {
            Some(entry) => out.entries.push(entry),
            None => out.skipped += 1,
        }
    }
    Ok(out)
}

fn entry_from(obj: &Map<String, Value>) -> Option<IndexEntry> {
    let s = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let session_id = s("sessionId")?;
    Some(IndexEntry {
        session_id,
        full_path: s("fullPath").map(PathBuf::from),
        summary: s("summary").map(|t| clip(&t)),
        custom_title: s("customTitle").map(|t| clip(&t)),
        first_prompt: s("firstPrompt")
            .filter(|p| p != "No prompt")
            .map(|t| clip(&t)),
        created: s("created").and_then(|t| parse_timestamp(&t)),
        modified: s("modified").and_then(|t| parse_timestamp(&t)),
        project_path: s("projectPath"),
        git_branch: s("gitBranch"),
        raw: obj.clone(),
    })
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
        assert_eq!(e.raw.get("extra"), Some(&Value::from(1)));
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
