//! A cache of transcript metadata under `$XDG_CACHE_HOME/seance/`, keyed by (path, size,
//! mtime), so a warm listing costs about one `stat` per transcript instead of two reads.
//!
//! The cache is only ever a shortcut: an entry is used when path, size in bytes and
//! mtime in nanoseconds all match the file as it is now, and a cache that is missing,
//! corrupt or of another version is ignored and rebuilt. It is replaced atomically (temp
//! file in the same directory, then rename), so two seances running at once each see
//! either the old or the new file, never a torn one; the last writer wins.

use std::fs::{self, File};
use std::hash::BuildHasher;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use hashbrown::HashTable;
use hashbrown::hash_table::Entry as Slotted;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::discover::transcript::TranscriptMeta;

/// Bumped whenever [`TranscriptMeta`], the way it is computed, or the file's layout
/// changes (5: rows written newest mtime first, bookkeeping time, fork chains, title
/// sidecars, agent names and last prompts, `"HEAD"` as no branch; 6: rows in chunks,
/// each with its own checksum, decoded in parallel; only the newest rows sorted).
const VERSION: u32 = 6;

/// Largest cache file read, in bytes (256 MiB: a few hundred thousand transcripts).
pub const MAX_CACHE_BYTES: u64 = 256 << 20;

/// Bytes of a cache file [`Cache::load_head`] reads: about 2,000 rows of the sizes
/// seen, as titles and prompts are at most 400 characters.
pub const HEAD_BYTES: u64 = 1024 * 1024;

/// File name inside the cache directory.
pub const CACHE_FILE: &str = "transcripts.bin";

/// Rows a file starts with that are the newest, newest first: what [`Cache::load_head`]
/// can give (the picker asks for 1,000). The rest follow in the order [`encode`] was
/// given them: sorting all 20,000 rows of a scan by mtime would make the encoding walk
/// the metadata in an order unrelated to where it lies in memory (22 ms more CPU time
/// on the indep corpus, measured).
pub const NEWEST_ROWS: usize = 2048;

/// Rows per chunk: chunks are encoded, checked and decoded independently, in parallel;
/// 256 rows are about 150 KB and under a millisecond of decoding.
const CHUNK_ROWS: usize = 256;

/// Bytes read first when loading: the header of a cache of up to about 400 chunks
/// (100,000 rows) at about 10 bytes a chunk; a larger header is read in a second step
/// (always, in tests: 32 bytes hold the magic, checksum and the two varints).
const FIRST_READ: u64 = if cfg!(test) { 32 } else { 4096 };

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

/// One row to [`save`], borrowed: the transcript's path, size (bytes), mtime (ns since
/// the Unix epoch, as [`mtime_ns`] gives) and metadata.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The transcript's path as found in its project folder.
    pub path: &'a Path,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the Unix epoch.
    pub mtime_ns: u64,
    /// The metadata.
    pub meta: &'a TranscriptMeta,
}

impl<'a> From<(&'a CacheKey, &'a TranscriptMeta)> for Entry<'a> {
    fn from((key, meta): (&'a CacheKey, &'a TranscriptMeta)) -> Self {
        Entry {
            path: &key.path,
            size: key.size,
            mtime_ns: key.mtime_ns,
            meta,
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

/// A row as read back, its path borrowed from the chunk's bytes (as bytes: it is only
/// compared with paths, so [`Cache::load`] need not check that it is UTF-8).
#[derive(Deserialize)]
struct Row<'a> {
    path: &'a [u8],
    size: u64,
    mtime_ns: u64,
    meta: TranscriptMeta,
}

/// Magic bytes opening a cache file. The file is:
///
/// - the magic;
/// - a little-endian CRC-32 of the header (the bytes from after it up to the first chunk);
/// - the header: `VERSION` and the byte length of the table, as postcard varints, then
///   the table, a postcard [`Table`];
/// - the chunks, back to back, each its rows postcard-encoded back to back.
///
/// The first [`Table::newest`] rows are the newest, sorted by mtime, newest first,
/// across chunks (so the picker can draw its first rows from the head of the file,
/// reading rows on from the header's end as if there were no chunks); the others are
/// all older, in no particular order. `VERSION` sits where version 5 kept its own, so
/// every reader tells the versions apart.
const MAGIC: &[u8; 8] = b"seance\0c";

/// Where the header starts: after the magic and the header's checksum.
const HEADER_AT: usize = MAGIC.len() + 4;

/// One chunk as the header describes it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct ChunkHead {
    /// Rows it holds.
    rows: u64,
    /// Its length in bytes.
    len: u64,
    /// CRC-32 of its bytes.
    crc: u32,
}

/// The header's table.
#[derive(Debug, Serialize, Deserialize)]
struct Table {
    /// How many rows, from the first, are the newest, newest first.
    newest: u64,
    /// The chunks, in file order.
    chunks: Vec<ChunkHead>,
}

/// A cache file's header, checked: where its chunks are.
struct Layout {
    /// Offset of the first chunk, from the start of the file.
    data_at: u64,
    /// How many rows, from the first, are the newest, newest first.
    newest: u64,
    /// The chunks, in file order.
    chunks: Vec<ChunkHead>,
}

impl Layout {
    /// Each chunk with its offset from the start of the file.
    fn placed(&self) -> Vec<(u64, ChunkHead)> {
        let mut at = self.data_at;
        self.chunks
            .iter()
            .map(|c| {
                let here = at;
                at = at.saturating_add(c.len);
                (here, *c)
            })
            .collect()
    }

