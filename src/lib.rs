//! seance: talk to an earlier Claude Code session from any of your Claude accounts.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that integration
//! tests and the benchmark corpus generator can reach the same code.

#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod discover;
pub mod link;
pub mod list;
pub mod run;
pub mod talk;
pub mod util;
