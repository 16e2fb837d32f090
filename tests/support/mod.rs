//! Test support shared by integration tests (`mod support;`): a mock Messages API, Claude
//! accounts, the real claude binary and the worlds tests run it in, a pseudo-terminal
//! driver, and path/tree helpers. Each test binary uses a different subset.
#![allow(dead_code)]

pub mod account;
pub mod claude;
pub mod fixtures;
pub mod mock_api;
pub mod paths;
pub mod procs;
pub mod pty;
pub mod world;
