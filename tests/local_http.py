"""The one way tests serve HTTP locally: :func:`serve` runs a ``BaseHTTPRequestHandler`` class on 127.0.0.1 (any
free port) in a daemon thread and yields the base URL. Used by the routed test site (``routed_site``), the webhook
receiver of the alert tests, the trickling / recording webhook receivers and the egress proxy of the webhook unit
tests, the imitation Elasticsearch node of the ES client tests, the fetcher's refusal site and the Kibana import
imitation. (tests/crawlsite/server.py keeps its own server: a long-lived fixture site with fixed ports.)"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1",
          tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve ``handler`` on ``host`` (a free port) until the block ends; yields ``http://<host>:<port>``, or
    ``https://…`` with ``tls`` (a server context with its certificate chain loaded)."""
    srv = ThreadingHTTPServer((host, 0), handler)
    if tls is not None:
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, name=f"test-http-{handler.__name__}", daemon=True).start()
    try:
        yield f"{'https' if tls else 'http'}://{host}:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
