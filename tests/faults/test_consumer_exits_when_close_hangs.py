"""A consumer whose ``close()`` never returns still exits, with its batches committed (the hang at exit
seen in the fault suite, librdkafka's ``close()`` blocked in a rebalance callback, confluentinc/librdkafka#4884).

The hang is made real in a real ``marsad consume index --until-idle`` process: the fault point
``kafka.consumer.close`` (:mod:`marsad.faults`) blocks the closing thread at a barrier nobody opens, exactly where
``close()`` would block. Expected, written before running: the process exits 0 after
``consumer_close_timeout_s``, says why in its log, and the group's committed offset is the end of the topic — the
record it indexed is not handed to anyone again.
"""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from marsad.dedup.urls import canonical_url
from marsad.index.templates import apply_templates
from marsad.kafka.clients import ensure_topics
from marsad.messages import Article, utcnow
from marsad.text.arabic import content_hash

from .processes import start, wait_exit

pytestmark = pytest.mark.services


def test_consumer_whose_close_hangs_exits_with_its_offsets_committed(make_names, tmp_path):
    s = make_names(batch_size=10)
    apply_templates(s)
    ensure_topics(s)
    text = "أعلنت وزارة المياه عن مشروع جديد لتحلية مياه البحر في المنطقة الشرقية بطاقة كبيرة"
    a = Article(url="https://a.example/news/1", canonical_url=canonical_url("https://a.example/news/1"),
                source="test", title="t", text=text, fetched_at=utcnow(), content_hash=content_hash(text))
    p = Producer({"bootstrap.servers": s.kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    p.produce(s.articles_topic, key=a.canonical_url.encode(), value=a.to_json(), partition=0)
    assert p.flush(30) == 0

    log = tmp_path / "consumer.log"
    never = tmp_path / "never-opened"
    proc = start(s, "index", log, fault_points={"kafka.consumer.close": f"wait:{never}"},
                 consumer_close_timeout_s=2)
    code = wait_exit(proc, log, timeout_s=120)  # without the bound it never exits: wait_exit fails with the log
    out = " ".join(log.read_text().split())  # the log handler wraps long lines
    assert code == 0, out[-3000:]
    assert "did not close within 2 s" in out, out[-3000:]
    assert list(tmp_path.glob("never-opened.reached.*")), "the close() barrier was not reached: nothing was tested"

    c = Consumer({"bootstrap.servers": s.kafka_bootstrap, "group.id": s.index_group, "enable.auto.commit": False})
    try:
        [tp] = c.committed([TopicPartition(s.articles_topic, 0)], timeout=30)
        _low, high = c.get_watermark_offsets(TopicPartition(s.articles_topic, 0), timeout=30)
    finally:
        c.close()
    assert tp.offset == high == 1
