"""Marsad's one Arabic folding definition: ``folding.yaml`` (the decisions, as data) + the rules here.

Every consumer derives from it:

* :func:`marsad.text.arabic.normalize_for_matching` (content hashes, shingles, title matching) uses
  :data:`MATCH_TABLE`;
* the date parser (:mod:`marsad.extract.dates`) uses :data:`LETTER_TABLE` + :data:`PUNCTUATION_ASCII`;
* the boilerplate rules' ``fold`` (:mod:`marsad.extract.boilerplate`) uses :data:`LETTER_TABLE`;
* the index char filters (:mod:`marsad.index.analysis` → ``marsad/index/schema/stories.json``) are
  :func:`index_mapping_rules` — the per-character fold spelled as Elasticsearch ``mapping`` rules, so the
  analyzer sees exactly the characters the Python normaliser produces.

Per character ``c`` of the swept :data:`BLOCKS` (and every format character, all planes) the first rule that applies
decides (sources in docs/decisions.md "One Arabic folding"):

1. category ``Cf`` (from :mod:`unicodedata`, not a hand list) → deleted;
2. NFKC(c) ≠ c (presentation forms U+FB50–U+FDFF, U+FE70–U+FEFF; U+0675–U+0678) → NFKC, each part folded;
3. the ``letters`` table of ``folding.yaml``;
4. category ``Mn``/``Me`` in the blocks (tashkeel, superscript alef U+0670, Quranic marks) → deleted;
5. category ``Nd`` in the blocks (Eastern U+0660–9, Persian U+06F0–9) → ASCII digit;
6. a decorated letter, Unicode name ``ARABIC LETTER X WITH …`` where ``ARABIC LETTER X`` exists → X, folded again
   (أ إ آ → ا, ؤ → و, ئ → ي, ۀ → ه, ڤ → ف …);
7. categories ``P*``/``S*`` in the blocks, and ``not_tokenized`` letters → a separator (space) when matching;
8. otherwise kept.

The tables depend on :data:`unicodedata.unidata_version` (Python 3.11: Unicode 14.0); a Python with another
Unicode version regenerates another index analysis (the analysis unit test then names the command to run).
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_FILE = Path(__file__).with_name("folding.yaml")


def _load() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return data


_DATA = _load()

FOLD_VERSION = f"fold-{_DATA['version']}-ucd{unicodedata.unidata_version}"
"""Identifies the folding (data version + Unicode version): content hashes and shingles made under another
``FOLD_VERSION`` are not comparable."""

BLOCKS: tuple[tuple[int, int], ...] = tuple((lo, hi) for lo, hi in _DATA["blocks"])
"""Inclusive code point ranges of the Arabic blocks the folding decides character by character."""

LETTERS: dict[str, str] = {k: v["to"] for k, v in _DATA["letters"].items()}
"""Explicit letter decisions (rule 3): character → replacement (``""`` = deleted)."""

NOT_TOKENIZED: frozenset[str] = frozenset(chr(cp) for cp in _DATA["not_tokenized"])
"""Letters the index tokenizer does not know (rule 7): separators."""

INDEX_TOKEN_FILTER_FOLDS: frozenset[str] = frozenset(_DATA["left_to_index_token_filter"])
"""Letters whose fold the index leaves to Lucene's ``arabic_normalization`` token filter (after the stop list)."""

PUNCTUATION_ASCII: dict[str, str] = dict(_DATA["punctuation_ascii"])
"""Arabic punctuation → ASCII counterpart, for folds that keep punctuation (the date parser)."""

SEPARATOR = " "

# Planes holding format characters (Unicode 14: BMP, SMP, SSP); checked over all planes by a unit test.
_CF_PLANES = ((0x0000, 0x1FFFF), (0xE0000, 0xEFFFF))


def format_characters() -> frozenset[str]:
    """Every character of Unicode category ``Cf`` (:mod:`unicodedata`): bidi marks (U+061C, U+200E/F, U+202A–E,
    U+2066–9), zero-width characters (U+200B–D, U+2060), U+FEFF, the soft hyphen U+00AD, U+0600–U+0605, tags …"""
    return frozenset(chr(cp) for lo, hi in _CF_PLANES for cp in range(lo, hi + 1)
                     if unicodedata.category(chr(cp)) == "Cf")


