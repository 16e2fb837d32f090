//! Putting another account's transcript where `claude --resume` will find it: a symlink
//! in the current account's project folder plus an entry in that folder's
//! `sessions-index.json`, both recorded in the ledger first and undone by a guard.
//!
//! The source account is only ever read: nothing here opens a source file for writing.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::link::index_patch::{self, INDEX_FILE, IndexPatch, Object, UndoOutcome};
use crate::link::ledger::{self, LedgerTxn, LinkRecord, Owner, ProcId};
use crate::link::lock::{INDEX_LOCK_TIMEOUT, lock_path_for, remove_lock_file};
use crate::util::atomic::{create_private_dir_all, sync_dir};

/// Environment variable that makes seance kill itself with SIGKILL at a named point, so
/// tests can check that the reaper cleans up after a crash anywhere. Points:
/// `after-intent`, `after-link`, `after-index`, `after-spawn`, `during-undo`. (The
/// picker also panics, on purpose, when it names `picker-panic`.)
pub const FAULT_ENV: &str = "SEANCE_TEST_FAULT";

/// Dies by SIGKILL (no destructors, no undo) when [`FAULT_ENV`] names `point`.
pub fn fault(point: &str) {
    if std::env::var_os(FAULT_ENV).is_some_and(|v| v == point) {
        // SAFETY: plain syscalls on our own pid.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// What one thing the undo or the reaper did (or would do, on a dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// What kind of thing.
    pub kind: ActionKind,
    /// The file or folder it concerns.
    pub path: PathBuf,
    /// A few words more (link target, reason).
    pub detail: String,
}

/// Kinds of [`Action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// A symlink removed.
    RemovedLink,
    /// An index file put back byte for byte.
    RestoredIndex,
    /// Seance's entry (or a dangling link's entries) taken out of an index.
    RemovedIndexEntry,
    /// An index file seance created, removed.
    RemovedIndexFile,
    /// A project folder seance created, removed.
    RemovedFolder,
    /// A ledger record dropped after its undo.
    DroppedRecord,
    /// A temp file left by a write that was killed before its rename, removed.
    RemovedTemp,
    /// Something that would have been undone but was left alone (reason in detail).
    LeftAlone,
}

impl std::fmt::Display for Action {
    /// `<what>: <path> (<detail>)`, sanitised for a terminal.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            ActionKind::RemovedLink => "link",
            ActionKind::RestoredIndex => "index restored",
            ActionKind::RemovedIndexEntry => "index entry",
            ActionKind::RemovedIndexFile => "index file",
            ActionKind::RemovedFolder => "folder",
            ActionKind::DroppedRecord => "ledger record",
            ActionKind::RemovedTemp => "temp file",
            ActionKind::LeftAlone => "left alone",
        };
        // Paths found on disk (a dangling link's target) may hold anything: one line,
        // no escapes.
        let shown = |t: &str| crate::util::sanitize::for_terminal(t).into_owned();
        write!(f, "{what}: {}", shown(&self.path.to_string_lossy()))?;
        if !self.detail.is_empty() {
            write!(f, " ({})", shown(&self.detail))?;
        }
        Ok(())
    }
}

fn action(kind: ActionKind, path: &Path, detail: impl Into<String>) -> Action {
    Action {
        kind,
        path: path.to_owned(),
        detail: detail.into(),
    }
}

/// Undoes `rec` in reverse order of making: index entry, link, then the folder (with
/// its index lock) when seance created the folder and nothing else is in it, then the
/// directories above it seance created, when empty. Idempotent; never removes a regular
/// file or a link that points anywhere but `rec.source`, and never writes through a
/// folder that has become a symlink meanwhile (it is left alone and said so). With
/// `dry_run`, changes nothing and reports what it would do.
///
/// Errors: index lock timeout, I/O errors naming the path. The caller holds the ledger
/// lock (so no other seance is linking into this folder meanwhile), and has handed over
/// what others still need ([`hand_over`]).
pub fn undo_record(rec: &LinkRecord, dry_run: bool) -> Result<Vec<Action>> {
    if let Some(target) = folder_link_target(&rec.folder) {
        return Ok(vec![action(
            ActionKind::LeftAlone,
            &rec.folder,
            format!(
                "now a symlink to {}; seance does not write through it",
                shown(&target)
            ),
        )]);
    }
    let mut done = Vec::new();
    if let Some(patch) = &rec.index {
        let step = if dry_run {
            plan_index_undo(rec, patch)
        } else {
            undo_index(rec, patch)?
        };
        done.extend(step);
    }
    fault("during-undo");
    done.extend(undo_link(rec, dry_run)?);
    let folder_gone = rec.folder_created && undo_created_folder(rec, dry_run, &mut done)?;
    if folder_gone || !rec.folder.exists() {
        undo_created_parents(rec, dry_run, &mut done)?;
    }
    Ok(done)
}

/// A path from the file system (a link target, say) made safe to print.
fn shown(path: &Path) -> String {
    crate::util::sanitize::for_terminal(&path.display().to_string()).into_owned()
}

