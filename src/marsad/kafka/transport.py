"""THE Kafka transport: produce + delivery check + flush, commit, retry/backoff, dead letters and ledger records.

Every producer in Marsad goes through :class:`Transport` (the consumer worker, replay, the crawl publisher, alert
percolation, the webhook consumer), so the rules below are written once:

* **Delivery check.** Every message is produced with a delivery callback; :meth:`Transport.flush` waits for all of
  them and raises :class:`~marsad.errors.TransientError` if one failed or is still queued. The producer's
  ``message.timeout.ms`` equals ``settings.delivery_timeout_s`` and the flush waits a little longer, so after a
  flush every message is either acknowledged (``acks=all``) or reported failed — nothing stays in limbo to be sent
  again next to its retry.
* **Commit after durable outputs.** :meth:`Transport.emit` produces a batch's outputs, dead letters and ledger records
  and flushes; only then does the worker call :meth:`Transport.commit`. A commit refused because the group rebalanced
  (the partitions went to another member) returns ``False``: the batch is abandoned and redelivered to the new owner
  (at-least-once; every sink is idempotent).
* **Retry/backoff.** :class:`Backoff` is capped exponential backoff (1, 2, 4 … ≤ ``cap`` s) with an optional total
  limit; :class:`StateLog` logs a failing dependency once per change of state, not once per attempt.
* **Dead letters.** :meth:`Transport.dead_letter` sends the original key/value/headers plus ``dlq.*`` headers.
* **Ledger.** With ``ledger=True`` every record's outcome is produced to the outcomes topic in the same flush as the
  outputs (:mod:`marsad.ledger`), so an outcome is durable before the offset that produced it is committed.
  Outputs carry their raw page's coordinates (:data:`~marsad.stage.RAW_HEADER`) and publish time
  (:data:`~marsad.stage.RAW_TS_HEADER`), copied
  from input to output, so the index stage's outcome names the raw page it came from.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicPartition

from marsad.errors import PermanentError, TransientError
from marsad.kafka import clients
from marsad.messages import dead_letter_headers
from marsad.settings import Settings
from marsad.stage import Outcome, Record, lineage_headers

log = logging.getLogger(__name__)

REBALANCE_CODES = frozenset({
    KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID, KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError._ASSIGNMENT_LOST, KafkaError.FENCED_INSTANCE_ID,
})
"""Commit errors meaning "these partitions are no longer yours" (Kafka protocol error codes; librdkafka's
``_ASSIGNMENT_LOST``): retrying cannot succeed, the next owner gets the records again."""


class Backoff:
    """Capped exponential backoff: ``min(cap_s, base_s * 2**(attempt-1))`` seconds before attempt ``attempt + 1``.

    ``limit_s``: give up (``expired()`` is True) once this many seconds passed since the first failure; ``None``:
    never. Source of the shape: the Kafka client's own ``retry.backoff.ms``/``retry.backoff.max.ms`` (exponential,
    capped).
    """

    def __init__(self, base_s: float = 1.0, cap_s: float = 30.0, limit_s: float | None = None) -> None:
        self.base_s, self.cap_s, self.limit_s = base_s, cap_s, limit_s
        self.attempt = 0
        self.first_failure: float | None = None

    def failed(self) -> float:
        """Record a failure; return the seconds to wait before the next attempt."""
        self.attempt += 1
        if self.first_failure is None:
            self.first_failure = time.monotonic()
        return min(self.cap_s, self.base_s * 2 ** (self.attempt - 1))

    def expired(self) -> bool:
        return (self.limit_s is not None and self.first_failure is not None
                and time.monotonic() - self.first_failure >= self.limit_s)

    def failing_for_s(self) -> float:
        return 0.0 if self.first_failure is None else time.monotonic() - self.first_failure

    def reset(self) -> None:
        self.attempt = 0
        self.first_failure = None


class StateLog:
    """Log a condition once when it starts or changes, and once when it clears (not once per retry)."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger, self.what = logger, what
        self.state: str | None = None

    def failing(self, state: str, detail: str = "") -> bool:
        """Enter/keep the failing ``state``; logs (WARNING) only on a change. Returns True when it logged."""
        if state == self.state:
            return False
        self.state = state
        self.logger.warning("%s: %s%s", self.what, state, f" ({detail})" if detail else "")
        return True

    def ok(self, detail: str = "") -> None:
        if self.state is not None:
            self.logger.warning("%s: recovered from %s%s", self.what, self.state, f" ({detail})" if detail else "")
            self.state = None


