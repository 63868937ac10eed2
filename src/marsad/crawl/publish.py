"""Publishing raw pages to Kafka with every delivery checked.

A raw page larger than the topic accepts is never dropped silently: it becomes a dead letter (reason
``too-large``, metadata kept, body omitted) and is counted.
"""

from __future__ import annotations

import logging
from collections import Counter

from confluent_kafka import KafkaError, KafkaException, Message

from marsad.errors import TransientError
from marsad.kafka import clients
from marsad.kafka.transport import Transport
from marsad.messages import RawPage, dead_letter_headers
from marsad.settings import Settings

log = logging.getLogger(__name__)


class RawPagePublisher:
    """``publish(page)`` queues a raw page; ``close()`` flushes and returns the delivery counts.

    All producing goes through :class:`~marsad.kafka.transport.Transport` (delivery callback per message, flush,
    check). Counts: ``published`` (acknowledged by the broker), ``too-large`` / ``dead_lettered`` (dead-lettered
    instead), ``failed``. :meth:`close` raises :class:`TransientError` if any delivery failed, after flushing the
    rest — the caller then refunds the run's URLs (:func:`marsad.crawl.run.fetch_and_publish`).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        clients.ensure_topics(settings)
        self.transport = Transport(settings, "crawl")
        self.counts: Counter = Counter()

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.counts["published" if msg.topic() == self.settings.raw_pages_topic else "dead_lettered"] += 1
        else:
            self.counts["failed"] += 1

    def publish(self, page: RawPage) -> None:
        key, value, headers = page.to_kafka()
        if len(value) > self.settings.max_message_bytes:
            self._too_large(key, headers, len(value))
            return
        try:
            self.transport.send(self.settings.raw_pages_topic, key, value, headers, on_delivery=self._on_delivery)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE:
                self._too_large(key, headers, len(value))
                return
            raise

    def dead_letter(self, key: bytes, headers: list[tuple[str, bytes]], reason: str, detail: str) -> None:
        """Send a metadata-only dead letter for a page refused on the crawl side."""
        self.counts[reason] += 1
        self.transport.send(
            self.settings.dead_letter_topic, key, b"",
            dead_letter_headers(headers, reason=reason, detail=detail, stage="crawl",
                                error_class="FetchRefused", topic="", partition=-1, offset=-1),
            on_delivery=self._on_delivery,
        )

    def _too_large(self, key: bytes, headers: list[tuple[str, bytes]], size: int) -> None:
        log.warning("raw page %s is %d bytes > %d: dead-lettered without body", key, size,
                    self.settings.max_message_bytes)
        self.dead_letter(key, headers, "too-large", f"{size} bytes > max_message_bytes "
                                                    f"{self.settings.max_message_bytes}")

    def flush(self) -> None:
        """Wait until every page sent so far is acknowledged. Raises :class:`TransientError` when one was not."""
        try:
            self.transport.flush()
        except TransientError as exc:
            raise TransientError(f"raw pages not delivered ({dict(self.counts)}): {exc}") from exc

    def close(self) -> Counter:
        """Flush; return the counts. Raises :class:`TransientError` when a raw page was not delivered."""
        self.flush()
        return self.counts