/// Where `folder` points when it is a symlink (`None` for a real directory, or when it
/// is gone). Project folders that are symlinks belong to whatever they point to.
pub fn folder_link_target(folder: &Path) -> Option<PathBuf> {
    let meta = fs::symlink_metadata(folder).ok()?;
    meta.file_type()
        .is_symlink()
        .then(|| fs::read_link(folder).unwrap_or_default())
}

/// Before `rec` is undone (and dropped from the ledger), hands what it created and
/// records still in `others` stand in over to them: the folder (to a record of the same
/// folder), an index file it created (to a record that patched the same file), and the
/// directories above (to a record whose folder lies inside). The last record out then
/// removes them, whichever order the talks end in. Call it with the ledger lock held,
/// and save the ledger with the undo.
pub fn hand_over(rec: &mut LinkRecord, others: &mut [LinkRecord]) {
    if rec.folder_created
        && let Some(heir) = others.iter_mut().find(|o| o.folder == rec.folder)
    {
        heir.folder_created = true;
        rec.folder_created = false;
    }
    if let Some(ours) = rec.index.as_mut().filter(|p| p.created)
        && let Some(heirs) = others
            .iter_mut()
            .filter_map(|o| o.index.as_mut())
            .find(|p| p.path == ours.path)
    {
        // The heir patched after us, so its `before` held our entry and its write is
        // no longer the file's last state once ours is taken out: its undo goes by
        // content (an empty digest never matches) and deletes a file left empty.
        heirs.created = true;
        heirs.before = None;
        heirs.after_digest = String::new();
        ours.created = false;
    }
    rec.parents_created.retain(|dir| {
        let Some(heir) = others.iter_mut().find(|o| o.folder.starts_with(dir)) else {
            return true;
        };
        if !heir.parents_created.contains(dir) {
            heir.parents_created.push(dir.clone());
            heir.parents_created
                .sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        }
        false
    });
}

/// Takes record `pos` out of `links`, hands over what the others still need and
/// undoes it. On error the ledger is left as it was (record and hand-over included),
/// so a later reap can try again.
///
/// Errors: those of [`undo_record`].
pub fn take_and_undo(
    links: &mut Vec<LinkRecord>,
    pos: usize,
    dry_run: bool,
) -> Result<Vec<Action>> {
    let saved = links.clone();
    let mut rec = links.remove(pos);
    hand_over(&mut rec, links);
    match undo_record(&rec, dry_run) {
        Ok(done) => Ok(done),
        Err(e) => {
            *links = saved;
            Err(e)
        }
    }
}

/// Dry run of the index step: what [`undo_index`] would do to the file as it is now.
fn plan_index_undo(rec: &LinkRecord, patch: &IndexPatch) -> Option<Action> {
    let current = match index_patch::read_current(&patch.path) {
        Ok(index_patch::Current::Bytes(b)) => Some(b),
        Ok(index_patch::Current::Missing) => None,
        Ok(index_patch::Current::Refused(why)) => {
            let why = crate::util::sanitize::for_terminal(&why).into_owned();
            return Some(action(ActionKind::LeftAlone, &patch.path, why));
        }
        Err(e) => return Some(action(ActionKind::LeftAlone, &patch.path, format!("{e:#}"))),
    };
    match index_patch::plan_undo(current.as_deref(), patch) {
        index_patch::UndoPlan::Nothing => None,
        index_patch::UndoPlan::Unusable(r) => Some(action(ActionKind::LeftAlone, &patch.path, r)),
        index_patch::UndoPlan::Delete => {
            Some(action(ActionKind::RemovedIndexFile, &patch.path, ""))
        }
        index_patch::UndoPlan::Write(_) => Some(action(
            ActionKind::RemovedIndexEntry,
            &patch.path,
            rec.session_id.clone(),
        )),
    }
}

/// Takes seance's entry out of the index (or restores/deletes the file), under its lock.
fn undo_index(rec: &LinkRecord, patch: &IndexPatch) -> Result<Option<Action>> {
    let kind = match index_patch::undo(patch, INDEX_LOCK_TIMEOUT)? {
        UndoOutcome::Nothing => None,
        UndoOutcome::Restored => Some(ActionKind::RestoredIndex),
        UndoOutcome::EntryRemoved => Some(ActionKind::RemovedIndexEntry),
        UndoOutcome::Deleted => Some(ActionKind::RemovedIndexFile),
        UndoOutcome::LeftUnusable => Some(ActionKind::LeftAlone),
    };
    Ok(kind.map(|kind| action(kind, &patch.path, rec.session_id.clone())))
}

/// Removes the link only while it still points at `rec.source`; anything else found
/// at the link path is reported and left alone.
fn undo_link(rec: &LinkRecord, dry_run: bool) -> Result<Option<Action>> {
    match fs::read_link(&rec.link) {
        Ok(target) if target == rec.source => {
            if !dry_run {
                remove_if_present(&rec.link)?;
                sync_dir(&rec.folder);
            }
            Ok(Some(action(
                ActionKind::RemovedLink,
                &rec.link,
                format!("-> {}", rec.source.display()),
            )))
        }
        Ok(target) => Ok(Some(action(
            ActionKind::LeftAlone,
            &rec.link,
            format!("now points to {}, not ours", target.display()),
        ))),
        // Not a symlink (a regular file someone put there) or gone: not ours to touch.
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(Some(action(
            ActionKind::LeftAlone,
            &rec.link,
            "no longer a symlink",
        ))),
        Err(e) => Err(e).with_context(|| format!("reading link {}", rec.link.display())),
    }
}

