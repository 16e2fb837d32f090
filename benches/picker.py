#!/usr/bin/env python3
"""Times seance's picker (`seance --talk`) on a pseudo-terminal, as a user sees it.

Each frame the picker draws ends with the terminal's end-of-synchronized-update
sequence (ESC [ ? 2026 l), so the times are read off the pty:

  first frame   process start -> end of the first frame (which must list rows: the
                count at the top right is N/N with N > 0)
  reconcile     process start -> the frame drawn when the folder walk completes
  keystroke     one key written -> end of the frame that shows its effect

Usage: benches/picker.py SEANCE CORPUS_ROOT [--runs 10] [--query 'talk runner']
           [--cols 80] [--rows 24]
The corpus is gen-corpus output; its cache is filled first by `seance -n 0 --json`
in a private XDG_CACHE_HOME, so every timed run starts warm.
"""

import argparse
import fcntl
import os
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

END = b"\x1b[?2026l"


def read_until_frame(fd, buf, deadline):
    """Reads from fd until buf holds one more end-of-frame; returns (time, frame)."""
    while True:
        i = buf[0].find(END)
        if i >= 0:
            frame = buf[0][: i + len(END)]
            buf[0] = buf[0][i + len(END):]
            return time.perf_counter(), frame
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError("no frame")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                raise EOFError("pty closed")
            if not chunk:
                raise EOFError("pty closed")
            buf[0] += chunk


def one_run(seance, env, query, cols, rows):
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(seance, [seance, "--talk"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    buf = [b""]
    out = {}
    t, frame = read_until_frame(fd, buf, t0 + 10)
    out["first"] = (t - t0) * 1e3
    m = re.search(rb"(\d+)/(\d+)", frame)
    out["first_rows"] = int(m.group(2)) if m else 0
    # The walk's frame: the next one drawn with no key pressed.
    t, _ = read_until_frame(fd, buf, t0 + 30)
    out["reconcile"] = (t - t0) * 1e3
    time.sleep(0.2)
    keys = []
    for ch in list(query) + ["\x7f"] * len(query):
        os.write(fd, ch.encode())
        k0 = time.perf_counter()
        t, _ = read_until_frame(fd, buf, k0 + 5)
        keys.append((t - k0) * 1e3)
        time.sleep(0.03)
    out["keys"] = keys
    os.write(fd, b"\x1b")
    _, status = os.waitpid(pid, 0)
    out["exit"] = os.waitstatus_to_exitcode(status)
    os.close(fd)
    return out


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seance")
    ap.add_argument("corpus")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--query", default="talk runner")
    ap.add_argument("--cols", type=int, default=80)
    ap.add_argument("--rows", type=int, default=24)
    a = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="seance-picker-cache-")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": f"{a.corpus}/home",
        "CLAUDE_CONFIG_DIR": f"{a.corpus}/home/.claude",
        "GT_ROOT": f"{a.corpus}/town",
        "XDG_CACHE_HOME": cache,
        "XDG_STATE_HOME": cache + "/state",
        "TERM": "xterm-256color",
    }
    subprocess.run([a.seance, "-n", "0", "--json"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = [one_run(a.seance, env, a.query, a.cols, a.rows) for _ in range(a.runs)]
    first = [r["first"] for r in runs]
    rec = [r["reconcile"] for r in runs]
    n = len(a.query)
    typed = [k for r in runs for k in r["keys"][:n]]
    erased = [k for r in runs for k in r["keys"][n:]]
    print(f"runs: {a.runs}, terminal {a.cols}x{a.rows}, query {a.query!r} typed then erased")
    print(f"rows in the first frame: {sorted(set(r['first_rows'] for r in runs))}")
    print(f"exit codes: {sorted(set(r['exit'] for r in runs))}")
    print(f"first frame ms: median {statistics.median(first):.1f}, "
          f"min {min(first):.1f}, max {max(first):.1f}")
    print(f"walk reconciled ms: median {statistics.median(rec):.1f}, "
          f"min {min(rec):.1f}, max {max(rec):.1f}")
    for name, keys in (("typed", typed), ("erased", erased)):
        print(f"keystroke to frame ms, {name} ({len(keys)} keys): "
              f"median {statistics.median(keys):.1f}, p90 {pct(keys, 90):.1f}, "
              f"max {max(keys):.1f}, min {min(keys):.1f}")
    per_key = list(zip(*[r["keys"][:n] for r in runs]))
    print("typed, median per key: " + " ".join(
        f"{c!r}:{statistics.median(ks):.1f}" for c, ks in zip(a.query, per_key)))
    print(f"load average: {open('/proc/loadavg').read().split()[:3]}")
    return 0 if all(r["first_rows"] > 0 and r["exit"] == 130 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
