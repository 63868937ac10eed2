"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .routed_site import serve_routes


@pytest.fixture(scope="module")
def routed_site() -> Iterator[str]:
    """Base URL of a local HTTP site serving :data:`tests.integration.routed_site.ROUTES` (one per test module)."""
    with serve_routes() as url:
        yield url
