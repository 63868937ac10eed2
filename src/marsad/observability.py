"""Logging setup and metrics for entrypoints (library code only uses ``logging.getLogger``)."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler

console = Console(stderr=False)
err_console = Console(stderr=True)


CLIENT_LOGGERS = ("marsad.kafka.librdkafka", "elastic_transport")
"""Loggers of the Kafka and Elasticsearch clients (reconnect/retry chatter), set to ``client_log_level``."""


def setup_logging(level: str = "INFO", client_log_level: str = "CRITICAL") -> None:
    """Log to stderr through rich; noisy third-party loggers are kept at WARNING, the Kafka/Elasticsearch client
    loggers (:data:`CLIENT_LOGGERS`) at ``client_log_level`` (``Settings.client_log_level``)."""
    logging.basicConfig(level=level.upper(), format="%(name)s: %(message)s", datefmt="[%X]",
                        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=True)],
                        force=True)
    for noisy in ("httpx", "httpcore", "trafilatura", "htmldate", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for client in CLIENT_LOGGERS:
        logging.getLogger(client).setLevel(client_log_level.upper())


def start_metrics_server(port: int) -> None:
    """Expose Prometheus metrics on ``127.0.0.1:port`` (``/metrics``)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr="127.0.0.1")
