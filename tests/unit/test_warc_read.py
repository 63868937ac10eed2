"""Reading real WARC files without Kafka: the corpus's CC-NEWS-style file and an archive we write ourselves."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest
from warcio.archiveiterator import ArchiveIterator

from marsad.crawl.archive import WarcArchive
from marsad.crawl.warc import iter_raw_pages
from marsad.errors import ConfigError
from tests.conftest import CORPUS

WARC = CORPUS / "derived" / "warc" / "arabic-news-pages.warc.gz"


@pytest.mark.skipif(not WARC.exists(), reason="shared corpus absent")
def test_corpus_warc_pages_keep_their_capture_time():
    counts: Counter = Counter()
    pages = list(iter_raw_pages(WARC, "cc-news", counts))
    assert len(pages) == counts["records"] == 13 and counts["skipped:warcinfo"] == 1
    with open(WARC, "rb") as fh:
        dates = [r.rec_headers.get_header("WARC-Date") for r in ArchiveIterator(fh) if r.rec_type == "response"]
    assert [p.meta.fetched_at for p in pages] == [datetime.fromisoformat(d.replace("Z", "+00:00")) for d in dates]
    assert all(p.meta.via == "warc" and p.body.lstrip()[:1] == b"<" for p in pages)


def test_archive_rolls_by_size_and_renames_closed_files(tmp_path):
    arch = WarcArchive(tmp_path, roll_bytes=3000)
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    for i in range(6):
        arch.write(url=f"http://x.test/{i}", fetched_at=when, request_headers=[("User-Agent", "MarsadBot/0.1")],
                   status=200, reason="OK", http_version="HTTP/1.1",
                   response_headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                                     ("Content-Length", "12")],
                   body=b"<p>" + bytes([65 + i]) * 2000 + b"</p>")
    assert list(tmp_path.glob("*.open"))  # the last file is still being written
    arch.close()
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) >= 2 and not list(tmp_path.glob("*.open")) and files == sorted(arch.files)
    counts: Counter = Counter()
    pages = [p for f in files for p in iter_raw_pages(f, "own", counts)]
    assert [p.meta.url for p in pages] == [f"http://x.test/{i}" for i in range(6)]
    assert pages[0].meta.fetched_at == when.replace(microsecond=0)  # WARC/1.0 dates have second precision
    h = pages[0].meta.headers
    assert h["x-crawler-content-encoding"] == "gzip" and "content-encoding" not in h
    assert h["content-length"] == str(len(pages[0].body))


def test_a_file_that_is_not_an_archive_is_refused(tmp_path):
    bad = tmp_path / "x.warc.gz"
    bad.write_bytes(b"\x1f\x8bnot gzip at all")
    with pytest.raises(ConfigError, match="x.warc.gz"):
        list(iter_raw_pages(bad, "x", Counter()))


def test_a_response_record_with_an_unparseable_status_is_skipped_not_fatal(tmp_path):
    """`int("OK")` raised ValueError out of ingest-warc: one odd record stopped the whole file (and the files after
    it) with a traceback."""
    from collections import Counter
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from marsad.crawl.warc import iter_raw_pages

    path = tmp_path / "odd.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for url, status in (("http://x.example/a-123456", "OK"), ("http://x.example/b-123456", "200 OK")):
            http = StatusAndHeaders(status, [("Content-Type", "text/html")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=BytesIO(b"<html>x</html>"),
                                                http_headers=http))
    counts: Counter = Counter()
    assert [p.meta.url for p in iter_raw_pages(path, "w", counts)] == ["http://x.example/b-123456"]
    assert counts["skipped:bad-record"] == 1