def error_state(exc: BaseException) -> str:
    """A short, stable description of a failure for :class:`StateLog` (the message's first line, ≤ 160 chars)."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return f"Kafka {exc.args[0].name()}: {exc.args[0].str()}"[:160]
    return (str(exc).splitlines() or [type(exc).__name__])[0][:160]


class DeliveryTracker:
    """Collects producer delivery reports: ``delivered`` per topic, ``errors`` (``(topic, key, error)``)."""

    def __init__(self) -> None:
        self.errors: list[tuple[str | None, bytes | None, KafkaError]] = []
        self.delivered: Counter = Counter()

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.errors.append((msg.topic(), msg.key(), err))
        else:
            self.delivered[msg.topic()] += 1

    def take_errors(self) -> list[tuple[str | None, bytes | None, KafkaError]]:
        errs, self.errors = self.errors, []
        return errs


class Transport:
    """One durable producer and the commit path of one stage; see the module docstring.

    ``stage``: the stage name written in dead-letter headers and ledger records. ``ledger``: produce one outcome
    record per input record to ``settings.outcomes_topic`` in :meth:`emit`.
    Raises ``KafkaException`` (bad configuration) when the producer cannot be built.
    """

    def __init__(self, settings: Settings, stage: str, *, ledger: bool = False, **producer_overrides: object) -> None:
        self.settings = settings
        self.stage = stage
        self.ledger = ledger
        conf: dict[str, object] = {"message.timeout.ms": int(settings.delivery_timeout_s * 1000)}
        conf.update(producer_overrides)
        self.producer: Producer = clients.producer(settings, **conf)
        self.delivery = DeliveryTracker()
        self.sent = 0

    # --- producing ---------------------------------------------------------------------------------------
    def send(self, topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]] | None = None,
             on_delivery: Callable[[KafkaError | None, Message], None] | None = None) -> None:
        """Queue one message (waits while the local queue is full). Raises ``KafkaException`` for a message the
        client refuses at once (e.g. ``MSG_SIZE_TOO_LARGE``)."""
        cb: Callable[[KafkaError | None, Message], None] = self.delivery
        if on_delivery is not None:
            def both(err: KafkaError | None, msg: Message,
                     _extra: Callable[[KafkaError | None, Message], None] = on_delivery) -> None:
                self.delivery(err, msg)
                _extra(err, msg)
            cb = both
        while True:
            try:
                # confluent-kafka types headers as an invariant list[tuple[str, str | bytes | None]], which refuses
                # the list[tuple[str, bytes]] it accepts at run time (a Sequence would be the right type)
                self.producer.produce(topic, value=value, key=key, headers=headers or [],  # type: ignore[arg-type]
                                      on_delivery=cb)
                self.sent += 1
                break
            except BufferError:
                self.producer.poll(0.5)
        self.producer.poll(0)

    def dead_letter(self, rec: Record, error: PermanentError, stage: str | None = None) -> None:
        """Queue ``rec`` (original key, value, headers) to the dead-letter topic with the reason in ``dlq.*``."""
        self.send(self.settings.dead_letter_topic, rec.key, rec.value or b"",
                  dead_letter_headers(rec.headers, reason=error.reason, detail=error.detail, stage=stage or self.stage,
                                      error_class=type(error).__name__, topic=rec.topic, partition=rec.partition,
                                      offset=rec.offset))
        log.warning("%s: dead-lettered %s/%s@%s: %s", stage or self.stage, rec.topic, rec.partition, rec.offset, error)

    def emit(self, records: list[Record], outcomes: Iterable[Outcome]) -> int:
        """Produce every output (with lineage headers), dead letter and — with ``ledger`` — ledger record of a batch,
        then :meth:`flush`. Returns the number of messages produced. Raises :class:`TransientError` when a delivery
        failed (the caller must not commit)."""
        from marsad import ledger

        n = 0
        for rec, out in zip(records, outcomes):
            if out.error is not None:
                self.dead_letter(rec, out.error)
                n += 1
            lineage = lineage_headers(rec)
            for o in out.outputs:
                names = {h for h, _ in o.headers}
                self.send(o.topic, o.key, o.value, o.headers + [h for h in lineage if h[0] not in names])
                n += 1
            if self.ledger:
                key, value = ledger.outcome_record(rec, out, self.stage)
                self.send(self.settings.outcomes_topic, key, value)
                n += 1
        self.flush()
        return n

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait for every queued message's delivery report. Raises :class:`TransientError` naming the first failure
        when a delivery failed or a message is still queued after ``timeout_s`` (default: the delivery timeout + 10 s).
        """
        timeout_s = timeout_s if timeout_s is not None else self.settings.delivery_timeout_s + 10
        remaining = self.producer.flush(timeout_s)
        errors = self.delivery.take_errors()
        if remaining:
            raise TransientError(f"{remaining} messages still unacknowledged after {timeout_s:.0f} s")
        if errors:
            topic, key, err = errors[0]
            raise TransientError(f"{len(errors)} deliveries failed, first: {topic} key={key!r}: {err.str()}")

    def take_failures(self) -> list[tuple[str | None, bytes | None, KafkaError]]:
        """Failed deliveries since the last call, for callers that settle per message (the crawl publisher)."""
        return self.delivery.take_errors()

    def close(self, timeout_s: float = 5.0) -> int:
        """Flush for at most ``timeout_s``; return the number of messages still queued (not raised: closing)."""
        return self.producer.flush(timeout_s)

    # --- committing ----------------------------------------------------------------------------------------
    @staticmethod
    def commit(consumer: Any, records: list[Record]) -> bool:
        """Commit the offsets after ``records`` (per partition: last offset + 1), synchronously.

        Returns ``False`` when the group took the partitions away meanwhile (:data:`REBALANCE_CODES`): the batch
        goes to the next owner. Raises :class:`TransientError` for any other failure (coordinator moving, timeout,
        broker down) — the outputs are durable, so committing again later is safe.
        """
        last: dict[tuple[str, int], int] = {}
        for r in records:
            last[(r.topic, r.partition)] = max(last.get((r.topic, r.partition), -1), r.offset)
        return Transport.commit_read(consumer, last)

    @staticmethod
    def commit_read(consumer: Any, last: dict[tuple[str, int], int]) -> bool:
        """Commit, for each ``(topic, partition)`` of ``last``, the offset after the last one read there
        (``last[tp] + 1``), synchronously — for readers that hold offsets rather than :class:`Record` s (replay, DLQ
        replay). Returns and raises as :meth:`commit`."""
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in sorted(last.items())]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if err is not None and err.code() in REBALANCE_CODES:
                log.warning("offset commit refused (%s): the partitions moved to another member, which gets the "
                            "batch again", err.name())
                return False
            raise TransientError(f"offset commit failed: {error_state(exc)}") from exc
        return True


def retry_transient(fn: Callable[[], Any], *, what: str, logger: logging.Logger, backoff: Backoff,
                    should_stop: Callable[[], bool] = lambda: False,
                    sleep: Callable[[float], None] = time.sleep) -> Any:
    """Call ``fn`` until it does not raise :class:`TransientError`; wait ``backoff`` between attempts, log once per
    change of state. Re-raises the last error when ``backoff`` expires or ``should_stop()`` turns true."""
    state = StateLog(logger, what)
    while True:
        try:
            result = fn()
        except TransientError as exc:
            delay = backoff.failed()
            state.failing(error_state(exc))
            if backoff.expired() or should_stop():
                raise
            sleep(delay)
            continue
        state.ok()
        backoff.reset()
        return result
