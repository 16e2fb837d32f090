//! Small helpers used by several parts: atomic file writes, terminal sanitising, times.

pub mod atomic;
pub mod fsread;
pub mod sanitize;
pub mod timefmt;
