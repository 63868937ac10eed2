"""Consumers scale out: the pipeline with 1 vs 2 extract processes in one consumer group, and one of two leaving
mid-run.

Usage (the local stack must be up: ``marsad stack up``)::

    PYTHONPATH=src .venv/bin/python benchmarks/scale_out/run.py [--workload templates] [--repeat 2]
        [--limit N] [--write-docs]

Workload and pipeline harness: ``benchmarks/pipeline/run.py`` (the SaudiNewsNet day placed into real outlet page
templates, where extraction is the expensive stage; throw-away topics with 2 partitions; 1 index consumer; alerts on).
In one run, alternating so that load drifts hit every variant:

* **bare 1 / bare 2** — ``trafilatura.extract`` over the same pages with a 1- and a 2-process pool: the reference,
  what 2 cores give a CPU-bound job that shares nothing;
* **1 extract** and **2 extract** — ``marsad consume extract`` × 1 or × 2 (one consumer group) + ``marsad consume
  index`` × 1, pages/s from the first raw record to the last final outcome;
* **2 extract, one leaves** — as *2 extract*, but ``extract-2`` gets SIGTERM once half the pages are final: it
  finishes its batch, commits and leaves the group; ``extract-1`` is handed its partition (rebalance) and finishes
  the day. Checked, not timed: every raw page has a final outcome (story, republication, duplicate, discarded or
  dead-lettered), the same number of stories as the other variants, and how many pages got more than one final
  ledger record (a page processed twice after the rebalance; 0 expected for a clean leave, since the leaving
  consumer commits what it produced before it goes).

The scale-out ratio that matters is ``2 extract ÷ 1 extract`` beside ``bare 2 ÷ bare 1`` on the same machine: the
pipeline cannot scale better than its extraction does. On 2 cores the index consumer, Kafka and Elasticsearch share
the same cores as the extract processes, so the ratio stays below the bare one; on more cores (or machines) extract
processes add up to the partition count (``MARSAD_TOPIC_PARTITIONS``).
``--write-docs`` writes docs/benchmarks-scale-out.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from argparse import Namespace
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))

from run import build_pages, run_bare, run_pipeline  # noqa: E402  (benchmarks/pipeline/run.py)

from marsad.index.es import Es  # noqa: E402
from marsad.settings import REPO_ROOT, load_settings  # noqa: E402

VARIANTS = [("1 extract", 1, None), ("2 extract", 2, None), ("2 extract, one leaves", 2, "extract-2")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", default="templates", choices=("templates", "minimal"))
    ap.add_argument("--limit", type=int, default=None, help="first N articles of the day only (smoke runs)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per variant, alternating")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    base = load_settings()
    es = Es(base.es_url)
    started = datetime.now(timezone.utc)
    pages = build_pages(base.corpus_dir, args.workload, 1, args.limit)
    kib = statistics.mean(len(p.body) for p in pages) / 1024
    rows: list[dict] = []
    for rep in range(args.repeat):
        for procs in (1, 2):
            bare = run_bare(pages, procs)
            rows.append({"variant": f"bare {procs}", "pages_s": bare["pages_s"], "rep": rep})
            print(f"bare {procs}: {bare['pages_s']:.1f} pages/s", file=sys.stderr, flush=True)
        for label, n_extract, leave in VARIANTS:
            ns = Namespace(extract_consumers=n_extract, index_consumers=1, partitions=2, timeout=args.timeout)
            r = run_pipeline(base, es, pages, ns, None, leave=leave)
            r.update(variant=label, rep=rep)
            rows.append(r)
            print(f"{label}: {r['pages_s']:.1f} pages/s, {r['categories']}, final records {r['final_records']}",
                  file=sys.stderr, flush=True)
    report = render(rows, args, started, len(pages), kib)
    print(report)
    if args.write_docs:
        (REPO_ROOT / "docs" / "benchmarks-scale-out.md").write_text(report, encoding="utf-8")
    return 0


def _mean(rows: list[dict], variant: str) -> float:
    return statistics.mean(r["pages_s"] for r in rows if r["variant"] == variant)


def render(rows: list[dict], args, started: datetime, n_pages: int, kib: float) -> str:
    lines = [
        "# Consumers scale out: 1 vs 2 extract processes (benchmarks/scale_out/run.py)",
        "",
        f"Written by `benchmarks/scale_out/run.py --workload {args.workload} --repeat {args.repeat}"
        f"{f' --limit {args.limit}' if args.limit else ''}` on {started:%Y-%m-%d %H:%M} UTC: {n_pages} pages, "
        f"{kib:.0f} KiB per page on average, 2 partitions, 1 index consumer, alerts on, shared local stack "
        "(Kafka, Elasticsearch 7.10.2 one node) on a 2-core machine shared with other engineers' runs — compare the "
        "ratios, measured in the same run, not the absolute figures.",
        "",
        "| run | variant | pages/s | stories | outcomes | pages with > 1 final record | peak RSS MB | load avg |",
        "|---:|---|---:|---:|---|---:|---|---|",
    ]
    for r in rows:
        if r["variant"].startswith("bare"):
            lines.append(f"| {r['rep'] + 1} | {r['variant']} (trafilatura pool) | {r['pages_s']:.1f} | | | | | |")
            continue
        doubled = sum(v for k, v in r["final_records"].items() if int(k) > 1)
        rss = ", ".join(f"{k} {v:.0f}" for k, v in sorted(r["rss_mb"].items()))
        left = f" (left after {r['left_at']} pages, exit {r['leaver_exit']})" if r.get("left_at") is not None else ""
        lines.append(f"| {r['rep'] + 1} | {r['variant']}{left} | {r['pages_s']:.1f} | {r['stories']} | "
                     f"{r['categories']} | {doubled} | {rss} | {r['load'][0][0]:.1f} → {r['load'][1][0]:.1f} |")
    p1, p2, b1, b2 = (_mean(rows, v) for v in ("1 extract", "2 extract", "bare 1", "bare 2"))
    lines += [
        "",
        f"**Scale-out ratio** (means over the runs): pipeline 2 extract ÷ 1 extract = **{p2 / p1:.2f}×**; bare "
        f"trafilatura 2 processes ÷ 1 = **{b2 / b1:.2f}×** (the ceiling on this machine). Pipeline ÷ bare at equal "
        f"process count: 1 → {p1 / b1:.2f}×, 2 → {p2 / b2:.2f}×.",
        "",
        "*pages with > 1 final record*: raw pages that got two or more final ledger records (index-stage outcome or "
        "discard) — a batch processed again after a rebalance. The story count is what must not change.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
