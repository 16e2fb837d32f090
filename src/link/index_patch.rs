//! Adding one entry to a project folder's `sessions-index.json` and taking it out again,
//! keeping every other byte we can: unknown fields and top-level keys (`originalPath`
//! included) in their order, and the exact original file when nobody else touched it.
//!
//! The format is Claude Code's legacy index (`{"version":1,"entries":[...],
//! "originalPath":"/abs"}`, see the storage notes); seance treats it as loosely as it can.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::link::lock::{lock_path_for, with_lock};
use crate::util::atomic::remove_orphan_temps;
use crate::util::atomic::write_atomic;

/// File name of the legacy per-folder index.
pub const INDEX_FILE: &str = "sessions-index.json";

/// A JSON object (key order preserved: serde_json's `preserve_order` is on).
pub type Object = Map<String, Value>;

/// What seance did to one index file, enough to undo it later, even from another
/// process (it is stored in the ledger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPatch {
    /// The `sessions-index.json` that was patched.
    pub path: PathBuf,
    /// True when the file did not exist and seance created it.
    pub created: bool,
    /// The entry seance appended (the source entry with `fullPath` = the link).
    pub entry: Object,
    /// The file's exact contents before the patch (`None` when `created`); always UTF-8
    /// because only files that parse as JSON are patched.
    pub before: Option<String>,
    /// [`digest`] of the file's contents right after the patch, to tell whether anyone
    /// changed it since.
    pub after_digest: String,
}

/// Result of computing an addition from the current bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum AddPlan {
    /// Write these bytes.
    Write(Vec<u8>),
    /// An entry with the same `sessionId` and `fullPath` is already there: add nothing.
    AlreadyPresent,
    /// The file is not an index seance understands; leave it alone (reason inside).
    Unusable(String),
}

/// What undoing a patch has to do to the file, given its current bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum UndoPlan {
    /// Nothing is left to undo (file gone, or our entry already gone).
    Nothing,
    /// Put these exact bytes back (the file was unchanged since our write: byte-identical
    /// restore; or someone else changed it: the file minus our entry).
    Write(Vec<u8>),
    /// Remove the file: we created it and nothing else is in it.
    Delete,
    /// The file no longer parses; leave it alone (reason inside).
    Unusable(String),
}

/// What [`undo`] did, for reporting.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum UndoOutcome {
    /// Nothing needed doing.
    Nothing,
    /// The original bytes were put back exactly.
    Restored,
    /// Someone else changed the file meanwhile: only our entry was removed.
    EntryRemoved,
    /// The file was ours alone and is gone.
    Deleted,
    /// The file became unparseable: left alone.
    LeftUnusable,
}

/// Stable 64-bit FNV-1a digest of `bytes`, with their length, as text
/// (`fnv1a64:<16 hex>:<len>`). Not cryptographic: it only has to notice edits.
pub fn digest(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}:{}", bytes.len())
}

/// The entry to add: `source` with every field kept, in order, and `fullPath` set to
/// `link` (appended when the source had none). Fails for a non-UTF-8 link path, which
/// JSON cannot carry.
pub fn entry_for_link(source: &Object, link: &Path) -> Result<Object> {
    let link = link
        .to_str()
        .with_context(|| format!("link path {} is not UTF-8", link.display()))?;
    let mut entry = source.clone();
    entry.insert("fullPath".to_owned(), Value::String(link.to_owned()));
    Ok(entry)
}

