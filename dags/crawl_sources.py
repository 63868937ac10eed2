"""One crawl DAG per enabled source of the sources registry (Airflow 3, TaskFlow, ``airflow.sdk``).

The registry is ``MARSAD_SOURCES_FILE`` (default: ``sources.yaml`` at the repository root). Parse time only
reads the registry (YAML + pydantic); network and Kafka code is imported inside the tasks.

Tasks: ``discover`` (feeds, sitemaps, section pages → the source's pending frontier URLs, split into batches of
``settings.fetch_batch_size``) → ``fetch_and_publish`` mapped over the batches (``.expand``) with
``max_active_tis_per_dagrun = max_parallel``: with ``max_active_runs=1`` that bounds the fetches in flight for the
source; per-host spacing across all workers is the fetcher's job. Each fetch task adds its counts to the run's
crawl report (``<crawl_dir>/reports/crawl-<source>.json``, :func:`marsad.crawl.batches.record_batch`): no separate
report task, as every task instance costs start-up time in the demo's ``airflow dags test``.
Every task is idempotent for its data interval: discovery returns the frontier, which only shrinks when Kafka has
acknowledged a page; the index ``_id`` makes a re-published page harmless.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from marsad.crawl.registry import Source, load_registry
from marsad.settings import load_settings


def build_crawl_dag(source: Source, retry_delay_s: float = 120.0):
    @dag(
        dag_id=source.dag_id,
        description=f"Crawl {source.site}: feeds, sitemaps, section pages -> new article pages -> Kafka raw pages",
        schedule=source.schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args={"retries": 2, "retry_delay": timedelta(seconds=retry_delay_s),
                      "retry_exponential_backoff": True},
        tags=["marsad", "crawl", source.language],
    )
    def crawl():
        @task
        def discover() -> list[dict]:
            from marsad.crawl.batches import plan_batches
            from marsad.crawl.discover import discover_source
            from marsad.crawl.run import discovery_counts

            settings = load_settings()
            found = discover_source(settings, source)
            batches = plan_batches(found.urls, settings.fetch_batch_size)
            # the discovery counts ride on the first batch, so the report sums one kind of thing
            return [{"urls": b, "counts": discovery_counts(found.counts) if i == 0 else {}}
                    for i, b in enumerate(batches)]

        @task(max_active_tis_per_dagrun=source.max_parallel)
        def fetch_and_publish(batch: dict) -> dict[str, int]:
            from collections import Counter

            from airflow.sdk import get_current_context

            from marsad.crawl.batches import record_batch
            from marsad.crawl.run import fetch_and_publish as run_fetch

            settings = load_settings()
            counts = Counter(batch["counts"])
            counts["discovered"] += len(batch["urls"])
            if batch["urls"]:
                counts.update(run_fetch(settings, source, batch["urls"]))
            ctx = get_current_context()
            return record_batch(settings, source.name, ctx["run_id"], ctx["ti"].map_index, dict(counts))

        fetch_and_publish.expand(batch=discover())

    return crawl()


_settings = load_settings()
for _source in load_registry(_settings.sources_file):
    if _source.enabled:
        globals()[_source.dag_id] = build_crawl_dag(_source, _settings.crawl_task_retry_delay_s)
