"""Replay into a new index version and DLQ replay, against the real Kafka and Elasticsearch.

Raw pages are produced with chosen Kafka record timestamps, so the replay window is exact.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from marsad.index.es import Es, doc_id
from marsad.index.templates import alias_targets, apply_templates
from marsad.kafka import clients
from marsad.messages import RawPage, RawPageMeta, dead_letter_headers
from marsad.replay import REPLAYED_FROM, Replayer, dlq_replay, epoch_ms, replay

from .helpers import read_all

pytestmark = pytest.mark.services

WORDS = ("الحكومة البرلمان الاقتصاد الميناء السفينة المدينة الوزير الرئيس الشركة المصرف السوق النفط الغاز الكهرباء "
         "المياه الزراعة الجامعة المدرسة الطلاب المستشفى الأطباء المرضى الطريق الجسر القطار المطار الطائرة الرحلة "
         "السياحة الفندق المتحف المكتبة الكتاب الشعر الرواية المسرح السينما الفيلم المهرجان الجائزة الفريق المباراة "
         "الملعب الجمهور المدرب اللاعب الهدف البطولة الموسم الصحيفة المراسل الخبر التقرير المقابلة البيان المؤتمر").split()  # noqa: E501 - test data on one line

T0 = datetime.now(timezone.utc).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=3)
"""Kafka record times of the test pages are minutes after T0 (a past instant on the hour: windows are exact).
Within the local broker's retention (720 h): records older than it are deleted by the broker's retention check
(every 5 min) even in the active segment, so a fixed date (it was 2026-03-01) made these tests fail once it aged
past 30 days and the check ran between produce and replay."""


def html(seed: int, title: str) -> bytes:
    """An Arabic article page whose body is 90 words drawn with ``seed`` (pages of different seeds never
    share a 3-word shingle by more than chance, so they are separate stories)."""
    rnd = random.Random(seed)
    paras = "".join("<p>" + " ".join(rnd.choice(WORDS) for _ in range(30)) + ".</p>" for _ in range(3))
    return (f"<!doctype html><html lang='ar'><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><article><h1>{title}</h1>{paras}</article></body></html>").encode()


def page(n: int, source: str = "alpha", title: str | None = None, fetched_at: datetime | None = None,
         seed: int | None = None) -> RawPage:
    url = f"https://{source}.example/news/{n}"
    body = html(n if seed is None else seed, title or f"خبر رقم {n}")
    return RawPage(meta=RawPageMeta(url=url, final_url=url, canonical_url=url, status=200,
                                    headers={"content-type": "text/html; charset=utf-8"},
                                    fetched_at=fetched_at or T0, source=source, content_length=len(body)),
                   body=body)


def produce(settings, items: list[tuple[RawPage | tuple[bytes, bytes, list], int]]) -> None:
    """Produce ``(page, minutes after T0)`` pairs with that Kafka timestamp; key = canonical URL (partitioning)."""
    p = clients.producer(settings)
    for item, minutes in items:
        key, value, headers = item.to_kafka() if isinstance(item, RawPage) else item
        p.produce(settings.raw_pages_topic, key=key, value=value, headers=headers,
                  timestamp=epoch_ms(T0 + timedelta(minutes=minutes)))
    assert p.flush(30) == 0


def stories(es: Es, index: str) -> dict[str, dict]:
    """``_id -> _source`` of every document, without the fields that record *when* it was written."""
    es.request("POST", f"/{index}/_refresh")
    hits = es.request("POST", f"/{index}/_search", {"size": 1000, "query": {"match_all": {}}})["hits"]["hits"]
    return {h["_id"]: {k: v for k, v in h["_source"].items() if k not in ("indexed_at", "claimed_at")} for h in hits}


@pytest.fixture
def replay_names(names):
    tag = names.raw_pages_topic.split(".")[0]
    return names.model_copy(update={"replay_group_prefix": f"{tag}.replay", "dlq_replay_group": f"{tag}.dlq-replay",
                                    "batch_size": 3})


def test_window_source_filter_new_version_live_untouched_then_swap(replay_names):
    s = replay_names
    es = Es(s.es_url)
    apply_templates(s, es)
    clients.ensure_topics(s)
    produce(s, [(page(1), 0), (page(2), 5),                       # before the window
                (page(3), 10), (page(4), 11), (page(5), 12),    # in the window
                (page(6, source="beta"), 13),                     # in the window, other source
                (page(7), 30)])                                   # after the window
    v2 = f"{s.stories_index_prefix}2"
    stats = replay(s, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20), v2, source="alpha")

    assert stats.total == 4  # offsets_for_times: 3 alpha + 1 beta in [10, 20) minutes, over both partitions
    assert stats.outcomes["indexed"] == 3 and stats.outcomes["other-source"] == 1
    assert stats.done == 4 and stats.group.startswith(f"{s.replay_group_prefix}.{v2}.")
    got = stories(es, v2)
    assert set(got) == {doc_id(f"https://alpha.example/news/{n}") for n in (3, 4, 5)}
    assert {d["title"] for d in got.values()} == {"خبر رقم 3", "خبر رقم 4", "خبر رقم 5"}
    # the live read alias and its index are untouched without --swap
    assert alias_targets(es, s.stories_alias) == [s.stories_index_v1]
    assert alias_targets(es, s.fingerprints_index) == [f"{s.fingerprints_index}-v1"]
    assert es.request("GET", f"/{s.stories_alias}/_count")["count"] == 0
    # the live consumer groups' offsets did not move (the replay used its own group)
    from confluent_kafka import TopicPartition

    c = clients.consumer(s, s.extract_group)
    try:
        tps = [TopicPartition(s.raw_pages_topic, p) for p in range(s.topic_partitions)]
        assert all(tp.offset < 0 for tp in c.committed(tps, timeout=10))
        replay_group = clients.consumer(s, stats.group)
        try:
            assert sum(tp.offset for tp in replay_group.committed(tps, timeout=10) if tp.offset > 0) >= 4
        finally:
            replay_group.close()
    finally:
        c.close()
    # the claims of the replay are in the version's own fingerprints index
    es.request("POST", f"/{s.fingerprints_index}-v2/_refresh")
    assert es.request("GET", f"/{s.fingerprints_index}-v2/_count")["count"] == 3

    # the same replay into another version gives the same documents (ids and contents)
    v3 = f"{s.stories_index_prefix}3"
    again = replay(s, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20), v3, source="alpha")
    assert again.outcomes == stats.outcomes
    assert stories(es, v3) == got
    # and re-running into the same version is idempotent
    replay(s, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20), v2, source="alpha")
    assert stories(es, v2) == got

    # --swap moves both read aliases to the new version in one request (all sources: a one-source swap is refused)
    swapped = replay(s, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20), v2, swap=True)
    assert swapped.swapped == {s.stories_alias: [s.stories_index_v1],
                               s.fingerprints_index: [f"{s.fingerprints_index}-v1"]}
    assert alias_targets(es, s.stories_alias) == [v2]
    assert alias_targets(es, s.fingerprints_index) == [f"{s.fingerprints_index}-v2"]
    assert set(stories(es, s.stories_alias)) == set(got) | {doc_id("https://beta.example/news/6")}
    # the live pipeline's writes (through the alias) now land in v2
    aliases = es.request("GET", f"/{v2}/_alias")[v2]["aliases"]
    assert aliases[s.stories_alias] == {"is_write_index": True}


def test_open_ended_replay_without_to_reads_to_the_end_and_refuses_the_live_index(replay_names):
    s = replay_names
    es = Es(s.es_url)
    apply_templates(s, es)
    clients.ensure_topics(s)
    produce(s, [(page(1), 0), (page(2), 50), (page(3), 60)])
    stats = replay(s, T0 + timedelta(minutes=40), None, f"{s.stories_index_prefix}2", swap=True)
    assert stats.total == 2 and stats.outcomes["indexed"] == 2
    assert alias_targets(es, s.stories_alias) == [f"{s.stories_index_prefix}2"]
    # a window after the last record: offsets_for_times answers -1 on every partition -> nothing to read
    empty = replay(s, T0 + timedelta(days=30), None, f"{s.stories_index_prefix}4", swap=True)
    assert empty.total == 0 and empty.done == 0
    # ... and an empty version is never swapped in: that would blank the search
    assert empty.swapped is None and "holds no story" in empty.swap_refused
    assert alias_targets(es, s.stories_alias) == [f"{s.stories_index_prefix}2"]
    with pytest.raises(ValueError, match="live index"):
        replay(s, T0, None, f"{s.stories_index_prefix}2")  # v2 is live now
    with pytest.raises(ValueError, match="must be named"):
        replay(s, T0, None, "some-other-index")


def test_an_older_fetch_never_overwrites_a_newer_story(replay_names):
    s = replay_names
    es = Es(s.es_url)
    apply_templates(s, es)
    clients.ensure_topics(s)
    newer = page(1, title="النسخة المحدثة", fetched_at=T0 + timedelta(days=2), seed=101)
    older = page(1, title="النسخة القديمة", fetched_at=T0 + timedelta(days=1), seed=102)
    # Kafka order: the newer fetch first (e.g. an old WARC capture ingested after the live crawl)
    produce(s, [(newer, 0), (older, 1)])
    v2 = f"{s.stories_index_prefix}2"
    stats = replay(s, T0, None, v2)
    assert stats.outcomes["indexed"] == 1 and stats.outcomes["stale"] == 1
    doc = stories(es, v2)[doc_id("https://alpha.example/news/1")]
    assert doc["title"] == "النسخة المحدثة"
    assert doc["fetched_at"].startswith((T0 + timedelta(days=2)).date().isoformat())

    # the other order: the newer fetch replaces the older one
    v3 = f"{s.stories_index_prefix}3"
    produce(s, [(page(2, title="قديم", fetched_at=T0, seed=103), 2),
                (page(2, title="جديد", fetched_at=T0 + timedelta(hours=1), seed=104), 3)])
    replay(s, T0 + timedelta(minutes=2), None, v3)
    assert stories(es, v3)[doc_id("https://alpha.example/news/2")]["title"] == "جديد"


def test_replay_dead_letters_bad_pages_with_reason_and_dlq_replay_puts_them_back(replay_names):
    s = replay_names
    es = Es(s.es_url)
    apply_templates(s, es)
    clients.ensure_topics(s)
    broken = (b"https://alpha.example/broken", b"\x00\xff not a page", [])  # no marsad.meta header
    produce(s, [(page(1), 0), (broken, 1)])
    stats = Replayer(s, f"{s.stories_index_prefix}2").run(T0, None)
    assert stats.outcomes["indexed"] == 1 and stats.outcomes["dead_lettered"] == 1
    assert stats.reasons["dead_lettered:bad-raw-page"] == 1
    dead = read_all(s, s.dead_letter_topic, 1)
    assert len(dead) == 1
    h = dict(dead[0].headers())
    assert h["dlq.stage"] == b"replay-extract" and h["dlq.source_topic"] == s.raw_pages_topic.encode()
    assert dead[0].value() == b"\x00\xff not a page"

    # two more letters: one of another reason, one metadata-only crawl refusal (no original topic)
    p = clients.producer(s)
    p.produce(s.dead_letter_topic, key=b"k2", value=b"v2", headers=dead_letter_headers(
        [("marsad.schema", b"raw-page.v1")], reason="extract-timeout", detail="slow", stage="extract",
        error_class="PermanentError", topic=s.raw_pages_topic, partition=0, offset=7))
    p.produce(s.dead_letter_topic, key=b"k3", value=b"", headers=dead_letter_headers(
        [], reason="too-large", detail="9 MiB", stage="crawl", error_class="FetchRefused", topic="",
        partition=-1, offset=-1))
    assert p.flush(30) == 0
    raw_before = clients.topic_message_count(s, s.raw_pages_topic)

    dry = dlq_replay(s, reason="bad-raw-page", dry_run=True)
    assert dry.replayed == {"bad-raw-page": 1} and dry.skipped == {"extract-timeout": 1, "too-large": 1}
    assert clients.topic_message_count(s, s.raw_pages_topic) == raw_before  # nothing produced

    one = dlq_replay(s, reason="bad-raw-page")
    assert one.replayed == {"bad-raw-page": 1} and one.topics == {s.raw_pages_topic: 1}
    assert dlq_replay(s, reason="bad-raw-page").replayed == {}  # its group has read it: replayed once
    back = [m for m in read_all(s, s.raw_pages_topic, raw_before + 1) if m.key() == b"https://alpha.example/broken"]
    assert len(back) == 2  # the original and the replayed copy
    replayed = back[-1]
    assert replayed.value() == b"\x00\xff not a page"
    assert not any(k.startswith("dlq.") and k != REPLAYED_FROM for k, _ in replayed.headers() or [])
    assert dict(replayed.headers())[REPLAYED_FROM].startswith(s.dead_letter_topic.encode())

    rest = dlq_replay(s, since=datetime.now(timezone.utc) - timedelta(hours=1))
    assert rest.replayed == {"bad-raw-page": 1, "extract-timeout": 1}  # the unfiltered group reads all letters
    assert rest.not_replayable == {"too-large": 1}
    assert dlq_replay(s).read == 0


def test_cli_replay_json_counts_and_swap(replay_names):
    import orjson
    from typer.testing import CliRunner

    from marsad.cli import app
    from marsad.settings import to_env

    s = replay_names
    apply_templates(s)
    clients.ensure_topics(s)
    produce(s, [(page(1), 0), (page(2), 1)])
    v2 = f"{s.stories_index_prefix}2"
    to = (T0 + timedelta(minutes=1)).isoformat()
    result = CliRunner().invoke(app, ["replay", "--from", T0.isoformat(), "--to", to, "--index", v2, "--swap",
                                      "--json"], env=to_env(s))
    assert result.exit_code == 0, result.output
    stats = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert stats["total"] == 1 and stats["outcomes"] == {"indexed": 1}
    assert stats["swapped"] == {s.stories_alias: [s.stories_index_v1],
                                s.fingerprints_index: [f"{s.fingerprints_index}-v1"]}
    bad = CliRunner().invoke(app, ["replay", "--from", T0.isoformat(), "--index", v2], env=to_env(s))
    assert bad.exit_code == 2 and "live index" in bad.output


def test_swap_without_to_catches_up_pages_produced_during_the_replay(replay_names):
    s = replay_names
    es = Es(s.es_url)
    apply_templates(s, es)
    clients.ensure_topics(s)
    produce(s, [(page(n), n) for n in range(1, 4)])
    late = []

    def progress(done: int, total: int) -> None:
        if not late:  # a crawl publishes a page while the replay runs: beyond the planned end offsets
            late.append(total)
            produce(s, [(page(50), 20)])

    v2 = f"{s.stories_index_prefix}2"
    stats = Replayer(s, v2).run(T0, None, swap=True, progress=progress)
    assert late == [3]
    assert stats.total == 4 and stats.outcomes["indexed"] == 4
    assert doc_id("https://alpha.example/news/50") in stories(es, s.stories_alias)


def test_two_replays_with_copies_across_partitions_give_identical_stories(replay_names):
    s = replay_names  # batch size 3: batch boundaries fall between copies
    es = Es(s.es_url)
    apply_templates(s, es)
    clients.ensure_topics(s)
    # record times grow in production order, as with a crawler's CreateTime; copies land on other partitions
    produce(s, [(page(n), n) for n in range(1, 7)]
            + [(page(100 + n, source="beta", seed=n, title=f"نسخة {n}"), n + 10) for n in range(1, 7)]
            + [(page(200 + n, source="gamma", seed=n, title=f"نسخة أخرى {n}"), n + 20) for n in range(1, 7)])
    a = replay(s, T0, None, f"{s.stories_index_prefix}2")
    b = replay(s, T0, None, f"{s.stories_index_prefix}3")
    assert a.outcomes == b.outcomes == {"indexed": 6, "duplicate": 12}, (a.as_dict(), b.as_dict())
    first, second = stories(es, f"{s.stories_index_prefix}2"), stories(es, f"{s.stories_index_prefix}3")
    assert len(first) == 6 and first == second
    # the first fetched copy (earliest record time) owns each story; the others are its republications, in order
    for n in range(1, 7):
        doc = first[doc_id(f"https://alpha.example/news/{n}")]
        assert [r["source"] for r in doc["republications"]] == ["beta", "gamma"]


def test_dlq_replay_of_a_letter_whose_topic_is_gone_does_not_block_the_others(replay_names):
    # a dead letter naming a topic that does not exist (auto-create is off) cannot be delivered; produced anyway,
    # every `dlq replay` would fail with TransientError without committing, and that one letter would block every
    # later letter of the DLQ for good
    s = replay_names
    clients.ensure_topics(s)
    gone = f"{s.raw_pages_topic}.gone"
    p = clients.producer(s)
    p.produce(s.dead_letter_topic, key=b"k1", value=b"v1", headers=dead_letter_headers(
        [], reason="extract-timeout", detail="slow", stage="extract", error_class="PermanentError", topic=gone,
        partition=0, offset=3))
    p.produce(s.dead_letter_topic, key=b"k2", value=b"v2", headers=dead_letter_headers(
        [], reason="extract-timeout", detail="slow", stage="extract", error_class="PermanentError",
        topic=s.raw_pages_topic, partition=0, offset=4))
    assert p.flush(30) == 0
    stats = dlq_replay(s)
    assert stats.read == 2 and stats.replayed == {"extract-timeout": 1} and stats.topics == {s.raw_pages_topic: 1}
    assert stats.not_replayable == {"extract-timeout": 1} and stats.missing_topics == {gone: 1}
    assert [m.value() for m in read_all(s, s.raw_pages_topic, 1)] == [b"v2"]
    assert dlq_replay(s).read == 0  # not retried forever: the group has read both


def test_swap_of_a_single_source_replay_is_refused_before_anything_is_written(replay_names):
    # `replay --source X --swap` (both in the README's synopsis) built an index of source X only and moved
    # the read alias to it: every other source vanished from search, alerts' copy lookups and the live consumer's
    # dedup claims at once
    s = replay_names
    es = Es(s.es_url)
    apply_templates(s, es)
    clients.ensure_topics(s)
    produce(s, [(page(1, "alpha"), 0), (page(2, "beta"), 1)])
    index = f"{s.stories_index_prefix}2"
    with pytest.raises(ValueError, match="--source"):
        Replayer(s, index, source="alpha").run(T0, None, swap=True)
    assert not es.exists(f"/{index}")
    assert alias_targets(es, s.stories_alias) == [s.stories_index_v1]
