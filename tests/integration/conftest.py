"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.kafka.clients import ensure_topics

from .routed_site import serve_routes


@pytest.fixture(scope="module")
def routed_site() -> Iterator[str]:
    """Base URL of a local HTTP site serving :data:`tests.integration.routed_site.ROUTES` (one per test module)."""
    with serve_routes() as url:
        yield url


@pytest.fixture
def env(names):
    """``(settings, Es)`` with this test's index templates applied and topics created (a module may define its own)."""
    es = Es(names.es_url)
    apply_templates(names, es)
    ensure_topics(names)
    return names, es
