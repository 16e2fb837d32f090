#!/usr/bin/env bash
# Listing benchmark for seance (issue 5): times seance's listing against the cost of
# walking the same tree with find and of reading 64 KiB of every transcript, measures
# peak RSS, repeats on a corpus with 10x larger files, and times `seance --talk -p`
# against a bare `claude --fork-session --resume -p` using the real CLI and a loopback
# API mock. Results land in target/bench-results/<utc-stamp>/; summarize.py prints them.
#
# Usage: benches/run.sh            (full run, ~10-15 min on 2 cores)
# Knobs (environment):
#   SESSIONS=20000 ACCOUNTS=4 MEDIAN_KB=40 SEED=1 EVENTS_LINES=30000
#   BIG_FACTOR=10            median multiplier of the second corpus
#   BIG_SESSIONS=$SESSIONS   sessions in the second corpus (lower it if disk is tight)
#   CORPUS_DIR=target/corpus where corpora are generated (reused when present)
#   RUNS=10                  hyperfine runs per command (warmup 2)
#   SKIP_BIG=1 SKIP_TALK=1   leave out the 10x corpus / the talk section
#   SKIP_LISTING=1           only the talk section (on the base corpus)
#   SCALE_SESSIONS="5000 10000"  smaller corpora timed too, to check cost is linear in N
#   QUIET_MAX=180            seconds to wait for idle CPUs before each timed block
#   SEANCE_BENCH_CLAUDE      path to the real claude binary for the talk section
#                            (default: the test suite's npm install, else claude on PATH)
#   BENCH_OUT                results directory
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

