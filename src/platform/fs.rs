//! File system facts that differ between platforms.

use std::fs::Metadata;
use std::time::SystemTime;

/// When the file described by `md` was created (its birth time), where the platform and
/// the file system record one: `statx(2)`'s `STATX_BTIME` on Linux (ext4, btrfs, xfs,
/// tmpfs since 5.x; not NFS, nor kernels before 4.11), `st_birthtime` on macOS (APFS,
/// HFS+). `None` where it is missing, so callers must have a fallback.
///
/// A birth time says when the file was created at this path on this machine: a copy or a
/// restore from backup is born when it was copied, whatever its contents say.
pub fn birth_time(md: &Metadata) -> Option<SystemTime> {
    // The standard library asks for exactly these: statx with STATX_BTIME on Linux (and
    // reports Unsupported when the file system leaves it out), st_birthtime on macOS.
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    {
        md.created().ok()
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = md;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_born_now_where_birth_times_exist() {
        let before = SystemTime::now() - std::time::Duration::from_secs(5);
        let f = tempfile::NamedTempFile::new().unwrap();
        let md = f.as_file().metadata().unwrap();
        // Every file system this suite runs on (ext4, tmpfs, APFS) records birth times;
        // where one does not, the answer must be None, never a made-up time.
        if let Some(born) = birth_time(&md) {
            assert!(born >= before, "{born:?} before {before:?}");
            assert!(born <= SystemTime::now());
        }
    }
}
