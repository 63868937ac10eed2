"""The index worker under failure: a per-item rejection is dead-lettered and the rest indexed, a crash between write
and commit redelivers idempotently, racing workers and lost/late owners keep one story, huge texts index and search."""

from __future__ import annotations

import threading

import orjson
import pytest
from confluent_kafka import Producer

from marsad.errors import TransientError
from marsad.index.es import Es, doc_id
from marsad.index.stage import IndexStage
from marsad.index.templates import apply_templates
from marsad.kafka.worker import Record
from marsad.messages import Article, utcnow
from marsad.pipeline import index_worker
from marsad.search import search
from marsad.text.arabic import content_hash

from .helpers import read_all

pytestmark = pytest.mark.services


def article(url: str, text: str, **kw) -> Article:
    return Article(url=url, canonical_url=url, source=kw.pop("source", "t"), title=kw.pop("title", "عنوان"),
                   text=text, fetched_at=utcnow(), content_hash=content_hash(text), **kw)


def text_n(i: int) -> str:
    """A distinct Arabic story per ``i`` (pseudo-words drawn from a seeded RNG): not near-duplicates of each other."""
    import random

    rng = random.Random(i)
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 7))) for _ in range(120)]
    return f"الخبر رقم {i}: نص عربي عن حاملات الطائرات. " + " ".join(words) + "."


def produce(settings, items: list[tuple[bytes, bytes, int | None]]) -> None:
    p = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for key, value, part in items:
        if part is None:
            p.produce(settings.articles_topic, key=key, value=value)
        else:
            p.produce(settings.articles_topic, key=key, value=value, partition=part)
    assert p.flush(30) == 0


def stories(es: Es, alias: str) -> list[dict]:
    es.request("POST", f"/{alias}/_refresh")
    r = es.request("POST", f"/{alias}/_search", {"size": 1000, "query": {"match_all": {}}})
    return [h["_source"] | {"_id": h["_id"]} for h in r["hits"]["hits"]]


def test_one_item_rejected_by_mapping_is_dead_lettered_and_rest_indexed(env):
    s, es = env
    good = [article(f"https://a.example/{i}", text_n(i)) for i in range(3)]
    bad = article("https://a.example/bad", text_n(99), original={"site": "x", "not_in_mapping": 1})
    produce(s, [(a.canonical_url.encode(), a.to_json(), None) for a in [*good[:2], bad, good[2]]])
    stats = index_worker(s).run(until_idle=True)
    assert stats.consumed == 4
    assert stats.outcomes["indexed"] == 3 and stats.outcomes["dead_lettered"] == 1
    assert {d["canonical_url"] for d in stories(es, s.stories_alias)} == {a.canonical_url for a in good}
    dead = read_all(s, s.dead_letter_topic, 1)
    assert len(dead) == 1 and dead[0].key() == b"https://a.example/bad"
    h = dict(dead[0].headers())
    assert h["dlq.reason"] == b"es-strict_dynamic_mapping_exception" and h["dlq.stage"] == b"index"
    assert index_worker(s).run(until_idle=True).consumed == 0  # committed


def test_article_with_immense_url_is_dead_lettered_not_a_poison_pill(env):
    s, es = env
    s = s.model_copy(update={"consumer_retry_limit_s": 1.0})
    long_url = "https://a.example/" + "%D8%A7" * 5600   # a 5,600-letter Arabic slug, percent-encoded
    huge = article(long_url, text_n(1))
    ok = article("https://a.example/ok", text_n(2))
    produce(s, [(b"k1", huge.to_json(), None), (b"k2", ok.to_json(), None)])
    stats = index_worker(s).run(until_idle=True)
    # no poison pill: both records end in a counted outcome and are committed (URL keywords use ignore_above,
    # so the immense URL is indexed; a claim ES still rejected would be dead-lettered instead)
    assert stats.consumed == 2
    assert stats.outcomes["indexed"] + stats.outcomes["dead_lettered"] == 2


