//! Discovery: finds every session of every account and merges what the transcripts,
//! the legacy index files and Gas Town's events say about each, by session id.
//!
//! Layout read (Claude Code's): `<account>/projects/<project-folder>/<session-id>.jsonl`,
//! with an optional `sessions-index.json` beside the transcripts. Nested folders
//! (`<session-id>/subagents/`, `memory/`) hold no sessions and are not entered.

use std::collections::HashSet;
use std::fs::{self, File};
use std::hash::BuildHasher;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use hashbrown::{DefaultHashBuilder, HashTable};
use rayon::prelude::*;
use serde::{Serialize, Serializer};

pub mod accounts;
pub mod cache;
pub mod events;
pub mod events_cache;
pub mod forks;
pub mod index;
pub mod live;
pub mod resolve;
pub mod sidecar;
pub mod transcript;
pub mod warnings;

use accounts::Account;

use crate::util::fsread::DirHandle;
use crate::util::timefmt::to_rfc3339;
use cache::Cache;
use events::Events;
use events_cache::read_events_cached;
use index::{INDEX_FILE, IndexEntry, IndexError, read_index};
use transcript::{TitleKind, TranscriptMeta, read_meta_from, read_meta_with};
use warnings::Warnings;

/// Which kind of source saw a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A `<id>.jsonl` transcript.
    Transcript,
    /// A `sessions-index.json` entry.
    Index,
    /// A Gas Town `session_start` event.
    Events,
}

/// The set of [`Source`]s that saw a session, in one byte (a session holds no list).
/// Serialises as the sorted array of their names, as a `Vec<Source>` would.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sources(u8);

impl Sources {
    const ALL: [Source; 3] = [Source::Transcript, Source::Index, Source::Events];

    /// Adds `s` (no change when it is there).
    pub fn add(&mut self, s: Source) {
        self.0 |= 1 << s as u8;
    }

    /// Whether `s` is in the set.
    pub fn contains(self, s: Source) -> bool {
        self.0 & (1 << s as u8) != 0
    }

    /// The sources in the set, in [`Source`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Source> {
        Self::ALL.into_iter().filter(move |&s| self.contains(s))
    }
}

impl Serialize for Sources {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// One session, merged from every source that saw it. Serialises to the `--json` row.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// The session id (normally a UUID v4).
    pub session_id: String,
    /// Name of the owning account; `None` for a session known only from events. Shared
    /// by the account's sessions.
    pub account: Option<Arc<str>>,
    /// The owning account's config dir, shared by the account's sessions.
    pub config_dir: Option<Arc<Path>>,
    /// True when the owning account is the current one.
    pub current_account: bool,
    /// Working directory: the transcript's `cwd`, else the index's `projectPath`, else
    /// the event's `cwd`.
    pub cwd: Option<String>,
    /// Name of the project folder holding the transcript or index entry, shared by the
    /// folder's sessions.
    pub project_folder: Option<Arc<str>>,
    /// Path of the transcript as found (may be a symlink into an unknown place); `None`
    /// when no transcript exists.
    pub transcript: Option<PathBuf>,
    /// True for an index entry whose transcript is gone.
    pub transcript_missing: bool,
    /// The last `custom-title` record's title, else the title sidecar's, else AI title,
    /// summary (transcript, then index), then first prompt: the order Claude Code's
    /// picker follows (checked on 2.1.332).
    pub title: Option<String>,
    /// The first real user prompt; for a fork, the first one asked in the fork (not the
    /// copied one).
    pub first_prompt: Option<String>,
    /// Gas Town actor (`<rig>/crew/<name>`, `mayor`, ...).
    pub actor: Option<String>,
    /// Gas Town role.
    pub role: Option<String>,
    /// Gas Town topic (patrol roles).
    pub topic: Option<String>,
    /// Git branch at the start of the session (`None` outside git, where Claude Code
    /// writes `"HEAD"`).
    pub git_branch: Option<String>,
    /// First timestamp (transcript, else index `created`, else event `ts`), RFC 3339 UTC;
    /// for a fork, the time it was made (its first own record).
    #[serde(serialize_with = "ser_time")]
    pub started_at: Option<DateTime<Utc>>,
    /// Last timestamp (transcript, else its mtime, else index `modified`), RFC 3339 UTC.
    #[serde(serialize_with = "ser_time")]
    pub last_active_at: Option<DateTime<Utc>>,
    /// Transcript size in bytes.
    pub size_bytes: Option<u64>,
    /// Which sources saw it, sorted.
    pub sources: Sources,
    /// How many accounts hold a copy of this id (1 for most sessions). Each copy is a
    /// session of its own in a scan; a listing shows one per id unless filters pick.
    pub copies: usize,
    /// The session this one was forked from: recorded `forkedFrom`, else found by
    /// [`forks`].
    pub forked_from: Option<String>,
    /// The running claude that has this session open, when one does right now (from
    /// the owning account's `sessions/<pid>.json`); `None` otherwise.
    pub live: Option<Box<Live>>,
    /// The legacy index file that has an entry for this session (the first one met).
    #[serde(skip)]
    pub index_file: Option<Arc<Path>>,
    /// Where `title` came from, for merging with the index.
    #[serde(skip)]
    pub title_kind: Option<TitleKind>,
    /// Every `customTitle` and `summary` the legacy index entries give, for `--search`
    /// (the `title` keeps only the strongest).
    #[serde(skip)]
    pub index_titles: Vec<String>,
    /// The last `agent-name` record (a name `--talk "<name>"` matches).
    #[serde(skip)]
    pub agent_name: Option<String>,
    /// The last `last-prompt` record (shown by the picker's preview).
    #[serde(skip)]
    pub last_prompt: Option<String>,
}

/// A running claude registered in `<config>/sessions/<pid>.json` (Claude Code's live
/// session registry; both 2.1.197 and 2.1.332 write it and remove it on a clean exit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Live {
    /// The claude process id.
    pub pid: u32,
    /// `status` as claude wrote it (`idle`, `busy`, `waiting`), when present.
    pub status: Option<String>,
    /// `kind` as claude wrote it (`interactive`, `bg`, ...), when present.
    pub kind: Option<String>,
}

/// Serialises an optional instant as RFC 3339 UTC with milliseconds, or `null`.
///
/// Errors: the serializer's.
pub fn ser_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&to_rfc3339(t)),
        None => s.serialize_none(),
    }
}

impl Session {
    /// A session with only its id: every other field empty.
    pub fn new(session_id: String) -> Session {
        Session {
            session_id,
            account: None,
            config_dir: None,
            current_account: false,
            cwd: None,
            project_folder: None,
            transcript: None,
            transcript_missing: false,
            title: None,
            first_prompt: None,
            actor: None,
            role: None,
            topic: None,
            git_branch: None,
            started_at: None,
            last_active_at: None,
            size_bytes: None,
            sources: Sources::default(),
            copies: 1,
            forked_from: None,
            live: None,
            index_file: None,
            title_kind: None,
            index_titles: Vec::new(),
            agent_name: None,
            last_prompt: None,
        }
    }

