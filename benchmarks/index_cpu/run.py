"""Where the index stage's machine time goes: Elasticsearch CPU and Python CPU per article, by the step that asked.

    PYTHONPATH=src .venv/bin/python benchmarks/index_cpu/run.py [--before-ref REF] [--rounds 2] [--batch 200]
        [--no-alerts] [--write-docs]

The SaudiNewsNet day (2015-08-03, 1,343 articles as minimal HTML pages, the workload of
``benchmarks/pipeline/run.py``) goes through Marsad's extract stage once, in this process; the articles then go
through ``IndexStage.process_batch`` in batches (default 200, the consumers' ``batch_size``) against the real
Elasticsearch node of ``marsad stack up``, into scratch indices (``scratch_names``), alerts on with the demo rules
and the probe rule of the pipeline benchmark. No Kafka: this measures the stage, not the transport.

Measured per run (``psutil``): wall time, this process's CPU, the Elasticsearch JVM's CPU (the
process listening on 9200), and — by wrapping ``Es.request`` — the JVM CPU spent during each request, attributed to
the index-stage method that sent it (``_write``, ``match`` = percolation, ``_candidates_many`` …). The JVM's
background work (merges, GC) falls on whichever request is running, so the per-step figures are approximate; the
totals are exact. ``--before-ref REF`` runs the same with ``src/`` of git commit REF in a child process,
alternating with this tree, ``--rounds`` times each: compare the ratios (the machine is shared).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STEPS = ("_repair", "_write", "_retry_missing", "_create_claims", "_read_claims", "_candidates_many",
         "_keep_canonical_collisions_apart", "match", "unsent", "record", "mark_copies", "rehome", "_alert",
         "on_batch", "_resume_folds", "_fold")


def _step() -> str:
    names = [f.function for f in inspect.stack()[2:14]]  # 0: _step, 1: the wrapper, 2: the caller
    for n in names:
        if n in STEPS:
            return "_repair/_candidates_many" if n == "_candidates_many" and "_repair" in names else n
    return "other"


def child(batch: int, alerts: bool) -> dict:
    """One run in this interpreter (whose ``marsad`` is the tree under test); returns the figures."""
    import psutil

    sys.path.insert(0, str(REPO / "benchmarks" / "pipeline"))
    from run import DEMO_RULES, PROBE_RULE, bench_settings, build_pages, drop, engine_pids  # the pipeline harness

    from marsad.alerts.rules import RuleStore, make_rule, parse_rules_file
    from marsad.dedup.urls import canonical_url
    from marsad.extract.stage import ExtractStage
    from marsad.index.es import Es
    from marsad.index.stage import IndexStage
    from marsad.index.templates import apply_templates
    from marsad.kafka import clients
    from marsad.messages import RawPage, RawPageMeta, utcnow
    from marsad.settings import load_settings
    from marsad.stage import Record

    base = load_settings()
    tag, s = bench_settings(base, 1)
    s = s.model_copy(update={"alerts_enabled": alerts})
    es = Es(s.es_url)
    ex = ExtractStage(s)
    recs: list[Record] = []
    for n, p in enumerate(build_pages(s.corpus_dir, "minimal", 1, None)):
        rp = RawPage(meta=RawPageMeta(url=p.url, final_url=p.url, canonical_url=canonical_url(p.url), status=200,
                                      fetched_at=utcnow(), source=p.source,
                                      headers={"content-type": "text/html; charset=utf-8"}), body=p.body)
        k, v, h = rp.to_kafka()
        for o in ex.process_batch([Record(s.raw_pages_topic, 0, n, k, v, h)])[0].outputs:
            recs.append(Record(s.articles_topic, 0, len(recs), o.key, o.value, []))
    jvm = psutil.Process(engine_pids()["elasticsearch"])
    me = psutil.Process()

    def jvm_cpu() -> float:
        t = jvm.cpu_times()
        return t.user + t.system

    def my_cpu() -> float:
        t = me.cpu_times()
        return t.user + t.system

    try:
        apply_templates(s, es)
        clients.ensure_topics(s)  # the alerts topic: the hook publishes alert events
        if alerts:
            rules, _ = parse_rules_file(DEMO_RULES)
            RuleStore(s, es).sync(rules + [make_rule(name="probe-kingdom", query=PROBE_RULE)])
        stage = IndexStage(s, es)
        cpu: dict[str, float] = defaultdict(float)
        calls: dict[str, int] = defaultdict(int)
        request = es.request

        def timed(*a, **kw):
            step, c0 = _step(), jvm_cpu()
            try:
                return request(*a, **kw)
            finally:
                cpu[step] += jvm_cpu() - c0
                calls[step] += 1

        es.request = timed  # type: ignore[method-assign]
        j0, p0, t0 = jvm_cpu(), my_cpu(), time.perf_counter()
        for i in range(0, len(recs), batch):
            stage.process_batch(recs[i:i + batch])
        j1, p1, t1 = jvm_cpu(), my_cpu(), time.perf_counter()
        es.request = request  # type: ignore[method-assign]
        request("POST", f"/{s.stories_alias}/_refresh")
        stories = request("GET", f"/{s.stories_alias}/_count")["count"]
        n = len(recs)
        return {"articles": n, "stories": stories, "wall_ms": 1000 * (t1 - t0) / n, "es_ms": 1000 * (j1 - j0) / n,
                "py_ms": 1000 * (p1 - p0) / n, "steps": {k: [1000 * v / n, calls[k]] for k, v in cpu.items()}}
    finally:
        drop(tag, s, es)


def run_child(src: Path, args) -> dict:
    from marsad.settings import load_settings

    # the corpus of this checkout, also for a "before" tree unpacked elsewhere (its default is relative to it)
    env = {**os.environ, "PYTHONPATH": str(src), "MARSAD_CORPUS_DIR": str(load_settings().corpus_dir)}
    cmd = [sys.executable, str(Path(__file__)), "--child", "--batch", str(args.batch)] + (
        ["--no-alerts"] if args.no_alerts else [])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the run with {src} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before-ref", default=None)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--no-alerts", action="store_true")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.batch, not args.no_alerts)))
        return 0
    started = datetime.now(timezone.utc)
    variants = [("this tree", REPO / "src")]
    if args.before_ref:
        sys.path.insert(0, str(REPO / "benchmarks" / "pipeline"))
        from run import before_src

        variants = [(f"before ({args.before_ref})", before_src(args.before_ref)), ("this tree", REPO / "src")]
    rows = []
    for _ in range(args.rounds):
        for label, src in variants:
            r = run_child(src, args)
            r["label"] = label
            print(f"{label}: ES {r['es_ms']:.2f} + Python {r['py_ms']:.2f} ms/article, {r['stories']} stories",
                  file=sys.stderr, flush=True)
            rows.append(r)
    report = render(rows, args, started)
    print(report)
    if args.write_docs:
        (REPO / "docs" / "benchmarks-index-cpu.md").write_text(report, encoding="utf-8")
    return 0


def render(rows: list[dict], args, started: datetime) -> str:
    lines = [
        "# Index stage: machine time per article (benchmarks/index_cpu/run.py)", "",
        f"Written by `benchmarks/index_cpu/run.py{' --before-ref ' + args.before_ref if args.before_ref else ''} "
        f"--rounds {args.rounds} --batch {args.batch}{' --no-alerts' if args.no_alerts else ''}` on "
        f"{started:%Y-%m-%d %H:%M} UTC. The SaudiNewsNet day's {rows[0]['articles']} articles (minimal pages, "
        f"extracted once) through `IndexStage.process_batch` in batches of {args.batch} against the local "
        f"Elasticsearch node, alerts {'off' if args.no_alerts else 'on (demo rules + probe rule)'}, no Kafka. "
        "*ES*: CPU of the Elasticsearch JVM; *Python*: CPU of the index stage's process; both per article. "
        "2 shared cores: compare rows of the same run.", "",
        "| code | wall ms | ES CPU ms | Python CPU ms | ES + Python ms | stories |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['wall_ms']:.2f} | {r['es_ms']:.2f} | {r['py_ms']:.2f} | "
                     f"**{r['es_ms'] + r['py_ms']:.2f}** | {r['stories']} |")
    steps = sorted({k for r in rows for k in r["steps"]}, key=lambda k: -max(r["steps"].get(k, [0])[0] for r in rows))
    lines += ["", "Elasticsearch CPU per article by the index-stage method that sent the request (approximate: the "
                  "JVM's background work falls on the request running; requests per run in brackets):", "",
              "| step | " + " | ".join(r["label"] for r in rows) + " |", "|---|" + "---:|" * len(rows)]
    for k in steps:
        cells = [f"{r['steps'][k][0]:.2f} ({r['steps'][k][1]})" if k in r["steps"] else "–" for r in rows]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
