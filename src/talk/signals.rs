//! Signals during a talk: caught for the whole talk so none kills seance with a link in
//! place, forwarded to claude while it runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// SIGINT, SIGTERM and SIGHUP handlers for one talk. Installed for the whole talk so
/// these signals never kill seance with a link in place; they forward to claude once it
/// runs and otherwise just remember the first signal. Unregistered on drop.
///
/// The handlers only touch atomics and call kill(2), both async-signal-safe. Each talk
/// registers its own, so two talks in one process (tests) do not mix their children.
pub(super) struct Forwarder {
    ids: Vec<signal_hook_registry::SigId>,
    child: Arc<AtomicI32>,
    first: Arc<AtomicI32>,
    /// A signal due to claude that may have arrived before claude's pid was known.
    pending: Arc<AtomicI32>,
}

impl Forwarder {
    pub(super) fn install() -> Result<Forwarder> {
        let child = Arc::new(AtomicI32::new(0));
        let first = Arc::new(AtomicI32::new(0));
        let pending = Arc::new(AtomicI32::new(0));
        let mut ids = Vec::new();
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            let (child, first, pending) =
                (Arc::clone(&child), Arc::clone(&first), Arc::clone(&pending));
            let action = move |info: &libc::siginfo_t| {
                let _ = first.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
                // A terminal's ^C (SI_KERNEL) went to the whole foreground process
                // group, claude included; sending it again would make claude see one ^C
                // as two. (Interactive claude 2.1.197 keeps the terminal raw, so there
                // ^C is input, not a signal; this matters for a cooked terminal, as in
                // -p or before claude sets raw mode.) Signals sent by a process
                // (si_code <= 0: kill, tkill, sigqueue) reached seance alone: pass on.
                if sig == SIGINT && info.si_code == libc::SI_KERNEL {
                    return;
                }
                // Note it before looking at the pid: either we see the pid, or
                // forward_to sees this note (a duplicate is harmless).
                pending.store(sig, Ordering::SeqCst);
                let pid = child.load(Ordering::SeqCst);
                if pid > 0 {
                    // SAFETY: kill(2) is async-signal-safe; pid is our unreaped child.
                    unsafe {
                        libc::kill(pid, sig);
                    }
                }
            };
            // SAFETY: the action only uses atomics and kill(2), which are allowed in a
            // signal handler; it neither allocates nor locks.
            let id = unsafe { signal_hook_registry::register_sigaction(sig, action) }
                .with_context(|| format!("installing a handler for signal {sig}"))?;
            ids.push(id);
        }
        Ok(Forwarder {
            ids,
            child,
            first,
            pending,
        })
    }

    /// From now on, forward to `pid`; also sends it a signal that came in between the
    /// setup check and now.
    pub(super) fn forward_to(&self, pid: u32) {
        let Ok(pid) = i32::try_from(pid) else {
            return;
        };
        self.child.store(pid, Ordering::SeqCst);
        let sig = self.pending.swap(0, Ordering::SeqCst);
        if sig != 0 {
            // SAFETY: kill(2) to our own unreaped child.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }

    /// Stop forwarding (claude has exited).
    pub(super) fn stop_forwarding(&self) {
        self.child.store(0, Ordering::SeqCst);
    }

    /// The first signal received, if any.
    pub(super) fn first_signal(&self) -> Option<i32> {
        match self.first.load(Ordering::SeqCst) {
            0 => None,
            sig => Some(sig),
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        // claude is gone (or never started): nothing to forward to any more.
        self.child.store(0, Ordering::SeqCst);
        for id in self.ids.drain(..) {
            signal_hook_registry::unregister(id);
        }
    }
}

/// Blocks until child `pid` has exited, leaving it unreaped (`waitid` with `WNOWAIT`),
/// retrying on EINTR. Any other error returns at once: the reaping wait that follows
/// reports it.
pub(super) fn wait_exited_unreaped(pid: u32) {
    let id: libc::id_t = pid;
    loop {
        // SAFETY: a zeroed siginfo_t is a valid out-buffer for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid only writes into `info`.
        let r = unsafe { libc::waitid(libc::P_PID, id, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}
