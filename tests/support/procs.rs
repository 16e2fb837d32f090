//! Looking at live processes through `/proc` (Linux), so signal tests can find the claude
//! that seance started and check that it is gone.

use std::time::{Duration, Instant};

/// Parent pid and state letter of `pid`, from `/proc/<pid>/stat`.
fn stat(pid: i32) -> Option<(i32, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces; fields follow the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|(_, state)| state != 'Z' && state != 'X')
}

/// Whether `pid` is seance's watchdog (src/platform/tether.rs, which ends claude if
/// seance dies); it names itself so.
fn is_watchdog(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == "seance-watchdog\n")
}

/// The live children of `pid`, seance's watchdog left out.
pub fn children(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&child| stat(child).is_some_and(|(ppid, _)| ppid == pid) && alive(child))
        .filter(|&child| !is_watchdog(child))
        .collect()
}

/// Waits up to `limit` for `pid` to have exactly one live child and returns it.
pub fn only_child(pid: i32, limit: Duration) -> i32 {
    let start = Instant::now();
    loop {
        let kids = children(pid);
        if kids.len() == 1 {
            return kids[0];
        }
        assert!(
            start.elapsed() < limit,
            "process {pid} should have one child, has {kids:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits up to `limit` for `pid` to be gone (or a zombie); returns whether it is.
pub fn wait_gone(pid: i32, limit: Duration) -> bool {
    let start = Instant::now();
    while alive(pid) {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Sends `signal` to `pid`; panics if that fails.
pub fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}
