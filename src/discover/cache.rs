//! A cache of transcript metadata under `$XDG_CACHE_HOME/seance/`, keyed by (path, size,
//! mtime), so a warm listing costs about one `stat` per transcript instead of two reads.
//!
//! The cache is only ever a shortcut: an entry is used when path, size in bytes and
//! mtime in nanoseconds all match the file as it is now, and a cache that is missing,
//! corrupt or of another version is ignored and rebuilt. It is replaced atomically (temp
//! file in the same directory, then rename), so two seances running at once each see
//! either the old or the new file, never a torn one; the last writer wins.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::discover::transcript::TranscriptMeta;

/// Bumped whenever [`TranscriptMeta`], the way it is computed, or the file's layout
/// changes (5: rows written newest mtime first, bookkeeping time, fork chains, title
/// sidecars, agent names and last prompts, `"HEAD"` as no branch).
const VERSION: u32 = 5;

/// Largest cache file read, in bytes (256 MiB: a few hundred thousand transcripts).
pub const MAX_CACHE_BYTES: u64 = 256 << 20;

/// Bytes of a cache file [`Cache::load_head`] reads: about 2,000 rows of the sizes
/// seen, as titles and prompts are at most 400 characters.
pub const HEAD_BYTES: u64 = 1024 * 1024;

/// File name inside the cache directory.
pub const CACHE_FILE: &str = "transcripts.bin";

/// Identity of one transcript's bytes: its path, size in bytes and mtime in
/// nanoseconds since the Unix epoch (0 when unknown or before 1970).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The transcript's path as found in its project folder.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the Unix epoch.
    pub mtime_ns: u64,
}

impl CacheKey {
    /// Builds a key from a path and what `stat` said of it.
    pub fn new(path: &Path, size: u64, mtime: Option<SystemTime>) -> CacheKey {
        CacheKey {
            path: path.to_path_buf(),
            size,
            mtime_ns: mtime_ns(mtime),
        }
    }
}

/// A row as written: borrowed, so saving copies nothing.
#[derive(Serialize)]
struct RowRef<'a> {
    path: &'a str,
    size: u64,
    mtime_ns: u64,
    meta: &'a TranscriptMeta,
}

/// A row as read back.
#[derive(Deserialize)]
struct Row {
    path: String,
    size: u64,
    mtime_ns: u64,
    meta: TranscriptMeta,
}

/// Magic bytes opening a cache file, then a little-endian CRC-32 of the rest, then the
/// postcard-encoded `(VERSION, Vec<Row>)`, rows sorted by mtime, newest first (so the
/// picker can draw its first rows from the head of the file).
const MAGIC: &[u8; 8] = b"seance\0c";

/// Loaded cache contents: path → (size, mtime, metadata).
#[derive(Debug, Default)]
pub struct Cache {
    rows: HashMap<PathBuf, (u64, u64, TranscriptMeta)>,
}

impl Cache {
    /// Loads the cache file at `path`. A missing, unreadable, corrupt (bad magic or
    /// checksum, undecodable), old-version, oversized (over [`MAX_CACHE_BYTES`]) or
    /// not regular (a FIFO, a device) file gives an empty cache: the cache is rebuilt,
    /// never trusted blindly.
    pub fn load(path: &Path) -> Cache {
        let Ok(bytes) = crate::util::fsread::read_capped(path, MAX_CACHE_BYTES) else {
            return Cache::default();
        };
        Self::decode(&bytes).unwrap_or_default()
    }

    /// Up to `n` rows from the start of the cache file at `path`, which are the
    /// transcripts modified last (rows are written newest first), with the number of
    /// rows the file holds. Only the first [`HEAD_BYTES`] are read, and, unlike
    /// [`Cache::load`], the checksum over the whole file is not checked: these rows are
    /// for showing at once, until a scan replaces them, and never for acting on. Rows
    /// stop at the first that does not decode (or is cut by the read). `None` for a
    /// missing or unreadable file, or one of another version or format.
    pub fn load_head(path: &Path, n: usize) -> Option<(usize, Vec<(CacheKey, TranscriptMeta)>)> {
        let (file, _) = crate::util::fsread::open_regular(path).ok()?;
        let mut bytes = Vec::with_capacity(HEAD_BYTES as usize);
        std::io::Read::read_to_end(&mut std::io::Read::take(file, HEAD_BYTES), &mut bytes).ok()?;
        let body = bytes.strip_prefix(MAGIC)?.get(4..)?;
        let (version, rest): (u32, &[u8]) = postcard::take_from_bytes(body).ok()?;
        if version != VERSION {
            return None;
        }
        // A postcard sequence is its length (a varint, as a u64 is) then its items.
        let (len, mut rest): (u64, &[u8]) = postcard::take_from_bytes(rest).ok()?;
        let len = usize::try_from(len).ok()?;
        let mut rows = Vec::with_capacity(n.min(len));
        while rows.len() < n.min(len) {
            let Ok((r, more)) = postcard::take_from_bytes::<Row>(rest) else {
                break;
            };
            rest = more;
            let key = CacheKey {
                path: PathBuf::from(r.path),
                size: r.size,
                mtime_ns: r.mtime_ns,
            };
            rows.push((key, r.meta));
        }
        Some((len, rows))
    }

