"""Broken encoding names. Misspelt Arabic labels resolve; bytes-to-bytes codecs (hex, base64,
rot13, zlib), EBCDIC and other non-ASCII-compatible encodings, unknown and absurd names are ignored and fall
through to detection; a declaration contradicted by valid UTF-8 loses — for HTTP headers, <meta charset>,
<meta http-equiv>, and feeds/sitemaps (XML declaration)."""

from __future__ import annotations

import codecs
from collections import Counter

import pytest
from defusedxml import ElementTree as SafeET

from marsad.crawl.discover import feed_links, xml_input
from marsad.extract.decode import decode_html, resolve_charset

ARABIC = "أعلنت وزارة الصحة في غزة اليوم عن ارتفاع عدد الضحايا في القطاع منذ بداية الحرب"
MISSPELT_1256 = ["windows1256", "cp-1256", "x-cp1256", "Windows_1256", " WINDOWS-1256 ", "'windows-1256'",
                 "win-1256", "cp1256_general_ci", "MS1256"]
MISSPELT_8859_6 = ["ISO-8859-6-I", "iso-8859-6-e", "iso_8859-6", "ISO8859-6", "iso88596", "ASMO-708", "ecma-114"]
BYTES_TO_BYTES = ["hex", "base64", "rot13", "rot_13", "zlib", "bz2", "uu", "quopri"]
NOT_ASCII_COMPATIBLE = ["cp037", "cp500", "ibm1140", "utf-16", "utf-16le", "utf-32", "utf-7"]
ERRING_OR_ESCAPING = ["undefined", "punycode", "unicode_escape", "raw_unicode_escape", "unicode-escape"]
"""Python text codecs a page can name that raise a bare ``UnicodeError`` on any bytes (``undefined``,
``punycode``) or turn backslash escapes of ASCII text into other characters (``\\u0041`` → ``A``)."""
ABSURD = ["", "none", "charset", "x-no-such-charset", "../../etc/passwd", "a" * 200, "%s", "{{charset}}",
          "iso-2022-kr", "x-user-defined"]


@pytest.mark.parametrize("label", MISSPELT_1256)
def test_misspelt_windows_1256_labels_resolve(label):
    assert resolve_charset(label) == ("cp1256", "")


@pytest.mark.parametrize("label", MISSPELT_8859_6)
def test_misspelt_iso_8859_6_labels_resolve(label):
    assert resolve_charset(label) == ("iso8859-6", "")


@pytest.mark.parametrize("label", BYTES_TO_BYTES + NOT_ASCII_COMPATIBLE + ABSURD)
def test_unusable_labels_are_refused_with_why(label):
    codec, why = resolve_charset(label)
    assert codec is None and why


@pytest.mark.parametrize("label", ERRING_OR_ESCAPING)
def test_erring_and_escape_codecs_are_refused_as_labels(label):
    codec, why = resolve_charset(label)
    assert codec is None and why


@pytest.mark.parametrize("label", ERRING_OR_ESCAPING)
@pytest.mark.parametrize("codec", ["utf-8", "cp1256"])
@pytest.mark.parametrize("where", ["http", "meta"])
def test_erring_and_escape_codec_declarations_fall_through(label, codec, where):
    raw = _page(f'<meta charset="{label}">' if where == "meta" else "").encode(codec)
    text, enc = decode_html(raw, f"text/html; charset={label}" if where == "http" else None)
    assert enc == codec and ARABIC in text


def _page(head: str = "") -> str:
    return f"<html><head>{head}<title>خبر</title></head><body><p>{ARABIC}</p></body></html>"


@pytest.mark.parametrize("label", MISSPELT_1256)
@pytest.mark.parametrize("where", ["http", "meta-charset", "meta-http-equiv"])
def test_misspelt_declaration_is_used(label, where):
    head = {"http": "", "meta-charset": f'<meta charset="{label}">',
            "meta-http-equiv": f"<meta http-equiv='Content-Type' content='text/html; charset={label}'>"}[where]
    raw = _page(head).encode("cp1256")
    text, enc = decode_html(raw, f"text/html; charset={label}" if where == "http" else "text/html")
    assert enc == "cp1256" and ARABIC in text


