"""A crawl DAG really run (``dag.test``, as ``airflow dags test`` does) against the trap site and real Kafka,
with the scheduler's own queueing decision checked when the mapped fetch tasks are all waiting.

``dag.test`` runs task instances one by one and ignores pools and concurrency limits, so the bound on parallel
fetches is checked with the code the real scheduler uses to move task instances to QUEUED
(``SchedulerJobRunner._executable_task_instances_to_queued``: pools, ``max_active_tis_per_dagrun``…), called at
the moment every mapped ``fetch_and_publish`` instance is SCHEDULED.
"""

from __future__ import annotations

import json
import subprocess
import sys

import orjson
import pytest
import yaml

from marsad.settings import REPO_ROOT

from ..airflow_helpers import dags_test, env_for, migrate

pytestmark = [pytest.mark.airflow, pytest.mark.services]

SCRIPT = """
import json
import airflow.sdk.definitions.dag as sdk_dag
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder={folder!r})
dag = bag.get_dag({dag_id!r})
assert dag is not None, bag.import_errors
original = sdk_dag._run_task
seen = {{}}

def run_task(*, ti, task, **kw):
    if ti.task_id == "fetch_and_publish" and "queued" not in seen:
        from airflow.jobs.job import Job
        from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
        from airflow.models.taskinstance import TaskInstance as TI
        from airflow.utils.session import create_session
        from sqlalchemy import select
        with create_session() as s:
            waiting = s.scalars(select(TI).where(TI.task_id == "fetch_and_publish", TI.state == "scheduled")).all()
            queued = SchedulerJobRunner(job=Job())._executable_task_instances_to_queued(max_tis=64, session=s)
            seen["scheduled"] = len(waiting)
            seen["queued"] = sorted(t.map_index for t in queued if t.task_id == "fetch_and_publish")
    return original(ti=ti, task=task, **kw)

sdk_dag._run_task = run_task
dr = dag.test()
print("@@" + json.dumps({{"state": str(dr.state), **seen}}))
"""


def test_crawl_dag_run_publishes_and_bounds_mapped_fetches(names, crawl_site, tmp_path):
    from marsad.kafka.clients import ensure_topics

    registry = tmp_path / "sources.yaml"
    registry.write_text(yaml.safe_dump({"sources": [
        {"name": "trap", "site": crawl_site.url("/d/"), "max_parallel": 2,
         "feeds": [crawl_site.url("/d/rss2.xml")], "section_pages": [crawl_site.url("/d/section")]},
        {"name": "never-run", "site": crawl_site.url("/d/"), "feeds": [crawl_site.url("/d/atom.xml")]}]}))
    s = names.model_copy(update={"sources_file": registry, "fetch_batch_size": 1})
    ensure_topics(s)
    env = env_for(s, tmp_path / "airflow")
    env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"  # the scheduler queues nothing of a paused DAG
    migrate(env)
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(folder=str(REPO_ROOT / "dags"), dag_id="crawl_trap")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(next(ln for ln in out.stdout.splitlines() if ln.startswith("@@"))[2:])
    # 2 feed links + 3 section links = 5 URLs, batch size 1: five mapped instances wait, the scheduler queues 2
    assert result["scheduled"] == 5
    assert len(result["queued"]) == 2, out.stdout[-3000:] + out.stderr[-3000:]
    assert result["state"].endswith("success")
    report = orjson.loads((s.crawl_dir / "reports" / "crawl-trap.json").read_bytes())
    c = report["counts"]
    assert c["discovered"] == 5 and c["discover:polled"] == 2
    # the two feed articles are served; the three section links are 404 on the trap site (refused, not lost)
    assert c["published"] == 2 and c["refused:http-404"] == 3

    # crawl_health over the registry: trap is ok, never-run has no report -> the health run fails visibly
    health = dags_test("crawl_health", env)
    out_health = orjson.loads((s.crawl_dir / "reports" / "health.json").read_bytes())
    assert out_health["summary"]["ok"] == ["trap"] and out_health["summary"]["failed"] == ["never-run"]
    assert health.returncode != 0 and "1 crawl sources failed" in health.stdout + health.stderr
