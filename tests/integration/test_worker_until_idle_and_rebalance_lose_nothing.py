"""The generic worker loop: --until-idle ends only on an empty partition, a rebalance during a slow batch loses
nothing."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Producer

from marsad.kafka.clients import ensure_topics
from marsad.kafka.worker import Outcome, Output, Record, Worker

from .helpers import read_all

pytestmark = pytest.mark.services


class Copy:
    """Copies every record to the articles topic; optionally slow (to provoke a rebalance mid-batch)."""

    name = "copy"

    def __init__(self, settings, delay_s: float = 0.0) -> None:
        self.settings, self.delay_s, self.seen = settings, delay_s, []

    def process_batch(self, records: list[Record]) -> list[Outcome]:
        time.sleep(self.delay_s)
        self.seen.extend((r.partition, r.offset) for r in records)
        return [Outcome(outputs=[Output(self.settings.articles_topic, r.key, r.value or b"")]) for r in records]


def _produce(s, n: int, partition: int | None) -> None:
    p = Producer({"bootstrap.servers": s.kafka_bootstrap})
    for i in range(n):
        kw = {} if partition is None else {"partition": partition}
        p.produce(s.raw_pages_topic, key=f"k{i}".encode(), value=f"v{i}".encode(), **kw)
    assert p.flush(10) == 0


def test_until_idle_ends_with_an_empty_partition_and_processes_everything(names):
    s = names.model_copy(update={"topic_partitions": 3})
    ensure_topics(s)
    _produce(s, 7, partition=1)   # partitions 0 and 2 stay empty
    stage = Copy(s)
    # run in a thread so that a worker that never sees "idle" (an empty partition counted as behind) fails the test
    # instead of hanging it; the join bound is a hang guard, far above idle_timeout_s, not a speed check
    result: list = []
    runner = threading.Thread(target=lambda: result.append(
        Worker(s, stage, s.raw_pages_topic, s.extract_group).run(until_idle=True)), daemon=True)
    runner.start()
    runner.join(120)
    assert not runner.is_alive(), "--until-idle never ended with two empty partitions"
    [stats] = result
    assert stats.consumed == 7 and len(read_all(s, s.articles_topic, 7)) == 7
    assert Worker(s, Copy(s), s.raw_pages_topic, s.extract_group).run(until_idle=True).consumed == 0


def test_rebalance_during_a_slow_batch_loses_nothing_and_worker_survives(names):
    """A second worker joins while the first is inside a batch; the first one's commit happens after revocation."""
    s = names.model_copy(update={"batch_size": 50, "idle_timeout_s": 4.0, "max_transient_retries": 2})
    ensure_topics(s)
    _produce(s, 20, partition=0)
    _produce(s, 20, partition=1)
    slow, fast = Copy(s, delay_s=6.0), Copy(s)
    w1 = Worker(s, slow, s.raw_pages_topic, s.extract_group)
    results: dict[str, object] = {}

    def run(name, w):
        try:
            results[name] = w.run(until_idle=True)
        except BaseException as exc:  # noqa: BLE001
            results[name] = exc

    t1 = threading.Thread(target=run, args=("w1", w1))
    t1.start()
    deadline = time.monotonic() + 15
    while not slow.seen and time.monotonic() < deadline:   # w1 is inside its first (slow) batch
        time.sleep(0.05)
    time.sleep(0.5)
    w2 = Worker(s, fast, s.raw_pages_topic, s.extract_group)
    t2 = threading.Thread(target=run, args=("w2", w2))
    t2.start()
    t1.join(60)
    t2.join(60)
    assert not isinstance(results.get("w1"), BaseException), results
    assert not isinstance(results.get("w2"), BaseException), results
    # every input record was processed at least once, and all of the group's offsets are committed
    assert {(p, o) for p in (0, 1) for o in range(20)} <= set(slow.seen) | set(fast.seen)
    assert Worker(s, Copy(s), s.raw_pages_topic, s.extract_group).run(until_idle=True).consumed == 0
