"""One Arabic normaliser, shared by dedup, alerts, search tests and the content hash.

Rules (see ../shared/DESIGN.md "Arabic, concretely"):

* strip tashkeel (U+064B–U+065F, U+0670 superscript alef, U+06D6–U+06ED Quranic marks) and tatweel (U+0640);
* strip bidi and other format characters (Unicode category ``Cf``: U+200E/F, U+202A–E, U+2066–9, ZWJ/ZWNJ, BOM);
* NFKC first, which folds Arabic presentation forms (U+FB50–U+FDFF, U+FE70–U+FEFF) to base letters;
* fold alef forms أ إ آ ٱ → ا, ى → ي, ة → ه, ؤ → و, ئ → ي (the usual IR folding, e.g. Larkey et al. 2002,
  "Improving stemming for Arabic information retrieval", and Lucene's ArabicNormalizer);
* Eastern Arabic (U+0660–9) and Persian (U+06F0–9) digits → ASCII;
* Arabic punctuation (، ؛ ؟ and the rest of category ``P*``) becomes a space, whitespace is collapsed, Latin is
  lower-cased.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_TASHKEEL = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
        "ؤ": "و",
        "ئ": "ي",
        "ـ": None,  # tatweel
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
    }
)
_SPACES = re.compile(r"\s+")


def _build_table() -> dict[int, str | None]:
    """One ``str.translate`` table for the Basic Multilingual Plane: format characters and tashkeel dropped,
    letter/digit folds applied, punctuation (category P*) turned into a space. Built once at import (~30 ms);
    one C-level ``translate`` per text instead of a Python loop per character."""
    table: dict[int, str | None] = {}
    for cp in range(0x10000):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat == "Cf" or _TASHKEEL.match(ch):
            table[cp] = None
        elif cat.startswith("P"):
            table[cp] = " "
    table.update(_FOLD)
    return table


_TABLE = _build_table()


def normalize_for_matching(text: str) -> str:
    """Return ``text`` folded for matching (see module docstring). Shape: ``str -> str``; never raises.

    NFKC first (folds presentation forms), then one translate table; characters outside the BMP are kept as-is.
    """
    text = unicodedata.normalize("NFKC", text).translate(_TABLE)
    return _SPACES.sub(" ", text).strip().lower()


def content_hash(text: str) -> str:
    """SHA-256 hex digest of :func:`normalize_for_matching` of ``text`` (64 hex chars)."""
    return hashlib.sha256(normalize_for_matching(text).encode("utf-8")).hexdigest()


_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3\ufb50-\ufdff\ufe70-\ufefc]")
_LATIN_LETTER = re.compile("[A-Za-z]")


def arabic_ratio(text: str) -> float:
    """Share of Arabic letters among Arabic+Latin letters in ``text`` (0.0–1.0; 0.0 for no letters)."""
    ar = len(_ARABIC_LETTER.findall(text))
    la = len(_LATIN_LETTER.findall(text))
    return ar / (ar + la) if ar + la else 0.0