/// Computes the new contents of an index holding `current` (None: no file yet) with
/// `entry` appended to `entries`. A new file is
/// `{"version":1,"entries":[entry],"originalPath":<original_path>}`.
///
/// The output follows the input's layout: compact when the input had no newline,
/// otherwise 2-space pretty printing (Node's `JSON.stringify(x, null, 2)`), keeping a
/// trailing newline if there was one.
pub fn plan_add(current: Option<&[u8]>, entry: &Object, original_path: &str) -> AddPlan {
    let Some(bytes) = current else {
        let mut doc = Object::new();
        doc.insert("version".to_owned(), Value::from(1));
        doc.insert(
            "entries".to_owned(),
            Value::Array(vec![Value::Object(entry.clone())]),
        );
        doc.insert(
            "originalPath".to_owned(),
            Value::String(original_path.to_owned()),
        );
        return AddPlan::Write(serialize(&doc, true, false));
    };
    let mut doc = match parse(bytes) {
        Ok(doc) => doc,
        Err(reason) => return AddPlan::Unusable(reason),
    };
    let entries = doc
        .entry("entries")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(list) = entries else {
        return AddPlan::Unusable("\"entries\" is not an array".to_owned());
    };
    if list.iter().any(|e| same_entry(e, entry)) {
        return AddPlan::AlreadyPresent;
    }
    list.push(Value::Object(entry.clone()));
    let (pretty, newline) = layout(bytes);
    AddPlan::Write(serialize(&doc, pretty, newline))
}

/// Computes how to undo `patch` given the file's current bytes (None: file gone).
///
/// Unchanged since our write: the original bytes exactly (or delete, if we created it).
/// Changed: the current document minus the last entry matching our `sessionId` and
/// `fullPath`, everything else kept; deleted instead if we created the file and it now
/// holds nothing but an empty `entries` (plus `version`/`originalPath`).
pub fn plan_undo(current: Option<&[u8]>, patch: &IndexPatch) -> UndoPlan {
    let Some(bytes) = current else {
        return UndoPlan::Nothing;
    };
    if digest(bytes) == patch.after_digest {
        return match &patch.before {
            Some(before) => UndoPlan::Write(before.as_bytes().to_vec()),
            None => UndoPlan::Delete,
        };
    }
    let mut doc = match parse(bytes) {
        Ok(doc) => doc,
        Err(reason) => return UndoPlan::Unusable(reason),
    };
    let Some(Value::Array(list)) = doc.get_mut("entries") else {
        return UndoPlan::Nothing;
    };
    let Some(pos) = list.iter().rposition(|e| same_entry(e, &patch.entry)) else {
        return UndoPlan::Nothing;
    };
    list.remove(pos);
    let now_empty = list.is_empty();
    if patch.created
        && now_empty
        && doc
            .keys()
            .all(|k| matches!(k.as_str(), "version" | "entries" | "originalPath"))
    {
        return UndoPlan::Delete;
    }
    let (pretty, newline) = layout(bytes);
    UndoPlan::Write(serialize(&doc, pretty, newline))
}

/// Adds `entry` to the index at `index_path` under its `.lock` (waiting at most
/// `timeout`), writing atomically. `record` is called with the patch after the new bytes
/// are known and before they are written, still under the lock, so the caller can note
/// the intent durably first; if it fails nothing is written.
///
/// Returns `Ok(None)` when nothing was written (entry already present, or the file is
/// not an index seance understands: a warning naming it goes to stderr).
///
/// Errors: lock timeout ([`crate::link::lock::LockTimeout`]), I/O errors naming the path, or
/// `record`'s error. The folder of `index_path` must exist.
pub fn apply(
    index_path: &Path,
    entry: &Object,
    original_path: &str,
    timeout: Duration,
    record: impl FnOnce(&IndexPatch) -> Result<()>,
) -> Result<Option<IndexPatch>> {
    with_lock(&lock_path_for(index_path), timeout, || {
        // Under the lock no live writer owns a temp file: any is a dead one's.
        remove_orphan_temps(index_path)?;
        let current = read_optional(index_path)?;
        let new = match plan_add(current.as_deref(), entry, original_path) {
            AddPlan::Write(bytes) => bytes,
            AddPlan::AlreadyPresent => return Ok(None),
            AddPlan::Unusable(reason) => {
                crate::util::say::warn(&format!(
                    "not patching {}: {reason}",
                    crate::util::sanitize::path(index_path)
                ));
                return Ok(None);
            }
        };
        let before = match current {
            // It parsed as JSON, so it is UTF-8; be defensive all the same.
            Some(bytes) => match String::from_utf8(bytes) {
                Ok(s) => Some(s),
                Err(_) => return Ok(None),
            },
            None => None,
        };
        let patch = IndexPatch {
            path: index_path.to_owned(),
            created: before.is_none(),
            entry: entry.clone(),
            before,
            after_digest: digest(&new),
        };
        record(&patch)?;
        write_atomic(index_path, &new)?;
        Ok(Some(patch))
    })
}

