//! The processes above this one: `--last` skips the session seance runs inside, which
//! is a claude among its ancestors.
//!
//! Linux reads the parent pid from `/proc/<pid>/stat`; macOS asks `proc_pidinfo`
//! (`PROC_PIDTBSDINFO`).

/// At most this many ancestors are walked (a loop or a very deep tree stops there).
const MAX_DEPTH: usize = 64;

/// The parent of process `pid`, when it can be read and is a real process (not 0).
pub fn parent_of(pid: u32) -> Option<u32> {
    imp::parent_of(pid).filter(|&p| p != 0)
}

/// The pids above this process, nearest first: its parent, the parent's parent, and so
/// on up to (not including) pid 1, at most 64 of them. Empty when even the parent
/// cannot be read.
pub fn ancestors() -> Vec<u32> {
    let mut out = Vec::new();
    let mut pid = std::process::id();
    while out.len() < MAX_DEPTH {
        match parent_of(pid) {
            Some(p) if p > 1 && !out.contains(&p) => {
                out.push(p);
                pid = p;
            }
            _ => break,
        }
    }
    out
}

#[cfg(target_os = "linux")]
mod imp {
    use std::path::PathBuf;

    /// `/proc/<pid>/stat` is one short line: `pid (comm) state ppid ...`, where comm may
    /// hold spaces and parentheses, so the fields are read after the last `)`.
    pub(super) fn parent_of(pid: u32) -> Option<u32> {
        let path = PathBuf::from(format!("/proc/{pid}/stat"));
        let bytes = crate::util::fsread::read_capped(&path, 4096).ok()?;
        parse_stat(&bytes)
    }

    pub(super) fn parse_stat(bytes: &[u8]) -> Option<u32> {
        let close = bytes.iter().rposition(|&b| b == b')')?;
        let rest = std::str::from_utf8(&bytes[close + 1..]).ok()?;
        let mut fields = rest.split_ascii_whitespace();
        let _state = fields.next()?;
        fields.next()?.parse().ok()
    }
}

#[cfg(target_os = "macos")]
mod imp {
    /// The BSD info of `pid` holds its parent's pid.
    pub(super) fn parent_of(pid: u32) -> Option<u32> {
        let pid = i32::try_from(pid).ok()?;
        let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
        // SAFETY: proc_pidinfo writes at most `size` bytes into `info`, which is a
        // properly aligned, zeroed proc_bsdinfo.
        let n = unsafe {
            libc::proc_pidinfo(
                pid,
                libc::PROC_PIDTBSDINFO,
                0,
                (&raw mut info).cast::<libc::c_void>(),
                size,
            )
        };
        (n == size).then_some(info.pbi_ppid)
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod imp {
    /// Unknown elsewhere: no ancestors are found, so none is skipped.
    pub(super) fn parent_of(_pid: u32) -> Option<u32> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_the_first_ancestor() {
        let parent = std::os::unix::process::parent_id();
        let a = ancestors();
        if parent > 1 {
            assert_eq!(a.first(), Some(&parent), "{a:?}");
        }
        assert!(!a.contains(&std::process::id()));
        assert_eq!(parent_of(std::process::id()), Some(parent));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        assert_eq!(imp::parse_stat(b"42 (a b) c) S 7 42 42 0"), Some(7));
        assert_eq!(imp::parse_stat(b"42 (x) R 1 0"), Some(1));
        assert_eq!(imp::parse_stat(b"garbage"), None);
        assert_eq!(imp::parse_stat(b"1 (x) S notanumber"), None);
    }
}
