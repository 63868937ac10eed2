"""The consumer worker loop: poll → stage → transport (produce + flush + delivery check) → commit.

Stages only see :mod:`marsad.stage`; producing, committing, retrying and dead-lettering are
:mod:`marsad.kafka.transport`'s. This module adds the consumer side: riding out faults without a human.

Guarantees (at-least-once, see ``docs/decisions.md`` "Transport"):

* offsets of a batch are committed only after every output, dead letter and ledger record of that batch was
  acknowledged by the broker and the stage's own sinks returned (the index stage returns only after Elasticsearch
  acknowledged its bulk request);
* a :class:`TransientError` (Elasticsearch down, a delivery failed, a commit timed out) **pauses** the assigned
  partitions and retries the same batch with capped exponential backoff (1 s, 2 s … ≤ ``consumer_backoff_max_s``)
  for ``consumer_retry_limit_s`` (default: forever). While waiting the consumer keeps polling, so it keeps its group
  membership and never exceeds ``max.poll.interval.ms``; the reason and the lag are logged once per change and
  exported as the ``marsad_consumer_paused`` and ``marsad_consumer_lag`` gauges. When the limit is reached the worker
  stops **without committing** (the next member gets the batch);
* Kafka conditions — rebalances, coordinator moves, ``Broker transport failure``, ``NOT_LEADER_FOR_PARTITION``,
  timeouts of ``committed``/``list_topics``/watermarks — are transient: logged once per change of state, retried,
  never a crash. Only a fatal client error (``KafkaError.fatal()``) stops the worker;
* a rebalance while a batch waits to be retried, or a commit refused because the partitions moved, abandons the
  batch (never committed; the new owner gets it again, and a partition this member still holds is rewound to the
  batch's first offset, so no later commit skips it);
* SIGTERM/SIGINT: the batch in progress finishes (or, while waiting to be retried, is abandoned uncommitted) and
  the consumer is closed at once, so it leaves the group and the others take its partitions without waiting for the
  session timeout;
* every record ends in exactly one counted outcome: ``ok`` (outputs produced), ``discarded`` (with a reason) or
  ``dead_lettered`` (with a reason, original payload and headers kept) — and, for the pipeline stages, one ledger
  record (:mod:`marsad.ledger`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge, Histogram

from marsad import faults
from marsad.errors import PermanentError, TransientError
from marsad.kafka import clients
from marsad.kafka.transport import Backoff, StateLog, Transport, error_state
from marsad.settings import Settings
from marsad.stage import Outcome, Output, Record, Stage, per_record, raw_timestamp_ms  # noqa: F401 - re-exported for old importers

log = logging.getLogger(__name__)

RECORDS = PromCounter("marsad_records_total", "Records processed by outcome", ["stage", "outcome", "reason"])
PAUSED = Gauge("marsad_consumer_paused", "1 while the consumer's partitions are paused waiting for a dependency",
               ["group", "reason"])
LAG = Gauge("marsad_consumer_lag", "Records between the consumer's position and the high watermark",
            ["group", "topic", "partition"])
BATCH_SECONDS = Histogram("marsad_batch_seconds", "Wall time of one batch from poll to commit, retries included",
                          ["stage"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900))
FETCH_TO_SEARCHABLE = Histogram(
    "marsad_fetch_to_searchable_seconds",
    "From the raw page's publish to Kafka (crawl: right after the fetch) to its commit by the index stage "
    "(searchable: the index stage writes with refresh=true)",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 86400))

PAUSE_REASON_CHARS = 60
"""Length of the ``reason`` label of :data:`PAUSED` (the failure's first words; bounded label cardinality)."""


@dataclass
class WorkerStats:
    consumed: int = 0
    produced: int = 0
    outcomes: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    abandoned_batches: int = 0
    paused_s: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "consumed": self.consumed,
            "produced": self.produced,
            "outcomes": dict(self.outcomes),
            "reasons": dict(self.reasons),
            "abandoned_batches": self.abandoned_batches,
            "paused_s": round(self.paused_s, 1),
        }


def exit_if_close_hung(worker: Worker, code: int = 0) -> None:
    """End the process now (``os._exit(code)``, after flushing stdout, stderr and the log handlers) when the worker's
    ``close()`` hung (:attr:`Worker.close_hung`): the interpreter's normal exit could wait on the blocked librdkafka
    consumer forever. Call it from a command, after the worker's results were printed; a no-op otherwise."""
    if not worker.close_hung:
        return
    for h in logging.getLogger().handlers:
        h.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _Abandon(Exception):
    """The batch in hand must not be committed (rebalance, stop requested)."""


