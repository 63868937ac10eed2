"""Through real Kafka: a raw page that is mojibake by construction lands in the dead-letter topic
with ``dlq.reason=undecodable`` (never indexed as ``language: ar`` garbage), and nothing else in the batch is lost:
undeclared windows-1256 / ISO-8859-6 pages (real corpus bytes) and pages decoded with the source's ``charset``
(carried in the raw page's metadata, or from sources.yaml for records without it) become Arabic articles."""

from __future__ import annotations

import orjson
import pytest
import yaml

from marsad.dedup.urls import canonical_url
from marsad.kafka.clients import ensure_topics
from marsad.messages import Article, RawPage, RawPageMeta, utcnow
from marsad.pipeline import extract_worker
from marsad.settings import Settings

from .helpers import publish, read_all

pytestmark = pytest.mark.services

CHARDET = Settings().corpus_dir / "chardet"
PARAS = ["أعلنت وزارة الصحة في غزة اليوم عن ارتفاع عدد الضحايا في القطاع منذ بداية الحرب إلى أرقام غير مسبوقة.",
         "وقال المتحدث باسم الوزارة في مؤتمر صحفي إن المستشفيات تعمل بطاقة تفوق قدرتها بكثير منذ أسابيع.",
         "وأضاف أن الوقود اللازم لتشغيل المولدات الكهربائية قد ينفد خلال أيام إذا لم تصل شحنات جديدة."]


def _html(paras: list[str], head: str = "") -> str:
    return (f"<html lang='ar'><head>{head}<title>خبر من غزة</title></head><body><article><h1>خبر من غزة</h1>"
            + "".join(f"<p>{p}</p>" for p in paras) + "</article></body></html>")


def _page(url: str, body: bytes, source: str = "test", ctype: str = "text/html", charset: str | None = None):
    return RawPage(meta=RawPageMeta(url=url, final_url=url, canonical_url=canonical_url(url), status=200,
                                    headers={"content-type": ctype}, fetched_at=utcnow(), source=source,
                                    content_length=len(body), charset=charset), body=body)


def test_undecodable_pages_are_dead_lettered_and_the_rest_extracted(names, tmp_path):
    registry = tmp_path / "sources.yaml"
    registry.write_text(yaml.safe_dump({"sources": [
        {"name": "old-arabic-site", "site": "https://old.example/", "charset": "windows-1256"}]}), "utf-8")
    s = names.model_copy(update={"sources_file": registry})
    ensure_topics(s)
    mixed = (_html(PARAS[:1], "<meta charset='utf-8'>").encode().replace(b"</article></body></html>", b"")
             + "".join(f"<p>{p}</p>" for p in PARAS[1:] * 2).encode("cp1256") + b"</article></body></html>")
    twice = _html([p.encode().decode("cp1256", "ignore") for p in PARAS], "<meta charset='utf-8'>").encode()
    lying = _html(PARAS, "<meta charset='iso-8859-1'>").encode("cp1256")
    pages = [
        _page("https://a.example/news/mixed-100001", mixed),
        _page("https://a.example/news/twice-100002", twice, ctype="text/html; charset=utf-8"),
        _page("https://a.example/news/cp1256-100003", (CHARDET / "_chromium_windows-1256_with_no_encoding_specified"
                                                                 ".html").read_bytes()),
        _page("https://a.example/news/iso-100004", (CHARDET / "_chromium_ISO-8859-6_with_no_encoding_specified"
                                                              ".html").read_bytes()),
        _page("https://a.example/news/meta-charset-100005", lying, charset="windows-1256"),
        _page("https://old.example/news/registry-100006", lying, source="old-arabic-site"),  # no meta.charset
    ]
    publish(s, pages)
    stats = extract_worker(s).run(until_idle=True)
    assert stats.consumed == 6
    assert stats.outcomes["ok"] == 4 and stats.outcomes["dead_lettered"] == 2, stats.as_dict()

    dead = read_all(s, s.dead_letter_topic, 2)
    assert len(dead) == 2
    assert sorted(m.key().decode() for m in dead) == ["https://a.example/news/mixed-100001",
                                                      "https://a.example/news/twice-100002"]
    for m in dead:
        h = dict(m.headers())
        assert h["dlq.reason"] == b"undecodable" and h["dlq.stage"] == b"extract", h
        assert m.value() in (pages[0].body, pages[1].body)  # the raw bytes are kept for a replay

    arts = {a.url: a for a in (Article.from_json(m.value()) for m in read_all(s, s.articles_topic, 4))}
    assert len(arts) == 4
    assert "كتائب الشهيد عز الدين القسام" in arts["https://a.example/news/cp1256-100003"].text
    assert "كتائب الشهيد عز الدين القسام" in arts["https://a.example/news/iso-100004"].text
    for url in ("https://a.example/news/meta-charset-100005", "https://old.example/news/registry-100006"):
        assert PARAS[1] in arts[url].text and arts[url].language == "ar"
    assert all(orjson.loads(a.to_json())["language"] == "ar" for a in arts.values())
