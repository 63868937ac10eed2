"""Replaying WARC and ARC files (CC-NEWS, our own archive) into the raw-pages topic with warcio.

Reads WARC/1.0, WARC/1.1 and ARC v1 files, gzip-compressed per record (``.warc.gz``, ``.arc.gz``) or not —
warcio's ``ArchiveIterator`` detects both (ARC records are converted to WARC ``response`` records). ``response``
records with an HTTP 200 HTML payload become raw pages with their **original capture time** (``WARC-Date``,
or the ARC record's 14-digit date) as ``fetched_at``; everything else is counted as ``skipped:<reason>``:
``skipped:<record type>`` (``skipped:no-warc-type`` without one, ``skipped:unknown-warc-type`` for a type WARC/1.1 does
not define), ``skipped:http-<status>``, ``skipped:not-html``,
``skipped:too-large`` (payload over ``settings.max_page_bytes``, read with a bounded read so a compressed payload
is never fully inflated), ``skipped:interstitial:<kind>`` (same rules as the live fetcher), ``skipped:bad-record``
(no target URI, status or date), ``skipped:truncated`` (the file ends inside the record: a partial payload is never
published). A record warcio cannot parse (a ``response`` without ``WARC-Target-URI``) ends the file with a
:class:`~marsad.errors.ConfigError` naming it; the pages before it were already yielded.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.limitreader import LimitReader

from marsad.crawl import interstitial
from marsad.crawl.fetch import HTML_TYPES
from marsad.crawl.publish import RawPagePublisher
from marsad.dedup.urls import canonical_url
from marsad.errors import ConfigError
from marsad.messages import RawPage, RawPageMeta
from marsad.settings import Settings

WARC_TYPES = frozenset({"warcinfo", "request", "metadata", "resource", "revisit", "conversion", "continuation"})
"""Record types of WARC/1.1 (ISO 28500:2017 §6.3) other than ``response``, counted as ``skipped:<type>``; any other
value is ``skipped:unknown-warc-type`` (the file's bytes never become count keys)."""


def _capture_time(value: str | None) -> datetime | None:
    """``WARC-Date`` (ISO 8601, ``Z``; WARC/1.1 may carry fractions) or an ARC ``yyyyMMddHHmmss`` as aware UTC."""
    if not value:
        return None
    value = value.strip()
    try:
        if value.isdigit() and len(value) >= 14:
            return datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def iter_raw_pages(path: Path, source: str, counts: Counter, max_bytes: int = 5 * 1024 * 1024) -> Iterator[RawPage]:
    """Yield :class:`RawPage` for each usable ``response`` record of the WARC/ARC file at ``path``.

    ``counts`` receives ``records`` (yielded) and ``skipped:<reason>``. Raises :class:`ConfigError` naming the
    file when it is not a readable WARC/ARC file.
    """
    _check_format(path)
    with open(path, "rb") as fh:
        records = iter(ArchiveIterator(fh, arc2warc=True))
        n = 0
        while True:
            try:  # only warcio's own parsing in here: our code below raises as it is
                rec = next(records)
            except StopIteration:
                return
            except ArchiveLoadFailed as exc:
                raise ConfigError(f"{path}: not a readable WARC/ARC file: {exc}") from exc
            except AttributeError as exc:
                # warcio 1.7 reads the HTTP headers of a response/request record with uri=None when the record has
                # no WARC-Target-URI, and fails on None.startswith (found by tests/unit/test_fuzz_*): the stream
                # cannot be resynchronised after it
                raise ConfigError(f"{path}: not a readable WARC/ARC file: record {n + 1} cannot be parsed "
                                  f"(no WARC-Target-URI?): {exc}") from exc
            n += 1
            page = _to_raw_page(rec, source, counts, max_bytes)
            if page is not None:
                counts["records"] += 1
                yield page


def _check_format(path: Path) -> None:
    """Refuse a file that does not start like WARC (``WARC/``) or ARC (``filedesc://``), gzip or not: warcio
    reads any text leniently as ARC records, which would turn a wrong file into silent ``bad-record`` skips."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
        except zlib.error as exc:
            raise ConfigError(f"{path}: not a readable WARC/ARC file: bad gzip data ({exc})") from exc
    if not (head.startswith(b"WARC/") or head.startswith(b"filedesc://")):
        raise ConfigError(f"{path}: not a readable WARC/ARC file: starts with {head[:20]!r}, expected "
                          f"'WARC/' or 'filedesc://'")


def _to_raw_page(rec, source: str, counts: Counter, max_bytes: int) -> RawPage | None:
    if rec.rec_type != "response":
        kind = rec.rec_type if rec.rec_type in WARC_TYPES else "unknown-warc-type" if rec.rec_type else "no-warc-type"
        counts[f"skipped:{kind}"] += 1
        return None
    url = rec.rec_headers.get_header("WARC-Target-URI")
    fetched_at = _capture_time(rec.rec_headers.get_header("WARC-Date"))
    if not url or not url.startswith(("http://", "https://")) or fetched_at is None or rec.http_headers is None:
        counts["skipped:bad-record"] += 1
        return None
    try:
        status = int(rec.http_headers.get_statuscode() or 0)
    except ValueError:  # a status line warcio kept but that has no numeric code ("HTTP/1.1 OK")
        counts["skipped:bad-record"] += 1
        return None
    headers = {k.lower(): v for k, v in rec.http_headers.headers}
    body = rec.content_stream().read(max_bytes + 1)  # bounded: a gzip payload inflates at most this much
    if len(body) > max_bytes:
        counts["skipped:too-large"] += 1
        return None
    if _truncated(rec):
        counts["skipped:truncated"] += 1
        return None
    rule = interstitial.detect(status, headers, url, body)
    if rule is not None:
        counts[f"skipped:interstitial:{rule.kind}"] += 1
        return None
    if status != 200:
        counts[f"skipped:http-{status}"] += 1
        return None
    ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype and ctype not in HTML_TYPES:
        counts["skipped:not-html"] += 1
        return None
    try:
        canon = canonical_url(url)
    except ValueError:
        counts["skipped:bad-record"] += 1
        return None
    meta = RawPageMeta(url=url, final_url=url, canonical_url=canon, status=status, headers=headers,
                       fetched_at=fetched_at, source=source, via="warc", content_length=len(body))
    return RawPage(meta=meta, body=body)


def _truncated(rec) -> bool:
    """True when the file ended before the record's declared ``Content-Length``: a WARC cut short (a crawl
    process killed with its ``.warc.gz.open`` file, a partial download) would otherwise give a partial payload as
    if it were the whole page. warcio bounds the record with a :class:`LimitReader`; what the payload read left
    of it is drained here, and a stream that ends while bytes are still owed is a truncated record."""
    raw = rec.raw_stream
    if not isinstance(raw, LimitReader):
        return False
    while raw.limit > 0:
        if not raw.read(min(raw.limit, 65536)):
            return True
    return False


def ingest_warc(settings: Settings, paths: list[Path], source: str = "warc",
                on_page: Callable[[int], None] | None = None) -> dict[str, int]:
    """Publish every usable response record of ``paths``; returns counts (``records``, ``published``,
    ``skipped:*``). ``on_page(body_bytes)`` is called per published page (the CLI's progress bar).
    Raises :class:`ConfigError` for an unreadable file (every file's format is checked before Kafka is reached; a
    file that turns unreadable further in stops there, the pages before it published),
    :class:`~marsad.errors.TransientError` when Kafka did not acknowledge every page (pages already queued are
    flushed first)."""
    counts: Counter = Counter()
    for path in paths:  # every file before Kafka: a wrong file is refused without creating topics or publishing
        _check_format(Path(path))
    publisher = RawPagePublisher(settings)
    try:
        for path in paths:
            for page in iter_raw_pages(Path(path), source, counts, settings.max_page_bytes):
                publisher.publish(page)
                if on_page:
                    on_page(len(page.body))
    finally:
        counts.update(publisher.close())
    return dict(counts)
