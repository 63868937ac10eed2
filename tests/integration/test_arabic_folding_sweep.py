"""The Python normaliser and the index analyzer agree on every character of the Arabic blocks and every format
character (``_analyze`` on the real Elasticsearch node, with the stories template applied to a test index).

"Agree", precisely: for every swept character ``c`` (:func:`marsad.text.fold.swept_characters`: the assigned
characters of U+0600–U+06FF, U+0750–U+077F, U+0870–U+089F, U+08A0–U+08FF, U+FB50–U+FDFF, U+FE70–U+FEFF, plus every
Unicode ``Cf`` character of any plane), the text ``ب + c + ب`` gives the same token list
``normalize_for_matching(text).split()`` in Python as the ``marsad_arabic_exact`` analyzer of the index (the fold-only
analyzer; ``marsad_arabic`` and ``marsad_arabic_search`` share its char filter and add stop words and stemming).
The carrier letter ب (which no rule touches) is there because the tokenizer drops or splits a lone mark, format
character or symbol: with it, "deleted" shows as one token ``بب``, "separator" as two tokens ``ب``, ``ب``, and a
folded letter as ``ب<letter>ب``. Unassigned code points (category ``Cn`` in Python's Unicode 14.0) are not swept.
Characters are batched, one carrier per character separated by spaces, a few hundred per ``_analyze`` call; each
token goes back to its carrier by its start offset (UTF-16 units, as Elasticsearch counts them).
"""

from __future__ import annotations

import bisect

from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.text.arabic import normalize_for_matching
from marsad.text.fold import swept_characters

B = "\u0628"
BATCH = 400


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _analyzer_tokens(es: Es, index: str, chars: list[str]) -> list[list[str]]:
    """Per character of ``chars``: the analyzer's tokens of ``ب + c + ب``."""
    parts = [B + c + B for c in chars]
    starts, pos = [], 0
    for p in parts:
        starts.append(pos)
        pos += _utf16_len(p) + 1
    body = es.request("POST", f"/{index}/_analyze", {"analyzer": "marsad_arabic_exact", "text": " ".join(parts)})
    out: list[list[str]] = [[] for _ in chars]
    for t in body["tokens"]:
        out[bisect.bisect_right(starts, t["start_offset"]) - 1].append(t["token"])
    return out


def test_normaliser_and_index_analyzer_agree_on_every_arabic_and_format_character(names):
    es = Es(names.es_url)
    apply_templates(names, es)
    chars = swept_characters()
    assert len(chars) > 1300  # the blocks are there, not an empty sweep
    disagree = []
    for i in range(0, len(chars), BATCH):
        batch = chars[i:i + BATCH]
        for c, got in zip(batch, _analyzer_tokens(es, names.stories_alias, batch)):
            want = normalize_for_matching(B + c + B).split()
            if got != want:
                disagree.append(f"U+{ord(c):04X} python {want} index {got}")
    assert not disagree, f"{len(disagree)} characters fold differently:\n" + "\n".join(disagree[:40])
