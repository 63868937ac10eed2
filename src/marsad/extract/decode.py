"""Decoding raw page, feed and sitemap bytes to text, with an Arabic-aware choice and a mojibake guard.

Order (:func:`decode_bytes`):

1. a byte-order mark (UTF-8, UTF-16 LE/BE) wins;
2. declared labels, in this order: the source's ``charset`` from ``sources.yaml`` (an operator override), the HTTP
   ``Content-Type`` charset, then the document's own ``<meta charset>`` / ``http-equiv`` (HTML) or
   ``<?xml … encoding=…?>`` (feeds, sitemaps). A label is resolved by :func:`resolve_charset`; unknown, absurd or
   bytes-to-bytes names (``hex``, ``base64``, ``rot13``, ``zlib``), and encodings that are not ASCII-compatible
   (``cp037`` EBCDIC, UTF-16 without BOM, UTF-7) are ignored — a declaration found by reading ASCII bytes cannot
   be one of those;
3. bytes that are valid UTF-8 are UTF-8, whatever was declared (a declaration contradicted by valid UTF-8 loses:
   no single-byte Arabic or Latin text is valid UTF-8 by chance); bytes that are UTF-8 but for a few broken
   sequences (≥ :data:`NEAR_UTF8_SHARE` of the non-ASCII characters valid) are UTF-8 with U+FFFD for those;
4. otherwise every *reading* is scored — the declared codecs, windows-1256 and ISO-8859-6, then
   charset_normalizer's candidates — by :func:`measure`: how many words holding non-ASCII letters are mojibake
   by construction (scripts mixed in one word, ``aBc`` case inside a word, U+FFFD or C1 controls, Latin words
   made mostly of accented letters, UTF-8 read as a single-byte code page). An *acceptable* reading has at most
   :data:`MOJIBAKE_MAX_SHARE` such words. Among acceptable readings, one whose words are mostly Arabic
   (≥ :data:`ARABIC_MIN_SHARE`) wins — the most Arabic first — over Latin/Cyrillic/Thai readings (undeclared
   windows-1256 pages otherwise come out as ``mac_latin2`` or ``cp1251``); else the first acceptable reading in
   the order above;
5. no acceptable reading (and at least :data:`MOJIBAKE_MIN_WORDS` bad words in the best one): the bytes are
   :class:`~marsad.errors.Undecodable` — never indexed (the extract stage dead-letters the page with reason
   ``undecodable``; discovery counts ``undecodable``).

Never the Latin-1 default of HTTP/1.1 for ``text/html`` without a charset. Label resolution: the WHATWG Encoding
Standard label table (the ``webencodings`` package), the same table without separators (``windows1256``,
``cp-1256``), the data file ``charset_aliases.yaml`` (MySQL names such as ``utf8mb4``, IBM/Java spellings), then
Python's codec registry filtered to text encodings (see docs/decisions.md).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import webencodings
import yaml
from charset_normalizer import from_bytes
from webencodings.labels import LABELS  # = webencodings.LABELS, which types-webencodings does not list

from marsad.errors import Undecodable

ARABIC_CODECS = ("cp1256", "iso8859-6")
"""The two Arabic code pages of the web (windows-1256, ISO-8859-6), always tried on non-UTF-8 bytes."""

MOJIBAKE_MAX_SHARE = 0.05
"""A reading is acceptable when at most 5 % of its words holding non-ASCII letters are mojibake by construction.
Measured (tests/unit/test_charset_mojibake_guard.py): 0 % on every correctly decoded corpus page and on the
SaudiNewsNet texts; ≥ 40 % on the wrong readings of the same pages."""

MOJIBAKE_MIN_WORDS = 3
"""Fewer bad words than this in the best reading is too little evidence to call a page undecodable."""

ARABIC_MIN_SHARE = 0.5
"""A reading is Arabic when at least half of its words holding non-ASCII letters are written in Arabic letters only."""

NEAR_UTF8_SHARE = 0.95
"""Bytes that decode as UTF-8 with at least 95 % of their non-ASCII characters valid are UTF-8 with a few broken
sequences (a truncated character, one stray byte from an ad) rather than a single-byte code page."""

META_PRESCAN_BYTES = 4096
"""``<meta charset>`` is looked for in the first 4 KiB (WHATWG prescans 1,024 bytes; Arabic CMS heads are longer)."""

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([^\s"'>;/]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^\s"';,]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^(\s*<\?xml[^>]*?\sencoding\s*=\s*)(["'])([^"'>]*)\2""")

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


