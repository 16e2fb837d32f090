#!/usr/bin/env python3
"""Fold `perf script` call stacks of a seance run into listing phases (CPU samples).

Usage: perf record -F 4999 -g --call-graph dwarf -o p.data seance --json -n 0
       perf script -i p.data | benches/perf_phases.py
Each sample is charged to the first phase whose marker appears in its stack (innermost
frame first), so the phases add up to 100% of the samples. Kernel frames are kept, so
stat/read/page-fault time lands in the phase that caused it.
"""

import collections
import sys

# (phase, substrings of a frame), checked innermost-first per stack; the first phase
# with a matching frame anywhere in the stack wins, in this priority order.
PHASES = [
    ("cache load (read+decode)", ["cache::Cache::load"]),
    ("cache save (serialize+write+fsync)", ["cache::save"]),
    ("transcript head/tail read+parse", ["transcript::read_meta"]),
    ("index files", ["index::read_index"]),
    ("events file", ["events::read_events"]),
    ("canonicalize", ["canonicalize", "realpath"]),
    ("folder listing (readdir+stat)", ["discover::list_folder"]),
    ("project folder walk", ["walkdir"]),
    ("json output", ["json::write_json"]),
    ("table output", ["table::write_table"]),
    ("select/sort", ["list::select"]),
    ("accounts/config", ["accounts::", "config::"]),
    ("merge (scan body)", ["discover::scan"]),
    ("drop/free", ["drop_in_place", "_int_free", "cfree"]),
    ("exit/munmap", ["exit_mmap", "do_exit", "__x64_sys_exit"]),
    ("rayon idle/steal", ["rayon_core"]),
]


def main():
    counts = collections.Counter()
    total = 0
    stack = []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                total += 1
                counts[classify(stack)] += 1
                stack = []
            continue
        if line[0] in " \t":
            stack.append(line.strip())
    if stack:
        total += 1
        counts[classify(stack)] += 1
    print(f"{total} samples")
    for phase, n in counts.most_common():
        print(f"{100.0 * n / max(total, 1):5.1f}%  {phase}")


def classify(stack):
    for phase, markers in PHASES:
        for frame in stack:
            if any(m in frame for m in markers):
                return phase
    return "other (startup, kernel, unattributed)"


if __name__ == "__main__":
    sys.exit(main())
