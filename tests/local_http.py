"""The one way tests serve HTTP locally: :func:`serve` runs a ``BaseHTTPRequestHandler`` class on 127.0.0.1 (any
free port) in a daemon thread and yields the base URL. Used by the routed test site (``routed_site``), the webhook
receiver of the alert tests, the fetcher's refusal site and the Kibana import imitation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``handler`` on ``host`` (a free port) until the block ends; yields ``http://<host>:<port>``."""
    srv = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=srv.serve_forever, name=f"test-http-{handler.__name__}", daemon=True).start()
    try:
        yield f"http://{host}:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
