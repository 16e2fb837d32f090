//! The reaper: undoes what dead seances left behind (their ledger records) and removes
//! dangling `*.jsonl` symlinks from the current account's project folders, with their
//! index entries, as `gt seance` does at the start of a talk.
//!
//! It never removes a regular file, a live link seance did not make, or a link a live
//! seance (or its still-running claude) uses.

use std::fmt;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::link::guard::{Action, ActionKind, undo_record};
use crate::link::index_patch::{self, INDEX_FILE};
use crate::link::ledger::{self, Ledger, Owner};
use crate::link::lock::INDEX_LOCK_TIMEOUT;

/// What a reap removed (or, on a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReapReport {
    /// True when nothing was changed.
    pub dry_run: bool,
    /// Every removal, in the order done.
    pub actions: Vec<Action>,
}

impl ReapReport {
    /// Whether there was nothing to reap.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

impl fmt::Display for ReapReport {
    /// One line per action: `removed <what>: <path> (<detail>)`, or `would remove ...`
    /// on a dry run. Nothing at all when there was nothing to do.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        for a in &self.actions {
            match a.kind {
                ActionKind::LeftAlone => writeln!(f, "{a}")?,
                ActionKind::RestoredIndex if self.dry_run => writeln!(f, "would restore {a}")?,
                ActionKind::RestoredIndex => writeln!(f, "{a}")?,
                _ => writeln!(f, "{verb} {a}")?,
            }
        }
        Ok(())
    }
}

/// Reaps: first every ledger record (under `state_dir`) whose owners are all gone is
/// undone and dropped (dead owners are pruned from the others); then every dangling
/// `*.jsonl` symlink directly inside `<current_config_dir>/projects/*/` that no live
/// record uses is removed, with the index entries naming it (`sessionId` = its stem and
/// `fullPath` = its path). `dry_run` changes nothing (it does not even take the locks or
/// create the state dir) and reports what would go.
///
/// Errors: lock timeouts, a ledger seance cannot read, I/O errors naming paths. An
/// unreadable projects dir or folder is skipped, not an error.
pub fn reap(current_config_dir: &Path, state_dir: &Path, dry_run: bool) -> Result<ReapReport> {
    let mut report = ReapReport {
        dry_run,
        actions: Vec::new(),
    };
    let projects = current_config_dir.join("projects");
    if dry_run {
        let ledger = ledger::read_unlocked(state_dir)?;
        for rec in ledger.links.iter().filter(|r| !r.has_live_owner()) {
            report.actions.extend(undo_record(rec, true)?);
            report.actions.push(dropped(&rec.link, &rec.owners));
        }
        sweep(&projects, &ledger, true, &mut report.actions)?;
        return Ok(report);
    }
    ledger::with_ledger(state_dir, |txn| {
        let before = txn.ledger.links.clone();
        let mut kept = Vec::new();
        for mut rec in std::mem::take(&mut txn.ledger.links) {
            let owners = rec.owners.clone();
            rec.owners.retain(Owner::is_alive);
            if !rec.owners.is_empty() {
                kept.push(rec);
                continue;
            }
            match undo_record(&rec, false) {
                Ok(done) => {
                    report.actions.extend(done);
                    report.actions.push(dropped(&rec.link, &owners));
                }
                Err(e) => {
                    // Keep it for next time; the others can still be reaped.
                    crate::util::say::warn(&format!(
                        "could not reap {}: {e:#}",
                        crate::util::sanitize::path(&rec.link)
                    ));
                    kept.push(rec);
                }
            }
        }
        txn.ledger.links = kept;
        // Save before the sweep so an error there does not lose the undo bookkeeping.
        if txn.ledger.links != before {
            txn.save()?;
        }
        sweep(&projects, &txn.ledger, false, &mut report.actions)
    })?;
    Ok(report)
}

/// The ledger record for `link` dropped; `owners` as they were before pruning, so the
/// message names the seances that are gone.
fn dropped(link: &Path, owners: &[Owner]) -> Action {
    let pids: Vec<String> = owners.iter().map(|o| o.seance.pid.to_string()).collect();
    Action {
        kind: ActionKind::DroppedRecord,
        path: link.to_path_buf(),
        detail: format!("owner pid {} gone", pids.join(", ")),
    }
}

