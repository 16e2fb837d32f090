//! Giving memory back between the phases of a scan.
//!
//! A scan reads transcripts on rayon's worker threads, and glibc's allocator gives each
//! thread its own arena: what the workers free (read buffers, parse temporaries, fork
//! chains once the forks are linked) stays in their arenas, where the main thread's
//! later allocations (the merged sessions) cannot reuse it. Trimming the arenas between
//! the phases returns those pages to the kernel. Other allocators (macOS's, musl's)
//! keep no such per-thread arenas, or give memory back on their own; there this does
//! nothing.

/// Returns the free memory of every allocator arena to the kernel, where the platform's
/// allocator holds it back (glibc). Costs about a millisecond after a scan's read phase.
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; 0 keeps no pad.
    unsafe {
        libc::malloc_trim(0);
    }
}
