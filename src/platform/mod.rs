//! Where seance differs between operating systems. Linux and macOS are supported (other
//! Unixes build with portable fallbacks). Each concern is one small module with
//! `#[cfg(...)]` bodies behind one documented function or type; the rest of the crate
//! is platform-free and goes through these.
//!
//! - [`process`]: whether a pid is still the process seance noted (its start time), and
//!   whether it has finished (a zombie).
//! - [`signals`]: the signals a talk handles, and telling a terminal's ^C from kill(1).
//! - [`tether`]: a watchdog that ends claude when seance dies, however it dies.
//! - [`ancestors`]: a process's parent chain (is seance running inside a claude?).
//! - [`fs`]: file birth times (which of two copies of a conversation came first).
//! - [`proc_clock`]: the clock process start times are counted in.
//! - [`memory`]: giving the allocator's free memory back between a scan's phases.

pub mod ancestors;
pub mod fs;
pub mod memory;
pub mod proc_clock;
pub mod process;
pub mod signals;
pub mod tether;
