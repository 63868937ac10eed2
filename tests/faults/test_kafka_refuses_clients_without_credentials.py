"""A secure 3-broker Kafka (``marsad stack up --nodes 3 --secure``) serves Marsad's clients and refuses every client
that lacks a part of the credentials: no credentials at all (PLAINTEXT to the SASL_SSL port), the right user over an
unencrypted connection (SASL_PLAINTEXT), a wrong password, an unknown user, no CA to check the broker with.

The cluster is the brokers alone (:func:`marsad.stack.up` with ``only={"kafka"}``) in a private state dir on private
ports, never the shared stack; 256m heaps. Marsad's own client factory (:mod:`marsad.kafka.clients`: ``ensure_topics``,
``producer``, ``consumer``) produces and consumes a record with the settings the stack hands out
(:func:`marsad.stack.client_env`: user ``marsad``, password file, CA file). A refused client is asked for metadata
and must get none, and the error librdkafka reports (``error_cb``) is the kind of the refusal: ``_AUTHENTICATION``
for a SCRAM failure (the broker ran SCRAM and said no), ``_SSL`` for a broker certificate the client cannot verify,
``_TRANSPORT`` / ``_ALL_BROKERS_DOWN`` for a client that does not speak TLS (the broker drops the connection). Each
wait is bounded by a timeout; no time is asserted. The credentialed client is asked in the same test, so a refusal
is never a cluster that is down.

Also checked: the passwords and keys are 0600 files of a 0700 directory in the state dir, and no password appears in
the rendered ``server.properties``, the brokers' logs or the environment the stack hands to clients.
"""

from __future__ import annotations

import stat
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer

from marsad.kafka import clients
from marsad.settings import Settings, load_settings

pytestmark = pytest.mark.services

NODES = 3
WAIT_S = 30.0
"""Upper bound of one wait for a client's first error or a record (seconds); a bound, not an assertion."""


def secure_ports() -> dict[str, object]:
    """Ports of a private secure 3-broker cluster: client ports ``base + 592..594``, controllers ``base + 692..694``
    for the first base in 24500, 25500 … with all six free (below the ephemeral range, clear of the other private
    stacks and of the 3+3 cluster test's offsets)."""
    from marsad.stack._common import port_free

    offsets = [*range(592, 595), *range(692, 695)]
    for base in range(24500, 32500, 1000):
        if all(port_free(base + d) for d in offsets):
            return {"kafka_bootstrap": ",".join(f"127.0.0.1:{base + 592 + i}" for i in range(NODES)),
                    "kafka_controller_port": base + 692}
    raise RuntimeError("no free port range for the private secure cluster")


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory) -> Settings:
    """A private ``marsad stack up --nodes 3 --secure`` (brokers only) for this module; stopped afterwards."""
    from marsad import stack

    state = tmp_path_factory.mktemp("secure-kafka")
    s = load_settings(state_dir=state, stack_nodes=NODES, stack_secure=True, kafka_heap="256m", **secure_ports())
    try:
        st = stack.up(s, only={"kafka"})
    except stack.StackError as exc:
        stack.down(s)
        pytest.fail(f"the secure 3-broker cluster did not start: {exc}")
    assert [x.name for x in st] == ["kafka-1", "kafka-2", "kafka-3"]
    yield s
    stack.down(s)


@pytest.fixture(scope="module")
def secure(stack_settings: Settings) -> Settings:
    """Client settings of the secure cluster, built the way a ``marsad`` process builds them: from the
    ``MARSAD_*`` variables the stack hands out (:func:`marsad.stack.client_env`)."""
    import os

    from marsad import stack

    env = stack.client_env(stack_settings)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        s = load_settings()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert (s.kafka_security_protocol, s.kafka_sasl_username) == ("SASL_SSL", "marsad")
    return s


def first_error(conf: dict[str, object]) -> KafkaError | None:
    """The first error librdkafka reports (``error_cb``) for a producer with ``conf``, waiting at most
    :data:`WAIT_S`; None when none came."""
    errors: list[KafkaError] = []
    p = Producer({**conf, "error_cb": errors.append, "logger": clients.LIBRDKAFKA_LOG})
    deadline = time.monotonic() + WAIT_S
    while not errors and time.monotonic() < deadline:
        p.poll(0.2)
    return errors[0] if errors else None