    fn decode(bytes: &[u8]) -> Option<Cache> {
        let body = checked_body(bytes)?;
        let (version, rows): (u32, Vec<Row>) = postcard::from_bytes(body).ok()?;
        (version == VERSION).then(|| Cache {
            rows: rows
                .into_iter()
                .map(|r| (PathBuf::from(r.path), (r.size, r.mtime_ns, r.meta)))
                .collect(),
        })
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every entry, consumed: (key, metadata) in no particular order.
    pub fn into_rows(self) -> Vec<(CacheKey, TranscriptMeta)> {
        self.rows
            .into_iter()
            .map(|(path, (size, mtime_ns, meta))| {
                let key = CacheKey {
                    path,
                    size,
                    mtime_ns,
                };
                (key, meta)
            })
            .collect()
    }

    /// Moves out the cached metadata for `path` when its size (bytes) and mtime both
    /// match; an entry that does not match is dropped as stale.
    pub fn take(
        &mut self,
        path: &Path,
        size: u64,
        mtime: Option<SystemTime>,
    ) -> Option<TranscriptMeta> {
        let (s, m, meta) = self.rows.remove(path)?;
        (s == size && m == mtime_ns(mtime)).then_some(meta)
    }
}

/// The body of a cache file's bytes when its magic and checksum are right.
fn checked_body(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (crc, body) = rest.split_first_chunk::<4>()?;
    (u32::from_le_bytes(*crc) == crc32fast::hash(body)).then_some(body)
}

/// One cache row as stored, its strings borrowed from the file's bytes: a reader that
/// needs a few fields of every row (shell completion) gets them without building the
/// owned [`Cache`]. Decoded field by field in [`TranscriptMeta`]'s order (postcard is not
/// self-describing), so the two must change together; a test pins that.
#[derive(Debug, Deserialize)]
pub struct RowView<'a> {
    /// The transcript's path as found in its project folder.
    pub path: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the Unix epoch.
    pub mtime_ns: u64,
    /// The metadata.
    pub meta: MetaView<'a>,
}

/// [`TranscriptMeta`] borrowed: the same fields in the same order, times as milliseconds
/// since the Unix epoch (what `ts_milliseconds_option` writes).
#[derive(Debug, Deserialize)]
pub struct MetaView<'a> {
    /// [`TranscriptMeta::cwd`].
    pub cwd: Option<&'a str>,
    /// [`TranscriptMeta::git_branch`].
    pub git_branch: Option<&'a str>,
    /// [`TranscriptMeta::first_timestamp`], ms since the Unix epoch.
    pub first_timestamp_ms: Option<i64>,
    /// [`TranscriptMeta::last_timestamp`], ms since the Unix epoch.
    pub last_timestamp_ms: Option<i64>,
    /// [`TranscriptMeta::first_prompt`].
    pub first_prompt: Option<&'a str>,
    /// [`TranscriptMeta::title`].
    pub title: Option<&'a str>,
    /// [`TranscriptMeta::title_kind`].
    pub title_kind: Option<crate::discover::transcript::TitleKind>,
    /// [`TranscriptMeta::forked_from`].
    pub forked_from: Option<&'a str>,
    /// [`TranscriptMeta::first_prompt_uuid`].
    pub first_prompt_uuid: Option<&'a str>,
    /// [`TranscriptMeta::bookkeeping_at`], ms since the Unix epoch.
    pub bookkeeping_at_ms: Option<i64>,
    /// [`TranscriptMeta::agent_name`].
    pub agent_name: Option<&'a str>,
    /// [`TranscriptMeta::last_prompt`].
    pub last_prompt: Option<&'a str>,
    /// [`TranscriptMeta::corrupt`].
    pub corrupt: bool,
    /// [`TranscriptMeta::chain`] (owned: postcard must decode it to reach the next row).
    pub chain: Option<Box<crate::discover::forks::Chain>>,
    /// [`TranscriptMeta::sidecar`] (owned, as `chain`).
    pub sidecar: Option<Box<crate::discover::sidecar::SidecarTitle>>,
}

