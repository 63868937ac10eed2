"""docker-compose.yml is not open to whoever reaches its ports: PostgreSQL asks every client for a scram-sha-256
password, the profile cluster's Elasticsearch runs with security on (TLS on HTTP and transport, the ``elastic``
password from a file), and every secret is a compose secret read from a file outside the repository (``secrets/``,
git-ignored, made by ``docker/make-secrets.sh``) — no password in the YAML, in a URL or in an environment value.
(No Docker here: the YAML is parsed, as in tests/unit/test_compose.py.)
"""

from __future__ import annotations

import re
import subprocess
from pathlib import PurePosixPath
from urllib.parse import parse_qs, urlsplit

import pytest

from marsad.settings import REPO_ROOT, Settings
from marsad.stack._postgres import DATABASES, ROLE

from .test_compose import COMPOSE_FILE, compose, env_of, services  # noqa: F401 - fixtures
from .test_compose_cluster_profile_matches_stack_nodes_3 import CLUSTER_PROJECT, ES_NODES

SECRETS_DIR = "${MARSAD_SECRETS_DIR:-./secrets}"


def secret_path(name: str) -> PurePosixPath:
    return PurePosixPath("/run/secrets") / name


def mounted_secrets(service: dict) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in service.get("secrets") or []}


def test_every_secret_is_a_file_outside_the_repository(compose: dict) -> None:  # noqa: F811
    secrets = compose["secrets"]
    assert set(secrets) == {"postgres_password", "marsad_db_password", "marsad_pgpass", "es_elastic_password",
                            "es_password"}
    for name, spec in secrets.items():
        assert spec == {"file": f"{SECRETS_DIR}/{name}"}, name
    ignored = subprocess.run(["git", "check-ignore", "-q", "secrets/postgres_password"], cwd=REPO_ROOT)
    assert ignored.returncode == 0, "secrets/ must be git-ignored"
    script = (REPO_ROOT / "docker" / "make-secrets.sh").read_text(encoding="utf-8")
    made = set(re.findall(r"^put (\w+) ", script, flags=re.M))
    assert made == set(secrets), "docker/make-secrets.sh makes every declared secret"


def test_no_password_is_written_in_the_compose_file(compose: dict, services: dict[str, dict]) -> None:  # noqa: F811
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert not re.search(r"^\s*(POSTGRES_PASSWORD|ELASTIC_PASSWORD|MARSAD_ES_PASSWORD)\s*:", text, flags=re.M)
    assert "POSTGRES_HOST_AUTH_METHOD" not in text  # the image's default with a password: scram-sha-256
    envs = [compose["x-marsad-env"], compose["x-marsad-cluster-env"]] + [env_of(s) for s in services.values()]
    for env in envs:
        for key, value in env.items():
            for url in re.findall(r"[a-z+]+://[^\s,]+", str(value)):
                assert urlsplit(url).password is None, f"{key}: password in {url}"
                assert "password" not in parse_qs(urlsplit(url).query), f"{key}: password= in {url}"
            if key.endswith(("_PASSWORD_FILE", "_PASSFILE")):
                assert str(value).startswith("/run/secrets/"), key


def _passfile_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["passfile"][0]


def test_postgres_clients_are_role_marsad_with_a_password_file(compose: dict,  # noqa: F811
                                                               services: dict[str, dict]) -> None:  # noqa: F811
    pg = services["postgres"]
    env = env_of(pg)
    assert env["POSTGRES_PASSWORD_FILE"] == str(secret_path("postgres_password"))
    assert mounted_secrets(pg) == {"postgres_password", "marsad_db_password"}
    init = (REPO_ROOT / "docker" / "postgres-init.sh").read_text(encoding="utf-8")
    assert str(secret_path("marsad_db_password")) in init
    assert f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD :'pw'" in init
    assert set(re.findall(rf"CREATE DATABASE (\w+) OWNER {ROLE}", init)) == set(DATABASES)
    crawl = compose["x-marsad-env"]["MARSAD_CRAWL_STATE_URL"]
    airflow = env_of(services["airflow"])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    for url in (crawl, airflow):
        assert urlsplit(url).username == ROLE
        assert _passfile_of(url) == str(secret_path("marsad_pgpass"))
    assert "marsad_pgpass" in mounted_secrets(services["airflow"])  # the crawl runs in Airflow's tasks
    assert "pg_isready -U marsad" in str(pg["healthcheck"]["test"])


def test_cluster_elasticsearch_has_security_tls_and_a_password_file(compose: dict,  # noqa: F811
                                                                    services: dict[str, dict]) -> None:  # noqa: F811
    for name in ES_NODES:
        svc = services[name]
        env = env_of(svc)
        assert env["xpack.security.enabled"] == "true"
        assert env["xpack.security.http.ssl.enabled"] == env["xpack.security.transport.ssl.enabled"] == "true"
        for layer in ("http", "transport"):
            assert env[f"xpack.security.{layer}.ssl.key"] == f"certs/{name}/{name}.key"
            assert env[f"xpack.security.{layer}.ssl.certificate"] == f"certs/{name}/{name}.crt"
            assert env[f"xpack.security.{layer}.ssl.certificate_authorities"] == "certs/ca/ca.crt"
        assert env["ELASTIC_PASSWORD_FILE"] == str(secret_path("es_elastic_password"))
        assert mounted_secrets(svc) == {"es_elastic_password"}
        assert "es-certs:/usr/share/elasticsearch/config/certs:ro" in svc["volumes"]
        assert svc["depends_on"]["es-certs"]["condition"] == "service_completed_successfully"
        health = str(svc["healthcheck"]["test"])
        assert "https://localhost:9200" in health and "--cacert" in health
        assert "/run/secrets/es_elastic_password" in health
    certs = services["es-certs"]
    assert "elasticsearch-certutil" in str(certs["command"])
    assert all(n in str(certs["command"]) for n in ES_NODES)


def test_cluster_project_containers_log_in_and_verify_the_nodes(compose: dict,  # noqa: F811
                                                               services: dict[str, dict],  # noqa: F811
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    env = compose["x-marsad-cluster-env"]
    assert all(urlsplit(u).scheme == "https" for u in env["MARSAD_ES_URL"].split(","))
    assert env["MARSAD_ES_USERNAME"] == "elastic"
    assert env["MARSAD_ES_PASSWORD_FILE"] == str(secret_path("es_password"))
    for name in CLUSTER_PROJECT:
        svc = services[name]
        assert {"es_password", "marsad_pgpass"} <= mounted_secrets(svc), name
        mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in svc["volumes"]}
        ca_dir = next(t for t, src in mounts.items() if src == "es-certs")
        assert PurePosixPath(env["MARSAD_ES_CA_CERTS"]).is_relative_to(ca_dir), name
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    s = Settings()  # a valid combination (basic auth + CA)
    assert (s.es_username, str(s.es_password_file)) == ("elastic", env["MARSAD_ES_PASSWORD_FILE"])
