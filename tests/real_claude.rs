//! Proves seance against the real Claude Code CLI (see tests/support for the harness).

mod support;

use support::claude::require_claude;
use support::world::World;

/// Rewrites `fixtures/real/` from the real CLI. Run by `scripts/make-real-fixtures.sh`.
#[test]
#[ignore = "regenerates fixtures/real; run scripts/make-real-fixtures.sh"]
fn regenerate_real_fixtures() {
    let Some(claude) = require_claude("regenerate_real_fixtures") else {
        return;
    };
    let world = World::new(claude);
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real");
    support::fixtures::regenerate(&world, &out);
}