# --- labels --------------------------------------------------------------------------------------------------

def _compact(label: str) -> str:
    return re.sub(r"[^a-z0-9]", "", label.lower())


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    data = yaml.safe_load(resources.files("marsad.extract").joinpath("charset_aliases.yaml").read_text("utf-8"))
    table = {_compact(k): v for k, v in data["aliases"].items()}
    for label, name in LABELS.items():  # the WHATWG labels without separators
        table.setdefault(_compact(label), name)
    return table


_ESCAPE_PROBE = b"\\x41\\u0041\\n"
"""Backslash escapes that ``unicode_escape`` / ``raw_unicode_escape`` turn into other characters; tried before the
printable probe, whose lone ``\\]`` makes ``unicode_escape`` warn."""


@lru_cache(maxsize=256)
def _ascii_compatible(codec: str) -> bool:
    """Does ``codec`` read every ASCII byte (printable, tab, newlines, backslash escapes) as itself?

    ``False`` too for codecs that raise on ASCII: ``undefined`` and ``punycode`` raise a bare ``UnicodeError``
    (a ``ValueError``), not a ``UnicodeDecodeError``.
    """
    try:
        for probe in (_ESCAPE_PROBE, bytes(range(0x20, 0x7F)) + b"\t\n\r"):
            if probe.decode(codec) != probe.decode("ascii"):
                return False
        return True
    except (ValueError, LookupError):
        return False


@lru_cache(maxsize=1024)
def resolve_charset(label: str | None) -> tuple[str | None, str]:
    """Resolve an encoding label to a Python codec name: ``(codec, "")`` or ``(None, why)``.

    Looked up in: the WHATWG label table (``webencodings.lookup``: ``x-cp1256`` and ``ISO-8859-6-I`` → their
    encodings, ``latin1`` → windows-1252 as in browsers), the same labels with separators removed
    (``windows1256``, ``cp-1256``), :file:`charset_aliases.yaml`, then Python's codec registry. Refused (``None``):
    empty or absurd labels, WHATWG's ``replacement`` and ``x-user-defined``, codecs that are not text encodings
    (``hex``, ``base64``, ``rot13``, ``zlib``: bytes-to-bytes), and text encodings that are not ASCII-compatible
    (``cp037``, ``utf-16``, ``utf-7``, the escape codecs ``unicode_escape``/``raw_unicode_escape``, and
    ``undefined``/``punycode``, which raise on ASCII).
    """
    label = (label or "").strip().strip("\"'").strip()
    if not label or len(label) > 64:
        return None, "empty or absurd label"
    found = webencodings.lookup(label)
    name = found.name if found is not None else _aliases().get(_compact(label))
    if name is not None:
        if name in ("replacement", "x-user-defined"):
            return None, f"WHATWG {name} encoding"
        found = webencodings.lookup(name)
        if found is None:  # a charset_aliases.yaml entry whose value is not a WHATWG name: a data error
            raise ValueError(f"charset_aliases.yaml: {label!r} maps to {name!r}, not a WHATWG encoding name")
        codec = codecs.lookup(found.codec_info.name).name
    else:
        try:
            info = codecs.lookup(label)
        except (LookupError, ValueError):
            return None, "unknown encoding"
        if not getattr(info, "_is_text_encoding", True):
            return None, f"{info.name} is a bytes-to-bytes codec, not a text encoding"
        codec = info.name
    if not _ascii_compatible(codec):
        return None, f"{codec} is not ASCII-compatible"
    return codec, ""


