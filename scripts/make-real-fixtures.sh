#!/usr/bin/env bash
# Regenerates fixtures/real/ with the real Claude Code CLI (see fixtures/real/README.md).
# Uses $SEANCE_TEST_CLAUDE if set, else installs the pinned CLI with scripts/install-claude.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${SEANCE_TEST_CLAUDE:-}" ]]; then
    SEANCE_TEST_CLAUDE="$(scripts/install-claude.sh)"
fi
export SEANCE_TEST_CLAUDE

cargo test --locked --test real_claude regenerate_real_fixtures -- --ignored --exact --nocapture
git status --short fixtures/real
