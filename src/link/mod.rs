//! Linking: make another account's transcript resumable from the current account, and
//! undo it on every exit path.
//!
//! - [`folder`]: Claude Code's project-folder naming (cwd → folder name).
//! - [`guard`]: the symlink and index patch, owned by a scope guard that undoes them.
//! - [`index_patch`]: the locked read-modify-write of `sessions-index.json`.
//! - [`lock`]: the `flock`-based lock files shared with Gas Town's `gt seance`.
//! - [`ledger`]: seance's own record of every change, so a killed talk can be undone.
//! - [`reaper`]: removes what an interrupted talk left behind.

pub mod folder;
pub mod guard;
pub mod index_patch;
pub mod ledger;
pub mod lock;
pub mod reaper;
