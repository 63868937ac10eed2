"""``marsad audit`` on a user's mistake in its window: one ``error:`` line on stderr, exit 2, no traceback — and no
Kafka needed to say so (the bootstrap address points nowhere)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from marsad.cli import app

NOWHERE = {"MARSAD_KAFKA_BOOTSTRAP": "127.0.0.1:1", "MARSAD_KAFKA_ADMIN_TIMEOUT_S": "2"}


@pytest.mark.parametrize(("args", "says"), [
    (["--since", "yesterday"], "'yesterday' is not an ISO 8601 date"),
    (["--since", "2026-03-02", "--until", "2026-03-01"], "--until"),
    (["--since", "2026-03-01T08:00:00+03:00", "--until", "2026-03-01T05:00:00Z"], "--until"),  # the same instant
])
def test_a_bad_window_is_one_line_and_exit_2(args, says):
    res = CliRunner().invoke(app, ["audit", *args], env=NOWHERE)
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], res.stderr
    assert "Traceback" not in res.output
