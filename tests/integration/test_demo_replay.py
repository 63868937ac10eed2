"""The demo's replay step (``marsad.demo.runner.show_replay``) in isolation, on its own topics and indices."""

from __future__ import annotations

import pytest
from rich.console import Console

from marsad.demo.runner import show_replay
from marsad.index.es import Es
from marsad.index.templates import alias_targets, apply_templates
from marsad.kafka import clients
from marsad.pipeline import drain

from .test_replay import page, produce

pytestmark = pytest.mark.services


def test_show_replay_rebuilds_into_the_next_version_and_swaps(names):
    es = Es(names.es_url)
    apply_templates(names, es)
    clients.ensure_topics(names)
    produce(names, [(page(n), n) for n in range(1, 5)] + [(page(9, source="beta", seed=1), 9)])  # 9 copies 1
    drain(names)  # the live pipeline fills v1
    es.request("POST", f"/{names.stories_alias}/_refresh")
    live = {h["_id"] for h in es.request("POST", f"/{names.stories_alias}/_search", {"size": 50})["hits"]["hits"]}
    assert len(live) == 4

    console = Console(record=True, width=240)
    assert show_replay(names, console) is True
    out = console.export_text()
    v1, v2 = names.stories_index_v1, f"{names.stories_index_prefix}2"
    assert f"{v1} → {v2}: 5 raw pages replayed" in out
    assert f"alias {names.stories_alias} → {v2} (4 stories; before: 4)" in out
    assert alias_targets(es, names.stories_alias) == [v2]
    assert alias_targets(es, names.fingerprints_index) == [f"{names.fingerprints_index}-v2"]
    got = {h["_id"] for h in es.request("POST", f"/{names.stories_alias}/_search", {"size": 50})["hits"]["hits"]}
    assert got == live
