"""``MARSAD_STACK_NODES=3`` — what `marsad stack up --nodes 3` tells clients to set — is read as 3 (``Literal[1, 3]``
matches ints, the environment gives the string ``"3"``); other values are refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from marsad.settings import load_settings


@pytest.mark.parametrize(("value", "nodes"), [("3", 3), ("1", 1), (" 3 ", 3)])
def test_stack_nodes_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str, nodes: int) -> None:
    monkeypatch.setenv("MARSAD_STACK_NODES", value)
    assert load_settings().stack_nodes == nodes


@pytest.mark.parametrize("value", ["2", "three", ""])
def test_other_node_counts_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MARSAD_STACK_NODES", value)
    with pytest.raises(ValidationError, match="stack_nodes"):
        load_settings()
