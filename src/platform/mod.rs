//! Platform differences, one small module per concern, each behind documented functions
//! with `#[cfg(...)]` bodies: the rest of the crate stays platform-free.

pub mod fs;
pub mod proc_clock;
