"""Text normalisation for matching, shared by dedup, alerts, search tests and the content hash.

The folding itself is :mod:`marsad.text.fold` (data: ``folding.yaml``; decisions: docs/decisions.md "One Arabic
folding"), which the index analyzer's char filters are generated from too. In short:

* NFKC first (presentation forms U+FB50–U+FDFF, U+FE70–U+FEFF → base letters; fullwidth and other compatibility
  characters everywhere);
* every format character (Unicode category ``Cf``, all planes: bidi marks incl. U+061C, ZWSP/ZWNJ/ZWJ, U+2060–4,
  BOM, soft hyphen …), every mark of the Arabic blocks (tashkeel, superscript alef, Quranic marks) and tatweel are
  deleted;
* alef variants, hamza seats and decorated letters fold to their base letter (أ إ آ ٱ → ا, ؤ → و, ئ → ي), ى → ي,
  ة → ه, Persian/Urdu keyboard letters (ک ی ہ ھ ۀ ە ۃ ے) → Arabic;
* Eastern Arabic (U+0660–9) and Persian (U+06F0–9) digits → ASCII;
* punctuation (category ``P*``) and the symbols of the Arabic blocks become a space, whitespace is collapsed, Latin
  is lower-cased.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from marsad.text.fold import MATCH_TABLE

_TABLE = MATCH_TABLE
_SPACES = re.compile(r"\s+")


def normalize_for_matching(text: str) -> str:
    """Return ``text`` folded for matching (see module docstring). Shape: ``str -> str``; never raises.

    NFKC first (folds presentation forms), then one translate table (:data:`marsad.text.fold.MATCH_TABLE`).
    """
    text = unicodedata.normalize("NFKC", text).translate(_TABLE)
    return _SPACES.sub(" ", text).strip().lower()


def content_hash(text: str) -> str:
    """SHA-256 hex digest of :func:`normalize_for_matching` of ``text`` (64 hex chars)."""
    return hashlib.sha256(normalize_for_matching(text).encode("utf-8")).hexdigest()


_ARABIC_LETTERS = re.compile("[\u0621-\u064a\u0671-\u06d3\ufb50-\ufdff\ufe70-\ufefc]+")
_LATIN_LETTERS = re.compile("[A-Za-z]+")


def _count(letters: re.Pattern[str], text: str) -> int:
    """How many characters of ``text`` the one-class pattern ``letters`` (``[…]+``) matches: the length removed by
    deleting its runs (one string built, instead of one object per letter with ``findall``; 3× faster on articles)."""
    return len(text) - len(letters.sub("", text))


def arabic_ratio(text: str) -> float:
    """Share of Arabic letters among Arabic+Latin letters in ``text`` (0.0–1.0; 0.0 for no letters)."""
    ar = _count(_ARABIC_LETTERS, text)
    la = _count(_LATIN_LETTERS, text)
    return ar / (ar + la) if ar + la else 0.0