def charset_codec(label: str | None) -> str | None:
    """The Python codec name for ``label`` (:func:`resolve_charset`), or ``None`` when it is unusable."""
    return resolve_charset(label)[0]


def header_charset(content_type: str | None) -> str | None:
    """The raw ``charset`` parameter of a ``Content-Type`` value, or ``None``."""
    m = _HEADER_CHARSET.search(content_type or "")
    return m.group(1) if m else None


# --- mojibake measure ----------------------------------------------------------------------------------------

_MARKS = "\u0300-\u036f\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
_WORD = re.compile(rf"[\w{_MARKS}\u0080-\u009f\ufffd]+")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")
_SCRIPTS = (  # (first, last, script): Unicode blocks of the letters a mojibake reading can produce
    (0x0041, 0x024F, "latin"), (0x1E00, 0x1EFF, "latin"), (0x0370, 0x03FF, "greek"), (0x0400, 0x052F, "cyrillic"),
    (0x0590, 0x05FF, "hebrew"), (0x0600, 0x06FF, "arabic"), (0x0750, 0x077F, "arabic"), (0x08A0, 0x08FF, "arabic"),
    (0xFB50, 0xFDFF, "arabic"), (0xFE70, 0xFEFF, "arabic"), (0x0E00, 0x0E7F, "thai"),
)


def _script(ch: str) -> str | None:
    o = ord(ch)
    if 0x300 <= o <= 0x36F or ch.isdigit() or ch == "_":
        return None  # combining marks and digits go with any script
    for first, last, name in _SCRIPTS:
        if first <= o <= last:
            return name
    return f"other-{o >> 8}"


_ARABIC_THEN_ASCII = re.compile(rf"[\u0600-\u06ff{_MARKS}]+[A-Za-z0-9_]+")
"""«الـDJ», «لـCNN»: an Arabic prefix (article, preposition, tatweel) glued to a Latin word is genuine Arabic
writing (corpus: LBC 2026); Arabic letters inside or after non-ASCII Latin letters never are."""


def _bad_word(word: str) -> bool:
    if "\ufffd" in word or any("\x80" <= c <= "\x9f" for c in word):
        return True
    scripts = {s for c in word if (s := _script(c))}
    if len(scripts) > 1 and not _ARABIC_THEN_ASCII.fullmatch(word):
        return True
    prev_lower = False
    for c in word:  # "ЗбЪСИнЙ", "ÇáÚÑ": an upper-case letter after a lower-case one
        if c.isupper() and prev_lower:
            return True
        prev_lower = c.islower()
    if scripts == {"latin"}:
        accented = sum(1 for c in word if c.isalpha() and not c.isascii())
        letters = sum(1 for c in word if c.isalpha())
        if accented >= 4 and accented * 3 > letters * 2:  # "ãåäìí"; not "été", "ações", "görüştü"
            return True
    return False


def _utf8_in_disguise(run: str) -> bool:
    """A run of non-ASCII characters that is UTF-8 read as windows-1256 or windows-1252 («ط§ظ„», «Ø§Ù„»)."""
    for cp in ("cp1256", "cp1252"):
        try:
            raw = run.encode(cp)
            raw.decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if any(b >= 0x80 for b in raw):
            return True
    return False


@dataclass(frozen=True)
class Mojibake:
    """Counts over the words of a text that hold non-ASCII letters: ``words``, ``bad`` (mojibake by construction),
    ``arabic`` (written in Arabic letters only)."""

    words: int
    bad: int
    arabic: int

    @property
    def bad_share(self) -> float:
        return self.bad / self.words if self.words else 0.0

    @property
    def arabic_share(self) -> float:
        return self.arabic / self.words if self.words else 0.0

    @property
    def acceptable(self) -> bool:
        return self.bad_share <= MOJIBAKE_MAX_SHARE

    @property
    def undecodable(self) -> bool:
        """Mojibake by construction: not acceptable, on at least :data:`MOJIBAKE_MIN_WORDS` bad words."""
        return not self.acceptable and self.bad >= MOJIBAKE_MIN_WORDS


