"""Fixtures of the fault tests: several independent sets of pipeline names per test (a fault-free run and a
faulted run of the same input must not share topics, groups or indices)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from marsad.settings import Settings


def names_for(base: Settings, **update: object) -> Settings:
    tag = f"f{uuid.uuid4().hex[:10]}"
    return base.model_copy(update={
        "raw_pages_topic": f"{tag}.raw-pages.v1", "articles_topic": f"{tag}.articles.v1",
        "dead_letter_topic": f"{tag}.dead-letter.v1", "outcomes_topic": f"{tag}.outcomes.v1",
        "extract_group": f"{tag}.extract", "index_group": f"{tag}.index",
        "stories_alias": f"{tag}-stories", "stories_index_prefix": f"{tag}-stories-v",
        "fingerprints_index": f"{tag}-fingerprints", "alerts_topic": f"{tag}.alerts.v1",
        "alert_rules_alias": f"{tag}-alert-rules", "alerts_sent_index": f"{tag}-alerts-sent",
        "webhook_group": f"{tag}.webhooks", "idle_timeout_s": 2.0, "topic_partitions": 1,
        "consumer_session_timeout_s": 6.0, **update,
    })


def drop(s: Settings) -> None:
    """Delete the topics, indices and templates of ``s`` (missing ones are fine)."""
    from confluent_kafka import KafkaError, KafkaException

    from marsad.index.es import Es
    from marsad.kafka.clients import admin, topic_names

    es = Es(s.es_url)
    prefix = s.stories_alias.removesuffix("-stories")
    es.request("DELETE", f"/{prefix}-*", ok=(404,))
    for t in (s.stories_alias, s.fingerprints_index, s.alert_rules_alias, s.alerts_sent_index):
        es.request("DELETE", f"/_index_template/{t}", ok=(404,))
    client = admin(s)
    for f in client.delete_topics(topic_names(s), operation_timeout=30).values():
        try:
            f.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise


@pytest.fixture
def make_names(services: Settings) -> Iterator[Callable[..., Settings]]:
    """``make_names(**update)`` → fresh Settings with unique names; all of them dropped after the test."""
    made: list[Settings] = []

    def make(**update: object) -> Settings:
        s = names_for(services, **update)
        made.append(s)
        return s

    yield make
    for s in made:
        drop(s)
