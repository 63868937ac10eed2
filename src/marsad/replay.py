"""Replay raw pages from Kafka into a new index version, and put dead letters back on their topics.

``replay`` (what ``marsad replay`` and the replay DAG run):

1. **Positioning.** A new consumer group ``<replay_group_prefix>.<index>.<UTC timestamp>`` (never a live group:
   their offsets are not touched) is *assigned* every partition of the raw-pages topic; the first offset of each
   partition is ``offsets_for_times(--from)`` and the end offset (exclusive) ``offsets_for_times(--to)``, both in
   **milliseconds** since the epoch (Kafka's record timestamp unit). ``-1`` from ``offsets_for_times`` means "no
   record at or after that time": the partition's high watermark then (nothing to read for ``--from``, read to the
   end for ``--to``). Without ``--to`` the end is the high watermark when the replay starts. Records whose own
   timestamp lies outside ``[from, to)`` (timestamps need not be monotonic within a partition) are skipped and
   counted as ``outside-window``.
2. **Order.** Records of all partitions are merged by ``(timestamp, partition, offset)`` and cut into batches of
   ``batch_size``, so two replays of the same window see the same sequence and the same batches — and so make the
   same exact- and near-duplicate decisions (the first *fetched* copy owns a story, not whichever partition a
   consumer happened to read first).
3. **Processing** by the normal stages in-process: :class:`~marsad.extract.stage.ExtractStage` then
   :class:`~marsad.index.stage.IndexStage`, the latter pointed at the version's write aliases
   (:class:`~marsad.index.templates.IndexVersion`), so the read aliases — the live index — are untouched.
   ``--source``: raw pages of other sources are skipped (``other-source``) by reading only the ``marsad.meta``
   header; the body is never parsed for them. Dead letters go to the DLQ with the *raw page* as payload
   (``dlq.stage`` = ``replay-extract`` / ``replay-index``), so ``dlq replay`` can put them back on raw-pages.
   Transient failures re-run the batch (both stages are idempotent) with the worker's backoff.
4. **Swap** (optional): both read aliases move to the version in one atomic ``_aliases`` request
   (:func:`~marsad.index.templates.swap_aliases`). Without ``--to``, the replay then reads once more from its end
   offsets to the new high watermarks: every raw page produced before the swap is in the new index (idempotent
   writes), and every later one is written there by the live index consumer through the moved alias.

Every record of the window ends counted: indexed, duplicate, stale (an older fetch of an already newer story),
discarded with a reason, dead-lettered with a reason, or skipped (``outside-window``, ``other-source``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from marsad.errors import ConfigError, PermanentError, TransientError
from marsad.kafka import clients
from marsad.kafka.transport import Backoff, Transport, retry_transient
from marsad.messages import DLQ_AT, DLQ_REASON, DLQ_TOPIC, META_HEADER
from marsad.settings import Settings
from marsad.stage import Outcome, Record

log = logging.getLogger(__name__)

KAFKA_TIMEOUT_S = 30.0
"""Timeout of metadata, ``offsets_for_times`` and watermark requests (seconds)."""
STALL_TIMEOUT_S = 120.0
"""A replay whose partitions deliver nothing for this long (seconds) while records are still expected fails with
:class:`TransientError` instead of hanging (the range was computed from the broker's own offsets)."""


def epoch_ms(when: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime (the unit of Kafka record timestamps and of
    ``offsets_for_times``). Raises :class:`ValueError` for a naive datetime (its instant is ambiguous)."""
    if when.tzinfo is None:
        raise ValueError(f"{when.isoformat()} has no UTC offset; give one (e.g. 2026-01-16T00:00:00+00:00)")
    return (when - _EPOCH) // timedelta(milliseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time as an aware datetime; without an offset it is read as UTC
    (``2026-01-16`` = midnight UTC). Raises :class:`ValueError` with the offending text."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO 8601 date or date-time (e.g. 2026-01-16T08:00:00+03:00)") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)



@dataclass(frozen=True)
class PartitionRange:
    """Offsets ``[start, end)`` of one partition to replay."""

    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


def resolve_range(partition: int, low: int, high: int, start_at: int, end_at: int | None) -> PartitionRange:
    """The range of one partition from ``offsets_for_times`` answers.

    ``start_at``/``end_at``: offsets returned for ``--from``/``--to`` (``-1`` = no record at or after that time;
    ``end_at`` is ``None`` without ``--to``); ``low``/``high``: the partition's watermarks. The start is clamped to
    ``low`` (older records were deleted by retention) and the range is empty when nothing lies in the window.
    """
    start = high if start_at < 0 else max(start_at, low)
    end = high if end_at is None or end_at < 0 else min(end_at, high)
    return PartitionRange(partition, start, max(start, end))


PLAN_ATTEMPTS = 3
"""``offsets_for_times``/watermark lookups are tried this often (1 s apart) before the replay gives up: a lookup
right after a leader change answers with a per-partition error, which must never be read as "no record"."""


def plan_ranges(consumer: Consumer, topic: str, from_ms: int, to_ms: int | None) -> list[PartitionRange]:
    """Per-partition ranges of ``topic`` for the window ``[from_ms, to_ms)`` (ms since the epoch).

    Raises :class:`ConfigError` when the topic does not exist and :class:`TransientError` when Kafka does not
    answer in :data:`KAFKA_TIMEOUT_S` or keeps answering with errors (:data:`PLAN_ATTEMPTS`).
    """
    for attempt in range(1, PLAN_ATTEMPTS + 1):
        try:
            return _plan_ranges(consumer, topic, from_ms, to_ms)
        except TransientError as exc:
            if attempt == PLAN_ATTEMPTS:
                raise
            log.warning("replay plan: %s; retrying", exc)
            time.sleep(1.0)
    raise AssertionError("unreachable")


def _plan_ranges(consumer: Consumer, topic: str, from_ms: int, to_ms: int | None) -> list[PartitionRange]:
    try:
        md = consumer.list_topics(topic, timeout=KAFKA_TIMEOUT_S)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            raise ConfigError(f"topic {topic} does not exist ({t.error if t else 'unknown'})")
        parts = sorted(t.partitions)
        starts = consumer.offsets_for_times([TopicPartition(topic, p, from_ms) for p in parts],
                                            timeout=KAFKA_TIMEOUT_S)
        ends = (consumer.offsets_for_times([TopicPartition(topic, p, to_ms) for p in parts], timeout=KAFKA_TIMEOUT_S)
                if to_ms is not None else [None] * len(parts))
        for tp in [*starts, *(e for e in ends if e is not None)]:
            # only -1 (OFFSET_END) means "no record at or after the time"; an error or another logical offset
            # (-1001 OFFSET_INVALID) would silently empty the partition's range
            if tp.error is not None or tp.offset < -1:
                raise TransientError(f"offsets_for_times failed for {topic}[{tp.partition}]: "
                                     f"offset {tp.offset}, error {tp.error}")
        ranges = []
        for p, s, e in zip(parts, starts, ends):
            marks = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=KAFKA_TIMEOUT_S)
            if marks is None or marks[0] < 0 or marks[1] < 0:
                raise TransientError(f"watermarks of {topic}[{p}] unavailable: {marks}")
            ranges.append(resolve_range(p, marks[0], marks[1], s.offset, None if e is None else e.offset))
        log.info("replay plan for %s: %s", topic, [(r.partition, r.start, r.end) for r in ranges])
        return ranges
    except KafkaException as exc:
        raise TransientError(f"Kafka did not answer while planning the replay of {topic}: {exc}") from exc


def source_of(headers: list[tuple[str, bytes]] | None) -> str | None:
    """The ``source`` of a raw page from its ``marsad.meta`` header alone (the body is not touched);
    ``None`` when the header is missing or unreadable (such a record is processed, and the extract stage
    dead-letters it as ``bad-raw-page``)."""
    for k, v in headers or []:
        if k == META_HEADER:
            try:
                src = orjson.loads(v).get("source")
            except (orjson.JSONDecodeError, AttributeError):
                return None
            return src if isinstance(src, str) else None
    return None


def merge_key(m: Message) -> tuple[int, int, int]:
    """Replay order: record timestamp (ms), then partition, then offset."""
    return (m.timestamp()[1], *clients.position(m))


class OrderedReader:
    """Reads assigned ranges and yields records in :func:`merge_key` order (a k-way merge of the partitions).

    A record is released only when every partition still being read has a buffered record (or is done), so the
    order does not depend on how the client interleaves fetches. Partitions whose buffer holds ``2 × batch``
    records are paused until it drains.
    """

    def __init__(self, consumer: Consumer, topic: str, ranges: list[PartitionRange], batch: int) -> None:
        self.c, self.topic, self.batch = consumer, topic, batch
        self.end = {r.partition: r.end for r in ranges}
        self.buf: dict[int, deque[Message]] = {r.partition: deque() for r in ranges}
        self.active = {r.partition for r in ranges if r.size > 0}
        self.paused: set[int] = set()
        if self.active:
            consumer.assign([TopicPartition(topic, r.partition, r.start) for r in ranges if r.size > 0])

    def _fill(self) -> None:
        msgs = self.c.consume(self.batch, timeout=1.0)
        for m in msgs:
            err = m.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    if m.partition() in self.active:
                        self._done(clients.position(m)[0])
                    continue
                raise TransientError(f"Kafka error while replaying {self.topic}: {err}")
            p, offset = clients.position(m)
            if p not in self.active:
                continue
            if offset >= self.end[p]:
                self._done(p)
                continue
            self.buf[p].append(m)
            if offset + 1 >= self.end[p]:
                self._done(p)
        full = [p for p in self.active if len(self.buf[p]) >= 2 * self.batch and p not in self.paused]
        if full:
            self.c.pause([TopicPartition(self.topic, p) for p in full])
            self.paused.update(full)

    def _done(self, p: int) -> None:
        """Partition ``p`` reached its end offset: stop fetching it (the client would read on to the topic's end)."""
        self.active.discard(p)
        self.paused.discard(p)
        self.c.pause([TopicPartition(self.topic, p)])

    def _resume_drained(self) -> None:
        low = [p for p in self.paused if len(self.buf[p]) < self.batch]
        if low:
            self.c.resume([TopicPartition(self.topic, p) for p in low])
            self.paused.difference_update(low)

    def next_batch(self) -> list[Message]:
        """Up to ``batch`` records in replay order; ``[]`` when every range is read."""
        out: list[Message] = []
        last_progress = time.monotonic()
        while len(out) < self.batch:
            if any(not self.buf[p] for p in self.active):
                self._resume_drained()
                before = sum(len(b) for b in self.buf.values()) + len(self.active)
                self._fill()
                if sum(len(b) for b in self.buf.values()) + len(self.active) != before:
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > STALL_TIMEOUT_S:
                    raise TransientError(f"replay of {self.topic} stalled: partitions {sorted(self.active)} "
                                         f"delivered nothing for {STALL_TIMEOUT_S:.0f} s")
                continue
            ready = [p for p, b in self.buf.items() if b]
            if not ready:
                break
            p = min(ready, key=lambda q: merge_key(self.buf[q][0]))
            out.append(self.buf[p].popleft())
        return out


@dataclass
class ReplayStats:
    """Counts of one replay. ``outcomes``: ``indexed``, ``duplicate``, ``stale``, ``discarded``,
    ``dead_lettered``, ``outside-window``, ``other-source``; ``reasons``: ``<outcome>:<reason>``."""

    index: str
    group: str
    total: int = 0
    done: int = 0
    outcomes: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    ranges: list[PartitionRange] = field(default_factory=list)
    swapped: dict[str, list[str]] | None = None
    """``{alias: [indices it pointed at before]}`` after a swap, else ``None``."""
    swap_refused: str | None = None
    """Why a requested swap was not done (the new index is empty: an empty window must not blank the search)."""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "group": self.group, "total": self.total, "done": self.done,
                "outcomes": dict(self.outcomes), "reasons": dict(self.reasons),
                "ranges": [[r.partition, r.start, r.end] for r in self.ranges], "swapped": self.swapped,
                "swap_refused": self.swap_refused,
                "seconds": round(self.seconds, 1)}


ProgressFn = Callable[[int, int], None]
"""``progress(done, total)``: records handled so far (skipped ones included) and the records in the window."""


def replay_group(settings: Settings, index: str, now: datetime | None = None) -> str:
    """``<replay_group_prefix>.<index>.<YYYYmmddTHHMMSSffffffZ>``: a new consumer group per replay."""
    now = now or datetime.now(timezone.utc)
    return f"{settings.replay_group_prefix}.{index}.{now.astimezone(timezone.utc):%Y%m%dT%H%M%S%fZ}"


class Replayer:
    """One replay of the raw-pages topic into an index version (see the module docstring)."""

    def __init__(self, settings: Settings, index: str, *, source: str | None = None, es=None) -> None:
        from marsad.crawl.registry import load_registry
        from marsad.extract.stage import ExtractStage
        from marsad.index.es import Es
        from marsad.index.stage import IndexStage
        from marsad.index.templates import alias_targets, index_version

        self.settings = settings
        self.version = index_version(settings, index)  # ValueError on a bad name
        self.es = es or Es.from_settings(settings)
        if index in alias_targets(self.es, settings.stories_alias):  # checked again when the index is created
            raise ValueError(f"{index} is the live index behind the read alias; replay into a new version")
        self.source = source
        try:
            sources = load_registry(settings.sources_file)
        except ConfigError:
            sources = []  # as the live extract worker: pages are read in UTC when the registry is unusable
        self.extract = ExtractStage(settings, sources)
        self.index_settings = settings.model_copy(update={
            "stories_alias": self.version.stories_write_alias,
            "fingerprints_index": self.version.fingerprints_write_alias,
        })
        self.index = IndexStage(self.index_settings, self.es)
        self.stats = ReplayStats(index=index, group=replay_group(settings, index))
        self.transport = Transport(settings, "replay")

    # --- the whole run -----------------------------------------------------------------------------------
    def run(self, start: datetime, end: datetime | None = None, swap: bool = False,
            progress: ProgressFn | None = None) -> ReplayStats:
        from marsad.index.templates import create_index_version, swap_aliases

        from_ms, to_ms = epoch_ms(start), (epoch_ms(end) if end is not None else None)
        if end is not None and to_ms is not None and to_ms <= from_ms:
            raise ValueError(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})")
        if swap and self.source is not None:
            raise ValueError(f"--swap with --source {self.source}: the new index would hold only that source's "
                             f"stories and the read alias would lose every other source; replay all sources to swap, "
                             f"or replay {self.source} without --swap and search {self.version.stories_index}")
        t0 = time.monotonic()
        clients.ensure_topics(self.settings)
        create_index_version(self.settings, self.version, self.es)
        consumer = clients.consumer(self.settings, self.stats.group, **{"enable.partition.eof": True})
        try:
            ranges = plan_ranges(consumer, self.settings.raw_pages_topic, from_ms, to_ms)
            self.stats.ranges = ranges
            self.stats.total = sum(r.size for r in ranges)
            self._read(consumer, ranges, from_ms, to_ms, progress)
        finally:
            consumer.close()
        if swap:
            self.es.request("POST", f"/{self.version.stories_index},{self.version.fingerprints_index}/_refresh")
            if not self.es.request("GET", f"/{self.version.stories_index}/_count")["count"]:
                self.stats.swap_refused = f"{self.version.stories_index} holds no story: the read alias stays"
                log.warning("replay: swap refused: %s", self.stats.swap_refused)
                swap = False
        if swap:
            self.stats.swapped = swap_aliases(self.settings, self.version, self.es)
            if to_ms is None:  # catch up: pages produced while replaying, now written through the moved alias too
                self._catch_up(ranges, from_ms, progress)
        self.es.request("POST", f"/{self.version.stories_index}/_refresh")
        self.stats.seconds = time.monotonic() - t0
        self.transport.flush()
        return self.stats

    def _catch_up(self, previous: list[PartitionRange], from_ms: int, progress: ProgressFn | None) -> None:
        """After the swap: read from the previous end offsets to the current high watermarks."""
        consumer = clients.consumer(self.settings, self.stats.group, **{"enable.partition.eof": True})
        try:
            now = plan_ranges(consumer, self.settings.raw_pages_topic, from_ms, None)
            prev = {r.partition: r for r in previous}
            ranges = [PartitionRange(r.partition, prev[r.partition].end if r.partition in prev else r.start,
                                     r.end) for r in now]
            ranges = [PartitionRange(r.partition, r.start, max(r.start, r.end)) for r in ranges]
            self.stats.total += sum(r.size for r in ranges)
            self.stats.ranges = [PartitionRange(r.partition, prev[r.partition].start if r.partition in prev
                                                else r.start, r.end) for r in ranges]
            self._read(consumer, ranges, from_ms, None, progress)
        finally:
            consumer.close()

    def _read(self, consumer: Consumer, ranges: list[PartitionRange], from_ms: int, to_ms: int | None,
              progress: ProgressFn | None) -> None:
        reader = OrderedReader(consumer, self.settings.raw_pages_topic, ranges, self.settings.batch_size)
        if progress:
            progress(self.stats.done, self.stats.total)
        while True:
            msgs = reader.next_batch()
            if not msgs:
                return
            self.process([Record.from_message(m) for m in msgs], from_ms, to_ms)
            last: dict[int, int] = {}
            for m in msgs:
                p, offset = clients.position(m)
                last[p] = max(last.get(p, -1), offset)
            try:  # the replay's own group only: shows how far it got (kafka-consumer-groups --describe)
                Transport.commit_read(consumer, {(self.settings.raw_pages_topic, p): o for p, o in last.items()})
            except TransientError as exc:
                log.warning("replay group %s: offset commit failed (progress display only): %s",
                            self.stats.group, exc)
            if progress:
                progress(self.stats.done, self.stats.total)

    # --- one batch ---------------------------------------------------------------------------------------
    def process(self, records: list[Record], from_ms: int, to_ms: int | None) -> None:
        """Filter, extract and index one batch; dead letters are acknowledged by Kafka before this returns."""
        wanted: list[Record] = []
        for r in records:
            ts = r.timestamp_ms
            if ts is not None and (ts < from_ms or (to_ms is not None and ts >= to_ms)):
                self.stats.outcomes["outside-window"] += 1
            elif self.source is not None and source_of(r.headers) != self.source:
                self.stats.outcomes["other-source"] += 1
            else:
                wanted.append(r)
        dead: list[tuple[Record, str, PermanentError]] = []
        articles: list[tuple[Record, Record]] = []  # (raw record, article record)
        for raw, out in zip(wanted, self._retrying(self.extract, wanted)):
            if out.error is not None:
                dead.append((raw, "replay-extract", out.error))
            elif out.discard is not None:
                self._count("discarded", out.discard.reason)
            else:
                for o in out.outputs:
                    articles.append((raw, Record(topic=self.settings.articles_topic, partition=raw.partition,
                                                 offset=raw.offset, key=o.key, value=o.value,
                                                 timestamp_ms=raw.timestamp_ms)))
        if articles:
            for (raw, _), out in zip(articles, self._retrying(self.index, [a for _, a in articles])):
                if out.error is not None:
                    dead.append((raw, "replay-index", out.error))
                else:
                    self._count(out.label, "")
        for raw, stage, error in dead:
            self.transport.dead_letter(raw, error, stage)
            self._count("dead_lettered", error.reason)
        if dead:
            self.transport.flush()
        self.stats.done += len(records)

    def _count(self, outcome: str, reason: str) -> None:
        self.stats.outcomes[outcome] += 1
        if reason:
            self.stats.reasons[f"{outcome}:{reason}"] += 1

    def _retrying(self, stage, records: list[Record]) -> list[Outcome]:
        """``stage.process_batch`` with the transport's transient-retry policy (1 s, 2 s, … ≤ 30 s; after
        ``max_transient_retries`` failures the last error is raised)."""
        if not records:
            return []

        def once() -> list[Outcome]:
            outcomes = stage.process_batch(records)
            if len(outcomes) != len(records):
                raise RuntimeError(f"stage {stage.name} returned {len(outcomes)} outcomes for {len(records)}")
            return outcomes

        attempts = Backoff(cap_s=30.0)
        return retry_transient(once, what=f"replay {stage.name}", logger=log, backoff=attempts,
                               should_stop=lambda: attempts.attempt > self.settings.max_transient_retries)


def replay(settings: Settings, start: datetime, end: datetime | None, index: str, *, source: str | None = None,
           swap: bool = False, progress: ProgressFn | None = None) -> ReplayStats:
    """Replay raw pages fetched into Kafka in ``[start, end)`` into the index version ``index``.

    ``start``/``end``: aware datetimes (Kafka record time). ``index``: ``<stories_index_prefix><version>``.
    Raises :class:`ValueError` for a bad window or index name (or the live index), :class:`ConfigError` for a
    missing topic, :class:`TransientError` when Kafka or Elasticsearch keep failing.
    """
    return Replayer(settings, index, source=source).run(start, end, swap=swap, progress=progress)


# --- dead letters back to their topics ------------------------------------------------------------------
REPLAYED_FROM = "dlq.replayed_from"
"""Header added to a replayed dead letter: ``<dlq topic>/<partition>/<offset>`` it came from (tracing)."""


@dataclass
class DlqReplayStats:
    """Counts of one DLQ replay: ``replayed`` / ``skipped`` per reason, ``not_replayable`` per reason (dead letters
    without an original topic, e.g. the crawl's metadata-only ``too-large`` letters) and the topics written."""

    group: str
    dry_run: bool
    read: int = 0
    replayed: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    not_replayable: Counter = field(default_factory=Counter)
    topics: Counter = field(default_factory=Counter)
    missing_topics: Counter = field(default_factory=Counter)
    """Original topics that no longer exist, per letter naming them (those letters count as ``not_replayable``)."""

    def as_dict(self) -> dict[str, Any]:
        return {"group": self.group, "dry_run": self.dry_run, "read": self.read, "replayed": dict(self.replayed),
                "skipped": dict(self.skipped), "not_replayable": dict(self.not_replayable),
                "topics": dict(self.topics), "missing_topics": dict(self.missing_topics)}


def dlq_group(settings: Settings, reason: str | None) -> str:
    """The DLQ replay group: ``dlq_replay_group``, or ``<dlq_replay_group>.<reason>`` for a reason filter (letters of
    other reasons stay replayable by their own filter or an unfiltered replay)."""
    return f"{settings.dlq_replay_group}.{reason}" if reason else settings.dlq_replay_group


def _header(headers: list[tuple[str, bytes]], name: str) -> str | None:
    for k, v in reversed(headers):  # the last dlq.* set wins (a letter that failed again after a replay)
        if k == name:
            return v.decode("utf-8", "replace")
    return None


def _at_or_after(at: str | None, since: datetime) -> bool:
    """``dlq.at`` (ISO 8601) is at or after ``since``; a missing or unreadable time is not (it cannot be shown to
    be recent)."""
    try:
        when = datetime.fromisoformat(at) if at else None
    except ValueError:
        return False
    return when is not None and when.tzinfo is not None and when >= since


def _topic_exists(consumer: Consumer, name: str, cache: dict[str, bool]) -> bool:
    """Does topic ``name`` exist on the broker (answer cached per DLQ replay)? Only the broker's "unknown topic"
    answer means no; another metadata error (e.g. a leader election) raises :class:`TransientError`, so a letter is
    never skipped on a passing error. Raises :class:`KafkaException` when Kafka does not answer."""
    if name not in cache:
        t = consumer.list_topics(name, timeout=KAFKA_TIMEOUT_S).topics.get(name)
        if t is not None and t.error is not None and t.error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise TransientError(f"metadata of topic {name} unavailable: {t.error}")
        cache[name] = t is not None and t.error is None and bool(t.partitions)
    return cache[name]


def original_headers(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The record's headers before it was dead-lettered: every ``dlq.*`` header removed."""
    return [(k, v) for k, v in headers if not k.startswith("dlq.")]


def dlq_replay(settings: Settings, *, reason: str | None = None, since: datetime | None = None,
               dry_run: bool = False, progress: ProgressFn | None = None) -> DlqReplayStats:
    """Put dead letters back on their original topic (``dlq.source_topic``) with their original key, value and
    headers (``dlq.*`` removed, :data:`REPLAYED_FROM` added), reading the DLQ in the group :func:`dlq_group`.

    ``reason``: only letters with this ``dlq.reason``; ``since``: only letters dead-lettered at or after it
    (``dlq.at``); others are counted as ``skipped`` — and, like the replayed ones, committed: the group has read
    them. ``dry_run``: count only, nothing produced, no offsets committed. Offsets are committed after the
    replayed records are acknowledged by Kafka, so a crash replays a letter again at worst (sinks are idempotent).
    Raises :class:`TransientError` when Kafka keeps failing.
    """
    group = dlq_group(settings, reason)
    stats = DlqReplayStats(group=group, dry_run=dry_run)
    topic = settings.dead_letter_topic
    clients.ensure_topics(settings)
    consumer = clients.consumer(settings, group, **{"enable.partition.eof": True})
    transport = Transport(settings, "dlq-replay")
    try:
        md = consumer.list_topics(topic, timeout=KAFKA_TIMEOUT_S)
        parts = sorted(md.topics[topic].partitions)
        tps = [TopicPartition(topic, p) for p in parts]
        committed = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=KAFKA_TIMEOUT_S)}
        ranges = []
        for p in parts:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=KAFKA_TIMEOUT_S)
            c = committed.get(p, -1001)
            ranges.append(PartitionRange(p, max(low, c) if c >= 0 else low, high))
        total = sum(r.size for r in ranges)
        reader = OrderedReader(consumer, topic, ranges, settings.batch_size)
        exists: dict[str, bool] = {}
        if progress:
            progress(0, total)
        while True:
            msgs = reader.next_batch()
            if not msgs:
                break
            last: dict[int, int] = {}
            for m in msgs:
                stats.read += 1
                p, offset = clients.position(m)
                last[p] = max(last.get(p, -1), offset)
                headers = clients.headers(m)
                why = _header(headers, DLQ_REASON) or "unknown"
                at = _header(headers, DLQ_AT)
                source_topic = _header(headers, DLQ_TOPIC)
                if reason is not None and why != reason:
                    stats.skipped[why] += 1
                    continue
                if since is not None and not _at_or_after(at, since):
                    stats.skipped[why] += 1
                    continue
                if not source_topic:
                    stats.not_replayable[why] += 1
                    continue
                if not _topic_exists(consumer, source_topic, exists):
                    # produced anyway, it would never be delivered (auto-create is off): the batch would fail
                    # uncommitted on every run and block every later letter
                    log.warning("dlq replay: %s/%d/%d names topic %s, which does not exist: not replayed",
                                topic, m.partition(), m.offset(), source_topic)
                    stats.not_replayable[why] += 1
                    stats.missing_topics[source_topic] += 1
                    continue
                stats.replayed[why] += 1
                stats.topics[source_topic] += 1
                if dry_run:
                    continue
                origin = f"{topic}/{m.partition()}/{m.offset()}"
                out_headers = original_headers(headers) + [(REPLAYED_FROM, origin.encode())]
                transport.send(source_topic, m.key(), m.value() or b"", out_headers)
            if not dry_run:
                transport.flush()
                if not Transport.commit_read(consumer, {(topic, p): o for p, o in last.items()}):
                    raise TransientError("offset commit refused: the dead-letter partitions moved to another member "
                                         "(a second DLQ replay in the same group?); the letters replayed since the "
                                         "last commit will be replayed again")
            if progress:
                progress(stats.read, total)
    except KafkaException as exc:
        raise TransientError(f"Kafka failed during the DLQ replay: {exc}") from exc
    finally:
        consumer.close()
    return stats

