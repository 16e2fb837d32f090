//! Ending a child with its parent, on every platform: a watchdog process.
//!
//! claude must not outlive seance: a claude whose seance was killed before it noted
//! claude's pid in the ledger would look ownerless to the reaper, which would take its
//! link away. Linux has `PR_SET_PDEATHSIG` for this; macOS has nothing a child can ask
//! for before exec (kqueue's `EVFILT_PROC` only tells a process that watches). So
//! seance forks a watchdog: a copy of itself that does nothing but read a pipe whose
//! only write end seance holds. The child seance starts registers its pid on that pipe
//! before it execs (from its `pre_exec` hook, so no moment exists in which it runs
//! unregistered). When seance exits in any way, SIGKILL included, the kernel closes the
//! write end; the watchdog reads end-of-file and sends the child SIGTERM, as
//! `PR_SET_PDEATHSIG` did. When the child has exited normally, seance releases the
//! watchdog first (one byte), and it leaves without a signal.
//!
//! One mechanism for both platforms, so the Linux tests exercise what ships on macOS.
//! What it cannot do that `PR_SET_PDEATHSIG` could: survive its own SIGKILL (it ignores
//! every other signal, the terminal's ^C and ^Z among them); and it signals by pid, so
//! if the child had already exited and been reaped by init in the microseconds between
//! seance's death and the watchdog's kill(2), a pid reused in that instant would get the
//! SIGTERM (a pid is reused only after the pid space wraps).

use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// One message on the pipe: a tag byte, three zero bytes, then a native-endian pid.
/// Eight bytes, far below `PIPE_BUF`, so each write arrives whole.
const MSG: usize = 8;
/// Tag: the child with this pid is about to exec; end it if seance dies.
const REGISTER: u8 = b'P';
/// Tag: the child has exited (or never started); leave without a signal.
const RELEASE: u8 = b'R';

/// A running watchdog and the pipe that keeps it waiting; see the module docs.
///
/// Dropping a `Tether` without [`Tether::release`] closes the pipe, so the watchdog ends
/// the registered child, as seance's death would.
#[derive(Debug)]
pub struct Tether {
    write: Option<OwnedFd>,
    watchdog: libc::pid_t,
}

impl Tether {
    /// Forks the watchdog. Call it while this process holds no `flock` (the watchdog
    /// keeps copies of every open file, so a lock held now would stay held).
    ///
    /// Errors: the pipe or the fork fails (too many processes or files).
    pub fn new() -> io::Result<Tether> {
        let (read, write) = io::pipe()?;
        let (read, write) = (OwnedFd::from(read), OwnedFd::from(write));
        let max_fd = max_fd();
        // SAFETY: the child runs only `watch`, which makes async-signal-safe calls and
        // never returns, so nothing of the parent's (locks, allocator) is touched.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => watch(read.as_raw_fd(), max_fd),
            pid => Ok(Tether {
                write: Some(write),
                watchdog: pid,
            }),
        }
    }

    /// The watchdog's pid.
    pub fn watchdog_pid(&self) -> u32 {
        self.watchdog.unsigned_abs()
    }

    /// Makes `cmd`'s child register with the watchdog just before it execs. If the
    /// watchdog is gone (killed), the child does not start and `spawn` fails with
    /// `EPIPE`.
    pub fn bind(&self, cmd: &mut Command) {
        let fd = self.write.as_ref().map_or(-1, AsRawFd::as_raw_fd);
        // SAFETY: the hook makes only async-signal-safe calls (getpid, signal, write)
        // and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                let msg = message(REGISTER, libc::getpid());
                // std resets SIGPIPE to its default before the hooks run: ignore it for
                // this write so a dead watchdog means EPIPE, not a silent death.
                let old = libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                let n = libc::write(fd, msg.as_ptr().cast(), MSG);
                libc::signal(libc::SIGPIPE, old);
                if usize::try_from(n).ok() != Some(MSG) {
                    // No allocation after fork: a plain errno (EPIPE, the watchdog died).
                    return Err(io::Error::from_raw_os_error(libc::EPIPE));
                }
                Ok(())
            });
        }
    }

    /// The child has exited (or never started): tell the watchdog to leave without a
    /// signal, and reap it. Call it before reaping the child, so the watchdog can never
    /// signal a pid that was reused.
    pub fn release(mut self) {
        if let Some(write) = self.write.take() {
            let _ = std::fs::File::from(write).write_all(&message(RELEASE, 0));
        }
        self.reap();
    }

    fn reap(&mut self) {
        if self.watchdog <= 0 {
            return;
        }
        loop {
            let mut status = 0;
            // SAFETY: waitpid on our own child.
            let r = unsafe { libc::waitpid(self.watchdog, &mut status, 0) };
            if r >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                break;
            }
        }
        self.watchdog = 0;
    }
}

