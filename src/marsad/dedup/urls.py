"""Canonical URLs: one function used everywhere a URL is a key (Kafka key, ES ``_id``, seen-URL state).

Rules (RFC 3986 §6 normalisation plus common news-crawler practice):

* scheme and host lower-cased, default ports (80/443) dropped, IDNA host kept as given in lower case;
* percent-encoding normalised: unreserved characters decoded, everything else re-encoded with upper-case hex,
  so ``%d8%a7``, ``%D8%A7`` and the raw Arabic slug give one key;
* fragment dropped; tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``mc_cid``, ``mc_eid``, ``ocid``,
  ``ref``, ``cmpid``) dropped; remaining query parameters sorted;
* an empty path becomes ``/``.

Raises :class:`ValueError` for a URL without scheme or host.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_",)
_TRACKING = {"fbclid", "gclid", "dclid", "mc_cid", "mc_eid", "ocid", "ref", "cmpid", "igshid", "_ga"}
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def canonical_url(url: str) -> str:
    """Return the canonical form of ``url`` (see module docstring)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url!r}")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in {("http", 80), ("https", 443)} else f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE) or "/"
    query_pairs = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING
    ]
    query = urlencode(sorted(query_pairs), doseq=True)
    return urlunsplit((scheme, netloc, path, query, ""))
