"""Second line of defence against a generic ``rel=canonical``: two different pages that arrive
with one canonical URL (hence one Kafka key and one story ``_id``) never replace each other's text in the index.

Expectations written before running the code: every page's text is searchable in its own story; an edited
re-fetch of the *same* page still updates its story in place (one story, newer text).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from marsad.messages import Article, utcnow
from marsad.pipeline import index_worker
from marsad.text.arabic import content_hash

from .test_index_worker_failure_modes import produce, stories, text_n

pytestmark = pytest.mark.services

SECTION = "https://site.example/news"  # what a broken CMS puts in every article's rel=canonical


def page(path: str, i: int, *, canonical: str = SECTION, fetched_at=None, text: str | None = None) -> Article:
    body = text or text_n(i)
    return Article(url=f"https://site.example{path}", canonical_url=canonical, source="site", title=f"عنوان {i}",
                   text=body, fetched_at=fetched_at or utcnow(), content_hash=content_hash(body))


def test_pages_sharing_a_section_canonical_keep_their_own_stories(env):
    s, es = env
    a = page("/news/2024/01/15/first-story-here", 1)
    produce(s, [(a.canonical_url.encode(), a.to_json(), None)])
    assert index_worker(s).run(until_idle=True).outcomes["indexed"] == 1
    # a second batch with two more pages under the same canonical: one against the stored story, one in-batch
    b = page("/news/2024/01/15/second-story-here", 2)
    c = page("/news/2024/01/16/third-story-here", 3)
    produce(s, [(x.canonical_url.encode(), x.to_json(), None) for x in (b, c)])
    stats = index_worker(s).run(until_idle=True)
    assert stats.outcomes["indexed"] == 2
    docs = stories(es, s.stories_alias)
    assert sorted(d["text"] for d in docs) == sorted(x.text for x in (a, b, c))
    assert sorted(d["url"] for d in docs) == sorted(x.url for x in (a, b, c))


def test_an_edited_refetch_of_the_same_page_updates_its_story(env):
    s, es = env
    t0 = utcnow() - timedelta(hours=1)
    a = page("/news/2024/01/15/first-story-here", 1, fetched_at=t0)
    edited_text = a.text + " تحديث: ارتفع عدد الضحايا."
    a2 = page("/news/2024/01/15/first-story-here", 1, fetched_at=t0 + timedelta(minutes=30), text=edited_text)
    for x in (a, a2):
        produce(s, [(x.canonical_url.encode(), x.to_json(), None)])
        index_worker(s).run(until_idle=True)
    docs = stories(es, s.stories_alias)
    assert [d["text"] for d in docs] == [edited_text]
