"""The stage contract: records in, one :class:`Outcome` per record out.

Stages (extract, index, webhooks) import this module only — never the worker, the transport or the Kafka client —
so they can be run and tested without Kafka, and the transport can change without touching them.

* :class:`Record` — a consumed record, decoupled from the client library.
* :class:`Output` — a record to produce (topic, key, value, headers).
* :class:`Outcome` — what happened to one record: outputs (``ok``), a :class:`~marsad.errors.Discard` or a
  :class:`~marsad.errors.PermanentError` (dead-lettered), plus for the index stage the story it ended in.
* :class:`Stage` — ``name`` + ``process_batch(records) -> list[Outcome]`` (same length and order); may raise
  :class:`~marsad.errors.TransientError` for the whole batch (the transport retries it).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from marsad.errors import Discard, PermanentError, TransientError

log = logging.getLogger(__name__)

STORY = "story"
"""Outcome kind: the record's page is the document of story ``story_id``."""
REPUBLICATION = "republication"
"""Outcome kind: a near-duplicate copy (another text close to the story's), kept in ``republications`` of
``story_id``."""
DUPLICATE = "duplicate"
"""Outcome kind: the same normalised text as story ``story_id`` (another URL with the identical text, or the same page
fetched again), kept in ``republications`` of ``story_id`` (or left alone when it is an older fetch)."""
KINDS = (STORY, REPUBLICATION, DUPLICATE)


@dataclass(frozen=True)
class Record:
    """A consumed Kafka record, decoupled from the client library (so stages are testable without Kafka).

    ``timestamp_ms``: the record's timestamp (ms since the epoch) or None.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp_ms: int | None = None

    @classmethod
    def from_message(cls, msg: Any) -> Record:
        """From a ``confluent_kafka.Message`` (duck-typed: the contract does not import the client)."""
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
    """What happened to one record. Exactly one of: outputs (possibly empty, ``ok``), discard, error.

    ``label``: finer ``ok`` label for counters (``indexed``, ``duplicate``, ``stale``, ``delivered`` …).
    ``kind``/``story_id``: where the record's page ended in the index — ``kind`` is one of :data:`KINDS`, ``story_id``
    the story (for a republication or duplicate: the story it belongs to). Empty for stages that do not index.
    """

    outputs: list[Output] = field(default_factory=list)
    discard: Discard | None = None
    error: PermanentError | None = None
    label: str = "ok"
    kind: str | None = None
    story_id: str | None = None

    @property
    def status(self) -> str:
        """``dead_lettered``, ``discarded`` or :attr:`label`."""
        if self.error is not None:
            return "dead_lettered"
        if self.discard is not None:
            return "discarded"
        return self.label

    @property
    def reason(self) -> str:
        """The discard or error reason slug, else ``""``."""
        if self.error is not None:
            return self.error.reason
        if self.discard is not None:
            return self.discard.reason
        return ""


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


# --- lineage: which raw page a record descends from ---------------------------------------------------------
RAW_HEADER = "marsad.raw"
"""Header naming the raw page an output descends from: ``<topic>/<partition>/<offset>`` (UTF-8)."""
RAW_TS_HEADER = "marsad.raw-ts"
"""Header carrying the raw page record's timestamp (ms since the epoch, decimal) for the fetch→searchable latency."""


def raw_coordinates(rec: Record) -> tuple[str, int, int]:
    """``(topic, partition, offset)`` of the raw page ``rec`` descends from: its :data:`RAW_HEADER`, else ``rec``
    itself (a raw page). A malformed header falls back to ``rec``'s own coordinates."""
    for name, value in rec.headers:
        if name == RAW_HEADER and value:
            try:
                topic, partition, offset = value.decode().rsplit("/", 2)
                return topic, int(partition), int(offset)
            except ValueError:
                break
    return rec.topic, rec.partition, rec.offset


def raw_timestamp_ms(rec: Record) -> int | None:
    """The raw page record's timestamp (ms) from :data:`RAW_TS_HEADER`, else ``rec.timestamp_ms``."""
    for name, value in rec.headers:
        if name == RAW_TS_HEADER and value:
            try:
                return int(value)
            except ValueError:
                break
    return rec.timestamp_ms


def lineage_headers(rec: Record) -> list[tuple[str, bytes]]:
    """The :data:`RAW_HEADER`/:data:`RAW_TS_HEADER` pair to put on every output of ``rec``."""
    topic, partition, offset = raw_coordinates(rec)
    out = [(RAW_HEADER, f"{topic}/{partition}/{offset}".encode())]
    ts = raw_timestamp_ms(rec)
    if ts is not None:
        out.append((RAW_TS_HEADER, str(ts).encode()))
    return out
