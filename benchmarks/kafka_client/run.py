"""Kafka client choice: confluent-kafka vs kafka-python on Marsad's produce and consume paths.

Usage (the local stack must be up: ``marsad stack up``)::

    PYTHONPATH=src .venv/bin/python benchmarks/kafka_client/run.py [--workloads minimal,templates]
        [--template-pages 300] [--rounds 5] [--write-docs] [--out FILE.json]

The design card names ``kafka-python``; Marsad uses ``confluent-kafka`` (librdkafka). This measures both, same pages,
same broker (``settings.kafka_bootstrap``, the shared one), one run:

* **pages** — the SaudiNewsNet day (``saudinewsnet/2015-08-03.json``, 1,343 articles) built by
  ``benchmarks/pipeline/run.py``'s ``build_pages`` (imported, read from ``settings.corpus_dir``, nothing copied):
  ``minimal`` HTML pages (the whole day) and ``templates``, the articles placed into real outlet page templates
  (CNN Arabic, LBC; ≈ 255 KiB a page; the first ``--template-pages`` articles, to keep the shared machine usable).
  Each page becomes the raw-page record the crawl publisher writes (``RawPage.to_kafka``: key = canonical URL,
  value = body, headers ``marsad-schema`` and ``marsad-meta``), built before the clock starts.
* **(a) produce** — every page to a throw-away topic (``settings.topic_partitions`` partitions,
  ``clients.topic_config``), each delivery checked, then flush. confluent-kafka: Marsad's own
  :class:`marsad.kafka.transport.Transport` (``send`` per page — produce with a delivery callback and ``poll(0)`` —
  then ``flush``, which raises if a delivery failed), so the producer is ``clients.producer``'s: ``acks=all``,
  ``enable.idempotence``, ``compression.type=zstd``, ``linger.ms=20``, ``message.max.bytes = max_message_bytes +
  HEADROOM``, ``message.timeout.ms = delivery_timeout_s``. kafka-python: ``KafkaProducer`` with the same settings
  under its names (``acks='all'``, ``enable_idempotence=True``, ``compression_type='zstd'``, ``linger_ms=20``,
  ``max_request_size``, ``delivery_timeout_ms``), ``send`` per page with a callback and an errback on the future,
  then ``flush`` and a check that every future succeeded. Settings Marsad does not set keep each client's default
  — among them the batch size: librdkafka ``batch.size`` 1,000,000 bytes, kafka-python ``batch_size`` 16,384 bytes; so
  kafka-python is also run with ``batch_size=1_000_000`` (row "kafka-python batch.size 1 MB").
  One warm-up record is produced and flushed before the clock starts (connection, metadata, producer id).
* **(b) consume** — a new consumer group over the topic, batches of up to ``settings.batch_size`` (200) records,
  each turned into a :class:`marsad.stage.Record` and its offsets committed synchronously (per partition: last
  offset + 1) before the next poll — the worker's loop (:class:`marsad.kafka.worker.Worker`) without a stage.
  confluent-kafka: ``clients.consumer`` (manual commits, ``fetch.max.bytes``, ``max.partition.fetch.bytes``,
  session/heartbeat/poll-interval from the settings), ``consume(batch_size, timeout=poll_timeout_s)`` and
  ``Transport.commit``. kafka-python: ``KafkaConsumer`` with the same settings under its names,
  ``poll(timeout_ms, max_records=batch_size)`` and ``commit(offsets)``. Every record must arrive exactly once
  (distinct (partition, offset) pairs and the byte total are checked).

Each (client, round) runs in a fresh child process (imports and client threads of one cannot bill the other);
clients alternate in order round by round (A B C, C B A …) so load drifts on the shared machine hit all of them.
**CPU** = ``time.process_time()`` of the child (``CLOCK_PROCESS_CPUTIME_ID``: every thread of the process, so
librdkafka's broker threads and kafka-python's sender / network threads are included; the broker's own CPU is
not). Produce: from the first ``send`` to the end of the flush. Consume: from ``subscribe`` to the last commit
(group join included; the wall rate is also given from the first record on). Reported: median over rounds, and
the spread (min–max).

The machine is shared (2 cores, other engineers' tests): the load average before and after each child is recorded.
``--write-docs`` writes docs/benchmarks-kafka-client.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

from marsad.dedup.urls import canonical_url
from marsad.kafka import clients
from marsad.messages import RawPage, RawPageMeta, utcnow
from marsad.settings import REPO_ROOT, Settings, load_settings

CLIENTS = {
    "confluent-kafka": {},
    "kafka-python": {},
    "kafka-python batch.size 1 MB": {"batch_size": 1_000_000},
}
"""Label → kafka-python producer overrides (none for confluent-kafka). 1,000,000 bytes: librdkafka's ``batch.size``
default (CONFIGURATION.md), which Marsad's producer keeps."""


