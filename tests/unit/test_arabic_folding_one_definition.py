"""One Arabic folding: the normaliser (content hashes, shingles), the date parser, the boilerplate fold and the
index char filter all fold each character class the same way (src/marsad/text/folding.yaml, marsad.text.fold).

Gold values below are written by hand from the decisions in docs/decisions.md "One Arabic folding", not produced
by the code under test. The check against the real Elasticsearch analyzer is
tests/integration/test_arabic_folding_sweep.py."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from marsad.extract import boilerplate, dates
from marsad.text import fold as F
from marsad.text.arabic import content_hash
from marsad.text.arabic import normalize_for_matching as norm

B = "\u0628"  # carrier letter: no rule touches ب

# (character, what it becomes between two carrier letters) — one line per decided class
LETTER_CLASSES = [
    ("\u064e", ""),        # fatha (tashkeel)
    ("\u0651", ""),        # shadda
    ("\u0670", ""),        # superscript alef
    ("\u0610", ""),        # honorific sign (Mn in the Arabic block)
    ("\u06e5", ""),        # small waw (Quranic annotation)
    ("\u0640", ""),        # tatweel inside a word
    ("\u0623", "\u0627"),  # أ → ا
    ("\u0625", "\u0627"),  # إ → ا
    ("\u0622", "\u0627"),  # آ → ا
    ("\u0671", "\u0627"),  # ٱ → ا
    ("\u0675", "\u0627"),  # ٵ high hamza alef → ا
    ("\u0649", "\u064a"),  # ى → ي
    ("\u0629", "\u0647"),  # ة → ه
    ("\u0626", "\u064a"),  # ئ → ي
    ("\u0624", "\u0648"),  # ؤ → و
    ("\u0621", "\u0621"),  # ء stays
    ("\u06a9", "\u0643"),  # ک keheh → ك
    ("\u06cc", "\u064a"),  # ی Farsi yeh → ي
    ("\u06c1", "\u0647"),  # ہ heh goal → ه
    ("\u06c0", "\u0647"),  # ۀ heh with yeh above → ه
    ("\u06be", "\u0647"),  # ھ heh doachashmee → ه
    ("\u06d5", "\u0647"),  # ە ae → ه
    ("\u06d2", "\u064a"),  # ے yeh barree → ي
    ("\u06a4", "\u0641"),  # ڤ veh → ف
    ("\u067e", "\u067e"),  # پ peh stays (its own letter)
    ("\u06af", "\u06af"),  # گ gaf stays
    ("\u0663", "3"),       # Eastern Arabic three
    ("\u06f3", "3"),       # Persian three
    ("\ufefb", "\u0644\u0627"),  # ﻻ lam-alef ligature
    ("\ufe91", "\u0628"),  # ﺑ beh initial form
    ("\u061c", ""), ("\u200b", ""), ("\u200c", ""), ("\u200d", ""), ("\u200e", ""), ("\u200f", ""),
    ("\u202b", ""), ("\u202e", ""), ("\u2066", ""), ("\u2069", ""), ("\u2060", ""), ("\u2063", ""),
    ("\ufeff", ""), ("\u00ad", ""), ("\u0600", ""), ("\u06dd", ""), ("\U000e0001", ""), ("\U0001d173", ""),
]


def _es_rules() -> dict[str, str]:
    def dec(s: str) -> str:
        return re.sub(r"\\u([0-9A-F]{4})", lambda m: chr(int(m.group(1), 16)), s).encode(
            "utf-16", "surrogatepass").decode("utf-16")

    return dict((dec(k), dec(v)) for k, v in (r.split("=>") for r in F.index_mapping_rules()))


ES_RULES = _es_rules()


# Lucene's ArabicNormalizer (the `arabic_normalization` token filter, after the stop list): alef madda/hamza
# above/below → alef, dotless yeh → yeh, teh marbuta → heh; tatweel and harakat deleted (Lucene 8.7 source)
LUCENE_ARABIC_NORMALIZER = str.maketrans({"\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627",
                                          "\u0649": "\u064a", "\u0629": "\u0647",
                                          **{chr(c): None for c in [0x0640, *range(0x064B, 0x0653)]}})


def _es_char_filter(text: str) -> str:
    """What the index makes of ``text``'s letters: the generated ``marsad_fold`` mapping char filter (every key is
    one character), then Lucene's ``arabic_normalization``."""
    return "".join(ES_RULES.get(c, c) for c in text).translate(LUCENE_ARABIC_NORMALIZER)


