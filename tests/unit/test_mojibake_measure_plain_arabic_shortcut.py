"""The mojibake measure's shortcuts decide exactly what the full rules decide: a plain Arabic word
(``decode._PLAIN_ARABIC``) is never bad and counts as Arabic when it holds a letter; a non-ASCII run without a
character that windows-1256/1252 encode as a UTF-8 continuation byte (``decode._MAYBE_DISGUISED``) is never UTF-8 in
disguise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from marsad.extract import decode
from marsad.extract.decode import _PLAIN_ARABIC, _WORD, _bad_word, _script, measure

PLAIN_CHARS = [chr(c) for a, b, name in decode._SCRIPTS if name == "arabic" for c in range(a, b + 1)] + \
    [chr(c) for c in range(0x300, 0x370)] + list("0123456789_")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(PLAIN_CHARS), min_size=1, max_size=12))
def test_a_plain_arabic_word_is_never_bad_and_is_arabic(word):
    assert _PLAIN_ARABIC.fullmatch(word)
    assert not _bad_word(word)
    assert all(_script(c) in ("arabic", None) for c in word)


MIXED = PLAIN_CHARS[:300:7] + list("AbçÇáÚÑЗбЪ\ufffd\x85\x9c é«»ط§ظ„Ø§Ù„") + ["\u0345"]


def _reference(text: str) -> tuple[int, int, int]:
    """``measure`` without the shortcuts (the per-character rules and every run tried), as counts."""
    words = bad = arabic = 0
    for w in _WORD.findall(text):
        if w.isascii() or not any(c.isalpha() or c == "\ufffd" or "\x80" <= c <= "\x9f" for c in w):
            continue
        words += 1
        if _bad_word(w):
            bad += 1
        elif all(_script(c) in ("arabic", None) for c in w):
            arabic += 1
    disguised = sum(1 for r in decode._NON_ASCII_RUN.findall(text) if decode._utf8_in_disguise(r))
    if disguised:
        words = max(words, disguised)
        bad = min(words, bad + disguised)
        arabic = max(0, min(arabic, words - bad))
    return words, bad, arabic


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.sampled_from(MIXED), max_size=40))
def test_measure_counts_as_the_full_rules(text):
    m = measure(text)
    assert (m.words, m.bad, m.arabic) == _reference(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(PLAIN_CHARS[:200:3] + list(" .،")), max_size=30))
def test_utf8_read_as_windows_codepages_is_still_caught(text):
    for codepage in ("cp1256", "cp1252"):
        garbled = text.encode("utf-8").decode(codepage, errors="replace")
        m = measure(garbled)
        assert (m.words, m.bad, m.arabic) == _reference(garbled)
