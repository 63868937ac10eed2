"""The replay DAG run by real Airflow (``airflow dags test`` with params) against the real Kafka and Elasticsearch."""

from __future__ import annotations

import json
import subprocess

import pytest

from marsad.demo.airflow import airflow_bin
from marsad.index.es import Es, doc_id
from marsad.index.templates import alias_targets, apply_templates
from marsad.kafka import clients

from ..airflow_helpers import env_for, migrate
from ..integration.test_replay import T0, page, produce

pytestmark = [pytest.mark.airflow, pytest.mark.services]


def test_replay_dag_replays_the_window_and_swaps(names, tmp_path):
    es = Es(names.es_url)
    apply_templates(names, es)
    clients.ensure_topics(names)
    produce(names, [(page(1), 0), (page(2), 10)])
    env = env_for(names, tmp_path / "airflow")
    migrate(env)
    v2 = f"{names.stories_index_prefix}2"
    conf = {"from": (T0.replace(minute=5)).isoformat(), "index": v2, "swap": True}
    out = subprocess.run([airflow_bin(), "dags", "test", "marsad_replay", "--conf", json.dumps(conf)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert alias_targets(es, names.stories_alias) == [v2]
    es.request("POST", f"/{v2}/_refresh")
    ids = {h["_id"] for h in es.request("POST", f"/{v2}/_search", {"size": 10})["hits"]["hits"]}
    assert ids == {doc_id("https://alpha.example/news/2")}  # only the page inside the window