def test_crash_after_es_write_before_commit_redelivers_idempotently(env, monkeypatch):
    s, es = env
    s = s.model_copy(update={"topic_partitions": 1})
    origin = article("https://origin.example/1", text_n(1))
    copies = [article(f"https://copy{i}.example/1", text_n(1), source=f"c{i}") for i in range(3)]
    other = article("https://origin.example/2", text_n(2))
    produce(s, [(a.canonical_url.encode(), a.to_json(), None) for a in [origin, *copies, other]])

    class Killed(BaseException):
        pass

    def die(consumer, records):
        raise Killed()

    from marsad.kafka.transport import Transport

    monkeypatch.setattr(Transport, "commit", staticmethod(die))
    with pytest.raises(Killed):
        index_worker(s).run(until_idle=True)
    monkeypatch.undo()
    stats = index_worker(s).run(until_idle=True)
    assert stats.consumed == 5  # everything delivered again
    docs = {d["_id"]: d for d in stories(es, s.stories_alias)}
    assert len(docs) == 2
    d = docs[doc_id(origin.canonical_url)]
    assert d["republication_count"] == 3
    assert sorted(r["canonical_url"] for r in d["republications"]) == sorted(c.canonical_url for c in copies)


def test_two_index_workers_racing_on_copies_spread_over_partitions(env):
    """Both workers of one group hold a partition before the copies arrive, so claims really race."""
    import time

    s, es = env
    s = s.model_copy(update={"batch_size": 3, "idle_timeout_s": 10.0})
    n = 15
    items = []
    for i in range(n):
        t = text_n(i)
        for j, part in enumerate((0, 1, 0, 1)):   # 4 copies per text, on both partitions
            a = article(f"https://site{j}.example/news/{i}", t, source=f"s{j}")
            items.append((a.canonical_url.encode(), a.to_json(), part))
    workers = [index_worker(s) for _ in range(2)]
    results: list = []

    def run(w):
        try:
            results.append(w.run(until_idle=True))
        except BaseException as exc:  # noqa: BLE001
            results.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 9
    while not all(w._assigned for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(w._assigned for w in workers), "both workers should hold one partition"
    produce(s, items)
    for t in threads:
        t.join(120)
    assert all(not isinstance(r, BaseException) for r in results), results
    assert all(r.consumed >= 2 * n for r in results), [r.as_dict() for r in results]
    assert sum(r.consumed for r in results) >= 4 * n
    docs = stories(es, s.stories_alias)
    assert len(docs) == n
    for d in docs:
        assert d["republication_count"] == 3, d["canonical_url"]
        urls = {d["canonical_url"], *(r["canonical_url"] for r in d["republications"])}
        assert len(urls) == 4
    # the fingerprint owner and the story agree
    fps = es.request("POST", f"/{s.fingerprints_index}/_search", {"size": 100})["hits"]["hits"]
    owner = {f["_id"]: f["_source"]["canonical_url"] for f in fps}
    assert {d["content_hash"]: d["canonical_url"] for d in docs} == owner


def test_search_still_works_when_a_huge_article_matches(env):
    s, es = env
    huge = article("https://a.example/huge", "حاملات الطائرات في البحر. " * 45_000)
    assert len(huge.text) > 1_000_000
    normal = article("https://a.example/normal", text_n(1))
    stage = IndexStage(s, es)
    recs = [Record(s.articles_topic, 0, i, a.canonical_url.encode(), a.to_json()) for i, a in enumerate([huge, normal])]
    outs = stage.process_batch(recs)
    assert [o.label for o in outs] == ["indexed", "indexed"]
    es.request("POST", f"/{s.stories_alias}/_refresh")
    total, hits = search(s, "حاملات الطائرات", es=es)
    assert total == 2


def test_naive_published_at_is_not_silently_indexed_as_utc(env):
    s, es = env
    raw = orjson.loads(article("https://a.example/naive", text_n(1)).to_json())
    raw["published_at"] = "2026-01-16T09:30:00"
    stage = IndexStage(s, es)
    out = stage.process_batch([Record(s.articles_topic, 0, 0, b"k", orjson.dumps(raw))])[0]
    if out.error is not None:
        return  # rejected with a reason: acceptable
    doc = es.request("GET", f"/{s.stories_alias}/_doc/{doc_id('https://a.example/naive')}")["_source"]
    assert doc["published_at"].endswith(("Z", "+00:00")) or "+" in doc["published_at"][10:]


def test_fingerprint_index_deleted_mid_run_does_not_silently_misclassify(env):
    """Losing the fingerprint index must not drop records; after `templates apply` the worker resumes."""
    s, es = env
    s = s.model_copy(update={"consumer_retry_limit_s": 1.0})
    origin = article("https://origin.example/1", text_n(1))
    produce(s, [(origin.canonical_url.encode(), origin.to_json(), None)])
    assert index_worker(s).run(until_idle=True).outcomes["indexed"] == 1
    concrete = list(es.request("GET", f"/{s.fingerprints_index}"))
    es.request("DELETE", "/" + ",".join(concrete))
    copy = article("https://copy.example/1", text_n(1))
    produce(s, [(copy.canonical_url.encode(), copy.to_json(), None)])
    try:
        stats = index_worker(s).run(until_idle=True)
    except TransientError:
        stats = None  # stopped without committing: fine
    if stats is None:
        apply_templates(s, es)
        stats = index_worker(s).run(until_idle=True)
    assert stats.consumed == 1
    docs = stories(es, s.stories_alias)
    # the copy must be recognised as a republication of the story that is already indexed
    assert len(docs) == 1 and docs[0]["republication_count"] == 1


def test_batch_of_long_articles_is_indexed_despite_es_request_size_limit(env):
    s, es = env
    # 100 different stories of ~300k chars (~550 KB UTF-8) each: far above ES's 100 MB request limit together
    arts = [article(f"https://long.example/{i}", (text_n(i) + " ") * 400) for i in range(100)]
    recs = [Record(s.articles_topic, 0, i, a.canonical_url.encode(), a.to_json()) for i, a in enumerate(arts)]
    outs = IndexStage(s, es).process_batch(recs)
    assert [o.label for o in outs] == ["indexed"] * 100


def test_owner_replayed_after_a_copy_stood_in_for_it_is_not_lost_as_stale(env):
    # the owner's claim is made but its story write dead-lettered; a later copy of the same text finds no story and
    # becomes the stand-in document (_retry_missing: the copy's fields under the owner's story id). When the owner
    # is put back (`marsad dlq replay`), OWNER_UPDATE must not compare its fetched_at with the stand-in's — a
    # *different* page fetched later — or the owner's write is a noop counted "stale" and the owner's page ends
    # nowhere (not the story document, not a republication)
    from datetime import timedelta

    s, es = env
    text = text_n(7)
    owner = article("https://a.example/owner", text)
    copy = article("https://b.example/copy", text, source="b").model_copy(
        update={"fetched_at": owner.fetched_at + timedelta(hours=1)})
    es.request("PUT", f"/{s.fingerprints_index}/_doc/{owner.content_hash}",
               {"canonical_url": owner.canonical_url, "story_id": doc_id(owner.canonical_url),
                "claimed_at": utcnow().isoformat()}, params={"refresh": "true"})  # the owner's claim, story never written  # noqa: E501 - test data on one line
    stage = IndexStage(s.model_copy(update={"alerts_enabled": False}), es)
    [o] = stage.process_batch([Record(s.articles_topic, 0, 0, b"c", copy.to_json())])
    assert o.label == "duplicate"
    [o] = stage.process_batch([Record(s.articles_topic, 0, 1, b"o", owner.to_json())])  # the owner, replayed
    assert o.label == "indexed"
    [doc] = stories(es, s.stories_alias)
    assert doc["_id"] == doc_id(owner.canonical_url)
    assert doc["canonical_url"] == owner.canonical_url  # the owner is the story document now
    assert [r["canonical_url"] for r in doc["republications"]] == [copy.canonical_url]  # the copy is kept
    assert doc["republication_count"] == 1
    # and the owner's redelivery is still idempotent; an older fetch of the owner is still stale
    [o] = stage.process_batch([Record(s.articles_topic, 0, 1, b"o", owner.to_json())])
    assert o.label == "indexed"
    older = owner.model_copy(update={"fetched_at": owner.fetched_at - timedelta(hours=2)})
    [o] = stage.process_batch([Record(s.articles_topic, 0, 2, b"o", older.to_json())])
    assert o.label == "stale"


def test_a_copy_that_stands_in_for_a_lost_owner_is_percolated(env):
    # when the owner's story write is dead-lettered, the first copy becomes the story document (_retry_missing) —
    # a story searchable like any other — so it must be percolated like a new story, not passed over as a
    # republication: else a watched story sits in the index and never alerts
    from marsad.alerts.events import AlertEvent, alert_id
    from marsad.alerts.rules import RuleStore, make_rule

    s, es = env
    RuleStore(s, es).put(make_rule(name="carriers", query="حاملات طائرات"))
    text = text_n(8)
    owner = article("https://a.example/owner8", text)
    copy = article("https://b.example/copy8", text, source="b")
    es.request("PUT", f"/{s.fingerprints_index}/_doc/{owner.content_hash}",
               {"canonical_url": owner.canonical_url, "story_id": doc_id(owner.canonical_url),
                "claimed_at": utcnow().isoformat()}, params={"refresh": "true"})
    stage = IndexStage(s, es)
    # beside a new story in the same batch: the stage percolates the batch's would-be stories while it writes
    # them, and the stand-in (known only after the write) must be percolated too
    fresh = article("https://d.example/new9", text_n(9), source="d")
    [o, _] = stage.process_batch([Record(s.articles_topic, 0, 0, b"c", copy.to_json()),
                                  Record(s.articles_topic, 0, 1, b"n", fresh.to_json())])
    assert o.label == "duplicate"
    events = [AlertEvent.from_json(m.value()) for m in read_all(s, s.alerts_topic, 2)]
    assert sorted(e.story_id for e in events) == sorted([doc_id(owner.canonical_url), doc_id(fresh.canonical_url)])
    [e] = [e for e in events if e.story_id == doc_id(owner.canonical_url)]
    assert e.alert_id == alert_id("carriers", e.story_id)
    assert e.canonical_url == copy.canonical_url
    # a second copy, and the owner put back later, do not alert again
    other = article("https://c.example/copy8", text, source="c")
    stage.process_batch([Record(s.articles_topic, 0, 2, b"d", other.to_json())])
    stage.process_batch([Record(s.articles_topic, 0, 3, b"o", owner.to_json())])
    stage.alerts.close()
    assert len(read_all(s, s.alerts_topic, 2, timeout_s=5)) == 2


def test_a_copy_that_joined_before_the_alert_was_recorded_still_gets_its_marker(env):
    # the copy marker (alerts-sent `kind=copy`, the id the alert would have if the copy owned the story) must also
    # be written for a copy indexed by another consumer between the owner's write and its alert record: without
    # it, a replay in which that copy owns the story (it was fetched first) fires the alert a second time.
    from marsad.alerts.percolate import AlertHook
    from marsad.alerts.rules import RuleStore, make_rule

    s, es = env
    RuleStore(s, es).put(make_rule(name="carriers", query="حاملات طائرات"))
    text = text_n(9)
    owner = article("https://a.example/owner9", text)
    copy = article("https://b.example/copy9", text, source="b")
    quiet = IndexStage(s.model_copy(update={"alerts_enabled": False}), es)
    [o] = quiet.process_batch([Record(s.articles_topic, 0, 0, b"o", owner.to_json())])  # written, not yet alerted
    assert o.label == "indexed"
    [o] = IndexStage(s, es).process_batch([Record(s.articles_topic, 1, 0, b"c", copy.to_json())])  # other consumer
    assert o.label == "duplicate"
    hook = AlertHook(s, es)
    story = doc_id(owner.canonical_url)
    assert [e.story_id for e in hook.on_batch([(story, owner)])] == [story]  # the owner's alert, recorded now
    # a replay in which the copy owns the story: already sent
    assert hook.on_batch([(doc_id(copy.canonical_url), copy)]) == []
    hook.close()


def test_a_late_older_fetch_does_not_fold_away_the_newer_story(env):
    # an older fetch arriving late (a redelivery, a DLQ replay) is a noop write counted "stale", and it must not go
    # through the race repair with the *old* text's fingerprint: when that old text is a near-duplicate of a story
    # with a smaller id, the repair would fold the page's story into it — deleting the document holding the NEWER
    # version and keeping only the old article (as a republication), so the newer text would leave the index.
    from datetime import timedelta

    s, es = env
    s = s.model_copy(update={"alerts_enabled": False})
    urls = [f"https://n{i}.example/story" for i in range(40)]
    y_url = min(urls, key=doc_id)
    x_url = max(urls, key=doc_id)
    assert doc_id(y_url) < doc_id(x_url)
    t1, t2 = text_n(20), text_n(21)
    old = article(x_url, t1)
    new = article(x_url, t2).model_copy(update={"fetched_at": old.fetched_at + timedelta(days=1)})
    y = article(y_url, t1 + " وأضاف المتحدث أن الاجتماع المقبل سيعقد الشهر القادم.", source="y")
    stage = IndexStage(s, es)
    assert [o.label for o in stage.process_batch([Record(s.articles_topic, 0, 0, b"x", old.to_json())])] == ["indexed"]
    assert [o.label for o in stage.process_batch([Record(s.articles_topic, 0, 1, b"x", new.to_json())])] == ["indexed"]
    assert [o.label for o in stage.process_batch([Record(s.articles_topic, 1, 0, b"y", y.to_json())])] == ["indexed"]
    # the older fetch again, late: left alone
    assert [o.label for o in stage.process_batch([Record(s.articles_topic, 0, 0, b"x", old.to_json())])] == ["stale"]
    docs = {d["_id"]: d for d in stories(es, s.stories_alias)}
    assert doc_id(x_url) in docs, "the newer version of the page was folded away"
    assert docs[doc_id(x_url)]["text"] == t2


def test_owner_whose_copy_is_written_first_by_another_consumer_is_not_stale(env, monkeypatch):
    # the ordinary race behind the stand-in — two index consumers, the owner's claim made on one, its exact
    # copy (fetched later) written on the other before the owner's story write: the copy creates the story document
    # (_retry_missing), and OWNER_UPDATE then compared the owner's fetch time with the *copy's* and made the owner's
    # write a noop ("stale"): the owner's page ended nowhere, and the story never alerted
    from datetime import timedelta

    from marsad.alerts.rules import RuleStore, make_rule

    s, es = env
    RuleStore(s, es).put(make_rule(name="carriers", query="حاملات طائرات"))
    text = text_n(10)
    owner = article("https://a.example/owner10", text)
    copy = article("https://b.example/copy10", text, source="b").model_copy(
        update={"fetched_at": owner.fetched_at + timedelta(minutes=5)})
    first, second = IndexStage(s, es), IndexStage(s, es)
    write = first._write
    seen: list = []

    def write_after_the_other_consumer(plans, outcomes):
        seen.extend(o.label for o in second.process_batch([Record(s.articles_topic, 1, 0, b"c", copy.to_json())]))
        return write(plans, outcomes)

    monkeypatch.setattr(first, "_write", write_after_the_other_consumer)
    [o] = first.process_batch([Record(s.articles_topic, 0, 0, b"o", owner.to_json())])
    assert seen == ["duplicate"] and o.label == "indexed"
    [doc] = stories(es, s.stories_alias)
    assert doc["canonical_url"] == owner.canonical_url
    assert doc["origin"]["url"] == owner.canonical_url  # not "first published by" the copy that stood in
    assert [r["canonical_url"] for r in doc["republications"]] == [copy.canonical_url]
    first.alerts.close()
    second.alerts.close()
    assert len(read_all(s, s.alerts_topic, 1, timeout_s=10)) == 1  # the story alerted, once
