//! Small helpers used by several parts: atomic file writes, bounded reads, terminal
//! sanitising, seance's stderr lines, times.

pub mod atomic;
pub mod fsread;
pub mod jsonscan;
pub mod sanitize;
pub mod say;
pub mod timefmt;
