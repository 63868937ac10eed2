"""Every confluent-kafka client Marsad builds (``Producer``, ``Consumer``, ``AdminClient`` in ``src/`` and
``benchmarks/``) gets :func:`marsad.kafka.clients.security_config`: the function that constructs one also calls it.
A new client built without it would talk PLAINTEXT to a SASL_SSL cluster (refused) or — worse — ignore the operator's
settings; this test names the place. (Tests build their own clients against the shared plaintext stack.)"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLIENTS = {"Producer", "Consumer", "AdminClient"}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def constructions_without_security() -> list[str]:
    missing = []
    for path in sorted([*(REPO / "src").rglob("*.py"), *(REPO / "benchmarks").rglob("*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call) and _name(n.func) in CLIENTS]
            uses = any(isinstance(n, (ast.Name, ast.Attribute)) and _name(n) == "security_config"
                       for n in ast.walk(fn))
            missing += [f"{path.relative_to(REPO)}:{c.lineno} {fn.name}()" for c in calls if not uses]
    return missing


def test_every_client_construction_uses_security_config() -> None:
    assert constructions_without_security() == []


def test_the_check_sees_the_client_factories() -> None:
    """The scan finds the factories it guards (a scan that found nothing would pass for nothing)."""
    tree = ast.parse((REPO / "src/marsad/kafka/clients.py").read_text(encoding="utf-8"))
    found = {fn.name for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef)
             and any(isinstance(n, ast.Call) and _name(n.func) in CLIENTS for n in ast.walk(fn))}
    assert {"producer", "consumer", "admin", "read_to_end"} <= found
