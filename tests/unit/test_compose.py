"""docker-compose.yml agrees with the code and the local stack (no Docker needed: the YAML is parsed).

What is checked: MARSAD_* names are Settings fields, spelled once; published ports equal the Settings defaults
(so host-side `marsad ...` reaches the containers); image versions equal the local stack's; the broker config
equals what `marsad stack` renders; the project commands are real `marsad` subcommands; paths used in
containers exist in the repository (bind mounts and the Dockerfile's COPY lines); docker/kibana_import.py
talks to the Kibana saved-objects API as documented.
"""

from __future__ import annotations

import http.server
import json
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml
from typer.testing import CliRunner

from marsad.index import templates
from marsad.settings import REPO_ROOT, Settings
from marsad.stack._kafka import render_server_properties
from tests.local_http import serve

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile"
KIBANA_IMPORT = REPO_ROOT / "docker" / "kibana_import.py"
PROJECT_IMAGE = "marsad:local"

CLUSTER_ADDRESSES = {"MARSAD_KAFKA_BOOTSTRAP", "MARSAD_ES_URL"}
"""Keys x-marsad-cluster-env (profile cluster) sets on top of x-marsad-env."""
KAFKA_CLIENT_PORT = 9092
"""Container port of the broker's host-facing PLAINTEXT listener."""
ES_HTTP_PORT = 9200
"""Container port of Elasticsearch HTTP."""

# Variables of the apache/kafka image that are not broker properties (its kafka-propertiesSpec.json excludes
# plus the launcher's own variables).
KAFKA_IMAGE_NON_PROPERTIES = {
    "CLUSTER_ID", "KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL", "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
}  # fmt: skip
# Broker properties that differ between the local stack and the containers by design (addresses, paths).
KAFKA_NETWORK_PROPERTIES = {
    "listeners", "advertised.listeners", "listener.security.protocol.map", "inter.broker.listener.name",
    "controller.quorum.bootstrap.servers", "controller.quorum.voters", "log.dirs",
}  # fmt: skip