/// Undoes `patch` under the index's `.lock` (waiting at most `timeout`), see
/// [`plan_undo`]. Writes are atomic.
///
/// Errors: lock timeout, I/O errors naming the path. A missing folder means there is
/// nothing to undo.
pub fn undo(patch: &IndexPatch, timeout: Duration) -> Result<UndoOutcome> {
    if !patch.path.parent().is_some_and(Path::is_dir) {
        return Ok(UndoOutcome::Nothing);
    }
    with_lock(&lock_path_for(&patch.path), timeout, || {
        remove_orphan_temps(&patch.path)?;
        let current = read_optional(&patch.path)?;
        let unchanged = current
            .as_deref()
            .is_some_and(|c| digest(c) == patch.after_digest);
        match plan_undo(current.as_deref(), patch) {
            UndoPlan::Nothing => Ok(UndoOutcome::Nothing),
            UndoPlan::Unusable(reason) => {
                crate::util::say::warn(&format!(
                    "leaving {} alone: {reason}",
                    crate::util::sanitize::path(&patch.path)
                ));
                Ok(UndoOutcome::LeftUnusable)
            }
            UndoPlan::Delete => {
                remove_if_present(&patch.path)?;
                Ok(UndoOutcome::Deleted)
            }
            UndoPlan::Write(bytes) => {
                write_atomic(&patch.path, &bytes)?;
                Ok(if unchanged {
                    UndoOutcome::Restored
                } else {
                    UndoOutcome::EntryRemoved
                })
            }
        }
    })
}

/// Removes from the index at `index_path` every entry whose `sessionId` is `session_id`
/// and whose `fullPath` is `link` (a dangling link's leftovers), under the lock, writing
/// atomically. Returns how many were removed (0 also when the file is missing or not
/// understood). `dry_run` only counts.
pub fn remove_entries_for_link(
    index_path: &Path,
    session_id: &str,
    link: &Path,
    timeout: Duration,
    dry_run: bool,
) -> Result<usize> {
    let count = |bytes: &[u8]| -> Option<(Object, usize)> {
        let mut doc = parse(bytes).ok()?;
        let Some(Value::Array(list)) = doc.get_mut("entries") else {
            return None;
        };
        let before = list.len();
        list.retain(|e| {
            !(e.get("sessionId").and_then(Value::as_str) == Some(session_id)
                && e.get("fullPath").and_then(Value::as_str) == link.to_str())
        });
        let removed = before - list.len();
        Some((doc, removed))
    };
    if dry_run {
        let Some(bytes) = read_optional(index_path)? else {
            return Ok(0);
        };
        return Ok(count(&bytes).map_or(0, |(_, n)| n));
    }
    if !index_path.exists() {
        return Ok(0);
    }
    with_lock(&lock_path_for(index_path), timeout, || {
        remove_orphan_temps(index_path)?;
        let Some(bytes) = read_optional(index_path)? else {
            return Ok(0);
        };
        match count(&bytes) {
            Some((doc, n)) if n > 0 => {
                let (pretty, newline) = layout(&bytes);
                write_atomic(index_path, &serialize(&doc, pretty, newline))?;
                Ok(n)
            }
            _ => Ok(0),
        }
    })
}

