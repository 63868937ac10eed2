"""The demo "news web"'s HTTP server: serves the sites built by :mod:`marsad.demo.site` on 127.0.0.1 from a thread.

Routes: ``/robots.txt`` (allow all), ``/`` and ``/<site>/`` (link lists), ``/<site>/feed.xml``, every page path
(request paths are percent-decoded before the lookup).
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from marsad.demo.site import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    HTML_UTF8,
    RSS_TYPE,
    Site,
    build_sites,
    decode_path,
    render_index,
    write_registry,
)
from marsad.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Response:
    content_type: str
    body: bytes
    status: int = HTTPStatus.OK


_ROBOTS = _Response("text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n")
_NOT_FOUND = _Response("text/plain; charset=utf-8", b"404 not found\n", HTTPStatus.NOT_FOUND)


def _routes(sites: Mapping[str, Site]) -> dict[str, _Response]:
    """Decoded path -> response. Raises ``ValueError`` if two sites claim the same path."""
    routes: dict[str, _Response] = {"/robots.txt": _ROBOTS}

    def add(path: str, response: _Response) -> None:
        if path in routes:
            raise ValueError(f"path {path!r} is served twice")
        routes[path] = response

    home = "\n".join(f'<li><a href="/{s.name}/">{html.escape(s.label)}</a></li>' for s in sites.values())
    add("/", _Response(HTML_UTF8, f'<!DOCTYPE html>\n<html lang="ar" dir="rtl"><head><meta charset="utf-8">'
                                  f"<title>Marsad demo</title></head><body><ul>\n{home}\n</ul></body></html>\n"
                                  .encode()))  # fmt: skip
    for site in sites.values():
        add(f"/{site.name}/", _Response(HTML_UTF8, render_index(site.name, site.label, site.pages)))
        add(f"/{site.name}/feed.xml", _Response(RSS_TYPE, site.feed_xml))
        for page in site.pages:
            add(page.path, _Response(page.content_type, page.body))
    return routes


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], routes: dict[str, _Response]) -> None:
        self.routes = routes
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _DemoHTTPServer
    server_version = "MarsadDemo/0.1"
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid the 40 ms delayed-ACK stall

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        response = self.server.routes.get(decode_path(self.path), _NOT_FOUND)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s %s", self.address_string(), format % args)


class DemoServer:
    """A running demo server (background thread). ``base_url`` is ``http://host:port``; call :meth:`stop`."""

    def __init__(self, httpd: _DemoHTTPServer, thread: threading.Thread) -> None:
        self._httpd = httpd
        self._thread = thread
        host, port = httpd.server_address[:2]
        assert isinstance(host, str)  # bound AF_INET socket: getsockname() is (str, int); typeshed also allows bytes
        self.host, self.port = host, port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server stops (or ``timeout`` seconds pass)."""
        self._thread.join(timeout)

    def stop(self) -> None:
        """Stop serving and close the socket; idempotent."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(sites: Mapping[str, Site], host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> DemoServer:
    """Serve ``sites`` on ``host:port`` (``port=0``: any free port) from a daemon thread and return at once.

    Routes: ``/robots.txt`` (allow all), ``/`` and ``/<site>/`` (link lists), ``/<site>/feed.xml``, every page path
    (request paths are percent-decoded); anything else is 404. GET and HEAD. Raises ``OSError`` if the port is
    taken, ``ValueError`` if two pages share a path. Feed links use each site's ``base_url``: serve on that port.
    """
    httpd = _DemoHTTPServer((host, port), _routes(sites))
    thread = threading.Thread(target=httpd.serve_forever, name=f"demo-site-{port}", daemon=True)
    thread.start()
    server = DemoServer(httpd, thread)
    logger.info("demo site serving %d sites at %s", len(sites), server.base_url)
    return server


def run_forever(settings: Settings, registry_path: Path | None = None) -> None:
    """Build the sites from ``settings.corpus_dir`` (or the sample), serve them on
    ``127.0.0.1:settings.demo_site_port`` until interrupted (Ctrl-C), optionally writing the registry first."""
    base_url = f"http://{DEFAULT_HOST}:{settings.demo_site_port}"
    sites = build_sites(settings.corpus_dir, base_url)
    if registry_path is not None:
        write_registry(sites, base_url, registry_path)
    server = serve(sites, DEFAULT_HOST, settings.demo_site_port)
    for site in sites.values():
        logger.info("%-16s %3d pages  %s", site.name, len(site.pages), site.feed_url)
    try:
        while server.is_running():
            server.wait(1.0)
    except KeyboardInterrupt:
        logger.info("demo site: interrupted")
    finally:
        server.stop()