_PLAIN_ARABIC = re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b, name in _SCRIPTS if name == "arabic")
                           + "\u0300-\u036f0-9_]+")
"""A word of Arabic-block characters, combining marks, ASCII digits and ``_`` only: :func:`_script` gives each of
them ``arabic`` or ``None`` and none is upper or lower case, so :func:`_bad_word` is false and the word counts as
Arabic whenever it holds a letter — decided without the per-character loops (most words of an Arabic page; the
loops were two thirds of the extract stage's time on short pages, docs/benchmarks-pipeline.md)."""


_MAYBE_DISGUISED = re.compile("[" + re.escape("".join(sorted(
    set(bytes(range(0x80, 0xC0)).decode("cp1256")) | set(bytes(range(0x80, 0xC0)).decode("cp1252", "ignore"))))) + "]")
"""Characters that windows-1256 or windows-1252 encode as a UTF-8 continuation byte (0x80–0xBF). A run of non-ASCII
characters without one encodes to lead bytes only, which is never valid UTF-8, so :func:`_utf8_in_disguise` is false
for it — checked by one regex search instead of two encodes and a decode per run."""

_MAYBE_DISGUISED_RUN = re.compile(r"(?<![^\x00-\x7f])(?=[^\x00-\x7f]*?" + _MAYBE_DISGUISED.pattern
                                  + r")[^\x00-\x7f]{2,}")
"""The :data:`_NON_ASCII_RUN` runs that hold a :data:`_MAYBE_DISGUISED` character, found in one scan: a match starts
only where a run starts (the look-behind), looks ahead within the run for such a character and takes the whole run.
Linear in the text (each run is looked through once); Arabic text has a few of them per hundred runs («،», «؟», «»»)."""


def _char_class(chars: set[str]) -> str:
    """A regex character class (``[…]``) matching exactly ``chars``, written as ranges of consecutive code points."""
    points = sorted(map(ord, chars))
    parts, start = [], None
    for i, o in enumerate(points):
        if start is None:
            start = o
        if i + 1 == len(points) or points[i + 1] != o + 1:
            parts.append(f"\\U{start:08x}" if start == o else f"\\U{start:08x}-\\U{o:08x}")
            start = None
    return "[" + "".join(parts) + "]"


_PLAIN_CHARS = {chr(o) for o in range(0x10000) if _PLAIN_ARABIC.fullmatch(chr(o))}
_NOT_PLAIN = re.compile("[^\n" + _char_class(_PLAIN_CHARS)[1:])
_PLAIN_NO_LETTER_LINE = re.compile("^" + _char_class({c for c in _PLAIN_CHARS if not c.isalpha()}) + "+$",
                                   re.MULTILINE)
"""The per-word test of :func:`measure` done on all words at once, for the common case (every non-ASCII word is a
:data:`_PLAIN_ARABIC` word): the words joined by newlines hold no character outside that class
(:data:`_NOT_PLAIN`), and the words without a letter are the lines made only of its characters that are not
``str.isalpha`` (:data:`_PLAIN_NO_LETTER_LINE`). Both classes are computed from :data:`_PLAIN_ARABIC` and
``str.isalpha`` themselves, so the counts are those of the loop; the loop stays for any other text."""


