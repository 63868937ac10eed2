"""``marsad audit`` reconciles the raw-pages topic with the ledger (real Kafka, real Elasticsearch, the real extract and
index stages): every raw page is a story, a republication, a duplicate, discarded or dead-lettered; a page not yet
processed is unaccounted and the command exits 1."""

from __future__ import annotations

from confluent_kafka import Producer
from typer.testing import CliRunner

from marsad import pipeline
from marsad.cli import app
from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.kafka.clients import ensure_topics
from marsad.ledger import audit
from marsad.settings import to_env

from .helpers import publish, raw_page
from .test_consumers_ride_out_faults import _article_page


def test_audit_accounts_for_every_raw_page_and_flags_the_unprocessed(names):
    s = names.model_copy(update={"alerts_enabled": False})
    ensure_topics(s)
    apply_templates(s, Es(s.es_url))
    publish(s, [
        raw_page("https://a.example/news/1", _article_page(1)),
        raw_page("https://b.example/news/2", _article_page(2)),
        raw_page("https://c.example/copy-of-1", _article_page(1)),   # the same text at another URL
        raw_page("https://d.example/file.pdf", b"%PDF-1.4 not a page", content_type="application/pdf"),
    ])
    p = Producer({"bootstrap.servers": s.kafka_bootstrap})
    p.produce(s.raw_pages_topic, key=b"https://e.example/broken", value=b"<html></html>")  # no schema header
    assert p.flush(10) == 0
    pipeline.drain(s)

    rep = audit(s).as_dict()
    # expected, written before the run: 5 produced = 2 stories + 1 duplicate + 1 discarded + 1 dead-lettered
    assert (rep["produced"], rep["indexed"], rep["duplicate"], rep["republication"]) == (5, 2, 1, 0)
    assert sum(rep["discarded"].values()) == 1
    assert rep["dead_lettered"] == {"extract:bad-raw-page": 1}
    assert rep["unaccounted"] == 0 and rep["urls_in_more_than_one_story"] == {}

    env = {k: v for k, v in to_env(s).items()}
    assert CliRunner().invoke(app, ["audit"], env=env).exit_code == 0
    publish(s, [raw_page("https://f.example/news/6", _article_page(6))])  # published, not consumed yet
    res = CliRunner().invoke(app, ["audit"], env=env)
    assert res.exit_code == 1, res.output
    assert audit(s).unaccounted == 1