    fn add_source(&mut self, s: Source) {
        self.sources.add(s);
    }
}

/// What to scan.
pub struct ScanOptions<'a> {
    /// Accounts to scan, current first.
    pub accounts: &'a [Account],
    /// Gas Town events file, if any (a missing file is silently ignored).
    pub events_file: Option<&'a Path>,
    /// When set, only sessions whose id this accepts get their transcript read (the
    /// rest are never listed): resolving a talk's id need not read every transcript.
    pub want: Option<&'a (dyn Fn(&str) -> bool + Sync)>,
    /// The metadata cache file, when one is used: read before the scan, and rewritten
    /// (atomically) when anything was read fresh or went stale. The events cache
    /// ([`events_cache`]) is kept beside it.
    pub cache_file: Option<&'a Path>,
    /// A full session id to look for first (a talk's fast path): only the project
    /// folders holding `<id>.jsonl` are listed (one `stat` per folder), and the events
    /// file is read only when nothing else gave the session its working directory, so
    /// `actor`, `role` and `topic` may stay empty. When no folder holds it, the scan
    /// falls back to everything (the session may be index- or event-only).
    pub exact_id: Option<&'a str>,
}

/// Everything a scan found.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Merged sessions, in no particular order.
    pub sessions: Vec<Session>,
    /// Problems met.
    pub warnings: Warnings,
    /// How many transcripts were read fresh (not found in the cache).
    pub fresh: usize,
    /// Why the cache could not be rewritten, if it could not: that only costs speed
    /// next time, so it is not a warning.
    pub cache_error: Option<String>,
}

/// A transcript found in a project folder, before its metadata is read.
struct Found {
    account: usize,
    folder_name: Arc<str>,
    path: PathBuf,
    id: String,
    /// `id`'s [`hash_id`], taken while the id is at hand.
    id_hash: u64,
    size: u64,
    mtime: Option<SystemTime>,
    /// The file's birth time, where the platform and file system keep one.
    born: Option<SystemTime>,
    /// Size and mtime of `<id>/custom-title.json`, when there is one.
    sidecar: Option<(u64, Option<SystemTime>)>,
}

/// True for a Claude Code session id: a UUID in its 8-4-4-4-12 hex form.
pub fn is_uuid(s: &str) -> bool {
    uuid_bytes(s.as_bytes(), HexCase::Any).is_some()
}

/// Which hex digits [`uuid_bytes`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HexCase {
    /// `0-9a-f` only: the form Claude Code writes, and the only one that turns back into
    /// the same string.
    Lower,
    /// `0-9a-f` and `A-F`.
    Any,
}

/// The 16 bytes of a UUID in its 8-4-4-4-12 hex form (the first digit the high half of
/// the first byte), or `None` for anything else.
pub fn uuid_bytes(b: &[u8], case: HexCase) -> Option<[u8; 16]> {
    /// Where the 32 hex digits are.
    const DIGITS: [usize; 32] = {
        let mut at = [0; 32];
        let (mut i, mut pos) = (0, 0);
        while i < 32 {
            if matches!(pos, 8 | 13 | 18 | 23) {
                pos += 1;
            }
            at[i] = pos;
            i += 1;
            pos += 1;
        }
        at
    };
    /// Each byte's value as a hex digit, 0x10 when it is not one (with `upper`, `A-F`
    /// count). Tables, not branches: branches on random digits mispredict half the time.
    const fn nibbles(upper: bool) -> [u8; 256] {
        let mut t = [0x10; 256];
        let mut c = 0;
        while c < 16 {
            t[b"0123456789abcdef"[c] as usize] = c as u8;
            if upper {
                t[b"0123456789ABCDEF"[c] as usize] = c as u8;
            }
            c += 1;
        }
        t
    }
    const LOWER: [u8; 256] = nibbles(false);
    const ANY: [u8; 256] = nibbles(true);
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let nibble = match case {
        HexCase::Lower => &LOWER,
        HexCase::Any => &ANY,
    };
    let mut out = [0u8; 16];
    let mut bad = 0;
    for (k, byte) in out.iter_mut().enumerate() {
        let hi = nibble[usize::from(b[DIGITS[2 * k]])];
        let lo = nibble[usize::from(b[DIGITS[2 * k + 1]])];
        bad |= hi | lo;
        *byte = hi << 4 | (lo & 15);
    }
    (bad & 0x10 == 0).then_some(out)
}

/// `b` in the 8-4-4-4-12 lowercase hex form, as ASCII bytes: the inverse of
/// [`uuid_bytes`] with [`HexCase::Lower`].
pub fn uuid_text(b: &[u8; 16]) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        out[at] = HEX[usize::from(x >> 4)];
        out[at + 1] = HEX[usize::from(x & 15)];
        at += 2;
    }
    out
}

/// The hash of a session id in the merge's table (foldhash, seeded once per process).
fn hash_id(id: &str) -> u64 {
    static HASHER: std::sync::OnceLock<DefaultHashBuilder> = std::sync::OnceLock::new();
    HASHER.get_or_init(DefaultHashBuilder::default).hash_one(id)
}

/// Scans every account's project folders, the index files and the events file, and
/// merges them by session id. Never fails: every problem becomes a warning.
pub fn scan(opts: ScanOptions) -> Catalog {
    let mut warnings = Warnings::default();
    let owners = owners(opts.accounts);
    let mut folders = collect_folders(opts.accounts, &owners, &mut warnings);
    let mut events_file = opts.events_file;
    if opts
        .exact_id
        .is_some_and(|id| narrow_to_id(&mut folders, id))
    {
        events_file = None;
    }
    let Listing {
        found,
        index_files,
        cache,
        events,
    } = list_folders(&folders, &owners, &opts, events_file, &mut warnings);
    let (mut metas, stale) = read_metadata(&found, cache);
    let fresh = metas.iter().filter(|(_, fresh)| *fresh).count();
    let refreshed = refresh_sidecars(&found, &mut metas);
    let groups = fork_groups(&found, &metas);
    let chains = fill_chains(&groups, &found, &mut metas);
    let to_save = opts
        .cache_file
        .filter(|_| fresh > 0 || stale > 0 || refreshed > 0 || chains > 0)
        .map(|path| (path, encode_cache(&found, &metas)));
    let forks = link_forks(&groups, &found, &metas);
    // The chains were for the cache and the forks; the read phase's garbage sits in
    // the worker threads' arenas, where the merge's allocations cannot reuse it.
    for (meta, _) in &mut metas {
        if let Ok(m) = meta {
            m.chain = None;
        }
    }
    crate::platform::memory::release_free();

    // Room for a session per transcript, index entry and event: growing the sessions
    // later would copy them all (pages never written cost no memory).
    let room = found.len()
        + index_files
            .iter()
            .filter_map(|(.., parsed)| parsed.as_ref().ok())
            .map(|f| f.entries.len())
            .sum::<usize>()
        + events
            .as_ref()
            .and_then(|(_, ev)| ev.as_ref().ok())
            .map_or(0, |ev| ev.starts.len());
    std::thread::scope(|s| {
        // Writing the file is the kernel's copying; the merge need not wait for it.
        let writer = to_save.map(|(path, encoded)| {
            std::thread::Builder::new()
                .spawn_scoped(s, move || write_cache(path, encoded))
                .map_err(|e| format!("cannot write cache {}: no thread: {e}", path.display()))
        });
        let mut merge = Merge::new(room, warnings);
        merge.transcripts(opts.accounts, found, metas, forks);
        merge.index_files(opts.accounts, index_files, opts.want);
        merge.events(events, &opts, events_file);
        title_from_first_prompt(&mut merge.sessions);
        merge.count_copies();
        mark_live(&mut merge.sessions, opts.accounts);
        let cache_error = writer.and_then(|w| match w {
            Ok(w) => w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(e) => Some(e),
        });
        Catalog {
            sessions: merge.sessions,
            warnings: merge.warnings,
            fresh,
            cache_error,
        }
    })
}

