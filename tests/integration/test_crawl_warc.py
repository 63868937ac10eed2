"""The WARC archive written while crawling, and `marsad ingest-warc` replaying WARC and ARC files into Kafka."""

from __future__ import annotations

import gzip
import os
from datetime import datetime, timezone
from io import BytesIO

import pytest
from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from marsad.crawl.registry import Source
from marsad.crawl.run import fetch_and_publish
from marsad.crawl.warc import ingest_warc
from marsad.kafka.clients import admin, ensure_topics
from marsad.messages import RawPage
from marsad.settings import Settings, to_env

from .helpers import read_all
from .test_crawl_fetch import fast

PAGE = ("<html><head><title>خبر</title></head><body><article>"
        + "<p>نص عربي عن حاملات الطائرات في البحر المتوسط.</p>" * 10 + "</article></body></html>").encode()


@pytest.fixture
def replay(names: Settings):
    """Settings whose raw-pages topic is a second topic (deleted afterwards)."""
    s = names.model_copy(update={"raw_pages_topic": names.raw_pages_topic + "-replay"})
    ensure_topics(s, [s.raw_pages_topic])
    yield s
    client = admin(s)
    for f in client.delete_topics([s.raw_pages_topic], operation_timeout=30).values():
        f.result()


def _pages(s: Settings, topic: str, n: int) -> dict[str, RawPage]:
    pages = [RawPage.from_kafka(m.value(), m.headers()) for m in read_all(s, topic, n)]
    return {p.meta.canonical_url: p for p in pages}


def test_crawl_writes_warc_that_replays_to_the_same_raw_pages(crawl_site, names, replay):
    s = fast(names, warc_roll_bytes=6000)  # small: the crawl rolls over several files
    urls = [crawl_site.url(p) for p in ("/f/a/1.html", "/f/a/2.html", "/f/redirect/1", "/f/gzip-ok.html",
                                        "/f/cp1256.html", "/f/cf-challenge.html", "/f/404.html")]
    counts = fetch_and_publish(s, Source(name="trap", site=crawl_site.url("/")), urls)
    assert counts["published"] == 5  # a/1 twice: directly and via the redirect (one canonical URL)
    files = sorted(s.warc_path.glob("*.warc.gz"))
    assert len(files) >= 2 and not list(s.warc_path.glob("*.open"))
    assert all(f.name.startswith("marsad-") and f"-{os.getpid()}-" in f.name for f in files)

    types: dict[str, int] = {}
    for f in files:
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh):
                types[rec.rec_type] = types.get(rec.rec_type, 0) + 1
    # robots.txt, 7 URLs, 3 redirect hops: 11 exchanges, each a request and a response record
    assert types["request"] == types["response"] == 11 and types["warcinfo"] == len(files)

    crawled = _pages(s, s.raw_pages_topic, 5)
    result = ingest_warc(replay, files, source="trap")
    assert result["published"] == 5
    assert result["skipped:http-301"] + result["skipped:http-302"] + result["skipped:http-307"] == 3
    assert result["skipped:http-404"] == 1 and result["skipped:not-html"] == 1  # robots.txt
    assert result["skipped:interstitial:challenge"] == 1
    replayed = _pages(replay, replay.raw_pages_topic, 5)
    assert set(replayed) == set(crawled)
    for key, page in replayed.items():
        live = crawled[key]
        assert page.body == live.body  # stored decoded: the gzip page replays as the same bytes
        assert page.meta.via == "warc" and page.meta.source == "trap"
        assert abs((page.meta.fetched_at - live.meta.fetched_at).total_seconds()) < 2  # WARC-Date, seconds
        assert "content-encoding" not in page.meta.headers
        assert page.meta.headers["content-type"] == live.meta.headers["content-type"]


def _arc(records: list[tuple[str, str, bytes]], compress: bool) -> bytes:
    """An ARC v1 file (Internet Archive ARC format, 1996): filedesc header, then one record per (url, date, body)."""
    def member(data: bytes) -> bytes:
        return gzip.compress(data) if compress else data

    desc = b"1 0 Marsad\nURL IP-address Archive-date Content-type Archive-length\n"
    out = [member(b"filedesc://test.arc 0.0.0.0 20240101000000 text/plain %d\n" % len(desc) + desc + b"\n")]
    for url, date, body in records:
        http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
        out.append(member(f"{url} 93.184.216.34 {date} text/html {len(http)}\n".encode() + http + b"\n"))
    return b"".join(out)


def _warc(url: str, date: str, body: bytes, compress: bool) -> bytes:
    buf = BytesIO()
    w = WARCWriter(buf, gzip=compress)
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
    w.write_record(w.create_warc_record(url, "response", payload=BytesIO(body), http_headers=http,
                                        warc_headers_dict={"WARC-Date": date}))
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["warc", "warc.gz", "arc", "arc.gz"])
def test_ingest_warc_cli_reads_warc_and_arc_with_capture_time(names, tmp_path, fmt):
    ensure_topics(names)
    compress = fmt.endswith(".gz")
    if fmt.startswith("arc"):
        data = _arc([("http://news.example.com/a/1.html", "20240102030405", PAGE),
                     ("http://news.example.com/a/2.html", "20240102030406", PAGE.replace(b"\xd8\xae", b"x"))],
                    compress)
    else:
        data = (_warc("http://news.example.com/a/1.html", "2024-01-02T03:04:05Z", PAGE, compress)
                + _warc("http://news.example.com/a/2.html", "2024-01-02T03:04:06Z",
                        PAGE.replace(b"\xd8\xae", b"x"), compress))
    path = tmp_path / f"cc-news.{fmt}"
    path.write_bytes(data)
    from marsad.cli import app

    env = {**to_env(names), "MARSAD_RAW_PAGES_TOPIC": names.raw_pages_topic}
    result = CliRunner().invoke(app, ["ingest-warc", str(path), "--source", "cc-news"], env=env)
    assert result.exit_code == 0, result.output
    assert "pages/s" in result.output and "'published': 2" in result.output
    pages = _pages(names, names.raw_pages_topic, 2)
    one = pages["https://news.example.com/a/1.html"]  # the key is the canonical URL: https for http
    assert one.body == PAGE and one.meta.via == "warc" and one.meta.source == "cc-news"
    assert one.meta.fetched_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_ingest_warc_refuses_a_file_that_is_not_warc(names, tmp_path):
    path = tmp_path / "notes.warc"
    path.write_bytes(b"this is not an archive\n" * 10)
    from marsad.cli import app

    result = CliRunner().invoke(app, ["ingest-warc", str(path)], env=to_env(names))
    assert result.exit_code == 2
    flat = "".join(result.output.split())  # rich wraps long lines
    assert "notareadableWARC/ARCfile" in flat and "notes.warc" in flat