def _pipeline_bench():
    """benchmarks/pipeline/run.py as a module (its page builders; benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("marsad_bench_pipeline", REPO_ROOT / "benchmarks" / "pipeline" / "run.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its @dataclass looks its module up there
    spec.loader.exec_module(mod)
    return mod


def raw_records(s: Settings, workload: str, limit: int | None) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """(key, value, headers) of the raw-page record of every page of ``workload`` (as the crawl publisher writes it)."""
    pages = _pipeline_bench().build_pages(s.corpus_dir, workload, 1, limit)
    out = []
    for p in pages:
        rp = RawPage(meta=RawPageMeta(url=p.url, final_url=p.url, canonical_url=canonical_url(p.url), status=200,
                                      headers={"content-type": "text/html; charset=utf-8"}, fetched_at=utcnow(),
                                      source=p.source, content_length=len(p.body)), body=p.body)
        out.append(rp.to_kafka())
    return out


# ---------------------------------------------------------------------------------------------------------------
# child: one client, one round


def produce_confluent(s: Settings, topic: str, recs: list) -> Iterator[None]:
    from marsad.kafka.transport import Transport

    t = Transport(s, "bench-kafka-client")
    t.send(topic, b"warm-up", b"warm-up")
    t.flush()
    yield  # clock starts
    for key, value, headers in recs:
        t.send(topic, key, value, headers)
    t.flush()
    if t.delivery.delivered[topic] != len(recs) + 1:
        raise RuntimeError(f"delivered {t.delivery.delivered[topic]} of {len(recs) + 1}")
    yield
    t.close()


def produce_kafka_python(s: Settings, topic: str, recs: list, overrides: dict) -> Iterator[None]:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, enable_idempotence=True, acks="all",
                      compression_type="zstd", linger_ms=20, max_request_size=s.max_message_bytes + clients.HEADROOM,
                      delivery_timeout_ms=int(s.delivery_timeout_s * 1000), client_id="marsad", **overrides)
    p.send(topic, value=b"warm-up", key=b"warm-up").get(timeout=30)
    delivered, errors = [0], []

    def ok(_md):
        delivered[0] += 1

    yield
    futures = []
    for key, value, headers in recs:
        f = p.send(topic, value=value, key=key, headers=headers)
        f.add_callback(ok)
        f.add_errback(errors.append)
        futures.append(f)
    p.flush(timeout=s.delivery_timeout_s + 10)
    if errors or not all(f.succeeded() for f in futures) or delivered[0] != len(recs):
        raise RuntimeError(f"delivered {delivered[0]} of {len(recs)}, errors {errors[:3]}")
    yield
    p.close(timeout=5)


def consume_confluent(s: Settings, topic: str, group: str, expected: int) -> dict:
    from confluent_kafka import KafkaError

    from marsad.kafka.transport import Transport
    from marsad.stage import Record

    c = clients.consumer(s, group)
    seen: set[tuple[int, int]] = set()
    nbytes, first, c_first, batches, poll_s, commit_s = 0, None, 0.0, 0, 0.0, 0.0
    t0, c0 = time.monotonic(), time.process_time()
    c.subscribe([topic])
    while len(seen) < expected:
        tp, cp = time.monotonic(), time.process_time()  # the poll that brings the first records
        msgs = c.consume(s.batch_size, timeout=s.poll_timeout_s)
        dt = time.monotonic() - tp
        records = []
        for m in msgs:
            err = m.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(f"consume: {err}")
                continue
            records.append(Record.from_message(m))
        if not records:
            poll_s += dt if first is not None else 0.0
            continue
        if first is None:
            first, c_first = tp, cp
        poll_s += dt
        for r in records:
            seen.add((r.partition, r.offset))
            nbytes += len(r.value or b"")
        tc = time.monotonic()
        if not Transport.commit(c, records):
            raise RuntimeError("commit refused (rebalance) in a one-member group")
        commit_s += time.monotonic() - tc
        batches += 1
    t1, c1 = time.monotonic(), time.process_time()
    c.close()
    return {"wall_s": t1 - t0, "cpu_s": c1 - c0, "join_s": (first or t1) - t0, "join_cpu_s": c_first - c0,
            "records": len(seen), "bytes": nbytes, "batches": batches, "poll_s": poll_s, "commit_s": commit_s}


def consume_kafka_python(s: Settings, topic: str, group: str, expected: int) -> dict:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    from marsad.stage import Record

    c = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap, group_id=group, enable_auto_commit=False,
                      auto_offset_reset="earliest", max_poll_interval_ms=int(s.consumer_max_poll_interval_s * 1000),
                      session_timeout_ms=int(s.consumer_session_timeout_s * 1000),
                      heartbeat_interval_ms=max(1000, int(s.consumer_session_timeout_s * 1000 / 3)),
                      fetch_max_bytes=max(52_428_800, s.max_message_bytes + clients.HEADROOM),
                      max_partition_fetch_bytes=s.max_message_bytes + clients.HEADROOM,
                      max_poll_records=s.batch_size, client_id=f"marsad-{group}")
    seen: set[tuple[int, int]] = set()
    nbytes, first, c_first, batches, poll_s, commit_s = 0, None, 0.0, 0, 0.0, 0.0
    t0, c0 = time.monotonic(), time.process_time()
    c.subscribe([topic])
    while len(seen) < expected:
        tp, cp = time.monotonic(), time.process_time()  # the poll that brings the first records
        polled = c.poll(timeout_ms=int(s.poll_timeout_s * 1000), max_records=s.batch_size)
        dt = time.monotonic() - tp
        records = [Record(topic=m.topic, partition=m.partition, offset=m.offset, key=m.key, value=m.value,
                          headers=list(m.headers or []), timestamp_ms=m.timestamp if m.timestamp_type is not None
                          else None)
                   for msgs in polled.values() for m in msgs]
        if not records:
            poll_s += dt if first is not None else 0.0
            continue
        if first is None:
            first, c_first = tp, cp
        poll_s += dt
        last: dict[tuple[str, int], int] = {}
        for r in records:
            seen.add((r.partition, r.offset))
            nbytes += len(r.value or b"")
            last[(r.topic, r.partition)] = max(last.get((r.topic, r.partition), -1), r.offset)
        tc = time.monotonic()
        c.commit({TopicPartition(t, p): OffsetAndMetadata(o + 1, "", -1) for (t, p), o in last.items()})
        commit_s += time.monotonic() - tc
        batches += 1
    t1, c1 = time.monotonic(), time.process_time()
    c.close()
    return {"wall_s": t1 - t0, "cpu_s": c1 - c0, "join_s": (first or t1) - t0, "join_cpu_s": c_first - c0,
            "records": len(seen), "bytes": nbytes, "batches": batches, "poll_s": poll_s, "commit_s": commit_s}


def child(args) -> int:
    s = load_settings()
    recs = raw_records(s, args.workload, args.limit)
    label = args.child
    if label == "confluent-kafka":
        gen = produce_confluent(s, args.topic, recs)
    else:
        import kafka.codec
        import kafka.record.util

        try:
            import crc32c

            native = kafka.record.util.calc_crc32c.__defaults__[0] is crc32c.crc32c
        except ImportError:  # kafka-python falls back to its pure-Python crc32c
            native = False
        if not native or not kafka.codec.has_zstd():
            raise SystemExit(f"kafka-python without its production extras: native crc32c {native}, "
                             f"zstd {kafka.codec.has_zstd()}")
        gen = produce_kafka_python(s, args.topic, recs, CLIENTS[label])
    next(gen)
    t0, c0 = time.monotonic(), time.process_time()
    next(gen)
    t1, c1 = time.monotonic(), time.process_time()
    next(gen, None)
    produce = {"wall_s": t1 - t0, "cpu_s": c1 - c0}
    expected = len(recs) + 1  # + the warm-up record
    consume = (consume_confluent if label == "confluent-kafka" else consume_kafka_python)(
        s, args.topic, args.group, expected)
    want = sum(len(v) for _, v, _ in recs) + len(b"warm-up")
    if consume["records"] != expected or consume["bytes"] != want:
        raise RuntimeError(f"consumed {consume['records']} records / {consume['bytes']} bytes, "
                           f"expected {expected} / {want}")
    print(json.dumps({"pages": len(recs), "produce": produce, "consume": consume}))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# parent


def versions() -> dict[str, str]:
    import confluent_kafka
    import crc32c
    import kafka
    import kafka.codec
    import kafka.record.util
    import zstandard

    return {"confluent-kafka": confluent_kafka.__version__, "librdkafka": confluent_kafka.libversion()[0],
            "kafka-python": kafka.__version__, "crc32c": crc32c.__version__ if hasattr(crc32c, "__version__") else "?",
            "zstandard": zstandard.__version__,
            "crc32c_native": str(kafka.record.util.calc_crc32c.__defaults__[0] is crc32c.crc32c),
            "crc32c_hardware": str(getattr(crc32c, "hardware_based", "?")),
            "zstd": str(kafka.codec.has_zstd())}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_round(s: Settings, label: str, workload: str, limit: int | None) -> dict:
    from confluent_kafka.admin import NewTopic

    tag = uuid.uuid4().hex[:10]
    topic, group = f"marsad-bench-kc-{tag}", f"marsad-bench-kc-{tag}"
    adm = clients.admin(s)
    futs = adm.create_topics([NewTopic(topic, num_partitions=s.topic_partitions, replication_factor=1,
                                       config=clients.topic_config(s, s.raw_pages_topic))], operation_timeout=30)
    futs[topic].result()
    try:
        before = load()
        cmd = [sys.executable, __file__, "--child", label, "--topic", topic, "--group", group, "--workload", workload]
        if limit:
            cmd += ["--limit", str(limit)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800,
                             env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")})
        if out.returncode != 0:
            raise RuntimeError(f"{label} child failed ({out.returncode}): {out.stderr[-3000:]}")
        res = json.loads(out.stdout.strip().splitlines()[-1])
        res.update(client=label, load_before=before, load_after=load())
        return res
    finally:
        adm.delete_topics([topic], operation_timeout=30)[topic].result()
        try:
            adm.delete_consumer_groups([group], request_timeout=30)[group].result()
        except Exception as exc:  # noqa: BLE001 - a leftover empty group is harmless; say so and go on
            print(f"could not delete group {group}: {exc}", file=sys.stderr)


def summarize(rows: list[dict], pages: int) -> dict:
    def stat(xs: list[float]) -> tuple[float, float, float]:
        return statistics.median(xs), min(xs), max(xs)

    out = {}
    for phase in ("produce", "consume"):
        n = pages + 1 if phase == "consume" else pages
        out[phase] = {
            "pages_s": stat([n / r[phase]["wall_s"] for r in rows]),
            "cpu_ms": stat([1000 * r[phase]["cpu_s"] / n for r in rows]),
        }
    out["consume"]["pages_s_after_join"] = stat(
        [(pages + 1) / (r["consume"]["wall_s"] - r["consume"]["join_s"]) for r in rows])
    out["consume"]["cpu_ms_after_join"] = stat(
        [1000 * (r["consume"]["cpu_s"] - r["consume"]["join_cpu_s"]) / (pages + 1) for r in rows])
    for k in ("join_s", "poll_s", "commit_s", "batches"):
        out["consume"][k] = stat([r["consume"][k] for r in rows])
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="minimal,templates")
    ap.add_argument("--template-pages", type=int, default=300, help="first N articles for the templates workload")
    ap.add_argument("--limit", type=int, default=None, help="first N articles for every workload (smoke runs)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--out", default=None, help="also write every round's figures as JSON here")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--topic", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--group", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--workload", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)

    s = load_settings()
    started = datetime.now(timezone.utc)
    labels = args.clients.split(",")
    results = []
    for wl in args.workloads.split(","):
        limit = args.limit or (args.template_pages if wl == "templates" else None)
        recs = raw_records(s, wl, limit)
        kib = statistics.mean(len(v) for _, v, _ in recs) / 1024
        rows: dict[str, list[dict]] = {lb: [] for lb in labels}
        for r in range(args.rounds):
            for lb in (labels if r % 2 == 0 else labels[::-1]):
                row = run_round(s, lb, wl, limit)
                rows[lb].append(row)
                print(f"[{wl}] round {r + 1} {lb}: produce {row['pages'] / row['produce']['wall_s']:.0f} pages/s "
                      f"{1000 * row['produce']['cpu_s'] / row['pages']:.2f} ms CPU/page; consume "
                      f"{(row['pages'] + 1) / row['consume']['wall_s']:.0f} pages/s "
                      f"{1000 * row['consume']['cpu_s'] / (row['pages'] + 1):.2f} ms CPU/page "
                      f"(load {row['load_before']} → {row['load_after']})", file=sys.stderr, flush=True)
        results.append({"workload": wl, "pages": len(recs), "kib": kib, "rows": rows,
                        "summary": {lb: summarize(rows[lb], len(recs)) for lb in labels}})
    report = render(results, args, started, versions())
    print(report)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    if args.write_docs:
        (REPO_ROOT / "docs" / "benchmarks-kafka-client.md").write_text(report, encoding="utf-8")
    return 0


def render(results: list[dict], args, started: datetime, v: dict[str, str]) -> str:
    def cell(t: tuple[float, float, float], fmt: str) -> str:
        return f"{t[0]:{fmt}} ({t[1]:{fmt}}–{t[2]:{fmt}})"

    lines = [
        "# Kafka client: confluent-kafka vs kafka-python on Marsad's produce and consume paths",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC by `benchmarks/kafka_client/run.py` ({args.rounds} rounds per client, "
        "alternating order; each client and round in a fresh process; the shared broker `127.0.0.1:9092`, throw-away "
        "topics and groups deleted afterwards). Method, settings and what is timed: the script's docstring.",
        "",
        f"Versions: confluent-kafka {v['confluent-kafka']} (librdkafka {v['librdkafka']}); kafka-python "
        f"{v['kafka-python']} with `crc32c` {v['crc32c']} and `zstandard` {v['zstandard']} (its `crc32c` and `zstd` "
        f"extras). kafka-python uses the native crc32c: `kafka.record.util.calc_crc32c.__defaults__[0] is crc32c.crc32c` is "
        f"{v['crc32c_native']} (`crc32c.hardware_based` {v['crc32c_hardware']}); `kafka.codec.has_zstd()` {v['zstd']}.",
        "",
        "Figures: median over the rounds, (min–max) after it. CPU = `time.process_time()` of the client's process "
        "(all its threads: librdkafka's, kafka-python's sender and network threads), per page; the broker's CPU is "
        "not in it. pages/s = wall clock. Produce: first send → flush returned with every delivery checked. Consume: "
        "subscribe → last synchronous commit, batches of up to 200 (group join included; the rate after the first "
        "record beside it). Page counts include one warm-up record on the consume side.",
        "",
    ]
    for res in results:
        lines += [f"## {res['workload']}: {res['pages']} pages, {res['kib']:.1f} KiB mean body", "",
                  "| client | produce pages/s | produce CPU ms/page | consume pages/s | consume pages/s after join | "
                  "consume CPU ms/page | consume CPU ms/page after join | produce + consume CPU ms/page |",
                  "|---|---|---|---|---|---|---|---|"]
        for lb, sm in res["summary"].items():
            both = statistics.median(
                [1000 * (r["produce"]["cpu_s"] / r["pages"] + r["consume"]["cpu_s"] / (r["pages"] + 1))
                 for r in res["rows"][lb]])
            lines.append(f"| {lb} | {cell(sm['produce']['pages_s'], '.0f')} | {cell(sm['produce']['cpu_ms'], '.3f')} "
                         f"| {cell(sm['consume']['pages_s'], '.0f')} | {cell(sm['consume']['pages_s_after_join'], '.0f')} "
                         f"| {cell(sm['consume']['cpu_ms'], '.3f')} | {cell(sm['consume']['cpu_ms_after_join'], '.3f')} "
                         f"| {both:.3f} |")
        lines += ["", "Consume, where the wall time after the join goes (medians, seconds per run of "
                  f"{res['pages'] + 1} records): inside the client's batch call (`consume` / `poll`), inside the "
                  "synchronous commits, and the number of batches:", "",
                  "| client | in consume/poll s | in commit s | batches |", "|---|---|---|---|"]
        for lb, sm in res["summary"].items():
            co = sm["consume"]
            lines.append(f"| {lb} | {co['poll_s'][0]:.3f} | {co['commit_s'][0]:.3f} | {co['batches'][0]:.0f} |")
        ref = res["summary"].get("confluent-kafka")
        if ref:
            lines += ["", "Ratios to confluent-kafka (medians; > 1 means kafka-python needs more CPU / is slower):", ""]
            for lb, sm in res["summary"].items():
                if lb == "confluent-kafka":
                    continue
                both = [statistics.median([1000 * (r["produce"]["cpu_s"] / r["pages"]
                                                   + r["consume"]["cpu_s"] / (r["pages"] + 1))
                                           for r in res["rows"][k]]) for k in (lb, "confluent-kafka")]
                lines.append(
                    f"- {lb}: produce + consume CPU/page {both[0] / both[1]:.1f}×; produce CPU/page {sm['produce']['cpu_ms'][0] / ref['produce']['cpu_ms'][0]:.1f}×, "
                    f"produce time/page {ref['produce']['pages_s'][0] / sm['produce']['pages_s'][0]:.1f}×; consume "
                    f"CPU/page {sm['consume']['cpu_ms'][0] / ref['consume']['cpu_ms'][0]:.1f}×, consume time/page "
                    f"{ref['consume']['pages_s'][0] / sm['consume']['pages_s'][0]:.1f}×")
        lines += ["", "Load average (1, 5, 15 min) before → after each child:", ""]
        for lb, rows in res["rows"].items():
            lines.append(f"- {lb}: " + "; ".join(f"{r['load_before']} → {r['load_after']}" for r in rows))
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
