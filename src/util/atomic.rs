//! Atomic file replacement: readers see the old bytes or the new bytes, never a torn
//! file, even if seance dies mid-write (zoxide's `util.rs` pattern).

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Permission bits for files seance creates (not replaces): private to the user.
pub const NEW_FILE_MODE: u32 = 0o600;

/// Permission bits for directories seance creates.
pub const NEW_DIR_MODE: u32 = 0o700;

/// The name prefix of [`write_atomic`]'s temp files for `path`: `.<file name>.`; the
/// full name is `.<file name>.XXXXXX.tmp`, beside `path`.
fn temp_prefix(path: &Path) -> String {
    format!(
        ".{}.",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    )
}

/// True when `name` looks like one of [`write_atomic`]'s temp files for `path`.
pub fn is_temp_for(path: &Path, name: &str) -> bool {
    name.starts_with(&temp_prefix(path)) && name.ends_with(".tmp")
}

/// Whether a temp file of a [`write_atomic`] of `path` is there (cheap: one directory
/// listing, no lock). A missing or unreadable directory has none.
pub fn has_temps_for(path: &Path) -> bool {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_str().is_some_and(|n| is_temp_for(path, n)))
    })
}

/// Removes the temp files a [`write_atomic`] of `path` left behind when its process died
/// between creating one and renaming it, and returns their paths.
///
/// Call it only while holding `path`'s lock: every writer holds that lock from before it
/// creates its temp file until after the rename, so no live writer owns one then.
///
/// Errors: the directory cannot be listed (other than not existing) or a temp file
/// cannot be removed.
pub fn remove_orphan_temps(path: &Path) -> Result<Vec<PathBuf>> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut removed = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| is_temp_for(path, n)) {
            let p = entry.path();
            match fs::remove_file(&p) {
                Ok(()) => removed.push(p),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", p.display())),
            }
        }
    }
    Ok(removed)
}

/// Replaces `path` with `bytes` atomically.
///
/// Writes a temp file in the same directory (so the rename cannot cross file systems),
/// gives it the permission bits of the file it replaces (or [`NEW_FILE_MODE`] when
/// `path` does not exist yet), `fsync`s it, renames it over `path`, then `fsync`s the
/// directory so the rename itself is durable. The temp file is removed on any error.
///
/// Errors: any I/O failure, with the path in the context. `path` must have a parent.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, &[bytes], true)
}

/// [`write_atomic`] without the two `fsync`s: readers still see the old bytes or the new
/// ones, never a mix, but after a crash of the machine (not of seance) the file may hold
/// neither. Only for files whose loss costs nothing but time and whose readers check
/// them (the metadata cache carries a checksum): the `fsync` of a cache of several MB
/// cost 7–37 ms of a first listing.
///
/// Errors: as [`write_atomic`].
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, &[bytes], false)
}

/// [`write_atomic_unsynced`] of the concatenation of `parts`, without first copying
/// them into one buffer.
///
/// Errors: as [`write_atomic`].
pub fn write_atomic_unsynced_parts(path: &Path, parts: &[&[u8]]) -> Result<()> {
    replace(path, parts, false)
}

fn replace(path: &Path, parts: &[&[u8]], durable: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mode = match fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => NEW_FILE_MODE,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let prefix = temp_prefix(path);
    // NamedTempFile deletes itself on drop, which covers every early return below.
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temp file in {}", dir.display()))?;
    for bytes in parts {
        tmp.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.path().display()))?;
    }
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting permissions on {}", tmp.path().display()))?;
    if durable {
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("syncing {}", tmp.path().display()))?;
    }
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming a temp file over {}", path.display()))?;
    if durable {
        sync_dir(dir);
    }
    Ok(())
}

/// Creates `dir` (and missing parents) with [`NEW_DIR_MODE`] for the ones it creates.
///
/// Errors: any I/O failure, naming the directory.
pub fn create_private_dir_all(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(NEW_DIR_MODE)
        .create(dir)
        .with_context(|| format!("creating directory {}", dir.display()))
}

/// Best-effort `fsync` of a directory so a rename or unlink in it survives a crash; a
/// failure here is not worth failing the operation for (some file systems refuse it).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_new_file_private() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a.json");
        write_atomic(&p, b"hello").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"hello");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn keeps_permissions_of_replaced_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a.json");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        // No temp files left behind.
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn error_leaves_no_temp_file_and_names_path() {
        let tmp = tempfile::tempdir().unwrap();
        // A directory where the file should be: rename over it fails.
        let p = tmp.path().join("d");
        fs::create_dir(&p).unwrap();
        fs::write(p.join("x"), b"").unwrap();
        let err = write_atomic(&p, b"x").unwrap_err();
        assert!(format!("{err:#}").contains(&p.display().to_string()));
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn private_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("a/b");
        create_private_dir_all(&d).unwrap();
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}
