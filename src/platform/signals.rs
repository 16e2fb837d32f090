//! Signals during a talk: which ones seance catches, and whether a ^C or ^\ came from
//! the terminal (which sent it to claude as well) or from a process (which sent it to
//! seance alone).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use libc::c_int;

/// The signals seance catches during a talk (forwarded to claude, then the undo runs):
/// every signal whose default action ends the process, except
/// - SIGKILL, which cannot be caught;
/// - SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGABRT (and SIGEMT on macOS):
///   faults in seance itself or its own abort, after which it must not carry on;
/// - SIGPIPE: Rust programs ignore it (a write to a closed pipe fails with `EPIPE`
///   instead), and catching it would turn seance's own write to a closed stdout or
///   stderr into a signal for claude.
///
/// Linux: SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGSTKFLT,
/// SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO (also named SIGPOLL), SIGPWR, then the
/// real-time signals SIGRTMIN..=SIGRTMAX (the C library keeps those below SIGRTMIN for
/// itself). macOS and other Unixes: SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
/// SIGTERM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF (SIGIO is ignored by default there).
pub fn handled() -> Vec<c_int> {
    imp::handled()
}

/// seance's controlling terminal (`/dev/tty`), kept open while a talk runs so a signal
/// handler can ask it which process group is in the foreground.
#[derive(Debug)]
pub struct ControllingTerminal {
    fd: Option<OwnedFd>,
}

