#!/usr/bin/env bash
# Installs the pinned Claude Code CLI that seance's real-CLI tests run against, into a
# private npm prefix (never the global one), and prints the path of the native binary.
#
#   scripts/install-claude.sh [PREFIX]
#   export SEANCE_TEST_CLAUDE="$(scripts/install-claude.sh)"
#
# PREFIX defaults to target/claude-cli in this repository (ignored by git). A prefix that
# already holds the right version is reused. SEANCE_CLAUDE_VERSION overrides the pin.
set -euo pipefail

version="${SEANCE_CLAUDE_VERSION:-2.1.197}"
prefix="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/claude-cli}"

say() { echo "install-claude: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

command -v npm >/dev/null || die "npm is not on PATH (install Node.js and npm)"

# The package's bin/claude.exe is the native binary when npm ran the postinstall or
# linked it; otherwise the platform package (e.g. claude-code-linux-x64) holds it.
find_binary() {
    local candidate
    for candidate in \
        "$prefix/node_modules/@anthropic-ai/claude-code/bin/claude.exe" \
        "$prefix"/node_modules/@anthropic-ai/claude-code-*/claude; do
        [[ -f "$candidate" && -x "$candidate" ]] || continue
        if "$candidate" --version 2>/dev/null | grep -q "^$version "; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if binary="$(find_binary)"; then
    say "using $binary"
    echo "$binary"
    exit 0
fi

mkdir -p "$prefix"
say "installing @anthropic-ai/claude-code@$version into $prefix"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
    "@anthropic-ai/claude-code@$version" >&2 \
    || die "npm install @anthropic-ai/claude-code@$version failed"

binary="$(find_binary)" \
    || die "installed @anthropic-ai/claude-code@$version but found no binary printing '$version' under $prefix/node_modules/@anthropic-ai"
say "installed $binary"
echo "$binary"
