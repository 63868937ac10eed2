"""Memory of one extract consumer over a large backlog: RSS over pages processed, beside the same extraction without
Kafka in one process: the peak RSS of each consumer after 10,000 pages.

Usage (the local stack must be up: ``marsad stack up``)::

    PYTHONPATH=src .venv/bin/python benchmarks/consumer_memory/run.py [--scale 10] [--write-docs]

The SaudiNewsNet day as minimal HTML (``benchmarks/pipeline/run.py`` ``minimal``), repeated ``--scale`` times with
distinct URLs, is produced to a throw-away raw-pages topic (2 partitions); then, one after the other:

* **in-process reference** — ``extract_article`` over the same pages in this process, no Kafka: RSS after each pass
  over the day (what extraction itself keeps);
* **consumer, glibc defaults** — ``marsad consume extract --until-idle`` as an OS process over the whole backlog, RSS
  sampled every 0.5 s (``psutil``);
* **consumer, fixed mmap threshold** — the same with ``MALLOC_MMAP_THRESHOLD_=131072`` in its environment: glibc
  then serves every allocation ≥ 128 KiB (Kafka fetch buffers, message copies) with its own mapping and returns it
  when freed, instead of raising the threshold dynamically and keeping freed large blocks in the heap (glibc
  ``mallopt(3)``, M_MMAP_THRESHOLD).

Each consumer row starts from a fresh topic of the same pages. The figures separate what Marsad's code keeps (the
Python heap, measured with ``tracemalloc`` in a separate run: docs/benchmarks-consumer-memory.md) from what the
allocator and librdkafka hold. ``--write-docs`` writes docs/benchmarks-consumer-memory.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))

from run import build_pages, drop, produce  # noqa: E402  (benchmarks/pipeline/run.py)

from marsad.errors import MarsadError  # noqa: E402
from marsad.extract.stage import extract_article  # noqa: E402
from marsad.index.es import Es  # noqa: E402
from marsad.kafka import clients  # noqa: E402
from marsad.settings import REPO_ROOT, load_settings, scratch_names, to_env  # noqa: E402

VARIANTS = [("consumer, glibc defaults", {}),
            ("consumer, MALLOC_MMAP_THRESHOLD_=131072", {"MALLOC_MMAP_THRESHOLD_": "131072"})]


def in_process(pages, passes: int) -> list[tuple[int, float]]:
    """``[(pages done, RSS MB)]`` after each pass of ``extract_article`` over ``pages`` (distinct URLs per pass)."""
    now = datetime.now(timezone.utc)
    out, n = [], 0
    me = psutil.Process()
    for k in range(passes):
        for p in pages:
            try:
                extract_article(p.body, p.url.replace("://", f"://r{k}."), fetched_at=now, source=p.source)
            except MarsadError:
                pass  # discarded pages (the same as the consumer's discards); memory is what is measured here
            n += 1
        gc.collect()
        out.append((n, me.memory_info().rss / 2 ** 20))
    return out


def consumer_run(base, pages, env_extra: dict[str, str]) -> dict:
    """One ``marsad consume extract --until-idle`` over ``pages`` on fresh throw-away topics."""
    tag = f"bench{uuid.uuid4().hex[:8]}"
    s = base.model_copy(update={**scratch_names(tag), "topic_partitions": 2, "idle_timeout_s": 3.0})
    try:
        clients.ensure_topics(s)
        produce(s, pages)
        env = {**os.environ, **to_env(s), "PYTHONPATH": str(REPO_ROOT / "src"), **env_extra}
        env.pop("MARSAD_METRICS_PORT", None)
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "marsad.cli", "consume", "extract", "--until-idle"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        handle = psutil.Process(proc.pid)
        samples: list[float] = []
        while proc.poll() is None:
            try:
                samples.append(handle.memory_info().rss / 2 ** 20)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.5)
        return {"exit": proc.returncode, "seconds": time.monotonic() - t0, "samples": samples}
    finally:
        drop(tag, s, Es.from_settings(s))


def _curve(samples: list[float], points: int = 10) -> str:
    if not samples:
        return "-"
    step = max(1, len(samples) // points)
    return " → ".join(f"{x:.0f}" for x in samples[::step])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=10, help="the day N times with distinct URLs")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--reference-only", action="store_true", help=argparse.SUPPRESS)  # the child of the reference row
    args = ap.parse_args()
    base = load_settings()
    started = datetime.now(timezone.utc)
    day = build_pages(base.corpus_dir, "minimal", 1, None)
    if args.reference_only:
        print(json.dumps(in_process(day, args.scale)))
        return 0
    # the reference in its own process: this one also holds the whole backlog's pages
    ref = json.loads(subprocess.run([sys.executable, __file__, "--scale", str(args.scale), "--reference-only"],
                                    check=True, capture_output=True, text=True).stdout)
    pages = build_pages(base.corpus_dir, "minimal", args.scale, None)
    rows = []
    for label, extra in VARIANTS:
        r = consumer_run(base, pages, extra)
        rows.append((label, r))
        print(f"{label}: exit {r['exit']}, peak {max(r['samples'], default=0):.0f} MB", file=sys.stderr, flush=True)
    lines = [
        "# Memory of an extract consumer over a large backlog (benchmarks/consumer_memory/run.py)",
        "",
        f"Written by `benchmarks/consumer_memory/run.py --scale {args.scale}` on {started:%Y-%m-%d %H:%M} UTC: "
        f"{len(pages):,} minimal pages (the SaudiNewsNet day × {args.scale}, distinct URLs) produced to a throw-away "
        "topic, then one `marsad consume extract --until-idle` per row over the whole backlog; RSS in MB, sampled "
        "every 0.5 s (10 points shown, first to last).",
        "",
        "| variant | exit | seconds | RSS first → last sample (MB) | peak MB | last MB |",
        "|---|---:|---:|---|---:|---:|",
        f"| in-process reference (`extract_article`, no Kafka; after each pass of {len(day):,} pages) | | | "
        f"{' → '.join(f'{mb:.0f}' for _, mb in ref)} | {max(mb for _, mb in ref):.0f} | {ref[-1][1]:.0f} |",
    ]
    for label, r in rows:
        s = r["samples"]
        lines.append(f"| {label} | {r['exit']} | {r['seconds']:.0f} | {_curve(s)} | {max(s, default=0):.0f} | "
                     f"{s[-1] if s else 0:.0f} |")
    lines.append("")
    report = "\n".join(lines)
    print(report)
    if args.write_docs:
        path = REPO_ROOT / "docs" / "benchmarks-consumer-memory.md"
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        notes = old.split("\n## Reading\n", 1)[1] if "\n## Reading\n" in old else ""
        path.write_text(report + ("\n## Reading\n" + notes if notes else ""), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