/// Sessions of the `n` transcripts the metadata cache at `cache_file` saw modified
/// last, built without touching any project folder: what the picker draws at once,
/// before a [`scan`] reconciles. Also gives how many transcripts the cache holds. Only
/// transcripts directly in an account's project folders count; index entries, events
/// and live state are missing, and files gone since are still there. A missing,
/// corrupt or old cache gives none.
pub fn from_cache(accounts: &[Account], cache_file: &Path, n: usize) -> (Vec<Session>, usize) {
    let Some((total, rows)) = Cache::load_head(cache_file, n) else {
        return (Vec::new(), 0);
    };
    let roots: Vec<PathBuf> = accounts.iter().map(Account::projects_dir).collect();
    let mut found = Vec::with_capacity(rows.len());
    let mut metas = Vec::with_capacity(rows.len());
    for (key, meta) in rows {
        let Some(folder) = key.path.parent() else {
            continue;
        };
        let Some(ai) = roots.iter().position(|r| folder.parent() == Some(r)) else {
            continue;
        };
        let name = |p: &Path| p.file_name().and_then(|n| n.to_str()).map(str::to_owned);
        let (Some(folder_name), Some(id)) = (
            name(folder),
            key.path
                .file_stem()
                .and_then(|n| n.to_str())
                .map(str::to_owned),
        ) else {
            continue;
        };
        if !is_uuid(&id) {
            continue;
        }
        let mtime = (key.mtime_ns > 0)
            .then(|| SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(key.mtime_ns));
        found.push(Found {
            account: ai,
            folder_name: folder_name.into(),
            path: key.path,
            id_hash: hash_id(&id),
            id,
            size: key.size,
            mtime,
            born: None,
            sidecar: None,
        });
        metas.push((Ok(meta), false));
    }
    let mut merge = Merge::new(found.len(), Warnings::default());
    // Fork parents need the fork groups a scan reads; the reconciling scan adds them.
    let forks = (0..found.len()).map(|_| None).collect();
    merge.transcripts(accounts, found, metas, forks);
    title_from_first_prompt(&mut merge.sessions);
    merge.count_copies();
    (merge.sessions, total)
}

/// A project folder to list: owning account's index, folder name, path.
type Folder = (usize, String, PathBuf);

/// A legacy index file found while listing: path, owning account's index, folder name,
/// and what parsing it gave (it is parsed as its folder is listed).
type IndexFile = (PathBuf, usize, String, Result<index::IndexFile, IndexError>);

/// What a metadata read gave for one transcript, and whether it was read fresh (not
/// taken from the cache).
type MetaRead = (io::Result<TranscriptMeta>, bool);

/// Each account with a projects folder, with that folder's canonical path: a symlink
/// into one of them belongs to that account, not to the one it was found under.
fn owners(accounts: &[Account]) -> Vec<(usize, PathBuf)> {
    accounts
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.projects.clone().map(|p| (i, p)))
        .collect()
}

/// Project folders of every account, deduplicated by canonical path (folders may be
/// symlinks to each other).
fn collect_folders(
    accounts: &[Account],
    owners: &[(usize, PathBuf)],
    warnings: &mut Warnings,
) -> Vec<Folder> {
    let mut folders: Vec<Folder> = Vec::new();
    let mut seen_folders = HashSet::new();
    for (ai, acct) in accounts.iter().enumerate() {
        let Some(canonical_projects) = &acct.projects else {
            continue;
        };
        for (name, path, kind) in project_folders(&acct.projects_dir(), warnings) {
            // A real folder's canonical path is known without asking; only a symlinked
            // one needs resolving.
            let canon = match kind {
                FolderKind::Real => canonical_projects.join(&name),
                FolderKind::Linked(target) => {
                    // A folder linked in from another account we scan is that account's.
                    if owners
                        .iter()
                        .any(|(oi, root)| *oi != ai && target.starts_with(root))
                    {
                        continue;
                    }
                    target
                }
            };
            if seen_folders.insert(canon) {
                folders.push((ai, name, path));
            }
        }
    }
    folders
}

/// The exact-id fast path: keeps only the folders that hold `<id>.jsonl` (one `stat`
/// each, in parallel) and returns true, or, when none does, leaves every folder and
/// returns false (the session may be index- or event-only).
fn narrow_to_id(folders: &mut Vec<Folder>, id: &str) -> bool {
    let file = format!("{id}.jsonl");
    let holding: Vec<_> = folders
        .par_iter()
        .filter(|(_, _, path)| fs::symlink_metadata(path.join(&file)).is_ok())
        .cloned()
        .collect();
    if holding.is_empty() {
        return false;
    }
    *folders = holding;
    true
}

/// What listing the folders gave, with the cache and events read alongside.
struct Listing<'a> {
    /// Transcripts found (stat only), folder by folder.
    found: Vec<Found>,
    /// Legacy index files found.
    index_files: Vec<IndexFile>,
    /// The metadata cache, when one is used.
    cache: Option<Cache>,
    /// The events file and what reading it gave, when it was read.
    events: Option<(&'a Path, io::Result<Events>)>,
}

/// Lists each folder in parallel: transcripts (stat only) and index files (parsed).
/// Loading the cache and reading the events file do not depend on it: they run
/// alongside.
fn list_folders<'a>(
    folders: &[Folder],
    owners: &[(usize, PathBuf)],
    opts: &ScanOptions<'a>,
    events_file: Option<&'a Path>,
    warnings: &mut Warnings,
) -> Listing<'a> {
    type Listed = (Vec<Found>, Option<IndexFile>, Warnings);
    let (listed, (cache, events)): (Vec<Listed>, _) = rayon::join(
        || {
            folders
                .par_iter()
                .map(|(ai, name, path)| list_folder(*ai, name, path, owners, opts.want))
                .collect()
        },
        || {
            rayon::join(
                || opts.cache_file.map(Cache::load),
                || events_file.map(|p| (p, read_events_cached(p, opts.cache_file))),
            )
        },
    );

    let mut found = Vec::new();
    let mut index_files = Vec::new();
    for (f, idx, w) in listed {
        found.extend(f);
        index_files.extend(idx);
        warnings.extend(w);
    }
    Listing {
        found,
        index_files,
        cache,
        events,
    }
}