# --- helpers -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture
def defaults(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with their coded defaults (MARSAD_* of the test environment removed)."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("MARSAD_"):
            monkeypatch.delenv(name)
    return Settings()


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def image_tag(service: dict) -> str:
    return service["image"].rsplit(":", 1)[1]


def published(service: dict, container_port: int) -> int:
    """Host port that ``container_port`` is published on (short syntax ``[ip:]host:container`` or long syntax)."""
    for spec in service.get("ports", []):
        if isinstance(spec, dict):
            if int(spec["target"]) == container_port:
                return int(spec["published"])
            continue
        parts = str(spec).split("/")[0].split(":")
        if int(parts[-1]) == container_port:
            return int(parts[-2])
    raise AssertionError(f"container port {container_port} is not published: {service.get('ports')}")


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` -> {NAME: (host, port)}."""
    out = {}
    for item in value.split(","):
        name, _, addr = item.strip().partition("://")
        host, _, port = addr.rpartition(":")
        out[name] = (host, int(port))
    return out


def kafka_property(env_name: str) -> str:
    """Broker property of an apache/kafka image variable (its utility.go ConvertKey rules)."""
    key = env_name[len("KAFKA_"):]
    key = re.sub(r"(?<=[^_])_(?=[^_])", ".", key)
    return key.replace("___", "-").replace("__", "_").lower()


def port_of_bootstrap(value: str) -> int:
    return int(value.rsplit(":", 1)[1])


def project_services(services: dict[str, dict]) -> dict[str, dict]:
    return {n: s for n, s in services.items() if s.get("image") == PROJECT_IMAGE}


def bind_mounts(service: dict) -> dict[PurePosixPath, Path]:
    """Container path -> repository path of the service's bind mounts (sources starting with . or /)."""
    out = {}
    for spec in service.get("volumes", []):
        if isinstance(spec, dict):
            source, target = spec.get("source", ""), spec["target"]
        else:
            source, target = str(spec).split(":")[:2]
        if source.startswith((".", "/")):
            out[PurePosixPath(target)] = (COMPOSE_FILE.parent / source).resolve()
    return out


def dockerfile_lines() -> list[list[str]]:
    """Instructions of docker/Dockerfile as word lists (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    return [shlex.split(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def image_copies() -> tuple[PurePosixPath, dict[PurePosixPath, Path]]:
    """WORKDIR of the image and container path -> repository path of its COPY instructions (context = repo)."""
    workdir = PurePosixPath("/")
    copies: dict[PurePosixPath, Path] = {}
    for words in dockerfile_lines():
        if words[0].upper() == "WORKDIR":
            workdir = workdir / words[1]
        elif words[0].upper() == "COPY":
            args = [w for w in words[1:] if not w.startswith("--")]
            *sources, dest = args
            dest_path = workdir / dest
            for src in sources:
                repo_path = (REPO_ROOT / src).resolve()
                if repo_path.is_dir():  # a folder's contents go into dest
                    copies[dest_path] = repo_path
                elif dest.endswith("/") or dest == "." or len(sources) > 1:  # a file into the folder dest
                    copies[dest_path / PurePosixPath(src).name] = repo_path
                else:
                    copies[dest_path] = repo_path
    return workdir, copies


def resolve_in_container(service: dict, path: str) -> Path | None:
    """The repository file/folder a container path of ``service`` shows: bind mounts first, then image COPYs."""
    target = PurePosixPath(path)
    for table in (bind_mounts(service), image_copies()[1]):
        for mount, repo_path in sorted(table.items(), key=lambda kv: -len(kv[0].parts)):
            if target == mount or mount in target.parents:
                return repo_path / target.relative_to(mount)
    return None


# --- MARSAD_* environment ------------------------------------------------------------------------------------


def test_marsad_variables_are_settings_fields(compose: dict, services: dict[str, dict]) -> None:
    fields = {f"MARSAD_{name.upper()}" for name in Settings.model_fields}
    used = set(compose["x-marsad-env"])
    for svc in services.values():
        used |= {k for k in env_of(svc) if k.startswith("MARSAD_")}
    assert used, "no MARSAD_* variable in docker-compose.yml"
    unknown = sorted(used - fields)
    assert not unknown, f"not Settings fields (src/marsad/settings.py): {unknown}"


def test_marsad_values_are_valid_settings(compose: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in compose["x-marsad-env"].items():
        monkeypatch.setenv(name, str(value))
    s = Settings()
    assert s.kafka_bootstrap == compose["x-marsad-env"]["MARSAD_KAFKA_BOOTSTRAP"]
    assert s.es_url == compose["x-marsad-env"]["MARSAD_ES_URL"]


def test_marsad_variables_are_spelled_once() -> None:
    """Each MARSAD_* key appears once in the file (in x-marsad-env); services take it through the anchor. The
    profile cluster's x-marsad-cluster-env (x-marsad-env plus the cluster's addresses) may spell the two addresses
    again, nothing else."""
    keys = re.findall(r"^\s*(MARSAD_[A-Z0-9_]+)\s*:", COMPOSE_FILE.read_text(encoding="utf-8"), flags=re.M)
    counts = {k: keys.count(k) - (k in CLUSTER_ADDRESSES) for k in keys}
    repeated = sorted(k for k, n in counts.items() if n > 1)
    assert keys and not repeated, f"MARSAD_* keys spelled more than once: {repeated}"


def test_project_services_get_the_shared_environment(compose: dict, services: dict[str, dict]) -> None:
    shared = {k: str(v) for k, v in compose["x-marsad-env"].items()}
    for name in ("marsad-setup", "extract", "index", "airflow"):
        env = env_of(services[name])
        assert {k: env.get(k) for k in shared} == shared, f"{name} does not use x-marsad-env"


# --- ports and addresses -------------------------------------------------------------------------------------


def test_kafka_host_port_is_the_settings_default(services: dict[str, dict], defaults: Settings) -> None:
    default_port = port_of_bootstrap(Settings.model_fields["kafka_bootstrap"].default)
    assert port_of_bootstrap(defaults.kafka_bootstrap) == default_port
    kafka = services["kafka"]
    assert published(kafka, KAFKA_CLIENT_PORT) == default_port
    env = env_of(kafka)
    host, port = listeners(env["KAFKA_ADVERTISED_LISTENERS"])["PLAINTEXT"]
    assert (host, port) == ("127.0.0.1", default_port), "host clients must be told the published address"
    assert listeners(env["KAFKA_LISTENERS"])["PLAINTEXT"][1] == KAFKA_CLIENT_PORT


def test_containers_use_the_internal_kafka_listener(compose: dict, services: dict[str, dict]) -> None:
    env = env_of(services["kafka"])
    bootstrap = compose["x-marsad-env"]["MARSAD_KAFKA_BOOTSTRAP"]
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    internal = [name for name, addr in advertised.items() if f"{addr[0]}:{addr[1]}" == bootstrap]
    assert internal, f"MARSAD_KAFKA_BOOTSTRAP={bootstrap} is not an advertised listener: {advertised}"
    host, port = advertised[internal[0]]
    assert host in services and host == services[host].get("hostname", host) == "kafka"
    assert listeners(env["KAFKA_LISTENERS"])[internal[0]][1] == port
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners(env["KAFKA_LISTENERS"])) <= set(protocols)
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    assert f"--bootstrap-server {bootstrap}" in str(services["kafka"]["healthcheck"]["test"])


def test_kafka_controller_port_is_the_settings_default(services: dict[str, dict], defaults: Settings) -> None:
    env = env_of(services["kafka"])
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert listeners(env["KAFKA_LISTENERS"])[controller][1] == defaults.kafka_controller_port
    node_id, _, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert node_id == env["KAFKA_NODE_ID"]
    assert port_of_bootstrap(voter) == defaults.kafka_controller_port
    assert controller not in listeners(env["KAFKA_ADVERTISED_LISTENERS"])


def test_kafka_cluster_id_is_a_kraft_uuid(services: dict[str, dict]) -> None:
    import base64

    cid = env_of(services["kafka"])["CLUSTER_ID"]
    assert len(base64.urlsafe_b64decode(cid + "==")) == 16 and not cid.startswith("-")


def test_es_host_port_is_the_settings_default(compose: dict, services: dict[str, dict], defaults: Settings) -> None:
    default = urlsplit(Settings.model_fields["es_url"].default)
    assert urlsplit(defaults.es_url).port == default.port
    assert published(services["elasticsearch"], ES_HTTP_PORT) == default.port
    internal = urlsplit(compose["x-marsad-env"]["MARSAD_ES_URL"])
    assert (internal.hostname, internal.port) == ("elasticsearch", ES_HTTP_PORT)
    assert internal.hostname in services
    assert env_of(services["kibana"])["ELASTICSEARCH_HOSTS"] == compose["x-marsad-env"]["MARSAD_ES_URL"]
    assert f"localhost:{ES_HTTP_PORT}/_cluster/health" in str(services["elasticsearch"]["healthcheck"]["test"])


# --- versions and broker/node settings ------------------------------------------------------------------------


def test_es_and_kibana_run_the_local_stack_version(services: dict[str, dict], defaults: Settings) -> None:
    version = ".".join(defaults.es_runner_version.split(".")[:3])
    assert version == "7.10.2"
    es, kibana = services["elasticsearch"], services["kibana"]
    assert es["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:")
    assert image_tag(es) == version
    assert kibana["image"].startswith("docker.elastic.co/kibana/kibana:")
    assert image_tag(kibana) == image_tag(es)


def test_es_node_matches_the_local_stack(services: dict[str, dict], defaults: Settings) -> None:
    from marsad.stack._es import node_settings

    env = env_of(services["elasticsearch"])
    opts = env["ES_JAVA_OPTS"].split()
    assert f"-Xms{defaults.es_heap}" in opts and f"-Xmx{defaults.es_heap}" in opts
    assert env["xpack.security.enabled"] == "false"
    local = node_settings(ES_HTTP_PORT)
    for key in ("discovery.type", "cluster.routing.allocation.disk.threshold_enabled"):
        assert env.get(key) == local[key], key


def test_kafka_broker_config_matches_the_local_stack(services: dict[str, dict], defaults: Settings,
                                                     tmp_path: Path) -> None:
    local = {}
    for line in render_server_properties(defaults, log_dir=tmp_path).splitlines():
        if line.strip() and not line.startswith("#"):
            k, _, v = line.partition("=")
            local[k.strip()] = v.strip()
    assert int(local["message.max.bytes"]) == defaults.max_message_bytes + 64 * 1024

    env = env_of(services["kafka"])
    broker = {kafka_property(k): v for k, v in env.items() if k.startswith("KAFKA_") and k not in KAFKA_IMAGE_NON_PROPERTIES}  # noqa: E501 - test data on one line
    differing = {k: (local[k], broker.get(k)) for k in local if k not in KAFKA_NETWORK_PROPERTIES
                 and broker.get(k) != local[k]}  # fmt: skip
    assert not differing, f"(local stack, compose) differ: {differing}"
    assert kafka_property("KAFKA_MESSAGE_MAX_BYTES") == "message.max.bytes"
    assert env["KAFKA_HEAP_OPTS"].split()[-1] == f"-Xmx{defaults.kafka_heap}"
    assert services["kafka"]["image"].startswith("apache/kafka:")


# --- the project image and its commands ---------------------------------------------------------------------


def test_project_image_is_built_here(services: dict[str, dict]) -> None:
    builders = [s for s in project_services(services).values() if "build" in s]
    assert len(builders) == 1, "exactly one service builds marsad:local"
    build = builders[0]["build"]
    assert (COMPOSE_FILE.parent / build["context"]).resolve() == REPO_ROOT
    assert (REPO_ROOT / build["dockerfile"]).resolve() == DOCKERFILE
    assert DOCKERFILE.is_file()


def test_dockerfile_installs_the_project_with_airflow() -> None:
    specifiers = pytest.importorskip("packaging.specifiers")

    lines = dockerfile_lines()
    base = [w[1] for w in lines if w[0].upper() == "FROM"]
    assert base == ["python:3.11-slim"]
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "3.11" in specifiers.SpecifierSet(pyproject["project"]["requires-python"])
    assert "airflow" in pyproject["project"]["optional-dependencies"]
    runs = " ".join(" ".join(w[1:]) for w in lines if w[0].upper() == "RUN")
    upgrade = runs.find("pip install --upgrade pip")
    install = runs.find("pip install -e .[airflow]")
    assert 0 <= upgrade < install, "pip is upgraded, then the project is installed (editable) with [airflow]"


def test_image_repo_root_has_what_the_code_reads(services: dict[str, dict]) -> None:
    """Editable install: REPO_ROOT in the image is the WORKDIR, so REPO_ROOT-relative files must be there."""
    workdir, _ = image_copies()
    setup = services["marsad-setup"]
    for repo_file in (templates.TEMPLATES_DIR, Settings.model_fields["sources_file"].default, REPO_ROOT / "src"):
        rel = Path(repo_file).relative_to(REPO_ROOT)
        found = resolve_in_container(setup, str(workdir / rel.as_posix()))
        assert found is not None and found == Path(repo_file).resolve() and found.exists(), rel


def test_consumers_and_setup_run_marsad_subcommands(services: dict[str, dict],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from marsad import cli, observability, pipeline

    calls: list[str] = []

    class FakeWorker:
        close_hung = False  # the command reads it after run() (a close() that hung ends the process)

        def __init__(self, name: str) -> None:
            self.name = name

        def run(self, until_idle: bool = False):
            calls.append(self.name)
            return type("Stats", (), {"as_dict": lambda self: {}})()

    monkeypatch.setattr(observability, "setup_logging", lambda *a, **k: None)
    monkeypatch.setattr(pipeline, "extract_worker", lambda settings: FakeWorker("extract"))
    monkeypatch.setattr(pipeline, "index_worker", lambda settings: FakeWorker("index"))
    monkeypatch.setattr(templates, "apply_templates", lambda settings: calls.append("templates") or {})

    runner = CliRunner()
    expected = {"extract": "extract", "index": "index", "marsad-setup": "templates"}
    for name, want in expected.items():
        command = services[name]["command"]
        assert command[0] == "marsad", f"{name}: {command}"
        calls.clear()
        result = runner.invoke(cli.app, command[1:])
        assert result.exit_code == 0, f"{name}: `{' '.join(command)}` -> {result.exit_code}: {result.output}"
        assert calls == [want], f"{name}: `{' '.join(command)}` ran {calls}"
    # the same harness rejects a stage `marsad consume` does not know
    assert runner.invoke(cli.app, ["consume", "no-such-stage"]).exit_code == 2


def test_airflow_dags_folder_is_the_mounted_repo_dags(services: dict[str, dict]) -> None:
    airflow = services["airflow"]
    env = env_of(airflow)
    assert airflow["command"] == ["airflow", "standalone"]
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    dags = PurePosixPath(env["AIRFLOW__CORE__DAGS_FOLDER"])
    mounts = bind_mounts(airflow)
    assert dags in mounts, f"{dags} is not a bind mount of the airflow service: {list(mounts)}"
    assert mounts[dags] == (REPO_ROOT / "dags").resolve()
    assert (mounts[dags] / "crawl_sources.py").is_file()
    assert published(airflow, 8080) == 8080


def test_sources_file_exists_in_every_project_container(services: dict[str, dict]) -> None:
    for name, svc in project_services(services).items():
        path = env_of(svc).get("MARSAD_SOURCES_FILE")
        if path is None:
            continue
        found = resolve_in_container(svc, path)
        assert found is not None and found.is_file(), f"{name}: {path} is neither mounted nor copied from the repo"


def test_kibana_setup_script_is_in_the_image(services: dict[str, dict]) -> None:
    setup = services["kibana-setup"]
    script = next(a for a in setup["command"] if a.endswith(".py"))
    assert resolve_in_container(setup, script) == KIBANA_IMPORT.resolve()
    directory = setup["command"][setup["command"].index("--dir") + 1]
    assert bind_mounts(setup).get(PurePosixPath(directory)) == (REPO_ROOT / "kibana").resolve()


def test_dependencies_exist_and_conditions_can_be_met(services: dict[str, dict]) -> None:
    for name, svc in services.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy: no healthcheck"
            if condition == "service_completed_successfully":
                assert services[dep].get("restart", "no") == "no", f"{dep} is one-shot: restart must be 'no'"
    for name in ("extract", "index"):
        deps = services[name]["depends_on"]
        assert deps["kafka"]["condition"] == deps["elasticsearch"]["condition"] == "service_healthy"
        assert deps["marsad-setup"]["condition"] == "service_completed_successfully"


# --- docker/kibana_import.py ---------------------------------------------------------------------------------


class _Kibana(http.server.BaseHTTPRequestHandler):
    requests: list[tuple[str, str, dict[str, str], bytes]] = []
    answer: dict = {"success": True, "successCount": 1}

    def do_GET(self) -> None:  # noqa: N802
        self._record(b"")
        self._reply(200, {"status": {"overall": {"state": "green"}}})

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._record(body)
        self._reply(200, type(self).answer)

    def _record(self, body: bytes) -> None:
        type(self).requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))

    def _reply(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def kibana():
    import importlib.util

    spec = importlib.util.spec_from_file_location("kibana_import", KIBANA_IMPORT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _Kibana.requests = []
    _Kibana.answer = {"success": True, "successCount": 1}
    with serve(_Kibana) as base:
        yield module, base


def test_kibana_import_with_no_saved_objects_does_nothing(kibana, tmp_path: Path) -> None:
    module, url = kibana
    assert module.main(["--url", url, "--dir", str(tmp_path / "missing")]) == 0
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("not an export")
    assert module.main(["--url", url, "--dir", str(tmp_path / "empty")]) == 0
    assert _Kibana.requests == []


def test_kibana_import_posts_each_ndjson_file(kibana, tmp_path: Path) -> None:
    module, url = kibana
    (tmp_path / "b-dashboards.ndjson").write_text('{"type":"dashboard","id":"d1"}\n')
    (tmp_path / "a-index-pattern.ndjson").write_text('{"type":"index-pattern","id":"marsad-stories"}\n')
    assert module.main(["--url", url, "--dir", str(tmp_path), "--wait-s", "5"]) == 0
    posts = [r for r in _Kibana.requests if r[0] == "POST"]
    assert [p[1] for p in posts] == ["/api/saved_objects/_import?overwrite=true"] * 2
    for (_, _, headers, body), name in zip(posts, ["a-index-pattern.ndjson", "b-dashboards.ndjson"]):
        assert headers["kbn-xsrf"]
        assert headers["content-type"].startswith("multipart/form-data; boundary=")
        assert f'name="file"; filename="{name}"'.encode() in body
        assert (tmp_path / name).read_bytes() in body
    assert any(r[0] == "GET" and r[1] == "/api/status" for r in _Kibana.requests)


def test_kibana_import_fails_when_kibana_rejects(kibana, tmp_path: Path) -> None:
    module, url = kibana
    _Kibana.answer = {"success": False, "errors": [{"id": "x", "error": {"type": "unsupportedType"}}]}
    (tmp_path / "x.ndjson").write_text('{"type":"nope","id":"x"}\n')
    assert module.main(["--url", url, "--dir", str(tmp_path), "--wait-s", "5"]) == 1


def test_kibana_import_fails_when_kibana_never_answers(kibana, tmp_path: Path) -> None:
    module, _ = kibana
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    (tmp_path / "x.ndjson").write_text("{}\n")
    assert module.wait_ready(dead, wait_s=0.2, interval_s=0.1) is False


def test_kafka_image_matches_local_stack_version():
    import yaml as _yaml

    from marsad.settings import REPO_ROOT, Settings

    compose = _yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    image = compose["services"]["kafka"]["image"]
    assert image.split(":")[1].split()[0] == Settings().kafka_version


def test_postgres_serves_the_crawl_state_and_airflow_like_the_local_stack(compose: dict, services: dict[str, dict],
                                                                          defaults: Settings) -> None:
    """The postgres service: the local stack's major version and port, the databases the local stack creates,
    the crawl state URL of every project container naming it, Airflow's metadata in its database."""
    from marsad.stack._postgres import DATABASES, PostgresService

    pg = services["postgres"]
    assert pg["image"].split(":")[1].split(".")[0] == PostgresService(defaults).configured_version().split(".")[0]
    assert f"127.0.0.1:{defaults.postgres_port}:5432" in pg["ports"]
    init = (REPO_ROOT / "docker" / "postgres-init.sh").read_text(encoding="utf-8")
    assert set(re.findall(r"CREATE DATABASE (\w+) OWNER marsad", init)) == set(DATABASES)
    assert bind_mounts(pg)[PurePosixPath("/docker-entrypoint-initdb.d/10-marsad.sh")] == \
        (REPO_ROOT / "docker" / "postgres-init.sh").resolve()
    url = urlsplit(compose["x-marsad-env"]["MARSAD_CRAWL_STATE_URL"])
    assert (url.hostname, url.port, url.path) == ("postgres", 5432, "/marsad")
    airflow = env_of(services["airflow"])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert urlsplit(airflow).hostname == "postgres" and urlsplit(airflow).path == "/airflow"
    assert services["airflow"]["depends_on"]["postgres"]["condition"] == "service_healthy"
