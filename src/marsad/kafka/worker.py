"""The generic worker loop: poll → process → produce → flush → commit.

Only this module knows about offsets, retries and the dead-letter topic (DLQ). Stages are objects with a
``process_batch(records) -> list[Outcome]`` method (one outcome per record, same order) that may raise
:class:`~marsad.errors.TransientError` for the whole batch.

Guarantees (at-least-once):

* offsets of a batch are committed only after every output and dead letter of that batch was acknowledged by
  the broker (producer ``flush`` + per-message delivery reports) and the stage's own sinks returned
  (the index stage returns only after Elasticsearch acknowledged its bulk request);
* a :class:`TransientError` re-runs the same batch with capped exponential backoff
  (1 s, 2 s, 4 s … ≤ 30 s); after ``settings.max_transient_retries`` the worker stops **without committing**, so
  the batch is delivered again to the next worker of the group;
* every record ends in exactly one counted outcome: ``ok`` (outputs produced), ``discarded`` (with a reason) or
  ``dead_lettered`` (with a reason, original payload and headers kept).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from prometheus_client import Counter as PromCounter

from marsad.errors import Discard, PermanentError, TransientError
from marsad.kafka import clients
from marsad.messages import dead_letter_headers
from marsad.settings import Settings

log = logging.getLogger(__name__)

RECORDS = PromCounter("marsad_records_total", "Records processed by outcome", ["stage", "outcome", "reason"])


@dataclass(frozen=True)
class Record:
    """A consumed Kafka record, decoupled from the client library (so stages are testable without Kafka)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp_ms: int | None = None

    @classmethod
    def from_message(cls, msg: Message) -> "Record":
        ts_type, ts = msg.timestamp()
        return cls(
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
            key=msg.key(),
            value=msg.value(),
            headers=list(msg.headers() or []),
            timestamp_ms=ts if ts_type else None,
        )


@dataclass
class Output:
    """One record to produce: ``topic``, ``key``, ``value``, ``headers``."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Outcome:
    """What happened to one record. Exactly one of: outputs (possibly empty, ``ok``), discard, error."""

    outputs: list[Output] = field(default_factory=list)
    discard: Discard | None = None
    error: PermanentError | None = None
    label: str = "ok"
    """Finer ``ok`` label for counters, e.g. ``indexed`` or ``duplicate``."""


class Stage(Protocol):
    name: str

    def process_batch(self, records: list[Record]) -> list[Outcome]: ...


def per_record(fn: Callable[[Record], list[Output]], name: str) -> Callable[[list[Record]], list[Outcome]]:
    """Lift a per-record function into a batch function that maps exceptions to outcomes.

    :class:`Discard` and :class:`PermanentError` become outcomes; :class:`TransientError` propagates (the
    batch is retried); any other exception is a bug or unforeseen input: it is logged with its traceback and
    the record is dead-lettered with reason ``unexpected-<ExceptionClass>`` — never swallowed.
    """

    def batch(records: list[Record]) -> list[Outcome]:
        outcomes = []
        for rec in records:
            try:
                outcomes.append(Outcome(outputs=fn(rec)))
            except Discard as d:
                outcomes.append(Outcome(discard=d))
            except PermanentError as e:
                outcomes.append(Outcome(error=e))
            except TransientError:
                raise
            except Exception as exc:  # noqa: BLE001 - routed to the DLQ with the traceback, see docstring
                log.error("%s: unexpected error on %s/%s@%s\n%s", name, rec.topic, rec.partition, rec.offset,
                          traceback.format_exc())
                outcomes.append(Outcome(error=PermanentError(f"unexpected-{type(exc).__name__}", str(exc)[:500])))
        return outcomes

    return batch


@dataclass
class WorkerStats:
    consumed: int = 0
    produced: int = 0
    outcomes: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "consumed": self.consumed,
            "produced": self.produced,
            "outcomes": dict(self.outcomes),
            "reasons": dict(self.reasons),
        }


class DeliveryTracker:
    """Collects producer delivery reports; :meth:`raise_if_failed` turns failures into TransientError."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.delivered = 0

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.errors.append(f"{msg.topic()}: {err.str()}")
        else:
            self.delivered += 1

    def raise_if_failed(self) -> None:
        if self.errors:
            errs, self.errors = self.errors, []
            raise TransientError(f"{len(errs)} deliveries failed, first: {errs[0]}")


