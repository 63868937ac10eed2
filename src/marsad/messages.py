"""Wire models: RawPage, Article, DeadLetter (versioned; JSON via orjson).

Raw pages travel as Kafka records whose **value is the raw HTTP body** (compressed by the producer with zstd)
and whose metadata is one JSON header, so a consumer that only wants bytes never parses JSON and the largest
part of the record is not base64-inflated:

* key: canonical URL, UTF-8
* headers: ``marsad.schema`` = ``raw-page.v1``, ``marsad.meta`` = :class:`RawPageMeta` as JSON

Articles travel as JSON values (:class:`Article`), key = canonical URL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, Field

from marsad.errors import PermanentError

RAW_PAGE_SCHEMA = "raw-page.v1"
ARTICLE_SCHEMA = "article.v1"
SCHEMA_HEADER = "marsad.schema"
META_HEADER = "marsad.meta"


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class RawPageMeta(BaseModel):
    """Fetch metadata of one raw page.

    ``headers`` keeps the response headers with lower-cased names; ``fetched_at`` is the capture time
    (for WARC replays: the record's ``WARC-Date``), timezone-aware.
    """

    url: str
    final_url: str
    canonical_url: str
    status: int
    headers: dict[str, str] = Field(default_factory=dict)
    fetched_at: AwareDatetime
    source: str
    via: str = "crawl"
    """``crawl`` or ``warc``."""
    content_length: int = 0
    """Length of the body in bytes (before Kafka compression)."""
    charset: str | None = None
    """The source's ``charset`` override from ``sources.yaml`` at fetch time (``None``: none); the extract stage
    decodes with it (:func:`marsad.extract.decode.decode_page`). Absent in records written before it existed."""


class RawPage(BaseModel):
    """A raw page: metadata plus the body bytes exactly as received."""

    meta: RawPageMeta
    body: bytes

    def to_kafka(self) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        """Return ``(key, value, headers)`` for a Kafka producer."""
        return (
            self.meta.canonical_url.encode("utf-8"),
            self.body,
            [
                (SCHEMA_HEADER, RAW_PAGE_SCHEMA.encode()),
                (META_HEADER, orjson.dumps(self.meta.model_dump(mode="json"))),
            ],
        )

    @classmethod
    def from_kafka(cls, value: bytes | None, headers: list[tuple[str, bytes]] | None) -> RawPage:
        """Parse a Kafka record. Raises :class:`PermanentError` (``bad-raw-page``) on a malformed record."""
        hdrs = dict(headers or [])
        schema = hdrs.get(SCHEMA_HEADER)
        if schema != RAW_PAGE_SCHEMA.encode():
            raise PermanentError("bad-raw-page", f"schema header is {schema!r}, expected {RAW_PAGE_SCHEMA!r}")
        try:
            meta = RawPageMeta.model_validate(orjson.loads(hdrs[META_HEADER]))
        except (KeyError, orjson.JSONDecodeError, ValueError) as exc:
            raise PermanentError("bad-raw-page", f"metadata header unreadable: {exc}") from exc
        return cls(meta=meta, body=value or b"")


class Article(BaseModel):
    """An article extracted from a raw page (schema ``article.v1``).

    ``published_at`` is ISO 8601 with offset or ``None`` when the page gives no date; ``content_hash`` is the
    SHA-256 (hex) of the normalised body (:func:`marsad.text.arabic.normalize_for_matching`), used for
    exact-duplicate detection.
    """

    schema_: str = Field(default=ARTICLE_SCHEMA, alias="schema")
    url: str
    canonical_url: str
    source: str
    title: str | None = None
    text: str
    published_at: AwareDatetime | None = None
    fetched_at: AwareDatetime
    language: str | None = None
    sitename: str | None = None
    original: dict[str, Any] | None = None
    """Attribution of a republication: ``{site, title, published_at}`` (``published_at`` ISO day or instant,
    or null) when the body carried an aggregator header; else ``None``."""
    content_hash: str
    extractor: str = "trafilatura"
    description: str | None = None
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    image: str | None = None
    date_signal: str | None = None
    """Where ``published_at`` came from: json-ld, meta, time, dateline, url, htmldate."""
    date_precision: str | None = None
    """``minute`` or ``day``."""
    wire: str | None = None
    """News agency named in a wire dateline («واس»), when the body had one."""
    source_line: str | None = None
    """Value of a «المصدر: …» line removed from the body."""
    boilerplate_removed: list[str] = Field(default_factory=list)
    """Names of the boilerplate rules that removed text (``extract/boilerplate_rules.yaml``)."""

    model_config = {"populate_by_name": True}

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", by_alias=True))

    @classmethod
    def from_json(cls, data: bytes | None) -> Article:
        """Parse an article record. Raises :class:`PermanentError` (``bad-article``)."""
        try:
            return cls.model_validate(orjson.loads(data or b""))
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise PermanentError("bad-article", str(exc)[:300]) from exc


DLQ_REASON = "dlq.reason"
DLQ_DETAIL = "dlq.detail"
DLQ_STAGE = "dlq.stage"
DLQ_ERROR = "dlq.error_class"
DLQ_TOPIC = "dlq.source_topic"
DLQ_PARTITION = "dlq.source_partition"
DLQ_OFFSET = "dlq.source_offset"
DLQ_AT = "dlq.at"


def dead_letter_headers(
    original: list[tuple[str, bytes]] | None,
    *,
    reason: str,
    detail: str,
    stage: str,
    error_class: str,
    topic: str,
    partition: int,
    offset: int,
) -> list[tuple[str, bytes]]:
    """Headers of a dead letter: the original headers followed by ``dlq.*`` headers (UTF-8 values).

    ``detail`` is truncated to 2,000 characters so the record stays far below the broker limit.
    """
    extra = {
        DLQ_REASON: reason,
        DLQ_DETAIL: detail[:2000],
        DLQ_STAGE: stage,
        DLQ_ERROR: error_class,
        DLQ_TOPIC: topic,
        DLQ_PARTITION: str(partition),
        DLQ_OFFSET: str(offset),
        DLQ_AT: utcnow().isoformat(),
    }
    return list(original or []) + [(k, v.encode("utf-8")) for k, v in extra.items()]
