"""Kafka client factories and topic administration (confluent-kafka / librdkafka).

Producer defaults follow the Kafka documentation for durable, ordered delivery: ``acks=all`` with
``enable.idempotence=true`` (no duplicates from producer retries), zstd compression, and a
``message.max.bytes`` equal to the topic's ``max.message.bytes`` so an oversized record fails locally with
``MSG_SIZE_TOO_LARGE`` instead of being rejected by the broker after a round trip.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

from confluent_kafka import Consumer, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from marsad.errors import ConfigError, TransientError
from marsad.settings import Settings

log = logging.getLogger(__name__)

LIBRDKAFKA_LOG = logging.getLogger("marsad.kafka.librdkafka")
"""Every client's librdkafka log lines go to this Python logger (config ``logger``) instead of straight to file
descriptor 2: with a broker down librdkafka writes one line per client per reconnect attempt. Entrypoints set its
level (``Settings.client_log_level``, see :func:`marsad.observability.setup_logging`)."""

HEADROOM = 64 * 1024
"""Bytes added to ``max_message_bytes`` for the record overhead (key, headers, batch header)."""


def position(m: Message) -> tuple[int, int]:
    """``(partition, offset)`` of a message returned by ``poll``/``consume`` (a record, or a partition-EOF event).

    confluent-kafka types both as optional because a ``Message`` can also be built by hand; a fetched one has both.
    Raises ``ValueError`` for a message without them.
    """
    p, o = m.partition(), m.offset()
    if p is None or o is None:
        raise ValueError(f"not a fetched Kafka message: partition {p}, offset {o}")
    return p, o


def headers(m: Message) -> list[tuple[str, bytes]]:
    """A fetched record's headers as ``(name, value)`` pairs in record order, ``[]`` without headers.

    librdkafka returns them as a list of ``(str, bytes)``; confluent-kafka's type is the wider one ``produce`` accepts
    (a dict, ``str`` values). A header with a null value would come as ``(name, None)``: Marsad's producers never
    write one (every header value here is bytes, :class:`marsad.stage.Output`).
    """
    return cast("list[tuple[str, bytes]]", list(m.headers() or []))


def sasl_password(settings: Settings) -> str:
    """The SCRAM password of Marsad's Kafka user: the content of ``kafka_sasl_password_file`` (surrounding
    whitespace stripped; read on every call, so a rotated password reaches the next client) or
    ``kafka_sasl_password``. Raises :class:`ConfigError` (naming the file, never the password) when the file cannot
    be read or is empty, or when neither is set."""
    path = settings.kafka_sasl_password_file
    if path is not None:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise ConfigError(f"MARSAD_KAFKA_SASL_PASSWORD_FILE {path}: {reason}") from None
        if not value:
            raise ConfigError(f"MARSAD_KAFKA_SASL_PASSWORD_FILE {path} is empty")
        return value
    if settings.kafka_sasl_password is not None:
        return settings.kafka_sasl_password.get_secret_value()
    raise ConfigError("MARSAD_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs MARSAD_KAFKA_SASL_PASSWORD_FILE "
                      "(or MARSAD_KAFKA_SASL_PASSWORD)")


def security_config(settings: Settings) -> dict[str, str]:
    """The librdkafka security properties of every Kafka client Marsad builds (producers, consumers, admin clients,
    readers, the local stack's readiness probe) — the one place they are made.

    ``PLAINTEXT``: ``{"security.protocol": "PLAINTEXT"}``. ``SASL_SSL``: ``security.protocol``,
    ``sasl.mechanism`` (``kafka_sasl_mechanism``), ``sasl.username``/``sasl.password`` (:func:`sasl_password`),
    ``ssl.ca.location`` when ``kafka_ssl_ca`` is set (else librdkafka's default trust store) and
    ``ssl.endpoint.identification.algorithm=https`` (the broker certificate must name the host; librdkafka's default
    since 2.0, stated so that no override turns it off). Property names: librdkafka CONFIGURATION.md.
    Raises :class:`ConfigError` when the password cannot be read.
    """
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {"security.protocol": "PLAINTEXT"}
    if not settings.kafka_sasl_username:
        raise ConfigError("MARSAD_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs MARSAD_KAFKA_SASL_USERNAME")
    conf = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": settings.kafka_sasl_mechanism,
        "sasl.username": settings.kafka_sasl_username,
        "sasl.password": sasl_password(settings),
        "ssl.endpoint.identification.algorithm": "https",
    }
    if settings.kafka_ssl_ca is not None:
        conf["ssl.ca.location"] = str(settings.kafka_ssl_ca)
    return conf


def producer(settings: Settings, **overrides: object) -> Producer:
    """A durable producer (idempotent, acks=all, zstd). Raises ``KafkaException`` on bad config."""
    conf = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": "zstd",
        "linger.ms": 20,
        "message.max.bytes": settings.max_message_bytes + HEADROOM,
        "client.id": "marsad",
        "logger": LIBRDKAFKA_LOG,
        **security_config(settings),
    }
    conf.update(overrides)
    return Producer(conf)


def consumer(settings: Settings, group: str, **overrides: object) -> Consumer:
    """A consumer in ``group`` with manual commits (offsets are committed by the worker after outputs are durable)."""
    conf = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "max.poll.interval.ms": int(settings.consumer_max_poll_interval_s * 1000),
        "session.timeout.ms": int(settings.consumer_session_timeout_s * 1000),
        "heartbeat.interval.ms": max(1000, int(settings.consumer_session_timeout_s * 1000 / 3)),
        "fetch.max.bytes": max(52_428_800, settings.max_message_bytes + HEADROOM),
        "max.partition.fetch.bytes": settings.max_message_bytes + HEADROOM,
        "client.id": f"marsad-{group}",
        "logger": LIBRDKAFKA_LOG,
        **security_config(settings),
    }
    conf.update(overrides)
    return Consumer(conf)


def admin(settings: Settings) -> AdminClient:
    # confluent-kafka 2.16's AdminClient signature admits only scalar config values, but like Producer/Consumer (typed
    # dict[str, Any]) it takes a logging.Logger for "logger" (librdkafka's documented config key): the ignore is for
    # the type stub only
    conf = {"bootstrap.servers": settings.kafka_bootstrap, "logger": LIBRDKAFKA_LOG, **security_config(settings)}
    return AdminClient(conf)  # type: ignore[arg-type]


def topic_names(settings: Settings) -> list[str]:
    """Topics of the pipeline, in data-path order."""
    return [settings.raw_pages_topic, settings.articles_topic, settings.dead_letter_topic, settings.alerts_topic,
            settings.outcomes_topic]


def topic_config(settings: Settings, name: str) -> dict[str, str]:
    """Config of a pipeline topic at creation: ``max.message.bytes`` for all; the ledger topic
    (``outcomes_topic``) is compacted (``cleanup.policy=compact``: the last outcome per raw page and stage is kept
    for good, older versions are cleaned)."""
    conf = {"max.message.bytes": str(settings.max_message_bytes + HEADROOM)}
    if name == settings.outcomes_topic:
        conf["cleanup.policy"] = "compact"
    return conf


REPLICATION_FACTOR = 3
"""Replicas of a pipeline topic on a cluster of 3 or more brokers (Kafka's recommended production value: one
broker may be down for maintenance while another fails)."""
MIN_INSYNC_REPLICAS = 2
"""``min.insync.replicas`` of a topic with :data:`REPLICATION_FACTOR` replicas: with ``acks=all`` (our producers) a
write is acknowledged only once 2 replicas hold it, so losing any one broker loses nothing acknowledged and writes
carry on (Kafka documentation, "Replication": RF 3 + min ISR 2 is the durable and available choice)."""


def replication(brokers: int) -> tuple[int, dict[str, str]]:
    """``(replication_factor, extra topic config)`` for a cluster of ``brokers`` live brokers:
    ``min(3, brokers)`` replicas, and ``min.insync.replicas=2`` when there are 3 (with fewer, one replica down
    would stop every write)."""
    factor = max(1, min(REPLICATION_FACTOR, brokers))
    extra = {"min.insync.replicas": str(MIN_INSYNC_REPLICAS)} if factor >= REPLICATION_FACTOR else {}
    return factor, extra


def ensure_topics(settings: Settings, names: list[str] | None = None, timeout_s: float | None = None) -> list[str]:
    """Create missing pipeline topics; return the names created (``[]`` when all existed).

    Topics get ``settings.topic_partitions`` partitions, :func:`replication` for the brokers the cluster lists
    (1 on the single local broker; 3 with ``min.insync.replicas=2`` on ``marsad stack up --nodes 3``) and
    :func:`topic_config` (``max.message.bytes = settings.max_message_bytes + HEADROOM``; the ledger compacted).
    Raises :class:`TransientError` when the cluster does not answer within ``timeout_s`` (seconds; default
    ``settings.kafka_admin_timeout_s``).
    """
    timeout_s = timeout_s or settings.kafka_admin_timeout_s
    client = admin(settings)
    names = names or topic_names(settings)
    try:
        md = client.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise TransientError(f"Kafka at {settings.kafka_bootstrap} did not answer: {exc}") from exc
    missing = [n for n in names if n not in md.topics]
    if not missing:
        return []
    factor, extra = replication(len(md.brokers))
    futures = client.create_topics(
        [
            NewTopic(
                n,
                num_partitions=settings.topic_partitions,
                replication_factor=factor,
                config={**topic_config(settings, n), **extra},
            )
            for n in missing
        ],
        operation_timeout=timeout_s,
    )
    created = []
    for name, fut in futures.items():
        try:
            fut.result()
            created.append(name)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() == 36:  # TOPIC_ALREADY_EXISTS: another process won the race
                continue
            raise TransientError(f"could not create topic {name}: {exc}") from exc
    log.info("created topics %s", created)
    return created


def topic_message_count(settings: Settings, topic: str, timeout_s: float = 10.0) -> int:
    """Sum over partitions of (high watermark − low watermark): messages currently retained in ``topic``."""
    from confluent_kafka import TopicPartition

    c = consumer(settings, group="marsad.inspect")
    try:
        md = c.list_topics(topic, timeout=timeout_s)
        if topic not in md.topics or md.topics[topic].error is not None:
            return 0
        total = 0
        for p in md.topics[topic].partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)
            total += max(0, high - low)
        return total
    finally:
        c.close()


def read_to_end(settings: Settings, topic: str, timeout_s: float = 15.0) -> list:
    """Every message of ``topic`` (``confluent_kafka.Message``), read to the end of each partition with a throwaway
    consumer group and no commits. A missing topic reads as ``[]``.

    For topics whose producers flushed before the call: no waiting for stragglers. Raises
    :class:`TransientError` when the end is not reached within ``timeout_s`` (seconds) or a read fails.
    """
    import time
    import uuid

    from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

    c = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"marsad.reader-{uuid.uuid4().hex}",
                  "enable.auto.commit": False, "enable.partition.eof": True, "logger": LIBRDKAFKA_LOG,
                  **security_config(settings)})
    try:
        md = c.list_topics(topic, timeout=10).topics.get(topic)
        if md is None or md.error is not None:
            return []
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.partitions])
        pending, out = set(md.partitions), []
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise TransientError(f"{topic}: partitions {sorted(pending)} not read to the end in {timeout_s} s")
            m = c.poll(0.2)
            if m is None:
                continue
            err = m.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    pending.discard(m.partition())
                    continue
                raise TransientError(f"reading {topic}: {err}")
            out.append(m)
        return out
    finally:
        c.close()
