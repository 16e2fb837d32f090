#!/usr/bin/env bash
# Regenerates fixtures/real/ with the real Claude Code CLI (see fixtures/real/README.md).
# Uses $SEANCE_TEST_CLAUDE if set, else installs the pinned CLI with scripts/install-claude.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${SEANCE_TEST_CLAUDE:-}" ]]; then
    SEANCE_TEST_CLAUDE="$(scripts/install-claude.sh)"
fi
export SEANCE_TEST_CLAUDE

SEANCE_REGENERATE_FIXTURES=1 cargo test --locked --test regen_real_fixtures
git status --short fixtures/real
