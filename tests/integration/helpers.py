"""Helpers for tests against the real Kafka and Elasticsearch."""

from __future__ import annotations

from confluent_kafka import Consumer

from marsad.crawl.publish import RawPagePublisher
from marsad.dedup.urls import canonical_url
from marsad.messages import RawPage, RawPageMeta, utcnow
from marsad.settings import Settings


def raw_page(url: str, body: bytes, source: str = "test", content_type: str = "text/html; charset=utf-8") -> RawPage:
    return RawPage(meta=RawPageMeta(url=url, final_url=url, canonical_url=canonical_url(url), status=200,
                                    headers={"content-type": content_type}, fetched_at=utcnow(), source=source,
                                    content_length=len(body)), body=body)


def publish(settings: Settings, pages: list[RawPage]) -> dict:
    pub = RawPagePublisher(settings)
    for p in pages:
        pub.publish(p)
    return dict(pub.close())


def read_all(settings: Settings, topic: str, expected: int, timeout_s: float = 30.0) -> list:
    """Read ``expected`` messages from ``topic`` from the beginning with a throwaway group."""
    import time
    import uuid

    c = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    out = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expected and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                out.append(m)
        # a short extra poll so that "more than expected" is visible to the caller
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            m = c.poll(0.3)
            if m is not None and not m.error():
                out.append(m)
    finally:
        c.close()
    return out


def read_to_end(settings: Settings, topic: str, with_headers: bool = False, timeout_s: float = 15.0) -> list:
    """Values (or ``(value, headers)``) of every message in ``topic`` (:func:`marsad.kafka.clients.read_to_end`)."""
    from marsad.kafka.clients import read_to_end as read_messages

    return [(m.value(), m.headers() or []) if with_headers else m.value()
            for m in read_messages(settings, topic, timeout_s)]
