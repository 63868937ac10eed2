"""Fuzzing the input side of Marsad with mutated real corpus inputs.

Targets (each takes bytes and returns a typed outcome ``(kind, reason)``; any other exception escapes and is a bug):

* ``decode`` — :func:`marsad.extract.decode.decode_html` with a mutated body and a ``Content-Type`` drawn from
  :data:`CONTENT_TYPES` (broken, bytes-to-bytes and absurd charset names). Outcome ``decoded:<encoding>``.
* ``extract`` — the extract stage on a raw-pages record (:class:`marsad.extract.stage.ExtractStage`, the code path
  of the consumer including its per-page time limit): ``article``, ``discard:<reason>`` or ``error:<reason>``
  (:class:`~marsad.errors.PermanentError`, i.e. the dead-letter topic).
* ``feed`` / ``section`` — :func:`marsad.crawl.discover.feed_links` / :func:`~marsad.crawl.discover.section_links`:
  ``links`` or ``empty:<count keys>`` (the reasons discovery counts: ``unreadable``, ``xml-entities``, ...).
* ``sitemap`` — the discovery pass's sitemap step (``_Pass.sitemap``) with its fetch replaced by the mutated bytes
  (everything after the fetch is the real code): ``links`` or ``empty:<count keys>``.
* ``warc`` — :func:`marsad.crawl.warc.iter_raw_pages` over the mutated file: ``pages`` / ``skipped:<reasons>`` or
  ``refused`` (:class:`~marsad.errors.ConfigError` naming the file).

Seeds are real corpus files read at run time from ``Settings().corpus_dir`` (never copied into the repository);
mutations (:func:`mutated`) are hypothesis strategies: byte flips, inserts of "interesting" tokens (charset
declarations, BOMs, entity declarations, deep nesting, NULs, bidi marks, Eastern digits), deletions, repeats of a
slice (bounded), truncation and splices of two seeds. Inputs are capped at :data:`MAX_INPUT_BYTES`.

Needs ``hypothesis`` (the ``dev`` extra). Used by ``tests/unit/test_fuzz_mutated_corpus_inputs.py`` (a small
derandomized sample) and ``benchmarks/fuzz/run.py`` (10,000 cases, figures in ``docs/fuzz.md``).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import re
import tempfile
from collections import Counter
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from marsad.settings import Settings

MAX_INPUT_BYTES = 2 * 1024 * 1024
"""Cap on one mutated input (bytes): the repeat mutation cannot grow an input without bound."""

TARGETS = ("decode", "extract", "feed", "section", "sitemap", "warc")

CONTENT_TYPES = (
    None, "text/html", "text/html; charset=utf-8", "text/html; charset=windows-1256", "text/html; charset=windows1256",
    "text/html; charset=cp-1256", "text/html; charset=x-cp1256", "text/html; charset=ISO-8859-6-I",
    "text/html; charset=iso-8859-6", "text/html; charset=hex", "text/html; charset=base64", "text/html; charset=rot13",
    "text/html; charset=zlib", "text/html; charset=cp037", "text/html; charset=utf-16", "text/html; charset=utf-32",
    "text/html; charset=\"\"", "text/html; charset=" + "x" * 300, "text/html; charset=utf-8; charset=latin-1",
    "application/rss+xml", "application/xml; charset=windows-1256", "text/xml; charset=bogus",
)
"""``Content-Type`` headers from bug reports of news crawlers: broken and absurd charset names."""

TOKENS = (
    b'<meta charset="windows-1256">', b'<meta charset="hex">', b'<meta charset="base64">', b'<meta charset="zlib">',
    b'<meta charset="cp037">', b'<meta http-equiv="Content-Type" content="text/html; charset=x-cp1256">',
    b'<?xml version="1.0" encoding="windows1256"?>', b'<?xml version="1.0" encoding="ISO-8859-6-I"?>',
    b'<?xml version="1.0" encoding="rot13"?>', b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00", b"\x00" * 64,
    b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>', b"&b;&b;&b;", b"<![CDATA[", b"]]>",
    b"<div>" * 2000, b"</div>" * 50, b"<table><tr><td>" * 300, b"<h1>", b"</h1>", b"<p>", b"</p>", b"<a href=\"",
    b'<a href="javascript:alert(1)">x</a>', b'<a href="http://[::1/x">x</a>', b'<base href="//evil.example/">',
    b'<link rel="canonical" href="/">', b'<script type="application/ld+json">{"datePublished": "',
    b'"}</script>', b'<time datetime="2026-13-45T99:99">', b"\xd8\xa7\xd9\x84\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\xd8\xa9",
    "١٥ كانون ٢ ٢٠٢٤ الساعة ١٠:٣٠".encode(), "\u202b\u200f\u061c".encode(), b"\xc0\xaf\xe0\x80\xaf\xed\xa0\x80",
    b"\xe4\xf3\xe1\xc7\xe3", b"<loc>", b"</loc>", b"<url><loc>http://x.example/a/123456</loc></url>",
    b"<sitemap><loc>http://x.example/s.xml</loc></sitemap>", b"<lastmod>0000-00-00</lastmod>", b"<item><link>",
    b"</link></item>", b"<entry><link href=\"", b"WARC/1.1\r\n", b"Content-Length: 999999999\r\n",
    b"Content-Length: -1\r\n", b"WARC-Date: 2026-99-99T00:00:00Z\r\n", b"WARC-Target-URI: ftp://x/\r\n",
    b"HTTP/1.1 200\r\n", b"HTTP/1.1 OK\r\n", b"Content-Encoding: gzip\r\n", b"Transfer-Encoding: chunked\r\n",
    b"\r\n\r\n", b"9" * 400,
)
"""Byte strings that reach unusual code paths when spliced into a page, feed, sitemap or WARC record."""

_SEEDS = {
    "html": ["fundus/LBCGroup_2026_01_08.html", "htmldate/1550981615.html", "htmldate/1623715966.html",
             "htmldate/1691196862.html", "htmldate/1731695567.html", "fetch_util/skynewsarabia_article.html",
             "fetch_util/almasryalyoum_article.html", "chardet/_chromium_windows-1256_with_no_encoding_specified.html",
             "chardet/_chromium_ISO-8859-6_with_no_encoding_specified.html", "trafilatura/assabah.com.tn.article.html",
             "newspaper4k/arabic_article.html", "derived/republished/youm7-4943459.aggregator-full.html"],
    "feed": ["derived/feeds/alarabiya.2018-02-24.rss.xml", "derived/feeds/bbc-arabic.2018-02-24.rss.xml",
             "derived/feeds/cnn-arabic.2018-02-24.rss.xml", "derived/feeds/skynewsarabia.2018-02-24.rss.xml"],
    "sitemap": ["derived/feeds/alarabiya.2018-02-24.news-sitemap.xml",
                "derived/feeds/bbc-arabic.2018-02-24.news-sitemap.xml",
                "derived/feeds/cnn-arabic.2018-02-24.news-sitemap.xml",
                "derived/feeds/skynewsarabia.2018-02-24.news-sitemap.xml"],
}
_SEED_KIND = {"decode": "html", "extract": "html", "section": "html", "feed": "feed", "sitemap": "sitemap",
              "warc": "warc"}
WARC_SEED = "derived/warc/arabic-news-pages.warc.gz"


@cache
def seeds(kind: str, corpus: Path | None = None) -> tuple[bytes, ...]:
    """Seed inputs of ``kind`` (``html``, ``feed``, ``sitemap``, ``warc``) read from the corpus; files absent from
    this corpus copy are left out. ``warc`` seeds are the corpus WARC uncompressed, cut into a few record groups."""
    root = corpus or Settings().corpus_dir
    if kind == "warc":
        path = root / WARC_SEED
        if not path.is_file():
            return ()
        raw = gzip.decompress(path.read_bytes())
        starts = [i for i in range(len(raw)) if raw.startswith(b"WARC/1.", i) and (i == 0 or raw[i - 1:i] == b"\n")]
        groups = [raw[starts[i]:starts[min(i + 3, len(starts))] if i + 3 < len(starts) else len(raw)]
                  for i in range(0, len(starts), 3)]
        return tuple(g for g in groups if g)
    out = []
    for rel in _SEEDS[kind]:
        p = root / rel
        if p.is_file():
            out.append(p.read_bytes()[:MAX_INPUT_BYTES])
    return tuple(out)


@st.composite
def mutated(draw, target: str) -> bytes:
    """One mutated input for ``target``: a corpus seed with 1–6 mutations (see module docstring)."""
    pool = seeds(_SEED_KIND[target])
    if not pool:
        raise RuntimeError(f"no corpus seeds for {target} under {Settings().corpus_dir}")
    data = bytearray(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(("flip", "token", "delete", "repeat", "truncate", "splice", "random")))
        n = len(data)
        at = draw(st.integers(0, n)) if n else 0
        if op == "flip" and n:
            i = min(at, n - 1)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "token":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "delete" and n:
            data[at:at + draw(st.integers(1, 4096))] = b""
        elif op == "repeat" and n:
            chunk = bytes(data[at:at + draw(st.integers(1, 2048))])
            data[at:at] = chunk * draw(st.integers(1, 200))
        elif op == "truncate":
            del data[at:]
        elif op == "splice":
            other = draw(st.sampled_from(pool))
            cut = draw(st.integers(0, len(other)))
            data[at:] = other[cut:]
        elif op == "random":
            data[at:at] = draw(st.binary(min_size=1, max_size=512))
        del data[MAX_INPUT_BYTES:]
    if target == "warc" and draw(st.booleans()):
        # gzip per record, as .warc.gz files are (a whole-file gzip is refused by warcio: "non-chunked gzip")
        raw = bytes(data)
        cuts = [0, *(i for i in range(1, len(raw)) if raw.startswith(b"WARC/1.", i)), len(raw)]
        return b"".join(gzip.compress(raw[a:b], compresslevel=1) for a, b in zip(cuts, cuts[1:]) if b > a)
    return bytes(data)


# --- targets ---------------------------------------------------------------------------------------------------

FEED_URL = "https://www.example-news.com/rss.xml"
PAGE_URL = "https://www.example-news.com/news/2026/01/16/story-123456"
FETCHED_AT = datetime(2026, 1, 16, 12, 0, tzinfo=timezone.utc)


def run_decode(body: bytes, content_type: str | None) -> str:
    from marsad.errors import Discard, PermanentError
    from marsad.extract.decode import decode_html

    try:
        text, encoding = decode_html(body, content_type)
    except (Discard, PermanentError) as exc:  # e.g. ``undecodable`` (mojibake by construction)
        return f"error:{exc.reason}"
    if not isinstance(text, str) or not encoding:
        raise AssertionError(f"decode_html returned {type(text).__name__}, {encoding!r}")
    return f"decoded:{encoding}"


def run_extract(body: bytes, content_type: str | None, settings: Settings) -> str:
    from marsad.errors import Discard, PermanentError
    from marsad.extract.stage import ExtractStage
    from marsad.messages import RawPage, RawPageMeta
    from marsad.stage import Record

    meta = RawPageMeta(url=PAGE_URL, final_url=PAGE_URL, canonical_url=PAGE_URL, status=200,
                       headers={"content-type": content_type} if content_type else {}, fetched_at=FETCHED_AT,
                       source="fuzz", via="fuzz", content_length=len(body))
    key, value, headers = RawPage(meta=meta, body=body).to_kafka()
    rec = Record(topic=settings.raw_pages_topic, partition=0, offset=0, key=key, value=value, headers=headers,
                 timestamp_ms=0)
    try:
        outputs = ExtractStage(settings)._one(rec)
    except Discard as d:
        return f"discard:{d.reason}"
    except PermanentError as e:
        return f"error:{e.reason}"
    if len(outputs) != 1:
        raise AssertionError(f"{len(outputs)} outputs")
    return "article"


def _links_outcome(links: list[str], counts: Counter) -> str:
    for link in links:
        if not isinstance(link, str) or not link.startswith(("http://", "https://")):
            raise AssertionError(f"bad link {link!r}")
    if links:
        return "links"
    reasons = sorted(k for k in counts if k not in ("items", "polled", "changed"))
    return "empty:" + (",".join(reasons) or "no-items")


def run_feed(body: bytes, content_type: str | None) -> str:
    from marsad.crawl.discover import feed_links

    counts: Counter = Counter()
    return _links_outcome(feed_links(body, FEED_URL, counts, content_type), counts)


def run_section(body: bytes, content_type: str | None) -> str:
    from marsad.crawl.discover import section_links

    counts: Counter = Counter()
    return _links_outcome(section_links(body, PAGE_URL, "https://www.example-news.com/", counts, content_type),
                          counts)


_FIRST_LOC = re.compile(rb"<loc>\s*(https?://[A-Za-z0-9.-]+)")


class SitemapPass:
    """The discovery pass's sitemap step over given bytes: ``_Pass`` with its ``poll`` (the HTTP fetch) answering
    the sitemap URL with the mutated body and every other URL (children of an index) with nothing."""

    URL = "https://www.example-news.com/sitemap.xml"

    def __init__(self, state_dir: Path) -> None:
        from marsad.crawl.discover import _Pass
        from marsad.crawl.registry import Source

        settings = Settings(crawl_state_dir=state_dir, state_dir=state_dir)
        source = Source(name="fuzz", site="https://www.example-news.com/", sitemaps=[self.URL], language="ar",
                        timezone="Asia/Beirut", schedule="*/30 * * * *", enabled=True)
        body_box: list[bytes] = [b""]

        class _Fed(_Pass):
            def poll(self, url, kind):  # noqa: ANN001 - the fetch, replaced; the parsing after it is real
                return (body_box[0], lambda: None, url) if url == SitemapPass.URL else None

        self._pass = _Fed(settings, source, datetime(2018, 2, 25, tzinfo=timezone.utc))
        self._body = body_box

    def run(self, body: bytes) -> str:
        """Outcome of one sitemap body, served from the site its first ``<loc>`` names (the corpus sitemaps are
        from four news sites; a sitemap's entries must be on its own site)."""
        from marsad.crawl.registry import Source

        p = self._pass
        self._body[0] = body
        m = _FIRST_LOC.search(body)
        site = m.group(1).decode("ascii") + "/" if m else "https://www.example-news.com/"
        p.source = Source(name="fuzz", site=site, sitemaps=[self.URL], language="ar", timezone="Asia/Beirut",
                          schedule="*/30 * * * *", enabled=True)
        p.visited, p.links, p.counts, p.pending_records = set(), [], Counter(), []
        p.sitemap(self.URL)
        return _links_outcome(p.links, p.counts)

    def close(self) -> None:
        self._pass.close()


def run_warc(body: bytes, work_dir: Path) -> str:
    from marsad.crawl.warc import iter_raw_pages
    from marsad.errors import ConfigError

    counts: Counter = Counter()
    with tempfile.NamedTemporaryFile(dir=work_dir, suffix=".warc") as fh:
        fh.write(body)
        fh.flush()
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # warcio prints a warning per odd record
                pages = list(iter_raw_pages(Path(fh.name), "fuzz", counts))
        except ConfigError as exc:
            if str(exc).count(fh.name) != 1:
                raise AssertionError(f"ConfigError without the file name: {exc}") from exc
            return "refused"
    if pages:
        return "pages"
    return "empty:" + (",".join(sorted(counts)) or "no-records")


class Harness:
    """All targets with their shared state (settings, a sitemap pass, a scratch directory); ``close()`` after."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.settings = Settings(crawl_state_dir=work_dir / "crawl", state_dir=work_dir)
        self.sitemaps = SitemapPass(work_dir / "sitemap")

    def run(self, target: str, body: bytes, content_type: str | None) -> str:
        """The typed outcome of ``target`` on ``body``; any other exception propagates (a bug)."""
        if target == "decode":
            return run_decode(body, content_type)
        if target == "extract":
            return run_extract(body, content_type, self.settings)
        if target == "feed":
            return run_feed(body, content_type)
        if target == "section":
            return run_section(body, content_type)
        if target == "sitemap":
            return self.sitemaps.run(body)
        if target == "warc":
            return run_warc(body, self.work_dir)
        raise ValueError(f"unknown target {target!r}")

    def close(self) -> None:
        self.sitemaps.close()
