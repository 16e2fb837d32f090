#!/usr/bin/env python3
"""Alternated timing of seance builds beside the benchmark's reference command.

    benches/alternate.py warm|first <corpus root> <rounds> <seance binary>...

Each round runs the reference command once, then each binary once, so every build is
timed within seconds of the others and of the reference: on a VM whose speed drifts by
half within minutes, this is what makes two builds comparable. `warm` compares with the
stat walk (benches/run.sh's (a)) and keeps each binary's cache between runs; `first`
compares with the 64 KiB head read ((b)) and empties the binary's cache before each
run. Each binary gets its own cache dir under $TMPDIR. Prints the median and minimum
wall time of each command (ms) and the median's ratio to the reference's.

Environment as in benches/run.sh: HOME, CLAUDE_CONFIG_DIR and GT_ROOT point into the
corpus; stdout and stderr of every command go to /dev/null.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> int:
    if len(sys.argv) < 5 or sys.argv[1] not in ("warm", "first"):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    mode, root, rounds, bins = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    proj = subprocess.run(
        ["find", f"{root}/home", "-maxdepth", "4", "-type", "d", "-name", "projects", "-prune"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    proj.sort()
    if not proj:
        print(f"alternate.py: no projects/ folder under {root}/home", file=sys.stderr)
        return 2
    env = dict(os.environ, HOME=f"{root}/home", CLAUDE_CONFIG_DIR=f"{root}/home/.claude",
               GT_ROOT=f"{root}/town")
    for k in ("GT_TOWN_ROOT", "CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"):
        env.pop(k, None)
    dirs = " ".join(proj)
    if mode == "warm":
        ref = f"find {dirs} -name '*.jsonl' -printf '%s %T@ %p\\n'"
    else:
        ref = f"find {dirs} -name '*.jsonl' -print0 | xargs -0 head -q -c 65536"
    scratch = tempfile.mkdtemp(prefix="seance-alternate-")
    caches = [os.path.join(scratch, f"cache{i}") for i in range(len(bins))]

    def timed(cmd, e, shell=False):
        t = time.perf_counter()
        subprocess.run(cmd, env=e, shell=shell, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        return time.perf_counter() - t

    def listing(i):
        if mode == "first":
            shutil.rmtree(caches[i], ignore_errors=True)
        os.makedirs(caches[i], exist_ok=True)
        return timed([bins[i], "--json", "-n", "0"], dict(env, XDG_CACHE_HOME=caches[i]))

    names = ["reference"] + [f"{i}:{os.path.basename(b)}" for i, b in enumerate(bins)]
    times = {n: [] for n in names}
    try:
        # Warm-up: the page cache, and (warm) each binary's metadata cache.
        timed(ref, env, shell=True)
        for i in range(len(bins)):
            listing(i)
            listing(i)
        for _ in range(rounds):
            times["reference"].append(timed(ref, env, shell=True))
            for i in range(len(bins)):
                times[names[i + 1]].append(listing(i))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base = statistics.median(times["reference"])
    for n in names:
        m = statistics.median(times[n])
        print(f"{n:24s} median {m * 1000:7.1f} ms  ratio {m / base:5.2f}  "
              f"min {min(times[n]) * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
