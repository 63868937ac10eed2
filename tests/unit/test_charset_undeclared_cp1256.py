"""Windows-1256 / ISO-8859-6 pages with no declaration at all (no HTTP charset, no <meta>, no BOM)
decode to Arabic — full pages, short pages, pages mostly Latin markup with a little Arabic — built from real corpus
pages re-encoded; a Latin declaration on Arabic bytes loses to the Arabic reading; the per-source ``charset``
override of sources.yaml is applied; non-Arabic pages are not forced into Arabic."""

from __future__ import annotations

import codecs
import re

import pytest

from marsad.extract.decode import decode_html
from marsad.settings import Settings

CORPUS = Settings().corpus_dir
needs_corpus = pytest.mark.skipif(not (CORPUS / "htmldate").is_dir(), reason=f"shared corpus not at {CORPUS}")

# Real Arabic pages (UTF-8 upstream) and words of their <title> (read from the pages with grep, by hand).
PAGES = {
    "htmldate/1623715966.html": "القائم بأعمال السفارة الأفغانية",  # was read as mac_latin2 when re-encoded
    "htmldate/1764731404.html": "سرقة منزل أميرة سعودية في باريس",
    "htmldate/1550981615.html": "مصر تسجل 30 إصابة جديدة وحالتي وفاة بفيروس كورونا",  # og:title
    "trafilatura/assabah.com.tn.article.html": "الناشط الحقوقي السوداني خالد عبد الكريم",
    "newspaper4k/arabic_article.html": "معارضون يسيطرون على مخازن للصواريخ بريف دمشق",
}
_META = re.compile(r"<meta[^>]*charset[^>]*>", re.IGNORECASE)


def _undeclared(rel: str, codec: str) -> tuple[bytes, str]:
    """The real page without any charset declaration, re-encoded in ``codec``; and its text (what it must become)."""
    text = _META.sub("", (CORPUS / rel).read_bytes().decode("utf-8"))
    raw = text.encode(codec, errors="xmlcharrefreplace")
    return raw, raw.decode(codec)


@needs_corpus
@pytest.mark.parametrize("codec", ["cp1256", "iso8859-6"])
@pytest.mark.parametrize("rel", sorted(PAGES))
@pytest.mark.parametrize("size", ["full", "head-3k"])
def test_undeclared_arabic_page_decodes_to_its_arabic_text(rel, codec, size):
    raw, expected = _undeclared(rel, codec)
    if size == "head-3k":  # a short page: 3,000 bytes of it (mostly markup, a little Arabic)
        raw = raw[:3000]
        expected = raw.decode(codec)
    assert b"charset" not in raw.lower()[:4096] or b"<meta" not in raw.lower()
    text, enc = decode_html(raw, "text/html")
    assert codecs.lookup(enc).name == codec or text == expected, enc
    assert text == expected
    if size == "full":
        assert PAGES[rel] in text


@needs_corpus
@pytest.mark.parametrize("codec", ["cp1256", "iso8859-6"])
def test_mostly_latin_markup_with_one_arabic_sentence(codec):
    """A big English/JS page with one short Arabic headline: markup bytes must not drown the Arabic reading."""
    js = "".join(f"<script>var x{i} = document.getElementById('slot{i}');</script>\n" for i in range(300))
    html = (f"<html><head><title>Site</title>{js}</head><body><nav>Home | World | Sports | Contact</nav>"
            "<h1>انفجار في ميناء بيروت</h1><p>Copyright 2024 All rights reserved.</p></body></html>")
    text, enc = decode_html(html.encode(codec), None)
    assert "انفجار في ميناء بيروت" in text, enc


@pytest.mark.parametrize("codec", ["cp1256", "iso8859-6"])
@pytest.mark.parametrize("declared", ["iso-8859-1", "windows-1252", "us-ascii", "windows-1251", "x-mac-cyrillic"])
@pytest.mark.parametrize("where", ["http", "meta"])
def test_latin_or_cyrillic_declaration_on_arabic_bytes_loses_to_the_arabic_reading(codec, declared, where):
    arabic = "أعلنت وزارة الصحة في غزة اليوم عن ارتفاع عدد الضحايا في القطاع منذ بداية الحرب"
    head = f'<meta http-equiv="Content-Type" content="text/html; charset={declared}">' if where == "meta" else ""
    raw = f"<html><head>{head}<title>خبر</title></head><body><p>{arabic}</p></body></html>".encode(codec)
    text, enc = decode_html(raw, f"text/html; charset={declared}" if where == "http" else "text/html")
    assert arabic in text, (enc, text[-120:])


ARABIC = "قال المتحدث باسم الحكومة إن المفاوضات ستستأنف الأسبوع المقبل في القاهرة بحضور الوفود"


@pytest.mark.parametrize("override,codec", [("windows-1256", "cp1256"), ("cp-1256", "cp1256"),
                                            ("iso-8859-6", "iso8859-6"), ("arabic", "iso8859-6")])
def test_source_charset_override_beats_a_wrong_meta(override, codec):
    raw = f'<html><head><meta charset="utf-8"><title>t</title></head><body><p>{ARABIC}</p></body></html>'
    text, enc = decode_html(raw.encode(codec), "text/html; charset=iso-8859-1", charset=override)
    assert enc == codec and ARABIC in text


def test_source_charset_override_does_not_beat_valid_utf8_or_a_bom():
    raw = f"<html><body><p>{ARABIC}</p></body></html>".encode()
    assert decode_html(raw, None, charset="windows-1256") == (raw.decode("utf-8"), "utf-8")
    bom = codecs.BOM_UTF8 + raw
    assert decode_html(bom, None, charset="windows-1256")[1] == "utf-8"


@pytest.mark.parametrize("lang,codec,text", [
    ("ru", "cp1251", "Президент России провёл встречу с министрами в Москве. Обсуждались вопросы экономики."),
    ("fr", "cp1252", "Le président a rencontré les élèves à l'école. Ça s'est très bien passé, déclare-t-il."),
    ("el", "cp1253", "Ο πρωθυπουργός της Ελλάδας συναντήθηκε με τους υπουργούς στην Αθήνα."),
])
def test_non_arabic_single_byte_pages_are_not_forced_into_arabic(lang, codec, text):
    raw = f"<html><head><title>t</title></head><body><p>{text * 4}</p></body></html>".encode(codec)
    out, enc = decode_html(raw, "text/html")
    assert text[:40] in out, (lang, enc)