FORMAT = format_characters()


def in_blocks(c: str) -> bool:
    """True when ``c`` lies in one of :data:`BLOCKS`."""
    cp = ord(c)
    return any(lo <= cp <= hi for lo, hi in BLOCKS)


def swept_characters() -> list[str]:
    """The characters the folding decides one by one: assigned characters of :data:`BLOCKS` plus :data:`FORMAT`,
    in code point order."""
    chars = {chr(cp) for lo, hi in BLOCKS for cp in range(lo, hi + 1) if unicodedata.category(chr(cp)) != "Cn"}
    return sorted(chars | FORMAT)


def _decorated_base(c: str) -> str | None:
    name = unicodedata.name(c, "")
    if not name.startswith("ARABIC ") or " WITH " not in name:
        return None
    try:
        return unicodedata.lookup(name.split(" WITH ", 1)[0])
    except KeyError:
        return None


@cache
def fold_char(c: str, *, separators: bool = True) -> str:
    """The fold of one character (rules 1–8 above): ``""`` when deleted, ``" "`` for a separator (only with
    ``separators=True``; otherwise a separator is kept as it is), else the folded letters/digits. Characters outside
    :data:`BLOCKS` that are not format characters are returned unchanged. Shape: ``str (len 1) -> str``."""
    if c in FORMAT:
        return ""
    if not in_blocks(c) or unicodedata.category(c) == "Cn":
        return c
    nfkc = unicodedata.normalize("NFKC", c)
    if nfkc != c:
        return "".join(fold_char(p, separators=separators) if in_blocks(p) or p in FORMAT else p for p in nfkc)
    if c in LETTERS:
        return LETTERS[c]
    cat = unicodedata.category(c)
    if cat in ("Mn", "Me"):
        return ""
    if cat == "Nd":
        return str(unicodedata.digit(c))
    base = _decorated_base(c)
    if base is not None:
        return fold_char(base, separators=separators)
    if cat[0] in "PS" or c in NOT_TOKENIZED:
        return SEPARATOR if separators else c
    return c


def _table(separators: bool) -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for c in swept_characters():
        r = fold_char(c, separators=separators)
        if r != c:
            table[ord(c)] = r or None
    return table


LETTER_TABLE: dict[int, str | None] = _table(separators=False)
"""``str.translate`` table of rules 1–6: format characters and marks deleted, letters and digits folded, presentation
forms expanded; punctuation and symbols left as they are. For folds that keep punctuation (dates, boilerplate)."""

MATCH_TABLE: dict[int, str | None] = {
    **{cp: SEPARATOR for cp in range(0x10000) if unicodedata.category(chr(cp)).startswith("P")},
    **_table(separators=True),
}
"""``str.translate`` table for matching: :data:`LETTER_TABLE`, plus every punctuation character (category ``P*``, BMP)
and the symbols and ``not_tokenized`` letters of :data:`BLOCKS` → a space."""


def _es_escape(s: str) -> str:
    units = s.encode("utf-16-be")
    return "".join(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04X}" for i in range(0, len(units), 2))


def index_mapping_rules() -> list[str]:
    """Elasticsearch ``mapping`` char filter rules (``"\\uFEFB=>\\u0644\\u0627"``) for every swept character
    whose matching fold differs from it, in code point order; characters outside the BMP are written as UTF-16
    surrogate pairs (Lucene's MappingCharFilter works on UTF-16 units). The letters of
    :data:`INDEX_TOKEN_FILTER_FOLDS` get no rule: the analyzer folds them after its stop list."""
    return [f"{_es_escape(c)}=>{_es_escape(fold_char(c))}" for c in swept_characters()
            if fold_char(c) != c and c not in INDEX_TOKEN_FILTER_FOLDS]


def format_mapping_rules() -> list[str]:
    """Mapping rules deleting every format character (``Cf``) and tatweel: the keyword normalizer's folding."""
    return [f"{_es_escape(c)}=>" for c in sorted(FORMAT | {"\u0640"})]