impl Drop for Tether {
    fn drop(&mut self) {
        // Closing the write end is what seance's death does: the watchdog ends the child.
        self.write = None;
        self.reap();
    }
}

fn message(tag: u8, pid: libc::pid_t) -> [u8; MSG] {
    let mut msg = [0u8; MSG];
    msg[0] = tag;
    msg[4..].copy_from_slice(&pid.to_ne_bytes());
    msg
}

/// One more than the highest fd this process may have open (the soft `RLIMIT_NOFILE`,
/// at most 2^20): how far the watchdog closes fds where it has no `close_range`.
pub(super) fn max_fd() -> libc::c_int {
    // SAFETY: getrlimit writes into `lim`; zeroed is a valid rlimit.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1 << 20;
    }
    libc::c_int::try_from(lim.rlim_cur.min(1 << 20)).unwrap_or(1 << 20)
}

/// The watchdog's whole life, in the forked child: ignore signals, keep only the read
/// end (as fd 0), read messages until RELEASE (exit quietly) or end-of-file (SIGTERM
/// the registered child, if any). Only async-signal-safe calls: this runs after a fork
/// of a multi-threaded process.
fn watch(read: libc::c_int, max_fd: libc::c_int) -> ! {
    // SAFETY: plain syscalls on our own fds and signal dispositions.
    unsafe {
        // The terminal's ^C, ^\ and ^Z reach the whole foreground group, this process
        // included; a hangup reaches the session. None may end or stop the watchdog
        // while seance lives (SIGKILL and SIGSTOP cannot be ignored).
        for sig in 1..65 {
            libc::signal(sig, libc::SIG_IGN);
        }
        // Every other fd goes: the write end (or end-of-file would never come), the
        // terminal, seance's stdout, and other tethers' pipes in the same process.
        if read != 0 && libc::dup2(read, 0) != 0 {
            libc::_exit(1);
        }
        close_fds_from(1, max_fd);
        let read = 0;
        name_watchdog();
        let mut child: libc::pid_t = 0;
        loop {
            let mut msg = [0u8; MSG];
            match read_full(read, &mut msg) {
                Some(true) => match msg[0] {
                    REGISTER if child == 0 => {
                        child = libc::pid_t::from_ne_bytes([msg[4], msg[5], msg[6], msg[7]]);
                    }
                    RELEASE => libc::_exit(0),
                    _ => {}
                },
                Some(false) => {
                    if child > 0 {
                        libc::kill(child, libc::SIGTERM);
                    }
                    libc::_exit(0);
                }
                // A read error on our own pipe cannot happen; never signal on a doubt.
                None => libc::_exit(1),
            }
        }
    }
}

/// Fills `buf` from `fd`: `Some(true)` when full, `Some(false)` at end-of-file (a
/// partial message counts as none), `None` on an error other than EINTR.
fn read_full(fd: libc::c_int, buf: &mut [u8; MSG]) -> Option<bool> {
    let mut got = 0;
    while got < MSG {
        // SAFETY: reads at most the rest of `buf` into it.
        let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), MSG - got) };
        match usize::try_from(n) {
            Ok(0) => return Some(false),
            Ok(n) => got += n,
            Err(_) if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => {}
            Err(_) => return None,
        }
    }
    Some(true)
}

/// Closes every fd from `low` up (below `max_fd` where it must go one by one).
pub(super) fn close_fds_from(low: libc::c_int, max_fd: libc::c_int) {
    #[cfg(target_os = "linux")]
    // SAFETY: close_range(2) (Linux 5.9) only closes fds; an older kernel says ENOSYS.
    unsafe {
        let all = libc::c_uint::MAX;
        if libc::syscall(libc::SYS_close_range, low.unsigned_abs(), all, 0) == 0 {
            return;
        }
    }
    for fd in low..max_fd {
        // SAFETY: closing an fd that may not be open just fails with EBADF.
        unsafe {
            libc::close(fd);
        }
    }
}

