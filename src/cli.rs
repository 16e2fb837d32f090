//! Command-line types (clap) and the top-level dispatch.

/// Entry point used by `main`; returns the process exit code.
pub fn main() -> i32 {
    0
}