/// The rows of a cache file's bytes (as read from disk) borrowed from them, or `None`
/// for bytes that [`Cache::load`] would not trust either (bad magic or checksum,
/// undecodable, another version).
pub fn views(bytes: &[u8]) -> Option<Vec<RowView<'_>>> {
    let body = checked_body(bytes)?;
    let (version, rows): (u32, Vec<RowView>) = postcard::from_bytes(body).ok()?;
    (version == VERSION).then_some(rows)
}

/// `mtime` in nanoseconds since the Unix epoch; 0 when unknown or before 1970.
pub fn mtime_ns(mtime: Option<SystemTime>) -> u64 {
    mtime
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Writes a cache holding exactly `rows` to `path`, creating its directory (0700), with
/// [`crate::util::atomic::write_atomic_unsynced`] (temp file in the same directory, rename;
/// 0600 for a new file; no `fsync`: a cache lost in a machine crash is caught by its
/// checksum and rebuilt). Paths that are not UTF-8 are left out.
///
/// Errors: creating the directory, encoding, or writing/renaming the file; the old file
/// is then untouched and the temp file removed.
pub fn save<'a>(
    path: &Path,
    rows: impl Iterator<Item = (CacheKey, &'a TranscriptMeta)>,
) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::util::atomic::create_private_dir_all(dir)?;
    let mut keys_and_metas: Vec<(CacheKey, &TranscriptMeta)> = rows.collect();
    keys_and_metas.sort_unstable_by_key(|(k, _)| std::cmp::Reverse(k.mtime_ns));
    let rows: Vec<RowRef> = keys_and_metas
        .iter()
        .filter_map(|(k, m)| {
            Some(RowRef {
                path: k.path.to_str()?,
                size: k.size,
                mtime_ns: k.mtime_ns,
                meta: m,
            })
        })
        .collect();
    remove_stale_temps(path);
    // Magic, then room for the checksum, then the body, in one buffer.
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&[0; 4]);
    let mut bytes = postcard::to_extend(&(VERSION, rows), bytes)?;
    let crc = crc32fast::hash(&bytes[MAGIC.len() + 4..]);
    bytes[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&crc.to_le_bytes());
    crate::util::atomic::write_atomic_unsynced(path, &bytes)
}

