//! Exclusive advisory locks (flock, through fd-lock) on a separate `.lock` file, with a
//! timeout. The lock file is never renamed or replaced: renaming over a locked file would
//! hand the next comer a fresh, unlocked inode.

use std::cell::RefCell;
use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
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

/// A signal arrived while waiting for a lock inside [`interruptible`]: the wait was
/// given up at once instead of running on to its timeout.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by signal {signal} while waiting for the lock {}", .path.display())]
pub struct Interrupted {
    /// The signal number.
    pub signal: i32,
    /// The `.lock` file that was busy.
    pub path: PathBuf,
}

thread_local! {
    /// The signal flag lock waits on this thread watch (0: none yet), if any.
    static INTERRUPT: RefCell<Option<Arc<AtomicI32>>> = const { RefCell::new(None) };
}

/// Runs `f` with every lock wait on this thread given up (with [`Interrupted`]) as soon
/// as `signal` holds a signal number (non-zero), as a signal handler sets it. Only
/// waiting is cut short: a free lock is still taken. Nests; the previous setting comes
/// back when `f` returns or panics.
pub fn interruptible<T>(signal: &Arc<AtomicI32>, f: impl FnOnce() -> T) -> T {
    with_interrupt(Some(Arc::clone(signal)), f)
}

/// Runs `f` with lock waits on this thread not interruptible, even inside
/// [`interruptible`]: for undoing, which must wait for its locks whatever arrives.
pub fn uninterruptible<T>(f: impl FnOnce() -> T) -> T {
    with_interrupt(None, f)
}

fn with_interrupt<T>(flag: Option<Arc<AtomicI32>>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<AtomicI32>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let old = self.0.take();
            INTERRUPT.with(|i| *i.borrow_mut() = old);
        }
    }
    let _restore = Restore(INTERRUPT.with(|i| i.replace(flag)));
    f()
}

/// The signal that interrupts lock waits on this thread now, if one arrived.
fn pending_interrupt() -> Option<i32> {
    INTERRUPT.with(|i| {
        i.borrow()
            .as_ref()
            .map(|flag| flag.load(Ordering::SeqCst))
            .filter(|&sig| sig != 0)
    })
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
/// lock stays busy; [`Interrupted`] when a signal ends the wait (see [`interruptible`]);
/// an I/O error naming the lock file; or whatever `f` returns. The lock
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
        // Never create or lock a file through a symlink planted at the lock's path.
        .custom_flags(libc::O_NOFOLLOW)
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
                if let Some(signal) = pending_interrupt() {
                    let path = lock_path.to_owned();
                    return Err(Interrupted { signal, path }.into());
                }
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

    /// Holds `lp` on a thread until the returned sender is dropped or sent to.
    fn hold(lp: &Path) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        let (held_tx, held_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let lp = lp.to_owned();
        let holder = std::thread::spawn(move || {
            with_lock(&lp, Duration::from_secs(1), || {
                held_tx.send(()).unwrap();
                let _ = release_rx.recv();
                Ok(())
            })
            .unwrap();
        });
        held_rx.recv().unwrap();
        (release_tx, holder)
    }

    #[test]
    fn a_signal_ends_an_interruptible_wait_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let lp = tmp.path().join("x.lock");
        let (release, holder) = hold(&lp);
        let flag = Arc::new(AtomicI32::new(0));
        let setter = {
            let flag = Arc::clone(&flag);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                flag.store(libc::SIGTERM, Ordering::SeqCst);
            })
        };
        let start = Instant::now();
        let err = interruptible(&flag, || with_lock(&lp, Duration::from_secs(30), || Ok(())))
            .unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        let int = err
            .downcast_ref::<Interrupted>()
            .expect("typed interruption");
        assert_eq!((int.signal, &int.path), (libc::SIGTERM, &lp));
        assert!(err.to_string().contains("signal 15"), "{err}");
        // Undo code inside the same scope waits as before; outside it, too.
        let err = interruptible(&flag, || {
            uninterruptible(|| with_lock(&lp, Duration::from_millis(100), || Ok(())))
        })
        .unwrap_err();
        assert!(err.downcast_ref::<LockTimeout>().is_some(), "{err}");
        let err = with_lock(&lp, Duration::from_millis(100), || Ok(())).unwrap_err();
        assert!(err.downcast_ref::<LockTimeout>().is_some(), "{err}");
        release.send(()).unwrap();
        holder.join().unwrap();
        setter.join().unwrap();
        // A free lock is taken even with a signal pending.
        let v = interruptible(&flag, || with_lock(&lp, Duration::ZERO, || Ok(7))).unwrap();
        assert_eq!(v, 7);
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