/// Names the watchdog `seance-watchdog` where the OS lets a process rename itself
/// (Linux; `ps` shows it), so it is not taken for a second seance.
fn name_watchdog() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_NAME reads a NUL-terminated name of at most 16 bytes.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, c"seance-watchdog".as_ptr());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Child;
    use std::time::{Duration, Instant};

    /// A child that writes `ready` when it runs, records a SIGTERM in `log`, and exits 3
    /// on it; 0 after 30 s otherwise (or after `secs`).
    fn recorder(dir: &Path, secs: u32) -> Command {
        let script = format!(
            "trap 'echo TERM > \"{log}\"; exit 3' TERM; touch \"{ready}\"; i=0; \
             while [ $i -lt {ticks} ]; do sleep 0.1; i=$((i+1)); done; exit 0",
            log = dir.join("log").display(),
            ready = dir.join("ready").display(),
            ticks = secs * 10,
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        cmd
    }

    fn wait_for(path: &Path) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path.exists() {
            assert!(
                Instant::now() < deadline,
                "{} never appeared",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn spawn_bound(tether: &Tether, mut cmd: Command) -> Child {
        tether.bind(&mut cmd);
        cmd.spawn().unwrap()
    }

    /// Reaped (a pid is reused only after the pid space wraps).
    fn gone(pid: u32) -> bool {
        !crate::platform::process::exists(pid)
    }

    #[test]
    fn closing_the_pipe_as_a_dying_parent_would_ends_the_child() {
        let tmp = tempfile::tempdir().unwrap();
        let tether = Tether::new().unwrap();
        let watchdog = tether.watchdog_pid();
        let mut child = spawn_bound(&tether, recorder(tmp.path(), 30));
        wait_for(&tmp.path().join("ready"));
        let start = Instant::now();
        drop(tether);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(3), "ended by SIGTERM");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("log")).unwrap(),
            "TERM\n"
        );
        assert!(gone(watchdog), "the watchdog was reaped");
    }

    #[test]
    fn a_released_watchdog_leaves_without_a_signal() {
        let tmp = tempfile::tempdir().unwrap();
        let tether = Tether::new().unwrap();
        let mut child = spawn_bound(&tether, recorder(tmp.path(), 1));
        wait_for(&tmp.path().join("ready"));
        tether.release();
        assert_eq!(child.wait().unwrap().code(), Some(0), "ran to its end");
        assert!(!tmp.path().join("log").exists());
    }

    #[test]
    fn with_no_child_registered_the_watchdog_just_leaves() {
        for release in [false, true] {
            let tether = Tether::new().unwrap();
            let watchdog = tether.watchdog_pid();
            if release {
                tether.release();
            } else {
                drop(tether);
            }
            assert!(gone(watchdog));
        }
    }

    #[test]
    fn terminal_signals_do_not_end_the_watchdog() {
        let tmp = tempfile::tempdir().unwrap();
        let tether = Tether::new().unwrap();
        let watchdog = libc::pid_t::try_from(tether.watchdog_pid()).unwrap();
        let mut child = spawn_bound(&tether, recorder(tmp.path(), 30));
        wait_for(&tmp.path().join("ready"));
        for sig in [
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGHUP,
            libc::SIGTERM,
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGPIPE,
            libc::SIGUSR1,
        ] {
            // SAFETY: kill(2) to our own child.
            assert_eq!(unsafe { libc::kill(watchdog, sig) }, 0);
        }
        std::thread::sleep(Duration::from_millis(200));
        let mut status = 0;
        // SAFETY: waitpid on our own child; WUNTRACED also reports a stop.
        let r = unsafe { libc::waitpid(watchdog, &mut status, libc::WNOHANG | libc::WUNTRACED) };
        assert_eq!(r, 0, "the watchdog died or stopped: {status:#x}");
        drop(tether);
        assert_eq!(child.wait().unwrap().code(), Some(3), "still on watch");
    }

    #[test]
    fn a_dead_watchdog_stops_the_child_from_starting() {
        let tether = Tether::new().unwrap();
        let watchdog = libc::pid_t::try_from(tether.watchdog_pid()).unwrap();
        // SAFETY: kill(2) and waitpid on our own child.
        unsafe {
            libc::kill(watchdog, libc::SIGKILL);
            libc::waitpid(watchdog, std::ptr::null_mut(), 0);
        }
        let mut cmd = Command::new("true");
        tether.bind(&mut cmd);
        let err = cmd.spawn().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err}");
        drop(tether);
    }
}
