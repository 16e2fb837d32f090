#!/usr/bin/env bash
# Where does seance's listing spend its time and memory? Builds seance with debug info
# (release profile, separate target dir), then on a benchmark corpus records perf call
# stacks of a warm run (cache full) and a cold run (cache empty), folds them into listing
# phases (perf_phases.py), and takes a massif heap profile of the warm run.
#
# Usage: benches/profile.sh [corpus root]   (default: the 20k corpus run.sh generates)
# Needs perf (Debian linux-perf) and valgrind; output in target/profile/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
root=${1:-$repo/target/corpus/s20000-a4-m40-seed1-g2}
[[ -f $root/corpus.json ]] || { echo "profile.sh: no corpus at $root (run benches/run.sh first)" >&2; exit 2; }
out=$repo/target/profile
mkdir -p "$out"
CARGO_PROFILE_RELEASE_DEBUG=true CARGO_TARGET_DIR=$repo/target/prof \
    cargo build --release --quiet --bin seance
S=$repo/target/prof/release/seance
cache=$out/cache
export HOME=$root/home CLAUDE_CONFIG_DIR=$root/home/.claude GT_ROOT=$root/town XDG_CACHE_HOME=$cache
unset GT_TOWN_ROOT CLAUDECODE CLAUDE_CODE_ENTRYPOINT
find "$root" -type f -print0 | xargs -0 cat >/dev/null

for mode in cold warm; do
    if [[ $mode == cold ]]; then rm -rf "$cache"; else "$S" --json -n 0 >/dev/null 2>&1; fi
    perf record -q -F 2999 -g --call-graph dwarf,16384 -o "$out/perf-$mode.data" \
        "$S" --json -n 0 >/dev/null 2>&1
    echo "== $mode run: CPU samples by phase"
    perf script -i "$out/perf-$mode.data" 2>/dev/null | python3 "$repo/benches/perf_phases.py" \
        | tee "$out/phases-$mode.txt"
    perf report -i "$out/perf-$mode.data" --no-children --sort symbol --stdio 2>/dev/null \
        | grep -E '^ +[0-9]' | cut -c1-140 | sed -n 1,25p >"$out/top-$mode.txt"
done
echo "== syscalls of a warm run"
strace -f -c -o "$out/strace-warm.txt" "$S" --json -n 0 >/dev/null 2>&1 || true
head -12 "$out/strace-warm.txt"
echo "== heap peak of a warm run (massif)"
valgrind -q --tool=massif --massif-out-file="$out/massif-warm.out" "$S" --json -n 0 >/dev/null 2>&1
ms_print "$out/massif-warm.out" >"$out/massif-warm.txt"
peak=$(grep -o '[0-9]* (peak)' "$out/massif-warm.txt" | cut -d' ' -f1)
echo "snapshot, instructions, total heap bytes, useful, extra, stacks:"
awk -v p="$peak" '$1 == p && NF == 6' "$out/massif-warm.txt"
echo "perf data, top symbols and massif output in $out"
