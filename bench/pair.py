#!/usr/bin/env python3
"""Times two commands run in turn (A, B, A, B, ...), so both see the same
machine: on a shared virtual machine the speed drifts by a factor of two
within minutes, and timing one command's runs after the other's measures the
drift as much as the commands. Prints each command's median and the median of
the per-round ratios B/A.

Usage: pair.py [--runs N] [--warmup W] [--expect-code C] --a-label L --b-label L -- A... ++ B...
"""
import argparse
import statistics
import subprocess
import sys
import time


def timed(cmd, expect):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dt = (time.perf_counter() - t0) * 1000
    if r.returncode != expect:
        sys.exit(f"unexpected exit code {r.returncode} from {' '.join(cmd)}")
    return dt


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--expect-code", type=int, default=0)
    p.add_argument("--a-label", default="A")
    p.add_argument("--b-label", default="B")
    p.add_argument("cmds", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmds = a.cmds[1:] if a.cmds and a.cmds[0] == "--" else a.cmds
    if "++" not in cmds:
        p.error("give both commands, separated by ++")
    i = cmds.index("++")
    cmd_a, cmd_b = cmds[:i], cmds[i + 1:]
    if not cmd_a or not cmd_b:
        p.error("a command is empty")
    ta, tb = [], []
    for n in range(a.warmup + a.runs):
        x, y = timed(cmd_a, a.expect_code), timed(cmd_b, a.expect_code)
        if n >= a.warmup:
            ta.append(x)
            tb.append(y)
    ratio = statistics.median(y / x for x, y in zip(ta, tb))
    print(f"{a.a_label}: median {statistics.median(ta):.2f} ms, min {min(ta):.2f} ms over {a.runs} runs")
    print(f"{a.b_label}: median {statistics.median(tb):.2f} ms, min {min(tb):.2f} ms over {a.runs} runs")
    print(f"{a.b_label} / {a.a_label}: median of the per-round ratios {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