/// The folder step, for a folder seance created: clear killed writes' temp files, then
/// remove the index lock and the folder if nothing else is in it. True when the folder
/// is gone (or, on a dry run, would be). The index lock is taken only when a killed
/// write left a temp file to clear, so a talk that patched no index creates none.
fn undo_created_folder(rec: &LinkRecord, dry_run: bool, done: &mut Vec<Action>) -> Result<bool> {
    let index = rec.folder.join(INDEX_FILE);
    let lock = lock_path_for(&index);
    if !dry_run && crate::util::atomic::has_temps_for(&index) {
        // A talk killed mid-write leaves the index's temp file; it is ours to remove.
        for p in crate::link::lock::with_lock(&lock, INDEX_LOCK_TIMEOUT, || {
            crate::util::atomic::remove_orphan_temps(&index)
        })? {
            done.push(action(
                ActionKind::RemovedTemp,
                &p,
                "left by a killed write",
            ));
        }
    }
    if other_entries(rec, &lock, dry_run)? != 0 {
        return Ok(false);
    }
    if !dry_run && !remove_empty_folder(rec, &lock)? {
        return Ok(false);
    }
    done.push(action(ActionKind::RemovedFolder, &rec.folder, ""));
    Ok(true)
}

/// The directories above the folder that seance created, innermost first, each removed
/// when empty; the first one that is not (claude wrote its config there) ends the step.
fn undo_created_parents(rec: &LinkRecord, dry_run: bool, done: &mut Vec<Action>) -> Result<()> {
    // On a dry run nothing is removed, so the child that would have gone is discounted.
    let mut going: Option<&Path> = Some(&rec.folder);
    for dir in &rec.parents_created {
        if dry_run {
            let Ok(read) = fs::read_dir(dir) else {
                return Ok(());
            };
            let others = read
                .filter_map(|e| e.ok())
                .filter(|e| Some(e.path().as_path()) != going)
                .count();
            if others != 0 {
                return Ok(());
            }
        } else {
            match fs::remove_dir(dir) {
                Ok(()) => sync_dir(dir.parent().unwrap_or(Path::new("/"))),
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => return Ok(()),
                Err(e) => return Err(e).with_context(|| format!("removing {}", dir.display())),
            }
        }
        going = Some(dir);
        done.push(action(
            ActionKind::RemovedFolder,
            dir,
            "created for the link",
        ));
    }
    Ok(())
}

/// How many entries besides the index lock are in `rec.folder` (`usize::MAX` when it is
/// gone). A dry run also discounts the link and an index seance created, as the real
/// undo would have removed them by now.
fn other_entries(rec: &LinkRecord, lock: &Path, dry_run: bool) -> Result<usize> {
    match fs::read_dir(&rec.folder) {
        Ok(read) => Ok(read
            .filter_map(|e| e.ok())
            .filter(|e| e.path() != lock)
            .filter(|e| !(dry_run && (e.path() == rec.link || is_our_index(rec, &e.path()))))
            .count()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(usize::MAX),
        Err(e) => Err(e).with_context(|| format!("listing {}", rec.folder.display())),
    }
}

/// Removes the lock file, then the folder. False when the folder filled up meanwhile
/// and was kept.
fn remove_empty_folder(rec: &LinkRecord, lock: &Path) -> Result<bool> {
    remove_lock_file(lock)?;
    match fs::remove_dir(&rec.folder) {
        Ok(()) => Ok(true),
        // Something appeared meanwhile (claude writing its fork): keep it.
        Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => Ok(false),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e).with_context(|| format!("removing {}", rec.folder.display())),
    }
}

/// The ancestors of `folder` that do not exist, innermost first (stopping at the first
/// one that does).
fn missing_parents(folder: &Path) -> Vec<PathBuf> {
    folder
        .ancestors()
        .skip(1)
        .take_while(|d| !d.as_os_str().is_empty() && fs::symlink_metadata(d).is_err())
        .map(Path::to_path_buf)
        .collect()
}

fn is_our_index(rec: &LinkRecord, path: &Path) -> bool {
    rec.index
        .as_ref()
        .is_some_and(|p| p.created && p.path == path)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// Whether `a` and `b` are the same file once symlinks are followed (same device and
/// inode). False when either cannot be reached.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// What to link: everything [`LinkGuard::establish`] needs.
#[derive(Debug, Clone)]
pub struct LinkRequest<'a> {
    /// Full session id.
    pub session_id: &'a str,
    /// The owner account's transcript, absolute and canonical; the symlink points here.
    pub source: &'a Path,
    /// The current account's project folder for the run directory (may not exist yet).
    pub folder: &'a Path,
    /// The source index's entry for the session, if it had one.
    pub source_entry: Option<&'a Object>,
    /// The run directory, for a new index's `originalPath`.
    pub original_path: &'a str,
}

/// How the session came to be resumable from the target folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Setup has not finished (only seen while establishing).
    Pending,
    /// This seance made the link (and maybe the index entry).
    Made,
    /// Another live seance had made the same link; this one shares it.
    Joined,
    /// The folder already holds the transcript; nothing was linked (reason inside).
    NotNeeded(String),
}

