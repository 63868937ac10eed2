"""A private Kafka + Elasticsearch for fault tests: its own state dir and ports, so stopping or killing an engine never
touches the shared stack (9092/9200) other tests and engineers use.

Ports and state dir are derived from this checkout's path (two worktrees get two stacks), or set with
``MARSAD_PRIVATE_STACK_DIR`` / ``MARSAD_PRIVATE_STACK_PORT`` (Kafka client port; controller +1, ES HTTP +2,
PostgreSQL +3, ES transport +102). The stack stays up between test sessions (``marsad stack up`` is idempotent and
reuses it); stop it with ``MARSAD_STATE_DIR=<dir> MARSAD_KAFKA_BOOTSTRAP=… marsad stack down`` or
:meth:`PrivateStack.down`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

from marsad import stack
from marsad.settings import Settings, load_settings, to_env

REPO = Path(__file__).resolve().parents[1]


def private_settings() -> Settings:
    """Settings of this checkout's private stack (see module docstring)."""
    base = int(os.environ.get("MARSAD_PRIVATE_STACK_PORT") or 20000 + (zlib.crc32(str(REPO).encode()) % 400) * 10)
    state = Path(os.environ.get("MARSAD_PRIVATE_STACK_DIR") or f"/tmp/marsad-private-stack-{base}")
    return load_settings(state_dir=state, kafka_bootstrap=f"127.0.0.1:{base}", kafka_controller_port=base + 1,
                         es_url=f"http://127.0.0.1:{base + 2}", postgres_port=base + 3, es_heap="512m",
                         kafka_heap="384m")


class PrivateStack:
    """Start/stop/kill the private engines. ``settings``: their addresses (topic names are the caller's)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or private_settings()

    def up(self) -> None:
        """Start whatever is not running and wait until both engines serve (idempotent)."""
        stack.up(self.settings)

    def down(self) -> None:
        stack.down(self.settings)

    def _pid(self, name: str) -> int:
        from marsad.stack import _own_pid, _services

        svc = {s.name: s for s in _services(self.settings)}[name]
        pid = _own_pid(svc)
        assert pid is not None, f"private {name} is not running"
        return pid

    def kill_kafka(self) -> None:
        """SIGKILL the private broker (a crash: no controlled shutdown, no leader hand-over)."""
        pid = self._pid("kafka")
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)

    def stop_es(self) -> None:
        """SIGTERM the private Elasticsearch node and wait until the process is gone (an outage, not a pause)."""
        pid = self._pid("elasticsearch")
        os.kill(pid, signal.SIGTERM)
        _wait_gone(pid, 60)

    def env(self, settings: Settings, **extra: object) -> dict[str, str]:
        """Environment of a ``marsad`` child process using ``settings`` (names and addresses) plus ``extra``
        settings (``MARSAD_<NAME>``), with this checkout's ``src`` first on ``PYTHONPATH``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
        env.update(to_env(settings))
        env["MARSAD_KAFKA_CONTROLLER_PORT"] = str(settings.kafka_controller_port)
        for k, v in extra.items():
            env[f"MARSAD_{k.upper()}"] = str(v)
        env["PYTHONPATH"] = f"{REPO / 'src'}{os.pathsep}{env.get('PYTHONPATH', '')}"
        env["COLUMNS"] = "200"
        return env

    def consume(self, settings: Settings, stage: str, log_path: Path, *, until_idle: bool = True,
                **extra: object) -> subprocess.Popen:
        """Start ``marsad consume <stage> [--until-idle]`` as an OS process; stdout+stderr go to ``log_path``."""
        cmd = [str(Path(sys.executable).with_name("marsad")), "consume", stage]
        if until_idle:
            cmd.append("--until-idle")
        out = log_path.open("ab")
        return subprocess.Popen(cmd, env=self.env(settings, **extra), stdout=out, stderr=subprocess.STDOUT,
                                cwd=REPO)


def _wait_gone(pid: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # a zombie child of this interpreter counts as gone once reaped
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"process {pid} still alive after {timeout_s} s")
