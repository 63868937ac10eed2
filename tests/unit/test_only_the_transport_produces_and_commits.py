"""One transport (docs/decisions.md, "One Kafka transport, and a ledger of outcomes"): no module of ``src/marsad``
but :mod:`marsad.kafka.transport` calls the Kafka client's ``produce`` or commits consumer offsets
(``commit(offsets=…)`` / ``commit(asynchronous=…)``, ``commit(message=…)``) — the worker, replay, DLQ replay, the
crawl publisher, alerts and webhooks all go through it, so delivery checks and commit order live in one place.
A database ``commit()`` (no arguments) is not a Kafka call, and calls made *on* the transport
(``self.transport.commit``, ``Transport.commit_read``) are its own; neither is counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "marsad"
TRANSPORT = SRC / "kafka" / "transport.py"
COMMIT_KEYWORDS = {"offsets", "asynchronous", "message"}


def kafka_calls(path: Path) -> list[str]:
    """``"<file>:<line> <call>"`` for each ``x.produce(…)`` and each ``x.commit(…)`` with a Kafka keyword or a
    positional argument in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr
        if ast.unparse(node.func.value).lower().endswith("transport"):
            continue  # a call on the transport, not on the client
        if name == "produce" or (name == "commit" and (node.args or {k.arg for k in node.keywords} & COMMIT_KEYWORDS)):
            out.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}(…)")
    return out


def test_no_module_but_the_transport_produces_or_commits_offsets():
    found = [c for p in sorted(SRC.rglob("*.py")) if p != TRANSPORT for c in kafka_calls(p)]
    assert found == []


def test_the_check_sees_a_direct_commit_and_produce(tmp_path):
    src = tmp_path / "probe.py"
    src.write_text("def f(c, p, tps, db, self):\n    c.commit(offsets=tps, asynchronous=False)\n"
                   "    p.produce('t', value=b'')\n    db.commit()\n    self.transport.commit(c, [])\n")
    assert [c.split(" ", 1)[1] for c in kafka_calls(src)] == ["c.commit(…)", "p.produce(…)"]
    assert kafka_calls(TRANSPORT)  # the transport itself does both
