//! The title sidecar: `<project-folder>/<session-id>/custom-title.json`.
//!
//! Claude Code 2.1.332 keeps a rename made in its session picker (Ctrl+R) there, as
//! `{"customTitle":"…","by":"user","at":"<RFC 3339>"}`, beside the `custom-title` record
//! it appends as before, and `/rename` rewrites it once it exists. 2.1.197 writes none.
//! What 2.1.332's picker shows, checked by editing both by hand: the last `custom-title`
//! record when the transcript has one (even when the sidecar is newer, or names something
//! else), else the sidecar's title (over `ai-title`, `summary` and prompts). A transcript
//! whose rename records are gone, or were never seen in its windows, is thus still shown
//! by its sidecar. seance ranks it the same way.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::cache::mtime_ns;
use super::transcript::clip;

/// The sidecar's file name inside `<session-id>/`.
pub const SIDECAR_FILE: &str = "custom-title.json";

/// Sidecars larger than this (64 KiB) are not read: Claude Code's are under 200 bytes.
pub const MAX_SIDECAR: u64 = 64 * 1024;

/// Where a session's sidecar would be, given its transcript's path.
pub fn path_for(transcript: &Path, session_id: &str) -> Option<PathBuf> {
    Some(transcript.parent()?.join(session_id).join(SIDECAR_FILE))
}

/// A sidecar as last read: the size and mtime it had (so an unchanged one is not read
/// again), and the title it gave or why it gave none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidecarTitle {
    /// Size in bytes when read.
    pub size: u64,
    /// Modification time when read, ns since the Unix epoch (0 when unknown).
    pub mtime_ns: u64,
    /// `customTitle`, trimmed and clipped; `None` when missing or empty.
    pub title: Option<String>,
    /// Why the file was ignored (unreadable, too large, not JSON), for a warning.
    pub error: Option<String>,
}

impl SidecarTitle {
    /// Whether this is still what a sidecar of `size` bytes modified at `mtime` says.
    pub fn is_current(&self, size: u64, mtime: Option<SystemTime>) -> bool {
        self.size == size && self.mtime_ns == mtime_ns(mtime)
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "customTitle")]
    custom_title: Option<serde_json::Value>,
}

/// Reads the sidecar at `path` (stat'ed as `size` bytes, modified at `mtime`), at most
/// [`MAX_SIDECAR`] bytes, regular files only. Never fails: a problem is kept in
/// [`SidecarTitle::error`].
pub fn read(path: &Path, size: u64, mtime: Option<SystemTime>) -> SidecarTitle {
    let mut out = SidecarTitle {
        size,
        mtime_ns: mtime_ns(mtime),
        title: None,
        error: None,
    };
    match crate::util::fsread::read_capped(path, MAX_SIDECAR) {
        Ok(bytes) => match serde_json::from_slice::<Raw>(&bytes) {
            Ok(raw) => {
                out.title = raw
                    .custom_title
                    .as_ref()
                    .and_then(serde_json::Value::as_str)
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(clip);
            }
            Err(e) => out.error = Some(format!("not a JSON object: {e}")),
        },
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sidecar(text: &[u8]) -> SidecarTitle {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(SIDECAR_FILE);
        std::fs::write(&p, text).unwrap();
        let md = std::fs::metadata(&p).unwrap();
        read(&p, md.len(), md.modified().ok())
    }

    #[test]
    fn titles_and_problems() {
        let s =
            sidecar(br#"{"customTitle":"  Renamed  ","by":"user","at":"2026-01-01T00:00:00Z"}"#);
        assert_eq!(s.title.as_deref(), Some("Renamed"));
        assert_eq!(s.error, None);
        for quiet in [
            &br#"{"by":"user"}"#[..],
            br#"{"customTitle":""}"#,
            br#"{"customTitle":7}"#,
        ] {
            let s = sidecar(quiet);
            assert_eq!((s.title, s.error), (None, None));
        }
        for bad in [&b"{not json"[..], b"[1,2]", b"", b"\xff\xfe"] {
            let s = sidecar(bad);
            assert_eq!(s.title, None);
            assert!(s.error.is_some(), "{bad:?}");
        }
        let big = format!(
            r#"{{"customTitle":"{}"}}"#,
            "x".repeat(MAX_SIDECAR as usize)
        );
        assert!(
            sidecar(big.as_bytes())
                .error
                .unwrap()
                .contains("larger than")
        );
    }
}
