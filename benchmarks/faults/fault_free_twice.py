"""Is the fault-free pipeline run deterministic? Run the fault suite's fault-free scenario N times and compare.

Usage (from the repo root): ``PYTHONPATH=src:. .venv/bin/python benchmarks/faults/fault_free_twice.py [--runs 2]``

Same input and processes as ``tests/faults/test_pipeline_survives_faults.py`` (SaudiNewsNet day, 3 partitions,
2 extract + 2 index consumer processes, alerts on), on a private stack of its own. Prints, per run, the number of
stories and multi-member stories, and for each pair of runs the stories that differ (their members) — so a reader
can see whether the differences are near-duplicate chains (A~B, B~C, A!~C) clustered by processing order.
Writes the memberships as JSON to ``--out`` (default ``/tmp/fault-free-runs.json``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from marsad import stack
from marsad.settings import load_settings
from tests.conftest import CORPUS
from tests.faults import test_pipeline_survives_faults as suite


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--out", default="/tmp/fault-free-runs.json")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fault-free-twice-"))
    pages = suite.raw_pages(CORPUS)
    s = load_settings().model_copy(update={**suite.PRIVATE, **suite.private_ports(), "state_dir": tmp / "stack"})
    stack.up(s)
    runs = []
    try:
        for n in range(args.runs):
            t0 = time.monotonic()
            out = suite.run(s, tmp / f"run{n}", pages)
            m = out["membership"]
            print(f"run {n}: {time.monotonic() - t0:.0f} s, {len(m)} stories, "
                  f"{sum(len(x) > 1 for x in m)} with >1 member, exits {dict(out['exits'])}, "
                  f"unaccounted {out['audit']['unaccounted']}, doubled {len(out['doubled'])}", flush=True)
            runs.append(m)
    finally:
        stack.down(s)
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            a, b = runs[i] - runs[j], runs[j] - runs[i]
            print(f"run {i} vs run {j}: {len(a)} stories only in {i}, {len(b)} only in {j}")
            for x in sorted(map(sorted, a)):
                print(f"  only {i}: {x}")
            for x in sorted(map(sorted, b)):
                print(f"  only {j}: {x}")
    Path(args.out).write_text(json.dumps([sorted(map(sorted, m)) for m in runs]))


if __name__ == "__main__":
    main()
