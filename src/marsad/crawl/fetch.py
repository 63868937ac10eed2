"""Fetching pages politely and safely: robots.txt, per-host spacing, retries, timeouts, size caps, SSRF guard.

:meth:`Fetcher.get_bytes` is the one door to the network for the whole crawl side (articles here; feeds,
sitemaps and section pages on the discovery side), so every request gets, in this order:

1. the SSRF guard (:func:`check_address`) on every hop, redirects included;
2. robots.txt of the hop's origin (cached ≤ 24 h across processes; ``robots-disallowed`` / ``robots-unreachable``);
3. a per-host slot shared by every crawl process (:func:`~marsad.crawl.stores.open_politeness`: SQLite on one
   machine, PostgreSQL across machines), spaced by
   ``max(settings.min_host_interval_s, source.min_interval_s, robots Crawl-delay)``;
4. connect / read / total timeouts, the body streamed raw and inflated by us with a hard output cap (gzip and
   deflate bombs never inflate more than the cap), retries with capped exponential backoff on timeouts,
   connection errors, 429 and 5xx, honouring ``Retry-After``;
5. the response written to the WARC archive (:mod:`marsad.crawl.archive`).

The body is kept as raw bytes (charset decoding is the extract stage's job, where header, ``<meta>`` and
detection are all available). Every refusal raises :class:`FetchRefused` with a stable ``reason``; the list,
with what triggers each and the test that shows it, is in ``docs/crawl-fetch.md``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
import zlib
from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

from marsad.crawl import interstitial
from marsad.crawl.archive import WarcArchive
from marsad.crawl.politeness import ROBOTS_MAX_BYTES, RobotsRules, backoff_s, host_key, parse_retry_after, robots_origin
from marsad.crawl.registry import Source
from marsad.crawl.stores import open_politeness
from marsad.dedup.urls import canonical_url
from marsad.messages import RawPage, RawPageMeta, utcnow
from marsad.settings import Settings

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
"""Redirect hops followed before refusing (browsers allow ~20; news sites need 1–3; RFC 9309 §2.3.1.2 asks
robots.txt fetches to follow at least 5)."""

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
"""Media types accepted for article pages (a missing Content-Type is let through: the extract stage sniffs)."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})
"""Statuses retried with backoff: 429 and the server-side 5xx that are transient by nature (RFC 9110 §15.6;
52x are Cloudflare's origin-unreachable answers). 501/505 are final answers and not retried."""

TRANSIENT_REASONS = frozenset({"timeout", "http-error", "dns-error", "http-429", "robots-unreachable",
                               "host-down", "interstitial:challenge"})
"""Refusals worth retrying on a later run (plus every ``http-5xx``); the rest are final answers."""


def is_transient(reason: str) -> bool:
    """True for a refusal ``reason`` worth retrying on a later run (:data:`TRANSIENT_REASONS`, every ``http-5xx``)."""
    return reason in TRANSIENT_REASONS or reason.startswith("http-5")


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
        return is_transient(self.reason)


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
    except UnicodeError as exc:  # the IDNA codec refuses the name (an empty label "a..b", a label over 63 chars)
        raise FetchRefused("bad-url", url, f"host name: {exc}") from exc
    _check_ips(infos, url)


def _check_ips(infos, url: str) -> None:
    """Raise ``private-address`` unless every address of ``getaddrinfo`` answer ``infos`` is a global one."""
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        # is_global excludes private, loopback, link-local (169.254.169.254), CGNAT 100.64/10 (Alibaba's
        # 100.100.100.200 metadata), reserved and documentation ranges (IANA special-purpose registries).
        if not ip.is_global or ip.is_multicast:
            raise FetchRefused("private-address", url, str(ip))
        embedded = _embedded_ipv4(ip)
        if embedded is not None and (not embedded.is_global or embedded.is_multicast):
            raise FetchRefused("private-address", url, f"{ip} (embeds {embedded})")


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
"""NAT64 prefixes (RFC 6052 well-known, RFC 8215 local use): the last 32 bits are the IPv4 address reached."""


