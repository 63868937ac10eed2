"""Unit tests of marsad.extract.decode.decode_html (real undeclared windows-1256 / ISO-8859-6 pages)."""

from __future__ import annotations

import codecs

import pytest

from marsad.extract.decode import decode_html
from marsad.settings import Settings

CORPUS = Settings().corpus_dir  # ../shared/corpus beside the repo, or MARSAD_CORPUS_DIR
CHARDET = CORPUS / "chardet"
needs_corpus = pytest.mark.skipif(not CHARDET.is_dir(), reason=f"shared corpus not found at {CHARDET}")

LATIN1_NAMES = {"latin-1", "latin_1", "iso8859-1", "iso8859_1", "iso-8859-1", "cp1252", "windows-1252", "ascii"}
ARABIC = "أعلنت كتائب القسام اليوم عن عملية في بيت لاهيا شمال قطاع غزة"


def _chardet_files():
    return sorted(CHARDET.glob("*.html")) if CHARDET.is_dir() else []


@needs_corpus
@pytest.mark.parametrize("content_type", [None, "text/html", "text/html; foo=bar"])
@pytest.mark.parametrize("path", _chardet_files(), ids=lambda p: p.name)
def test_real_undeclared_arabic_pages_decode_to_arabic(path, content_type):
    raw = path.read_bytes()
    text, enc = decode_html(raw, content_type)
    expected_codec = "cp1256" if "windows-1256" in path.name else "iso8859-6"
    assert codecs.lookup(enc).name == expected_codec
    assert "كتائب الشهيد عز الدين القسام" in text
    assert "بيت لاهيا شمال قطاع غزة" in text
    assert "\ufffd" not in text
    assert codecs.lookup(enc).name not in {codecs.lookup(n).name for n in LATIN1_NAMES}


@needs_corpus
def test_both_chardet_files_decode_to_the_same_body():
    """The README's "duplicate visible only after decoding": same paragraph in two encodings."""
    files = _chardet_files()
    assert len(files) == 2
    bodies = set()
    for f in files:
        text, _ = decode_html(f.read_bytes())
        start = text.index("أعلنت")
        bodies.add(text[start:text.index("</body>")].strip())
    assert len(bodies) == 1
    assert files[0].read_bytes() != files[1].read_bytes()


def _page(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>t</title></head><body><p>{body}</p></body></html>"


def test_header_charset_wins_over_meta_and_detection():
    raw = _page(ARABIC, '<meta charset="utf-8">').encode("cp1256")
    text, enc = decode_html(raw, "text/html; charset=windows-1256")
    assert enc == "cp1256"
    assert ARABIC in text


def test_header_charset_contradicted_by_valid_utf8_loses():
    """Bytes that are valid UTF-8 are UTF-8, whatever the header says (trusting the header here gives «Ã©»)."""
    raw = _page("é").encode("utf-8")  # b'\xc3\xa9' is valid UTF-8 and valid Latin-1
    text, enc = decode_html(raw, 'text/html; charset="ISO-8859-1"')
    assert enc == "utf-8"
    assert "é" in text and "Ã©" not in text


@pytest.mark.parametrize("meta", ['<meta charset="windows-1256">', "<meta charset=windows-1256>",
                                  '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">',
                                  "<META HTTP-EQUIV='content-type' CONTENT='text/html; CHARSET=Windows-1256'>"])
def test_meta_charset_used_without_header(meta):
    raw = _page(ARABIC, meta).encode("cp1256")
    text, enc = decode_html(raw, "text/html")
    assert enc == "cp1256"
    assert ARABIC in text


def test_meta_iso_8859_6():
    raw = _page(ARABIC, '<meta charset="ISO-8859-6">').encode("iso8859_6")
    text, enc = decode_html(raw)
    assert enc == "iso8859-6"
    assert ARABIC in text


def test_utf8_bom_stripped_and_wins_over_header():
    raw = codecs.BOM_UTF8 + _page(ARABIC).encode("utf-8")
    text, enc = decode_html(raw, "text/html; charset=windows-1256")
    assert enc == "utf-8"
    assert text.startswith("<html>")
    assert ARABIC in text


def test_undeclared_utf8_is_utf8():
    text, enc = decode_html(_page(ARABIC).encode("utf-8"), "text/html")
    assert enc == "utf-8"
    assert ARABIC in text


def test_declared_charset_that_fails_falls_through_to_detection():
    raw = _page(ARABIC * 3).encode("cp1256")
    text, enc = decode_html(raw, "text/html; charset=utf-8")
    assert enc == "cp1256"
    assert ARABIC in text


def test_unknown_charset_name_is_ignored():
    raw = _page(ARABIC).encode("utf-8")
    text, enc = decode_html(raw, "text/html; charset=x-no-such-charset")
    assert enc == "utf-8"
    assert ARABIC in text


@pytest.mark.parametrize("encoding", ["cp1256", "iso8859_6"])
def test_never_latin1_for_text_html_without_charset(encoding):
    raw = _page(ARABIC * 3).encode(encoding)
    text, enc = decode_html(raw, "text/html")
    assert codecs.lookup(enc).name not in {codecs.lookup(n).name for n in LATIN1_NAMES}
    assert ARABIC in text


def test_latin1_meta_not_used_after_failing_header_charset():
    """A later Latin-1 candidate is skipped: it would 'succeed' on any bytes and hide detection."""
    raw = _page(ARABIC * 3, '<meta charset="iso-8859-1">').encode("cp1256")
    text, enc = decode_html(raw, "text/html; charset=utf-8")
    assert enc == "cp1256"
    assert ARABIC in text