/// Owns one seance's use of a link: dropping it (or calling [`LinkGuard::release`])
/// removes this seance from the link's owners and, when it was the last, undoes the
/// link, the index entry and a folder it created. Runs on every path: return, `?`, panic.
#[derive(Debug)]
pub struct LinkGuard {
    state_dir: PathBuf,
    link: PathBuf,
    me: ProcId,
    /// The record as last saved by this seance: undone directly if the ledger cannot be
    /// read at undo time.
    shadow: Option<LinkRecord>,
    state: LinkState,
    armed: bool,
}

impl LinkGuard {
    /// Links `req.source` into `req.folder` as `<id>.jsonl` and patches the folder's
    /// index, recording each step in the ledger (under `state_dir`) before taking it.
    ///
    /// Decisions, in order: a live seance already shares this link → join it; the
    /// folder's `<id>.jsonl` is a regular file or resolves to the source → link nothing;
    /// it is a dangling symlink → replace it; anything else there → error saying what it
    /// is (it is never overwritten). The index is patched only when the source index had
    /// an entry for the session.
    ///
    /// Errors: a foreign entry at the link path, lock timeouts (ledger 30 s, index 5 s,
    /// typed [`crate::link::lock::LockTimeout`]), I/O errors naming paths. On error, whatever
    /// was done is undone before returning.
    pub fn establish(req: &LinkRequest<'_>, state_dir: &Path) -> Result<LinkGuard> {
        let mut guard = LinkGuard {
            state_dir: state_dir.to_owned(),
            link: req.folder.join(format!("{}.jsonl", req.session_id)),
            me: ProcId::current(),
            shadow: None,
            state: LinkState::Pending,
            armed: true,
        };
        // On error the guard drops here, after the ledger lock is released, and undoes.
        let state = ledger::with_ledger(state_dir, |txn| guard.setup(txn, req))?;
        if !matches!(state, LinkState::Made | LinkState::Joined) {
            guard.armed = false;
        }
        guard.state = state;
        Ok(guard)
    }

    /// The link path: `<folder>/<id>.jsonl`.
    pub fn link(&self) -> &Path {
        &self.link
    }

    /// How the link came about.
    pub fn state(&self) -> &LinkState {
        &self.state
    }

    /// The index file this seance added the session to, if it patched one.
    pub fn patched_index(&self) -> Option<&Path> {
        let rec = self.shadow.as_ref()?;
        rec.index.as_ref().map(|p| p.path.as_path())
    }

    /// The setup steps, under the ledger lock. Each step is recorded in the ledger
    /// before it touches the filesystem, so a crash at any point is reaped.
    fn setup(&mut self, txn: &mut LedgerTxn, req: &LinkRequest<'_>) -> Result<LinkState> {
        if let Some(through) = self.folder_symlink(req)? {
            return Ok(through);
        }
        if let Some(joined) = self.join_or_clear_stale(txn, req)? {
            return Ok(joined);
        }
        let replacing_dangling = match self.inspect_link_path(req)? {
            LinkPath::Free => false,
            LinkPath::Dangling => true,
            LinkPath::NotNeeded(why) => return Ok(LinkState::NotNeeded(why)),
        };
        let (mut rec, pos) = self.record_intent(txn, req)?;
        self.make_link(txn, req, &mut rec, pos, replacing_dangling)?;
        self.patch_index(txn, req, &mut rec, pos)?;
        Ok(LinkState::Made)
    }

    /// This seance as a new owner, before it runs a claude.
    fn owner(&self) -> Owner {
        Owner {
            seance: self.me,
            claude: None,
        }
    }

    /// A ledger record for this link: join it while a live owner remains, otherwise
    /// finish the dead owners' undo so the link can be made afresh.
    fn join_or_clear_stale(
        &self,
        txn: &mut LedgerTxn,
        req: &LinkRequest<'_>,
    ) -> Result<Option<LinkState>> {
        let Some(pos) = txn.ledger.position(&self.link) else {
            return Ok(None);
        };
        let rec = &mut txn.ledger.links[pos];
        rec.owners.retain(Owner::is_alive);
        if !rec.owners.is_empty() {
            // Never undo under a live claude. If the resolver picked another copy of
            // the same session this time, the shared link still resumes that id.
            if rec.source != req.source {
                crate::util::say::detail(&format!(
                    "note: {} already links to {} for another seance; sharing it",
                    crate::util::sanitize::path(&self.link),
                    crate::util::sanitize::path(&rec.source)
                ));
            }
            rec.owners.push(self.owner());
            txn.save()?;
            return Ok(Some(LinkState::Joined));
        }
        // Left by seances that died since the reap: finish their undo first.
        take_and_undo(&mut txn.ledger.links, pos, false)?;
        txn.save()?;
        Ok(None)
    }

