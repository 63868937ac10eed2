"""Fetching pages: streamed with a size cap, SSRF guard, redirects capped, final URL recorded.

The body is kept as raw bytes (charset decoding is the extract stage's job, where header, ``<meta>`` and
detection are all available). Every refusal raises :class:`FetchRefused` with a stable ``reason``.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from marsad.dedup.urls import canonical_url
from marsad.messages import RawPage, RawPageMeta, utcnow
from marsad.settings import Settings

MAX_REDIRECTS = 5
"""Redirect hops followed before refusing (browsers allow ~20; news sites need 1–3)."""


TRANSIENT_REASONS = frozenset({"timeout", "http-error", "dns-error", "http-429"})
"""Refusals worth retrying on a later run (plus every ``http-5xx``); the rest are final answers."""


class FetchRefused(Exception):
    """A page was not fetched or not accepted; ``reason`` is a stable slug (``too-large``, ``http-404``…)."""

    def __init__(self, reason: str, url: str, detail: str = "") -> None:
        super().__init__(f"{reason} {url} {detail}".strip())
        self.reason = reason
        self.url = url
        self.detail = detail

    @property
    def transient(self) -> bool:
        """True when a later run may succeed (timeouts, DNS, 429, 5xx): the URL is not marked as seen."""
        return self.reason in TRANSIENT_REASONS or self.reason.startswith("http-5")


def check_address(url: str, settings: Settings) -> None:
    """Refuse URLs whose host resolves to loopback, private, link-local, reserved or metadata addresses.

    Hosts listed in ``settings.allow_private_hosts`` are exempt (tests and the demo allow ``127.0.0.1``).
    Raises :class:`FetchRefused` (``bad-url``, ``dns-error``, ``private-address``).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # e.g. a redirect to http://host:99999/
        raise FetchRefused("bad-url", url, str(exc)) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefused("bad-url", url)
    host = parts.hostname
    if host in settings.allow_private_hosts:
        return
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise FetchRefused("dns-error", url, str(exc)) from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        # is_global excludes private, loopback, link-local (169.254.169.254), CGNAT 100.64/10 (Alibaba's
        # 100.100.100.200 metadata), reserved and documentation ranges (IANA special-purpose registries).
        if not ip.is_global or ip.is_multicast:
            raise FetchRefused("private-address", url, str(ip))


class Fetcher:
    """One HTTP client per crawl run. ``fetch(url, source) -> RawPage``; raises :class:`FetchRefused`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = httpx.Client(
            headers={"User-Agent": settings.user_agent, "Accept-Language": "ar,en;q=0.5"},
            timeout=httpx.Timeout(settings.fetch_timeout_s, connect=10.0),
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def get_bytes(self, url: str, *, headers: dict[str, str] | None = None) -> tuple[httpx.Response, bytes, str]:
        """GET ``url`` following up to :data:`MAX_REDIRECTS` redirects, each hop SSRF-checked.

        ``headers`` are added to the request (e.g. ``If-None-Match`` / ``If-Modified-Since`` for conditional
        polls of feeds and sitemaps: a ``304`` is returned, not raised, with an empty body).
        Returns ``(response, body, final_url)``; body is capped at ``settings.max_page_bytes`` (decompressed).
        """
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            check_address(current, self.settings)
            try:
                with self.client.stream("GET", current, headers=headers) as resp:
                    if resp.is_redirect and resp.status_code != 304:  # 304 Not Modified is no redirect
                        location = resp.headers.get("location")
                        if not location:
                            raise FetchRefused("bad-redirect", current)
                        current = str(resp.url.join(location))
                        continue
                    declared = int(resp.headers.get("content-length") or 0)
                    if declared > self.settings.max_page_bytes:
                        raise FetchRefused("too-large", current, f"content-length {declared}")
                    chunks, size = [], 0
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > self.settings.max_page_bytes:
                            raise FetchRefused("too-large", current, f"> {self.settings.max_page_bytes} bytes")
                        chunks.append(chunk)
                    return resp, b"".join(chunks), current
            except httpx.TimeoutException as exc:
                raise FetchRefused("timeout", current, str(exc)) from exc
            except httpx.InvalidURL as exc:
                raise FetchRefused("bad-url", current, str(exc)) from exc
            except httpx.HTTPError as exc:
                raise FetchRefused("http-error", current, str(exc)) from exc
        raise FetchRefused("too-many-redirects", url)

    def fetch(self, url: str, source: str) -> RawPage:
        """Fetch an article page as a :class:`RawPage` (status 200 and an HTML content type only)."""
        resp, body, final_url = self.get_bytes(url)
        if resp.status_code != 200:
            raise FetchRefused(f"http-{resp.status_code}", final_url)
        ctype = resp.headers.get("content-type", "").lower()
        if ctype and "html" not in ctype:
            raise FetchRefused("not-html", final_url, ctype)
        meta = RawPageMeta(
            url=url,
            final_url=final_url,
            canonical_url=canonical_url(final_url),
            status=resp.status_code,
            headers={k.lower(): v for k, v in resp.headers.items()},
            fetched_at=utcnow(),
            source=source,
            content_length=len(body),
        )
        return RawPage(meta=meta, body=body)