/// Metadata of every transcript, in `found`'s order: moved out of the cache when path,
/// size and mtime match, else read (in parallel). Also gives how many cache rows were
/// left unused (stale), which is a reason to rewrite the cache.
fn read_metadata(found: &[Found], cache: Option<Cache>) -> (Vec<MetaRead>, usize) {
    let cache = cache.unwrap_or_default();
    let metas: Vec<MetaRead> = found
        .par_iter()
        .map_init(
            || (Vec::new(), None),
            |(buf, dir), f| match cache.take(&f.path, f.size, f.mtime) {
                Some(m) => (Ok(m), false),
                // The mtime dates the session; the last timestamp stands in only without one.
                None => {
                    let want_last = f.mtime.is_none();
                    let read = match open_in_folder(dir, f) {
                        Some(opened) => opened
                            .and_then(|(file, _)| read_meta_from(&file, f.size, buf, want_last)),
                        None => read_meta_with(&f.path, f.size, buf, want_last),
                    };
                    (read, true)
                }
            },
        )
        .collect();
    (metas, cache.len())
}

/// The project folder a thread last opened a transcript in: the folder's shared name
/// (compared by pointer: each listed folder has its own) and its handle, `None` when it
/// would not open.
type OpenFolder = Option<(Arc<str>, Option<DirHandle>)>;

/// Opens the transcript `f` by name in its project folder, through the folder's handle
/// in `dir` (opened there first when `dir` holds another folder: a thread's transcripts
/// come folder by folder). `None` when the folder will not open as a directory: the
/// caller opens `f` by its path.
fn open_in_folder(dir: &mut OpenFolder, f: &Found) -> Option<io::Result<(File, fs::Metadata)>> {
    if !dir
        .as_ref()
        .is_some_and(|(folder, _)| Arc::ptr_eq(folder, &f.folder_name))
    {
        let handle = f.path.parent().and_then(|p| DirHandle::open(p).ok());
        *dir = Some((f.folder_name.clone(), handle));
    }
    let (_, handle) = dir.as_ref()?;
    Some(handle.as_ref()?.open_regular(f.path.file_name()?))
}

/// Reads the title sidecars that are new or changed since the cached read (and forgets
/// those that are gone). Returns how many were read.
fn refresh_sidecars(found: &[Found], metas: &mut [MetaRead]) -> usize {
    let mut read = 0;
    for (f, (meta, _)) in found.iter().zip(metas.iter_mut()) {
        let Ok(meta) = meta else { continue };
        let Some((size, mtime)) = f.sidecar else {
            meta.sidecar = None;
            continue;
        };
        if meta
            .sidecar
            .as_ref()
            .is_some_and(|s| s.is_current(size, mtime))
        {
            continue;
        }
        meta.sidecar =
            sidecar::path_for(&f.path, &f.id).map(|p| Box::new(sidecar::read(&p, size, mtime)));
        read += 1;
    }
    read
}

/// The transcripts read well, grouped by their first prompt's uuid (groups of two or
/// more: forks and their parents).
fn fork_groups(found: &[Found], metas: &[MetaRead]) -> Vec<Vec<usize>> {
    let usable: Vec<Option<&TranscriptMeta>> = found
        .iter()
        .zip(metas)
        .map(|(f, (m, _))| m.as_ref().ok().filter(|m| !m.corrupt && f.size > 0))
        .collect();
    forks::groups(&usable)
}

/// Reads the chain of every group member that has none yet (in parallel). Returns how
/// many were read; one that cannot be read stays without (and is placed by time alone).
fn fill_chains(groups: &[Vec<usize>], found: &[Found], metas: &mut [MetaRead]) -> usize {
    let need: Vec<usize> = groups
        .iter()
        .flatten()
        .copied()
        .filter(|&i| metas[i].0.as_ref().is_ok_and(|m| m.chain.is_none()))
        .collect();
    let read: Vec<(usize, forks::Chain)> = need
        .par_iter()
        .filter_map(|&i| {
            let f = &found[i];
            forks::read_chain(&f.path, f.size).ok().map(|c| (i, c))
        })
        .collect();
    let n = read.len();
    for (i, chain) in read {
        if let Ok(m) = &mut metas[i].0 {
            m.chain = Some(Box::new(chain));
        }
    }
    n
}

/// The fork found for each transcript (in `found`'s order), `None` for all but forks.
fn link_forks(
    groups: &[Vec<usize>],
    found: &[Found],
    metas: &[MetaRead],
) -> Vec<Option<forks::Fork>> {
    let mut out = vec![None; found.len()];
    for group in groups {
        let members: Vec<forks::Member> = group
            .iter()
            .filter_map(|&i| {
                Some(forks::Member {
                    id: &found[i].id,
                    meta: metas[i].0.as_ref().ok()?,
                    file_born: found[i].born.map(DateTime::<Utc>::from),
                })
            })
            .collect();
        for (&i, fork) in group.iter().zip(forks::link_group(&members)) {
            out[i] = fork;
        }
    }
    out
}

/// Marks the sessions a running claude has open (see [`live`]).
fn mark_live(sessions: &mut [Session], accounts: &[Account]) {
    let running = live::running(accounts);
    if running.is_empty() {
        return;
    }
    for s in sessions {
        s.live = running.get(&s.session_id).cloned().map(Box::new);
    }
}

/// The cache rows of every transcript read well, encoded for [`write_cache`].
fn encode_cache(found: &[Found], metas: &[MetaRead]) -> anyhow::Result<cache::Encoded> {
    cache::encode(found.iter().zip(metas).filter_map(|(f, (m, _))| {
        Some(cache::Entry {
            path: &f.path,
            size: f.size,
            mtime_ns: cache::mtime_ns(f.mtime),
            meta: m.as_ref().ok()?,
        })
    }))
}

/// Rewrites the cache at `path` with what [`encode_cache`] gave, so the next scan need
/// not read the transcripts; says why when it cannot (that only costs speed, so it is
/// no warning).
fn write_cache(path: &Path, encoded: anyhow::Result<cache::Encoded>) -> Option<String> {
    encoded
        .and_then(|e| e.write(path))
        .err()
        .map(|e| format!("cannot write cache {}: {e:#}", path.display()))
}

