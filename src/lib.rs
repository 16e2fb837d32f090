//! seance: talk to an earlier Claude Code session from any of your Claude accounts.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that integration
//! tests and the benchmark corpus generator can reach the same code.

#![warn(missing_docs)]
// Long bodies hide their steps: outside tests no function may exceed 100 lines
// (clippy.toml sets the threshold; tests and benches are separate crates).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod cli;
pub mod complete;
pub mod config;
pub mod discover;
pub mod find;
pub mod link;
pub mod list;
pub mod manpage;
pub mod pick;
pub mod platform;
pub mod run;
pub mod search;
pub mod talk;
pub mod util;