def measure(text: str) -> Mojibake:
    """Score ``text`` (any length; cost linear) for mojibake: see :class:`Mojibake` and the module doc, step 4."""
    words = bad = arabic = 0
    plain = _PLAIN_ARABIC.fullmatch
    non_ascii = [w for w in _WORD.findall(text) if not w.isascii()]
    joined = "\n".join(non_ascii)
    if not _NOT_PLAIN.search(joined):  # only plain Arabic words: no bad word, no per-word loop
        words = arabic = len(non_ascii) - len(_PLAIN_NO_LETTER_LINE.findall(joined))
        non_ascii = []
    for w in non_ascii:
        if plain(w):
            if any(c.isalpha() for c in w):
                words += 1
                arabic += 1
            continue  # Arabic-Indic digits or marks only: no letters
        if not any(c.isalpha() or c == "\ufffd" or "\x80" <= c <= "\x9f" for c in w):
            continue  # «©2024», «…»: no letters
        words += 1
        if _bad_word(w):
            bad += 1
        elif all(_script(c) in ("arabic", None) for c in w):
            arabic += 1
    disguised = sum(1 for r in _MAYBE_DISGUISED_RUN.findall(text) if _utf8_in_disguise(r))
    if disguised:
        words = max(words, disguised)
        bad = min(words, bad + disguised)
        arabic = max(0, min(arabic, words - bad))
    return Mojibake(words, bad, arabic)


# --- decoding ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decoded:
    """A decoding: ``text``; ``encoding`` (Python codec name); ``how`` it was chosen (``bom``, ``ascii``,
    ``utf-8``, ``utf-8-lossy``, ``source``, ``http``, ``meta``, ``xml``, ``arabic``, ``detected``); ``ignored``:
    the declared labels that were not used, each with why (for logs and counts)."""

    text: str
    encoding: str
    how: str
    ignored: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class _Reading:
    how: str
    codec: str
    text: str
    score: Mojibake


def _pick(readings: list[_Reading]) -> _Reading | None:
    ok = [r for r in readings if r.score.acceptable]
    arabic = [r for r in ok if r.score.arabic_share >= ARABIC_MIN_SHARE]
    if arabic:
        best = max(r.score.arabic_share for r in arabic)
        return next(r for r in arabic if r.score.arabic_share == best)
    if not ok:
        return None
    rank = {"arabic": 2, "detected": 1}  # declared readings first, then the detector's, then the Arabic code pages
    return min(ok, key=lambda r: rank.get(r.how, 0))


