"""Dedup against the real store: the index stage on the SaudiNewsNet day, with Elasticsearch as the LSH store.

Usage (the local stack must be up: ``marsad stack up``):
``.venv/bin/python benchmarks/dedup/store.py [--batch 50] [--write-docs]``

Feeds the 1,343 cleaned articles of ``saudinewsnet/2015-08-03.json`` through :class:`marsad.index.stage.IndexStage`
in batches (no Kafka: the stage is called directly, so the figures are the stage's own), into throw-away indices,
and splits the time per article into: fingerprint + decisions in-process, the candidate search in Elasticsearch
(the store's share), and the rest (claims, bulk writes with ``refresh=wait_for``, race check). Writes
docs/benchmarks-dedup-store.md with ``--write-docs``. Indices are deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import datetime, timezone

from marsad.dedup.urls import canonical_url
from marsad.extract.boilerplate import clean_body
from marsad.index import stage as stage_mod
from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.kafka.worker import Record
from marsad.messages import Article, utcnow
from marsad.settings import REPO_ROOT, load_settings
from marsad.text.arabic import content_hash


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    tag = f"bench{uuid.uuid4().hex[:8]}"
    s = load_settings(stories_alias=f"{tag}-stories", stories_index_prefix=f"{tag}-stories-v",
                      fingerprints_index=f"{tag}-fingerprints")
    es = Es(s.es_url)
    apply_templates(s, es)
    day = json.loads((s.corpus_dir / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))
    arts, seen = [], set()
    for row in day:
        text, _ = clean_body(row["content"], row["title"])
        url = canonical_url(row["url"])
        if url in seen or not text.strip():
            continue
        seen.add(url)
        arts.append(Article(url=row["url"], canonical_url=url, source=row["source"], title=row["title"], text=text,
                            fetched_at=utcnow(), content_hash=content_hash(text)))
    st = stage_mod.IndexStage(s, es)
    timers = {"candidates": 0.0, "fingerprint": 0.0, "decide": 0.0}

    def timed(name, fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timers[name] += time.perf_counter() - t0
        return wrapper

    st._candidates = timed("candidates", st._candidates)
    stage_mod.fingerprint = timed("fingerprint", stage_mod.fingerprint)
    stage_mod.decide = timed("decide", stage_mod.decide)
    labels: dict[str, int] = {}
    batch_ms = []
    t_start = time.perf_counter()
    try:
        for k in range(0, len(arts), args.batch):
            chunk = arts[k:k + args.batch]
            recs = [Record("bench", 0, k + i, a.canonical_url.encode(), a.to_json()) for i, a in enumerate(chunk)]
            t0 = time.perf_counter()
            for out in st.process_batch(recs):
                key = "error" if out.error else out.label
                labels[key] = labels.get(key, 0) + 1
            batch_ms.append((time.perf_counter() - t0) * 1000 / len(chunk))
        total = time.perf_counter() - t_start
    finally:
        es.request("DELETE", f"/{tag}-*", ok=(404,))
        es.request("DELETE", f"/_index_template/{s.stories_alias}", ok=(404,))
        es.request("DELETE", f"/_index_template/{s.fingerprints_index}", ok=(404,))
    n = len(arts)
    per = total * 1000 / n
    cand = timers["candidates"] * 1000 / n
    inproc = (timers["fingerprint"] + timers["decide"]) * 1000 / n
    report = "\n".join([
        "# Dedup against the real store (Elasticsearch)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, local stack (ES 7.10.2, 768 MB heap, 2 shared cores), "
        f"{n} SaudiNewsNet articles in batches of {args.batch}, `benchmarks/dedup/store.py`.",
        "",
        "| per article | ms |",
        "|---|---|",
        f"| whole index stage (claims, near-dup decision, bulk write with refresh=wait_for, race check) | {per:.2f} |",
        f"| of which candidate search in Elasticsearch (the store's share) | {cand:.2f} ({100 * cand / per:.0f} %) |",
        f"| of which fingerprint + decisions in-process | {inproc:.2f} ({100 * inproc / per:.0f} %) |",
        f"| per-batch mean, median over batches | {sorted(batch_ms)[len(batch_ms) // 2]:.2f} |",
        "",
        f"Outcomes: {labels}. The rest of the time is the claims bulk, the story bulk (which waits for a refresh so the",
        "next batch can see the new stories) and the second candidate search of the race check.",
        "",
    ])
    print(report)
    if args.write_docs:
        (REPO_ROOT / "docs" / "benchmarks-dedup-store.md").write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
