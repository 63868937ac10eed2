"""The Arabic analysis chain of the stories index, as data for ``marsad/index/schema/stories.json``.

Elasticsearch 7.10.2 without the ICU plugin has no Unicode normalisation token filter, so the folding Marsad
needs before tokenising is spelled out as ``mapping`` char filters. Their rules are *generated* here from Marsad's
one folding definition (:mod:`marsad.text.fold`, data ``src/marsad/text/folding.yaml``) and *kept in the JSON* (the
template is the single source of the schema); ``python -m marsad.index.analysis`` rewrites the generated part of
stories.json, and a unit test fails when the JSON and this generator disagree. A changed fold changes the
template's analysis, so ``marsad templates apply`` reports the live index as built with older analysis and names
the replay into a new index version.

Generated char filters (rules are ``"\\uXXXX=>…"`` strings, Elasticsearch's mapping syntax):

* ``marsad_fold`` — :func:`marsad.text.fold.index_mapping_rules`: every character of the Arabic blocks and every
  format character (Unicode ``Cf``) whose fold differs from it, mapped to exactly what
  :func:`marsad.text.arabic.normalize_for_matching` makes of it (deleted, a folded letter/digit string, or a space
  for punctuation and symbols). The analyzers' token filters that follow (``decimal_digit``,
  ``arabic_normalization``) find nothing left to fold in Arabic text; they stay for other scripts' digits.
* ``marsad_strip_format`` — :func:`marsad.text.fold.format_mapping_rules`: format characters and tatweel deleted,
  for the ``marsad_keyword`` normalizer.

The agreement of the analyzer with the Python normaliser, character by character, is checked against the real node
by ``tests/integration/test_arabic_folding_sweep.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import orjson

from marsad.text.fold import format_mapping_rules, index_mapping_rules

GENERATED: dict[str, Callable[[], list[str]]] = {
    "marsad_fold": index_mapping_rules,
    "marsad_strip_format": format_mapping_rules,
}
"""Char filter name → generator of its mapping rules."""


def regenerate(path: Path) -> bool:
    """Rewrite the generated char filters in the template at ``path``; True when the file changed."""
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