    /// Total bytes of the file this header describes; `None` on overflow.
    fn file_len(&self) -> Option<u64> {
        self.chunks
            .iter()
            .try_fold(self.data_at, |at, c| at.checked_add(c.len))
    }

    /// Rows in all chunks together.
    fn rows(&self) -> u64 {
        self.chunks
            .iter()
            .map(|c| c.rows)
            .fold(0, u64::saturating_add)
    }
}

/// Where the header that `head` (a file's first bytes) opens ends, when its magic and
/// version are right; the header itself may run past `head`.
fn header_end(head: &[u8]) -> Option<u64> {
    let body = head.strip_prefix(MAGIC)?.get(4..)?;
    let (version, rest): (u32, &[u8]) = postcard::take_from_bytes(body).ok()?;
    if version != VERSION {
        return None;
    }
    let (table_len, rest): (u64, &[u8]) = postcard::take_from_bytes(rest).ok()?;
    let table_at = (head.len() - rest.len()) as u64;
    table_at.checked_add(table_len)
}

/// The header at the start of `bytes` (a file's first bytes, at least up to the end of
/// the header), when its magic, version and checksum are right and it decodes.
fn layout(bytes: &[u8]) -> Option<Layout> {
    let end = usize::try_from(header_end(bytes)?).ok()?;
    let header = bytes.get(HEADER_AT..end)?;
    let crc = bytes.get(MAGIC.len()..HEADER_AT)?;
    if u32::from_le_bytes(crc.try_into().ok()?) != crc32fast::hash(header) {
        return None;
    }
    // The version and table length again, then the table, which must fill the rest.
    let (_, rest): ((u32, u64), &[u8]) = postcard::take_from_bytes(header).ok()?;
    let (table, rest): (Table, &[u8]) = postcard::take_from_bytes(rest).ok()?;
    let layout = Layout {
        data_at: end as u64,
        newest: table.newest,
        chunks: table.chunks,
    };
    (rest.is_empty() && layout.newest <= layout.rows()).then_some(layout)
}

/// Decodes the `rows` rows `bytes` holds, which must fill it exactly.
fn rows_of<'a, T: Deserialize<'a>>(mut bytes: &'a [u8], rows: u64) -> Option<Vec<T>> {
    // Every row takes a few bytes at least: a bogus count cannot reserve much.
    let mut out = Vec::with_capacity(usize::try_from(rows.min(bytes.len() as u64)).ok()?);
    for _ in 0..rows {
        let (row, rest) = postcard::take_from_bytes(bytes).ok()?;
        out.push(row);
        bytes = rest;
    }
    bytes.is_empty().then_some(out)
}

/// One chunk of a loaded cache: its rows' paths back to back in one buffer (one
/// allocation a chunk, not one a row: with 20,000 boxed paths, dropping the cache took
/// a warm listing 3–4.5 ms on one thread), and the rows.
#[derive(Debug, Default)]
struct Chunk {
    paths: Vec<u8>,
    slots: Vec<Slot>,
}

impl Chunk {
    /// The path bytes of row `r`, if there is such a row.
    fn path(&self, r: usize) -> Option<&[u8]> {
        let s = self.slots.get(r)?;
        self.paths.get(s.path_at as usize..s.path_end as usize)
    }
}

/// A loaded row: where its path is in its chunk's buffer, the path's hash (computed
/// where the chunk is decoded, in parallel), size (bytes), mtime (ns) and metadata,
/// `None` once taken. The lock lets [`Cache::take`] run on many threads at once; each
/// is taken once, so it is never contended.
#[derive(Debug)]
struct Slot {
    path_at: u32,
    path_end: u32,
    hash: u64,
    size: u64,
    mtime_ns: u64,
    meta: Mutex<Option<TranscriptMeta>>,
}

/// Hasher of the path index: `foldhash` (already in the build through `hashbrown`)
/// hashes a path's bytes about 20 times faster than the standard SipHash of its
/// components (20,000 paths of the indep corpus: 0.2 ms, not 4.8), and the keys come
/// from the user's own cache file.
type PathHasher = foldhash::fast::RandomState;

/// Loaded cache contents: the chunks, an index from each path (hashed with `hasher`)
/// to where its row is (chunk, row in chunk), and how many rows were taken.
#[derive(Debug, Default)]
pub struct Cache {
    index: HashTable<(u32, u32)>,
    hasher: PathHasher,
    chunks: Vec<Chunk>,
    taken: AtomicUsize,
}

impl Cache {
    /// Loads the cache file at `path`. A missing, unreadable, corrupt (bad magic or
    /// checksum, undecodable, longer or shorter than its header says), old-version,
    /// oversized (over [`MAX_CACHE_BYTES`]) or not regular (a FIFO, a device) file gives
    /// an empty cache: the cache is rebuilt, never trusted blindly. Chunks are read,
    /// checked and decoded in parallel, each with its own buffer, so the whole file is
    /// never held at once.
    pub fn load(path: &Path) -> Cache {
        Self::try_load(path).unwrap_or_default()
    }

