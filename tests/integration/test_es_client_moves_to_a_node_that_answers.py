"""``es_url`` with several nodes: a node that refuses connections does not fail a request, the client moves to a node
that answers (elastic-transport's node pool), for every request in a row — what keeps the index stage writing when one
node of a cluster dies (tests/faults/test_pipeline_survives_a_broker_and_an_es_node_lost.py is the full proof)."""

from __future__ import annotations

import socket

import pytest

from marsad.errors import TransientError
from marsad.index.es import Es
from marsad.settings import Settings

pytestmark = pytest.mark.services


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_requests_succeed_with_a_dead_node_listed_first(services: Settings) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    es = Es(f"{dead},{services.es_url}")
    try:
        for _ in range(6):  # round-robin would put every other request on the dead node
            assert es.request("GET", "/")["version"]["number"] == "7.10.2"
    finally:
        es.close()


def test_all_nodes_dead_is_a_transient_error_naming_them() -> None:
    urls = f"http://127.0.0.1:{closed_port()},http://127.0.0.1:{closed_port()}"
    es = Es(urls, request_timeout_s=2)
    with pytest.raises(TransientError, match="unreachable"):
        es.request("GET", "/")
    assert es.url == urls