def metadata_refused(conf: dict[str, object], timeout_s: float = 5.0) -> bool:
    """True when a client with ``conf`` gets no cluster metadata (``list_topics`` fails within ``timeout_s``; a
    refused client never gets it, so every call on one waits the whole time)."""
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({**conf, "logger": clients.LIBRDKAFKA_LOG}).list_topics(timeout=timeout_s)
    except KafkaException:
        return True
    return False


def test_a_client_with_credentials_produces_and_consumes(secure: Settings) -> None:
    tag = f"s{uuid.uuid4().hex[:10]}"
    s = secure.model_copy(update={"raw_pages_topic": f"{tag}.raw-pages.v1"})
    topic = s.raw_pages_topic
    assert clients.ensure_topics(s, [topic]) == [topic]
    p = clients.producer(s)
    p.produce(topic, key=b"k-1", value="صفحة خام".encode())
    assert p.flush(WAIT_S) == 0
    c = clients.consumer(s, group=f"{tag}.group")
    try:
        c.subscribe([topic])
        deadline, got = time.monotonic() + WAIT_S, None
        while got is None and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got = m
        assert got is not None, "the record was not consumed"
        assert (got.key(), got.value().decode()) == (b"k-1", "صفحة خام")
    finally:
        c.close()


REFUSED = {
    # name: (how the client differs from Marsad's configured one, error codes that name the refusal)
    "no credentials, PLAINTEXT": (lambda sec: {}, {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN}),
    "credentials without TLS (SASL_PLAINTEXT)": (
        lambda sec: {**{k: v for k, v in sec.items() if not k.startswith("ssl.")},
                     "security.protocol": "SASL_PLAINTEXT"},
        {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN}),
    "wrong password": (lambda sec: {**sec, "sasl.password": "not-the-password"}, {KafkaError._AUTHENTICATION}),
    "unknown user": (lambda sec: {**sec, "sasl.username": "mallory"}, {KafkaError._AUTHENTICATION}),
    "no CA (the system trust store)": (lambda sec: {k: v for k, v in sec.items() if k != "ssl.ca.location"},
                                       {KafkaError._SSL}),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_client_without_credentials_is_refused(secure: Settings, case: str) -> None:
    sec = clients.security_config(secure)
    base = {"bootstrap.servers": secure.kafka_bootstrap}
    make_conf, kinds = REFUSED[case]
    conf = {**base, **make_conf(sec)}
    assert not metadata_refused({**base, **sec}, WAIT_S), "the credentialed client was refused: is the cluster up?"
    err = first_error(conf)
    assert err is not None, f"{case}: no error reported within {WAIT_S} s"
    assert err.code() in kinds, f"{case}: {err.name()} {err.str()}"
    assert metadata_refused(conf), f"{case}: the client got the cluster's metadata"


def test_secrets_are_private_files_and_never_written_elsewhere(stack_settings: Settings, secure: Settings) -> None:
    from marsad import stack
    from marsad.stack._kafka_secure import KafkaSecrets

    material = KafkaSecrets(Path(stack_settings.state_dir) / "stack")
    assert stat.S_IMODE(material.dir.stat().st_mode) == 0o700
    private = [material.password_file("admin"), material.password_file("marsad"), material.broker_properties,
               material.ca_key, *(material.node_pem(i) for i in range(1, NODES + 1))]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in private} == {p.name: 0o600 for p in private}
    assert secure.kafka_sasl_password_file == material.password_file("marsad")
    passwords = [material.password("admin"), material.password("marsad")]
    assert all(len(pw) == 32 for pw in passwords)
    handed_out = " ".join(stack.client_env(stack_settings).values())
    written = [p for p in (Path(stack_settings.state_dir) / "stack").rglob("*")
               if p.is_file() and material.dir not in p.parents and "lib" not in p.parts]
    assert any(p.name == "server.properties" for p in written) and any(p.name == "server.log" for p in written)
    for pw in passwords:
        assert pw not in handed_out
        leaks = [str(p) for p in written if pw.encode() in p.read_bytes()]
        assert leaks == []
