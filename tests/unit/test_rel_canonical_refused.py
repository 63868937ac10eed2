"""A page's ``<link rel="canonical">`` is the Kafka key and the story ``_id`` only when it names *this* article.

Sites that point every article's canonical at a section, a category, a tag or the home page would otherwise give
two different articles one key: one story would silently replace the other. Expected keys were
written down from the URLs, before running the code.
"""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from marsad.dedup.urls import canonical_url
from marsad.extract.stage import sane_rel_canonical

ARTICLE = "https://www.example-news.com/news/2024/01/15/قصف-على-غزة-يوقع-ضحايا"


def tree_with(canonical: str):
    return lxml_html.fromstring(f'<html><head><link rel="canonical" href="{canonical}"></head><body></body></html>')


@pytest.mark.parametrize("canonical", [
    "https://www.example-news.com/news/",            # the section the article sits in (path ancestor)
    "https://www.example-news.com/news",             # same, no slash
    "/news/",                                       # relative form
    "https://www.example-news.com/news/2024/01/15",  # the day's listing (ancestor, digits only)
    "https://www.example-news.com/category/politics",  # a category page, not an ancestor
    "https://www.example-news.com/tag/غزة",          # a tag page
    "https://www.example-news.com/ar/",              # a language root
    "https://www.example-news.com/news?page=2",      # a paginated listing
    "https://www.example-news.com/",                 # the home page
])
def test_section_and_listing_canonicals_are_refused(canonical):
    assert sane_rel_canonical(tree_with(canonical), ARTICLE) is None


@pytest.mark.parametrize(("page", "canonical", "expected"), [
    # the short id form of the same article: an ancestor, but itself an article URL (5+ digit id)
    ("https://site.example/article/4081716/قصف-على-غزة", "https://site.example/article/4081716",
     "https://site.example/article/4081716"),
    # AMP page naming its desktop article
    ("https://site.example/amp/news/2024/01/15/story-of-the-day", "https://site.example/news/2024/01/15/story-of-the-day",
     "https://site.example/news/2024/01/15/story-of-the-day"),
    # a shortened fetched URL whose canonical adds the slug (LBC does this)
    ("https://www.lbcgroup.tv/news/lifestyle/898682/ar", "https://www.lbcgroup.tv/news/lifestyle/898682/slug-of-story/ar",
     "https://lbcgroup.tv/news/lifestyle/898682/slug-of-story/ar"),
    # the page itself
    (ARTICLE, ARTICLE, canonical_url(ARTICLE)),
])
def test_article_canonicals_are_kept(page, canonical, expected):
    assert sane_rel_canonical(tree_with(canonical), page) == expected


def test_canonical_on_another_site_is_refused():
    assert sane_rel_canonical(tree_with("https://other.example/news/2024/01/15/قصف-على-غزة"), ARTICLE) is None


@pytest.mark.parametrize(("a", "b"), [
    ("http://example.com/news/1234567", "https://example.com/news/1234567"),
    ("http://www.example.com/a/b-c-d", "https://example.com/a/b-c-d"),
    ("HTTP://Example.com:80/x-y-z", "https://example.com:443/x-y-z"),
])
def test_http_and_https_variants_of_one_url_are_one_key(a, b):
    assert canonical_url(a) == canonical_url(b)


@pytest.mark.parametrize(("page", "canonical"), [
    # a section whose slug has three words looks like an article slug, but it is the page's path ancestor
    ("https://site.example/world-news-today/9876543-some-story", "https://site.example/world-news-today"),
    ("https://site.example/world-news-today/9876543-some-story", "https://site.example/world-news-today/"),
    ("https://www.example-news.com/شؤون-عربية-ودولية/2024/01/15/قصف-على-غزة",
     "https://www.example-news.com/شؤون-عربية-ودولية/"),
])
def test_section_ancestors_named_by_words_are_refused(page, canonical):
    assert sane_rel_canonical(tree_with(canonical), page) is None


@pytest.mark.parametrize("canonical", [
    "https://www.example-news.com/section.aspx?id=123456",      # ASP.NET section page with a numeric id
    "https://www.example-news.com/Section.aspx?SectionID=1234567",
    "https://www.example-news.com/category.php?id=12345",       # PHP category page
])
def test_section_script_pages_with_an_id_query_are_refused(canonical):
    assert sane_rel_canonical(tree_with(canonical), ARTICLE) is None


def test_a_wordpress_post_on_the_home_path_keeps_its_own_canonical():
    page = "https://site.example/?p=551876"
    assert sane_rel_canonical(tree_with(page), page) == "https://site.example/?p=551876"


@pytest.mark.parametrize(("a", "b"), [
    ("https://مثال.إختبار/news/1234567", "https://xn--mgbh0fb.xn--kgbechtv/news/1234567"),  # Unicode vs punycode host
    ("https://www.مثال.إختبار/news/1234567", "http://xn--mgbh0fb.xn--kgbechtv/news/1234567"),
    ("https://example.com./news/1234567", "https://example.com/news/1234567"),               # trailing root dot
])
def test_host_spellings_of_one_site_are_one_key(a, b):
    assert canonical_url(a) == canonical_url(b)
