"""DAG integrity: every DAG file imports, one DAG per enabled source, expected task ids and run settings."""

from __future__ import annotations

import pytest
import yaml

from marsad.settings import REPO_ROOT, load_settings

from ..airflow_helpers import dagbag

pytestmark = pytest.mark.airflow

NOT_CRAWL = {"marsad_replay"}
"""DAGs that do not come from the sources registry."""


def crawl_dags(bag: dict) -> dict:
    return {k: v for k, v in bag["dags"].items() if k not in NOT_CRAWL}


def test_one_dag_per_enabled_source_with_expected_tasks(tmp_path):
    registry = tmp_path / "sources.yaml"
    registry.write_text(yaml.safe_dump({"sources": [
        {"name": "site-a", "site": "http://127.0.0.1:1/a/", "feeds": ["http://127.0.0.1:1/a/feed.xml"],
         "timezone": "Asia/Beirut"},
        {"name": "site-b", "site": "http://127.0.0.1:1/b/", "feeds": ["http://127.0.0.1:1/b/feed.xml"],
         "schedule": "*/15 * * * *"},
        {"name": "site-off", "site": "http://127.0.0.1:1/c/", "feeds": [], "enabled": False},
    ]}), encoding="utf-8")
    bag = dagbag(load_settings(sources_file=registry), tmp_path / "airflow")
    assert bag["errors"] == {}
    assert set(bag["dags"]) == {"crawl_site_a", "crawl_site_b", "crawl_health", "marsad_replay"}
    for dag_id, dag in crawl_dags(bag).items():
        assert dag["catchup"] is False
        assert dag["max_active_runs"] == 1
        assert dag["retries"] >= 1
        if dag_id != "crawl_health":
            assert dag["tasks"] == ["discover", "fetch_and_publish"]
            assert dag["retries"] == 2
    assert bag["dags"]["crawl_health"]["tasks"] == ["check"]


def test_repository_registry_parses_into_dags(tmp_path):
    settings = load_settings(sources_file=REPO_ROOT / "sources.yaml")
    enabled = [s["name"] for s in yaml.safe_load(settings.sources_file.read_text())["sources"]
               if s.get("enabled", True)]
    bag = dagbag(settings, tmp_path / "airflow")
    assert bag["errors"] == {}
    assert len(crawl_dags(bag)) == len(enabled) + 1  # + crawl_health


def test_broken_registry_is_an_import_error_not_silence(tmp_path):
    registry = tmp_path / "sources.yaml"
    registry.write_text("sources:\n  - name: Bad Name\n    site: x\n", encoding="utf-8")
    bag = dagbag(load_settings(sources_file=registry), tmp_path / "airflow")
    assert set(crawl_dags(bag)) == {"crawl_health"}  # the health DAG reads the registry only when it runs
    assert any("invalid registry" in e and "sources.yaml:2" in e for e in bag["errors"].values())



def test_replay_dag_is_manual_with_its_params(tmp_path):
    bag = dagbag(load_settings(sources_file=REPO_ROOT / "sources.yaml"), tmp_path / "airflow")
    assert bag["errors"] == {}
    dag = bag["dags"]["marsad_replay"]
    assert dag["tasks"] == ["replay"]
    assert dag["params"] == ["from", "index", "source", "swap", "to"]
    assert dag["schedule"] in ("None", None)
    assert dag["catchup"] is False and dag["max_active_runs"] == 1
