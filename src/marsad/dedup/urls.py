"""Canonical URLs: one function used everywhere a URL is a key (Kafka key, ES ``_id``, seen-URL state).

Rules (RFC 3986 §6 normalisation plus common news-crawler practice):

* ``http`` and ``https`` give one key (``https``): news sites serve one article under both, and a page linked
  as ``http://`` in an old feed must not become a second story (Common Crawl's SURT keys drop the scheme for the
  same reason); the default port is dropped for the scheme the URL was given with;
* scheme and host lower-cased, default ports (80/443) dropped; a host's trailing root dot dropped
  (``example.com.`` is the fully qualified spelling of ``example.com``, RFC 1034 §3.1); an internationalised host
  in its ASCII (punycode) form (IDNA 2008 with UTS #46 mapping, the ``idna`` library), so a feed's
  ``مثال.إختبار`` and a page's ``xn--mgbh0fb.xn--kgbechtv`` give one key; a host IDNA refuses (``ex_ample.com``)
  is kept as given in lower case;
* percent-encoding normalised: unreserved characters decoded, everything else re-encoded with upper-case hex,
  so ``%d8%a7``, ``%D8%A7`` and the raw Arabic slug give one key;
* fragment dropped; tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``mc_cid``, ``mc_eid``, ``ocid``,
  ``ref``, ``cmpid``) dropped; remaining query parameters sorted;
* an empty path becomes ``/``; a trailing slash on any other path is dropped (``/news/1/`` = ``/news/1``);
* mobile and AMP variants give the desktop key: the host prefixes ``www.``, ``m.``, ``mobile.``, ``amp.`` are
  dropped (as in the SURT form used by Heritrix and Common Crawl's index, which also drops ``www``); a final
  ``/amp`` segment, a leading ``/amp/`` segment and the ``amp`` / ``outputType=amp`` query parameters are dropped
  (Google AMP URL conventions, observed on Arabic news sites such as skynewsarabia.com and youm7.com).

Raises :class:`ValueError` for a URL without scheme or host.

:func:`looks_like_article` tells article URLs from listing, utility and media URLs (section-page links and
the sanity of a page's ``rel=canonical``).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, quote, unquote, unquote_to_bytes, urlsplit, urlunsplit

import idna

_TRACKING_PREFIXES = ("utm_",)
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_AMP_PARAMS = {"amp"}
_TRACKING = {"fbclid", "gclid", "dclid", "mc_cid", "mc_eid", "ocid", "ref", "cmpid", "igshid", "_ga"}
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/:@!$'()*+,;-._~?"
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def _normalise_component(raw: str, safe: str) -> str:
    """Decode percent-escapes to bytes, then re-encode: UTF-8 text is encoded once with upper-case hex.

    Bytes that are not valid UTF-8 (e.g. a windows-1256 slug ``%C7%E1``) are kept as their own escapes instead of
    being replaced by U+FFFD, so two different legacy-encoded URLs never collapse into one key.
    """
    data = unquote_to_bytes(raw)
    try:
        return quote(data.decode("utf-8"), safe=safe)
    except UnicodeDecodeError:
        return quote(data, safe=safe)


def _split_query(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((_normalise_component(k.replace("+", " "), _QUERY_SAFE.replace("=", "")),
                      _normalise_component(v.replace("+", " "), _QUERY_SAFE)))
    return pairs


def _ascii_host(host: str) -> str:
    """``host`` in IDNA ASCII form; an IP literal or a name IDNA refuses is returned unchanged."""
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return host


def canonical_url(url: str) -> str:
    """Return the canonical form of ``url`` (see module docstring)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url!r}")
    given_scheme = parts.scheme.lower()
    host = _ascii_host((parts.hostname or "").lower().rstrip("."))
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
            break
    if ":" in host:  # IPv6 literal: keep the brackets (RFC 3986 §3.2.2)
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (given_scheme, port) in {("http", 80), ("https", 443)} else f"{host}:{port}"
    scheme = "https" if given_scheme == "http" else given_scheme
    path = _normalise_component(parts.path, _PATH_SAFE) or "/"
    if path.lower().endswith("/amp") or path.lower().endswith("/amp/"):
        path = path[: path.lower().rindex("/amp")] or "/"
    if path.lower().startswith("/amp/"):
        path = path[4:]
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query_pairs = [
        (k, v)
        for k, v in _split_query(parts.query)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING
        and k.lower() not in _AMP_PARAMS and not (k.lower() == "outputtype" and v.lower() == "amp")
    ]
    query = "&".join(f"{k}={v}" for k, v in sorted(query_pairs))
    return urlunsplit((scheme, netloc, path, query, ""))


# --- is this URL an article? (section-page links, rel=canonical sanity) ----------------------------------------

