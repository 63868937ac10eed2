"""A real Airflow 3 deployment for tests: PostgreSQL metadata DB, ``airflow scheduler`` (LocalExecutor),
``airflow dag-processor`` and ``airflow api-server`` as OS processes on free loopback ports.

Airflow 3 splits what ``airflow dags test`` does in one process into services: the dag-processor parses ``dags/``
into the metadata DB, the scheduler creates runs and queues task instances (pools, ``max_active_tis_per_dagrun``…),
its LocalExecutor runs each task in a process of its own, and every task talks to the API server's Execution API
(``[core] execution_api_server_url``) instead of the database. Each deployment gets a database of its own on the
stack's PostgreSQL (created here, dropped by :meth:`AirflowDeployment.close`) and an ``AIRFLOW_HOME`` in tmp, so
parallel test runs never share state.

Driver: ``postgresql+psycopg`` (psycopg 3, already a Marsad dependency) for the sync engine and
``postgresql+psycopg_async`` for Airflow's async engine — Airflow 3.3 would otherwise derive ``+asyncpg``, which is
not installed.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from marsad.demo.airflow import airflow_bin

START_TIMEOUT_S = 300.0
"""API server start-up on a loaded 2-core machine (imports + migrations check) stays far below this."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AirflowError(AssertionError):
    """A deployment step failed; the message carries the tail of the relevant log."""


class AirflowDeployment:
    """``with AirflowDeployment(env, home, pg_url) as af: af.trigger(dag_id)``.

    ``env``: the environment of Marsad's Airflow children (:func:`tests.airflow_helpers.env_for`); ``pg_url``: a
    ``postgresql://`` URL of the server whose new database ``db_name`` holds the metadata.
    """

    def __init__(self, env: dict[str, str], home: Path, pg_url: str, db_name: str, *, parallelism: int = 8) -> None:
        from urllib.parse import urlsplit, urlunsplit

        self.home, self.db_name = home, db_name
        self.port = free_port()
        parts = urlsplit(pg_url)
        self.admin_url = pg_url
        # the query keeps libpq parameters such as ``passfile=`` (SQLAlchemy hands them to psycopg.connect)
        sync = urlunsplit(("postgresql+psycopg", parts.netloc, f"/{db_name}", parts.query, ""))
        self.env = dict(env)
        self.env.update({
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sync,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": sync.replace("+psycopg:", "+psycopg_async:", 1),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # loopback test deployment: no login
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            # one secret for every process: the scheduler signs the task tokens the API server checks
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        })
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    # --- lifecycle ------------------------------------------------------------------------------------------------
    def __enter__(self) -> AirflowDeployment:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        import psycopg
        from psycopg import sql

        self.home.mkdir(parents=True, exist_ok=True)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.db_name)))
        out = subprocess.run([airflow_bin(), "db", "migrate"], env=self.env, capture_output=True, text=True,
                             timeout=900)
        if out.returncode != 0:
            raise AirflowError(f"airflow db migrate: {out.stdout[-2000:]}{out.stderr[-3000:]}")
        for name, args in (("api-server", ["api-server", "--port", str(self.port), "--host", "127.0.0.1"]),
                           ("dag-processor", ["dag-processor"]), ("scheduler", ["scheduler"])):
            log = self.home / f"{name}.log"
            self.logs[name] = log
            with open(log, "wb") as fh:
                self.procs[name] = subprocess.Popen([airflow_bin(), *args], env=self.env, stdout=fh,
                                                    stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_api()

    def _wait_api(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                self.get("/api/v2/monitor/health")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1.0)
        raise AirflowError(f"API server not answering on port {self.port}: {self.tail('api-server')}")

    def check_alive(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise AirflowError(f"airflow {name} exited with {p.returncode}: {self.tail(name)}")

    def tail(self, name: str, n: int = 4000) -> str:
        try:
            return self.logs[name].read_text(errors="replace")[-n:]
        except (KeyError, OSError):
            return ""

    def close(self) -> None:
        import psycopg
        from psycopg import sql

        for p in self.procs.values():  # each service runs in a session of its own: signal its whole group
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.db_name)))

    # --- REST API (``/api/v2``) --------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def wait_for_dags(self, dag_ids: list[str], timeout_s: float = 300.0) -> None:
        """Until the dag-processor has written every DAG of ``dag_ids`` (``GET /api/v2/dags/{id}`` answers)."""
        deadline = time.monotonic() + timeout_s
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            self.check_alive()
            missing = [d for d in missing if not self._exists(f"/api/v2/dags/{d}")]
            if not missing:
                return
            time.sleep(2.0)
        raise AirflowError(f"DAGs {missing} not parsed: {self.tail('dag-processor')}")

    def _exists(self, path: str) -> bool:
        try:
            self.get(path)
            return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str) -> str:
        """A manual run now (``POST /api/v2/dags/{id}/dagRuns``); returns its ``dag_run_id``."""
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]

    def wait_for_first_run(self, dag_id: str, timeout_s: float = 300.0) -> dict:
        """Poll ``GET /api/v2/dags/{id}/dagRuns`` until the scheduler has created a run; returns it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check_alive()
            found = self.get(f"/api/v2/dags/{dag_id}/dagRuns?order_by=run_after&limit=1")["dag_runs"]
            if found:
                return found[0]
            time.sleep(2.0)
        raise AirflowError(f"no run of {dag_id} after {timeout_s:.0f} s: {self.tail('scheduler')}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float = 600.0) -> str:
        """Poll the run until it leaves queued/running; returns its final state (``success``/``failed``)."""
        deadline = time.monotonic() + timeout_s
        state = "?"
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state not in ("queued", "running"):
                return state
            time.sleep(2.0)
        raise AirflowError(f"{dag_id} {run_id} still {state} after {timeout_s:.0f} s: {self.tail('scheduler')}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100")["task_instances"]
