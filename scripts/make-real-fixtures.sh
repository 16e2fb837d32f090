#!/usr/bin/env bash
# Regenerates fixtures/real/<version>/ with the real Claude Code CLI of each version given
# (default: the oldest and the newest of scripts/claude-versions; `oldest`, `newest` or an
# exact version), installing it with scripts/install-claude.sh. See fixtures/real/README.md.
#
#   scripts/make-real-fixtures.sh            both supported versions
#   scripts/make-real-fixtures.sh 2.1.332    one version
set -euo pipefail
cd "$(dirname "$0")/.."

versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(oldest newest)

for version in "${versions[@]}"; do
    SEANCE_TEST_CLAUDE="$(bash scripts/install-claude.sh "$version")"
    SEANCE_TEST_CLAUDE="$SEANCE_TEST_CLAUDE" SEANCE_REGENERATE_FIXTURES=1 \
        cargo test --locked --test regen_real_fixtures
done
git status --short fixtures/real