impl ControllingTerminal {
    /// Opens `/dev/tty` (close-on-exec, so claude does not inherit it). Without a
    /// controlling terminal (cron, a service, `setsid`) there is none, and every signal
    /// counts as sent by a process.
    pub fn open() -> ControllingTerminal {
        let flags = libc::O_RDONLY | libc::O_NOCTTY | libc::O_CLOEXEC | libc::O_NONBLOCK;
        // SAFETY: a NUL-terminated literal path; open only reads it.
        let fd = unsafe { libc::open(c"/dev/tty".as_ptr(), flags) };
        ControllingTerminal {
            // SAFETY: open just returned this fd, and nothing else owns it.
            fd: (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) }),
        }
    }

    /// Whether `sig`, just received with `info`, came from the terminal, which sends it
    /// to its whole foreground process group: claude (pid `claude`; 0 before it runs)
    /// then has it already and must not get it a second time from seance.
    ///
    /// True only for SIGINT and SIGQUIT (the keys ^C and ^\) that no process is known to
    /// have sent, while seance's process group is the terminal's foreground group and
    /// claude (once it runs) is in that group too. Whether a process sent the signal:
    /// Linux says so in `si_code` (`SI_USER`, `SI_TKILL`, `SI_QUEUE` are all <= 0; the
    /// terminal's is `SI_KERNEL`); macOS does not (XNU sets `si_code` to 0 for every
    /// signal, kill(2) and terminal alike), so there a SIGINT or SIGQUIT that a process
    /// sends to a seance running in the terminal's foreground is taken for the
    /// terminal's and not forwarded (claude gets it from the terminal's next ^C).
    ///
    /// Async-signal-safe: only `tcgetpgrp`, `getpgrp` and `getpgid`, no allocation.
    pub fn sent_to_claude_too(&self, sig: c_int, info: &libc::siginfo_t, claude: i32) -> bool {
        if sig != libc::SIGINT && sig != libc::SIGQUIT {
            return false;
        }
        if imp::sent_by_a_process(info) {
            return false;
        }
        let Some(fd) = &self.fd else {
            return false;
        };
        // SAFETY: plain syscalls on an fd we own and on process ids.
        unsafe {
            let ours = libc::getpgrp();
            libc::tcgetpgrp(fd.as_raw_fd()) == ours
                && (claude <= 0 || libc::getpgid(claude) == ours)
        }
    }

    /// A terminal from an fd this process owns (tests: a pseudo-terminal).
    #[cfg(test)]
    fn from_fd(fd: OwnedFd) -> ControllingTerminal {
        ControllingTerminal { fd: Some(fd) }
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use libc::c_int;

    pub(super) fn handled() -> Vec<c_int> {
        let mut sigs = vec![
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGALRM,
            libc::SIGTERM,
            #[cfg(not(any(
                target_arch = "mips",
                target_arch = "mips64",
                target_arch = "sparc",
                target_arch = "sparc64"
            )))]
            libc::SIGSTKFLT,
            libc::SIGXCPU,
            libc::SIGXFSZ,
            libc::SIGVTALRM,
            libc::SIGPROF,
            libc::SIGIO,
            libc::SIGPWR,
        ];
        sigs.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
        sigs
    }

    /// kill(2), tkill(2) and sigqueue(3) set `si_code` <= 0; the kernel's own signals
    /// (the terminal's among them) set `SI_KERNEL` or another positive code.
    pub(super) fn sent_by_a_process(info: &libc::siginfo_t) -> bool {
        info.si_code <= 0
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use libc::c_int;

    pub(super) fn handled() -> Vec<c_int> {
        vec![
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGALRM,
            libc::SIGTERM,
            libc::SIGXCPU,
            libc::SIGXFSZ,
            libc::SIGVTALRM,
            libc::SIGPROF,
        ]
    }

    /// Unknown: XNU (and the BSDs) leave `si_code` 0 for kill(2) and terminal alike.
    pub(super) fn sent_by_a_process(_info: &libc::siginfo_t) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Signals seance must not catch though their default action ends the process.
    fn excluded() -> Vec<c_int> {
        vec![
            libc::SIGKILL,
            libc::SIGPIPE,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGTRAP,
            libc::SIGSYS,
            libc::SIGABRT,
            #[cfg(target_os = "macos")]
            libc::SIGEMT,
        ]
    }

    /// The highest signal number, and whether a number below it is the C library's own
    /// (glibc keeps 32 and 33 below SIGRTMIN for its threads).
    fn signal_numbers() -> Vec<c_int> {
        #[cfg(target_os = "linux")]
        let (max, reserved) = (libc::SIGRTMAX(), (32..libc::SIGRTMIN()).collect::<Vec<_>>());
        #[cfg(not(target_os = "linux"))]
        let (max, reserved) = (31, Vec::<c_int>::new());
        (1..=max).filter(|s| !reserved.contains(s)).collect()
    }

    /// Forks a child that restores `sig`'s default action, unblocks everything, turns
    /// core dumps off and waits; returns its pid once it is ready.
    fn waiting_child(sig: c_int) -> libc::pid_t {
        let max_fd = crate::platform::tether::max_fd();
        let mut fds = [0; 2];
        // SAFETY: pipe writes two fds into the array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child only makes async-signal-safe calls, then waits or exits.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork");
            if pid == 0 {
                libc::signal(sig, libc::SIG_DFL);
                let mut all: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut all);
                libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
                let none = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &none);
                libc::write(fds[1], b"r".as_ptr().cast(), 1);
                // Hold no copy of other tests' pipes while waiting.
                crate::platform::tether::close_fds_from(0, max_fd);
                loop {
                    libc::pause();
                }
            }
            libc::close(fds[1]);
            let mut b = 0u8;
            assert_eq!(libc::read(fds[0], (&raw mut b).cast(), 1), 1, "child ready");
            libc::close(fds[0]);
            pid
        }
    }

    /// Checks the list against what the OS does: each signal is sent to a child with
    /// default dispositions, and those that end it (less [`excluded`]) must be exactly
    /// [`handled`].
    #[test]
    fn handled_is_every_signal_whose_default_action_ends_the_process_but_the_excluded() {
        let sigs = signal_numbers();
        let children: Vec<_> = sigs.iter().map(|&s| (s, waiting_child(s))).collect();
        for &(sig, pid) in &children {
            // SAFETY: kill(2) to our own child.
            assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
        }
        // Wait until every listed signal (handled or excluded) has ended its child, then
        // a little longer for any unlisted one that would too; give up after 20 s (a
        // loaded machine may take a while to schedule dozens of children).
        let listed: Vec<c_int> = handled().into_iter().chain(excluded()).collect();
        let mut ends = Vec::new();
        let mut running = children;
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut settled: Option<Instant> = None;
        while Instant::now() < deadline
            && settled.is_none_or(|t| t.elapsed() < Duration::from_millis(300))
        {
            running.retain(|&(sig, pid)| {
                let mut status = 0;
                // SAFETY: waitpid on our own child.
                let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
                if r == 0 {
                    return true;
                }
                assert!(
                    r == pid && libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == sig,
                    "signal {sig}: the child ended otherwise ({r}, {status:#x})"
                );
                ends.push(sig);
                false
            });
            if settled.is_none() && listed.iter().all(|s| !running.iter().any(|r| r.0 == *s)) {
                settled = Some(Instant::now());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for (_, pid) in running {
            // SAFETY: kill/waitpid on our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
        ends.sort_unstable();
        assert!(ends.contains(&libc::SIGTERM) && !ends.contains(&libc::SIGCHLD));
        let expected: Vec<c_int> = ends
            .into_iter()
            .filter(|s| !excluded().contains(s))
            .collect();
        let mut got = handled();
        got.sort_unstable();
        assert_eq!(got, expected);
    }

    fn info_with_code(code: c_int) -> libc::siginfo_t {
        // SAFETY: siginfo_t is plain data; all zeros is valid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        info.si_code = code;
        info
    }

    #[test]
    fn without_a_terminal_or_with_someone_elses_every_signal_is_a_process_s() {
        let none = ControllingTerminal { fd: None };
        let info = info_with_code(0x80);
        assert!(!none.sent_to_claude_too(libc::SIGINT, &info, 0));
        // A pseudo-terminal that is not this process's controlling terminal.
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two fds; null means default name, termios and size.
        let r = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(r, 0, "openpty");
        // SAFETY: both fds were just returned by openpty and are owned here.
        let (_master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let other = ControllingTerminal::from_fd(slave);
        assert!(!other.sent_to_claude_too(libc::SIGINT, &info, 0));
    }

    /// In a child that is a pseudo-terminal's session leader (so in its foreground
    /// group): a keyboard signal not sent by a process reached claude too when claude
    /// shares the group, and not otherwise; other signals never.
    #[test]
    fn keyboard_signals_in_the_foreground_group_reach_claude_directly() {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: as above.
        let r = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(r, 0, "openpty");
        // What the terminal's SIGINT looks like (Linux: SI_KERNEL; macOS: 0), and a
        // kill(2)'s on Linux.
        let terminal = info_with_code(if cfg!(target_os = "linux") { 0x80 } else { 0 });
        let max_fd = crate::platform::tether::max_fd();
        let killed = info_with_code(0);
        // SAFETY: the child makes only async-signal-safe calls (no allocation: the
        // checks below are plain syscalls) and ends with _exit.
        let status = unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork");
            if pid == 0 {
                libc::close(master);
                if libc::setsid() < 0 || libc::ioctl(slave, libc::TIOCSCTTY as _, 0) < 0 {
                    libc::_exit(100);
                }
                let tty = ControllingTerminal::open();
                // A "claude" in a process group of its own.
                let other = libc::fork();
                if other == 0 {
                    crate::platform::tether::close_fds_from(0, max_fd);
                    libc::setpgid(0, 0);
                    loop {
                        libc::pause();
                    }
                }
                libc::setpgid(other, other);
                let mut bits = 0;
                let checks = [
                    tty.sent_to_claude_too(libc::SIGINT, &terminal, 0),
                    tty.sent_to_claude_too(libc::SIGQUIT, &terminal, libc::getpid()),
                    !tty.sent_to_claude_too(libc::SIGTERM, &terminal, 0),
                    !tty.sent_to_claude_too(libc::SIGINT, &terminal, other),
                    !cfg!(target_os = "linux") || !tty.sent_to_claude_too(libc::SIGINT, &killed, 0),
                ];
                for (i, ok) in checks.into_iter().enumerate() {
                    if !ok {
                        bits |= 1 << i;
                    }
                }
                libc::kill(other, libc::SIGKILL);
                libc::_exit(bits);
            }
            libc::close(slave);
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            libc::close(master);
            status
        };
        assert!(libc::WIFEXITED(status), "{status:#x}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "failed checks (bit i = check i)"
        );
    }
}