/// The sessions merged so far, by id, and the problems met merging them.
struct Merge {
    /// Merged sessions: one per (id, account) pair.
    sessions: Vec<Session>,
    /// Each id's first copy: an index in `sessions`, found by hashing that session's id
    /// (the id is not stored twice).
    by_id: HashTable<usize>,
    /// For each session, the index of the next copy of its id (in another account), or
    /// [`NO_COPY`]: almost every id has one copy, so no list is kept per id.
    next_copy: Vec<usize>,
    /// Ids whose transcript exists but was skipped: their index entries must not claim
    /// the transcript is missing.
    skipped: hashbrown::HashSet<String>,
    /// Problems met, from the listing on.
    warnings: Warnings,
}

/// The end of a chain of copies in [`Merge::next_copy`].
const NO_COPY: usize = usize::MAX;

impl Merge {
    /// An empty merge with room for `capacity` sessions, carrying on `warnings`.
    fn new(capacity: usize, warnings: Warnings) -> Merge {
        Merge {
            sessions: Vec::with_capacity(capacity),
            by_id: HashTable::with_capacity(capacity),
            next_copy: Vec::with_capacity(capacity),
            skipped: hashbrown::HashSet::new(),
            warnings,
        }
    }

    /// Adds a session per transcript read well (unreadable, corrupt and empty ones become
    /// warnings); the same id in two accounts is two copies, the same id twice in one
    /// account keeps the newer.
    fn transcripts(
        &mut self,
        accounts: &[Account],
        found: Vec<Found>,
        metas: Vec<MetaRead>,
        forks: Vec<Option<forks::Fork>>,
    ) {
        let shared: Vec<(Arc<str>, Arc<Path>)> = accounts.iter().map(Account::shared).collect();
        for ((f, (meta, _)), fork) in found.into_iter().zip(metas).zip(forks) {
            let problem = match &meta {
                Err(e) => Some(("unreadable transcripts skipped", e.to_string())),
                Ok(m) if m.corrupt => Some((
                    "corrupt transcripts skipped",
                    "no JSON lines in its first 64 KiB".to_owned(),
                )),
                Ok(_) if f.size == 0 => Some(("empty transcripts skipped", "0 bytes".to_owned())),
                Ok(_) => None,
            };
            if let Some((kind, detail)) = problem {
                self.warnings.add(kind, &f.path, &detail);
                self.skipped.insert(f.id);
                continue;
            }
            // Every error was counted as a problem just above.
            let Ok(meta) = meta else { continue };
            if let Some(e) = meta.sidecar.as_ref().and_then(|s| s.error.as_deref())
                && let Some(p) = sidecar::path_for(&f.path, &f.id)
            {
                self.warnings.add("malformed title files ignored", &p, e);
            }
            // Hashed when listed: the id's bytes (likely no longer in this core's cache)
            // are read only to confirm a match.
            let hash = f.id_hash;
            let ai = f.account;
            let s = session_from_transcript(&accounts[ai], &shared[ai], f, meta, fork);
            match self.copy_in(&s.session_id, hash, s.config_dir.as_deref()) {
                // The same id twice in one account (two project folders): keep the newer.
                Some(i) => {
                    if s.last_active_at > self.sessions[i].last_active_at {
                        self.sessions[i] = s;
                    }
                }
                None => {
                    self.push_hashed(s, hash);
                }
            }
        }
    }

    /// The copy of `id` (whose hash is `hash`) held by the account whose config dir is
    /// `dir`, if any.
    fn copy_in(&self, id: &str, hash: u64, dir: Option<&Path>) -> Option<usize> {
        self.chain(self.first_copy_hashed(id, hash))
            .find(|&i| self.sessions[i].config_dir.as_deref() == dir)
    }

    /// The first copy of `id`, if any.
    fn first_copy(&self, id: &str) -> Option<usize> {
        self.first_copy_hashed(id, hash_id(id))
    }

    /// [`Merge::first_copy`], for an id whose hash is known: the id itself is compared
    /// only when the table holds a likely match.
    fn first_copy_hashed(&self, id: &str, hash: u64) -> Option<usize> {
        let sessions = &self.sessions;
        self.by_id
            .find(hash, |&i| sessions[i].session_id == id)
            .copied()
    }

    /// Indexes in `sessions` of the copies from `first` on (every copy of its id), in
    /// the order they were added.
    fn chain(&self, first: Option<usize>) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(first, |&i| {
            Some(self.next_copy[i]).filter(|&n| n != NO_COPY)
        })
    }

    /// Adds `s` as a new copy of its id; returns its index.
    fn push(&mut self, s: Session) -> usize {
        let hash = hash_id(&s.session_id);
        self.push_hashed(s, hash)
    }

    /// [`Merge::push`], for a session whose id's hash is known.
    fn push_hashed(&mut self, s: Session, hash: u64) -> usize {
        let i = self.sessions.len();
        let first = self.first_copy_hashed(&s.session_id, hash);
        match self.chain(first).last() {
            Some(last) => self.next_copy[last] = i,
            None => {
                let sessions = &self.sessions;
                self.by_id
                    .insert_unique(hash, i, |&j| hash_id(&sessions[j].session_id));
            }
        }
        self.sessions.push(s);
        self.next_copy.push(NO_COPY);
        i
    }

    /// Sets each session's `copies`: how many accounts hold its id.
    fn count_copies(&mut self) {
        for &first in &self.by_id {
            let mut n = 1;
            let mut i = first;
            while self.next_copy[i] != NO_COPY {
                i = self.next_copy[i];
                n += 1;
            }
            let mut i = first;
            while i != NO_COPY {
                self.sessions[i].copies = n;
                i = self.next_copy[i];
            }
        }
    }

    /// Index files (parsed while listing) enrich the sessions, and add those whose
    /// transcript is gone.
    fn index_files(
        &mut self,
        accounts: &[Account],
        index_files: Vec<IndexFile>,
        want: Option<&(dyn Fn(&str) -> bool + Sync)>,
    ) {
        let shared: Vec<(Arc<str>, Arc<Path>)> = accounts.iter().map(Account::shared).collect();
        for (path, ai, folder, res) in index_files {
            let folder: Arc<str> = folder.into();
            let shared_path: Arc<Path> = path.as_path().into();
            let file = match res {
                Ok(f) => f,
                Err(e) => {
                    self.warnings
                        .add("malformed index files ignored", &path, &e.to_string());
                    continue;
                }
            };
            if file.skipped > 0 {
                self.warnings.add(
                    "index files with bad entries",
                    &path,
                    &format!("{} entries are not objects with a sessionId", file.skipped),
                );
            }
            for entry in file.entries {
                if want.is_some_and(|w| !w(&entry.session_id))
                    || self.skipped.contains(&entry.session_id)
                {
                    continue;
                }
                // The copy in the index's own account, else any copy: a fullPath into
                // another place we scan was (or will be) merged by id.
                let acct = &accounts[ai];
                let hash = hash_id(&entry.session_id);
                let own = self.copy_in(&entry.session_id, hash, Some(&acct.config_dir));
                let any = || self.first_copy_hashed(&entry.session_id, hash);
                let i = match own.or_else(any) {
                    Some(i) => i,
                    None => {
                        // Listed under its own folder only when its transcript is truly
                        // gone: a fullPath into another place we scan was (or will be)
                        // merged by id.
                        let mut s = Session::new(entry.session_id.clone());
                        s.account = Some(shared[ai].0.clone());
                        s.config_dir = Some(shared[ai].1.clone());
                        s.current_account = acct.current;
                        s.project_folder = Some(folder.clone());
                        s.transcript_missing = true;
                        self.push_hashed(s, hash)
                    }
                };
                enrich_from_index(&mut self.sessions[i], &shared_path, entry);
            }
        }
    }

    /// Merges the events file's session starts. `events` is what the listing read (from
    /// `events_file`); when the exact-id path skipped it, it is read now if some session
    /// still lacks a cwd, since the events are the last source of one.
    fn events<'a>(
        &mut self,
        events: Option<(&'a Path, io::Result<Events>)>,
        opts: &ScanOptions<'a>,
        events_file: Option<&Path>,
    ) {
        let events = match (events, opts.events_file) {
            (None, Some(p))
                if events_file.is_none() && self.sessions.iter().any(|s| s.cwd.is_none()) =>
            {
                Some((p, read_events_cached(p, opts.cache_file)))
            }
            (e, _) => e,
        };
        let Some((events_path, res)) = events else {
            return;
        };
        match res {
            Ok(ev) => self.merge_events(ev, events_path, opts.want),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => self.warnings.add(
                "unreadable events files ignored",
                events_path,
                &e.to_string(),
            ),
        }
    }
}

