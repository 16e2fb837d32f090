#!/usr/bin/env python3
"""Turn one benches/run.sh results directory into the Markdown tables of BENCHMARKS.md.

Usage: summarize.py <results dir>
Reads machine.txt, tags.txt (the corpora in the order timed), <tag>.json (hyperfine
exports), <tag>-rss.json, <tag>-corpus.json, <tag>-coldpages.json and talk.json, and prints
the timings, the ratios against issue 14's targets (warm <= 1.2x the stat walk, first
listing <= 1.0x the 64 KiB head read, peak RSS < 64 MB), and verdicts.
"""

WARM_TARGET = 1.2
COLD_TARGET = 1.0

import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ms(x):
    return f"{x * 1000:.1f}"


def results(doc):
    return {r["command"]: r for r in doc["results"]} if doc else {}


def count_listed(path):
    """How many sessions a `seance --json` output holds, whatever its top-level shape."""
    doc = load(path)
    if isinstance(doc, list):
        return len(doc)
    if isinstance(doc, dict):
        for key in ("sessions", "items", "results"):
            if isinstance(doc.get(key), list):
                return len(doc[key])
    return "?"


def verdict(ok):
    return "met" if ok else "**missed**"


def main():
    out = sys.argv[1]
    print("### Machine\n")
    print("```")
    with open(os.path.join(out, "machine.txt")) as f:
        print(f.read().rstrip())
    print("```\n")

    try:
        with open(os.path.join(out, "load.txt")) as f:
            print("Machine load around the timings (the CPUs may be shared with other work):\n")
            print("```")
            print(f.read().rstrip())
            print("```\n")
    except OSError:
        pass

    runs = {}
    try:
        with open(os.path.join(out, "tags.txt")) as f:
            tags = [t.strip() for t in f if t.strip()]
    except OSError:
        tags = ["base", "big"]
    verdicts = []
    for tag in tags:
        doc = load(os.path.join(out, f"{tag}.json"))
        if not doc:
            continue
        runs[tag] = results(doc)
        corpus = load(os.path.join(out, f"{tag}-corpus.json")) or {}
        rss = load(os.path.join(out, f"{tag}-rss.json")) or {}
        print(
            f"### Corpus `{tag}`: {corpus.get('sessions')} sessions, {corpus.get('accounts')} accounts, "
            f"{corpus.get('preset', 'zipf')} layout, {corpus.get('shape', '2.1.197')} records, "
            f"lognormal median {corpus.get('median_kb')} KiB, {corpus.get('jsonl_files')} .jsonl files "
            f"({corpus.get('subagent_files')} subagent), "
            f"{corpus.get('jsonl_bytes', 0) / 2**30:.2f} GiB, events {corpus.get('events_bytes', 0) / 2**20:.1f} MiB\n"
        )
        print("| command | mean ms | ± sd | median ms | min ms | max ms | CPU ms (user+sys, mean) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, r in runs[tag].items():
            print(
                f"| {name} | {ms(r['mean'])} | {ms(r['stddev'] or 0)} | {ms(r['median'])} "
                f"| {ms(r['min'])} | {ms(r['max'])} | {ms(r['user'] + r['system'])} |"
            )
        print()
        r = runs[tag]
        a, b = r.get("a-stat-walk"), r.get("b-head-64k")
        c, d = r.get("c-seance-warm"), r.get("d-seance-cold")
        if a and b and c and d:
            # Medians decide: the machine may be shared, and a neighbour's build inflates
            # means and minimums unevenly. Means are shown beside them.
            ca, cam = c["median"] / a["median"], c["mean"] / a["mean"]
            db, dbm = d["median"] / b["median"], d["mean"] / b["mean"]
            print(
                f"- (c)/(a) warm listing / stat walk = **{ca:.2f}** by median, {cam:.2f} by mean "
                f"(target ≤ {WARM_TARGET}: {verdict(ca <= WARM_TARGET)})"
            )
            print(
                f"- (d)/(b) first listing / 64 KiB heads = **{db:.2f}** by median, {dbm:.2f} by mean "
                f"(target ≤ {COLD_TARGET}: {verdict(db <= COLD_TARGET)})"
            )
            cpu = lambda x: x["user"] + x["system"]  # noqa: E731
            print(
                f"- CPU time (user+sys), which a busy machine inflates less than wall time: "
                f"(c)/(a) = {cpu(c) / cpu(a):.2f}, (d)/(b) = {cpu(d) / cpu(b):.2f} "
                f"(seance spreads it over 2 threads, `find` and `head` use one)"
            )
            c0, d0 = r.get("c0-base-warm"), r.get("d0-base-cold")
            if c0 and d0:
                print(
                    f"- the baseline binary (SEANCE_BASE) in the same run: (c0)/(a) = "
                    f"{c0['median'] / a['median']:.2f}, (d0)/(b) = {d0['median'] / b['median']:.2f}; "
                    f"this build against it: warm {c['median'] / c0['median']:.2f}x, "
                    f"first {d['median'] / d0['median']:.2f}x the time"
                )
            verdicts.append((tag, corpus, a, b, c, d, rss))
        if rss:
            for k, label in (("c_rss_kb", "(c) warm"), ("d_rss_kb", "(d) cold")):
                mb = rss[k] / 1024
                print(f"- peak RSS {label}: **{mb:.1f} MiB** (target < 64 MB: {verdict(rss[k] * 1024 < 64e6)})")
            print(
                f"- JSON output {rss.get('listing_bytes', 0) / 2**20:.1f} MiB, "
                f"{count_listed(os.path.join(out, f'{tag}-listing.json'))} sessions listed; "
                f"cache on disk {rss.get('cache_bytes', 0) / 2**20:.1f} MiB"
            )
            if not rss.get("listing_bytes"):
                print("- **seance printed nothing: its listing is not implemented in this build**")
        print()

    cold = {t: results(load(os.path.join(out, f"{t}-coldpages.json"))) for t in tags}
    cold = {t: r for t, r in cold.items() if r}
    if cold:
        print("### First listing with the page cache dropped (a figure, not a target)\n")
        print("`sync; echo 3 > /proc/sys/vm/drop_caches` before every run (and an empty seance")
        print("cache for (d)); medians in ms of the runs, min in brackets.\n")
        print("| corpus | runs | a-stat-walk | b-head-64k | d-seance-cold | (d)/(b) |")
        print("|---|---:|---:|---:|---:|---:|")
        for t, r in cold.items():
            a, b, d = r.get("a-stat-walk"), r.get("b-head-64k"), r.get("d-seance-cold")
            cell = lambda x: f"{ms(x['median'])} ({ms(x['min'])})" if x else ""  # noqa: E731
            ratio = f"{d['median'] / b['median']:.2f}" if b and d else ""
            n = len((d or b or a)["times"])
            print(f"| {t} | {n} | {cell(a)} | {cell(b)} | {cell(d)} | {ratio} |")
        print()

    if verdicts:
        print("### Verdict per corpus (medians)\n")
        print("| corpus | warm (c)/(a) ≤ 1.2 | first (d)/(b) ≤ 1.0 | peak RSS warm / cold |")
        print("|---|---:|---:|---|")
        for tag, corpus, a, b, c, d, rss in verdicts:
            ca, db = c["median"] / a["median"], d["median"] / b["median"]
            r = (f"{rss['c_rss_kb'] / 1024:.1f} / {rss['d_rss_kb'] / 1024:.1f} MiB"
                 if rss else "")
            print(f"| {tag} ({corpus.get('sessions')} sessions) | {ca:.2f} {verdict(ca <= WARM_TARGET)} "
                  f"| {db:.2f} {verdict(db <= COLD_TARGET)} | {r} |")
        print()

    if "base" in runs and "big" in runs:
        base_c = load(os.path.join(out, "base-corpus.json")) or {}
        big_c = load(os.path.join(out, "big-corpus.json")) or {}
        print("### Scaling with file size (big vs base)\n")
        print("Medians. The 10x corpus holds the same number of sessions unless said otherwise.\n")
        print("| command | base ms | big ms | big/base | per session base µs | per session big µs |")
        print("|---|---:|---:|---:|---:|---:|")
        for name in runs["base"]:
            if name not in runs["big"]:
                continue
            x, y = runs["base"][name]["median"], runs["big"][name]["median"]
            px = x / max(base_c.get("sessions", 1), 1) * 1e6
            py = y / max(big_c.get("sessions", 1), 1) * 1e6
            print(f"| {name} | {ms(x)} | {ms(y)} | {y / x:.2f} | {px:.1f} | {py:.1f} |")
        print()

    scale = sorted(
        (t for t in (f[: -len("-corpus.json")] for f in os.listdir(out) if f.endswith("-corpus.json"))
         if t == "base" or t.startswith("n")),
        key=lambda t: (load(os.path.join(out, f"{t}-corpus.json")) or {}).get("sessions", 0),
    )
    if len(scale) > 1:
        sizes = {t: (load(os.path.join(out, f"{t}-corpus.json")) or {}).get("sessions", 1) for t in scale}
        res = {t: results(load(os.path.join(out, f"{t}.json"))) for t in scale}
        print("### Scaling with the number of sessions (median {} KiB)\n".format(
            (load(os.path.join(out, "base-corpus.json")) or {}).get("median_kb")))
        print("Medians in ms, then µs per session in brackets.\n")
        print("| command | " + " | ".join(f"{sizes[t]} sessions" for t in scale) + " |")
        print("|---|" + "---:|" * len(scale))
        for name in res[scale[-1]]:
            cells = []
            for t in scale:
                r = res[t].get(name)
                cells.append(f"{ms(r['median'])} ({r['median'] / sizes[t] * 1e6:.1f})" if r else "")
            print(f"| {name} | " + " | ".join(cells) + " |")
        for t in scale:
            rss = load(os.path.join(out, f"{t}-rss.json")) or {}
            if rss:
                print(f"\n- {sizes[t]} sessions: peak RSS warm {rss['c_rss_kb'] / 1024:.1f} MiB, cold {rss['d_rss_kb'] / 1024:.1f} MiB", end="")
        print("\n")

    talk = load(os.path.join(out, "talk.json"))
    if talk:
        r = results(talk)
        bare, seance = r.get("bare-claude"), r.get("seance-talk")
        print("### Talk overhead\n")
        print("| command | mean ms | ± sd | median ms |")
        print("|---|---:|---:|---:|")
        for name, x in r.items():
            print(f"| {name} | {ms(x['mean'])} | {ms(x['stddev'] or 0)} | {ms(x['median'])} |")
        if bare and seance:
            extra = (seance["mean"] - bare["mean"]) * 1000
            med = (seance["median"] - bare["median"]) * 1000
            print(
                f"\n- difference of the two arms: {med:.1f} ms by median ({extra:.1f} ms by mean); "
                "indicative only, as two claude runs vary by tens of ms: the verdict comes "
                "from the timed wrapper below"
            )
        print()
    split = os.path.join(out, "talk-split.txt")
    if os.path.exists(split):
        before, after, inner = [], [], []
        with open(split) as f:
            for line in f:
                p = [int(x) for x in line.split()]
                if len(p) == 4:
                    s, e, t1, t2 = p
                    before.append((t1 - s) / 1e6)
                    after.append((e - t2) / 1e6)
                    inner.append((t2 - t1) / 1e6)
        if before:
            med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
            sums = [b + a for b, a in zip(before, after)]
            own = med(sums)
            print(
                f"- seance's own time around claude (timed wrapper, {len(before)} runs): "
                f"**{own:.1f} ms** median, {min(sums):.1f} ms min; of which before exec "
                f"{med(before):.1f} ms median (includes ~3 ms of the wrapper's bash), after "
                f"claude exits {med(after):.1f} ms median; claude itself {med(inner):.1f} ms "
                f"median (target < 50 ms: {verdict(own < 50)})\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
