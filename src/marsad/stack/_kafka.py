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

from marsad.kafka.clients import HEADROOM
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
    port_answers,
    read_resource,
)
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
    return Template(read_resource("kafka-server.properties")).substitute(
        port=port,
        controller_port=controller_port,
        log_dirs=_escape(str(log_dir)),
        num_partitions=settings.topic_partitions,
        message_max_bytes=settings.max_message_bytes + HEADROOM,
        retention_hours=RETENTION_HOURS,
    )


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

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._admin: AdminClient | None = None

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
        return parse_kafka_bootstrap(self.settings.kafka_bootstrap)

    @property
    def controller_port(self) -> int:
        return check_port(self.settings.kafka_controller_port, "MARSAD_KAFKA_CONTROLLER_PORT")

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
        text = render_server_properties(self.settings, log_dir=self.data_dir)
        ensure_libs(
            what=self.title,
            pom_name="kafka-pom.xml",
            properties={"kafka.version": self.settings.kafka_version, "log4j.version": LOG4J_SLF4J_VERSION},
            lib_dir=self.lib_dir,
            log_path=self.mvn_log,
            say=say,
        )
        for d in (self.config_dir, self.data_dir, self.logs_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(text, encoding="utf-8")
        self.log4j_path.write_text(read_resource("kafka-log4j2.yaml"), encoding="utf-8")
        if not (self.data_dir / "meta.properties").is_file():
            self._format(java, say)

    def _format(self, java: Path, say: Say) -> None:
        cid = new_cluster_id()
        say(f"Kafka: formatting {self.data_dir} (cluster id {cid})")
        log = self.logs_dir / "storage-format.log"
        cmd = [*self._java_base(java), "-Dkafka.log.name=storage-format", "kafka.tools.StorageTool", "format",
               "--standalone", "-t", cid, "-c", str(self.config_path)]  # fmt: skip
        out = self.logs_dir / "storage-format.out"
        try:
            with out.open("ab") as f:
                rc = subprocess.run(cmd, cwd=self.home, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                    timeout=FORMAT_TIMEOUT_S).returncode  # fmt: skip
        except subprocess.TimeoutExpired:
            raise StackError(
                f"Kafka storage format did not finish within {FORMAT_TIMEOUT_S:.0f} s; see {out}"
            ) from None
        if rc != 0 or not (self.data_dir / "meta.properties").is_file():
            raise StackError(f"Kafka storage format failed (exit {rc}): {last_line(out, log)}; see {out}")

    def command(self, java: Path | None) -> list[str]:
        java = self._java(java)
        heap = self._heap()
        return [str(java), f"-Xms{heap}", f"-Xmx{heap}", *KAFKA_JVM_OPTS, *self._java_base(java)[1:],
                KAFKA_MAIN, str(self.config_path)]  # fmt: skip

    def probe(self) -> str | None:
        """Ready when the port accepts TCP and a metadata request lists at least one broker (≤ 3 s)."""
        if not port_answers(self.port):
            return None
        try:
            if self._admin is None:
                from confluent_kafka.admin import AdminClient

                quiet = logging.getLogger("marsad.stack.kafka-probe")
                quiet.addHandler(logging.NullHandler())
                quiet.propagate = False
                conf = {"bootstrap.servers": self.url, "logger": quiet, "socket.timeout.ms": 3000}
                # a logging.Logger for "logger" is documented config; AdminClient's signature types scalars only
                self._admin = AdminClient(conf)  # type: ignore[arg-type]
            md = self._admin.list_topics(timeout=3)
        except Exception:  # noqa: BLE001 - any failure means "not ready yet"
            return None
        return self.settings.kafka_version if md.brokers else None

    def close(self) -> None:
        self._admin = None
