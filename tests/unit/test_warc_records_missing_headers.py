"""WARC records with missing headers (found by the fuzzer). A ``response`` record without
``WARC-Target-URI`` makes warcio raise ``AttributeError`` inside its record loader: reading the file ends with a
:class:`ConfigError` naming the file, the pages before it are kept, and nothing else escapes."""

from __future__ import annotations

from collections import Counter

import pytest

from marsad.crawl.warc import iter_raw_pages
from marsad.errors import ConfigError

HTML = "<html><body><h1>عنوان</h1><p>نص الخبر</p></body></html>".encode()


def _record(headers: list[str], http: bytes) -> bytes:
    head = "\r\n".join(["WARC/1.0", *headers, f"Content-Length: {len(http)}"]).encode() + b"\r\n\r\n"
    return head + http + b"\r\n\r\n"


HTTP = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + HTML
GOOD = _record(["WARC-Type: response", "WARC-Record-ID: <urn:uuid:1>", "WARC-Date: 2026-01-16T10:00:00Z",
                "WARC-Target-URI: https://news.example/a/123456"], HTTP)


@pytest.mark.parametrize("rec_type", ["response", "request", "revisit"])
def test_record_without_target_uri_is_a_clear_error_after_the_good_pages(tmp_path, rec_type: str) -> None:
    bad = _record([f"WARC-Type: {rec_type}", "WARC-Record-ID: <urn:uuid:2>", "WARC-Date: 2026-01-16T10:01:00Z"],
                  HTTP)
    path = tmp_path / "cut.warc"
    path.write_bytes(GOOD + bad + GOOD)
    counts: Counter = Counter()
    pages = []
    with pytest.raises(ConfigError) as info:
        for page in iter_raw_pages(path, "warc", counts):
            pages.append(page)
    assert str(path) in str(info.value) and "record 2" in str(info.value)
    assert [p.meta.url for p in pages] == ["https://news.example/a/123456"]


def test_record_without_warc_type_is_counted_with_a_reason(tmp_path) -> None:
    """A case the fuzzer found: the reason names what is missing, never ``skipped:None``."""
    untyped = _record(["WARC-Record-ID: <urn:uuid:3>", "WARC-Date: 2026-01-16T10:02:00Z",
                       "WARC-Target-URI: https://news.example/a/654321"], HTTP)
    path = tmp_path / "untyped.warc"
    path.write_bytes(GOOD + untyped)
    counts: Counter = Counter()
    pages = list(iter_raw_pages(path, "warc", counts))
    assert len(pages) == 1
    assert counts["skipped:no-warc-type"] == 1 and "skipped:None" not in counts


@pytest.mark.parametrize("rec_type", ["res\x00ponse", "bogus", "x" * 500])
def test_record_of_an_unknown_warc_type_is_counted_under_one_reason(tmp_path, rec_type: str) -> None:
    """A case the fuzzer found: the record type is not copied into the reason (``skipped:res\\x00ponse``), so
    arbitrary bytes from a file never become count keys."""
    odd = _record([f"WARC-Type: {rec_type}", "WARC-Record-ID: <urn:uuid:4>", "WARC-Date: 2026-01-16T10:03:00Z",
                   "WARC-Target-URI: https://news.example/a/777777"], HTTP)
    path = tmp_path / "odd.warc"
    path.write_bytes(GOOD + odd)
    counts: Counter = Counter()
    assert len(list(iter_raw_pages(path, "warc", counts))) == 1
    assert counts["skipped:unknown-warc-type"] == 1 and set(counts) == {"records", "skipped:unknown-warc-type"}