/// The entry for `session_id` in the index at `index_path`, if the file exists, parses
/// and has one (read-only; never locks, so it is safe on another account's files).
pub fn find_entry(index_path: &Path, session_id: &str) -> Option<Object> {
    let bytes = fs::read(index_path).ok()?;
    let doc = parse(&bytes).ok()?;
    doc.get("entries")?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .find(|e| e.get("sessionId").and_then(Value::as_str) == Some(session_id))
        .cloned()
}

fn same_entry(candidate: &Value, ours: &Object) -> bool {
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let ours = Value::Object(ours.clone());
    field(candidate, "sessionId").is_some()
        && field(candidate, "sessionId") == field(&ours, "sessionId")
        && field(candidate, "fullPath") == field(&ours, "fullPath")
}

fn parse(bytes: &[u8]) -> std::result::Result<Object, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(doc)) => Ok(doc),
        Ok(_) => Err("the top level is not a JSON object".to_owned()),
        Err(e) => Err(format!("not valid JSON ({e})")),
    }
}

/// (pretty, trailing newline) as the existing bytes have them.
fn layout(bytes: &[u8]) -> (bool, bool) {
    let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    (trimmed.contains(&b'\n'), bytes.ends_with(b"\n"))
}

fn serialize(doc: &Object, pretty: bool, newline: bool) -> Vec<u8> {
    let mut out = if pretty {
        serde_json::to_vec_pretty(doc)
    } else {
        serde_json::to_vec(doc)
    }
    .expect("a JSON map always serializes");
    if newline {
        out.push(b'\n');
    }
    out
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: Duration = Duration::from_secs(1);

    fn obj(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    fn source_entry() -> Object {
        obj(json!({
            "sessionId": "11111111-2222-4333-8444-555555555555",
            "fullPath": "/src/acct/projects/-p/11111111-2222-4333-8444-555555555555.jsonl",
            "fileMtime": 1760000000000u64,
            "firstPrompt": "hi",
            "zUnknown": {"nested": [1, 2, 3]},
            "messageCount": 4,
            "aUnknownLast": true
        }))
    }

    const EXISTING: &str = r#"{
  "version": 1,
  "zzTopLevelUnknown": "keep me",
  "entries": [
    {
      "sessionId": "other",
      "fullPath": "/x/other.jsonl",
      "weird": null
    }
  ],
  "originalPath": "/home/u/proj"
}"#;

    fn patched(before: Option<&str>, entry: &Object, after: &[u8]) -> IndexPatch {
        IndexPatch {
            path: PathBuf::from("/unused"),
            created: before.is_none(),
            entry: entry.clone(),
            before: before.map(str::to_owned),
            after_digest: digest(after),
        }
    }

    #[test]
    fn numbers_keep_their_text_when_a_changed_index_is_rewritten() {
        // Someone else changes the file during the talk, so the undo re-serializes it:
        // a float that does not round-trip through f64 and an integer beyond u64 must
        // come out as they went in.
        let before = r#"{"entries":[{"sessionId":"x","fullPath":"/x","f":3.662586827743069e-244,"big":123456789012345678901234567890}]}"#;
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let AddPlan::Write(after) = plan_add(Some(before.as_bytes()), &e, "/p") else {
            panic!()
        };
        let patch = patched(Some(before), &e, &after);
        let mut changed = after.clone();
        changed.push(b' ');
        let UndoPlan::Write(undone) = plan_undo(Some(&changed), &patch) else {
            panic!()
        };
        let text = String::from_utf8(undone).unwrap();
        assert!(text.contains("3.662586827743069e-244"), "{text}");
        assert!(text.contains("123456789012345678901234567890"), "{text}");
    }

    #[test]
    fn entry_keeps_fields_in_order_and_replaces_full_path() {
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let keys: Vec<&str> = e.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "sessionId",
                "fullPath",
                "fileMtime",
                "firstPrompt",
                "zUnknown",
                "messageCount",
                "aUnknownLast"
            ]
        );
        assert_eq!(e["fullPath"], "/link/x.jsonl");
        assert_eq!(e["zUnknown"], json!({"nested": [1, 2, 3]}));
    }

    #[test]
    fn add_keeps_unknown_keys_and_order() {
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let AddPlan::Write(out) = plan_add(Some(EXISTING.as_bytes()), &e, "/ignored") else {
            panic!()
        };
        let doc: Value = serde_json::from_slice(&out).unwrap();
        let keys: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["version", "zzTopLevelUnknown", "entries", "originalPath"]
        );
        assert_eq!(doc["originalPath"], "/home/u/proj");
        assert_eq!(doc["entries"][0]["weird"], Value::Null);
        assert_eq!(doc["entries"][1], Value::Object(e));
        // Pretty input stays pretty with the same indentation, no trailing newline added.
        assert!(out.starts_with(b"{\n  \"version\": 1,\n"));
        assert!(!out.ends_with(b"\n"));
    }

    #[test]
    fn add_to_missing_file_creates_minimal_index() {
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let AddPlan::Write(out) = plan_add(None, &e, "/run/dir") else {
            panic!()
        };
        let doc: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["originalPath"], "/run/dir");
        assert_eq!(doc["entries"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn add_skips_duplicate_and_refuses_garbage() {
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let AddPlan::Write(once) = plan_add(Some(EXISTING.as_bytes()), &e, "/") else {
            panic!()
        };
        assert_eq!(plan_add(Some(&once), &e, "/"), AddPlan::AlreadyPresent);
        assert!(matches!(
            plan_add(Some(b"{not json"), &e, "/"),
            AddPlan::Unusable(_)
        ));
        assert!(matches!(
            plan_add(Some(b"[1]"), &e, "/"),
            AddPlan::Unusable(_)
        ));
        assert!(matches!(
            plan_add(Some(br#"{"entries": 3}"#), &e, "/"),
            AddPlan::Unusable(_)
        ));
        // Missing entries array: added.
        let AddPlan::Write(out) = plan_add(Some(br#"{"version":1}"#), &e, "/") else {
            panic!()
        };
        assert!(!out.contains(&b'\n'), "compact input stays compact");
    }

    #[test]
    fn undo_unchanged_restores_bytes_exactly() {
        for before in [
            EXISTING,
            "{\"version\":1,\"entries\":[]}\n",
            "{ \"entries\" : [ ] }",
        ] {
            let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
            let AddPlan::Write(after) = plan_add(Some(before.as_bytes()), &e, "/") else {
                panic!()
            };
            let p = patched(Some(before), &e, &after);
            assert_eq!(
                plan_undo(Some(&after), &p),
                UndoPlan::Write(before.as_bytes().to_vec())
            );
        }
    }

    #[test]
    fn undo_of_created_unchanged_deletes() {
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let AddPlan::Write(after) = plan_add(None, &e, "/r") else {
            panic!()
        };
        let p = patched(None, &e, &after);
        assert_eq!(plan_undo(Some(&after), &p), UndoPlan::Delete);
        assert_eq!(plan_undo(None, &p), UndoPlan::Nothing);
    }

    #[test]
    fn undo_after_foreign_change_removes_only_our_entry() {
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let AddPlan::Write(after) = plan_add(Some(EXISTING.as_bytes()), &e, "/") else {
            panic!()
        };
        let p = patched(Some(EXISTING), &e, &after);
        // Someone else adds an entry and a key meanwhile.
        let mut doc: Value = serde_json::from_slice(&after).unwrap();
        doc["entries"]
            .as_array_mut()
            .unwrap()
            .push(json!({"sessionId": "third", "fullPath": "/t.jsonl"}));
        doc["addedByOther"] = json!(1);
        let changed = serde_json::to_vec_pretty(&doc).unwrap();
        let UndoPlan::Write(out) = plan_undo(Some(&changed), &p) else {
            panic!()
        };
        let got: Value = serde_json::from_slice(&out).unwrap();
        let ids: Vec<&str> = got["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["sessionId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["other", "third"]);
        assert_eq!(got["addedByOther"], 1);
        assert_eq!(got["zzTopLevelUnknown"], "keep me");
        // Our entry already gone: nothing to do.
        assert_eq!(plan_undo(Some(&out), &p), UndoPlan::Nothing);
        // Garbage: left alone.
        assert!(matches!(plan_undo(Some(b"{"), &p), UndoPlan::Unusable(_)));
    }

    #[test]
    fn undo_of_created_file_that_others_touched() {
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let AddPlan::Write(after) = plan_add(None, &e, "/r") else {
            panic!()
        };
        let p = patched(None, &e, &after);
        // Reformatted by someone (different bytes, same content): still only ours.
        let mut reformatted = after.clone();
        reformatted.push(b'\n');
        assert_eq!(plan_undo(Some(&reformatted), &p), UndoPlan::Delete);
        // Someone added another entry: keep the file without ours.
        let mut doc: Value = serde_json::from_slice(&after).unwrap();
        doc["entries"]
            .as_array_mut()
            .unwrap()
            .push(json!({"sessionId": "x", "fullPath": "/x"}));
        let UndoPlan::Write(out) = plan_undo(Some(&serde_json::to_vec(&doc).unwrap()), &p) else {
            panic!()
        };
        let got: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(got["entries"].as_array().unwrap().len(), 1);
        assert_eq!(got["entries"][0]["sessionId"], "x");
    }

    #[test]
    fn apply_and_undo_on_disk_byte_identical() {
        let tmp = tempfile::tempdir().unwrap();
        let idx = tmp.path().join(INDEX_FILE);
        fs::write(&idx, EXISTING).unwrap();
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let mut recorded = None;
        let patch = apply(&idx, &e, "/r", T, |p| {
            recorded = Some(p.clone());
            Ok(())
        })
        .unwrap()
        .unwrap();
        assert_eq!(recorded.as_ref(), Some(&patch));
        assert!(!patch.created);
        assert_ne!(fs::read(&idx).unwrap(), EXISTING.as_bytes());
        assert_eq!(undo(&patch, T).unwrap(), UndoOutcome::Restored);
        assert_eq!(fs::read(&idx).unwrap(), EXISTING.as_bytes());
    }

    #[test]
    fn apply_is_skipped_when_record_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let idx = tmp.path().join(INDEX_FILE);
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let err = apply(&idx, &e, "/r", T, |_| anyhow::bail!("ledger full")).unwrap_err();
        assert!(err.to_string().contains("ledger full"));
        assert!(!idx.exists());
    }

    #[test]
    fn apply_created_then_undo_deletes_file() {
        let tmp = tempfile::tempdir().unwrap();
        let idx = tmp.path().join(INDEX_FILE);
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        let patch = apply(&idx, &e, "/r", T, |_| Ok(())).unwrap().unwrap();
        assert!(patch.created);
        assert!(idx.exists());
        assert_eq!(undo(&patch, T).unwrap(), UndoOutcome::Deleted);
        assert!(!idx.exists());
        // Idempotent.
        assert_eq!(undo(&patch, T).unwrap(), UndoOutcome::Nothing);
    }

    #[test]
    fn apply_leaves_garbage_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let idx = tmp.path().join(INDEX_FILE);
        fs::write(&idx, b"corrupt{").unwrap();
        let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
        assert!(apply(&idx, &e, "/r", T, |_| Ok(())).unwrap().is_none());
        assert_eq!(fs::read(&idx).unwrap(), b"corrupt{");
    }

    #[test]
    fn remove_entries_for_link_only_matching() {
        let tmp = tempfile::tempdir().unwrap();
        let idx = tmp.path().join(INDEX_FILE);
        fs::write(
            &idx,
            r#"{"version":1,"entries":[{"sessionId":"a","fullPath":"/l/a.jsonl"},{"sessionId":"a","fullPath":"/real/a.jsonl"},{"sessionId":"b","fullPath":"/l/b.jsonl"}],"originalPath":"/p"}"#,
        )
        .unwrap();
        let link = Path::new("/l/a.jsonl");
        let original = fs::read(&idx).unwrap();
        assert_eq!(
            remove_entries_for_link(&idx, "a", link, T, true).unwrap(),
            1
        );
        assert_eq!(fs::read(&idx).unwrap(), original, "dry run writes nothing");
        assert_eq!(
            remove_entries_for_link(&idx, "a", link, T, false).unwrap(),
            1
        );
        let doc: Value = serde_json::from_slice(&fs::read(&idx).unwrap()).unwrap();
        assert_eq!(doc["entries"].as_array().unwrap().len(), 2);
        assert_eq!(doc["originalPath"], "/p");
        assert_eq!(
            remove_entries_for_link(&idx, "a", link, T, false).unwrap(),
            0
        );
    }

    #[test]
    fn find_entry_reads_source_index() {
        let tmp = tempfile::tempdir().unwrap();
        let idx = tmp.path().join(INDEX_FILE);
        fs::write(&idx, EXISTING).unwrap();
        assert_eq!(
            find_entry(&idx, "other").unwrap()["fullPath"],
            "/x/other.jsonl"
        );
        assert!(find_entry(&idx, "nope").is_none());
        assert!(find_entry(&tmp.path().join("missing"), "other").is_none());
    }

    #[test]
    fn digest_notices_changes() {
        assert_eq!(digest(b"abc"), digest(b"abc"));
        assert_ne!(digest(b"abc"), digest(b"abd"));
        assert_ne!(digest(b""), digest(b"\0"));
    }

    fn arb_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z\\u{e9}\\u{1f600} \"\\\\]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[a-zA-Z]{1,6}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn arb_index() -> impl proptest::strategy::Strategy<Value = Object> {
        use proptest::prelude::*;
        let entry =
            ("[a-f0-9]{1,8}", "/[a-z]{1,8}\\.jsonl", arb_value()).prop_map(|(id, path, extra)| {
                obj(json!({"sessionId": id, "fullPath": path, "extra": extra}))
            });
        (
            proptest::collection::vec(entry, 0..5),
            proptest::collection::vec(("[a-zA-Z]{1,6}", arb_value()), 0..3),
        )
            .prop_map(|(entries, extra)| {
                let mut doc = Object::new();
                doc.insert("version".into(), json!(1));
                for (k, v) in extra {
                    doc.insert(k, v);
                }
                doc.insert(
                    "entries".into(),
                    Value::Array(entries.into_iter().map(Value::Object).collect()),
                );
                doc.insert("originalPath".into(), json!("/p"));
                doc
            })
    }

    proptest::proptest! {
        #[test]
        fn add_then_undo_is_identity(
            doc in arb_index(),
            pretty in proptest::prelude::any::<bool>(),
            newline in proptest::prelude::any::<bool>(),
        ) {
            let before = serialize(&doc, pretty, newline);
            let e = entry_for_link(&source_entry(), Path::new("/link/x.jsonl")).unwrap();
            let AddPlan::Write(after) = plan_add(Some(&before), &e, "/") else {
                panic!("a valid index always takes a new entry");
            };
            let p = patched(Some(std::str::from_utf8(&before).unwrap()), &e, &after);
            proptest::prop_assert_eq!(plan_undo(Some(&after), &p), UndoPlan::Write(before.clone()));
            // After someone else rewrote it (reformatted), the content still comes back.
            let reformatted = serialize(
                &serde_json::from_slice::<Object>(&after).unwrap(),
                !pretty,
                !newline,
            );
            let UndoPlan::Write(undone) = plan_undo(Some(&reformatted), &p) else {
                panic!("our entry is there to remove");
            };
            proptest::prop_assert_eq!(serde_json::from_slice::<Object>(&undone).unwrap(), doc);
        }
    }
}
