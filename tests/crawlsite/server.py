"""A local trap site on 127.0.0.1 for crawl tests: every case the crawler must handle politely.

Routes are plain functions registered with :func:`route`; ``fetch_routes.py`` holds the fetch-side cases
(robots, 304, 429, redirects, slow, oversized, gzip bomb, windows-1256, interstitial) and ``discovery_routes.py``
the discovery-side ones (feeds, news sitemaps, section pages). Every request is recorded in
:attr:`CrawlSite.requests` so tests can assert what the crawler asked for (conditional headers, robots first,
spacing between hits on one host).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    at: float
    """``time.monotonic()`` when the request arrived (seconds)."""
    peer: tuple[str, int] | None = None
    """The client's ``(address, port)``: which process asked can be found from it (``psutil.net_connections``)."""


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Sleep this long before sending the body (slow-response case)."""
    chunks: list[bytes] | None = None
    """Send these chunks instead of ``body`` (streamed cases); ``delay_s`` is slept between chunks."""


Handler = Callable[["CrawlSite", Request], Response]
ROUTES: dict[str, Handler] = {}


def route(path: str) -> Callable[[Handler], Handler]:
    """Register ``fn(site, request) -> Response`` for the exact ``path`` (no query string)."""

    def deco(fn: Handler) -> Handler:
        if path in ROUTES:
            raise ValueError(f"route {path} registered twice")
        ROUTES[path] = fn
        return fn

    return deco


class CrawlSite:
    """``with CrawlSite() as site: site.url("/robots.txt")``; serves :data:`ROUTES` on a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from tests.crawlsite import charset_routes, discovery_routes, fetch_routes  # noqa: F401  (register routes)

        self.requests: list[Request] = []
        self.state: dict[str, object] = {}
        """Per-site scratch space for stateful routes (e.g. a 429 that answers 200 the second time)."""
        self._lock = threading.Lock()
        site = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                req = Request("GET", parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()},
                              time.monotonic(), tuple(self.client_address[:2]))
                with site._lock:
                    site.requests.append(req)
                handler = ROUTES.get(parts.path)
                resp = handler(site, req) if handler else Response(404, b"not found",
                                                                    {"Content-Type": "text/plain"})
                try:
                    self._send(resp)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler hung up on purpose (size cap, timeout): that is the point of the case

            def _send(self, resp: Response) -> None:
                self.send_response(resp.status)
                headers = dict(resp.headers)
                if "Content-Length" not in headers and resp.chunks is None:
                    headers["Content-Length"] = str(len(resp.body))
                if resp.chunks is not None:
                    headers["Transfer-Encoding"] = "chunked"
                    headers.setdefault("Connection", "close")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if resp.chunks is None:
                    if resp.delay_s:
                        time.sleep(resp.delay_s)
                    if resp.status != 304:
                        self.wfile.write(resp.body)
                    return
                for chunk in resp.chunks:
                    if resp.delay_s:
                        time.sleep(resp.delay_s)
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        self._server = ThreadingHTTPServer((host, port), _H)
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def hits(self, path: str) -> list[Request]:
        """Requests received for ``path`` so far, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> CrawlSite:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def rss_feed(site: CrawlSite, channel_path: str, article_paths: list[str]) -> Response:
    """An RSS 2.0 feed of ``site`` whose items link ``article_paths`` (the channel link ``channel_path``)."""
    items = "".join(f"<item><title>خبر {p}</title><link>{site.url(p)}</link></item>" for p in article_paths)
    body = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>موقع</title>'
            f"<link>{site.url(channel_path)}</link>{items}</channel></rss>").encode()
    return Response(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})


def client_pid(peer: tuple[str, int] | None, server_port: int) -> int | None:
    """The local process that owns the client end of a connection to ``server_port`` from ``peer`` (psutil), or
    ``None``: how the crawl tests find which worker process asked (to kill it mid-batch)."""
    import psutil

    if peer is None:
        return None
    for c in psutil.net_connections(kind="tcp"):
        if c.laddr and c.raddr and c.laddr.port == peer[1] and c.raddr.port == server_port and c.pid:
            return c.pid
    return None
