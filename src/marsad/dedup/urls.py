"""Canonical URLs: one function used everywhere a URL is a key (Kafka key, ES ``_id``, seen-URL state).

Rules (RFC 3986 §6 normalisation plus common news-crawler practice):

* scheme and host lower-cased, default ports (80/443) dropped, IDNA host kept as given in lower case;
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
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_to_bytes, urlsplit, urlunsplit

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


def canonical_url(url: str) -> str:
    """Return the canonical form of ``url`` (see module docstring)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url!r}")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
            break
    if ":" in host:  # IPv6 literal: keep the brackets (RFC 3986 §3.2.2)
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (scheme, port) in {("http", 80), ("https", 443)} else f"{host}:{port}"
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
