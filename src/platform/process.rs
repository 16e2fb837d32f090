//! Process identity. A pid alone does not name a process for long: the OS hands a freed
//! pid to the next new process. So seance notes each process's start time as well, and
//! a process counts as the same one only while pid and start time both match.

/// What the OS says about one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessInfo {
    /// When the process started, in the platform's own unit; it only has to be equal for
    /// the same process and differ for a later one given the same pid.
    /// - Linux: clock ticks after boot, field 22 (`starttime`) of `/proc/<pid>/stat`.
    /// - macOS: microseconds after the Unix epoch, from `proc_pidinfo(PROC_PIDTBSDINFO)`
    ///   (`pbi_start_tvsec` and `pbi_start_tvusec`).
    pub start_time: u64,
    /// The process has exited and waits for its parent to reap it (a zombie): it holds
    /// nothing any more.
    pub zombie: bool,
}

/// Looks up process `pid`.
///
/// `None` when there is no such process, or when the platform cannot tell: Linux with no
/// readable `/proc/<pid>/stat` (no `/proc`, or `hidepid`); macOS for another user's
/// process (`proc_pidinfo` answers only about the caller's own, or root's caller); other
/// Unixes always. Callers then fall back to [`exists`].
pub fn info(pid: u32) -> Option<ProcessInfo> {
    imp::info(pid)
}

/// Whether a process `pid` exists, zombies included: `kill(pid, 0)` succeeds, or fails
/// only for lack of permission. False for pid 0 and for pids beyond `pid_t`.
pub fn exists(pid: u32) -> bool {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let delivered = unsafe { libc::kill(raw, 0) } == 0;
    delivered || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::ProcessInfo;

    pub(super) fn info(pid: u32) -> Option<ProcessInfo> {
        if pid == 0 {
            return None;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(&stat)
    }

    /// Fields 3 (`state`) and 22 (`starttime`) of a `/proc/<pid>/stat` line. The command
    /// name (field 2) is in parentheses and may hold spaces or `)`, so fields are counted
    /// after the last `)`.
    pub(super) fn parse_stat(stat: &str) -> Option<ProcessInfo> {
        let rest = stat.get(stat.rfind(')')? + 1..)?;
        let mut fields = rest.split_whitespace();
        let state = fields.next()?.chars().next()?;
        // Field 3 was the first after ")"; field 22 is the 19th after it.
        let start_time = fields.nth(18)?.parse().ok()?;
        Some(ProcessInfo {
            start_time,
            // Z: zombie; X (x on old kernels): dead, about to vanish.
            zombie: matches!(state, 'Z' | 'X' | 'x'),
        })
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use super::ProcessInfo;

    pub(super) fn info(pid: u32) -> Option<ProcessInfo> {
        let pid = libc::c_int::try_from(pid).ok().filter(|&p| p > 0)?;
        // SAFETY: proc_bsdinfo is plain integers and byte arrays; all zeros is valid.
        let mut bsd: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
        let size = libc::c_int::try_from(std::mem::size_of::<libc::proc_bsdinfo>()).ok()?;
        // arg 1: XNU looks zombies up too for PROC_PIDTBSDINFO, but only when arg != 0.
        // SAFETY: the kernel writes at most `size` bytes into `bsd`.
        let n = unsafe {
            libc::proc_pidinfo(pid, libc::PROC_PIDTBSDINFO, 1, (&raw mut bsd).cast(), size)
        };
        if n != size {
            return None;
        }
        let start_time = bsd
            .pbi_start_tvsec
            .saturating_mul(1_000_000)
            .saturating_add(bsd.pbi_start_tvusec);
        Some(ProcessInfo {
            start_time,
            zombie: bsd.pbi_status == libc::SZOMB,
        })
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod imp {
    use super::ProcessInfo;

    pub(super) fn info(_pid: u32) -> Option<ProcessInfo> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[cfg(target_os = "linux")]
    #[test]
    fn parses_stat_after_a_tricky_command_name() {
        let stat =
            "1234 (a) b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        let info = imp::parse_stat(stat).unwrap();
        assert_eq!(info.start_time, 987654);
        assert!(!info.zombie);
        let zombie = stat.replace(") S ", ") Z ");
        assert!(imp::parse_stat(&zombie).unwrap().zombie);
        assert_eq!(imp::parse_stat("garbage"), None);
        assert_eq!(imp::parse_stat("1 (x) S 1 2"), None);
        assert_eq!(imp::parse_stat("1 (x)"), None);
    }

    /// The start time is read on every supported platform, is stable, and a process
    /// started later has a later (or, within one clock tick, equal) one.
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    #[test]
    fn start_times_of_this_process_and_a_later_child() {
        let me = info(std::process::id()).expect("this process");
        assert!(me.start_time > 0);
        assert!(!me.zombie);
        assert_eq!(info(std::process::id()), Some(me), "stable");
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let it = info(child.id()).expect("a running child");
        assert!(it.start_time >= me.start_time, "{it:?} vs {me:?}");
        assert!(!it.zombie);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// An exited, unreaped child is a zombie; once reaped it is gone.
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    #[test]
    fn zombies_are_seen_and_reaped_children_are_gone() {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Wait for the exit without reaping (WNOWAIT), so the child stays a zombie.
        // SAFETY: a zeroed siginfo_t is a valid out-buffer; waitid only writes into it.
        let r = unsafe {
            let mut si: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, pid, &mut si, libc::WEXITED | libc::WNOWAIT)
        };
        assert_eq!(r, 0);
        assert!(exists(pid), "a zombie still exists");
        let zombie = info(pid).expect("a zombie is found");
        assert!(zombie.zombie);
        child.wait().unwrap();
        assert_ne!(info(pid), Some(zombie), "reaped: gone (or another process)");
    }

    #[test]
    fn impossible_pids_do_not_exist() {
        assert!(!exists(0));
        assert!(!exists(u32::MAX));
        assert_eq!(info(0), None);
        assert_eq!(info(u32::MAX), None);
        assert!(exists(std::process::id()));
    }
}
