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
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::transcript::TranscriptMeta;

/// Bumped whenever [`TranscriptMeta`] or the way it is computed changes.
const VERSION: u32 = 1;

/// File name inside the cache directory.
pub const CACHE_FILE: &str = "transcripts-v1.json";

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
        let mtime_ns = mtime
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        CacheKey {
            path: path.to_path_buf(),
            size,
            mtime_ns,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Row {
    path: String,
    size: u64,
    mtime_ns: u64,
    meta: TranscriptMeta,
}

#[derive(Serialize, Deserialize)]
struct FileShape {
    version: u32,
    rows: Vec<Row>,
}

/// Loaded cache contents: path → (size, mtime, metadata).
#[derive(Debug, Default)]
pub struct Cache {
    rows: HashMap<PathBuf, (u64, u64, TranscriptMeta)>,
}

impl Cache {
    /// Loads the cache file at `path`. A missing, unreadable, corrupt or old-version file
    /// gives an empty cache: the cache is rebuilt, never trusted blindly.
    pub fn load(path: &Path) -> Cache {
        let Ok(bytes) = fs::read(path) else {
            return Cache::default();
        };
        match serde_json::from_slice::<FileShape>(&bytes) {
            Ok(f) if f.version == VERSION => Cache {
                rows: f
                    .rows
                    .into_iter()
                    .map(|r| (PathBuf::from(r.path), (r.size, r.mtime_ns, r.meta)))
                    .collect(),
            },
            _ => Cache::default(),
        }
    }

    /// Number of entries loaded.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when nothing was loaded.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The cached metadata for `key`, only when size and mtime both match.
    pub fn get(&self, key: &CacheKey) -> Option<TranscriptMeta> {
        match self.rows.get(&key.path) {
            Some((size, mtime, meta)) if *size == key.size && *mtime == key.mtime_ns => {
                Some(meta.clone())
            }
            _ => None,
        }
    }
}

/// Writes a cache holding exactly `rows` to `path`, creating its directory (0700), via
/// a temp file in the same directory and a rename. Paths that are not UTF-8 are left out.
///
/// Errors: I/O errors creating the directory or writing/renaming the file; the old file
/// is then untouched and the temp file removed.
pub fn save<'a>(
    path: &Path,
    rows: impl Iterator<Item = (&'a CacheKey, &'a TranscriptMeta)>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let shape = FileShape {
        version: VERSION,
        rows: rows
            .filter_map(|(k, m)| {
                Some(Row {
                    path: k.path.to_str()?.to_owned(),
                    size: k.size,
                    mtime_ns: k.mtime_ns,
                    meta: m.clone(),
                })
            })
            .collect(),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".transcripts-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    {
        let mut w = BufWriter::new(tmp.as_file());
        serde_json::to_writer(&mut w, &shape)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_staleness() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("c/seance").join(CACHE_FILE);
        let k = CacheKey {
            path: "/a/b.jsonl".into(),
            size: 10,
            mtime_ns: 5,
        };
        let m = TranscriptMeta {
            cwd: Some("/w".into()),
            ..Default::default()
        };
        save(&file, [(&k, &m)].into_iter()).unwrap();
        let c = Cache::load(&file);
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(&k), Some(m));
        assert_eq!(
            c.get(&CacheKey {
                size: 11,
                ..k.clone()
            }),
            None
        );
        assert_eq!(
            c.get(&CacheKey {
                mtime_ns: 6,
                ..k.clone()
            }),
            None
        );
    }

    #[test]
    fn corrupt_cache_is_ignored() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(CACHE_FILE);
        for junk in [
            &b"{not json"[..],
            b"[]",
            b"{\"version\":99,\"rows\":[]}",
            b"",
        ] {
            fs::write(&file, junk).unwrap();
            assert!(Cache::load(&file).is_empty());
        }
    }
}
