"""Text that is mojibake by construction is never indexed. The measure is 0 on real
Arabic text (corpus pages, SaudiNewsNet) and high on wrong readings; a page whose bytes have no reading that is
text, or whose extracted text is mojibake (UTF-8 stored twice), raises Undecodable (a PermanentError, reason
``undecodable``, dead-lettered by the worker)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from marsad.errors import PermanentError, Undecodable
from marsad.extract.decode import MOJIBAKE_MAX_SHARE, decode_html, measure
from marsad.extract.stage import extract_article
from marsad.settings import Settings

CORPUS = Settings().corpus_dir
needs_corpus = pytest.mark.skipif(not (CORPUS / "saudinewsnet").is_dir(), reason=f"shared corpus not at {CORPUS}")
NOW = datetime(2024, 5, 1, tzinfo=timezone.utc)

PARAS = ["أعلنت وزارة الصحة في غزة اليوم عن ارتفاع عدد الضحايا في القطاع منذ بداية الحرب إلى أرقام غير مسبوقة.",
         "وقال المتحدث باسم الوزارة في مؤتمر صحفي إن المستشفيات تعمل بطاقة تفوق قدرتها بكثير منذ أسابيع.",
         "وأضاف أن الوقود اللازم لتشغيل المولدات الكهربائية قد ينفد خلال أيام إذا لم تصل شحنات جديدة."]


def _article(paras: list[str], head: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f"<html lang='ar'><head>{head}<title>خبر عاجل من غزة</title></head><body><article><h1>خبر عاجل من غزة"
            f"</h1>{body}</article></body></html>")


@needs_corpus
def test_real_arabic_text_is_not_mojibake():
    arts = json.loads((CORPUS / "saudinewsnet" / "2015-08-03.json").read_text("utf-8"))
    worst = max(measure(f"{a.get('title') or ''}\n{a.get('content') or ''}").bad_share for a in arts)
    assert worst <= MOJIBAKE_MAX_SHARE  # measured: 0.0047 at most over 1,343 articles


@pytest.mark.parametrize("stored,read", [("utf-8", "cp1256"), ("utf-8", "cp1252"), ("cp1256", "cp1252"),
                                         ("cp1256", "cp1251"), ("iso8859-6", "cp1256"), ("cp1256", "mac_latin2")])
def test_wrong_readings_of_arabic_are_mojibake(stored, read):
    text = " ".join(PARAS).encode(stored).decode(read, errors="replace")
    assert measure(text).undecodable, text[:60]


@pytest.mark.parametrize("stored_as", ["cp1256", "cp1252"])
def test_utf8_page_whose_text_was_stored_twice_is_undecodable_not_indexed(stored_as):
    """«ط§ظ„…» / «Ø§Ù„…»: UTF-8 read as a single-byte code page and saved again as UTF-8 (a CMS/database mistake)."""
    garbled = [p.encode("utf-8").decode(stored_as, errors="ignore") for p in PARAS]
    raw = _article(garbled, '<meta charset="utf-8">').encode("utf-8")
    with pytest.raises(Undecodable) as exc:
        extract_article(raw, "https://x.example/a/123456", fetched_at=NOW, content_type="text/html; charset=utf-8")
    assert isinstance(exc.value, PermanentError) and exc.value.reason == "undecodable"


def test_page_mixing_utf8_and_cp1256_paragraphs_has_no_reading():
    """Template in UTF-8, article from a windows-1256 database: no single charset reads both halves."""
    raw = (_article(PARAS[:1]).encode("utf-8").replace(b"</article>", b"")
           + "".join(f"<p>{p}</p>" for p in PARAS[1:] * 2).encode("cp1256") + b"</article>")
    with pytest.raises(Undecodable):
        decode_html(raw, "text/html")
    with pytest.raises(Undecodable):
        extract_article(raw, "https://x.example/a/123457", fetched_at=NOW, content_type="text/html")


def test_utf8_with_a_few_broken_bytes_is_still_utf8():
    raw = _article(PARAS * 3).encode("utf-8")
    raw = raw.replace("الوزارة".encode(), "الوزارة".encode()[:-1], 1)  # one truncated character
    text, enc = decode_html(raw, None)
    assert enc == "utf-8" and PARAS[2] in text


def test_arabic_prefix_glued_to_a_latin_word_is_genuine():
    assert not measure("شاركت فرقة الـDJ في الحفل ونقلته لـCNN وبثته الـBBC مباشرة").bad