    /// The target folder when it is a symlink: the transcript is already reachable
    /// through it (nothing to link), or it is an error, since nothing is ever written
    /// through a folder link (it belongs to wherever it points).
    fn folder_symlink(&self, req: &LinkRequest<'_>) -> Result<Option<LinkState>> {
        let Some(target) = folder_link_target(req.folder) else {
            return Ok(None);
        };
        if same_file(&self.link, req.source) {
            return Ok(Some(LinkState::NotNeeded(format!(
                "{} is a symlink to {}, which already holds this transcript",
                req.folder.display(),
                shown(&target)
            ))));
        }
        bail!(
            "the project folder {} is a symlink to {}; seance does not write through it \
             (move the symlink aside, or talk with --here from another directory)",
            req.folder.display(),
            shown(&target)
        )
    }

    /// What is at the link path now (see [`LinkGuard::establish`] for the decisions).
    /// Errors for anything seance must not replace.
    fn inspect_link_path(&self, req: &LinkRequest<'_>) -> Result<LinkPath> {
        let meta = match fs::symlink_metadata(&self.link) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(LinkPath::Free),
            Err(e) => {
                return Err(e).with_context(|| format!("inspecting {}", self.link.display()));
            }
            Ok(meta) => meta,
        };
        let ft = meta.file_type();
        if same_file(&self.link, req.source) {
            return Ok(LinkPath::NotNeeded(format!(
                "{} already is this transcript",
                self.link.display()
            )));
        }
        if ft.is_file() {
            return Ok(LinkPath::NotNeeded(format!(
                "{} already holds a transcript for this session; resuming from it",
                self.link.display()
            )));
        }
        if !ft.is_symlink() {
            bail!(
                "{} already exists and is a {}; leaving it alone",
                self.link.display(),
                kind_name(&ft)
            );
        }
        let target = fs::read_link(&self.link)
            .with_context(|| format!("reading link {}", self.link.display()))?;
        match fs::metadata(&self.link) {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(LinkPath::Dangling),
            _ => bail!(
                "{} already exists and is a symlink to {} that seance did not make; \
                 leaving it alone",
                self.link.display(),
                target.display()
            ),
        }
    }

    /// Saves the record of what is about to be done, before doing any of it. Returns
    /// the record and its position in the ledger, for the steps that follow.
    fn record_intent(
        &mut self,
        txn: &mut LedgerTxn,
        req: &LinkRequest<'_>,
    ) -> Result<(LinkRecord, usize)> {
        // A record is undone from any directory, by another seance: relative paths
        // would name other files there.
        anyhow::ensure!(
            self.link.is_absolute() && req.source.is_absolute(),
            "internal error: link paths must be absolute ({}, {})",
            self.link.display(),
            req.source.display()
        );
        // Record the intent before acting, so a crash from here on is reaped.
        let folder_created = fs::symlink_metadata(req.folder).is_err();
        let rec = LinkRecord {
            session_id: req.session_id.to_owned(),
            link: self.link.clone(),
            source: req.source.to_owned(),
            folder: req.folder.to_owned(),
            folder_created,
            parents_created: missing_parents(req.folder),
            made_link: false,
            index: None,
            owners: vec![self.owner()],
        };
        txn.ledger.links.push(rec.clone());
        let pos = txn.ledger.links.len() - 1;
        self.shadow = Some(rec.clone());
        txn.save()?;
        fault("after-intent");
        Ok((rec, pos))
    }

    /// Creates the folder and the symlink (replacing a dangling one), then records
    /// that the link is made.
    fn make_link(
        &mut self,
        txn: &mut LedgerTxn,
        req: &LinkRequest<'_>,
        rec: &mut LinkRecord,
        pos: usize,
        replacing_dangling: bool,
    ) -> Result<()> {
        create_private_dir_all(req.folder)?;
        if replacing_dangling {
            remove_if_present(&self.link)?;
        }
        std::os::unix::fs::symlink(req.source, &self.link).with_context(|| {
            format!(
                "linking {} -> {}",
                self.link.display(),
                req.source.display()
            )
        })?;
        sync_dir(req.folder);
        rec.made_link = true;
        txn.ledger.links[pos] = rec.clone();
        self.shadow = Some(rec.clone());
        txn.save()?;
        fault("after-link");
        Ok(())
    }

    /// Adds the session's entry to the folder's index when the source index had one.
    /// `index_patch::apply` calls back with the patch so it is saved in the ledger
    /// before the index file is written.
    fn patch_index(
        &mut self,
        txn: &mut LedgerTxn,
        req: &LinkRequest<'_>,
        rec: &mut LinkRecord,
        pos: usize,
    ) -> Result<()> {
        let entry = req.source_entry.and_then(|e| {
            index_patch::entry_for_link(e, &self.link)
                .map_err(|err| {
                    crate::util::say::warn(&format!("not patching the index: {err:#}"));
                })
                .ok()
        });
        let Some(entry) = entry else {
            return Ok(());
        };
        let index_path = req.folder.join(INDEX_FILE);
        let shadow = &mut self.shadow;
        index_patch::apply(
            &index_path,
            &entry,
            req.original_path,
            INDEX_LOCK_TIMEOUT,
            |patch| {
                rec.index = Some(patch.clone());
                txn.ledger.links[pos] = rec.clone();
                *shadow = Some(rec.clone());
                txn.save()
            },
        )?;
        fault("after-index");
        Ok(())
    }

    /// Notes the claude child in the ledger, so the link outlives a killed seance for
    /// as long as its claude runs.
    ///
    /// Errors: ledger lock or I/O errors.
    pub fn set_child(&self, child: ProcId) -> Result<()> {
        if !self.armed {
            return Ok(());
        }
        ledger::with_ledger(&self.state_dir, |txn| {
            if let Some(pos) = txn.ledger.position(&self.link) {
                for o in &mut txn.ledger.links[pos].owners {
                    if o.seance == self.me {
                        o.claude = Some(child);
                    }
                }
            }
            Ok(())
        })
    }

    /// Leaves the link: drops this seance from its owners and, if no live owner is
    /// left, undoes it. Returns what was undone (empty when others still share it).
    ///
    /// Errors: ledger or index lock timeouts, I/O errors. The ledger record is kept on
    /// error so a later reap finishes the job.
    pub fn release(mut self) -> Result<Vec<Action>> {
        self.armed = false;
        self.leave()
    }

    fn leave(&mut self) -> Result<Vec<Action>> {
        // The undo waits for its locks whatever signal arrives (a talk's setup does not).
        crate::link::lock::uninterruptible(|| self.leave_now())
    }

    fn leave_now(&mut self) -> Result<Vec<Action>> {
        let me = self.me;
        let link = self.link.clone();
        let from_ledger = ledger::with_ledger(&self.state_dir, |txn| {
            let Some(pos) = txn.ledger.position(&link) else {
                return Ok(Vec::new());
            };
            let rec = &mut txn.ledger.links[pos];
            rec.owners.retain(|o| o.seance != me && o.is_alive());
            if !rec.owners.is_empty() {
                // Someone else still talks through this link: theirs to undo.
                txn.save()?;
                return Ok(Vec::new());
            }
            take_and_undo(&mut txn.ledger.links, pos, false)
        });
        match from_ledger {
            Ok(done) => Ok(done),
            Err(e) => match (&self.shadow, &self.state) {
                // The ledger is unusable but we made this link alone: undo it from memory.
                (Some(rec), LinkState::Made | LinkState::Pending)
                    if e.downcast_ref::<crate::link::lock::LockTimeout>().is_none() =>
                {
                    crate::util::say::warn(&format!("{e:#}; undoing from memory"));
                    undo_record(rec, false)
                }
                _ => Err(e),
            },
        }
    }
}

