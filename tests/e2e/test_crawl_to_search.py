"""End to end: Airflow DAG run → Kafka → extract → index → Arabic search, on real corpus pages."""

from __future__ import annotations

import pytest

from marsad.demo.server import serve
from marsad.demo.site import build_sites, write_registry
from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.kafka.clients import topic_message_count
from marsad.pipeline import drain
from marsad.search import search

from ..airflow_helpers import dags_test, env_for, migrate

pytestmark = [pytest.mark.services, pytest.mark.airflow]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dag_run_to_arabic_search(names, corpus, tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    sites = {k: v for k, v in build_sites(corpus, base).items() if k in ("aggregator", "cnn-arabic")}
    assert set(sites) == {"aggregator", "cnn-arabic"}
    registry = tmp_path / "sources.yaml"
    write_registry(sites, base, registry)
    settings = names.model_copy(update={"sources_file": registry, "demo_site_port": port})
    apply_templates(settings)
    env = env_for(settings, tmp_path / "airflow")
    migrate(env)
    server = serve(sites, port=port)
    try:
        for dag_id in ("crawl_aggregator", "crawl_cnn_arabic"):
            run = dags_test(dag_id, env)
            assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    finally:
        server.stop()
    assert topic_message_count(settings, settings.raw_pages_topic) == 5  # 1 aggregator page + 4 CNN copies

    stats = drain(settings)
    assert stats["extract"]["outcomes"].get("ok") == 5
    assert stats["index"]["outcomes"] == {"indexed": 2, "duplicate": 3}
    Es(settings.es_url).request("POST", f"/{settings.stories_alias}/_refresh")

    total, hits = search(settings, "حاملات طائرات")
    assert total == 1
    assert hits[0].source == "aggregator"
    assert any("حاملات" in s for s in hits[0].snippets)

    total, hits = search(settings, "مخازن الصواريخ دمشق")
    assert total == 1 and hits[0].republication_count == 3

    # a second DAG run finds nothing new: seen URLs are not fetched again
    server = serve(sites, port=port)
    try:
        assert dags_test("crawl_cnn_arabic", env).returncode == 0
    finally:
        server.stop()
    assert topic_message_count(settings, settings.raw_pages_topic) == 5
