"""Ingest-time alerts against the real stack: raw pages → extract → index (percolation) → alerts topic / webhook."""

from __future__ import annotations

import http.server
from pathlib import Path

import orjson
import pytest

from marsad.alerts.events import AlertEvent
from marsad.alerts.rules import RuleStore, make_rule
from marsad.alerts.webhook import webhook_worker
from marsad.demo.site import _CorpusBuilder, render_article
from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.kafka.clients import ensure_topics
from marsad.pipeline import extract_worker, index_worker
from tests.local_http import serve

from .helpers import publish, raw_page, read_to_end

pytestmark = pytest.mark.services

BASE = "http://news.example"


def _seed(corpus: Path):
    """The seed story as the demo serves it (aggregator site), plus its title and paragraphs."""
    site = _CorpusBuilder(corpus, BASE).aggregator()
    [page] = site.pages
    lines = [x.strip() for x in (corpus / "seed" / "republished-story.txt").read_text(encoding="utf-8").splitlines()]
    lines = [x for x in lines if x]
    return page.url(BASE), page.body, lines[0], lines[1:]


def _mirror(title: str, paragraphs: list[str], drop: int = 0) -> bytes:
    """A republication on another site: the seed's body (optionally without its last ``drop`` paragraphs)."""
    body = paragraphs[:len(paragraphs) - drop] if drop else paragraphs
    return render_article(site="mirror", site_label="مرآة", title=title + " (نقلاً)", paragraphs=body, published=None)


def _drain(settings) -> None:
    import time

    t0 = time.monotonic()
    extract_worker(settings).run(until_idle=True)
    t1 = time.monotonic()
    index_worker(settings).run(until_idle=True)
    print(f"drain: extract {t1 - t0:.1f}s index {time.monotonic() - t1:.1f}s")


def _alerts(settings) -> list[AlertEvent]:
    """Every event on the alerts topic (read to the end of each partition: producers flushed before returning)."""
    return [AlertEvent.from_json(v) for v in read_to_end(settings, settings.alerts_topic)]


@pytest.fixture
def stack(names):
    es = Es(names.es_url)
    names = names.model_copy(update={"idle_timeout_s": 0.5, "poll_timeout_s": 0.2})
    apply_templates(names, es)
    ensure_topics(names)
    return names, es, RuleStore(names, es)


def test_seed_story_fires_once_and_republications_redelivery_do_not(stack, corpus):
    settings, es, rules = stack
    rules.put(make_rule(name="carriers", query="حاملات طائرات"))
    rules.put(make_rule(name="carriers-elsewhere", query="حاملات طائرات", source="elsewhere"))
    rules.put(make_rule(name="unrelated", query="كأس العالم لكرة القدم"))
    url, body, title, paras = _seed(corpus)
    publish(settings, [raw_page(url, body, source="aggregator")])
    _drain(settings)

    [event] = _alerts(settings)
    assert event.rule == "carriers" and event.query == "حاملات طائرات"
    assert event.source == "aggregator" and event.url == url
    assert event.title == title
    assert "⟦حاملات⟧ ⟦طائرات⟧" in event.snippet
    assert event.published_at is not None and event.published_at.year == 2026
    story = es.request("GET", f"/{settings.stories_alias}/_doc/{event.story_id}")
    assert story["found"]

    # republications (an exact copy and a shortened near copy on another site) and a redelivery of the seed page
    publish(settings, [
        raw_page("http://mirror.example/a/1", _mirror(title, paras), source="mirror"),
        raw_page("http://mirror.example/a/2", _mirror(title, paras, drop=2), source="mirror2"),
        raw_page(url, body, source="aggregator"),
    ])
    _drain(settings)
    events = _alerts(settings)
    assert [e.alert_id for e in events] == [event.alert_id], [e.model_dump() for e in events]
    es.request("POST", f"/{settings.stories_alias}/_refresh")
    stories = es.request("POST", f"/{settings.stories_alias}/_search", {"query": {"match_all": {}}})["hits"]
    assert stories["total"]["value"] == 1  # both copies joined the seed's story
    # the copies are marked: a replay in which a copy owns the story finds the alert already sent
    es.request("POST", f"/{settings.alerts_sent_index}/_refresh")
    kinds = es.request("POST", f"/{settings.alerts_sent_index}/_search",
                       {"size": 10, "query": {"term": {"rule": "carriers"}}})["hits"]["hits"]
    assert sorted(h["_source"]["kind"] for h in kinds) == ["alert", "copy", "copy"]