    fn try_load(path: &Path) -> Option<Cache> {
        let (file, meta) = crate::util::fsread::open_regular(path).ok()?;
        let size = meta.len();
        if size > MAX_CACHE_BYTES {
            return None;
        }
        let mut head = vec![0; usize::try_from(size.min(FIRST_READ)).ok()?];
        file.read_exact_at(&mut head, 0).ok()?;
        let end = header_end(&head)?;
        if end > size {
            return None;
        }
        if end > head.len() as u64 {
            let at = head.len();
            head.resize(usize::try_from(end).ok()?, 0);
            file.read_exact_at(&mut head[at..], at as u64).ok()?;
        }
        let layout = layout(&head)?;
        if layout.file_len()? != size {
            return None;
        }
        let hasher = PathHasher::default();
        let chunks: Vec<Chunk> = layout
            .placed()
            .into_par_iter()
            .map_init(Vec::new, |buf, (at, chunk)| {
                read_chunk(&file, at, chunk, buf, &hasher)
            })
            .collect::<Option<_>>()?;
        let rows: usize = chunks.iter().map(|c| c.slots.len()).sum();
        let mut index: HashTable<(u32, u32)> = HashTable::with_capacity(rows);
        let hash_at = |&(c, r): &(u32, u32)| chunks[c as usize].slots[r as usize].hash;
        let path_at = |&(c, r): &(u32, u32)| chunks[c as usize].path(r as usize);
        for (c, chunk) in chunks.iter().enumerate() {
            let c = u32::try_from(c).ok()?;
            for (r, slot) in chunk.slots.iter().enumerate() {
                let at = (c, u32::try_from(r).ok()?);
                let path = chunk.path(r);
                // The same path twice (a cache written by hand?): the later row wins.
                match index.entry(slot.hash, |k| path_at(k) == path, hash_at) {
                    Slotted::Occupied(mut e) => *e.get_mut() = at,
                    Slotted::Vacant(e) => {
                        e.insert(at);
                    }
                }
            }
        }
        Some(Cache {
            index,
            hasher,
            chunks,
            taken: AtomicUsize::new(0),
        })
    }

