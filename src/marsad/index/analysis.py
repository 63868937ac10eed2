"""The Arabic analysis chain of the stories index, as data for ``index_templates/stories.json``.

Elasticsearch 7.10.2 without the ICU plugin has no Unicode normalisation token filter, so the folding Marsad
needs before tokenising is spelled out as ``mapping`` char filters. Their rules are *generated* here from the
Unicode database (:mod:`unicodedata`) and *kept in the JSON* (the template is the single source of the schema);
``python -m marsad.index.analysis`` rewrites the generated part of stories.json, and a unit test fails when
the JSON and this generator disagree.

Generated char filters (rules are ``"\\uXXXX=>…"`` strings, Elasticsearch's mapping syntax):

* :func:`presentation_form_rules` — Arabic Presentation Forms-A (U+FB50–U+FDFF) and -B (U+FE70–U+FEFF) to
  their NFKC base letters (``ﻻ`` → ``لا``, ``ﷲ`` → ``الله``); forms whose NFKC is only a space and harakat
  (isolated tashkeel U+FE70–U+FE7F) map to nothing. Source: Unicode Standard ch. 9.2, NFKC (UAX #15).
* :func:`tashkeel_rules` — harakat U+064B–U+065F, superscript alef U+0670 and the Quranic annotation marks
  U+06D6–U+06ED (Unicode ``Mn`` in the Arabic block) map to nothing.
* :data:`LETTER_VARIANTS` — alef wasla ٱ → ا; Persian/Urdu keyboard letters ی (U+06CC) → ي, ک (U+06A9) → ك,
  ە (U+06D5) → ه. (أ إ آ → ا, ى → ي and ة → ه are done by Lucene's ArabicNormalizer, ``arabic_normalization``.)
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import orjson

PRESENTATION_RANGES = ((0xFB50, 0xFDFF), (0xFE70, 0xFEFE))
"""Arabic Presentation Forms-A and -B (U+FEFF, the BOM, is in ``marsad_strip_format``)."""

LETTER_VARIANTS = {"\u0671": "\u0627", "\u06cc": "\u064a", "\u06a9": "\u0643", "\u06d5": "\u0647"}


def _esc(s: str) -> str:
    return "".join(f"\\u{ord(c):04X}" for c in s)


def _is_mark(c: str) -> bool:
    return unicodedata.category(c) == "Mn"


def presentation_form_rules() -> list[str]:
    """Mapping rules ``"\\uFE8D=>\\u0627"`` for every assigned presentation form whose NFKC differs from it."""
    rules = []
    for lo, hi in PRESENTATION_RANGES:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            if unicodedata.category(c) == "Cn":
                continue
            nfkc = unicodedata.normalize("NFKC", c)
            if nfkc == c:
                continue
            base = "".join(ch for ch in nfkc if not _is_mark(ch)).strip()
            rules.append(f"{_esc(c)}=>{_esc(base)}")
    return rules


def tashkeel_rules() -> list[str]:
    """Mapping rules that delete harakat, superscript alef and Quranic marks (combining marks only)."""
    cps = list(range(0x064B, 0x0660)) + [0x0670] + list(range(0x06D6, 0x06EE))
    return [f"{_esc(chr(cp))}=>" for cp in cps if _is_mark(chr(cp))]


def letter_variant_rules() -> list[str]:
    """Mapping rules for :data:`LETTER_VARIANTS` (one letter → one letter)."""
    return [f"{_esc(k)}=>{_esc(v)}" for k, v in LETTER_VARIANTS.items()]


GENERATED = {
    "marsad_presentation_forms": presentation_form_rules,
    "marsad_tashkeel": tashkeel_rules,
    "marsad_letter_variants": letter_variant_rules,
}
"""Char filter name → generator of its mapping rules."""


def regenerate(path: Path) -> bool:
    """Rewrite the generated char filters in the template at ``path``; True when the file changed."""
    import json

    text = path.read_text(encoding="utf-8")
    body = json.loads(text)
    char_filters = body["template"]["settings"]["analysis"].setdefault("char_filter", {})
    for name, rules in GENERATED.items():
        char_filters[name] = {"type": "mapping", "mappings": rules()}
    new = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


if __name__ == "__main__":
    from marsad.index.templates import TEMPLATES_DIR

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATES_DIR / "stories.json"
    print(f"{target}: {'rewritten' if regenerate(target) else 'up to date'}")
    orjson.loads(target.read_bytes())  # still valid JSON
