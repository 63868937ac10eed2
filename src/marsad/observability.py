"""Logging setup and metrics for entrypoints (library code only uses ``logging.getLogger``)."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler

console = Console(stderr=False)
err_console = Console(stderr=True)


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr through rich; noisy third-party loggers are kept at WARNING."""
    logging.basicConfig(level=level.upper(), format="%(name)s: %(message)s", datefmt="[%X]",
                        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=True)],
                        force=True)
    for noisy in ("httpx", "httpcore", "trafilatura", "htmldate", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # elastic_transport logs every connection retry with three chained tracebacks at WARNING; an outage is reported
    # once per change of state by the consumer (marsad.kafka.transport.StateLog) instead
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)


def start_metrics_server(port: int) -> None:
    """Expose Prometheus metrics on ``127.0.0.1:port`` (``/metrics``)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr="127.0.0.1")
