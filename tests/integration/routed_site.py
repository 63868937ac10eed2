"""A local HTTP site whose routes each test sets: ``ROUTES[path] = (status, headers, body)`` (or
``ROUTES[host + path]`` for a virtual host), ``HITS[path]`` counts the requests. The fixture ``routed_site``
(tests/integration/conftest.py) serves it on 127.0.0.1 and yields its base URL."""

from __future__ import annotations

from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from marsad.settings import Settings
from tests.local_http import serve

ARTICLE = ("<html><head><title>خبر</title></head><body><article>"
           + "<p>هذا نص عربي طويل عن حاملات الطائرات في البحر المتوسط.</p>" * 20
           + "</article></body></html>").encode()

ROUTES: dict[str, tuple[int, dict[str, str], bytes]] = {}
HITS: Counter = Counter()


class RoutedHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        host = self.headers.get("Host", "")
        HITS[self.path] += 1
        status, headers, body = ROUTES.get(f"{host}{self.path}", ROUTES.get(self.path, (404, {}, b"not found")))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def crawl_settings(tmp_path: Path, **kw) -> Settings:
    base = dict(allow_private_hosts=["127.0.0.1"], crawl_state_dir=tmp_path / "crawl", min_host_interval_s=0.0,
                retry_backoff_s=0.01, retry_backoff_max_s=0.02, poll_min_interval_s=600, poll_max_interval_s=86400)
    base.update(kw)
    return Settings(**base)



def serve_routes():
    """Serve :data:`ROUTES` on 127.0.0.1 (any free port) from a thread (:func:`tests.local_http.serve`); yields
    ``http://127.0.0.1:<port>``."""
    return serve(RoutedHandler)
