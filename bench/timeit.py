#!/usr/bin/env python3
"""Times a command: warm-up runs, then N measured runs; prints min / median / mean.

Usage: timeit.py [--runs N] [--cwd DIR] [--expect-code C] -- COMMAND ARGS...
Used by the bench/*.sh scripts so every figure in the README comes from the
same measurement (wall time of the whole process, as a user feels it).
"""
import argparse
import statistics
import subprocess
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--cwd", default=None)
    p.add_argument("--expect-code", type=int, default=0)
    p.add_argument("--label", default=None)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        p.error("no command")
    times = []
    for i in range(a.warmup + a.runs):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=a.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dt = (time.perf_counter() - t0) * 1000
        if r.returncode != a.expect_code:
            print(f"unexpected exit code {r.returncode} from {' '.join(cmd)}", file=sys.stderr)
            return 2
        if i >= a.warmup:
            times.append(dt)
    label = a.label or " ".join(cmd)
    print(f"{label}: median {statistics.median(times):.2f} ms, min {min(times):.2f} ms, "
          f"mean {statistics.mean(times):.2f} ms over {a.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