def test_replay_into_new_index_does_not_alert_again_but_late_story_does(stack, corpus):
    settings, es, rules = stack
    rules.put(make_rule(name="carriers", query="حاملات طائرات"))
    url, body, title, paras = _seed(corpus)
    publish(settings, [raw_page(url, body, source="aggregator"),
                       raw_page("http://mirror.example/a/1", _mirror(title, paras), source="mirror")])
    _drain(settings)
    [first] = _alerts(settings)

    # replay: the same raw pages, new consumer groups, a new stories index and claims (as `marsad replay` would),
    # the same alerts-sent record and topic
    tag = settings.stories_alias.removesuffix("-stories")
    replay = settings.model_copy(update={
        "stories_alias": f"{tag}-replay-stories", "stories_index_prefix": f"{tag}-replay-stories-v",
        "fingerprints_index": f"{tag}-replay-fingerprints",
        "extract_group": f"{tag}.replay-extract", "index_group": f"{tag}.replay-index"})
    try:
        apply_templates(replay, es)
        _drain(replay)
        es.request("POST", f"/{replay.stories_alias}/_refresh")
        assert es.request("GET", f"/{replay.stories_alias}/_count")["count"] == 1
    finally:
        for t in (replay.stories_alias, replay.fingerprints_index):
            es.request("DELETE", f"/_index_template/{t}", ok=(404,))
    assert [e.alert_id for e in _alerts(settings)] == [first.alert_id]

    # a story indexed late (published in 2013, fetched now) still alerts; and a removed rule stops firing
    late = render_article(site="archive", site_label="أرشيف", title="أرشيف: حاملات الطائرات في الخليج",
                          paragraphs=["رصدت الأقمار الصناعية حاملتي طائرات أمريكيتين قرب مضيق هرمز في صيف 2013، "
                                      "وقال مسؤولون إن الانتشار البحري يهدف إلى ردع أي تصعيد في المنطقة."],
                          published=__import__("datetime").date(2013, 8, 3))
    rules.put(make_rule(name="hormuz", query="مضيق هرمز"))
    rules.remove("carriers")
    publish(settings, [raw_page("http://archive.example/2013/08/03/carriers", late, source="archive")])
    _drain(settings)
    events = _alerts(settings)
    assert sorted(e.rule for e in events) == ["carriers", "hormuz"]
    [hormuz] = [e for e in events if e.rule == "hormuz"]
    assert hormuz.published_at.year == 2013 and hormuz.source == "archive"


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []
    fail_first = 0

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["content-length"]))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
        else:
            type(self).received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_receives_the_event_after_a_transient_failure(stack, corpus):
    settings, es, rules = stack
    _Hook.received, _Hook.fail_first = [], 1
    with serve(_Hook) as base:
        hook_url = f"{base}/marsad"
        rules.put(make_rule(name="carriers", query="حاملات طائرات", webhook=hook_url))
        rules.put(make_rule(name="dead-hook", query="بزشكيان", webhook="http://127.0.0.1:9/nothing-listens"))
        url, body, _, _ = _seed(corpus)
        publish(settings, [raw_page(url, body, source="aggregator")])
        _drain(settings)
        fast = settings.model_copy(update={"webhook_backoff_s": 0.05, "webhook_timeout_s": 2.0})
        stats = webhook_worker(fast).run(until_idle=True)
    assert stats.outcomes == {"delivered": 1, "dead_lettered": 1}, stats.as_dict()
    assert stats.reasons == {"dead_lettered:webhook-failed": 1}
    [(headers, raw)] = _Hook.received
    event = AlertEvent.from_json(raw)
    assert event.rule == "carriers" and event.url == url
    assert {k.lower(): v for k, v in headers.items()}["x-marsad-alert-id"] == event.alert_id
    [dead] = read_to_end(settings, settings.dead_letter_topic, with_headers=True)
    assert orjson.loads(dead[0])["rule"] == "dead-hook"
    assert dict(dead[1])["dlq.reason"] == b"webhook-failed"
