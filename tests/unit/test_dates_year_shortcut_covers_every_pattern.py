"""The absolute-date scans are skipped on texts without four consecutive digits (``parse._YEAR_DIGITS``, a speed
shortcut of the extract stage). That is exact only while every absolute date pattern writes its year as exactly four
digits; a pattern added with a two-digit year («3/8/15») must fail here rather than be silently skipped."""

import re

import pytest

from marsad.extract.dates import parse

try:
    from re import _parser as sre_parse  # Python ≥ 3.11
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

PATTERNS = ["_ISO", "_YMD", "_DMY", "_DMY_TEXT", "_MDY_TEXT", "_HIJRI"]


def _group(tree, index):
    for op, av in tree:
        if op is sre_parse.SUBPATTERN and av[0] == index:
            return av[3]
        for sub in (av if isinstance(av, (list, tuple)) else [av]):
            for cand in (sub if isinstance(sub, (list, tuple)) else [sub]):
                if isinstance(cand, sre_parse.SubPattern) and (found := _group(cand, index)) is not None:
                    return found
    return None


@pytest.mark.parametrize("name", PATTERNS)
def test_year_group_is_four_digits(name):
    rx: re.Pattern[str] = getattr(parse, name)
    year = _group(sre_parse.parse(rx.pattern), rx.groupindex["y"])
    assert year is not None, f"{name} has no year group"
    assert year.getwidth() == (4, 4), f"{name}: the year is not exactly four characters"


@pytest.mark.parametrize("text", ["نشر في 3 أغسطس 2015 الساعة 10:30", "2015-08-03T10:30:00+03:00", "03/08/2015",
                                  "1 رمضان 1445 هـ", "August 3, 2015"])
def test_texts_with_a_year_still_parse(text):
    s = parse._normalize(text)
    assert list(parse._gregorian_matches(s)) or list(parse._hijri_matches(s))


def test_texts_without_four_digits_have_no_absolute_date():
    s = parse._normalize("3 أغسطس 15، الساعة 10:30")
    assert not list(parse._gregorian_matches(s)) and not list(parse._hijri_matches(s))
