"""``crawl_health``: one DAG over the whole registry: which sources failed, returned nothing, or only interstitials.

Reads the crawl reports the source DAGs write, writes ``<crawl_dir>/reports/health.json`` and FAILS the run when a
source failed (so it shows red in the UI and alerts like any failed task); empty and interstitial-only sources are
logged as warnings. Logic: :mod:`marsad.crawl.health`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="crawl_health",
    description="Health of every enabled crawl source from its last crawl report",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["marsad", "crawl", "health"],
)
def crawl_health():
    @task
    def check() -> dict:
        import logging

        from airflow.sdk.exceptions import AirflowFailException

        from marsad.crawl.health import crawl_health as run
        from marsad.crawl.health import health_path
        from marsad.crawl.registry import load_registry
        from marsad.settings import load_settings

        log = logging.getLogger("marsad.crawl.health")
        settings = load_settings()
        out = run(settings, load_registry(settings.sources_file))
        for status in ("empty", "interstitials-only"):
            for name in out["summary"][status]:
                log.warning("crawl source %s is %s: %s", name, status, "; ".join(out["sources"][name]["reasons"]))
        failed = out["summary"]["failed"]
        if failed:
            detail = "; ".join(f"{n}: {', '.join(out['sources'][n]['reasons'])}" for n in failed)
            raise AirflowFailException(f"{len(failed)} crawl sources failed ({health_path(settings)}): {detail}")
        return out["summary"]

    check()


crawl_health()