/// Removes temp files that a [`save`] of `path` (or any other unlocked atomic write of
/// a cache file) left more than ten minutes ago: a seance killed mid-write. A younger
/// one may be another seance's write in progress (the cache takes no lock: losing a
/// race only costs speed), so it is left alone.
pub(crate) fn remove_stale_temps(path: &Path) {
    let Some(dir) = path.parent() else { return };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let cutoff = SystemTime::now() - std::time::Duration::from_secs(600);
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name();
        let ours = name
            .to_str()
            .is_some_and(|n| crate::util::atomic::is_temp_for(path, n));
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < cutoff);
        if ours && old {
            let _ = fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn round_trip_and_staleness() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("c/seance").join(CACHE_FILE);
        let t5 = UNIX_EPOCH + Duration::from_nanos(5);
        let k = CacheKey::new(Path::new("/a/b.jsonl"), 10, Some(t5));
        let m = TranscriptMeta {
            cwd: Some("/w".into()),
            ..Default::default()
        };
        save(&file, [(k.clone(), &m)].into_iter()).unwrap();
        let mut c = Cache::load(&file);
        assert_eq!(c.len(), 1);
        assert_eq!(c.take(&k.path, 10, Some(t5)), Some(m.clone()));
        assert!(c.is_empty(), "a hit is moved out");
        let mut c = Cache::load(&file);
        assert_eq!(c.take(&k.path, 11, Some(t5)), None, "size differs");
        let mut c = Cache::load(&file);
        let t6 = t5 + Duration::from_nanos(1);
        assert_eq!(c.take(&k.path, 10, Some(t6)), None, "mtime differs");
    }

    #[test]
    fn views_read_what_save_wrote() {
        use crate::discover::transcript::TitleKind;
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(CACHE_FILE);
        let ts = |ms| chrono::DateTime::from_timestamp_millis(ms);
        // Every field named, none defaulted: a field added to TranscriptMeta stops this
        // compiling until MetaView (decoded in the same order) has it too.
        let full = TranscriptMeta {
            cwd: Some("/w/é".into()),
            git_branch: Some("main".into()),
            first_timestamp: ts(1_700_000_000_123),
            last_timestamp: ts(1_700_000_999_456),
            first_prompt: Some("first".into()),
            title: Some("Title".into()),
            title_kind: Some(TitleKind::Ai),
            forked_from: Some("parent".into()),
            first_prompt_uuid: Some("uuid".into()),
            bookkeeping_at: ts(1_700_000_000_100),
            agent_name: Some("agent".into()),
            last_prompt: Some("last".into()),
            corrupt: true,
            chain: Some(Box::default()),
            sidecar: None,
        };
        let empty = TranscriptMeta::default();
        let k1 = CacheKey::new(Path::new("/p/f/a.jsonl"), 7, None);
        let k2 = CacheKey::new(Path::new("/p/f/b.jsonl"), 8, None);
        save(&file, [(k1, &full), (k2, &empty)].into_iter()).unwrap();
        let bytes = fs::read(&file).unwrap();
        let mut rows = views(&bytes).unwrap();
        rows.sort_by_key(|r| r.path);
        assert_eq!(rows.len(), 2);
        let (a, b) = (&rows[0].meta, &rows[1].meta);
        assert_eq!((rows[0].path, rows[0].size), ("/p/f/a.jsonl", 7));
        assert_eq!((a.cwd, a.git_branch), (Some("/w/é"), Some("main")));
        assert_eq!(a.first_timestamp_ms, Some(1_700_000_000_123));
        assert_eq!(a.last_timestamp_ms, Some(1_700_000_999_456));
        assert_eq!((a.first_prompt, a.title), (Some("first"), Some("Title")));
        assert_eq!(a.title_kind, Some(TitleKind::Ai));
        assert_eq!(
            (a.forked_from, a.first_prompt_uuid),
            (Some("parent"), Some("uuid"))
        );
        assert!(a.corrupt);
        assert_eq!((rows[1].path, rows[1].size), ("/p/f/b.jsonl", 8));
        assert_eq!(
            (b.title, b.last_timestamp_ms, b.corrupt),
            (None, None, false)
        );
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(views(&bad).is_none(), "a bad checksum is not trusted");
    }

    #[test]
    fn the_head_holds_the_newest_rows() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(CACHE_FILE);
        let metas: Vec<TranscriptMeta> = (0..5)
            .map(|i| TranscriptMeta {
                cwd: Some(format!("/w{i}")),
                ..Default::default()
            })
            .collect();
        let rows = metas.iter().enumerate().map(|(i, m)| {
            let at = UNIX_EPOCH + Duration::from_secs([3, 1, 4, 5, 2][i]);
            (
                CacheKey::new(Path::new(&format!("/a/{i}.jsonl")), 1, Some(at)),
                m,
            )
        });
        save(&file, rows).unwrap();
        let (total, head) = Cache::load_head(&file, 2).unwrap();
        assert_eq!(total, 5);
        let cwds: Vec<_> = head.iter().map(|(_, m)| m.cwd.clone().unwrap()).collect();
        assert_eq!(cwds, ["/w3", "/w2"]);
        assert_eq!(Cache::load_head(&file, 99).unwrap().1.len(), 5);
        assert_eq!(Cache::load(&file).len(), 5);
        // A file cut short gives the rows before the cut.
        let whole = fs::read(&file).unwrap();
        fs::write(&file, &whole[..whole.len() - 3]).unwrap();
        let (total, head) = Cache::load_head(&file, 99).unwrap();
        assert_eq!((total, head.len()), (5, 4));
        for junk in [&b"junk"[..], b"", &whole[..10]] {
            fs::write(&file, junk).unwrap();
            assert!(Cache::load_head(&file, 2).is_none_or(|(_, h)| h.is_empty()));
        }
    }

    #[test]
    fn corrupt_cache_is_ignored() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(CACHE_FILE);
        let k = CacheKey::new(Path::new("/a/b.jsonl"), 1, None);
        save(&file, [(k, &TranscriptMeta::default())].into_iter()).unwrap();
        assert_eq!(Cache::load(&file).len(), 1);
        // One flipped bit anywhere is caught by the checksum.
        let good = fs::read(&file).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            fs::write(&file, &bad).unwrap();
            assert!(Cache::load(&file).is_empty(), "flip at byte {i} accepted");
        }
        let truncated = &good[..good.len() - 1];
        for junk in [&b"{not json"[..], b"seance\0c", b"", truncated] {
            fs::write(&file, junk).unwrap();
            assert!(Cache::load(&file).is_empty());
        }
    }
}