@pytest.mark.parametrize("label", BYTES_TO_BYTES + NOT_ASCII_COMPATIBLE + ABSURD[1:])
@pytest.mark.parametrize("codec", ["utf-8", "cp1256", "iso8859-6"])
@pytest.mark.parametrize("where", ["http", "meta"])
def test_unusable_declaration_falls_through_to_utf8_or_detection(label, codec, where):
    """Never raises (``hex`` names a codec that raises inside the decoder) and never yields garbage (``cp037``
    decodes any bytes, into garbage)."""
    safe = label.replace('"', "")
    raw = _page(f'<meta charset="{safe}">' if where == "meta" else "").encode(codec)
    text, enc = decode_html(raw, f"text/html; charset={safe}" if where == "http" else None)
    assert ARABIC in text, (enc, text[:80])


@pytest.mark.parametrize("declared", ["windows-1256", "iso-8859-6", "iso-8859-1", "cp037", "koi8-r"])
def test_declaration_contradicted_by_valid_utf8_loses(declared):
    raw = _page(f'<meta charset="{declared}">').encode("utf-8")
    for ctype in (f"text/html; charset={declared}", None):
        text, enc = decode_html(raw, ctype)
        assert enc == "utf-8" and ARABIC in text


def test_http_header_and_meta_conflict_the_one_that_reads_as_arabic_wins():
    raw = _page('<meta charset="windows-1256">').encode("cp1256")
    assert decode_html(raw, "text/html; charset=iso-8859-6")[1] == "cp1256"  # ISO-8859-6 cannot decode it
    raw = _page('<meta charset="iso-8859-6">').encode("iso8859-6")
    assert decode_html(raw, "text/html; charset=windows-1256")[1] == "iso8859-6"  # cp1256 reads «بèأ» mojibake


@pytest.mark.parametrize("bom,codec", [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                                       (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_bom_wins_over_every_declaration(bom, codec):
    raw = bom + _page('<meta charset="windows-1256">').encode(codec)
    text, enc = decode_html(raw, "text/html; charset=hex")
    assert enc == codec and ARABIC in text and not text.startswith("\ufeff")


# --- feeds and sitemaps ---------------------------------------------------------------------------------------

LINK = "https://x.example/أخبار/2024/05/01/خبر-عاجل"


def _rss(label: str) -> str:
    return (f'<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><title>أخبار</title>'
            f"<item><title>{ARABIC}</title><link>{LINK}</link></item></channel></rss>")


def _atom(label: str) -> str:
    return (f"<?xml version='1.0' encoding='{label}'?><feed xmlns='http://www.w3.org/2005/Atom'><title>أخبار</title>"
            f"<entry><title>{ARABIC}</title><link href='{LINK}'/><id>1</id></entry></feed>")


def _sitemap(label: str) -> str:
    return (f'<?xml version="1.0" encoding="{label}"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{LINK}</loc></url></urlset>")


FEED_CASES = ([(label, "cp1256") for label in ["windows1256", "cp-1256", "x-cp1256", "WINDOWS_1256"]]
              + [(label, "iso8859-6") for label in ["ISO-8859-6-I", "iso-8859-6-e", "arabic"]]
              + [(label, codec) for label in ["hex", "base64", "rot13", "zlib", "cp037", "no-such"]
                 for codec in ("utf-8", "cp1256")])


@pytest.mark.parametrize("label,codec", FEED_CASES)
@pytest.mark.parametrize("dialect", [_rss, _atom])
def test_feed_with_odd_encoding_name_yields_its_arabic_link(label, codec, dialect):
    counts = Counter()
    links = feed_links(dialect(label).encode(codec), "https://x.example/feed", counts, "application/rss+xml")
    assert links == [LINK], dict(counts)


@pytest.mark.parametrize("label,codec", FEED_CASES)
def test_sitemap_with_odd_encoding_name_parses(label, codec):
    counts = Counter()
    data = xml_input(_sitemap(label).encode(codec), "https://x.example/sitemap.xml", counts, "application/xml")
    root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    assert [el.text for el in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")] == [LINK]


def test_feed_source_override_beats_a_lying_xml_declaration():
    raw = _rss("iso-8859-1").encode("cp1256")
    counts = Counter()
    assert feed_links(raw, "https://x.example/feed", counts, "text/xml", "windows-1256") == [LINK]
    assert counts["charset-ignored"] >= 1
