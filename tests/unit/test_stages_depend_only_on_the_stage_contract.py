"""The extract and index stages depend on the stage contract (:mod:`marsad.stage`: records in, outcomes out), never on
the worker, the transport or the Kafka client: offsets, retries and the dead-letter topic are the worker's business
(docs/decisions.md, "One Kafka transport, and a ledger of outcomes"). Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "marsad"
STAGES = ["extract/stage.py", "index/stage.py"]
FORBIDDEN = ("confluent_kafka", "marsad.kafka")


def imported_modules(path: Path) -> set[str]:
    """Every module named by an ``import``/``from … import`` anywhere in ``path`` (absolute names only)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


@pytest.mark.parametrize("module", STAGES)
def test_stage_imports_neither_the_worker_nor_the_kafka_client(module):
    bad = sorted(m for m in imported_modules(SRC / module)
                 if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert bad == [], f"{module} imports {bad}"
    assert "marsad.stage" in imported_modules(SRC / module)


def test_the_check_sees_imports_inside_functions(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from marsad.kafka.worker import Worker\n    import confluent_kafka\n")
    assert {"marsad.kafka.worker", "confluent_kafka"} <= imported_modules(src)
