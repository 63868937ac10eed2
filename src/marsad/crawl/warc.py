"""Replaying WARC files (CC-NEWS, our own archive) into the raw-pages topic with warcio.

``response`` records with an HTTP 200 HTML payload become raw pages with their original capture time
(``WARC-Date``) as ``fetched_at``; everything else is counted as skipped with its reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from marsad.crawl.publish import RawPagePublisher
from marsad.dedup.urls import canonical_url
from marsad.messages import RawPage, RawPageMeta
from marsad.settings import Settings


def iter_raw_pages(path: Path, source: str, counts: Counter):
    """Yield :class:`RawPage` for each usable ``response`` record of the WARC/ARC file at ``path``."""
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, arc2warc=True):
            if rec.rec_type != "response":
                counts[f"skipped:{rec.rec_type}"] += 1
                continue
            url = rec.rec_headers.get_header("WARC-Target-URI")
            status = int(rec.http_headers.get_statuscode() or 0) if rec.http_headers else 0
            if status != 200:
                counts[f"skipped:http-{status}"] += 1
                continue
            headers = {k.lower(): v for k, v in rec.http_headers.headers}
            ctype = headers.get("content-type", "").lower()
            if ctype and "html" not in ctype:
                counts["skipped:not-html"] += 1
                continue
            body = rec.content_stream().read()
            date = rec.rec_headers.get_header("WARC-Date")
            meta = RawPageMeta(
                url=url, final_url=url, canonical_url=canonical_url(url), status=status, headers=headers,
                fetched_at=datetime.fromisoformat(date.replace("Z", "+00:00")), source=source, via="warc",
                content_length=len(body),
            )
            counts["records"] += 1
            yield RawPage(meta=meta, body=body)


def ingest_warc(settings: Settings, paths: list[Path], source: str = "warc",
                on_page: Callable[[int], None] | None = None) -> dict[str, int]:
    """Publish every usable response record of ``paths``; returns counts (``published``, ``skipped:*``)."""
    counts: Counter = Counter()
    publisher = RawPagePublisher(settings)
    for path in paths:
        for page in iter_raw_pages(Path(path), source, counts):
            publisher.publish(page)
            if on_page:
                on_page(len(page.body))
    counts.update(publisher.close())
    return dict(counts)
