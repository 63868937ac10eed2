"""Unit tests of marsad.messages: RawPage Kafka form, Article JSON form, dead-letter headers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from marsad.errors import PermanentError
from marsad.messages import (
    ARTICLE_SCHEMA,
    DLQ_AT,
    DLQ_DETAIL,
    DLQ_ERROR,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_STAGE,
    DLQ_TOPIC,
    META_HEADER,
    RAW_PAGE_SCHEMA,
    SCHEMA_HEADER,
    Article,
    RawPage,
    RawPageMeta,
    dead_letter_headers,
)

BEIRUT = timezone(timedelta(hours=2))
URL = "https://www.lbcgroup.tv/news/%D8%B4%D8%B9%D8%B1/ar"


def _meta(**kw) -> RawPageMeta:
    base = dict(url=URL + "?utm_source=x", final_url=URL, canonical_url=URL, status=200,
                headers={"content-type": "text/html; charset=windows-1256", "etag": '"abc"'},
                fetched_at=datetime(2026, 1, 8, 18, 46, 31, 707004, tzinfo=timezone.utc), source="lbc",
                via="warc", content_length=7)
    base.update(kw)
    return RawPageMeta(**base)


def _article(**kw) -> Article:
    base = dict(url=URL, canonical_url=URL, source="lbc", title="شعر وردي يُشعل السخرية…",
                text="أثار ظهور دونالد ترامب\nفقرة ثانية", published_at=datetime(2026, 1, 8, tzinfo=BEIRUT),
                fetched_at=datetime(2026, 1, 8, 18, 46, tzinfo=timezone.utc), language="ar", sitename="LBCI",
                original={"story_id": "s1", "n": 2}, content_hash="0" * 64)
    base.update(kw)
    return Article(**base)


def test_raw_page_round_trip_keeps_bytes_and_metadata():
    body = "<p>غزة</p>".encode("cp1256") + b"\x00\xff\r\n"
    page = RawPage(meta=_meta(content_length=len(body)), body=body)
    key, value, headers = page.to_kafka()
    assert key == URL.encode("utf-8")
    assert value == body
    assert dict(headers)[SCHEMA_HEADER] == RAW_PAGE_SCHEMA.encode()
    back = RawPage.from_kafka(value, headers)
    assert back.body == body
    assert back.meta == page.meta
    assert back.meta.fetched_at.tzinfo is not None


def test_raw_page_meta_header_is_json_without_body():
    body = b"<html>" + b"x" * 1000
    _, _, headers = RawPage(meta=_meta(), body=body).to_kafka()
    meta = orjson.loads(dict(headers)[META_HEADER])
    assert meta["canonical_url"] == URL
    assert meta["headers"]["content-type"] == "text/html; charset=windows-1256"
    assert b"x" * 100 not in dict(headers)[META_HEADER]


def test_raw_page_none_value_is_empty_body():
    _, _, headers = RawPage(meta=_meta(), body=b"x").to_kafka()
    assert RawPage.from_kafka(None, headers).body == b""


@pytest.mark.parametrize(
    "headers",
    [
        None,
        [],
        [(META_HEADER, b"{}")],
        [(SCHEMA_HEADER, b"raw-page.v0"), (META_HEADER, b"{}")],
        [(SCHEMA_HEADER, b"article.v1")],
        [(SCHEMA_HEADER, RAW_PAGE_SCHEMA.encode())],  # meta header missing
        [(SCHEMA_HEADER, RAW_PAGE_SCHEMA.encode()), (META_HEADER, b"{not json")],
        [(SCHEMA_HEADER, RAW_PAGE_SCHEMA.encode()), (META_HEADER, b'{"url": "x"}')],
        [(SCHEMA_HEADER, RAW_PAGE_SCHEMA.encode()), (META_HEADER, b"[]")],
        [(SCHEMA_HEADER, RAW_PAGE_SCHEMA.encode()), (META_HEADER, None)],
    ],
)
def test_raw_page_from_kafka_rejects_malformed_records(headers):
    with pytest.raises(PermanentError) as exc:
        RawPage.from_kafka(b"<html></html>", headers)
    assert exc.value.reason == "bad-raw-page"


def test_article_round_trip():
    art = _article()
    data = art.to_json()
    doc = orjson.loads(data)
    assert doc["schema"] == ARTICLE_SCHEMA
    assert doc["published_at"] == "2026-01-08T00:00:00+02:00"
    back = Article.from_json(data)
    assert back == art
    assert back.published_at.utcoffset() == timedelta(hours=2)


def test_article_round_trip_with_nulls():
    art = _article(title=None, published_at=None, language=None, sitename=None, original=None)
    assert Article.from_json(art.to_json()) == art


@pytest.mark.parametrize("data", [b"", None, b"{", b"not json", b"[]", b"null", b"\xff\xfe",
                                  b'{"url": "x"}',
                                  b'{"url":"u","canonical_url":"u","source":"s","text":"t","content_hash":"h",'
                                  b'"fetched_at":"yesterday"}'])
def test_article_from_json_garbage_is_bad_article(data):
    with pytest.raises(PermanentError) as exc:
        Article.from_json(data)
    assert exc.value.reason == "bad-article"
    assert len(exc.value.detail) <= 300


def _dlq(original, detail="boom"):
    return dead_letter_headers(original, reason="bad-raw-page", detail=detail, stage="extract",
                               error_class="PermanentError", topic="marsad.raw-pages", partition=2, offset=41)


def test_dead_letter_headers_keep_original_then_add_dlq():
    original = [(SCHEMA_HEADER, b"raw-page.v1"), (META_HEADER, b'{"a":1}'), ("dup", b"1"), ("dup", b"2")]
    before = list(original)
    out = _dlq(original)
    assert out[: len(original)] == original
    assert original == before  # input not mutated
    extra = dict(out[len(original):])
    assert extra[DLQ_REASON] == b"bad-raw-page"
    assert extra[DLQ_DETAIL] == b"boom"
    assert extra[DLQ_STAGE] == b"extract"
    assert extra[DLQ_ERROR] == b"PermanentError"
    assert extra[DLQ_TOPIC] == b"marsad.raw-pages"
    assert extra[DLQ_PARTITION] == b"2"
    assert extra[DLQ_OFFSET] == b"41"
    at = datetime.fromisoformat(extra[DLQ_AT].decode())
    assert at.tzinfo is not None
    assert abs((datetime.now(timezone.utc) - at).total_seconds()) < 60
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in out)


def test_dead_letter_headers_without_original():
    out = _dlq(None)
    assert [k for k, _ in out] == [DLQ_REASON, DLQ_DETAIL, DLQ_STAGE, DLQ_ERROR, DLQ_TOPIC, DLQ_PARTITION,
                                   DLQ_OFFSET, DLQ_AT]


def test_dead_letter_detail_truncated_to_2000_chars():
    detail = "خطأ" * 1000  # 3000 characters, 6000 UTF-8 bytes
    value = dict(_dlq([], detail))[DLQ_DETAIL].decode("utf-8")
    assert len(value) == 2000
    assert value == detail[:2000]
    short = dict(_dlq([], "x" * 2000))[DLQ_DETAIL]
    assert short == b"x" * 2000