class Worker:
    """Runs one stage for one consumer group over one input topic. See module docstring for guarantees.

    ``ledger``: record each input record's outcome in the ledger topic (the pipeline stages; not webhooks).
    """

    def __init__(self, settings: Settings, stage: Stage, input_topic: str, group: str, *, ledger: bool = False) -> None:
        self.settings = settings
        self.stage = stage
        self.input_topic = input_topic
        self.group = group
        self.stats = WorkerStats()
        self._consumer = clients.consumer(settings, group)
        self.transport = Transport(settings, stage.name, ledger=ledger)
        self._assigned: list[TopicPartition] = []
        self._paused = False
        self._pause_label: tuple[str, str] | None = None
        self._revoked = False
        self._stop = threading.Event()
        self._kafka_state = StateLog(log, f"{stage.name} consumer ({group})")
        self.close_hung = False
        """``close()`` did not return within ``consumer_close_timeout_s`` (see :meth:`_close`)."""

    def stop(self) -> None:
        """Ask the loop to stop after (or abandon) the batch in hand; safe from a signal handler or another thread."""
        self._stop.set()

    # --- lifecycle -----------------------------------------------------------------------------------
    def run(self, until_idle: bool = False, max_records: int | None = None,
            progress: Callable[[WorkerStats], None] | None = None) -> WorkerStats:
        """Consume until stopped (SIGTERM/SIGINT or :meth:`stop`), or until every partition of the input topic is
        drained when ``until_idle`` (no record for ``idle_timeout_s`` with Kafka answering, and the committed offsets
        at the high watermarks). Raises :class:`TransientError` when Kafka cannot be reached at start (within
        ``kafka_admin_timeout_s``) or when ``consumer_retry_limit_s`` ran out."""
        restore = self._install_signals()
        try:
            # at start an unreachable Kafka is a wrong address or a stack that is down: TransientError within
            # kafka_admin_timeout_s, reported by the command as one line (exit 1), for the operator or the
            # supervisor; once running, Kafka outages are ridden out (see _poll, _caught_up, commit)
            clients.ensure_topics(self.settings)
            self._consumer.subscribe([self.input_topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                     on_lost=self._on_revoke)
            idle_since = time.monotonic()
            while not self._stop.is_set():
                self._revoked = False
                records = self._poll()
                if records:
                    self._handle(records)
                    idle_since = time.monotonic()
                    if progress:
                        progress(self.stats)
                    if max_records is not None and self.stats.consumed >= max_records:
                        break
                elif until_idle and time.monotonic() - idle_since >= self.settings.idle_timeout_s:
                    # idle = idle_timeout_s of quiet with Kafka seen working: a wait that ends in a Kafka outage
                    # starts over once Kafka answers, so the consumer does not end the moment the broker is back
                    # (caught up on the old offsets) before producers that waited on the same outage publish again
                    was_failing = self._kafka_state.state is not None
                    if self._caught_up() and not was_failing:
                        break
                    idle_since = time.monotonic()
        finally:
            restore()
            self._close()
        return self.stats

    def _close(self) -> None:
        """Leave the group (``close()``, bounded by ``consumer_close_timeout_s``) and flush the transport. A
        ``close()`` that does not return in time is left running in its daemon thread and :attr:`close_hung` is set:
        the command then exits the process at once (:func:`exit_if_close_hung`)."""
        done = threading.Event()

        def close() -> None:
            try:
                faults.point(self.settings, "kafka.consumer.close")
                self._consumer.close()  # leaves the group now: the others get our partitions without a session timeout
            except KafkaException as exc:
                log.warning("%s: closing the consumer failed: %s", self.stage.name, error_state(exc))
            finally:
                done.set()

        threading.Thread(target=close, name=f"{self.stage.name}-consumer-close", daemon=True).start()
        if not done.wait(self.settings.consumer_close_timeout_s):
            self.close_hung = True
            log.warning("%s: the consumer did not close within %.0f s (librdkafka#4884); exiting without leaving the "
                        "group: its partitions move on after the session timeout (%.0f s), nothing uncommitted is "
                        "lost", self.stage.name, self.settings.consumer_close_timeout_s,
                        self.settings.consumer_session_timeout_s)
        left = self.transport.close(5.0)
        if left:
            log.warning("%s: %d messages of an abandoned batch left unsent at exit (batch not committed)",
                        self.stage.name, left)

    def _install_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

        def handler(signum: int, _frame: object) -> None:
            if self._stop.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt  # a second Ctrl-C: the user insists
            log.warning("%s: %s received, stopping after the batch in hand", self.stage.name,
                        signal.Signals(signum).name)
            self._stop.set()

        for s in previous:
            signal.signal(s, handler)

        def restore() -> None:
            for s, h in previous.items():
                signal.signal(s, h)

        return restore

    def _on_assign(self, consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = list(partitions)
        if self._paused and partitions:
            consumer.assign(partitions)
            consumer.pause(partitions)  # waiting for a dependency: new partitions wait too

    def _on_revoke(self, consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = []
        self._revoked = True
        for tp in partitions:
            try:
                LAG.remove(self.group, tp.topic, str(tp.partition))
            except KeyError:  # never measured
                pass

    # --- polling, riding out Kafka conditions ----------------------------------------------------------
    def _poll(self) -> list[Record]:
        try:
            msgs = self._consumer.consume(self.settings.batch_size, timeout=self.settings.poll_timeout_s)
        except KafkaException as exc:
            self._kafka_error(exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None, exc)
            return []
        records = []
        for m in msgs:
            err = m.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    self._kafka_error(err, None)
                continue
            records.append(Record.from_message(m))
        if records:
            self._kafka_state.ok()
        return records

    def _kafka_error(self, err: KafkaError | None, exc: BaseException | None) -> None:
        """Transient unless fatal: log once per change of state, wait a little, go on polling."""
        if err is not None:
            if err.fatal():
                raise KafkaException(err)
            state = f"Kafka {err.name()}: {err.str()}"
        else:
            assert exc is not None, "callers pass the Kafka error or the exception raised"
            state = error_state(exc)
        self._kafka_state.failing(state)
        self._stop.wait(min(1.0, self.settings.consumer_backoff_max_s))

    def _retry_kafka(self, fn: Callable[[], object], what: str) -> object:
        backoff = Backoff(cap_s=self.settings.consumer_backoff_max_s, limit_s=self.settings.consumer_retry_limit_s)
        state = StateLog(log, f"{self.stage.name}: {what}")
        while True:
            try:
                result = fn()
                state.ok()
                return result
            except (TransientError, KafkaException) as exc:
                if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError) \
                        and exc.args[0].fatal():
                    raise
                delay = backoff.failed()
                state.failing(error_state(exc))
                if backoff.expired() or self._stop.is_set():
                    raise TransientError(f"{what}: {error_state(exc)}") from exc
                self._stop.wait(delay)

    def _caught_up(self) -> bool:
        """True when the group's committed offset reaches the high watermark on every partition of the topic.
        A Kafka error (timeout during a rebalance, broker restarting) means "not known yet": False, logged once."""
        try:
            md = self._consumer.list_topics(self.input_topic, timeout=10)
            topic = md.topics.get(self.input_topic)
            if topic is None or topic.error is not None:
                raise TransientError(f"metadata of {self.input_topic} unavailable: {topic.error if topic else 'none'}")
            tps = [TopicPartition(self.input_topic, p) for p in topic.partitions]
            committed = {tp.partition: tp.offset for tp in self._consumer.committed(tps, timeout=10)}
            for tp in tps:
                low, high = self._consumer.get_watermark_offsets(tp, timeout=10)
                pos = committed.get(tp.partition, -1001)
                if high > low and (pos < 0 or pos < high):
                    self._kafka_state.ok()
                    return False
        except (KafkaException, TransientError) as exc:
            self._kafka_state.failing(f"idle check: {error_state(exc)}")
            return False
        self._kafka_state.ok()
        return True

    def _update_lag(self) -> int | None:
        """Set :data:`LAG` for the assigned partitions — high watermark minus the group's committed offset, as
        ``kafka-consumer-groups --describe`` reports it (a batch in hand, uncommitted, still counts) — and return the
        total. Informational: a Kafka error leaves the gauges as they were and returns None."""
        try:
            assigned = self._consumer.assignment()
            if not assigned:
                return None
            total = 0
            for tp in self._consumer.committed(assigned, timeout=5):
                low, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if high < 0:
                    low, high = self._consumer.get_watermark_offsets(tp, timeout=5)
                lag = max(0, high - (tp.offset if tp.offset >= 0 else low))
                LAG.labels(self.group, tp.topic, str(tp.partition)).set(lag)
                total += lag
            return total
        except KafkaException:
            return None

    # --- one batch ----------------------------------------------------------------------------------
    def _handle(self, records: list[Record]) -> None:
        started = time.monotonic()
        backoff = Backoff(cap_s=self.settings.consumer_backoff_max_s, limit_s=self.settings.consumer_retry_limit_s)
        batch_state = StateLog(log, f"{self.stage.name} ({self.group})")
        committed_outputs = False
        try:
            while True:
                try:
                    if not committed_outputs:
                        outcomes = self.stage.process_batch(records)
                        if len(outcomes) != len(records):
                            raise RuntimeError(f"stage {self.stage.name} returned {len(outcomes)} outcomes for "
                                               f"{len(records)} records")
                        outcomes = self._guard_sizes(outcomes)
                        produced = self.transport.emit(records, outcomes)
                        committed_outputs = True  # outputs durable: a retry only needs the commit
                    if not self.transport.commit(self._consumer, records):
                        raise _Abandon("partitions moved to another member")
                    break
                except TransientError as exc:
                    delay = backoff.failed()
                    if batch_state.failing(error_state(exc), f"retrying with partitions paused, lag "
                                                            f"{self._update_lag()}"):
                        self._set_paused(error_state(exc))
                    if backoff.expired():
                        log.error("%s: giving up after %.0f s of transient failures, not committing: %s",
                                  self.stage.name, backoff.failing_for_s(), exc)
                        raise
                    self._wait_paused(delay)
        except _Abandon as why:
            self.stats.abandoned_batches += 1
            log.warning("%s: batch of %d records abandoned uncommitted (%s); it will be delivered again",
                        self.stage.name, len(records), why)
            self._rewind(records)
            return
        finally:
            if self._paused:
                self.stats.paused_s += backoff.failing_for_s()
                self._resume()
                batch_state.ok(f"after {backoff.failing_for_s():.0f} s")
        BATCH_SECONDS.labels(self.stage.name).observe(time.monotonic() - started)
        self.stats.consumed += len(records)
        self.stats.produced += produced
        now_ms = time.time() * 1000
        for rec, out in zip(records, outcomes):
            key, reason = out.status, out.reason
            self.stats.outcomes[key] += 1
            if reason:
                self.stats.reasons[f"{key}:{reason}"] += 1
            RECORDS.labels(self.stage.name, key, reason).inc()
            if self.stage.name == "index" and out.kind is not None:
                ts = raw_timestamp_ms(rec)
                if ts is not None:
                    FETCH_TO_SEARCHABLE.observe(max(0.0, (now_ms - ts) / 1000))
        self._update_lag()

    def _rewind(self, records: list[Record]) -> None:
        """Seek every partition of an abandoned batch that this member still holds back to the batch's first offset
        in it, so the batch is delivered again whatever happens next. Without it the consumer's position stays after
        the batch, and the next batch's commit would commit past records never processed — e.g. when the rebalance
        that abandons the batch was served inside the very poll that returned it (partitions revoked and assigned
        again to this member) or when putting back a record polled while paused failed. A partition no longer held
        restarts at its next owner from the committed offset. Raises :class:`TransientError` when a seek fails (the
        worker then stops without committing, like a retry limit that ran out)."""
        first: dict[tuple[str, int], int] = {}
        for r in records:
            key = (r.topic, r.partition)
            first[key] = min(first.get(key, r.offset), r.offset)
        try:
            held = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
            for (topic, partition), offset in sorted(first.items()):
                if (topic, partition) in held:
                    self._consumer.seek(TopicPartition(topic, partition, offset))
        except KafkaException as exc:
            raise TransientError(f"could not rewind an abandoned batch: {error_state(exc)}") from exc

    def _set_paused(self, reason: str) -> None:
        if not self._paused:
            self._paused = True
            try:
                self._consumer.pause(self._consumer.assignment())
            except KafkaException as exc:
                log.warning("%s: pause failed (%s); polled records are put back", self.stage.name, error_state(exc))
        self._clear_pause_gauge()
        self._pause_label = (self.group, reason[:PAUSE_REASON_CHARS])
        PAUSED.labels(*self._pause_label).set(1)

    def _clear_pause_gauge(self) -> None:
        if self._pause_label is not None:
            PAUSED.remove(*self._pause_label)
            self._pause_label = None

    def _resume(self) -> None:
        self._paused = False
        self._clear_pause_gauge()
        try:
            self._consumer.resume(self._consumer.assignment())
        except KafkaException as exc:
            log.warning("%s: resume failed (%s); the next poll retries", self.stage.name, error_state(exc))

    def _wait_paused(self, delay_s: float) -> None:
        """Wait ``delay_s`` while polling (partitions paused) so the group keeps us; raise :class:`_Abandon` on a
        rebalance or a stop request. A record polled anyway (a partition assigned between pause calls) is put back
        with ``seek`` — never skipped."""
        deadline = time.monotonic() + delay_s
        while True:
            if self._stop.is_set():
                raise _Abandon("stop requested")
            if self._revoked:
                raise _Abandon("partitions revoked by a rebalance")
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                m = self._consumer.poll(min(0.5, left))
            except KafkaException as exc:
                self._kafka_state.failing(error_state(exc))
                continue
            if m is None:
                continue
            err = m.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    if err.fatal():
                        raise KafkaException(err)
                    self._kafka_state.failing(f"Kafka {err.name()}: {err.str()}")
                continue
            tp = TopicPartition(m.topic() or "", *clients.position(m))
            try:
                self._consumer.seek(tp)
                self._consumer.pause([tp])
            except KafkaException as exc:
                raise _Abandon(f"could not put back {m.topic()}/{m.partition()}@{m.offset()}: {exc}") from exc

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

