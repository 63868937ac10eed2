"""Secrets and TLS material of a secure local Kafka (`marsad stack up --secure`), and the broker properties using them.

Everything lives in ``<state_dir>/stack/kafka-secrets/`` (mode 0700, every file 0600 except the CA certificate),
never in the repository; it is made once per state dir (the SCRAM credentials are written into the KRaft metadata at
format time, so they live as long as the data dirs) and reused by later `up`s:

* ``ca.pem`` / ``ca-key.pem`` — a CA made for this state dir (EC P-256, 10 years): clients trust it
  (``MARSAD_KAFKA_SSL_CA``), brokers trust it for the controller listener's mutual TLS.
* ``kafka-<node.id>.pem`` — the node's private key (PKCS#8) + certificate signed by the CA (EC P-256, 825 days,
  ``CN=kafka-<node.id>``, SAN ``127.0.0.1`` and ``localhost``, server and client use): Kafka's PEM key store
  (``ssl.keystore.type=PEM``, KIP-651).
* ``admin.password`` — the inter-broker SCRAM user ``admin``; ``marsad.password`` — the client user ``marsad``
  (``MARSAD_KAFKA_SASL_PASSWORD_FILE``). 128 random bits each (:func:`secrets.token_hex`).
* ``broker-secrets.properties`` — ``admin.password=…`` read by the broker through Kafka's ``FileConfigProvider``
  (KIP-297), so ``server.properties`` itself holds no secret.

Certificates are made with the ``cryptography`` package (PyCA, the X.509 library pip, Certbot and Ansible use),
not by calling ``openssl``/``keytool``: no extra binaries, no passwords on command lines, and Kafka reads PEM
directly since 2.7 (KIP-651), so no JKS/PKCS#12 conversion is needed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from pathlib import Path

from ._common import BIND_HOST, StackError

SECRETS_DIRNAME = "kafka-secrets"
ADMIN_USER = "admin"
"""SCRAM user the brokers authenticate each other with (inter-broker listener ``SASL_SSL``)."""
CLIENT_USER = "marsad"
"""SCRAM user of Marsad's clients against the local secure stack."""
MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 8192
"""PBKDF2 iterations of the stored SCRAM credentials (Kafka's documented example; its minimum is 4096)."""
CA_DAYS = 3650
NODE_DAYS = 825
"""Validity of a node certificate (days): the CA/Browser Forum's former maximum; a dev stack outlives few of them."""
FILE_CONFIG_PROVIDER = "org.apache.kafka.common.config.provider.FileConfigProvider"
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"


class KafkaSecrets:
    """Paths of the secure stack's material under ``<stack_dir>/kafka-secrets`` (see module docstring)."""

    def __init__(self, stack_dir: Path) -> None:
        self.dir = Path(stack_dir) / SECRETS_DIRNAME

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca-key.pem"

    def node_pem(self, node_id: int) -> Path:
        return self.dir / f"kafka-{node_id}.pem"

    def password_file(self, user: str) -> Path:
        return self.dir / f"{user}.password"

    @property
    def broker_properties(self) -> Path:
        return self.dir / "broker-secrets.properties"

    def password(self, user: str) -> str:
        return self.password_file(user).read_text(encoding="utf-8").strip()

    def ensure(self, node_id: int) -> None:
        """Create what is missing: the directory (0700), the CA, the passwords of :data:`ADMIN_USER` and
        :data:`CLIENT_USER`, ``broker-secrets.properties`` and node ``node_id``'s key + certificate. Existing files
        are kept. Raises :class:`StackError` when the path cannot hold a ``${file:…}`` reference (``:`` or ``}``)."""
        if any(c in str(self.dir) for c in ":}"):
            raise StackError(f"the state dir {self.dir.parent.parent} contains ':' or '}}', which Kafka's "
                             "${file:path:key} references cannot hold; use another MARSAD_STATE_DIR")
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        for user in (ADMIN_USER, CLIENT_USER):
            if not self.password_file(user).is_file():
                _write_secret(self.password_file(user), secrets.token_hex(16) + "\n")
        if not self.broker_properties.is_file():
            _write_secret(self.broker_properties, f"{ADMIN_USER}.password={self.password(ADMIN_USER)}\n")
        if not (self.ca_cert.is_file() and self.ca_key.is_file()):
            self._make_ca()
        if not self.node_pem(node_id).is_file():
            self._make_node(node_id)

    def _make_ca(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Marsad local stack"),
                          x509.NameAttribute(NameOID.COMMON_NAME, f"Marsad Kafka CA {secrets.token_hex(4)}")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_secret(self.ca_key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode())
        self.ca_cert.write_text(cert.public_bytes(serialization.Encoding.PEM).decode(), encoding="utf-8")
        for stale in self.dir.glob("kafka-*.pem"):  # signed by a CA that is gone
            stale.unlink()

    def _make_node(self, node_id: int) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        ca_key = serialization.load_pem_private_key(self.ca_key.read_bytes(), password=None)
        ca = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"kafka-{node_id}")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=NODE_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(BIND_HOST)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False)  # type: ignore[arg-type]
            .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
        )
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        pem += cert.public_bytes(serialization.Encoding.PEM)
        _write_secret(self.node_pem(node_id), pem.decode())

    def scram_args(self) -> list[str]:
        """``kafka-storage format`` arguments that store the SCRAM credentials of both users in the bootstrap
        metadata (KIP-900 ``--add-scram``): the brokers need ``admin`` before any broker runs to accept a
        credential change. Holds passwords: goes into a 0600 argument file, never onto a command line."""
        return [arg for user in (ADMIN_USER, CLIENT_USER) for arg in
                ("--add-scram", f"{MECHANISM}=[name={user},iterations={SCRAM_ITERATIONS},"
                                f"password={self.password(user)}]")]

    def broker_overrides(self, *, port: int, controller_port: int, node_id: int) -> dict[str, str | None]:
        """``server.properties`` settings of a secure node (applied over the plaintext ones): the client and
        inter-broker listener ``SASL_SSL`` with SCRAM-SHA-512 only; the KRaft controller listener ``SSL`` with
        client certificates required (mutual TLS: SCRAM cannot serve it, its credentials live in the metadata the
        controllers serve — Kafka security docs, KAFKA-15513); the admin password through ``FileConfigProvider``."""
        jaas = (f'{SCRAM_LOGIN} required username="{ADMIN_USER}" '
                f'password="${{file:{self.broker_properties}:{ADMIN_USER}.password}}";')
        return {
            "listeners": f"SASL_SSL://{BIND_HOST}:{port},CONTROLLER://{BIND_HOST}:{controller_port}",
            "advertised.listeners": f"SASL_SSL://{BIND_HOST}:{port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "CONTROLLER:SSL,SASL_SSL:SASL_SSL",
            "config.providers": "file",
            "config.providers.file.class": FILE_CONFIG_PROVIDER,
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.node_pem(node_id)),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_cert),
            "ssl.endpoint.identification.algorithm": "https",
            "listener.name.controller.ssl.client.auth": "required",
        }


def _write_secret(path: Path, text: str) -> None:
    """Write ``text`` to a new file created with mode 0600 (replacing ``path``; never world-readable, not even
    for a moment)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
