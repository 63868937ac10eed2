"""One crawl DAG per enabled source of the sources registry (Airflow 3, TaskFlow, ``airflow.sdk``).

The registry is ``MARSAD_SOURCES_FILE`` (default: ``sources.yaml`` at the repository root). Parse time only
reads the registry (YAML + pydantic); network and Kafka code is imported inside the tasks.
Task ids: ``discover`` → ``fetch_and_publish``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from marsad.crawl.registry import Source, load_registry
from marsad.settings import load_settings


def build_crawl_dag(source: Source):
    @dag(
        dag_id=source.dag_id,
        description=f"Crawl {source.site}: feeds -> new article pages -> Kafka raw-pages topic",
        schedule=source.schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True},
        tags=["marsad", "crawl", source.language],
    )
    def crawl():
        @task
        def discover() -> list[str]:
            from marsad.crawl.run import discover as run_discover

            return run_discover(load_settings(), source)

        @task
        def fetch_and_publish(urls: list[str]) -> dict[str, int]:
            from marsad.crawl.run import fetch_and_publish as run_fetch, write_report

            settings = load_settings()
            counts = run_fetch(settings, source, urls)
            counts["discovered"] = len(urls)
            write_report(settings, source.name, counts)
            return counts

        fetch_and_publish(discover())

    return crawl()


for _source in load_registry(load_settings().sources_file):
    if _source.enabled:
        globals()[_source.dag_id] = build_crawl_dag(_source)