NON_ARTICLE_SEGMENTS = frozenset({
    "tag", "tags", "category", "categories", "cat", "author", "authors", "writer", "writers", "topic", "topics",
    "section", "sections", "page", "pages", "search", "login", "signin", "register", "subscribe", "account",
    "about", "about-us", "contact", "contact-us", "privacy", "privacy-policy", "terms", "rss", "feed", "feeds",
    "sitemap", "video", "videos", "photo", "photos", "gallery", "galleries", "media", "multimedia", "live",
    "podcast", "podcasts", "newsletter", "static", "assets", "images", "img", "wp-content", "wp-admin", "cdn-cgi",
    "archive", "archives", "programs", "program", "shows", "weather",
})
"""Path segments of listing/utility pages on news sites (tag, category, author, page-N, media…), observed on the
sites of ``sources.yaml`` and the corpus; any of them in a link's path means "not an article"."""

MEDIA_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".pdf", ".mp3", ".mp4", ".m3u8", ".webm", ".zip",
    ".rar", ".doc", ".docx", ".xls", ".xlsx", ".xml", ".rss", ".json", ".css", ".js", ".woff", ".woff2",
})

_DIGIT_RUN = re.compile(r"\d{5,}")
_DATE_PATH = re.compile(r"/(19|20)\d\d/\d{1,2}/\d{1,2}/[^/]+")
_WORD_SPLIT = re.compile(r"[-_+\s]+")
_PAGINATION_KEYS = frozenset({"page", "paged", "pg", "start", "offset"})
"""Query keys of listing pagination (WordPress: ``paged``; its ``?p=<id>`` is a post id, i.e. an article)."""


def looks_like_article(url: str) -> bool:
    """Heuristic: does the absolute ``url`` look like an article page rather than a listing or media file?

    Not an article: no path (home page); a path segment in :data:`NON_ARTICLE_SEGMENTS`, with or without a file
    suffix (``/category.php?id=12345``, ``/Section.aspx?SectionID=123456``, older Arabic CMSs); a media suffix
    (:data:`MEDIA_SUFFIXES`); a pagination query (``?page=2``) or a last segment of 1–3 digits (``/news/2``).
    An article: a digit run of 5+ in the path or a query value (``/article/4081716``, ``ArticleID=230879``,
    ``article_978746.html``, WordPress ``/?p=551876``); a ``/YYYY/M/D/<slug>`` date path; a last segment with
    3+ words (``-``/``_`` separated) or 25+ characters after percent-decoding (Arabic slugs); or an id of 6+
    characters mixing letters and digits or upper and lower case (``/articles/c4nn1z7d2q2o``, ``sabq.org/ytDgde``).
    Checked against the article URLs of the corpus (saudinewsnet 2015, Media Cloud samples): see
    ``tests/unit/test_discover.py``.
    """
    parts = urlsplit(url)
    path = unquote(parts.path)
    segments = [s for s in path.lower().split("/") if s]
    query = parse_qsl(parts.query)
    if not segments:  # the home page, unless the query names a post (WordPress ``/?p=551876``)
        return any(k.lower() == "p" and _DIGIT_RUN.fullmatch(v) for k, v in query)
    if any(s in NON_ARTICLE_SEGMENTS or PurePosixPath(s).stem in NON_ARTICLE_SEGMENTS for s in segments):
        return False
    if PurePosixPath(segments[-1]).suffix in MEDIA_SUFFIXES:
        return False
    if any(k.lower() in _PAGINATION_KEYS for k, _ in query):
        return False
    last = PurePosixPath(segments[-1]).stem
    if last.isdigit() and len(last) <= 3:
        return False
    if _DIGIT_RUN.search(path) or any(_DIGIT_RUN.fullmatch(v) for _, v in query):
        return True
    if _DATE_PATH.search(path):
        return True
    if len([w for w in _WORD_SPLIT.split(last) if w]) >= 3 or len(last) >= 25:
        return True
    return _looks_like_id(PurePosixPath([s for s in path.split("/") if s][-1]).stem.rstrip("="))


def names_an_article_id(url: str) -> bool:
    """Does the last path segment of ``url`` carry an article id: a digit run of 5+ (``/article/4081716``,
    ``/news/12345678``) or a mixed letters/digits or mixed-case id of 6+ characters (``/c4nn1z7d2q2o``)?

    A slug of words (``/world-news-today``, ``/شؤون-عربية-ودولية``) is no id: a section can be named so.
    """
    segments = [s for s in unquote(urlsplit(url).path).split("/") if s]
    if not segments:
        return False
    last = PurePosixPath(segments[-1]).stem
    return bool(_DIGIT_RUN.search(last)) or _looks_like_id(last.rstrip("="))


def _looks_like_id(s: str) -> bool:
    """6+ ASCII letters/digits mixing digits and letters (``c4nn1z7d2q2o``) or mixed case that is not a capitalised
    word (short-link ids ``ytDgde``, base64 ``MTAzMTg=``; not ``Details``)."""
    if len(s) < 6 or not (s.isascii() and s.isalnum()):
        return False
    if any(c.isdigit() for c in s) and any(c.isalpha() for c in s):
        return True
    return any(c.isupper() for c in s[1:]) and any(c.islower() for c in s)