/// A session with no title of its own is shown by its first prompt.
fn title_from_first_prompt(sessions: &mut [Session]) {
    for s in sessions {
        if s.title.is_none() && s.first_prompt.is_some() {
            s.title = s.first_prompt.clone();
            s.title_kind = Some(TitleKind::FirstPrompt);
        }
    }
}

/// What a project folder entry is.
enum FolderKind {
    /// A directory.
    Real,
    /// A symlink to a directory, with the directory's canonical path.
    Linked(PathBuf),
}

/// The project folders directly under `projects` (one `read_dir`, sorted by name):
/// directories, and symlinks to directories. Broken or looping links become warnings; a
/// missing or unreadable `projects` gives nothing (the account may be new).
fn project_folders(projects: &Path, warnings: &mut Warnings) -> Vec<(String, PathBuf, FolderKind)> {
    let entries = match fs::read_dir(projects) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            warnings.add("unreadable directories skipped", projects, &e.to_string());
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Ok(ft) = entry.file_type() else { continue };
        let path = entry.path();
        let kind = if ft.is_dir() {
            FolderKind::Real
        } else if ft.is_symlink() {
            match fs::canonicalize(&path) {
                // A link to `projects/` itself or above it would walk in circles.
                Ok(target) if fs::canonicalize(projects).is_ok_and(|p| p.starts_with(&target)) => {
                    warnings.add("symlink loops skipped", &path, "links to an ancestor");
                    continue;
                }
                Ok(target) if target.is_dir() => FolderKind::Linked(target),
                Ok(_) => continue,
                Err(e) => {
                    let kind = if e.raw_os_error() == Some(libc::ELOOP) {
                        "symlink loops skipped"
                    } else if e.kind() == io::ErrorKind::NotFound {
                        "dangling links skipped"
                    } else {
                        "unreadable directories skipped"
                    };
                    warnings.add(kind, &path, &e.to_string());
                    continue;
                }
            }
        } else {
            continue;
        };
        out.push((entry.file_name().to_string_lossy().into_owned(), path, kind));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Lists one project folder: its `<uuid>.jsonl` transcripts (regular files, or symlinks
/// that do not point into another scanned account) and its index file, parsed here so
/// that parsing overlaps the listing of other folders.
fn list_folder(
    ai: usize,
    folder_name: &str,
    dir: &Path,
    owners: &[(usize, PathBuf)],
    want: Option<&(dyn Fn(&str) -> bool + Sync)>,
) -> (Vec<Found>, Option<IndexFile>, Warnings) {
    let mut w = Warnings::default();
    let mut found = Vec::new();
    let mut index = None;
    let folder: Arc<str> = folder_name.into();
    // `<id>/` folders (subagents, tool results, the title sidecar): only a session with
    // one can have a sidecar, so only those are looked into.
    let mut id_dirs = HashSet::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            w.add("unreadable directories skipped", dir, &e.to_string());
            return (found, None, w);
        }
    };
    for entry in rd {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name == INDEX_FILE {
            index = Some(entry.path());
            continue;
        }
        let Some(id) = name.strip_suffix(".jsonl") else {
            if is_uuid(name) && entry.file_type().is_ok_and(|t| t.is_dir()) {
                id_dirs.insert(name.to_owned());
            }
            continue;
        };
        if !is_uuid(id) || want.is_some_and(|f| !f(id)) {
            continue;
        }
        // `entry.path()` leaves room to grow (up to twice the length), and a listing
        // holds one path per transcript: this one is exactly as long as it is.
        let mut path = PathBuf::with_capacity(dir.as_os_str().len() + 1 + name.len());
        path.push(dir);
        path.push(name);
        let Ok(ft) = entry.file_type() else { continue };
        let md = if ft.is_symlink() {
            match fs::canonicalize(&path) {
                Ok(target) => {
                    // A link into another account we scan is that account's session.
                    let owned_elsewhere = owners
                        .iter()
                        .any(|(oi, root)| *oi != ai && target.starts_with(root));
                    if owned_elsewhere {
                        continue;
                    }
                    fs::metadata(&target)
                }
                Err(e) => {
                    let kind = if e.raw_os_error() == Some(libc::ELOOP) {
                        "symlink loops skipped"
                    } else {
                        "dangling links skipped"
                    };
                    w.add(kind, &path, &e.to_string());
                    continue;
                }
            }
        } else if ft.is_file() {
            entry.metadata()
        } else {
            continue;
        };
        match md {
            Ok(md) if md.is_file() => found.push(Found {
                account: ai,
                folder_name: folder.clone(),
                path,
                id: id.to_owned(),
                id_hash: hash_id(id),
                size: md.len(),
                mtime: md.modified().ok(),
                born: crate::platform::fs::birth_time(&md),
                sidecar: None,
            }),
            Ok(_) => {}
            Err(e) => w.add("unreadable transcripts skipped", &path, &e.to_string()),
        }
    }
    for f in found.iter_mut().filter(|f| id_dirs.contains(&f.id)) {
        let md = dir.join(&f.id).join(sidecar::SIDECAR_FILE);
        f.sidecar = fs::metadata(md)
            .ok()
            .map(|md| (md.len(), md.modified().ok()));
    }
    let index = index.map(|p| {
        let parsed = read_index(&p);
        (p, ai, folder_name.to_owned(), parsed)
    });
    (found, index, w)
}