SESSIONS=${SESSIONS:-20000}
ACCOUNTS=${ACCOUNTS:-4}
MEDIAN_KB=${MEDIAN_KB:-40}
SEED=${SEED:-1}
EVENTS_LINES=${EVENTS_LINES:-30000}
BIG_FACTOR=${BIG_FACTOR:-10}
BIG_SESSIONS=${BIG_SESSIONS:-$SESSIONS}
CORPUS_DIR=${CORPUS_DIR:-$repo/target/corpus}
RUNS=${RUNS:-10}
OUT=${BENCH_OUT:-$repo/target/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
CLAUDE_BIN=${SEANCE_BENCH_CLAUDE:-$HOME/.cache/seance-claude/node_modules/@anthropic-ai/claude-code/bin/claude.exe}
if [[ ! -x $CLAUDE_BIN ]] && command -v claude >/dev/null; then
    CLAUDE_BIN=$(command -v claude)
fi

log() { printf '\n== %s\n' "$*" >&2; }

need() { # need <command> <debian package>
    command -v "$1" >/dev/null 2>&1 && return 0
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing $2"
        apt-get install -y "$2" >/dev/null
    else
        echo "run.sh: $1 is missing; install it with: apt-get install -y $2" >&2
        exit 2
    fi
}
need hyperfine hyperfine
need /usr/bin/time time
need python3 python3

mkdir -p "$OUT" "$CORPUS_DIR"
log "results in $OUT"

log "building seance and gen-corpus (release)"
cargo build --release --quiet --bin seance --example gen-corpus
SEANCE=$repo/target/release/seance
GEN=$repo/target/release/examples/gen-corpus

{
    echo "date: $(date -u +%FT%TZ)"
    echo "commit: $(git rev-parse --short HEAD) ($(git log -1 --format=%s))"
    echo "src/ last changed in: $(git log -1 --format='%h %s' -- src)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
    echo "kernel: $(uname -r)"
    echo "disk: $(df -h "$CORPUS_DIR" | awk 'NR==2 {print $1 " " $2 " (" $5 " used)"}'), fs $(stat -f -c %T "$CORPUS_DIR")"
    echo "hyperfine: $(hyperfine --version)"
    echo "rustc: $(rustc --version)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# The machine may be shared (other builds on the same cores): before timing, wait up to
# QUIET_MAX seconds for a 2-second window in which the CPUs are at least 85% idle.
busy_pct() {
    local a b
    read -r _ a1 a2 a3 a4 a5 a6 a7 _ </proc/stat
    a=$((a1 + a2 + a3 + a5 + a6 + a7)) b=$a4
    sleep 2
    read -r _ c1 c2 c3 c4 c5 c6 c7 _ </proc/stat
    local busy=$((c1 + c2 + c3 + c5 + c6 + c7 - a)) idle=$((c4 - b))
    echo $((100 * busy / (busy + idle + 1)))
}
quiet() { # quiet <label>
    local waited=0 pct
    while pct=$(busy_pct); ((pct > 15 && waited < ${QUIET_MAX:-180})); do
        log "$1: machine busy ($pct% CPU used by others); waiting"
        sleep 8
        waited=$((waited + 10))
    done
    echo "$1: CPU busy before timing: $pct%; load average: $(cut -d' ' -f1-3 /proc/loadavg)" \
        | tee -a "$OUT/load.txt" >&2
}

# gen <sessions> <median_kb> -> prints the corpus root, generating it when absent.
gen() {
    # g2: the generator's format version (bump when its output changes).
    local root="$CORPUS_DIR/s$1-a$ACCOUNTS-m$2-seed$SEED-g2"
    if [[ ! -f $root/corpus.json ]]; then
        log "generating $root"
        rm -rf "$root"
        "$GEN" "$root" --sessions "$1" --accounts "$ACCOUNTS" --median-kb "$2" \
            --seed "$SEED" --events-lines "$EVENTS_LINES" >&2
    fi
    echo "$root"
}

# Every account's projects/ folder in a corpus.
projects_of() {
    find "$1/home" -maxdepth 4 -type d -name projects -prune | sort
}

# The environment seance sees: the corpus home, its current account, its town, a cache.
seance_env() { # seance_env <root> <cache dir>
    export HOME=$1/home CLAUDE_CONFIG_DIR=$1/home/.claude GT_ROOT=$1/town XDG_CACHE_HOME=$2
    unset GT_TOWN_ROOT CLAUDECODE CLAUDE_CODE_ENTRYPOINT
}

# bench_listing <root> <tag>: hyperfine (a) (b) (c) (d), then peak RSS of (c) and (d).
bench_listing() {
    local root=$1 tag=$2
    local -a proj
    mapfile -t proj < <(projects_of "$root")
    local dirs
    dirs=$(printf '%q ' "${proj[@]}")
    local cache_c=$OUT/cache-$tag-warm cache_d=$OUT/cache-$tag-cold
    mkdir -p "$cache_c" "$cache_d"

    log "$tag: warming the page cache ($(du -sh "$root" | cut -f1))"
    find "$root" -type f -print0 | xargs -0 cat >/dev/null
    # A fresh corpus leaves GBs of dirty pages; their writeback would be timed too.
    sync
    echo "$tag files: $(find "${proj[@]}" -name '*.jsonl' | wc -l) jsonl" >&2

    quiet "$tag"
    log "$tag: hyperfine"
    (
        seance_env "$root" "$cache_c"
        hyperfine --warmup 2 --runs "$RUNS" --export-json "$OUT/$tag.json" \
            --prepare true --prepare true --prepare true --prepare true \
            --prepare "rm -rf $(printf %q "$cache_d") && mkdir -p $(printf %q "$cache_d")" \
            -n a-stat-walk "find $dirs -name '*.jsonl' -printf '%s %T@ %p\n'" \
            -n b-head-64k "find $dirs -name '*.jsonl' -print0 | xargs -0 head -q -c 65536" \
            -n b2-head-64k-par2 "find $dirs -name '*.jsonl' -print0 | xargs -0 -P 2 -n 2000 head -q -c 65536" \
            -n c-seance-warm "XDG_CACHE_HOME=$(printf %q "$cache_c") $(printf %q "$SEANCE") --json -n 0" \
            -n d-seance-cold "XDG_CACHE_HOME=$(printf %q "$cache_d") $(printf %q "$SEANCE") --json -n 0"
    )

    echo "$tag: load average after timing: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2
    log "$tag: peak RSS and output size"
    (
        seance_env "$root" "$cache_c"
        "$SEANCE" --json -n 0 >"$OUT/$tag-listing.json" 2>"$OUT/$tag-listing.stderr" || true
        local c=0 d=0 m
        for _ in 1 2 3; do
            m=$(/usr/bin/time -f %M "$SEANCE" --json -n 0 2>&1 >/dev/null | tail -1)
            ((m > c)) && c=$m
            rm -rf "$cache_d" && mkdir -p "$cache_d"
            m=$(XDG_CACHE_HOME=$cache_d /usr/bin/time -f %M "$SEANCE" --json -n 0 2>&1 >/dev/null | tail -1)
            ((m > d)) && d=$m
        done
        printf '{"c_rss_kb": %s, "d_rss_kb": %s, "listing_bytes": %s, "cache_bytes": %s}\n' \
            "$c" "$d" "$(stat -c %s "$OUT/$tag-listing.json")" "$(du -sb "$cache_c" | cut -f1)" \
            >"$OUT/$tag-rss.json"
        cat "$OUT/$tag-rss.json" >&2
    )
    cp "$root/corpus.json" "$OUT/$tag-corpus.json"
}

base=$(gen "$SESSIONS" "$MEDIAN_KB")
if [[ ${SKIP_LISTING:-} != 1 ]]; then
    bench_listing "$base" base
fi

if [[ ${SKIP_BIG:-} != 1 && ${SKIP_LISTING:-} != 1 ]]; then
    big=$(gen "$BIG_SESSIONS" $((MEDIAN_KB * BIG_FACTOR)))
    bench_listing "$big" big
fi

# Linearity in the number of sessions: the same shape at smaller N.
if [[ ${SKIP_LISTING:-} != 1 ]]; then
    for n in ${SCALE_SESSIONS-5000 10000}; do
        bench_listing "$(gen "$n" "$MEDIAN_KB")" "n$n"
    done
fi

# --- talk overhead: seance --talk -p vs claude --fork-session --resume -p -------------
talk_section() {
    local root=$1
    if [[ ! -x $CLAUDE_BIN ]]; then
        log "talk: no claude at $CLAUDE_BIN (set SEANCE_BENCH_CLAUDE); skipped"
        return 0
    fi
    local shim=$OUT/bin port_file=$OUT/mock.port
    mkdir -p "$shim"
    ln -sf "$CLAUDE_BIN" "$shim/claude"
    python3 "$repo/benches/mock_api.py" --port-file "$port_file" >/dev/null &
    local mock=$!
    # shellcheck disable=SC2064 # expand now: the pid is known now
    trap "kill $mock 2>/dev/null || true" EXIT
    for _ in $(seq 50); do [[ -s $port_file ]] && break; sleep 0.1; done
    local port
    port=$(cat "$port_file")
    local workdir=$root/work/talk-proj
    mkdir -p "$workdir"
    local folder
    folder=$(realpath "$workdir" | sed 's/[^A-Za-z0-9]/-/g')
    local from=$root/home/.claude-work to=$root/home/.claude
    (
        export PATH=$shim:$PATH SEANCE_CLAUDE=$shim/claude HOME=$root/home GT_ROOT=$root/town \
            XDG_CACHE_HOME=$OUT/cache-talk ANTHROPIC_BASE_URL=http://127.0.0.1:$port \
            ANTHROPIC_API_KEY=x DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
            DISABLE_AUTOUPDATER=1
        unset CLAUDECODE CLAUDE_CODE_ENTRYPOINT GT_TOWN_ROOT
        local id_file=$root/talk-session-id id
        if [[ ! -s $id_file ]]; then
            log "talk: making a real session with claude -p in $workdir (account .claude-work)"
            (cd "$workdir" && CLAUDE_CONFIG_DIR=$from claude -p "Remember CANARY-BENCH1" >/dev/null)
            id=$(basename "$(find "$from/projects/$folder" -maxdepth 1 -name "*.jsonl" -printf "%T@ %p\n" | sort -rn | head -1 | cut -d" " -f2-)" .jsonl)
            echo "$id" >"$id_file"
        fi
        id=$(cat "$id_file")
        # Only time a seance whose talk works: the answer must come from the mock.
        local probe
        probe=$(cd / || exit; CLAUDE_CONFIG_DIR=$to "$SEANCE" --talk "$id" -p hi 2>&1) || true
        if [[ $probe != *"mock answer"* ]]; then
            log "talk: seance --talk -p did not return the mock's answer; skipped. It said:"
            printf '%s\n' "$probe" | head -5 >&2
            return 0
        fi
        quiet talk
        log "talk: hyperfine on session $id"
        hyperfine --warmup 2 --runs "$RUNS" --export-json "$OUT/talk.json" \
            -n bare-claude "cd $(printf %q "$workdir") && CLAUDE_CONFIG_DIR=$(printf %q "$from") claude --fork-session --resume $id -p hi" \
            -n seance-talk "cd / && CLAUDE_CONFIG_DIR=$(printf %q "$to") $(printf %q "$SEANCE") --talk $id -p hi"
        # seance's own share, without the noise of two claude runs: a wrapper stamps the
        # time around claude, so before = exec delay, after = cleanup after claude exits.
        local timed=$shim/claude-timed times=$OUT/claude-times.log
        cat >"$timed" <<WRAP
#!/bin/bash
t1=\$(date +%s%N)
$(printf %q "$shim/claude") "\$@"
rc=\$?
echo "\$t1 \$(date +%s%N)" >>$(printf %q "$times")
exit \$rc
WRAP
        chmod +x "$timed"
        : >"$times"
        local _i s e
        for _i in $(seq "$RUNS"); do
            s=$(date +%s%N)
            (cd / && CLAUDE_CONFIG_DIR=$to "$SEANCE" --talk "$id" -p hi --claude "$timed" >/dev/null 2>&1) || true
            e=$(date +%s%N)
            echo "$s $e $(tail -1 "$times")"
        done >"$OUT/talk-split.txt"
        # Both arms leave one fork per run; remove them so the corpus stays as generated.
        find "$from/projects/$folder" "$to/projects/$folder" -maxdepth 1 -name '*.jsonl' \
            ! -name "$id.jsonl" -delete 2>/dev/null || true
    )
}
if [[ ${SKIP_TALK:-} != 1 ]]; then
    talk_section "$base"
fi

log "summary"
python3 "$repo/benches/summarize.py" "$OUT" | tee "$OUT/summary.md"
# The caches can be large; keep only the figures.
rm -rf "$OUT"/cache-*
