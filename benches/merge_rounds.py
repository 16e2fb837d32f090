#!/usr/bin/env python3
"""Merges hyperfine exports of single-run rounds into one export, as one hyperfine run
of every command would have written it (the fields summarize.py reads).

Usage: merge_rounds.py OUT.json ROUND.json...

Each ROUND.json is `hyperfine --runs 1 --export-json` of the same commands; a command's
times (s) are collected across the rounds, in round order, and its mean, stddev, median,
min, max, user and system (means, s) are computed from them. Commands keep the first
round's order. Exits with 2 when the rounds name different commands.
"""

import json
import statistics
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, rounds = sys.argv[1], sys.argv[2:]
    merged: dict[str, dict] = {}
    order: list[str] = []
    for path in rounds:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        names = [r["command"] for r in doc["results"]]
        if order and names != order:
            print(f"merge_rounds: {path} names {names}, not {order}", file=sys.stderr)
            return 2
        order = names
        for r in doc["results"]:
            m = merged.setdefault(r["command"], {"times": [], "user": [], "system": []})
            m["times"].extend(r["times"])
            m["user"].append(r["user"])
            m["system"].append(r["system"])
    results = []
    for name in order:
        m = merged[name]
        t = m["times"]
        results.append({
            "command": name,
            "mean": statistics.mean(t),
            "stddev": statistics.stdev(t) if len(t) > 1 else None,
            "median": statistics.median(t),
            "user": statistics.mean(m["user"]),
            "system": statistics.mean(m["system"]),
            "min": min(t),
            "max": max(t),
            "times": t,
            "rounds": len(rounds),
        })
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