class Worker:
    """Runs one stage for one consumer group over one input topic. See module docstring for guarantees."""

    def __init__(self, settings: Settings, stage: Stage, input_topic: str, group: str) -> None:
        self.settings = settings
        self.stage = stage
        self.input_topic = input_topic
        self.group = group
        self.stats = WorkerStats()
        self._consumer = clients.consumer(settings, group)
        self._producer = clients.producer(settings)
        self._delivery = DeliveryTracker()
        self._assigned: list[TopicPartition] = []

    # --- lifecycle -----------------------------------------------------------------------------------
    def run(self, until_idle: bool = False, max_records: int | None = None,
            progress: Callable[[WorkerStats], None] | None = None) -> WorkerStats:
        """Consume until stopped (Ctrl-C), or until every assigned partition is drained when ``until_idle``."""
        clients.ensure_topics(self.settings)
        self._consumer.subscribe([self.input_topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        idle_since = time.monotonic()
        try:
            while True:
                msgs = self._consumer.consume(self.settings.batch_size, timeout=self.settings.poll_timeout_s)
                records = []
                for m in msgs:
                    if m.error():
                        if m.error().code() == KafkaError._PARTITION_EOF:
                            continue
                        raise KafkaException(m.error())
                    records.append(Record.from_message(m))
                if records:
                    self._handle(records)
                    idle_since = time.monotonic()
                    if progress:
                        progress(self.stats)
                    if max_records is not None and self.stats.consumed >= max_records:
                        break
                elif until_idle and time.monotonic() - idle_since >= self.settings.idle_timeout_s:
                    if self._caught_up():
                        break
                    idle_since = time.monotonic()
        finally:
            self._consumer.close()
            self._producer.flush(30)
        return self.stats

    def _on_assign(self, consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = list(partitions)

    def _on_revoke(self, consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = []

    def _caught_up(self) -> bool:
        """True when the group's committed offset reaches the high watermark on every partition of the topic."""
        md = self._consumer.list_topics(self.input_topic, timeout=10)
        tps = [TopicPartition(self.input_topic, p) for p in md.topics[self.input_topic].partitions]
        committed = {tp.partition: tp.offset for tp in self._consumer.committed(tps, timeout=10)}
        for tp in tps:
            low, high = self._consumer.get_watermark_offsets(tp, timeout=10)
            pos = committed.get(tp.partition, -1001)
            if high > low and (pos < 0 or pos < high):
                return False
        return True

    # --- one batch ----------------------------------------------------------------------------------
    def _handle(self, records: list[Record]) -> None:
        attempt = 0
        while True:
            try:
                outcomes = self.stage.process_batch(records)
                if len(outcomes) != len(records):
                    raise RuntimeError(f"stage {self.stage.name} returned {len(outcomes)} outcomes for "
                                       f"{len(records)} records")
                outcomes = self._guard_sizes(outcomes)
                self._produce_outcomes(records, outcomes)
                self._commit(records)
                break
            except TransientError as exc:
                attempt += 1
                if attempt > self.settings.max_transient_retries:
                    log.error("%s: giving up after %d transient failures, not committing: %s",
                              self.stage.name, attempt - 1, exc)
                    raise
                delay = min(30.0, 2.0 ** (attempt - 1))
                log.warning("%s: transient failure (%s), retry %d in %.0f s", self.stage.name, exc, attempt, delay)
                time.sleep(delay)
        self.stats.consumed += len(records)
        for rec, out in zip(records, outcomes):
            if out.error is not None:
                key, reason = "dead_lettered", out.error.reason
            elif out.discard is not None:
                key, reason = "discarded", out.discard.reason
            else:
                key, reason = out.label, ""
            self.stats.outcomes[key] += 1
            if reason:
                self.stats.reasons[f"{key}:{reason}"] += 1
            RECORDS.labels(self.stage.name, key, reason).inc()

    def _guard_sizes(self, outcomes: list[Outcome]) -> list[Outcome]:
        """Turn an outcome whose output exceeds ``max_message_bytes`` into a dead letter of its input.

        The input fitted its topic, so the dead letter (original value + headers) fits the DLQ, which has the same
        limit; without this, ``produce`` would raise ``MSG_SIZE_TOO_LARGE`` on every redelivery (a poison pill).
        Example: a windows-1256 page grows ~1.7× when its text is re-encoded as UTF-8 JSON.
        """
        limit = self.settings.max_message_bytes
        guarded = []
        for out in outcomes:
            big = [o for o in out.outputs if len(o.value) + len(o.key or b"") > limit]
            if big:
                size = max(len(o.value) for o in big)
                out = Outcome(error=PermanentError("output-too-large", f"{size} bytes > max_message_bytes {limit}"))
            guarded.append(out)
        return guarded

    def _produce_outcomes(self, records: list[Record], outcomes: Iterable[Outcome]) -> None:
        n = 0
        for rec, out in zip(records, outcomes):
            if out.error is not None:
                self._send(self.settings.dead_letter_topic, rec.key, rec.value or b"",
                           dead_letter_headers(rec.headers, reason=out.error.reason, detail=out.error.detail,
                                               stage=self.stage.name, error_class=type(out.error).__name__,
                                               topic=rec.topic, partition=rec.partition, offset=rec.offset))
                n += 1
                log.warning("%s: dead-lettered %s@%s: %s", self.stage.name, rec.topic, rec.offset, out.error)
            for o in out.outputs:
                self._send(o.topic, o.key, o.value, o.headers)
                n += 1
        remaining = self._producer.flush(60)
        if remaining:
            raise TransientError(f"{remaining} messages still in the producer queue after 60 s")
        self._delivery.raise_if_failed()
        self.stats.produced += n

    def _send(self, topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=headers, on_delivery=self._delivery)
                return
            except BufferError:
                self._producer.poll(0.5)

    def _commit(self, records: list[Record]) -> None:
        last: dict[tuple[str, int], int] = {}
        for r in records:
            last[(r.topic, r.partition)] = max(last.get((r.topic, r.partition), -1), r.offset)
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            raise TransientError(f"offset commit failed: {exc}") from exc
