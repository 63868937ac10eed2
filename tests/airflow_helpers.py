"""Running real Airflow (CLI in a subprocess, so its configuration never leaks into the test process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from marsad.demo.airflow import airflow_bin, airflow_env
from marsad.settings import Settings

DAGBAG_SCRIPT = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={folder!r})
print("@@" + json.dumps({{
    "errors": {{k: str(v) for k, v in bag.import_errors.items()}},
    "dags": {{d.dag_id: {{"tasks": sorted(t.task_id for t in d.tasks), "catchup": d.catchup,
                         "max_active_runs": d.max_active_runs,
                         "retries": d.default_args.get("retries"), "params": sorted(d.params.keys()),
                         "schedule": str(d.schedule) if hasattr(d, "schedule") else None}}
             for d in bag.dags.values()}},
}}))
"""


def env_for(settings: Settings, airflow_home: Path) -> dict[str, str]:
    env = airflow_env(settings, os.environ)
    env["AIRFLOW_HOME"] = str(airflow_home)
    return env


def dagbag(settings: Settings, airflow_home: Path) -> dict:
    """Parse the repo's dags/ with ``settings.sources_file``; returns ``{"errors": …, "dags": …}``."""
    from marsad.settings import REPO_ROOT

    out = subprocess.run([sys.executable, "-c", DAGBAG_SCRIPT.format(folder=str(REPO_ROOT / "dags"))],
                         env=env_for(settings, airflow_home), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("@@"))
    return json.loads(line[2:])


def migrate(env: dict[str, str]) -> None:
    out = subprocess.run([airflow_bin(), "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def dags_test(dag_id: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([airflow_bin(), "dags", "test", dag_id], env=env, capture_output=True, text=True,
                          timeout=900)
