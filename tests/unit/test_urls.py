"""Unit tests of marsad.dedup.urls.canonical_url (the one URL key of the pipeline)."""

from __future__ import annotations

import pytest

from marsad.dedup.urls import canonical_url

SLUG = "الأخبار"  # raw Arabic path segment
SLUG_UPPER = "%D8%A7%D9%84%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1"


def test_scheme_and_host_lower_cased_path_case_kept():
    assert canonical_url("HTTPS://WWW.LBCGroup.TV/News/Item") == "https://lbcgroup.tv/News/Item"  # www dropped (SURT)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # the key's scheme is https for http and https; the default port of the *given* scheme is dropped
        ("http://example.com:80/a", "https://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:8080/a", "https://example.com:8080/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),  # 80 is not https's default
        ("http://example.com:443/a", "https://example.com:443/a"),
    ],
)
def test_default_ports_dropped_only_for_their_scheme(url, expected):
    assert canonical_url(url) == expected


def test_percent_encoding_case_and_raw_arabic_give_one_key():
    lower = SLUG_UPPER.lower()
    keys = {
        canonical_url(f"https://example.com/news/{SLUG_UPPER}/1"),
        canonical_url(f"https://example.com/news/{lower}/1"),
        canonical_url(f"https://example.com/news/{SLUG}/1"),
    }
    assert keys == {f"https://example.com/news/{SLUG_UPPER}/1"}


def test_unreserved_characters_are_decoded():
    assert canonical_url("https://example.com/%7Euser/%41b-c") == "https://example.com/~user/Ab-c"


def test_real_lbc_url_is_stable():
    url = ("https://www.lbcgroup.tv/news/lifestyle/898682/"
           "%D8%B4%D8%B9%D8%B1-%D9%88%D8%B1%D8%AF%D9%8A/ar")
    key = url.replace("https://www.", "https://")  # www is dropped, the Arabic slug's escapes are kept as they are
    assert canonical_url(url) == key
    assert canonical_url(key) == key  # idempotent


@pytest.mark.parametrize("param", ["utm_source=x", "utm_medium=rss", "UTM_Campaign=y", "fbclid=abc", "gclid=1",
                                   "mc_cid=2", "ref=home"])
def test_tracking_parameters_dropped(param):
    assert canonical_url(f"https://example.com/a?id=5&{param}") == "https://example.com/a?id=5"


def test_only_tracking_parameters_leaves_no_query():
    assert canonical_url("https://example.com/a?utm_source=fb&fbclid=Iw") == "https://example.com/a"


def test_fragment_dropped():
    assert canonical_url("https://example.com/a?b=1#comments") == "https://example.com/a?b=1"


def test_query_parameters_sorted():
    assert canonical_url("https://example.com/a?z=1&b=2&a=3") == "https://example.com/a?a=3&b=2&z=1"
    assert canonical_url("https://example.com/a?b=2&a=1") == canonical_url("https://example.com/a?a=1&b=2")


def test_empty_path_becomes_slash():
    assert canonical_url("https://example.com") == "https://example.com/"
    assert canonical_url("https://example.com?x=1") == "https://example.com/?x=1"


def test_surrounding_whitespace_stripped():
    assert canonical_url("  https://example.com/a \n") == "https://example.com/a"


def test_distinct_pages_keep_distinct_keys():
    assert canonical_url("https://example.com/a?id=1") != canonical_url("https://example.com/a?id=2")
    assert canonical_url("https://example.com/news/1") != canonical_url("https://example.com/news/2")


@pytest.mark.parametrize("url", ["/news/1", "news/1", "example.com/news", "", "https://", "mailto:a@b.c"])
def test_relative_or_hostless_url_raises_value_error(url):
    with pytest.raises(ValueError):
        canonical_url(url)


def test_ipv6_host_keeps_brackets():
    assert canonical_url("http://[::1]:8080/a") == "https://[::1]:8080/a"


def test_non_utf8_percent_escapes_do_not_collide():
    assert canonical_url("http://example.com/%C7%E1") != canonical_url("http://example.com/%C8%E1")
    assert canonical_url("http://example.com/a?q=%C7") != canonical_url("http://example.com/a?q=%C8")


@pytest.mark.parametrize("variant", [
    "https://www.youm7.com/story/2020/8/24/x/4943459",
    "https://youm7.com/story/2020/8/24/x/4943459/",
    "https://m.youm7.com/story/2020/8/24/x/4943459",
    "https://www.youm7.com/amp/story/2020/8/24/x/4943459",
    "https://www.youm7.com/story/2020/8/24/x/4943459/amp",
    "https://amp.youm7.com/story/2020/8/24/x/4943459?amp=1",
    "https://www.youm7.com/story/2020/8/24/x/4943459?outputType=amp",
])
def test_mobile_amp_and_trailing_slash_variants_share_one_key(variant):
    assert canonical_url(variant) == "https://youm7.com/story/2020/8/24/x/4943459"


def test_variant_rules_do_not_eat_real_path_parts():
    assert canonical_url("https://example.com/camp/ramp") == "https://example.com/camp/ramp"
    assert canonical_url("https://m.example.com/a") == "https://example.com/a"
    assert canonical_url("https://m.com/a") == "https://m.com/a"  # a two-label host is a site of its own
    assert canonical_url("https://example.com/") == "https://example.com/"
