#!/usr/bin/env bash
# Installs one Claude Code CLI version that seance's real-CLI tests run against, into a
# private npm prefix of its own (never the global one), and prints the path of the
# native binary on stdout (progress goes to stderr).
#
#   scripts/install-claude.sh [VERSION] [PREFIX]
#   export SEANCE_TEST_CLAUDE="$(scripts/install-claude.sh oldest)"
#
# VERSION is `newest` (the default), `oldest` (both named in scripts/claude-versions) or
# an exact version such as 2.1.332. PREFIX defaults to target/claude-cli/<version> in this
# repository (ignored by git). A prefix that already holds that version is reused.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=claude-versions
source "$here/claude-versions"

case "${1:-newest}" in
    newest) version="$CLAUDE_NEWEST" ;;
    oldest) version="$CLAUDE_OLDEST" ;;
    *) version="$1" ;;
esac
prefix="${2:-$(dirname "$here")/target/claude-cli/$version}"

say() { echo "install-claude: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "not a version: $version"
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
# --save-exact: the prefix's package.json names exactly this version, never a range.
npm install --prefix "$prefix" --no-audit --no-fund --save-exact --loglevel=error \
    "@anthropic-ai/claude-code@$version" >&2 \
    || die "npm install @anthropic-ai/claude-code@$version failed"

binary="$(find_binary)" \
    || die "installed @anthropic-ai/claude-code@$version but found no binary printing '$version' under $prefix/node_modules/@anthropic-ai"
say "installed $binary"
echo "$binary"
