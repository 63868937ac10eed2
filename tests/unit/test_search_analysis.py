"""The stories template's analysis settings: generated char filters in sync, analyzers wired to the text fields."""

from __future__ import annotations

import re
import unicodedata

from marsad.index.analysis import GENERATED
from marsad.index.templates import load_template
from marsad.text.fold import index_mapping_rules

ANALYSIS = load_template("stories")["template"]["settings"]["analysis"]
PROPS = load_template("stories")["template"]["mappings"]["properties"]


def _decode(rule: str) -> tuple[str, str]:
    key, value = rule.split("=>")
    dec = lambda s: re.sub(r"\\u([0-9A-F]{4})", lambda m: chr(int(m.group(1), 16)), s).encode(  # noqa: E731
        "utf-16", "surrogatepass").decode("utf-16")
    return dec(key), dec(value)


def test_generated_char_filters_in_the_json_match_the_generator():
    for name, rules in GENERATED.items():
        assert ANALYSIS["char_filter"][name] == {"type": "mapping", "mappings": rules()}, (
            f"{name} is stale: run `python -m marsad.index.analysis`")


def test_fold_rules_map_presentation_forms_to_nfkc_letters_without_marks():
    rules = dict(_decode(r) for r in index_mapping_rules())
    assert rules["\ufe8d"] == "\u0627"          # ALEF ISOLATED FORM → ا
    assert rules["\ufefb"] == "\u0644\u0627"    # LAM WITH ALEF ISOLATED → لا
    assert rules["\ufef7"] == "\u0644\u0627"    # LAM WITH ALEF WITH HAMZA ABOVE ISOLATED → لا (hamza seat folded)
    assert rules["\ufdf2"] == "\u0627\u0644\u0644\u0647"  # ﷲ → الله
    assert rules["\ufe70"] == " "               # isolated fathatan: NFKC is a space + the mark
    assert rules["\ufeff"] == ""                # the BOM is a format character
    for k, v in rules.items():
        assert not any(unicodedata.category(c) in ("Mn", "Cf") for c in v), k


def test_fold_rules_delete_harakat_superscript_alef_and_format_characters():
    rules = dict(_decode(r) for r in index_mapping_rules())
    deleted = {k for k, v in rules.items() if v == ""}
    assert {chr(c) for c in range(0x064B, 0x0653)} | {"\u0670", "\u0640", "\u061c", "\u200f", "\u00ad"} <= deleted
    assert "\u0627" not in rules and "\u0621" not in rules  # alef and the standalone hamza are kept


def test_char_filter_keys_are_unique_across_filters_of_one_analyzer():
    for name in ("marsad_arabic", "marsad_arabic_search", "marsad_arabic_exact"):
        keys = [_decode(r)[0] for cf in ANALYSIS["analyzer"][name]["char_filter"]
                for r in ANALYSIS["char_filter"][cf]["mappings"]]
        assert len(keys) == len(set(keys)), name


def test_text_fields_index_with_variants_and_search_without():
    for field in ("title", "text"):
        f = PROPS[field]
        assert (f["analyzer"], f["search_analyzer"]) == ("marsad_arabic", "marsad_arabic_search")
        assert f["fields"]["exact"]["analyzer"] == "marsad_arabic_exact"
    index, search = ANALYSIS["analyzer"]["marsad_arabic"], ANALYSIS["analyzer"]["marsad_arabic_search"]
    assert [f for f in index["filter"] if f != "marsad_short_proclitic_variant"] == search["filter"]
    assert index["char_filter"] == search["char_filter"] == ANALYSIS["analyzer"]["marsad_arabic_exact"]["char_filter"]
    exact = ANALYSIS["analyzer"]["marsad_arabic_exact"]["filter"]
    assert "arabic_stem" not in exact and not any(f.startswith("marsad_") for f in exact)
