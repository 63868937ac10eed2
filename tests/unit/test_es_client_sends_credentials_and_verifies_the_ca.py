"""Marsad's Elasticsearch client authenticates as the settings say and verifies TLS against the configured CA.

The OSS 7.10.2 node of the local stack has no security features, so the server here is a local HTTP(S) server
imitating one with ``xpack.security.enabled: true``: it answers ``401`` with ``WWW-Authenticate`` unless the
``Authorization`` header is the one it expects (what Elasticsearch does: "Security settings", "Basic
authentication", "API key authentication", elastic.co, 7.10 docs). Gold written before the run: the header for
user ``marsad`` and password ``s3cret pass`` is ``Basic bWFyc2FkOnMzY3JldCBwYXNz`` (base64 of ``marsad:s3cret pass``,
RFC 7617; computed by hand with ``printf 'marsad:s3cret pass' | base64``); an API key file's contents go verbatim
after ``ApiKey``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from marsad.errors import ConfigError, TransientError
from marsad.index.es import Es
from marsad.settings import Settings
from tests.local_http import serve

BASIC = "Basic bWFyc2FkOnMzY3JldCBwYXNz"
API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="  # the `encoded` example of the ES docs


class SecuredNode(BaseHTTPRequestHandler):
    """``GET /`` answers 200 only with :attr:`expected` as ``Authorization``; every header seen is recorded."""

    expected = BASIC
    seen: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        got = self.headers.get("Authorization")
        type(self).seen.append(got)
        if got != self.expected:
            body = {"error": {"type": "security_exception", "reason": "missing authentication credentials for "
                              "REST request [/]"}, "status": 401}
            self._send(401, body, {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'})
            return
        self._send(200, {"cluster_name": "secured", "version": {"number": "7.10.2"}})

    do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815 - every method authenticates the same way

    def do_HEAD(self) -> None:  # noqa: N802
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def node():
    SecuredNode.seen = []
    SecuredNode.expected = BASIC
    with serve(SecuredNode) as url:
        yield url


def _secret(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    p.chmod(0o600)
    return p


def test_basic_authentication_from_the_username_and_password_file(node: str, tmp_path: Path) -> None:
    s = Settings(es_url=node, es_username="marsad", es_password_file=_secret(tmp_path, "pw", "s3cret pass\n"))
    assert Es.from_settings(s).request("GET", "/")["cluster_name"] == "secured"
    assert SecuredNode.seen == [BASIC]


def test_an_api_key_file_is_sent_as_apikey(node: str, tmp_path: Path) -> None:
    SecuredNode.expected = f"ApiKey {API_KEY}"
    s = Settings(es_url=node, es_api_key_file=_secret(tmp_path, "key", f"{API_KEY}\n"))
    assert Es.from_settings(s).request("GET", "/")["cluster_name"] == "secured"
    assert SecuredNode.seen == [f"ApiKey {API_KEY}"]


def test_without_credentials_or_with_a_wrong_password_the_node_refuses(node: str, tmp_path: Path) -> None:
    """A 401 is a configuration error naming the settings to check (retrying does not fix it), never the password."""
    with pytest.raises(ConfigError, match="refused the credentials \\(401\\)") as none:
        Es.from_settings(Settings(es_url=node)).request("GET", "/")
    wrong = Settings(es_url=node, es_username="marsad", es_password_file=_secret(tmp_path, "pw", "wrong"))
    with pytest.raises(ConfigError, match="MARSAD_ES_PASSWORD_FILE") as bad:
        Es.from_settings(wrong).request("GET", "/")
    assert "wrong" not in str(bad.value) and "wrong" not in str(none.value)
    assert SecuredNode.seen[0] is None and SecuredNode.seen[1] == "Basic bWFyc2FkOndyb25n"  # base64 "marsad:wrong"


@pytest.mark.parametrize("content", [None, "", "  \n"])
def test_a_missing_or_empty_secret_file_is_a_config_error_naming_it(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "pw"
    if content is not None:
        path.write_text(content)
    s = Settings(es_url="http://127.0.0.1:9", es_username="marsad", es_password_file=path)
    with pytest.raises(ConfigError, match=f"MARSAD_ES_PASSWORD_FILE: .*{path.name}"):
        Es.from_settings(s)


def _ca_and_server_context(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    """A throwaway CA (``ca.pem``) and a server context whose certificate for 127.0.0.1 it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "marsad test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem, cert_pem, key_pem = tmp_path / "ca.pem", tmp_path / "node.pem", tmp_path / "node.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_pem, key_pem)
    return ca_pem, ctx


def test_https_node_is_trusted_through_the_configured_ca_only(tmp_path: Path) -> None:
    SecuredNode.seen = []
    SecuredNode.expected = BASIC
    ca, ctx = _ca_and_server_context(tmp_path)
    pw = _secret(tmp_path, "pw", "s3cret pass")
    with serve(SecuredNode, tls=ctx) as url:
        assert url.startswith("https://")
        good = Settings(es_url=url, es_username="marsad", es_password_file=pw, es_ca_certs=ca)
        assert Es.from_settings(good).request("GET", "/")["cluster_name"] == "secured"
        no_ca = Settings(es_url=url, es_username="marsad", es_password_file=pw)
        with pytest.raises(TransientError, match="(?i)certificate"):
            Es.from_settings(no_ca, request_timeout_s=5).request("GET", "/")
    assert SecuredNode.seen == [BASIC]  # the unverified node never saw the credentials


@pytest.mark.parametrize("command", [["templates", "apply"], ["search", "x"], ["alerts", "list"]])
def test_commands_against_a_node_refusing_the_credentials_say_so_in_one_line(node: str, tmp_path: Path,
                                                                             command: list[str]) -> None:
    """Before: ``templates apply`` blamed "an index created by an older template", ``alerts list`` printed a
    traceback, ``search`` "Elasticsearch refused the search"; now one ``error:`` line naming the credentials, exit 2."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
    env.update(MARSAD_ES_URL=node, MARSAD_STATE_DIR=str(tmp_path / "state"), MARSAD_ES_USERNAME="marsad",
               MARSAD_ES_PASSWORD_FILE=str(_secret(tmp_path, "pw", "wrong")))
    proc = subprocess.run([sys.executable, "-m", "marsad.cli", *command], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "(401)" in lines[0], proc.stderr


def test_a_missing_password_file_is_one_line_before_any_request(tmp_path: Path) -> None:
    """Checked by every command at start-up (``cli_settings``); before: a traceback ending in ``ConfigError`` at the
    first request."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
    env.update(MARSAD_ES_URL="http://127.0.0.1:1", MARSAD_STATE_DIR=str(tmp_path / "state"),
               MARSAD_ES_USERNAME="marsad", MARSAD_ES_PASSWORD_FILE=str(tmp_path / "missing"))
    proc = subprocess.run([sys.executable, "-m", "marsad.cli", "templates", "apply"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"error: MARSAD_ES_PASSWORD_FILE: {tmp_path / 'missing'}: No such file or directory"