fn session_from_transcript(
    acct: &Account,
    shared: &(Arc<str>, Arc<Path>),
    f: Found,
    meta: TranscriptMeta,
    fork: Option<forks::Fork>,
) -> Session {
    let mut s = Session::new(f.id);
    s.account = Some(shared.0.clone());
    s.config_dir = Some(shared.1.clone());
    s.current_account = acct.current;
    s.project_folder = Some(f.folder_name);
    s.title = meta.title;
    s.title_kind = meta.title_kind;
    s.cwd = meta.cwd;
    s.first_prompt = meta.first_prompt;
    s.git_branch = meta.git_branch;
    s.started_at = meta.first_timestamp;
    // Claude Code's own picker orders by the file's mtime: the newest activity, whoever
    // wrote it. The last timestamp inside stands in when the mtime is unknown.
    s.last_active_at = f.mtime.map(DateTime::<Utc>::from).or(meta.last_timestamp);
    s.size_bytes = Some(f.size);
    s.forked_from = meta.forked_from;
    s.agent_name = meta.agent_name;
    s.last_prompt = meta.last_prompt;
    s.transcript = Some(f.path);
    s.add_source(Source::Transcript);
    if let Some(fork) = fork {
        s.forked_from.get_or_insert(fork.parent);
        s.started_at = fork.made_at.or(s.started_at);
        // The copied first prompt is the parent's; a title that was only that prompt
        // becomes the fork's own (titles from records stay as they are).
        if fork.first_prompt.is_some() && s.title_kind == Some(TitleKind::FirstPrompt) {
            s.title.clone_from(&fork.first_prompt);
        }
        s.first_prompt = fork.first_prompt;
    }
    // The sidecar ranks with renames, below a `custom-title` record (see [`sidecar`]).
    if s.title_kind != Some(TitleKind::Custom)
        && let Some(title) = meta.sidecar.and_then(|c| c.title)
    {
        s.title = Some(title);
        s.title_kind = Some(TitleKind::Custom);
    }
    s
}

fn enrich_from_index(s: &mut Session, path: &Arc<Path>, e: IndexEntry) {
    s.add_source(Source::Index);
    s.index_titles
        .extend(e.custom_title.iter().chain(&e.summary).cloned());
    // The index's titles rank like the transcript's: a rename beats anything but a
    // rename recorded in the transcript itself, a summary beats only prompts.
    let weaker_than = |k: TitleKind| s.title_kind.is_none_or(|own| own > k);
    if let Some(t) = e
        .custom_title
        .clone()
        .filter(|_| weaker_than(TitleKind::Custom))
    {
        s.title = Some(t);
        s.title_kind = Some(TitleKind::Custom);
    } else if let Some(t) = e
        .summary
        .clone()
        .filter(|_| weaker_than(TitleKind::Summary))
    {
        s.title = Some(t);
        s.title_kind = Some(TitleKind::Summary);
    }
    s.first_prompt = s.first_prompt.take().or(e.first_prompt);
    s.cwd = s.cwd.take().or(e.project_path);
    s.git_branch = s.git_branch.take().or(e.git_branch);
    s.started_at = s.started_at.or(e.created);
    s.last_active_at = s.last_active_at.or(e.modified);
    if s.index_file.is_none() {
        s.index_file = Some(path.clone());
    }
}