/// Removes dangling `*.jsonl` symlinks in each folder of `projects` and their index
/// entries, skipping links a live ledger record holds.
fn sweep(projects: &Path, ledger: &Ledger, dry_run: bool, out: &mut Vec<Action>) -> Result<()> {
    let Ok(folders) = fs::read_dir(projects) else {
        return Ok(());
    };
    let mut folders: Vec<PathBuf> = folders
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        let entries: Vec<fs::DirEntry> = entries.filter_map(|e| e.ok()).collect();
        let index = folder.join(INDEX_FILE);
        let has_temp = entries.iter().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| crate::util::atomic::is_temp_for(&index, n))
        });
        if has_temp && !dry_run {
            // Only a write killed before its rename leaves one; under the lock it is
            // certainly nobody's.
            let removed = crate::link::lock::with_lock(
                &crate::link::lock::lock_path_for(&index),
                INDEX_LOCK_TIMEOUT,
                || crate::util::atomic::remove_orphan_temps(&index),
            )?;
            out.extend(removed.into_iter().map(|p| Action {
                kind: ActionKind::RemovedTemp,
                path: p,
                detail: "left by a killed write".into(),
            }));
        }
        let mut links: Vec<PathBuf> = entries
            .iter()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_symlink()))
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        links.sort();
        for link in links {
            if ledger.position(&link).is_some() {
                // A live seance's link (dead ones were undone above): never under it.
                continue;
            }
            let target = match fs::metadata(&link) {
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::NotFound => fs::read_link(&link)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default(),
                // Unreadable for another reason (permissions): not provably dangling.
                Err(_) => continue,
            };
            if !dry_run {
                match fs::remove_file(&link) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => {
                        return Err(e).with_context(|| format!("removing {}", link.display()));
                    }
                }
            }
            out.push(Action {
                kind: ActionKind::RemovedLink,
                path: link.clone(),
                detail: format!("dangling -> {target}"),
            });
            let Some(stem) = link.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let n = index_patch::remove_entries_for_link(
                &index,
                stem,
                &link,
                INDEX_LOCK_TIMEOUT,
                dry_run,
            )?;
            if n > 0 {
                out.push(Action {
                    kind: ActionKind::RemovedIndexEntry,
                    path: index.clone(),
                    detail: format!("{stem} ({n})"),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::guard::{LinkGuard, LinkRequest};
    use crate::link::index_patch::IndexPatch;
    use crate::link::ledger::{LinkRecord, ProcId};
    use std::os::unix::fs::symlink;

    const ID: &str = "5a5a5a5a-1111-4222-8333-444444444444";

    struct Fx {
        tmp: tempfile::TempDir,
        current: PathBuf,
        state: PathBuf,
        source: PathBuf,
        folder: PathBuf,
    }

    fn fx() -> Fx {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("other/projects/-p");
        fs::create_dir_all(&src).unwrap();
        let source = src.join(format!("{ID}.jsonl"));
        fs::write(&source, b"{}\n").unwrap();
        let current = tmp.path().join("cur");
        let folder = current.join("projects/-p");
        Fx {
            state: tmp.path().join("state"),
            source: source.canonicalize().unwrap(),
            current,
            folder,
            tmp,
        }
    }

    fn dead() -> Owner {
        Owner {
            seance: ProcId {
                pid: u32::MAX,
                start_time: 7,
            },
            claude: None,
        }
    }

    fn kill_owner(state: &Path) {
        ledger::with_ledger(state, |t| {
            for r in &mut t.ledger.links {
                r.owners = vec![dead()];
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn reaps_a_dead_seances_link_and_index() {
        let f = fx();
        fs::create_dir_all(&f.folder).unwrap();
        let idx = f.folder.join(INDEX_FILE);
        let original = b"{\n  \"version\": 1,\n  \"entries\": []\n}";
        fs::write(&idx, original).unwrap();
        let entry = serde_json::json!({"sessionId": ID, "fullPath": "x"})
            .as_object()
            .unwrap()
            .clone();
        let g = LinkGuard::establish(
            &LinkRequest {
                session_id: ID,
                source: &f.source,
                folder: &f.folder,
                source_entry: Some(&entry),
                original_path: "/p",
            },
            &f.state,
        )
        .unwrap();
        std::mem::forget(g); // as if SIGKILLed
        kill_owner(&f.state);
        let dry = reap(&f.current, &f.state, true).unwrap();
        assert!(dry.dry_run);
        let text = dry.to_string();
        assert!(text.contains("would remove link"), "{text}");
        assert!(fs::symlink_metadata(f.folder.join(format!("{ID}.jsonl"))).is_ok());
        let real = reap(&f.current, &f.state, false).unwrap();
        let text = real.to_string();
        assert!(text.contains("removed link"), "{text}");
        assert!(text.contains("index restored"), "{text}");
        assert!(fs::symlink_metadata(f.folder.join(format!("{ID}.jsonl"))).is_err());
        assert_eq!(fs::read(&idx).unwrap(), original);
        assert!(ledger::read_unlocked(&f.state).unwrap().links.is_empty());
        assert!(reap(&f.current, &f.state, false).unwrap().is_empty());
    }

    #[test]
    fn keeps_live_records_and_their_links_even_dangling() {
        let f = fx();
        let g = LinkGuard::establish(
            &LinkRequest {
                session_id: ID,
                source: &f.source,
                folder: &f.folder,
                source_entry: None,
                original_path: "/p",
            },
            &f.state,
        )
        .unwrap();
        // Claude Code's cleanup deletes the source under a running talk.
        let src_bytes = fs::read(&f.source).unwrap();
        fs::remove_file(&f.source).unwrap();
        let r = reap(&f.current, &f.state, false).unwrap();
        assert!(r.is_empty(), "{r}");
        assert!(fs::symlink_metadata(g.link()).is_ok());
        g.release().unwrap();
        fs::write(&f.source, src_bytes).unwrap();
    }

    #[test]
    fn sweeps_dangling_links_not_files_or_live_links() {
        let f = fx();
        fs::create_dir_all(&f.folder).unwrap();
        let dangling = f.folder.join("d0d0d0d0-0000-4000-8000-000000000000.jsonl");
        symlink(f.tmp.path().join("gone.jsonl"), &dangling).unwrap();
        let live = f.folder.join("11111111-0000-4000-8000-000000000000.jsonl");
        symlink(&f.source, &live).unwrap();
        let file = f.folder.join("22222222-0000-4000-8000-000000000000.jsonl");
        fs::write(&file, b"{}\n").unwrap();
        let other_ext = f.folder.join("notes.txt");
        symlink("/nonexistent", &other_ext).unwrap();
        let idx = f.folder.join(INDEX_FILE);
        fs::write(
            &idx,
            format!(
                r#"{{"version":1,"entries":[{{"sessionId":"d0d0d0d0-0000-4000-8000-000000000000","fullPath":"{}"}},{{"sessionId":"keep","fullPath":"/k"}}],"originalPath":"/p"}}"#,
                dangling.display()
            ),
        )
        .unwrap();
        let r = reap(&f.current, &f.state, false).unwrap();
        assert_eq!(r.actions.len(), 2, "{r}");
        assert!(fs::symlink_metadata(&dangling).is_err());
        assert!(live.exists() && file.exists());
        assert!(fs::symlink_metadata(&other_ext).is_ok());
        let doc: serde_json::Value = serde_json::from_slice(&fs::read(&idx).unwrap()).unwrap();
        assert_eq!(doc["entries"].as_array().unwrap().len(), 1);
        assert_eq!(doc["originalPath"], "/p");
    }

    #[test]
    fn record_whose_link_became_a_file_leaves_the_file() {
        let f = fx();
        fs::create_dir_all(&f.folder).unwrap();
        let link = f.folder.join(format!("{ID}.jsonl"));
        fs::write(&link, b"someone's file\n").unwrap();
        ledger::with_ledger(&f.state, |t| {
            t.ledger.links.push(LinkRecord {
                session_id: ID.into(),
                link: link.clone(),
                source: f.source.clone(),
                folder: f.folder.clone(),
                folder_created: true,
                made_link: true,
                index: None::<IndexPatch>,
                owners: vec![dead()],
            });
            Ok(())
        })
        .unwrap();
        let r = reap(&f.current, &f.state, false).unwrap();
        assert!(r.to_string().contains("left alone"), "{r}");
        assert_eq!(fs::read(&link).unwrap(), b"someone's file\n");
        assert!(f.folder.exists());
        assert!(ledger::read_unlocked(&f.state).unwrap().links.is_empty());
    }

    #[test]
    fn missing_everything_is_fine() {
        let tmp = tempfile::tempdir().unwrap();
        let r = reap(&tmp.path().join("nope"), &tmp.path().join("st"), true).unwrap();
        assert!(r.is_empty());
        assert!(!tmp.path().join("st").exists(), "dry run creates nothing");
        let r = reap(&tmp.path().join("nope"), &tmp.path().join("st"), false).unwrap();
        assert!(r.is_empty());
        assert_eq!(r.to_string(), "");
    }
}
