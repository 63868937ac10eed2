"""A story whose original page is crawled shows that page as its origin, whichever copy was indexed first.

Real pages through the real pipeline (raw pages → extract consumer → index consumer → Elasticsearch): the youm7
article (``htmldate/1691196862.html``, ``og:site_name`` «اليوم السابع») and the aggregator copy derived from it
(``derived/republished/youm7-4943459.aggregator-full.html``, whose attribution «المصدر: اليوم السابع» the extract
stage keeps as ``original.site``). Each page is indexed in its own run, so «first» really means first. Then
``marsad search`` shows the youm7 title first. Expected values are read off the pages (their ``<title>`` and
``article:published_time``), not computed by the code under test."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from marsad.cli import app
from marsad.dedup.urls import canonical_url
from marsad.index.es import Es
from marsad.messages import Article, utcnow
from marsad.pipeline import extract_worker, index_worker
from marsad.text.arabic import content_hash

from .helpers import publish, raw_page

pytestmark = pytest.mark.services

YOUM7_URL = "https://www.youm7.com/story/2020/8/24/x/4943459"
YOUM7_TITLE = "وزير الرى يشهد توقيع عقد دراسة تحديد السحب الآمن للخزانات الجوفية مع جامعة القاهرة - اليوم السابع"
YOUM7_PUBLISHED = "2020-08-24T09:23:13Z"  # <meta property="article:published_time" content="2020-08-24T11:23:13+02:00">
AGG_URL = "https://aggregator.example/news/88231"
AGG_TITLE = "توقيع عقد المرحلة الثانية لدراسة السحب الآمن من الخزانات الجوفية بحضور وزير الري"


def _index(settings, pages) -> None:
    publish(settings, pages)
    extract_worker(settings).run(until_idle=True)
    index_worker(settings).run(until_idle=True)


def _story(es: Es, alias: str) -> dict:
    es.request("POST", f"/{alias}/_refresh")
    hits = es.request("POST", f"/{alias}/_search", {"size": 10, "query": {"match_all": {}}})["hits"]["hits"]
    assert len(hits) == 1, [h["_source"]["canonical_url"] for h in hits]
    return hits[0]["_source"]


@pytest.mark.parametrize("first", ["aggregator", "original"])
def test_the_named_original_is_the_origin_and_the_search_headline(env, corpus, first):
    settings, es = env
    youm7 = raw_page(YOUM7_URL, (corpus / "htmldate" / "1691196862.html").read_bytes(), source="youm7")
    agg = raw_page(AGG_URL, (corpus / "derived/republished/youm7-4943459.aggregator-full.html").read_bytes(),
                   source="agg")
    for page in ([agg, youm7] if first == "aggregator" else [youm7, agg]):
        _index(settings, [page])

    story = _story(es, settings.stories_alias)
    assert story["canonical_url"] == (AGG_URL if first == "aggregator" else story["origin"]["url"])
    origin = story["origin"]
    assert origin["via"] == "attribution" and origin["site"] == "اليوم السابع"
    assert origin["url"].startswith("https://youm7.com/story/2020/8/24/") and origin["url"].endswith("/4943459")
    assert origin["title"] == YOUM7_TITLE
    assert origin["published_at"] == YOUM7_PUBLISHED
    assert origin["source"] == "youm7"

    cli_env = {"MARSAD_ES_URL": settings.es_url, "MARSAD_STORIES_ALIAS": settings.stories_alias}
    res = CliRunner().invoke(app, ["search", "السحب الآمن للخزانات الجوفية"], env=cli_env)
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())  # rich wraps at the terminal width
    assert "1 stories" in out
    assert out.index(YOUM7_TITLE) < out.index("youm7.com/story")
    if first == "aggregator":  # the aggregator's own title and URL follow, as the page the story came through
        assert out.index(YOUM7_TITLE) < out.index(f"via agg «{AGG_TITLE}»") < out.index(AGG_URL)

    res = CliRunner().invoke(app, ["search", "السحب الآمن للخزانات الجوفية", "--json"], env=cli_env)
    [row] = [orjson.loads(line) for line in res.stdout.splitlines()]
    assert row["headline"]["title"] == YOUM7_TITLE
    # the origin names the page by its canonical URL; the story document's own headline is the URL fetched
    assert row["headline"]["url"] == (origin["url"] if first == "aggregator" else YOUM7_URL)
    assert row["headline"]["published_at"] == YOUM7_PUBLISHED
    if first == "aggregator":
        assert row["headline"]["is_origin"] is True
        assert row["republished_by"]["url"] == AGG_URL and row["republished_by"]["title"] == AGG_TITLE
        assert row["title"] == AGG_TITLE and row["url"] == AGG_URL  # the fields of before stay as they were
    else:
        assert row["headline"]["is_origin"] is False and row["republished_by"] is None


def _article(url: str, text: str, published_at: str | None, source: str) -> Article:
    from datetime import datetime

    return Article(url=url, canonical_url=canonical_url(url), source=source, title=f"title of {source}", text=text,
                   published_at=datetime.fromisoformat(published_at) if published_at else None,
                   fetched_at=utcnow(), content_hash=content_hash(text))


@pytest.mark.parametrize("first", ["later copy", "earlier copy"])
def test_without_attribution_the_earliest_copy_is_the_origin_in_either_order(env, first):
    """``via: earliest``: the copy published first is the origin (its URL, title, time), whichever was indexed
    first; the two copies are one text (the second an exact duplicate), so the story is the same."""
    from confluent_kafka import Producer

    settings, es = env
    text = ("أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في مدينة جدة بسعة ثلاثمائة سرير، ويضم المستشفى أقساما "
            "للطوارئ والعناية المركزة وجراحة القلب، وقال المتحدث باسم الوزارة إن المشروع يأتي ضمن خطة لتوسيع "
            "الخدمات الصحية في المنطقة الغربية خلال الأعوام المقبلة، وإن التشغيل سيبدأ مطلع الشهر القادم.")
    early = _article("https://early.example/a", text, "2015-08-03T08:00:00+03:00", "early")
    late = _article("https://late.example/b", text, "2015-08-03T07:30:00+00:00", "late")
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for a in ([late, early] if first == "later copy" else [early, late]):
        producer.produce(settings.articles_topic, key=a.canonical_url.encode(), value=a.to_json())
        assert producer.flush(30) == 0
        index_worker(settings).run(until_idle=True)
    origin = _story(es, settings.stories_alias)["origin"]
    assert origin["via"] == "earliest"
    assert origin["url"] == "https://early.example/a" and origin["title"] == "title of early"
    assert origin["published_at"] == "2015-08-03T05:00:00Z"