def decode_bytes(body: bytes, declared: Sequence[tuple[str, str | None]] = ()) -> Decoded:
    """Decode ``body`` (see the module doc for the order). ``declared``: ``(how, label)`` pairs in priority order,
    e.g. ``[("source", "windows-1256"), ("http", "utf-8"), ("meta", "cp-1256")]``; ``None`` labels are skipped.

    Raises :class:`~marsad.errors.Undecodable` when every reading is mojibake by construction.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            text = body[len(bom):].decode(codec, errors="replace")
            if measure(text).undecodable:
                raise Undecodable(f"{codec} byte-order mark, but the text is mojibake")
            return Decoded(text, codec, "bom")
    ignored: list[str] = []
    usable: list[tuple[str, str]] = []
    for how, label in declared:
        if label is None:
            continue
        resolved, why = resolve_charset(label)
        if resolved is None:
            ignored.append(f"{how} {label!r}: {why}")
        else:
            usable.append((how, resolved))
    if body.isascii():
        return Decoded(body.decode("ascii"), usable[0][1] if usable else "utf-8", "ascii", tuple(ignored))
    contradicted = [f"{how} {codec!r}: contradicted by valid UTF-8" for how, codec in usable if codec != "utf-8"]
    try:
        return Decoded(body.decode("utf-8"), "utf-8", "utf-8", tuple(ignored + contradicted))
    except UnicodeDecodeError:
        pass
    lossy = body.decode("utf-8", errors="replace")
    broken = lossy.count("\ufffd")
    valid = sum(1 for c in lossy if c > "\x7f") - broken
    if valid >= NEAR_UTF8_SHARE * (valid + broken):
        if measure(lossy).undecodable:
            raise Undecodable(f"UTF-8 with {broken} broken sequences")
        return Decoded(lossy, "utf-8", "utf-8-lossy", tuple(ignored + contradicted))

    readings: list[_Reading] = []
    tried: set[str] = set()

    def read(how: str, codec: str) -> None:
        try:
            codec = codecs.lookup(codec).name
        except LookupError:
            return
        if codec in tried or codec == "utf-8":
            return
        tried.add(codec)
        try:
            text = body.decode(codec)
        except (UnicodeDecodeError, ValueError):
            if how not in ("arabic", "detected"):
                ignored.append(f"{how} {codec!r}: the bytes are not {codec}")
            return
        readings.append(_Reading(how, codec, text, measure(text)))

    for how, codec in usable:
        read(how, codec)
    for codec in ARABIC_CODECS:
        read("arabic", codec)
    chosen = _pick(readings)
    if chosen is None or (chosen.score.arabic_share < ARABIC_MIN_SHARE and chosen.how == "arabic"):
        for match in from_bytes(body):
            if match.encoding:
                read("detected", match.encoding)
        chosen = _pick(readings)
    if chosen is None:
        best = min(readings, key=lambda r: r.score.bad_share) if readings else None
        if best is None or best.score.undecodable:
            detail = ", ".join(f"{r.codec}: {r.score.bad}/{r.score.words} mojibake words" for r in readings[:6])
            raise Undecodable(f"no reading of the bytes is text ({detail or 'no codec decodes them'})")
        chosen = best
    for r in readings:
        if r is not chosen and r.how not in ("arabic", "detected"):
            ignored.append(f"{r.how} {r.codec!r}: {r.score.bad}/{r.score.words} mojibake words, "
                           f"{chosen.codec} reads better")
    return Decoded(chosen.text, chosen.codec, chosen.how, tuple(ignored))


def html_declarations(body: bytes, content_type: str | None = None,
                      charset: str | None = None) -> list[tuple[str, str | None]]:
    """The declared labels of an HTML page in priority order: source override, HTTP header, ``<meta>``."""
    m = _META_CHARSET.search(body[:META_PRESCAN_BYTES])
    return [("source", charset), ("http", header_charset(content_type)),
            ("meta", m.group(1).decode("ascii", "replace") if m else None)]


def decode_page(body: bytes, content_type: str | None = None, *, charset: str | None = None) -> Decoded:
    """Decode an HTML page (:func:`decode_bytes` with :func:`html_declarations`). Raises :class:`Undecodable`."""
    return decode_bytes(body, html_declarations(body, content_type, charset))


def decode_html(body: bytes, content_type: str | None = None, *, charset: str | None = None) -> tuple[str, str]:
    """``(text, codec name)`` of an HTML body (:func:`decode_page`). Raises :class:`Undecodable`."""
    d = decode_page(body, content_type, charset=charset)
    return d.text, d.encoding


def decode_xml(body: bytes, content_type: str | None = None, *, charset: str | None = None) -> tuple[bytes, Decoded]:
    """A feed or sitemap as UTF-8 bytes whose XML declaration says ``encoding="utf-8"``, plus the decoding.

    Declared labels: source override, HTTP charset (RFC 7303 §3: it takes precedence over the XML declaration),
    the ``<?xml … encoding=…?>`` pseudo-attribute. The parser only ever sees UTF-8 with a true declaration, because
    a broken name there (``windows1256``, ``cp-1256``, ``hex``) handed to expat raises ``LookupError``.
    Raises :class:`Undecodable`.
    """
    start = next((len(bom) for bom, _ in _BOMS if body.startswith(bom)), 0)
    m = _XML_DECL.match(body[start:start + 512]) if start == 0 else None
    declared = [("source", charset), ("http", header_charset(content_type)),
                ("xml", m.group(3).decode("ascii", "replace") if m else None)]
    d = decode_bytes(body, declared)
    out = d.text.encode("utf-8")
    out = _XML_DECL.sub(lambda mm: mm.group(1) + mm.group(2) + b"utf-8" + mm.group(2), out, count=1)
    return out, d