    /// Up to `n` rows from the start of the cache file at `path`, which are the
    /// transcripts modified last, newest first (at most [`NEWEST_ROWS`]: rows after
    /// those are in no order), with the number of rows the file holds. Only the first [`HEAD_BYTES`] are read, and, unlike
    /// [`Cache::load`], only the header's checksum is checked, not the chunks': these
    /// rows are for showing at once, until a scan replaces them, and never for acting
    /// on. Rows stop at the first that does not decode (or is cut by the read). `None`
    /// for a missing or unreadable file, or one of another version or format.
    pub fn load_head(path: &Path, n: usize) -> Option<(usize, Vec<(CacheKey, TranscriptMeta)>)> {
        let (file, _) = crate::util::fsread::open_regular(path).ok()?;
        let mut bytes = Vec::with_capacity(HEAD_BYTES as usize);
        std::io::Read::read_to_end(&mut std::io::Read::take(file, HEAD_BYTES), &mut bytes).ok()?;
        let layout = layout(&bytes)?;
        let len = usize::try_from(layout.rows()).ok()?;
        let n = n.min(usize::try_from(layout.newest).ok()?);
        // Chunks are rows back to back, so the rows read on across their boundaries.
        let mut rest = bytes.get(usize::try_from(layout.data_at).ok()?..)?;
        let mut rows = Vec::with_capacity(n);
        while rows.len() < n {
            let Ok((r, more)) = postcard::take_from_bytes::<Row>(rest) else {
                break;
            };
            rest = more;
            let Ok(path) = std::str::from_utf8(r.path) else {
                break;
            };
            let key = CacheKey {
                path: PathBuf::from(path),
                size: r.size,
                mtime_ns: r.mtime_ns,
            };
            rows.push((key, r.meta));
        }
        Some((len, rows))
    }