impl Merge {
    /// Merges the session starts of the events file at `path` (see [`Merge::events`]).
    fn merge_events(
        &mut self,
        ev: Events,
        path: &Path,
        want: Option<&(dyn Fn(&str) -> bool + Sync)>,
    ) {
        if ev.bad_lines > 0 {
            let long = match ev.long_lines {
                0 => String::new(),
                n => format!(" ({n} longer than {} bytes)", events::MAX_LINE),
            };
            self.warnings.add(
                "events files with bad lines",
                path,
                &format!("{} lines are not valid events{long}", ev.bad_lines),
            );
        }
        for mut start in ev.starts {
            if want.is_some_and(|w| !w(&start.session_id)) {
                continue;
            }
            let first = match self.first_copy(&start.session_id) {
                Some(i) => i,
                None => self.push(Session::new(std::mem::take(&mut start.session_id))),
            };
            // The event names the id, not an account: every copy learns from it (the last
            // one takes what it learns, the others a copy).
            let mut i = first;
            loop {
                let next = self.next_copy[i];
                let give = |v: &mut Option<String>| match next {
                    NO_COPY => v.take(),
                    _ => v.clone(),
                };
                let s = &mut self.sessions[i];
                s.add_source(Source::Events);
                // The first session_start of an id wins: later ones are restarts.
                if s.actor.is_none() {
                    s.actor = give(&mut start.actor);
                    s.role = give(&mut start.role);
                    s.topic = give(&mut start.topic);
                }
                if s.cwd.is_none() {
                    s.cwd = give(&mut start.cwd);
                }
                s.started_at = s.started_at.or(start.ts);
                s.last_active_at = s.last_active_at.or(start.ts);
                if next == NO_COPY {
                    break;
                }
                i = next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("46621448-3caa-4bbb-8ccc-123456789abc"));
        let id = "46621448-3caa-4bbb-8ccc-123456789abc";
        let bytes = uuid_bytes(id.as_bytes(), HexCase::Lower).unwrap();
        assert_eq!(bytes[..2], [0x46, 0x62]);
        assert_eq!(&uuid_text(&bytes), id.as_bytes());
        assert_eq!(
            uuid_bytes(b"46621448-3CAA-4BBB-8CCC-123456789ABC", HexCase::Lower),
            None
        );
        assert_eq!(
            uuid_bytes(b"46621448-3CAA-4BBB-8CCC-123456789ABC", HexCase::Any),
            Some(bytes)
        );
        assert!(is_uuid("46621448-3CAA-4BBB-8CCC-123456789ABC"));
        assert!(!is_uuid("46621448-3caa-4bbb-8ccc-123456789ab"));
        assert!(!is_uuid("agent-1234"));
        assert!(!is_uuid("46621448x3caa-4bbb-8ccc-123456789abc"));
    }

    #[test]
    fn merge_chains_the_copies_of_an_id_in_order() {
        let copy = |id: &str, dir: &str| {
            let mut s = Session::new(id.to_owned());
            s.config_dir = Some(Path::new(dir).into());
            s
        };
        let mut m = Merge::new(0, Warnings::default());
        assert_eq!(m.push(copy("x", "/a")), 0);
        assert_eq!(m.push(copy("y", "/a")), 1);
        assert_eq!(m.push(copy("x", "/b")), 2);
        assert_eq!(m.push(copy("x", "/c")), 3);
        assert_eq!(m.chain(m.first_copy("x")).collect::<Vec<_>>(), [0, 2, 3]);
        assert_eq!(m.chain(m.first_copy("y")).collect::<Vec<_>>(), [1]);
        assert_eq!(m.chain(m.first_copy("z")).count(), 0);
        assert_eq!(m.first_copy("x"), Some(0));
        assert_eq!(m.copy_in("x", hash_id("x"), Some(Path::new("/c"))), Some(3));
        assert_eq!(m.copy_in("y", hash_id("y"), Some(Path::new("/c"))), None);
        m.count_copies();
        let copies: Vec<usize> = m.sessions.iter().map(|s| s.copies).collect();
        assert_eq!(copies, [3, 1, 3, 3]);
    }

    #[test]
    fn transcripts_keep_the_newer_copy_in_an_account_and_warn_of_bad_ones() {
        let account = |name: &str, current: bool| Account {
            name: name.to_owned(),
            config_dir: PathBuf::from(format!("/{name}")),
            canonical: PathBuf::from(format!("/{name}")),
            projects: Some(PathBuf::from(format!("/{name}/projects"))),
            current,
            origin: accounts::Origin::Auto,
        };
        let accounts = [account("a", true), account("b", false)];
        let t = |s: u64| Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s));
        let found = |ai: usize, folder: &str, id: &str, size: u64, mtime| Found {
            account: ai,
            folder_name: folder.into(),
            path: PathBuf::from(format!(
                "/{}/projects/{folder}/{id}.jsonl",
                accounts[ai].name
            )),
            id: id.to_owned(),
            id_hash: hash_id(id),
            size,
            mtime,
            born: None,
            sidecar: None,
        };
        let ok = |f: Found| -> (Found, io::Result<TranscriptMeta>) {
            (f, Ok(TranscriptMeta::default()))
        };
        let rows = [
            ok(found(0, "-p1", "x", 10, t(100))),
            ok(found(0, "-p1", "empty", 0, t(100))),
            ok(found(1, "-p1", "x", 10, t(50))),
            ok(found(0, "-p2", "y", 10, t(10))),
            (
                found(0, "-p2", "gone", 10, t(10)),
                Err(io::Error::other("gone")),
            ),
            // `x` again in account a, newer: it replaces the first one in place.
            ok(found(0, "-p2", "x", 10, t(200))),
            ok(found(0, "-p3", "x", 10, t(150))),
            ok(found(1, "-p2", "y", 10, t(20))),
        ];
        let n = rows.len();
        let (found, metas): (Vec<Found>, Vec<MetaRead>) =
            rows.into_iter().map(|(f, m)| (f, (m, true))).unzip();
        let mut m = Merge::new(n, Warnings::default());
        m.transcripts(&accounts, found, metas, vec![None; n]);
        m.count_copies();
        let got: Vec<(&str, &str, Option<&str>, usize)> = m
            .sessions
            .iter()
            .map(|s| {
                let folder = s.project_folder.as_deref();
                (
                    s.session_id.as_str(),
                    s.account.as_deref().unwrap(),
                    folder,
                    s.copies,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("x", "a", Some("-p2"), 2),
                ("x", "b", Some("-p1"), 2),
                ("y", "a", Some("-p2"), 2),
                ("y", "b", Some("-p2"), 2),
            ]
        );
        assert_eq!(m.chain(m.first_copy("x")).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(m.chain(m.first_copy("y")).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(m.first_copy("empty"), None);
        assert!(m.skipped.contains("empty") && m.skipped.contains("gone"));
        assert_eq!(m.warnings.count("empty transcripts skipped"), 1);
        assert_eq!(m.warnings.count("unreadable transcripts skipped"), 1);
        // A session added after still finds its id's copies.
        assert_eq!(m.push(Session::new("y".to_owned())), 4);
        assert_eq!(m.chain(m.first_copy("y")).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn every_copy_learns_from_the_first_start_of_its_id() {
        let start = |id: &str, actor: Option<&str>, cwd: &str| events::SessionStart {
            session_id: id.to_owned(),
            ts: None,
            actor: actor.map(str::to_owned),
            role: Some("crew".to_owned()),
            topic: None,
            cwd: Some(cwd.to_owned()),
        };
        let mut m = Merge::new(0, Warnings::default());
        for dir in ["/a", "/b"] {
            let mut s = Session::new("x".to_owned());
            s.config_dir = Some(Path::new(dir).into());
            m.push(s);
        }
        let ev = Events {
            starts: vec![
                start("x", None, "/first"),
                start("x", Some("gt/crew/joe"), "/second"),
                start("y", Some("gt/crew/ann"), "/y"),
                start("x", Some("gt/crew/late"), "/third"),
                start("y", Some("gt/crew/bob"), "/y2"),
            ],
            ..Events::default()
        };
        m.merge_events(ev, Path::new("/events"), None);
        assert_eq!(m.sessions.len(), 3, "y is added once");
        for s in &m.sessions[..2] {
            assert_eq!(s.actor.as_deref(), Some("gt/crew/joe"));
            assert_eq!(s.cwd.as_deref(), Some("/first"));
            assert_eq!(s.sources.iter().collect::<Vec<_>>(), [Source::Events]);
        }
        let y = &m.sessions[2];
        assert_eq!(
            (y.session_id.as_str(), y.actor.as_deref()),
            ("y", Some("gt/crew/ann"))
        );
        assert_eq!(y.cwd.as_deref(), Some("/y"));
        assert_eq!(m.chain(m.first_copy("y")).collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn fork_groups_are_the_first_prompt_uuids_shared() {
        let meta = |u: Option<&str>| TranscriptMeta {
            first_prompt_uuid: u.map(transcript::RecordUuid::new),
            ..Default::default()
        };
        let metas: Vec<TranscriptMeta> = [
            Some("a"),
            Some("b"),
            Some("a"),
            None,
            Some("b"),
            Some("c"),
            Some("a"),
        ]
        .into_iter()
        .map(meta)
        .collect();
        let mut usable: Vec<Option<&TranscriptMeta>> = metas.iter().map(Some).collect();
        usable[4] = None;
        let mut groups = forks::groups(&usable);
        groups.sort();
        assert_eq!(groups, [vec![0, 2, 6]]);
        usable[4] = Some(&metas[4]);
        let mut groups = forks::groups(&usable);
        groups.sort();
        assert_eq!(groups, [vec![0, 2, 6], vec![1, 4]]);
    }

    #[test]
    fn warnings_summarise_per_kind() {
        let mut w = Warnings::default();
        w.add(
            "corrupt transcripts skipped",
            Path::new("/a/x.jsonl"),
            "bad",
        );
        w.add(
            "corrupt transcripts skipped",
            Path::new("/a/y.jsonl"),
            "bad",
        );
        w.add(
            "dangling links skipped",
            Path::new("/a/\x1b[31mz.jsonl"),
            "gone",
        );
        let mut out = Vec::new();
        w.report(false, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.lines().count(), 2, "{s}");
        assert!(
            s.contains("corrupt transcripts skipped: 2 (/a/x.jsonl and 1 more; -v lists each)"),
            "{s}"
        );
        assert!(!s.contains('\x1b'));
        let mut out = Vec::new();
        w.report(true, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 3);
    }
}