def _embedded_ipv4(ip) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches through NAT64, 6to4 or the deprecated IPv4-compatible form (which
    ``is_global`` calls global), or ``None``. IPv4-mapped and Teredo addresses are already not global."""
    if ip.version != 6:
        return None
    if any(ip in net for net in _NAT64) or (int(ip) >> 32 == 0 and int(ip) > 0xFFFF):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend with the SSRF guard at the moment of connecting.

    :func:`check_address` resolves the host before a request, but the HTTP client resolved it again to connect: a
    name answering a public address first and a private one next (DNS rebinding, TTL 0) passed the guard and
    reached loopback or the metadata service. Here the host is resolved once, every address checked, and the
    socket connects to a checked address (TLS still verifies and sends SNI for the host name: httpcore passes the
    origin's name to ``start_tls``). Hosts in ``settings.allow_private_hosts`` connect as usual.
    """

    def __init__(self, allow: list[str]) -> None:
        self.allow = set(allow)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        if host in self.allow:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host}: {exc}") from exc
        _check_ips(infos, f"{host}:{port}")
        last: Exception | None = None
        # every checked address in order, as socket.create_connection would (an IPv4/IPv6 sockaddr starts with
        # the address as str; typeshed's getaddrinfo also allows the int of other families)
        for addr in dict.fromkeys(str(info[4][0]) for info in infos):
            try:
                return super().connect_tcp(addr, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


def _decompressor(encoding: str, first: bytes):
    """A zlib decompressor for ``Content-Encoding`` ``encoding`` (``None`` for identity).

    ``deflate`` is zlib-wrapped per RFC 9110 §8.4.1.2, but many servers send raw deflate: the zlib header
    (RFC 1950 §2.2: CM=8 and the first two bytes a multiple of 31) decides, as browsers do.
    Raises :class:`FetchRefused` (``unsupported-encoding``) for anything else (we only offer gzip and deflate).
    """
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        zlib_wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and ((first[0] << 8) | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
    raise FetchRefused("unsupported-encoding", "", encoding)


class Fetcher:
    """One HTTP client per crawl run. ``fetch(url, source) -> RawPage``; raises :class:`FetchRefused`.

    ``source`` (optional) gives the per-source politeness override ``min_interval_s``. ``stats`` counts
    ``retries`` and ``robots-fetched`` over the Fetcher's life. Call :meth:`close` (closes the WARC file).
    """

    def __init__(self, settings: Settings, source: Source | None = None, *,
                 archive: WarcArchive | None = None) -> None:
        self.settings = settings
        self.source = source
        self.stats: Counter = Counter()
        self.client = httpx.Client(
            headers={"User-Agent": settings.user_agent, "Accept-Language": "ar,en;q=0.5",
                     "Accept-Encoding": "gzip, deflate"},
            timeout=self._timeout(),
            follow_redirects=False,
            transport=_guarded_transport(settings),
        )
        self.politeness = open_politeness(settings)  # SQLite under crawl_dir, or PostgreSQL (crawl_state_url)
        self._failures: Counter = Counter()
        """Consecutive ``timeout`` / ``http-error`` outcomes per host in this Fetcher's life."""
        if archive is None and settings.warc_enabled:
            archive = WarcArchive(settings.warc_path, settings.warc_roll_bytes)
        self.archive = archive

    def _timeout(self) -> httpx.Timeout:
        s = self.settings
        read = min(s.fetch_timeout_s, s.fetch_total_timeout_s)
        return httpx.Timeout(connect=s.fetch_connect_timeout_s, read=read, write=read,
                             pool=s.fetch_connect_timeout_s)

    def close(self) -> None:
        self.client.close()
        self.politeness.close()
        if self.archive is not None:
            self.archive.close()

    # --- politeness -------------------------------------------------------------------------------------
    def robots(self, url: str) -> RobotsRules:
        """The robots.txt answer for ``url``'s origin (shared cache; fetched when absent or stale)."""
        origin = robots_origin(url)
        rules = self.politeness.cached_robots(origin, self.settings.robots_cache_h * 3600)
        if rules is None:
            self.stats["robots-fetched"] += 1
            try:
                resp, body, _ = self._get(origin + "/robots.txt", None, ROBOTS_MAX_BYTES, truncate=True,
                                          robots=False)
                rules = RobotsRules(status=resp.status_code, body=body)
            except FetchRefused as exc:
                log.warning("robots.txt of %s unreachable: %s", origin, exc)
                rules = RobotsRules(status=0)
            self.politeness.store_robots(origin, rules)
        return rules

    def interval_s(self, url: str, rules: RobotsRules | None = None) -> float:
        """Seconds between two requests to ``url``'s host: max(settings default, source override, Crawl-delay
        capped at ``settings.max_crawl_delay_s``)."""
        s = self.settings
        interval = max(s.min_host_interval_s, (self.source.min_interval_s or 0.0) if self.source else 0.0)
        if rules is not None:
            delay = rules.crawl_delay(s.robots_token)
            if delay:
                interval = max(interval, min(delay, s.max_crawl_delay_s))
        return interval

    # --- the network ------------------------------------------------------------------------------------
    def get_bytes(self, url: str, *, headers: dict[str, str] | None = None) -> tuple[httpx.Response, bytes, str]:
        """GET ``url`` politely, following up to :data:`MAX_REDIRECTS` redirects, each hop SSRF- and robots-checked.

        ``headers`` are added to the request (e.g. ``If-None-Match`` / ``If-Modified-Since`` for conditional
        polls of feeds and sitemaps: a ``304`` is returned, not raised, with an empty body). Any other status is
        returned too — after the retries for 429/5xx are spent, or at once when ``Retry-After`` exceeds
        ``settings.retry_after_max_s``.
        Returns ``(response, body, final_url)``; body is capped at ``settings.max_page_bytes`` (decompressed).
        Raises :class:`FetchRefused`: ``bad-url``, ``dns-error``, ``private-address``, ``host-down``,
        ``robots-disallowed``, ``robots-unreachable``, ``timeout``, ``http-error``, ``too-large``,
        ``unsupported-encoding``, ``bad-encoding``, ``too-many-redirects``.
        """
        return self._get(url, headers, self.settings.max_page_bytes)

    def _get(self, url: str, headers: dict[str, str] | None, cap: int, *, truncate: bool = False,
             robots: bool = True) -> tuple[httpx.Response, bytes, str]:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            check_address(current, self.settings)
            failures = self._failures[host_key(current)]
            if failures >= self.settings.host_failures_to_skip:
                raise FetchRefused("host-down", current, f"{failures} failures in a row on this host in this run")
            held = self.politeness.held(host_key(current))
            if held is not None:  # the host's Retry-After is not over: no request at all (robots.txt included)
                raise FetchRefused(f"http-{held[1]}", current,
                                   f"host on hold for {held[0] - time.time():.0f} s more (Retry-After)")
            rules = None
            if robots and self.settings.obey_robots:
                rules = self.robots(current)
                if rules.unreachable:
                    raise FetchRefused("robots-unreachable", current, f"robots.txt status {rules.status}")
                if not rules.allowed(current, self.settings.robots_token):
                    raise FetchRefused("robots-disallowed", current)
            resp, body = self._attempts(current, headers, cap, truncate, self.interval_s(current, rules))
            if resp.has_redirect_location:  # 301/302/303/307/308 with a Location; a 304 or a bare 3xx is an answer
                location = resp.headers["location"]
                try:
                    current = str(resp.url.join(location))
                except httpx.InvalidURL as exc:
                    raise FetchRefused("bad-url", location, str(exc)) from exc
                continue
            return resp, body, current
        raise FetchRefused("too-many-redirects", url)

    def _attempts(self, url: str, headers: dict[str, str] | None, cap: int, truncate: bool,
                  interval: float) -> tuple[httpx.Response, bytes]:
        s = self.settings
        host = host_key(url)
        for attempt in range(s.fetch_retries + 1):
            self.politeness.wait_turn(host, interval)
            last = attempt == s.fetch_retries
            try:
                resp, body = self._once(url, headers, cap, truncate)
            except FetchRefused as exc:
                if exc.reason in ("timeout", "http-error") and last:
                    self._failures[host] += 1
                if last or exc.reason not in ("timeout", "http-error"):
                    raise
                wait = backoff_s(attempt, s.retry_backoff_s, s.retry_backoff_max_s)
                log.info("retry %d of %s in %.1f s after %s", attempt + 1, url, wait, exc.reason)
            else:
                self._failures[host] = 0  # the host answered
                if resp.status_code not in RETRY_STATUSES or last:
                    return resp, body
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
                if retry_after is not None and retry_after > s.retry_after_max_s:
                    self.stats["retry-after-too-long"] += 1
                    # the whole host asked for the pause: every process refuses its URLs until then (no sleeping)
                    self.politeness.hold(host, time.time() + retry_after, resp.status_code)
                    log.warning("%s: Retry-After %.0f s > %.0f s: not waiting", url, retry_after,
                                s.retry_after_max_s)
                    return resp, body
                wait = max(backoff_s(attempt, s.retry_backoff_s, s.retry_backoff_max_s), retry_after or 0.0)
                log.info("retry %d of %s in %.1f s after HTTP %d", attempt + 1, url, wait, resp.status_code)
            self.stats["retries"] += 1
            self.politeness.defer(host, time.time() + wait)  # the whole host backs off, every process sees it
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, url: str, headers: dict[str, str] | None, cap: int,
              truncate: bool) -> tuple[httpx.Response, bytes]:
        deadline = time.monotonic() + self.settings.fetch_total_timeout_s
        fetched_at = utcnow()
        try:
            with self.client.stream("GET", url, headers=headers) as resp:
                ip = _peer_ip(resp)  # before the body: a server that closes after it leaves no peer to ask
                body = b"" if resp.has_redirect_location or resp.status_code == 304 else \
                    self._read(resp, url, cap, deadline, truncate)
        except FetchRefused as exc:  # the connect-time SSRF guard (_GuardedBackend) knows the host, not the URL
            raise FetchRefused(exc.reason, url, exc.detail) from None
        except httpx.TimeoutException as exc:
            raise FetchRefused("timeout", url, f"{type(exc).__name__} {exc}") from exc
        except httpx.InvalidURL as exc:
            raise FetchRefused("bad-url", url, str(exc)) from exc
        except httpx.HTTPError as exc:
            raise FetchRefused("http-error", url, f"{type(exc).__name__} {exc}") from exc
        if self.archive is not None:
            # the URL as requested (percent-encoded, IDNA host): WARC headers are ASCII (WARC/1.1 §5.15: a URI)
            self.archive.write(url=str(resp.request.url), fetched_at=fetched_at,
                               request_headers=list(resp.request.headers.items()), status=resp.status_code,
                               reason=resp.reason_phrase, http_version=resp.http_version,
                               response_headers=list(resp.headers.items()), body=body, ip=ip)
        return resp, body

    def _read(self, resp: httpx.Response, url: str, cap: int, deadline: float, truncate: bool) -> bytes:
        """Stream the body raw and inflate it ourselves, never holding more than ``cap`` + one chunk."""
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap and not truncate:
            raise FetchRefused("too-large", url, f"content-length {declared} > {cap} bytes")
        encoding = resp.headers.get("content-encoding", "").strip().lower()
        dec = None
        out: list[bytes] = []
        size = raw = 0
        for chunk in resp.iter_raw():
            if time.monotonic() > deadline:
                raise FetchRefused("timeout", url, f"total deadline {self.settings.fetch_total_timeout_s} s "
                                                   f"passed after {raw} bytes")
            raw += len(chunk)
            if raw > cap and not truncate:
                raise FetchRefused("too-large", url, f"> {cap} bytes on the wire")
            if dec is None and encoding not in ("", "identity"):
                try:
                    dec = _decompressor(encoding, chunk)
                except FetchRefused as exc:
                    raise FetchRefused(exc.reason, url, exc.detail) from None
            if dec is None:
                size += len(chunk)
                out.append(chunk)
            else:
                data = chunk
                try:
                    while data and size <= cap:
                        # max_length bounds what one call may inflate: a bomb never expands past the cap
                        piece = dec.decompress(data, cap + 1 - size)
                        size += len(piece)
                        out.append(piece)
                        data = dec.unconsumed_tail
                except zlib.error as exc:
                    raise FetchRefused("bad-encoding", url, f"{encoding}: {exc}") from exc
            if size > cap:
                if truncate:
                    return b"".join(out)[:cap]
                kind = "inflated" if dec is not None else "streamed"
                raise FetchRefused("too-large", url, f"> {cap} bytes {kind} ({raw} bytes on the wire)")
        if dec is not None:
            try:
                tail = dec.flush(cap + 1 - size)
            except zlib.error as exc:
                raise FetchRefused("bad-encoding", url, f"{encoding}: {exc}") from exc
            size += len(tail)
            out.append(tail)
            if size > cap and not truncate:
                raise FetchRefused("too-large", url, f"> {cap} bytes inflated")
            if not dec.eof and not truncate:  # zlib raises on neither: a stream cut short is a partial page
                raise FetchRefused("bad-encoding", url, f"{encoding}: compressed data ends before its end marker")
        return b"".join(out)[:cap] if truncate else b"".join(out)

    # --- articles ---------------------------------------------------------------------------------------
    def fetch(self, url: str, source: str) -> RawPage:
        """Fetch an article page as a :class:`RawPage` (status 200, HTML, not an interstitial).

        Raises :class:`FetchRefused`: everything :meth:`get_bytes` raises, ``interstitial:<kind>``
        (:mod:`marsad.crawl.interstitial`), ``http-<status>``, ``not-html``.
        """
        resp, body, final_url = self.get_bytes(url)
        headers = {k.lower(): v for k, v in resp.headers.items()}
        rule = interstitial.detect(resp.status_code, headers, final_url, body)
        if rule is not None:
            raise FetchRefused(f"interstitial:{rule.kind}", final_url, rule.name)
        if resp.status_code != 200:
            raise FetchRefused(f"http-{resp.status_code}", final_url)
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype and ctype not in HTML_TYPES:
            raise FetchRefused("not-html", final_url, ctype)
        meta = RawPageMeta(
            url=url,
            final_url=final_url,
            canonical_url=canonical_url(final_url),
            status=resp.status_code,
            headers=headers,
            fetched_at=utcnow(),
            source=source,
            content_length=len(body),
            charset=self.source.charset if self.source is not None else None,
        )
        return RawPage(meta=meta, body=body)


def _guarded_transport(settings: Settings) -> httpx.HTTPTransport:
    """An httpx transport whose connections go through :class:`_GuardedBackend` (the SSRF guard at connect time)."""
    transport = httpx.HTTPTransport()
    pool = transport._pool
    if not hasattr(pool, "_network_backend"):  # pragma: no cover - an httpcore that moved it: fail loudly
        raise RuntimeError("httpcore.ConnectionPool has no _network_backend: the SSRF guard cannot be installed")
    pool._network_backend = _GuardedBackend(settings.allow_private_hosts)
    return transport


def _peer_ip(resp: httpx.Response) -> str | None:
    """The server's IP address of a streamed response (``WARC-IP-Address``), when the transport tells it."""
    stream = resp.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        addr = stream.get_extra_info("server_addr")
    except OSError:  # the socket is already closed: the address is optional WARC metadata
        return None
    return str(addr[0]) if addr else None
