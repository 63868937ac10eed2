"""Replay raw pages from Kafka into a new index version (Airflow 3, TaskFlow, ``airflow.sdk``); manual trigger only.

Trigger with params, e.g. ``airflow dags trigger marsad_replay --conf '{"from": "2026-01-16T00:00:00Z",
"index": "marsad-stories-v2", "swap": true}'``. The task runs :func:`marsad.replay.replay` (what ``marsad replay``
runs) and returns its counts; all Kafka/Elasticsearch code is imported inside the task.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="marsad_replay",
    description="Replay raw pages (offsets_for_times window) into a new stories index version; optional alias swap",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 0},  # a failed replay is looked at, not retried blindly (re-running it is safe)
    params={
        "from": Param(type="string", minLength=10, description="ISO 8601 start (Kafka record time; no offset = UTC)"),
        "to": Param(None, type=["null", "string"], description="ISO 8601 end, exclusive; null = the topic's end"),
        "source": Param(None, type=["null", "string"], description="Only raw pages of this source"),
        "index": Param(type="string", pattern="^[a-z0-9][a-z0-9._-]*$",
                       description="New index version, e.g. marsad-stories-v2"),
        "swap": Param(False, type="boolean", description="Move the read aliases to the new index when done"),
    },
    tags=["marsad", "replay"],
)
def marsad_replay():
    @task
    def replay() -> dict:
        from airflow.sdk import get_current_context

        from marsad.replay import parse_instant
        from marsad.replay import replay as run
        from marsad.settings import load_settings

        p = get_current_context()["params"]
        stats = run(load_settings(), parse_instant(p["from"]), parse_instant(p["to"]) if p.get("to") else None,
                    p["index"], source=p.get("source"), swap=bool(p.get("swap")))
        if stats.swap_refused:  # the replay ran, but the alias was not moved: the run must not look green
            raise RuntimeError(f"swap refused: {stats.swap_refused}; counts: {stats.as_dict()}")
        return stats.as_dict()

    replay()


marsad_replay()
