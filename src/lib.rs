//! seance: talk to an earlier Claude Code session from any of your Claude accounts.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that integration
//! tests and the benchmark corpus generator can reach the same code.

#![warn(missing_docs)]

pub mod accounts;
pub mod atomic;
pub mod cache;
pub mod cli;
pub mod config;
pub mod discover;
pub mod events;
pub mod folder;
pub mod index;
pub mod index_patch;
pub mod ledger;
pub mod linker;
pub mod list;
pub mod lock;
pub mod output;
pub mod reaper;
pub mod resolve;
pub mod run;
pub mod sanitize;
pub mod talk;
pub mod timefmt;
pub mod transcript;
