"""Replay throughput against the live pipeline on the same raw pages, measured in the same run.

Usage (the local stack must be up: ``marsad stack up``):
``.venv/bin/python benchmarks/replay/run.py [--pages 1343] [--write-docs]``

The 1,343 SaudiNewsNet articles of ``saudinewsnet/2015-08-03.json`` (corpus) are rendered as simple HTML pages and
produced as raw pages (one Kafka record each, 3 partitions) to throw-away topics. Then:

* **reference** — the live path: ``pipeline.drain`` (extract worker → articles topic → index worker) into ``…-v1``;
* **replay** — ``marsad.replay.replay`` over the whole window into ``…-v2`` (both stages in one process, ordered
  merge of the partitions, no articles topic).

Both use the default batch size (200). The ratio replay/reference is what the docs quote (absolute pages/s depend on
the machine, which is shared here). Writes docs/benchmarks-replay.md with ``--write-docs``; topics and indices are
deleted afterwards.
"""

from __future__ import annotations

import argparse
import html
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.kafka import clients
from marsad.messages import RawPage, RawPageMeta
from marsad.pipeline import drain
from marsad.replay import replay
from marsad.settings import REPO_ROOT, load_settings, scratch_names


def page_html(row: dict) -> bytes:
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in row["content"].split("\n") if p.strip())
    return (f"<!doctype html><html lang='ar'><head><meta charset='utf-8'><title>{html.escape(row['title'])}</title>"
            f"</head><body><article><h1>{html.escape(row['title'])}</h1>{paras}</article></body></html>").encode()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=1343)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    tag = f"bench{uuid.uuid4().hex[:8]}"
    # every name throw-away: the clean-up below deletes them all (scratch_names)
    s = load_settings(**scratch_names(tag), sources_file=REPO_ROOT / "sources.yaml", idle_timeout_s=2.0)
    es = Es(s.es_url)
    rows = json.loads((s.corpus_dir / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))[:args.pages]
    t0 = datetime.now(timezone.utc) - timedelta(hours=1)
    try:
        apply_templates(s, es)
        clients.ensure_topics(s)
        prod = clients.producer(s)
        for n, row in enumerate(rows):
            body = page_html(row)
            rp = RawPage(meta=RawPageMeta(url=row["url"], final_url=row["url"], canonical_url=row["url"], status=200,
                                          headers={"content-type": "text/html; charset=utf-8"},
                                          fetched_at=t0 + timedelta(seconds=n), source=row["source"],
                                          content_length=len(body)), body=body)
            key, value, headers = rp.to_kafka()
            prod.produce(s.raw_pages_topic, key=key, value=value, headers=headers)
            prod.poll(0)
        assert prod.flush(60) == 0

        t = time.perf_counter()
        live = drain(s)
        live_s = time.perf_counter() - t
        t = time.perf_counter()
        rep = replay(s, t0, None, f"{s.stories_index_prefix}2")
        replay_s = time.perf_counter() - t
        es.request("POST", f"/{s.stories_index_prefix}1,{s.stories_index_prefix}2/_refresh")
        n_live = es.request("GET", f"/{s.stories_index_prefix}1/_count")["count"]
        n_rep = es.request("GET", f"/{s.stories_index_prefix}2/_count")["count"]
    finally:
        es.request("DELETE", f"/{tag}-*", ok=(404,))
        for t_ in (s.stories_alias, s.fingerprints_index):
            es.request("DELETE", f"/_index_template/{t_}", ok=(404,))
        client = clients.admin(s)
        for f in client.delete_topics(clients.topic_names(s), operation_timeout=30).values():
            f.result()
    pages = len(rows)
    report = f"""# Replay throughput (benchmarks/replay/run.py)

{pages} raw pages (SaudiNewsNet 2015-08-03 articles rendered as HTML, 3 partitions), batch size {s.batch_size},
on the shared local stack (2 cores shared with other work: compare the ratio, not the absolute figures).

| path | seconds | pages/s | stories |
|---|---:|---:|---:|
| reference: live consumers (`pipeline.drain`: extract worker → articles topic → index worker) | {live_s:.1f} | {pages / live_s:.1f} | {n_live} |
| `marsad replay` (both stages in-process, ordered merge of partitions) | {replay_s:.1f} | {pages / replay_s:.1f} | {n_rep} |

Replay / reference throughput: **{live_s / replay_s:.2f}×**. The reference includes the consumers' idle
detection at the end of each topic (`idle_timeout_s` = {s.idle_timeout_s:g} s per stage); the replay knows its end
offsets and stops at once.

Outcomes — live extract: {live['extract']['outcomes']}, live index: {live['index']['outcomes']};
replay: {dict(rep.outcomes)}.

Story counts can differ slightly: the live consumers decide copies in the order the two workers happen to read
the partitions, the replay in record-time order (deterministic), so a borderline near-duplicate can fall on the
other side.
"""
    print(report)
    if args.write_docs:
        (REPO_ROOT / "docs" / "benchmarks-replay.md").write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
