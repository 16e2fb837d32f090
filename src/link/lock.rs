//! Exclusive advisory locks (flock, through fd-lock) on a separate `.lock` file, with a
//! timeout. The lock file is never renamed or replaced: renaming over a locked file would
//! hand the next comer a fresh, unlocked inode.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fd_lock::RwLock;

/// How long seance waits for a `sessions-index.json.lock` (as `gt seance` does).
pub const INDEX_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// How long seance waits for its own ledger lock. Longer than [`INDEX_LOCK_TIMEOUT`]
/// because a ledger holder may itself be waiting for an index lock.
pub const LEDGER_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// A wait for a lock at least this long is said with `-v`.
const SAY_WAIT: Duration = Duration::from_millis(100);

/// Pause between two attempts to take a busy lock.
const POLL: Duration = Duration::from_millis(10);

/// The lock was still held by someone else when the timeout ran out.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {:.1} s waiting for the lock {}", .waited.as_secs_f64(), .path.display())]
pub struct LockTimeout {
    /// The `.lock` file that stayed locked.
    pub path: PathBuf,
    /// How long seance waited.
    pub waited: Duration,
}

/// `<path>.lock`: the lock file guarding `path` (same name `gt seance` uses).
pub fn lock_path_for(path: &Path) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Runs `f` while holding an exclusive lock on `lock_path` (created 0600 if missing;
/// its parent must exist), waiting at most `timeout` for it.
///
/// Errors: [`LockTimeout`] (reachable through `anyhow::Error::downcast_ref`) when the
/// lock stays busy; an I/O error naming the lock file; or whatever `f` returns. The lock
/// is released when this returns, on every path, panics included (closing the file
/// releases a flock).
pub fn with_lock<T>(
    lock_path: &Path,
    timeout: Duration,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(crate::util::atomic::NEW_FILE_MODE)
        .open(lock_path)
        .with_context(|| format!("opening lock file {}", lock_path.display()))?;
    let mut lock = RwLock::new(file);
    let start = Instant::now();
    let _guard = loop {
        match lock.try_write() {
            Ok(guard) => {
                let waited = start.elapsed();
                if waited >= SAY_WAIT {
                    crate::util::say::detail(&format!(
                        "waited {:.1} s for the lock {}",
                        waited.as_secs_f64(),
                        crate::util::sanitize::path(lock_path)
                    ));
                }
                break guard;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let waited = start.elapsed();
                if waited >= timeout {
                    return Err(LockTimeout {
                        path: lock_path.to_owned(),
                        waited,
                    }
                    .into());
                }
                std::thread::sleep(POLL.min(timeout - waited));
            }
            Err(e) => {
                return Err(e).with_context(|| format!("locking {}", lock_path.display()));
            }
        }
    };
    f()
}

/// Removes a lock file we no longer need (only used for folders seance itself created
/// and is about to remove). Missing is fine.
pub fn remove_lock_file(lock_path: &Path) -> Result<()> {
    match fs::remove_file(lock_path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing lock file {}", lock_path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn lock_path_appends_suffix() {
        assert_eq!(
            lock_path_for(Path::new("/a/sessions-index.json")),
            PathBuf::from("/a/sessions-index.json.lock")
        );
    }

    #[test]
    fn runs_closure_and_returns_its_value() {
        let tmp = tempfile::tempdir().unwrap();
        let lp = tmp.path().join("x.lock");
        let v = with_lock(&lp, Duration::from_secs(1), || Ok(42)).unwrap();
        assert_eq!(v, 42);
        assert!(lp.exists());
        // Released: can take it again at once.
        with_lock(&lp, Duration::ZERO, || Ok(())).unwrap();
    }

    #[test]
    fn times_out_with_typed_error_naming_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let lp = tmp.path().join("x.lock");
        let (held_tx, held_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let lp2 = lp.clone();
        let holder = std::thread::spawn(move || {
            with_lock(&lp2, Duration::from_secs(1), || {
                held_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok(())
            })
            .unwrap();
        });
        held_rx.recv().unwrap();
        let start = Instant::now();
        let err = with_lock(&lp, Duration::from_millis(200), || Ok(())).unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(200));
        let timeout = err.downcast_ref::<LockTimeout>().expect("typed timeout");
        assert_eq!(timeout.path, lp);
        assert!(err.to_string().contains("x.lock"));
        release_tx.send(()).unwrap();
        holder.join().unwrap();
    }

    #[test]
    fn waits_for_a_holder_that_lets_go() {
        let tmp = tempfile::tempdir().unwrap();
        let lp = tmp.path().join("x.lock");
        let (held_tx, held_rx) = mpsc::channel();
        let lp2 = lp.clone();
        let holder = std::thread::spawn(move || {
            with_lock(&lp2, Duration::from_secs(1), || {
                held_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(100));
                Ok(())
            })
            .unwrap();
        });
        held_rx.recv().unwrap();
        with_lock(&lp, Duration::from_secs(5), || Ok(())).unwrap();
        holder.join().unwrap();
    }

    #[test]
    fn released_on_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let lp = tmp.path().join("x.lock");
        let lp2 = lp.clone();
        let r = std::panic::catch_unwind(move || {
            let _ = with_lock(&lp2, Duration::from_secs(1), || -> Result<()> {
                panic!("boom")
            });
        });
        assert!(r.is_err());
        with_lock(&lp, Duration::ZERO, || Ok(())).unwrap();
    }

    #[test]
    fn missing_parent_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let lp = tmp.path().join("no/such/x.lock");
        let err = with_lock(&lp, Duration::ZERO, || Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("no/such/x.lock"));
    }
}
