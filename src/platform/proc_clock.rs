//! Process start times as wall-clock times.

use std::time::SystemTime;

/// The wall-clock time at which a process started, from the start time
/// [`crate::link::ledger::ProcId`] records (`start_time`).
///
/// On Linux that is field 22 of `/proc/<pid>/stat`, clock ticks after boot; boot is taken
/// as now on `CLOCK_REALTIME` minus now on `CLOCK_BOOTTIME` (the clock `/proc` counts
/// on), so the answer is exact to a tick (10 ms) plus any wall-clock step since the
/// process started. On macOS the platform layer's process start times are microseconds
/// after the Unix epoch (`proc_pidinfo`), taken as they are. Elsewhere, and for a start
/// time of 0 (unknown), `None`.
pub fn started_at(start_time: u64) -> Option<SystemTime> {
    if start_time == 0 {
        return None;
    }
    imp::started_at(start_time)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn now(clock: libc::clockid_t) -> Option<Duration> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime only writes the timespec it is given.
        if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
            return None;
        }
        Some(Duration::new(
            u64::try_from(ts.tv_sec).ok()?,
            u32::try_from(ts.tv_nsec).ok()?,
        ))
    }

    pub fn started_at(ticks: u64) -> Option<SystemTime> {
        // SAFETY: sysconf has no preconditions.
        let per_sec = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?;
        if per_sec == 0 {
            return None;
        }
        let boot = now(libc::CLOCK_REALTIME)?.checked_sub(now(libc::CLOCK_BOOTTIME)?)?;
        let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(per_sec);
        let after_boot = Duration::from_nanos(u64::try_from(nanos).ok()?);
        UNIX_EPOCH.checked_add(boot)?.checked_add(after_boot)
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    pub fn started_at(micros: u64) -> Option<SystemTime> {
        UNIX_EPOCH.checked_add(Duration::from_micros(micros))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod imp {
    use std::time::SystemTime;

    pub fn started_at(_ticks: u64) -> Option<SystemTime> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::ledger::ProcId;

    #[test]
    fn this_process_started_a_moment_ago() {
        let me = ProcId::current();
        let known = started_at(me.start_time);
        #[cfg(target_os = "linux")]
        assert!(known.is_some(), "Linux always knows");
        let Some(t) = known else { return };
        let age = SystemTime::now()
            .duration_since(t)
            .expect("started in the past");
        assert!(age.as_secs() < 600, "test process is {age:?} old?");
        assert_eq!(started_at(0), None);
    }
}
