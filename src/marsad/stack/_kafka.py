"""The local Kafka broker: KRaft, one node that is broker and controller, on 127.0.0.1.

Jars: ``org.apache.kafka:kafka_2.13:<Settings.kafka_version>`` + ``log4j-slf4j-impl`` (see ``kafka-pom.xml``).
Start-up follows the Kafka quickstart for a standalone KRaft controller: ``kafka.tools.StorageTool format
--standalone`` once (when ``data/meta.properties`` is missing), then ``kafka.Kafka server.properties``.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import uuid
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from marsad.kafka.clients import HEADROOM, security_config
from marsad.settings import Settings

from ._common import (
    BIND_HOST,
    Say,
    StackError,
    check_port,
    ensure_libs,
    last_line,
    parse_heap,
    parse_kafka_bootstrap,
    parse_kafka_ports,
    port_answers,
    read_resource,
)
from ._kafka_secure import KafkaSecrets, _write_secret
from ._service import Service

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

KAFKA_MAIN = "kafka.Kafka"
"""Main class of the broker (what Kafka's bin/kafka-server-start.sh runs)."""
RETENTION_HOURS = 720
"""Broker default retention (30 days; Kafka's default is 168 h): replays re-read old raw pages."""
LOG4J_SLF4J_VERSION = "2.25.5"
"""log4j-slf4j-impl version in kafka-pom.xml (Kafka's SLF4J 1.7 API -> log4j2)."""
FORMAT_TIMEOUT_S = 120.0

# JVM flags of Kafka's bin/kafka-run-class.sh (KAFKA_JVM_PERFORMANCE_OPTS) minus the GC log.
KAFKA_JVM_OPTS = [
    "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
]  # fmt: skip


def _escape(value: str) -> str:
    """Escape a value for a Java .properties file (backslashes only; our values have no newlines)."""
    return value.replace("\\", "\\\\")


def render_server_properties(settings: Settings, *, log_dir: Path) -> str:
    """``server.properties`` text for ``settings`` (template ``kafka-server.properties``).

    Ports: ``kafka_bootstrap`` (client, Kafka default 9092) and ``kafka_controller_port`` (KRaft controller,
    Kafka quickstart default 9093). ``message.max.bytes`` = ``max_message_bytes`` + 64 KiB (bytes).
    Raises :class:`StackError` on a non-loopback/invalid bootstrap or equal ports.
    """
    port = parse_kafka_bootstrap(settings.kafka_bootstrap)
    controller_port = check_port(settings.kafka_controller_port, "MARSAD_KAFKA_CONTROLLER_PORT")
    if controller_port == port:
        raise StackError(f"MARSAD_KAFKA_CONTROLLER_PORT must differ from the Kafka client port {port}")
    return _render(settings, port=port, controller_port=controller_port, log_dir=log_dir)


def _render(settings: Settings, *, port: int, controller_port: int, log_dir: Path) -> str:
    return Template(read_resource("kafka-server.properties")).substitute(
        port=port,
        controller_port=controller_port,
        log_dirs=_escape(str(log_dir)),
        num_partitions=settings.topic_partitions,
        message_max_bytes=settings.max_message_bytes + HEADROOM,
        retention_hours=RETENTION_HOURS,
    )


CLUSTER_OVERRIDES = {
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "share.coordinator.state.topic.replication.factor": "3",
    "share.coordinator.state.topic.min.isr": "2",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
}
"""Broker settings of a 3-node cluster that differ from the single node's: every internal topic with 3 replicas, at
least 2 in sync for a write (what Kafka's documentation recommends for production; one broker can then fail without
losing an acknowledged write or stopping writes). ``default.replication.factor``/``min.insync.replicas`` cover
topics created by other tools; Marsad creates its own with the same values
(:func:`marsad.kafka.clients.replication`)."""


def render_node_properties(settings: Settings, *, log_dir: Path, node: int) -> str:
    """``server.properties`` of node ``node`` (0-based; ``node.id`` = ``node + 1``) of a ``settings.stack_nodes``
    KRaft cluster: the single-node template with this node's ports (client port = entry ``node`` of
    ``kafka_bootstrap``, controller port = ``kafka_controller_port + node``), a static controller quorum of all nodes
    (``controller.quorum.voters``, each node broker and controller) and :data:`CLUSTER_OVERRIDES`.
    Raises :class:`StackError` on a bootstrap list of another length, non-loopback hosts, or colliding ports.
    """
    nodes = settings.stack_nodes
    ports = parse_kafka_ports(settings.kafka_bootstrap, nodes)
    first_controller = check_port(settings.kafka_controller_port, "MARSAD_KAFKA_CONTROLLER_PORT")
    controllers = [check_port(first_controller + i, "MARSAD_KAFKA_CONTROLLER_PORT") for i in range(nodes)]
    if set(ports) & set(controllers) or len(set(ports)) != nodes:
        raise StackError(f"Kafka ports collide: clients {ports}, controllers {controllers} "
                         "(MARSAD_KAFKA_BOOTSTRAP, MARSAD_KAFKA_CONTROLLER_PORT + node)")
    text = _render(settings, port=ports[node], controller_port=controllers[node], log_dir=log_dir)
    text = text.replace("# One node: every internal topic has a single replica.",
                        f"# Cluster of {nodes}: internal topics replicated (overridden below).")
    voters = ",".join(f"{i + 1}@{BIND_HOST}:{c}" for i, c in enumerate(controllers))
    overrides: dict[str, str | None] = {
        "node.id": str(node + 1),
        "controller.quorum.bootstrap.servers": None,
        "controller.quorum.voters": voters,
        **CLUSTER_OVERRIDES,
    }
    return override_properties(text, overrides,
                               f"Node {node + 1} of a {nodes}-node cluster (marsad stack up --nodes {nodes}).")


def override_properties(text: str, overrides: dict[str, str | None], heading: str) -> str:
    """``text`` (a ``.properties`` file) with each key of ``overrides`` set in place (``None``: line removed); keys
    not in ``text`` are appended under ``# heading``."""
    overrides = dict(overrides)
    lines = []
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else None
        if key in overrides:
            value = overrides.pop(key)
            if value is None:
                continue
            line = f"{key}={value}"
        lines.append(line)
    rest = [f"{k}={v}" for k, v in overrides.items() if v is not None]
    if rest:
        lines += ["", f"# {heading}", *rest]
    return "\n".join(lines) + "\n"


def render_secure(text: str, kafka_secrets: KafkaSecrets, *, port: int, controller_port: int, node_id: int) -> str:
    """A node's plaintext ``server.properties`` turned into the secure one of ``marsad stack up --secure``
    (:meth:`KafkaSecrets.broker_overrides`: SASL_SSL client and inter-broker listener, mutual-TLS controller
    listener, no secret in the file)."""
    overrides = kafka_secrets.broker_overrides(port=port, controller_port=controller_port, node_id=node_id)
    return override_properties(text, dict(overrides),
                               "Secure listeners (marsad stack up --secure): SASL/SCRAM-SHA-512 over TLS; "
                               "controllers over mutual TLS.")


SECURITY_MARKER = "marsad-security-mode"
"""File in a node's data dir, written after the storage format: ``secure`` or ``plaintext`` (see
:meth:`KafkaService._check_security_mode`)."""


def _argfile_quote(arg: str) -> str:
    """One argument of a java ``@argfile`` line: double-quoted, backslashes doubled (JDK launcher syntax)."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def new_cluster_id() -> str:
    """A KRaft cluster id like ``kafka-storage.sh random-uuid``: 16 random bytes, URL-safe base64, no padding,
    never starting with ``-`` (Kafka's ``Uuid.randomUuid`` rule)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class KafkaService(Service):
    name = "kafka"
    title = "Kafka"
    dirname = "kafka"

    def __init__(self, settings: Settings, node: int | None = None) -> None:
        super().__init__(settings, node)
        self._admin: AdminClient | None = None

    @property
    def secrets(self) -> KafkaSecrets:
        """TLS material and passwords of the secure stack, shared by every node of the state dir."""
        return KafkaSecrets(self._shared_home.parent)

    @property
    def config_path(self) -> Path:
        return self.config_dir / "server.properties"

    @property
    def log4j_path(self) -> Path:
        return self.config_dir / "log4j2.yaml"

    @property
    def log_path(self) -> Path:
        return self.logs_dir / "server.log"

    @property
    def port(self) -> int:
        if self.node is None:
            return parse_kafka_bootstrap(self.settings.kafka_bootstrap)
        return parse_kafka_ports(self.settings.kafka_bootstrap, self.settings.stack_nodes)[self.node]

    @property
    def controller_port(self) -> int:
        return check_port(self.settings.kafka_controller_port + (self.node or 0), "MARSAD_KAFKA_CONTROLLER_PORT")

    @property
    def node_id(self) -> int:
        """KRaft ``node.id``: 1 for the single node, ``node + 1`` in a cluster."""
        return (self.node or 0) + 1

    @property
    def url(self) -> str:
        return f"{BIND_HOST}:{self.port}"

    def ports(self) -> list[tuple[str, int]]:
        return [("client", self.port), ("controller", self.controller_port)]

    def markers(self) -> tuple[str, ...]:
        return (KAFKA_MAIN, str(self.config_path))

    def configured_version(self) -> str:
        return self.settings.kafka_version

    def _heap(self) -> str:
        return parse_heap(self.settings.kafka_heap, "MARSAD_KAFKA_HEAP")

    def _java_base(self, java: Path) -> list[str]:
        return [str(java), "-cp", f"{self.lib_dir}/*", f"-Dlog4j2.configurationFile={self.log4j_path}",
                f"-Dkafka.logs.dir={self.logs_dir}"]  # fmt: skip

    def prepare(self, java: Path | None, say: Say) -> None:
        java = self._java(java)
        self._heap()
        if self.node is None:
            text = render_server_properties(self.settings, log_dir=self.data_dir)
        else:
            text = render_node_properties(self.settings, log_dir=self.data_dir, node=self.node)
        ensure_libs(
            what=self.title,
            pom_name="kafka-pom.xml",
            properties={"kafka.version": self.settings.kafka_version, "log4j.version": LOG4J_SLF4J_VERSION},
            lib_dir=self.lib_dir,
            log_path=self.mvn_log,
            say=say,
        )
        self._check_security_mode()
        for d in (self.config_dir, self.data_dir, self.logs_dir):
            d.mkdir(parents=True, exist_ok=True)
        if self.settings.stack_secure:
            self.secrets.ensure(self.node_id)
            text = render_secure(text, self.secrets, port=self.port, controller_port=self.controller_port,
                                 node_id=self.node_id)
        self.config_path.write_text(text, encoding="utf-8")
        self.log4j_path.write_text(read_resource("kafka-log4j2.yaml"), encoding="utf-8")
        if not (self.data_dir / "meta.properties").is_file():
            self._format(java, say)

    def _cluster_id(self) -> str:
        """The id to format this node's log dir with: a new one for the single node; for a cluster node the id
        another node of the same state dir was formatted with (all nodes of a KRaft cluster share it), else new."""
        if self.node is not None:
            for meta in sorted(self.home.parent.glob(f"{self.dirname}-*/data/meta.properties")):
                for line in meta.read_text(encoding="utf-8").splitlines():
                    if line.startswith("cluster.id="):
                        return line.split("=", 1)[1].strip()
        return new_cluster_id()

    def _format(self, java: Path, say: Say) -> None:
        cid = self._cluster_id()
        say(f"{self.title}: formatting {self.data_dir} (cluster id {cid})")
        log = self.logs_dir / "storage-format.log"
        # Single node: a standalone dynamic quorum (Kafka quickstart). Cluster: the static quorum in
        # controller.quorum.voters, which needs no controller flag.
        quorum = ["--standalone"] if self.node is None else []
        cmd = [*self._java_base(java), "-Dkafka.log.name=storage-format", "kafka.tools.StorageTool", "format",
               *quorum, "-t", cid, "-c", str(self.config_path)]  # fmt: skip
        argfile = self.secrets.dir / f"format-{self.node_id}.args"
        if self.settings.stack_secure:
            # the SCRAM passwords go through a 0600 java @argfile (JDK launcher), not argv (/proc/<pid>/cmdline)
            _write_secret(argfile, "\n".join(_argfile_quote(a) for a in [*cmd[1:], *self.secrets.scram_args()]))
            cmd = [cmd[0], f"@{argfile}"]
        out = self.logs_dir / "storage-format.out"
        try:
            with out.open("ab") as f:
                rc = subprocess.run(cmd, cwd=self.home, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                    timeout=FORMAT_TIMEOUT_S).returncode  # fmt: skip
        except subprocess.TimeoutExpired:
            raise StackError(
                f"Kafka storage format did not finish within {FORMAT_TIMEOUT_S:.0f} s; see {out}"
            ) from None
        finally:
            argfile.unlink(missing_ok=True)
        if rc != 0 or not (self.data_dir / "meta.properties").is_file():
            raise StackError(f"Kafka storage format failed (exit {rc}): {last_line(out, log)}; see {out}")
        (self.data_dir / SECURITY_MARKER).write_text("secure\n" if self.settings.stack_secure else "plaintext\n",
                                                      encoding="utf-8")

    def _check_security_mode(self) -> None:
        """Refuse to start a node in the other mode than its storage was formatted in: the SCRAM users exist only
        in storage formatted with ``--secure``, and a secure node restarted without it would come back PLAINTEXT
        while its clients hold SASL_SSL settings. Storage formatted before the marker existed counts as secure when
        the state dir has ``kafka-secrets/``. Raises :class:`StackError` naming the fix."""
        if not (self.data_dir / "meta.properties").is_file():
            return
        marker = self.data_dir / SECURITY_MARKER
        was_secure = (marker.read_text(encoding="utf-8").strip() == "secure" if marker.is_file()
                      else self.secrets.dir.is_dir())
        if was_secure and not self.settings.stack_secure:
            raise StackError(f"{self.title} was formatted with --secure ({self.data_dir}): start it with --secure "
                             f"(or MARSAD_STACK_SECURE=true), or use another MARSAD_STATE_DIR")
        if self.settings.stack_secure and not was_secure:
            raise StackError(f"{self.title} was formatted without --secure ({self.data_dir}), so it has no SCRAM "
                             f"users: --secure needs a fresh MARSAD_STATE_DIR (or start it without --secure)")

    def command(self, java: Path | None) -> list[str]:
        java = self._java(java)
        heap = self._heap()
        return [str(java), f"-Xms{heap}", f"-Xmx{heap}", *KAFKA_JVM_OPTS, *self._java_base(java)[1:],
                KAFKA_MAIN, str(self.config_path)]  # fmt: skip

    def probe(self) -> str | None:
        """Ready when the port accepts TCP and a metadata request lists this broker (≤ 3 s): in a cluster, a broker
        registers once the controller quorum (a majority of the nodes) has elected a leader."""
        if not port_answers(self.port):
            return None
        try:
            if self._admin is None:
                from confluent_kafka.admin import AdminClient

                quiet = logging.getLogger("marsad.stack.kafka-probe")
                quiet.addHandler(logging.NullHandler())
                quiet.propagate = False
                conf = {"bootstrap.servers": self.url, "logger": quiet, "socket.timeout.ms": 3000,
                        **security_config(self.settings)}
                # a logging.Logger for "logger" is documented config; AdminClient's signature types scalars only
                self._admin = AdminClient(conf)  # type: ignore[arg-type]
            md = self._admin.list_topics(timeout=3)
        except Exception:  # noqa: BLE001 - any failure means "not ready yet"
            return None
        return self.settings.kafka_version if self.node_id in md.brokers else None

    def close(self) -> None:
        self._admin = None
