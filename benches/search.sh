#!/usr/bin/env bash
# Search benchmark for seance (issue 15): `seance --search PATTERN -n 0 --json` side by
# side with `rg -c -S PATTERN` over the same project folders, page cache warm, medians
# of 5, plus peak RSS, on each corpus shape the generator offers.
#
# Usage: benches/search.sh        (needs hyperfine, ripgrep, GNU time; installs them with
#                                  apt-get when run as root)
# Knobs (environment): CORPORA="base v332" RUNS=5 CORPUS_DIR=target/corpus
#   SESSIONS=20000 V332_SESSIONS=5000 V332_MEDIAN_KB=240 ACCOUNTS=4 SEED=1
#   BENCH_OUT=target/bench-results/search-<stamp>
#
# The corpora are the ones benches/run.sh makes (same names, reused when present). Into
# each, one assistant record is appended to one transcript, holding the rare literal
# SEANCE-1234 and the lowercase rare word "quokkalantern" (both absent elsewhere), so the
# rare patterns hit exactly one session; "config" is a common word of the filler text.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
CORPORA=${CORPORA:-base v332}
RUNS=${RUNS:-5}
CORPUS_DIR=${CORPUS_DIR:-$repo/target/corpus}
SESSIONS=${SESSIONS:-20000}
V332_SESSIONS=${V332_SESSIONS:-5000}
V332_MEDIAN_KB=${V332_MEDIAN_KB:-240}
ACCOUNTS=${ACCOUNTS:-4}
SEED=${SEED:-1}
OUT=${BENCH_OUT:-$repo/target/bench-results/search-$(date -u +%Y%m%dT%H%M%SZ)}
PATTERNS=("SEANCE-1234" "quokkalantern" "config")

log() { printf '\n== %s\n' "$*" >&2; }
need() { # need <command> <debian package>
    command -v "$1" >/dev/null 2>&1 && return 0
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        apt-get install -y "$2" >/dev/null
    else
        echo "search.sh: $1 is missing; install it with: apt-get install -y $2" >&2
        exit 2
    fi
}
need hyperfine hyperfine
need rg ripgrep
need /usr/bin/time time

mkdir -p "$OUT" "$CORPUS_DIR"
cargo build --release --quiet --bin seance --example gen-corpus
SEANCE=$repo/target/release/seance
GEN=$repo/target/release/examples/gen-corpus
{
    echo "date: $(date -u +%FT%TZ)"
    echo "commit: $(git rev-parse --short HEAD) ($(git log -1 --format=%s))"
    echo "nproc: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
    echo "rg: $(rg --version | head -1); hyperfine: $(hyperfine --version)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

corpus_args() {
    case $1 in
        base) echo "--sessions $SESSIONS --median-kb 40" ;;
        v332) echo "--shape 332 --sessions $V332_SESSIONS --median-kb $V332_MEDIAN_KB" ;;
        indep) echo "--preset independent --folders 100 --per-folder 50 --median-kb 40" ;;
        *) echo "search.sh: unknown corpus $1" >&2; exit 2 ;;
    esac
}

gen() { # gen <tag> -> corpus root (generated when absent, named as run.sh names it)
    local args root
    args=$(corpus_args "$1")
    root="$CORPUS_DIR/$1-$(echo "$args" | tr -d ' -')-a$ACCOUNTS-seed$SEED-g3"
    if [[ ! -f $root/corpus.json ]]; then
        log "generating $root"
        rm -rf "$root"
        # shellcheck disable=SC2086
        "$GEN" "$root" $args --accounts "$ACCOUNTS" --seed "$SEED" --events-lines 30000 >&2
    fi
    echo "$root"
}

# plant <root>: appends the rare words to one transcript (once; marked by a file).
plant() {
    local root=$1
    [[ -f $root/search-planted ]] && return 0
    local f
    f=$(find "$root/home/.claude/projects" -name '*.jsonl' -size +20k -size -200k | sort | sed -n 1p)
    printf '%s\n' '{"parentUuid":null,"isSidechain":false,"message":{"id":"msg_plant","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":"The migration for SEANCE-1234 is done; the quokkalantern is in the shed."}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}},"type":"assistant","uuid":"plant-1","timestamp":"2026-11-20T10:00:00.000Z","sessionId":"plant"}' >>"$f"
    echo "$f" >"$root/search-planted"
}

for tag in $CORPORA; do
    root=$(gen "$tag")
    plant "$root"
    mapfile -t proj < <(find "$root/home" -maxdepth 4 -type d -name projects -prune | sort)
    dirs=$(printf '%q ' "${proj[@]}")
    cache=$OUT/cache-$tag
    mkdir -p "$cache"
    export HOME=$root/home CLAUDE_CONFIG_DIR=$root/home/.claude GT_ROOT=$root/town XDG_CACHE_HOME=$cache
    unset GT_TOWN_ROOT CLAUDECODE CLAUDE_CODE_ENTRYPOINT
    log "$tag: warming the page cache ($(du -sh "$root" | cut -f1)) and the metadata cache"
    find "$root" -type f -print0 | xargs -0 cat >/dev/null
    "$SEANCE" -n 0 --json >/dev/null 2>&1
    for pat in "${PATTERNS[@]}"; do
        echo "$tag $pat: rg files $(rg -c -S "$pat" "${proj[@]}" | wc -l), seance sessions $("$SEANCE" --search "$pat" -n 0 --json 2>/dev/null | grep -c '"session_id"')" \
            | tee -a "$OUT/hits.txt" >&2
    done
    echo "$tag: load before timing: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2
    args=()
    for pat in "${PATTERNS[@]}"; do
        args+=(-n "rg $pat" "rg -c -S $pat $dirs")
        args+=(-n "seance $pat" "$SEANCE --search $pat -n 0 --json")
    done
    # One cat of the corpus before each run keeps it warm on a machine whose other
    # jobs compete for the page cache; hyperfine does not time the prepare step.
    hyperfine --warmup 1 --runs "$RUNS" --ignore-failure --style basic \
        --prepare "find $(printf %q "$root")/home -name '*.jsonl' -print0 | xargs -0 cat >/dev/null" \
        --export-json "$OUT/$tag.json" "${args[@]}" >&2
    echo "$tag: load after timing: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2
    for pat in "${PATTERNS[@]}"; do
        for run in 1 2 3; do
            /usr/bin/time -f "%M" "$SEANCE" --search "$pat" -n 0 --json 2>&1 >/dev/null | tail -1
        done | sort -n | tail -1 | sed "s/^/$tag seance $pat peak RSS KB: /" | tee -a "$OUT/rss.txt" >&2
    done
    python3 - "$OUT/$tag.json" "$tag" <<'EOF' | tee -a "$OUT/summary.md"
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
print(f"\n### {sys.argv[2]}\n\n| pattern | rg -c -S median (s) | seance median (s) | ratio |\n|---|---|---|---|")
for name in [k[3:] for k in res if k.startswith("rg ")]:
    rg, se = res["rg " + name]["median"], res["seance " + name]["median"]
    print(f"| `{name}` | {rg:.3f} | {se:.3f} | {se / rg:.2f}x |")
EOF
done
log "results in $OUT"