def test_persian_keyboard_spelling_has_the_arabic_content_hash():
    assert norm("کتاب علی") == "كتاب علي"
    assert content_hash("کتاب علی") == content_hash("كتاب علي")
    assert norm("ۀ") == norm("ہ") == norm("ه")


@pytest.mark.parametrize(("char", "want"), LETTER_CLASSES, ids=[f"U+{ord(c):04X}" for c, _ in LETTER_CLASSES])
def test_every_consumer_folds_the_class_the_same_way(char, want):
    text = f"{B}{char}{B}"
    expected = f"{B}{want}{B}"
    assert norm(text) == expected, "normalize_for_matching (content hash, shingles)"
    assert dates._normalize(text) == expected, "date parser"
    assert boilerplate.fold(text)[0] == expected, "boilerplate fold"
    assert _es_char_filter(text) == expected, "index char filter marsad_fold + arabic_normalization"


@pytest.mark.parametrize("char", ["\u060c", "\u061b", "\u061f", "\u066b", "\u066c", "\u06d4", "\u06de", "\ufd3e"])
def test_arabic_punctuation_and_symbols_separate_words_when_matching(char):
    assert norm(f"{B}{char}{B}") == f"{B} {B}"
    assert _es_char_filter(f"{B}{char}{B}") == f"{B} {B}"


def test_dates_read_arabic_punctuation_as_ascii():
    assert dates._normalize("١٢،٣٠ ٣٫٥") == "12,30 3.5"


def test_format_characters_are_every_cf_character_of_unicode():
    every_cf = {chr(cp) for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Cf"}
    assert F.FORMAT == every_cf
    for c in every_cf:
        assert norm(f"{B}{c}{B}") == B + B, f"U+{ord(c):04X}"
        assert ES_RULES[c] == ""


def test_decomposed_sequences_fold_like_the_precomposed_letter():
    # أ = ا + U+0654, آ = ا + U+0653, ۀ = ه + U+0654 …: NFKC composes them in Python, the char filter cannot
    composed = [c for c in F.swept_characters() if unicodedata.normalize("NFD", c) != c]
    assert len(composed) >= 8
    for c in composed:
        nfd = unicodedata.normalize("NFD", c)
        assert norm(B + nfd + B) == norm(B + c + B), f"U+{ord(c):04X}"
        assert _es_char_filter(B + nfd + B) == _es_char_filter(B + c + B), f"U+{ord(c):04X}"


def test_the_char_filter_spells_the_python_fold_of_every_swept_character():
    for c in F.swept_characters():
        assert norm(B + _es_char_filter(c) + B) == norm(B + c + B), f"U+{ord(c):04X}"


def test_date_boilerplate_and_consent_wall_tables_are_the_shared_letter_table():
    from marsad.crawl import interstitial

    assert interstitial._AR_FOLD is F.LETTER_TABLE  # consent-wall regexes: letters folded, regex syntax kept
    for cp, r in F.LETTER_TABLE.items():
        assert dates._FOLD[cp] == r
        if cp != 0x0640:  # boilerplate decides tatweel by context: a free-standing run is a dash («واس ـ الرياض»)
            assert boilerplate._TABLE[cp] == r


def test_stop_list_letters_are_left_to_the_token_filter_after_the_stop_list():
    # «على» must reach the `_arabic_` stop list as written (its entries are surface forms)
    for c in "\u0622\u0623\u0625\u0649\u0629":
        assert c not in ES_RULES
        assert norm(c) != c  # … and Python still folds them (the index does it in `arabic_normalization`)
