//! Rewrites `fixtures/real/<version>/` with the real Claude Code CLI named by
//! `SEANCE_TEST_CLAUDE` (`<version>` is what it prints for `--version`). Not a test: a test
//! target with no harness, so it can use the shared support code and the built `seance`,
//! and does its work only when `scripts/make-real-fixtures.sh` asks (it sets
//! `SEANCE_REGENERATE_FIXTURES=1`); in a plain `cargo test` it returns at once.

mod support;

use std::path::Path;

use support::world::World;

fn main() {
    if std::env::var_os("SEANCE_REGENERATE_FIXTURES").is_none() {
        return;
    }
    let claude = support::claude::locate_claude()
        .expect("no claude CLI: set SEANCE_TEST_CLAUDE (scripts/make-real-fixtures.sh does)");
    let world = World::new(claude);
    let out = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/real")
        .join(support::fixtures::claude_version(&world.claude));
    std::fs::create_dir_all(&out).expect("create the fixture directory");
    support::fixtures::regenerate(&world, &out);
    println!("rewrote {}", out.display());
}