    /// Number of entries held (not yet taken).
    pub fn len(&self) -> usize {
        self.index
            .len()
            .saturating_sub(self.taken.load(Ordering::Relaxed))
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry held, consumed: (key, metadata) in no particular order.
    pub fn into_rows(mut self) -> Vec<(CacheKey, TranscriptMeta)> {
        let index = std::mem::take(&mut self.index);
        index
            .into_iter()
            .filter_map(|(c, r)| {
                let chunk = self.chunks.get_mut(c as usize)?;
                let path = std::str::from_utf8(chunk.path(r as usize)?).ok()?.into();
                let slot = chunk.slots.get_mut(r as usize)?;
                let meta = slot.meta.get_mut().unwrap_or_else(PoisonError::into_inner);
                let key = CacheKey {
                    path,
                    size: slot.size,
                    mtime_ns: slot.mtime_ns,
                };
                Some((key, meta.take()?))
            })
            .collect()
    }

    /// Moves out the cached metadata for `path` when its size (bytes) and mtime both
    /// match; an entry that does not match is dropped as stale. Safe to call from many
    /// threads at once; an entry is given (or dropped) once.
    pub fn take(
        &self,
        path: &Path,
        size: u64,
        mtime: Option<SystemTime>,
    ) -> Option<TranscriptMeta> {
        let path = path.as_os_str().as_encoded_bytes();
        let &(c, r) = self.index.find(self.hasher.hash_one(path), |&(c, r)| {
            self.chunks[c as usize].path(r as usize) == Some(path)
        })?;
        let slot = self.chunks.get(c as usize)?.slots.get(r as usize)?;
        let meta = slot
            .meta
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        self.taken.fetch_add(1, Ordering::Relaxed);
        (slot.size == size && slot.mtime_ns == mtime_ns(mtime)).then_some(meta)
    }
}

/// Reads the chunk at offset `at` of `file` through `buf`, checks it against its
/// checksum and decodes its rows, hashing their paths with `hasher`; `None` when any of
/// that fails.
fn read_chunk(
    file: &File,
    at: u64,
    chunk: ChunkHead,
    buf: &mut Vec<u8>,
    hasher: &PathHasher,
) -> Option<Chunk> {
    buf.clear();
    buf.resize(usize::try_from(chunk.len).ok()?, 0);
    file.read_exact_at(buf, at).ok()?;
    if crc32fast::hash(buf) != chunk.crc {
        return None;
    }
    let rows: Vec<Row> = rows_of(buf, chunk.rows)?;
    let mut paths = Vec::with_capacity(rows.iter().map(|r| r.path.len()).sum());
    let mut slots = Vec::with_capacity(rows.len());
    for r in rows {
        let path_at = u32::try_from(paths.len()).ok()?;
        paths.extend_from_slice(r.path);
        slots.push(Slot {
            path_at,
            path_end: u32::try_from(paths.len()).ok()?,
            hash: hasher.hash_one(r.path),
            size: r.size,
            mtime_ns: r.mtime_ns,
            meta: Mutex::new(Some(r.meta)),
        });
    }
    Some(Chunk { paths, slots })
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
/// undecodable, another version, not the length the header says). Chunks are checked
/// and decoded in parallel; rows come in file order.
pub fn views(bytes: &[u8]) -> Option<Vec<RowView<'_>>> {
    let layout = layout(bytes)?;
    if layout.file_len()? != bytes.len() as u64 {
        return None;
    }
    let chunks: Vec<Vec<RowView>> = layout
        .placed()
        .into_par_iter()
        .map(|(at, chunk)| {
            let at = usize::try_from(at).ok()?;
            let bytes = bytes.get(at..at.checked_add(usize::try_from(chunk.len).ok()?)?)?;
            if crc32fast::hash(bytes) != chunk.crc {
                return None;
            }
            rows_of(bytes, chunk.rows)
        })
        .collect::<Option<_>>()?;
    Some(chunks.into_iter().flatten().collect())
}

/// `mtime` in nanoseconds since the Unix epoch; 0 when unknown or before 1970.
pub fn mtime_ns(mtime: Option<SystemTime>) -> u64 {
    mtime
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A cache encoded by [`encode`], ready to [`Encoded::write`]: the magic and header,
/// then the chunks.
#[derive(Debug)]
pub struct Encoded {
    head: Vec<u8>,
    chunks: Vec<Vec<u8>>,
}

/// Encodes a cache holding exactly `rows`: the newest [`NEWEST_ROWS`] first, newest
/// first, then the others in the order given, in chunks of [`CHUNK_ROWS`] rows encoded
/// in parallel. Paths that are not UTF-8 are left out.
///
/// Errors: encoding (postcard's own errors; none are expected for these types).
pub fn encode<'a>(rows: impl IntoIterator<Item = Entry<'a>>) -> anyhow::Result<Encoded> {
    encode_newest(rows.into_iter().collect(), NEWEST_ROWS)
}

/// [`encode`], the first `newest` rows sorted.
fn encode_newest(rows: Vec<Entry>, newest: usize) -> anyhow::Result<Encoded> {
    let rows: Vec<RowRef> = rows
        .par_iter()
        .filter_map(|e| {
            Some(RowRef {
                path: e.path.to_str()?,
                size: e.size,
                mtime_ns: e.mtime_ns,
                meta: e.meta,
            })
        })
        .collect();
    let (rows, newest) = newest_first(rows, newest);
    let encoded: Vec<(Vec<u8>, ChunkHead)> = rows
        .par_chunks(CHUNK_ROWS)
        .map(|rows| {
            let mut bytes = Vec::new();
            for row in rows {
                bytes = postcard::to_extend(row, bytes)?;
            }
            let head = ChunkHead {
                rows: rows.len() as u64,
                len: bytes.len() as u64,
                crc: crc32fast::hash(&bytes),
            };
            Ok((bytes, head))
        })
        .collect::<Result<_, postcard::Error>>()?;
    let (chunks, heads): (Vec<Vec<u8>>, Vec<ChunkHead>) = encoded.into_iter().unzip();
    let table = Table {
        newest: newest as u64,
        chunks: heads,
    };
    Ok(Encoded {
        head: head_bytes(&table)?,
        chunks,
    })
}

/// `rows` reordered: the `n` newest first (or all, when there are no more), newest
/// first, then the others in the order given; and how many were sorted.
fn newest_first(mut rows: Vec<RowRef>, n: usize) -> (Vec<RowRef>, usize) {
    let newest_first = |r: &RowRef| std::cmp::Reverse(r.mtime_ns);
    if rows.len() <= n {
        rows.sort_unstable_by_key(newest_first);
        let n = rows.len();
        return (rows, n);
    }
    let Some(last) = n.checked_sub(1) else {
        return (rows, 0);
    };
    // The n-th newest mtime: every row newer, and as many as fit of those as old.
    let mut times: Vec<u64> = rows.iter().map(|r| r.mtime_ns).collect();
    let cut = *times
        .select_nth_unstable_by_key(last, |&t| std::cmp::Reverse(t))
        .1;
    let mut ties = n - rows.iter().filter(|r| r.mtime_ns > cut).count();
    let (mut head, rest): (Vec<RowRef>, Vec<RowRef>) = rows.into_iter().partition(|r| {
        let tie = r.mtime_ns == cut && ties > 0;
        ties -= usize::from(tie);
        r.mtime_ns > cut || tie
    });
    head.sort_unstable_by_key(newest_first);
    head.extend(rest);
    (head, n)
}

/// The magic, checksum and header of a file whose table is `table`.
fn head_bytes(table: &Table) -> Result<Vec<u8>, postcard::Error> {
    let table = postcard::to_allocvec(table)?;
    // Magic, then room for the checksum, then the header.
    let mut head = MAGIC.to_vec();
    head.extend_from_slice(&[0; 4]);
    let mut head = postcard::to_extend(&(VERSION, table.len() as u64), head)?;
    head.extend_from_slice(&table);
    let crc = crc32fast::hash(&head[HEADER_AT..]);
    head[MAGIC.len()..HEADER_AT].copy_from_slice(&crc.to_le_bytes());
    Ok(head)
}

impl Encoded {
    /// Writes this cache to `path`, creating its directory (0700), with
    /// [`crate::util::atomic::write_atomic_unsynced_parts`] (temp file in the same
    /// directory, rename; 0600 for a new file; no `fsync`: a cache lost in a machine
    /// crash is caught by its checksums and rebuilt).
    ///
    /// Errors: creating the directory, or writing/renaming the file; the old file is
    /// then untouched and the temp file removed.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        crate::util::atomic::create_private_dir_all(dir)?;
        remove_stale_temps(path);
        let mut parts: Vec<&[u8]> = Vec::with_capacity(self.chunks.len() + 1);
        parts.push(&self.head);
        parts.extend(self.chunks.iter().map(Vec::as_slice));
        crate::util::atomic::write_atomic_unsynced_parts(path, &parts)
    }
}

/// Writes a cache holding exactly `rows` to `path`: [`encode`], then [`Encoded::write`].
///
/// Errors: those of both.
pub fn save<'a>(path: &Path, rows: impl IntoIterator<Item = Entry<'a>>) -> anyhow::Result<()> {
    encode(rows)?.write(path)
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
        save(&file, [(&k, &m).into()]).unwrap();
        let c = Cache::load(&file);
        assert_eq!(c.len(), 1);
        assert_eq!(c.take(&k.path, 10, Some(t5)), Some(m.clone()));
        assert!(c.is_empty(), "a hit is moved out");
        let c = Cache::load(&file);
        assert_eq!(c.take(&k.path, 11, Some(t5)), None, "size differs");
        let c = Cache::load(&file);
        let t6 = t5 + Duration::from_nanos(1);
        assert_eq!(c.take(&k.path, 10, Some(t6)), None, "mtime differs");
    }

    #[test]
    fn a_path_twice_is_one_entry() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(CACHE_FILE);
        let k = CacheKey::new(Path::new("/a/b.jsonl"), 10, None);
        let other = CacheKey::new(Path::new("/a/c.jsonl"), 10, None);
        let meta = |cwd: &str| TranscriptMeta {
            cwd: Some(cwd.into()),
            ..Default::default()
        };
        let (m1, m2, m3) = (meta("/one"), meta("/two"), meta("/three"));
        save(
            &file,
            [(&k, &m1).into(), (&other, &m3).into(), (&k, &m2).into()],
        )
        .unwrap();
        let c = Cache::load(&file);
        assert_eq!(c.len(), 2);
        let got = c.take(&k.path, 10, None).unwrap();
        assert!(got == m1 || got == m2, "{got:?}");
        assert_eq!(c.take(&k.path, 10, None), None, "given once");
        assert_eq!(c.take(&other.path, 10, None), Some(m3));
        assert_eq!(Cache::load(&file).into_rows().len(), 2);
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
            first_prompt_uuid: Some(crate::discover::transcript::RecordUuid::new("uuid")),
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
        save(&file, [(&k1, &full).into(), (&k2, &empty).into()]).unwrap();
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
        let keys: Vec<CacheKey> = [3, 1, 4, 5, 2]
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let at = UNIX_EPOCH + Duration::from_secs(s);
                CacheKey::new(Path::new(&format!("/a/{i}.jsonl")), 1, Some(at))
            })
            .collect();
        save(&file, keys.iter().zip(&metas).map(Entry::from)).unwrap();
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
        save(&file, [(&k, &TranscriptMeta::default()).into()]).unwrap();
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

    /// `n` rows of distinct paths and mtimes (in no order), every tenth with a chain.
    fn many(n: usize) -> (Vec<CacheKey>, Vec<TranscriptMeta>) {
        use crate::discover::forks::{Chain, ChainRecord};
        let keys = (0..n)
            .map(|i| {
                let at = UNIX_EPOCH + Duration::from_secs(((i * 7919) % n) as u64 + 1);
                CacheKey::new(
                    Path::new(&format!("/p/f{}/{i}.jsonl", i % 9)),
                    i as u64,
                    Some(at),
                )
            })
            .collect();
        let metas = (0..n)
            .map(|i| TranscriptMeta {
                cwd: Some(format!("/w/{i}")),
                title: Some("é".repeat(i % 50)),
                chain: (i % 10 == 0).then(|| {
                    Box::new(Chain {
                        records: vec![ChainRecord {
                            uuid: u128::MAX - i as u128,
                            at_ms: Some(1),
                        }],
                        prompts: vec![(0, format!("p{i}"))],
                    })
                }),
                ..Default::default()
            })
            .collect();
        (keys, metas)
    }

    #[test]
    fn rows_in_many_chunks_round_trip() {
        use std::os::unix::ffi::OsStrExt;
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(CACHE_FILE);
        let n = 3 * CHUNK_ROWS + 7;
        let (keys, metas) = many(n);
        let odd = CacheKey::new(
            std::ffi::OsStr::from_bytes(b"/p/\xff.jsonl").as_ref(),
            1,
            None,
        );
        let rows = keys.iter().zip(&metas).chain([(&odd, &metas[0])]);
        save(&file, rows.map(Entry::from)).unwrap();
        let bytes = fs::read(&file).unwrap();
        assert_eq!(layout(&bytes).unwrap().chunks.len(), 4);

        let c = Cache::load(&file);
        assert_eq!(c.len(), n, "the path that is not UTF-8 is left out");
        for (k, m) in keys.iter().zip(&metas) {
            let mtime = UNIX_EPOCH + Duration::from_nanos(k.mtime_ns);
            assert_eq!(c.take(&k.path, k.size, Some(mtime)).as_ref(), Some(m));
        }
        assert!(c.is_empty());
        assert_eq!(Cache::load(&file).into_rows().len(), n);

        // From many threads at once, twice over: each row is given once.
        let c = Cache::load(&file);
        let given = keys
            .par_iter()
            .chain(keys.par_iter())
            .filter_map(|k| {
                let mtime = UNIX_EPOCH + Duration::from_nanos(k.mtime_ns);
                c.take(&k.path, k.size, Some(mtime))
            })
            .count();
        assert_eq!((given, c.len()), (n, 0));

        // Newest first, across chunk boundaries, whichever way they are read.
        let mut newest: Vec<&CacheKey> = keys.iter().collect();
        newest.sort_by_key(|k| std::cmp::Reverse(k.mtime_ns));
        let viewed = views(&bytes).unwrap();
        let paths: Vec<&str> = viewed.iter().map(|r| r.path).collect();
        let want: Vec<&str> = newest.iter().map(|k| k.path.to_str().unwrap()).collect();
        assert_eq!(paths, want);
        let (total, head) = Cache::load_head(&file, CHUNK_ROWS + 3).unwrap();
        assert_eq!((total, head.len()), (n, CHUNK_ROWS + 3));
        for ((k, m), want) in head.iter().zip(&newest) {
            assert_eq!(k, *want);
            assert_eq!(m.cwd, Some(format!("/w/{}", k.size)));
        }
    }

    #[test]
    fn only_the_newest_rows_are_sorted() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(CACHE_FILE);
        let n = 3 * CHUNK_ROWS + 7;
        let (mut keys, metas) = many(n);
        // Ties at the cut: the newest 40 rows, then 30 rows of the same mtime, 20 of
        // which are among the newest 60.
        for (i, k) in keys.iter_mut().enumerate().take(70) {
            k.mtime_ns = if i < 40 { 1 << 50 | i as u64 } else { 1 << 49 };
        }
        let rows = keys.iter().zip(&metas).map(Entry::from).collect();
        encode_newest(rows, 60).unwrap().write(&file).unwrap();
        let (total, head) = Cache::load_head(&file, 1000).unwrap();
        assert_eq!((total, head.len()), (n, 60));
        let got: Vec<u64> = head.iter().map(|(k, _)| k.mtime_ns).collect();
        let mut want: Vec<u64> = keys.iter().map(|k| k.mtime_ns).collect();
        want.sort_unstable_by_key(|&t| std::cmp::Reverse(t));
        assert_eq!(got, want[..60]);
        // The others follow in the order given; all are there.
        let bytes = fs::read(&file).unwrap();
        let viewed: Vec<u64> = views(&bytes).unwrap().iter().map(|r| r.size).collect();
        let head_sizes: Vec<u64> = head.iter().map(|(k, _)| k.size).collect();
        assert_eq!(viewed[..60], head_sizes);
        let rest: Vec<u64> = (0..n as u64).filter(|i| !head_sizes.contains(i)).collect();
        assert_eq!(viewed[60..], rest);
        assert_eq!(Cache::load(&file).len(), n);
        // Fewer rows than that: all sorted. None: none.
        let rows = keys.iter().zip(&metas).map(Entry::from).collect();
        encode_newest(rows, n + 1).unwrap().write(&file).unwrap();
        assert_eq!(Cache::load_head(&file, 2 * n).unwrap().1.len(), n);
        encode_newest(Vec::new(), 60).unwrap().write(&file).unwrap();
        assert_eq!(Cache::load_head(&file, 9).unwrap(), (0, Vec::new()));
        assert!(Cache::load(&file).is_empty());
    }

    #[test]
    fn every_chunk_is_checked() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(CACHE_FILE);
        let (keys, metas) = many(2 * CHUNK_ROWS + 1);
        save(&file, keys.iter().zip(&metas).map(Entry::from)).unwrap();
        let good = fs::read(&file).unwrap();
        let data_at = layout(&good).unwrap().data_at as usize;
        let last = good.len() - 2;
        let mut longer = good.clone();
        longer.push(0);
        let mut cut = good.clone();
        cut.truncate(last);
        for (what, i) in [
            ("table", data_at - 1),
            ("first chunk", data_at),
            ("last chunk", last),
        ] {
            let mut bad = good.clone();
            bad[i] ^= 1;
            fs::write(&file, &bad).unwrap();
            assert!(Cache::load(&file).is_empty(), "{what}");
            assert!(views(&bad).is_none(), "{what}");
        }
        for (what, bad) in [("a byte more", longer), ("bytes fewer", cut)] {
            fs::write(&file, &bad).unwrap();
            assert!(Cache::load(&file).is_empty(), "{what}");
            assert!(views(&bad).is_none(), "{what}");
        }
    }

    #[test]
    fn a_header_that_lies_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(CACHE_FILE);
        let k = CacheKey::new(Path::new("/a/b.jsonl"), 1, None);
        save(&file, [(&k, &TranscriptMeta::default()).into()]).unwrap();
        let good = fs::read(&file).unwrap();
        let real = layout(&good).unwrap();
        let data = &good[real.data_at as usize..];
        let c = real.chunks[0];
        // Checksums right, counts wrong: each is refused, without a panic or a huge
        // allocation.
        for chunks in [
            vec![ChunkHead {
                rows: u64::MAX,
                ..c
            }],
            vec![ChunkHead { rows: 2, ..c }],
            vec![ChunkHead { rows: 0, ..c }],
            vec![ChunkHead { len: u64::MAX, ..c }],
            vec![
                c,
                ChunkHead {
                    len: u64::MAX - 5,
                    ..c
                },
            ],
            vec![c, c],
            vec![],
        ] {
            let mut bytes = head_bytes(&Table { newest: 0, chunks }).unwrap();
            bytes.extend_from_slice(data);
            fs::write(&file, &bytes).unwrap();
            assert!(Cache::load(&file).is_empty(), "{bytes:?}");
            assert!(views(&bytes).is_none(), "{bytes:?}");
        }
        // More newest rows than rows.
        let table = Table {
            newest: 2,
            chunks: real.chunks.clone(),
        };
        let mut bytes = head_bytes(&table).unwrap();
        bytes.extend_from_slice(data);
        fs::write(&file, &bytes).unwrap();
        assert!(Cache::load(&file).is_empty());
        assert!(Cache::load_head(&file, 9).is_none());
        // The real header again: all is well.
        let table = Table {
            newest: real.newest,
            chunks: real.chunks,
        };
        let mut bytes = head_bytes(&table).unwrap();
        bytes.extend_from_slice(data);
        assert_eq!(bytes, good);
    }

    #[test]
    fn a_version_5_cache_is_ignored() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(CACHE_FILE);
        let meta = TranscriptMeta::default();
        let row = RowRef {
            path: "/a/b.jsonl",
            size: 1,
            mtime_ns: 0,
            meta: &meta,
        };
        // Version 5's layout: magic, CRC-32 of the rest, then (5, every row).
        let body = postcard::to_allocvec(&(5u32, vec![row])).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        fs::write(&file, &bytes).unwrap();
        assert!(Cache::load(&file).is_empty());
        assert!(Cache::load_head(&file, 9).is_none());
        assert!(views(&bytes).is_none());
    }
}
