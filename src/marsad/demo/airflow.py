"""Running DAGs the way the demo (and the DAG tests) do: ``airflow dags test`` in a child process, SQLite metadata DB
under the state dir, Marsad's ``dags/`` folder and settings in the environment."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from marsad.settings import REPO_ROOT, Settings, to_env


def airflow_env(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """Environment for ``airflow`` child processes: SQLite home under the state dir, our DAG folder, settings."""
    env = dict(environ)
    env.update(to_env(settings))
    env.update({
        "AIRFLOW_HOME": str(Path(settings.state_dir) / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    })
    return env


def airflow_bin() -> str:
    path = Path(sys.executable).parent / "airflow"
    return str(path) if path.exists() else "airflow"


def run_dag(dag_id: str, env: Mapping[str, str], log_path: Path) -> int:
    """``airflow dags test <dag_id>``; output appended to ``log_path``; returns the exit code."""
    with open(log_path, "ab") as log:
        return subprocess.run([airflow_bin(), "dags", "test", dag_id], env=dict(env), stdout=log,
                              stderr=subprocess.STDOUT, check=False).returncode


def migrate_airflow(env: Mapping[str, str], log_path: Path) -> None:
    """``airflow db migrate`` (idempotent). Raises :class:`RuntimeError` with the log path on failure."""
    with open(log_path, "ab") as log:
        rc = subprocess.run([airflow_bin(), "db", "migrate"], env=dict(env), stdout=log,
                            stderr=subprocess.STDOUT, check=False).returncode
    if rc != 0:
        raise RuntimeError(f"airflow db migrate failed (exit {rc}); see {log_path}")
