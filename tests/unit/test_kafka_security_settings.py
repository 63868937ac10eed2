"""Kafka security settings: combinations that cannot work are one clear line naming the variables (never the
password); the password is never shown; every client config Marsad builds carries the same security properties
(:func:`marsad.kafka.clients.security_config`); `marsad stack up --secure` renders SASL_SSL listeners with no secret
in ``server.properties`` and hands clients a password *file*."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from marsad import stack
from marsad.cli import app
from marsad.errors import ConfigError
from marsad.kafka import clients
from marsad.settings import Settings, load_settings, to_env
from marsad.stack._kafka import render_node_properties, render_secure, render_server_properties
from marsad.stack._kafka_secure import KafkaSecrets

SECRET = "s3cret-never-printed"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(os.environ):
        if k.upper().startswith("MARSAD_"):
            monkeypatch.delenv(k, raising=False)


def files(tmp_path: Path) -> tuple[Path, Path]:
    pw, ca = tmp_path / "kafka.password", tmp_path / "ca.pem"
    pw.write_text(f"{SECRET}\n")
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    return pw, ca


@pytest.mark.parametrize(("env", "message"), [
    ({"MARSAD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "SASL_SSL needs MARSAD_KAFKA_SASL_USERNAME"),
    ({"MARSAD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MARSAD_KAFKA_SASL_USERNAME": "marsad"},
     "SASL_SSL needs MARSAD_KAFKA_SASL_PASSWORD_FILE"),
    ({"MARSAD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MARSAD_KAFKA_SASL_USERNAME": "marsad",
      "MARSAD_KAFKA_SASL_PASSWORD": SECRET, "MARSAD_KAFKA_SASL_PASSWORD_FILE": "{pw}"}, "not both"),
    ({"MARSAD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MARSAD_KAFKA_SASL_USERNAME": "marsad",
      "MARSAD_KAFKA_SASL_PASSWORD_FILE": "{tmp}/missing"}, "MARSAD_KAFKA_SASL_PASSWORD_FILE: "),
    ({"MARSAD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MARSAD_KAFKA_SASL_USERNAME": "marsad",
      "MARSAD_KAFKA_SASL_PASSWORD_FILE": "{empty}"}, "is empty"),
    ({"MARSAD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MARSAD_KAFKA_SASL_USERNAME": "marsad",
      "MARSAD_KAFKA_SASL_PASSWORD": SECRET, "MARSAD_KAFKA_SSL_CA": "{tmp}/no-ca.pem"}, "MARSAD_KAFKA_SSL_CA: "),
    ({"MARSAD_KAFKA_SASL_USERNAME": "marsad", "MARSAD_KAFKA_SASL_PASSWORD": SECRET},
     "MARSAD_KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
    ({"MARSAD_KAFKA_SECURITY_PROTOCOL": "SSL"}, "MARSAD_KAFKA_SECURITY_PROTOCOL"),
])
def test_bad_combinations_are_one_line_without_the_password(tmp_path: Path, env: dict[str, str],
                                                             message: str) -> None:
    pw, _ = files(tmp_path)
    (tmp_path / "empty").write_text("\n")
    env = {k: v.format(pw=pw, tmp=tmp_path, empty=tmp_path / "empty") for k, v in env.items()}
    result = CliRunner().invoke(app, ["stack", "status"], env=env)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit: no traceback
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.output
    assert SECRET not in result.output


def test_password_is_never_shown(tmp_path: Path) -> None:
    s = load_settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="marsad", kafka_sasl_password=SECRET)
    assert SECRET not in repr(s) and SECRET not in str(s) and SECRET not in s.model_dump_json()
    assert SECRET not in " ".join(f"{k}={v}" for k, v in to_env(s).items())


def test_every_client_gets_the_same_security_config(tmp_path: Path) -> None:
    pw, ca = files(tmp_path)
    s = load_settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="marsad",
                      kafka_sasl_password_file=pw, kafka_ssl_ca=ca)
    expected = {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "marsad",
                "sasl.password": SECRET, "ssl.ca.location": str(ca), "ssl.endpoint.identification.algorithm": "https"}
    assert clients.security_config(s) == expected
    assert clients.security_config(load_settings()) == {"security.protocol": "PLAINTEXT"}
    pw.write_text("rotated\n")  # read at each client build: a rotated password reaches the next client
    assert clients.security_config(s)["sasl.password"] == "rotated"
    pw.unlink()
    with pytest.raises(ConfigError, match="MARSAD_KAFKA_SASL_PASSWORD_FILE") as exc:
        clients.security_config(s)
    assert "rotated" not in str(exc.value)


def test_every_client_factory_builds_with_the_security_config(tmp_path: Path) -> None:
    """librdkafka accepts the properties (a wrong name or value fails at construction, before any connection)."""
    pw, _ = files(tmp_path)
    s = load_settings(kafka_bootstrap="127.0.0.1:1", kafka_security_protocol="SASL_SSL",
                      kafka_sasl_username="marsad", kafka_sasl_password_file=pw)  # system trust store: no CA file
    clients.producer(s).flush(0)
    clients.consumer(s, "g").close()
    clients.admin(s)


def test_stack_secure_renders_sasl_ssl_listeners_without_secrets(tmp_path: Path) -> None:
    s = stack.cluster_settings(load_settings(state_dir=tmp_path, stack_nodes=3, stack_secure=True))
    material = KafkaSecrets(tmp_path / "stack")
    material.ensure(2)
    text = render_secure(render_node_properties(s, log_dir=tmp_path, node=1), material, port=19093,
                         controller_port=19193, node_id=2)
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    assert props["listeners"] == "SASL_SSL://127.0.0.1:19093,CONTROLLER://127.0.0.1:19193"
    assert props["advertised.listeners"] == "SASL_SSL://127.0.0.1:19093"
    assert props["listener.security.protocol.map"] == "CONTROLLER:SSL,SASL_SSL:SASL_SSL"
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["sasl.enabled.mechanisms"] == props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert props["ssl.keystore.location"] == str(material.node_pem(2))
    assert props["min.insync.replicas"] == "2"  # the cluster settings stay
    assert "PLAINTEXT" not in props["listeners"] + props["advertised.listeners"]
    for user in ("admin", "marsad"):
        assert material.password(user) not in text
    assert f"${{file:{material.broker_properties}:admin.password}}" in text
    single = render_secure(render_server_properties(load_settings(state_dir=tmp_path), log_dir=tmp_path), material,
                           port=9092, controller_port=9093, node_id=1)
    assert "listeners=SASL_SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093" in single.splitlines()


def test_stack_secrets_are_0600_and_certificates_name_loopback(tmp_path: Path) -> None:
    from cryptography import x509

    material = KafkaSecrets(tmp_path / "stack")
    material.ensure(1)
    assert stat.S_IMODE(material.dir.stat().st_mode) == 0o700
    for p in (material.ca_key, material.node_pem(1), material.broker_properties, material.password_file("admin"),
              material.password_file("marsad")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    cert = x509.load_pem_x509_certificate(material.node_pem(1).read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    ca = x509.load_pem_x509_certificate(material.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    before = material.password("marsad")
    material.ensure(1)  # a later `up` keeps what the formatted metadata knows
    assert material.password("marsad") == before


def test_stack_hands_clients_the_password_file(tmp_path: Path) -> None:
    s = load_settings(state_dir=tmp_path, stack_nodes=3, stack_secure=True)
    env = stack.client_env(s)
    secrets_dir = tmp_path / "stack" / "kafka-secrets"
    assert env["MARSAD_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["MARSAD_KAFKA_SASL_USERNAME"] == "marsad"
    assert env["MARSAD_KAFKA_SASL_PASSWORD_FILE"] == str(secrets_dir / "marsad.password")
    assert env["MARSAD_KAFKA_SSL_CA"] == str(secrets_dir / "ca.pem")
    assert "MARSAD_KAFKA_SASL_PASSWORD" not in env
    plain = stack.cluster_settings(load_settings(state_dir=tmp_path, kafka_security_protocol="SASL_SSL",
                                                 kafka_sasl_username="x", kafka_sasl_password=SECRET))
    assert plain.kafka_security_protocol == "PLAINTEXT"  # the local plaintext stack is probed in plaintext


def test_only_scram_mechanisms() -> None:
    with pytest.raises(ValidationError, match="kafka_sasl_mechanism"):
        Settings(kafka_sasl_mechanism="PLAIN")  # type: ignore[arg-type]