impl Drop for LinkGuard {
    fn drop(&mut self) {
        if self.armed {
            self.armed = false;
            if let Err(e) = self.leave() {
                crate::util::say::error(&format!(
                    "could not undo the link {}: {e:#} (`seance --reap` will retry)",
                    crate::util::sanitize::path(&self.link)
                ));
            }
        }
    }
}

/// What [`LinkGuard::inspect_link_path`] found at the link path.
enum LinkPath {
    /// Nothing: the link can be made.
    Free,
    /// A symlink whose target is gone: it is replaced.
    Dangling,
    /// The transcript is already reachable there (the reason, for the user).
    NotNeeded(String),
}

fn kind_name(ft: &fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fixture {
        _tmp: tempfile::TempDir,
        state: PathBuf,
        source: PathBuf,
        source_bytes: Vec<u8>,
        folder: PathBuf,
        entry: Object,
    }

    const ID: &str = "0b6f9a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let src_folder = tmp.path().join("a/projects/-p");
        fs::create_dir_all(&src_folder).unwrap();
        let source = src_folder.join(format!("{ID}.jsonl"));
        let source_bytes = b"{\"type\":\"user\",\"cwd\":\"/p\"}\n".to_vec();
        fs::write(&source, &source_bytes).unwrap();
        let entry = json!({"sessionId": ID, "fullPath": source, "x-unknown": [1]})
            .as_object()
            .unwrap()
            .clone();
        Fixture {
            state: tmp.path().join("state"),
            folder: tmp.path().join("b/projects/-p"),
            source: source.canonicalize().unwrap(),
            source_bytes,
            entry,
            _tmp: tmp,
        }
    }

    fn req<'a>(f: &'a Fixture, entry: bool) -> LinkRequest<'a> {
        LinkRequest {
            session_id: ID,
            source: &f.source,
            folder: &f.folder,
            source_entry: entry.then_some(&f.entry),
            original_path: "/p",
        }
    }

    #[test]
    fn makes_link_and_index_then_undoes_everything() {
        let f = fixture();
        let g = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
        assert_eq!(g.state(), &LinkState::Made);
        assert_eq!(fs::read_link(g.link()).unwrap(), f.source);
        let idx = f.folder.join(INDEX_FILE);
        let doc: serde_json::Value = serde_json::from_slice(&fs::read(&idx).unwrap()).unwrap();
        assert_eq!(doc["entries"][0]["fullPath"], g.link().to_str().unwrap());
        assert_eq!(doc["entries"][0]["x-unknown"], json!([1]));
        let rec = &ledger::read_unlocked(&f.state).unwrap().links[0];
        assert!(rec.made_link && rec.folder_created && rec.index.is_some());
        let done = g.release().unwrap();
        assert!(done.iter().any(|a| a.kind == ActionKind::RemovedFolder));
        assert!(!f.folder.exists(), "created folder removed");
        // b/ and b/projects/ did not exist either: created for the link, removed too.
        assert!(!f.folder.parent().unwrap().parent().unwrap().exists());
        assert!(ledger::read_unlocked(&f.state).unwrap().links.is_empty());
        assert_eq!(fs::read(&f.source).unwrap(), f.source_bytes);
    }

    /// A second session of the same project, its source entry, and its request.
    fn second(f: &Fixture) -> (PathBuf, Object) {
        const ID2: &str = "0b6f9a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5c";
        let src = f.source.with_file_name(format!("{ID2}.jsonl"));
        fs::write(&src, b"{}\n").unwrap();
        let entry = json!({"sessionId": ID2, "fullPath": src})
            .as_object()
            .unwrap()
            .clone();
        (src, entry)
    }

    #[test]
    fn overlapping_links_in_a_new_folder_leave_nothing_in_either_order() {
        for first_leaves_first in [true, false] {
            let f = fixture();
            let (src2, entry2) = second(&f);
            let a = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
            let id2 = src2.file_stem().unwrap().to_str().unwrap().to_owned();
            let b = LinkGuard::establish(
                &LinkRequest {
                    session_id: &id2,
                    source: &src2,
                    folder: &f.folder,
                    source_entry: Some(&entry2),
                    original_path: "/p",
                },
                &f.state,
            )
            .unwrap();
            let recs = ledger::read_unlocked(&f.state).unwrap().links;
            assert!(recs[0].folder_created && !recs[1].folder_created);
            assert_eq!(recs[0].parents_created.len(), 2, "{recs:?}");
            let (first, last) = if first_leaves_first { (a, b) } else { (b, a) };
            first.release().unwrap();
            assert!(f.folder.is_dir(), "the other link still needs the folder");
            let doc: serde_json::Value =
                serde_json::from_slice(&fs::read(f.folder.join(INDEX_FILE)).unwrap()).unwrap();
            assert_eq!(doc["entries"].as_array().unwrap().len(), 1);
            let rec = &ledger::read_unlocked(&f.state).unwrap().links[0];
            assert!(rec.folder_created, "handed over: {rec:?}");
            assert_eq!(rec.parents_created.len(), 2, "handed over: {rec:?}");
            last.release().unwrap();
            let b_dir = f.folder.parent().unwrap().parent().unwrap();
            assert!(!b_dir.exists(), "{first_leaves_first}: left behind");
            assert!(ledger::read_unlocked(&f.state).unwrap().links.is_empty());
        }
    }

    #[test]
    fn a_folder_that_became_a_symlink_is_left_alone_by_the_undo() {
        let f = fixture();
        let g = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
        // Someone moves the folder away and puts a symlink to elsewhere in its place.
        let moved = f.folder.with_file_name("moved");
        fs::rename(&f.folder, &moved).unwrap();
        std::os::unix::fs::symlink(&moved, &f.folder).unwrap();
        let done = g.release().unwrap();
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!(done[0].kind, ActionKind::LeftAlone);
        assert!(fs::symlink_metadata(moved.join(format!("{ID}.jsonl"))).is_ok());
        assert!(moved.join(INDEX_FILE).exists());
    }

    #[test]
    fn a_target_folder_that_is_a_symlink_is_refused_before_anything_is_written() {
        let f = fixture();
        let elsewhere = f.folder.with_file_name("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &f.folder).unwrap();
        let err = LinkGuard::establish(&req(&f, true), &f.state).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err:#}");
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
        assert!(ledger::read_unlocked(&f.state).unwrap().links.is_empty());
    }

    #[test]
    fn drop_undoes_and_keeps_folder_with_other_files() {
        let f = fixture();
        {
            let _g = LinkGuard::establish(&req(&f, false), &f.state).unwrap();
            // claude's fork lands in the same folder.
            fs::write(f.folder.join("fork.jsonl"), b"{}\n").unwrap();
        }
        assert!(f.folder.join("fork.jsonl").exists());
        assert!(!f.folder.join(format!("{ID}.jsonl")).exists());
        assert!(!f.folder.join(INDEX_FILE).exists());
    }

    #[test]
    fn panic_undoes() {
        let f = fixture();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
            panic!("boom");
        }));
        assert!(r.is_err());
        assert!(!f.folder.exists());
        assert!(ledger::read_unlocked(&f.state).unwrap().links.is_empty());
    }

    #[test]
    fn existing_index_restored_byte_for_byte() {
        let f = fixture();
        fs::create_dir_all(&f.folder).unwrap();
        let idx = f.folder.join(INDEX_FILE);
        let original = b"{\"version\":1,\"entries\":[],\"originalPath\":\"/p\",\"zz\":0}\n";
        fs::write(&idx, original).unwrap();
        let g = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
        assert_ne!(fs::read(&idx).unwrap(), original);
        let done = g.release().unwrap();
        assert!(done.iter().any(|a| a.kind == ActionKind::RestoredIndex));
        assert_eq!(fs::read(&idx).unwrap(), original);
        assert!(f.folder.exists(), "folder was not ours");
    }

    #[test]
    fn joined_link_survives_first_leaver() {
        let f = fixture();
        let a = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
        // A second owner: fake another live process (our own parent shell will do, it
        // outlives this test) by rewriting the ledger's owner list.
        let other = ProcId::of(std::os::unix::process::parent_id()).unwrap();
        ledger::with_ledger(&f.state, |t| {
            t.ledger.links[0].owners.push(Owner {
                seance: other,
                claude: None,
            });
            Ok(())
        })
        .unwrap();
        assert!(a.release().unwrap().is_empty());
        assert!(fs::read_link(f.folder.join(format!("{ID}.jsonl"))).is_ok());
        // Now a third joins and is the last to leave.
        let b = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
        assert_eq!(b.state(), &LinkState::Joined);
        ledger::with_ledger(&f.state, |t| {
            t.ledger.links[0].owners.retain(|o| o.seance != other);
            Ok(())
        })
        .unwrap();
        let done = b.release().unwrap();
        assert!(done.iter().any(|a| a.kind == ActionKind::RemovedLink));
        assert!(!f.folder.exists());
    }

    #[test]
    fn regular_file_or_same_store_means_no_link() {
        let f = fixture();
        fs::create_dir_all(&f.folder).unwrap();
        let target = f.folder.join(format!("{ID}.jsonl"));
        fs::write(&target, b"copy\n").unwrap();
        let g = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
        assert!(matches!(g.state(), LinkState::NotNeeded(_)));
        drop(g);
        assert_eq!(fs::read(&target).unwrap(), b"copy\n");
        assert!(!f.folder.join(INDEX_FILE).exists());
        // A live symlink to the source made by someone else (gt seance): same store.
        fs::remove_file(&target).unwrap();
        std::os::unix::fs::symlink(&f.source, &target).unwrap();
        let g = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
        assert!(matches!(g.state(), LinkState::NotNeeded(_)));
        drop(g);
        assert_eq!(fs::read_link(&target).unwrap(), f.source);
    }

    #[test]
    fn foreign_live_link_or_dir_is_an_error_and_untouched() {
        let f = fixture();
        fs::create_dir_all(&f.folder).unwrap();
        let target = f.folder.join(format!("{ID}.jsonl"));
        let elsewhere = f.folder.join("elsewhere");
        fs::write(&elsewhere, b"x").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &target).unwrap();
        let err = LinkGuard::establish(&req(&f, true), &f.state).unwrap_err();
        assert!(err.to_string().contains("did not make"), "{err:#}");
        assert_eq!(fs::read_link(&target).unwrap(), elsewhere);
        fs::remove_file(&target).unwrap();
        fs::create_dir(&target).unwrap();
        let err = LinkGuard::establish(&req(&f, true), &f.state).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err:#}");
        assert!(ledger::read_unlocked(&f.state).unwrap().links.is_empty());
    }

    #[test]
    fn dangling_link_is_replaced() {
        let f = fixture();
        fs::create_dir_all(&f.folder).unwrap();
        let target = f.folder.join(format!("{ID}.jsonl"));
        std::os::unix::fs::symlink("/nonexistent/x.jsonl", &target).unwrap();
        let g = LinkGuard::establish(&req(&f, false), &f.state).unwrap();
        assert_eq!(g.state(), &LinkState::Made);
        assert_eq!(fs::read_link(&target).unwrap(), f.source);
        g.release().unwrap();
        assert!(fs::symlink_metadata(&target).is_err());
    }

    #[test]
    fn index_lock_timeout_undoes_link() {
        let f = fixture();
        fs::create_dir_all(&f.folder).unwrap();
        let lock = lock_path_for(&f.folder.join(INDEX_FILE));
        let (tx, rx) = std::sync::mpsc::channel();
        let (rel_tx, rel_rx) = std::sync::mpsc::channel::<()>();
        let l2 = lock.clone();
        let holder = std::thread::spawn(move || {
            crate::link::lock::with_lock(&l2, std::time::Duration::from_secs(1), || {
                tx.send(()).unwrap();
                rel_rx.recv().unwrap();
                Ok(())
            })
            .unwrap()
        });
        rx.recv().unwrap();
        let err = LinkGuard::establish(&req(&f, true), &f.state).unwrap_err();
        assert!(
            err.downcast_ref::<crate::link::lock::LockTimeout>()
                .is_some()
        );
        assert!(format!("{err:#}").contains("sessions-index.json.lock"));
        rel_tx.send(()).unwrap();
        holder.join().unwrap();
        assert!(fs::symlink_metadata(f.folder.join(format!("{ID}.jsonl"))).is_err());
        assert!(ledger::read_unlocked(&f.state).unwrap().links.is_empty());
    }

    #[test]
    fn dead_owners_record_is_undone_before_linking_again() {
        let f = fixture();
        let g = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
        // Pretend we died: rewrite the owner to a dead process and forget the guard.
        ledger::with_ledger(&f.state, |t| {
            t.ledger.links[0].owners = vec![Owner {
                seance: ProcId {
                    pid: u32::MAX,
                    start_time: 1,
                },
                claude: None,
            }];
            Ok(())
        })
        .unwrap();
        std::mem::forget(g);
        let g = LinkGuard::establish(&req(&f, true), &f.state).unwrap();
        assert_eq!(g.state(), &LinkState::Made);
        let doc: serde_json::Value =
            serde_json::from_slice(&fs::read(f.folder.join(INDEX_FILE)).unwrap()).unwrap();
        assert_eq!(doc["entries"].as_array().unwrap().len(), 1);
        g.release().unwrap();
        assert!(!f.folder.exists());
    }
}
