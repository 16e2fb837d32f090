//! Platform-specific code, behind `#[cfg]`: Linux and macOS bodies side by side.

pub mod ancestors;
