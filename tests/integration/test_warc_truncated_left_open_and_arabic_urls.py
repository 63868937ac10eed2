"""The WARC archive: a truncated record is skipped (not published as a whole page), a file left .open by a dead process
is recovered, an Arabic URL or header is archived and published. Real HTTP against a local server
(:mod:`tests.integration.routed_site`), real SQLite state, real Kafka where the path publishes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest

from marsad.crawl.archive import WarcArchive
from marsad.crawl.registry import Source
from marsad.crawl.warc import iter_raw_pages

from .routed_site import ARTICLE, ROUTES


# --- truncated WARC ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [True, False])
def test_truncated_warc_record_is_skipped_not_published_as_a_whole_page(tmp_path, gz):
    """A WARC cut short (a crash leaves `.warc.gz.open`; a partial download) gave the truncated payload as if it
    were the whole page: a half article published and indexed. It must be skipped with a reason."""
    import gzip
    import os

    a = WarcArchive(tmp_path / "w", 1 << 30)
    whole = b"<html><body>" + os.urandom(20000).hex().encode() + b"</body></html>"
    a.write(url="http://news.example.com/a-1", fetched_at=datetime.now(timezone.utc),
            request_headers=[("User-Agent", "x")], status=200, reason="OK", http_version="HTTP/1.1",
            response_headers=[("Content-Type", "text/html")], body=ARTICLE)
    a.write(url="http://news.example.com/a-2", fetched_at=datetime.now(timezone.utc),
            request_headers=[("User-Agent", "x")], status=200, reason="OK", http_version="HTTP/1.1",
            response_headers=[("Content-Type", "text/html")], body=whole)
    a.close()
    data = a.files[0].read_bytes()
    if not gz:
        data = gzip.decompress(data)
    cut = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    cut.write_bytes(data[: len(data) - len(data) // 4])
    counts: Counter = Counter()
    pages = list(iter_raw_pages(cut, "warc", counts))
    assert [p.meta.url for p in pages] == ["http://news.example.com/a-1"]
    assert pages[0].body == ARTICLE
    assert counts["skipped:truncated"] == 1


# --- WARC files left .open by a crashed crawl process --------------------------------------------------------
def test_warc_left_open_by_a_dead_process_is_recovered_by_the_next_archive(tmp_path):
    """A crawl task killed mid-run (OOM, SIGKILL) left `marsad-…-<pid>-<n>.warc.gz.open` forever: nothing renamed
    it, so the responses in it never reached whatever collects the closed `.warc.gz` files."""
    import os
    import subprocess
    import sys

    d = tmp_path / "warc"
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(child.stdout)
    a = WarcArchive(d, 1 << 30)
    a.write(url="http://news.example.com/a-1", fetched_at=datetime.now(timezone.utc),
            request_headers=[("User-Agent", "x")], status=200, reason="OK", http_version="HTTP/1.1",
            response_headers=[("Content-Type", "text/html")], body=ARTICLE)
    live_open = a._path.with_name(a._path.name + ".open")  # still being written by this (live) process
    crashed = d / f"marsad-20260101000000-{dead_pid}-0.warc.gz.open"
    crashed.write_bytes(live_open.read_bytes())  # what a killed writer leaves behind
    b = WarcArchive(d, 1 << 30)
    b.write(url="http://news.example.com/a-2", fetched_at=datetime.now(timezone.utc),
            request_headers=[("User-Agent", "x")], status=200, reason="OK", http_version="HTTP/1.1",
            response_headers=[("Content-Type", "text/html")], body=ARTICLE)
    assert not crashed.exists()
    recovered = d / f"marsad-20260101000000-{dead_pid}-0.warc.gz"
    assert recovered.exists() and live_open.exists()  # a live writer's file is left alone
    counts: Counter = Counter()
    assert [p.meta.url for p in iter_raw_pages(recovered, "warc", counts)] == ["http://news.example.com/a-1"]
    a.close()
    b.close()
    assert not list(d.glob("*.open"))
    assert os.path.exists(a.files[0]) and os.path.exists(b.files[0])


# --- an Arabic URL through the WARC archive --------------------------------------------------------------------
def test_arabic_url_is_fetched_archived_and_published(routed_site, names):
    """warcio writes WARC headers as ASCII: a URL with raw Arabic (as feeds and section pages give them), or a
    response header with raw UTF-8 (a Link: <…/خبر>; rel=canonical), raised UnicodeEncodeError in the WARC write,
    out of fetch_and_publish — the whole batch died on every run."""
    from urllib.parse import quote

    from marsad.crawl.run import fetch_and_publish
    from marsad.kafka.clients import ensure_topics

    from .helpers import read_all

    ensure_topics(names)
    path = "/news/خبر-عاجل-عن-الاقتصاد-88888"
    # raw UTF-8 in a response header (httpx decodes it as UTF-8): also not ASCII for warcio
    link = f"<{routed_site}{path}>; rel=canonical".encode().decode("latin-1")  # the wire bytes are UTF-8
    ROUTES[quote(path)] = (200, {"Content-Type": "text/html; charset=utf-8", "Link": link}, ARTICLE)
    url = f"{routed_site}{path}"
    assert names.warc_enabled
    counts = fetch_and_publish(names, Source(name="routedwarc", site=f"{routed_site}/"), [url])
    assert counts["published"] == 1, counts
    [msg] = read_all(names, names.raw_pages_topic, 1)
    warcs = list(names.warc_path.glob("*.warc.gz"))
    pages = [p for w in warcs for p in iter_raw_pages(w, "warc", Counter())]
    assert [p.meta.canonical_url for p in pages] == [msg.key().decode()]
