"""``marsad.settings.scratch_names`` renames *every* Kafka topic, consumer group and Elasticsearch index/alias/prefix:
benchmarks and tests that delete their names afterwards must never delete the operator's own (a benchmark that renamed
three of the five topics deleted the real alerts and outcomes topics)."""

from __future__ import annotations

from marsad.kafka.clients import topic_names
from marsad.settings import Settings, scratch_names

NAME_SUFFIXES = ("_topic", "_group", "_alias", "_index", "_prefix")


def test_every_name_setting_is_renamed():
    names = {f for f in Settings.model_fields if f.endswith(NAME_SUFFIXES)}
    assert names, "no name settings found: the suffix list is wrong"
    assert names <= set(scratch_names("t")), sorted(names - set(scratch_names("t")))


def test_every_topic_the_clean_up_deletes_carries_the_tag():
    s = Settings(**scratch_names("bench1234"))
    assert all(t.startswith("bench1234.") for t in topic_names(s)), topic_names(s)
    defaults = Settings()
    assert not set(topic_names(s)) & set(topic_names(defaults))
