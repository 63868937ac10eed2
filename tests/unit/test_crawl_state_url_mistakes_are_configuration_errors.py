"""A crawl state URL libpq refuses is a configuration error (one line, exit 2), not an outage retried: before, an
unknown query parameter raised psycopg's ``ProgrammingError`` out of ``marsad crawl`` as a traceback, and
``sslmode=bogus`` was reported as "unreachable … is the stack up?" (exit 1). A closed port stays an outage.
No server is needed: libpq refuses these URLs before connecting (port 1 is closed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from marsad.crawl.pgstate import connect
from marsad.errors import ConfigError, TransientError

BASE = "postgresql://marsad@127.0.0.1:1/marsad"


@pytest.mark.parametrize("query, says", [("sslmode=bogus", 'invalid sslmode value: "bogus"'),
                                         ("foo=bar", 'invalid URI query parameter: "foo"')])
def test_a_url_libpq_refuses_is_a_configuration_error(query: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        connect(f"{BASE}?{query}")


def test_a_closed_port_is_an_outage() -> None:
    with pytest.raises(TransientError, match="unreachable"):
        connect(f"{BASE}?connect_timeout=2")


def test_marsad_crawl_says_it_in_one_line(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
    env.update(MARSAD_STATE_DIR=str(tmp_path), MARSAD_CRAWL_STATE_URL=f"{BASE}?foo=bar")
    proc = subprocess.run([sys.executable, "-m", "marsad.cli", "crawl"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: crawl state URL"), proc.stderr
