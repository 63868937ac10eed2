"""CPU time of ``extract_article`` per page: this tree vs another git ref, alternating, on the pipeline workloads.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/extract/cpu_vs_ref.py [--ref main] [--rounds 3] [--limit N]

For a speed-up of the extract stage: the reference tree is ``git archive <ref> src`` in a temporary folder; each round
runs one fresh subprocess per tree and workload (``PYTHONPATH`` = that tree's ``src``), alternating ref and this tree
so that load drifts on the shared machine hit both. A subprocess builds the pages (``benchmarks/pipeline/run.py``
``build_pages``: the SaudiNewsNet day as minimal HTML and in the CNN Arabic/LBC templates), extracts them once to warm
up (imports, rule files, regex caches), then once measured: process CPU time per page (``time.process_time``, ms),
which other processes' load disturbs less than wall time. Prints p50, p95 and mean per tree and workload over all
rounds, and the ratio of means. Outputs are compared by ``benchmarks/extract/same_outputs.py``, not here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from marsad.settings import Settings

REPO = Path(__file__).resolve().parents[2]

WORKER = r"""
import importlib.util, json, sys, time
from datetime import datetime, timezone
from pathlib import Path
repo, workload, limit, corpus = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]) or None, Path(sys.argv[4])
spec = importlib.util.spec_from_file_location("pipeline_run", repo / "benchmarks" / "pipeline" / "run.py")
mod = importlib.util.module_from_spec(spec)
sys.modules["pipeline_run"] = mod
spec.loader.exec_module(mod)
from marsad.errors import Discard, PermanentError
from marsad.extract.stage import extract_article
FETCHED = datetime(2026, 11, 29, tzinfo=timezone.utc)
pages = mod.build_pages(corpus, workload, 1, limit)
out = []
for measured in (False, True):
    for p in pages:
        t0 = time.process_time()
        try:
            extract_article(p.body, p.url, fetched_at=FETCHED)
        except (Discard, PermanentError):
            pass
        if measured:
            out.append((time.process_time() - t0) * 1000)
print(json.dumps(out))
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(src: Path, workload: str, limit: int) -> list[float]:
    res = subprocess.run([sys.executable, "-c", WORKER, str(REPO), workload, str(limit), str(Settings().corpus_dir)],
                         env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"run over {src} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", default="main")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="first N articles of the day (0: all 1,343)")
    ap.add_argument("--workloads", default="minimal,templates")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp) / "ref.tar"
        subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(tar), args.ref, "src"], check=True)
        with tarfile.open(tar) as tf:
            tf.extractall(Path(tmp) / "ref", filter="data")
        trees = {args.ref: Path(tmp) / "ref" / "src", "this tree": REPO / "src"}
        ms: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for workload in args.workloads.split(","):
                for label, src in trees.items():
                    ms.setdefault((workload, label), []).extend(run(src, workload, args.limit))
    print("| workload | tree | pages × rounds | CPU ms/page p50 | p95 | mean |\n|---|---|---:|---:|---:|---:|")
    for (workload, label), v in ms.items():
        print(f"| {workload} | {label} | {len(v)} | {statistics.median(v):.2f} | {pct(v, .95):.2f} | "
              f"{statistics.mean(v):.2f} |")
    for workload in args.workloads.split(","):
        a, b = (statistics.mean(ms[(workload, k)]) for k in trees)
        print(f"{workload}: this tree / {args.ref} mean CPU per page = {b / a:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
