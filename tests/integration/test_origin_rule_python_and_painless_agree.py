"""The story-origin rule is written twice — in Python (:func:`marsad.dedup.stories.replaces_origin`,
:func:`~marsad.dedup.stories.owner_replaces_origin`, the reference, used by the offline clusterer) and in painless
(:data:`marsad.index.stage.ADD_REPUBLICATION`, :data:`~marsad.index.stage.OWNER_UPDATE`, run by Elasticsearch).
One table of cases, with the expected answer written down from the rule (not computed), goes through both: each
case's painless result comes from a real ``_update`` on a scratch index of the shared node."""

from __future__ import annotations

import uuid

import pytest

from marsad.dedup.stories import owner_replaces_origin, replaces_origin
from marsad.index.es import Es
from marsad.index.stage import ADD_REPUBLICATION, OWNER_UPDATE

pytestmark = pytest.mark.services

STORY_URL = "https://agg.example/1"  # the story document's canonical URL (in OWNER_UPDATE: a stand-in copy's)


def _early(at: str | None, url: str = "https://wire.example/a") -> dict:
    return {"site": "wire.example", "source": "wire", "url": url, "title": "t", "published_at": at,
            "via": "earliest"}


def _named(site: str = "hashtagsyria.com", at: str | None = None) -> dict:
    return {"site": site, "source": None, "url": None, "title": None, "published_at": at, "via": "attribution"}


# (label, current origin, origin the copy offers, does it replace?) — the answers are the rule as documented
COPY_CASES = [
    ("no origin yet", None, _early("2015-08-03T10:00:00Z"), True),
    ("nothing offered", _early("2015-08-03T10:00:00Z"), None, False),
    ("nothing offered, no origin", None, None, False),
    ("earlier copy", _early("2015-08-03T10:00:00Z"), _early("2015-08-03T09:59:59Z", "https://b.example/2"), True),
    ("later copy", _early("2015-08-03T09:00:00Z"), _early("2015-08-03T10:00:00Z", "https://b.example/2"), False),
    ("same second: first stays", _early("2015-08-03T10:00:00Z"), _early("2015-08-03T10:00:00Z", "https://b.example/2"),
     False),
    ("undated copy never beats a date", _early("2015-08-03T10:00:00Z"), _early(None, "https://b.example/2"), False),
    ("dated copy beats an undated origin", _early(None), _early("2015-08-03T10:00:00Z", "https://b.example/2"), True),
    ("both undated", _early(None), _early(None, "https://b.example/2"), False),
    ("attribution beats any date", _early("2015-08-03T10:00:00Z"), _named(), True),
    ("attribution with a later day still wins", _early("2015-08-03T10:00:00Z"), _named(at="2015-08-04"), True),
    ("first attribution stays", _named(), _named("other.example"), False),
    ("attribution stays against an earlier copy", _named(at="2015-08-04"), _early("2015-08-01T00:00:00Z"), False),
    ("a day sorts before that day's times", _early("2015-08-03T10:00:00Z"), {**_early("2015-08-03"), "url": "x"},
     True),
    ("next year is later", _early("2015-12-31T23:59:59Z"), _early("2016-01-01T00:00:00Z", "https://b.example/2"),
     False),
]

OWNER_CASES = [
    ("no origin yet", None, _early("2015-08-03T10:00:00Z", "https://owner.example/1"), True),
    ("nothing offered", _early("2015-08-03T10:00:00Z", STORY_URL), None, False),
    ("stand-in later than the owner", _early("2015-08-03T10:00:00Z", STORY_URL),
     _early("2015-08-03T09:00:00Z", "https://owner.example/1"), True),
    ("stand-in published earlier stays", _early("2015-08-03T09:00:00Z", STORY_URL),
     _early("2015-08-03T10:00:00Z", "https://owner.example/1"), False),
    ("same second: the owner", _early("2015-08-03T10:00:00Z", STORY_URL),
     _early("2015-08-03T10:00:00Z", "https://owner.example/1"), True),
    ("stand-in undated", _early(None, STORY_URL), _early("2015-08-03T10:00:00Z", "https://owner.example/1"), True),
    ("owner undated", _early("2015-08-03T10:00:00Z", STORY_URL), _early(None, "https://owner.example/1"), True),
    ("attribution stays", _named(), _early("2015-08-03T10:00:00Z", "https://owner.example/1"), False),
    ("a third copy's earlier origin stays", _early("2015-08-03T11:00:00Z", "https://third.example/3"),
     _early("2015-08-03T10:00:00Z", "https://owner.example/1"), False),
]


@pytest.fixture(scope="module")
def scratch(services):
    """A scratch index with a unique name and no mapping of its own (``dynamic: false``: sources kept as written)."""
    es = Es(services.es_url)
    index = f"t{uuid.uuid4().hex[:10]}-origin-rule"
    es.request("PUT", f"/{index}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                    "mappings": {"dynamic": False}})
    yield es, index
    es.request("DELETE", f"/{index}", ok=(404,))


def _painless(es: Es, index: str, doc_id: str, current: dict | None, script: str, params: dict) -> dict | None:
    doc = {"canonical_url": STORY_URL, "fetched_at": "2015-08-03T12:00:00Z", "republications": []}
    if current is not None:
        doc["origin"] = current
    es.request("PUT", f"/{index}/_doc/{doc_id}", doc)
    es.request("POST", f"/{index}/_update/{doc_id}", {"script": {"source": script, "lang": "painless",
                                                                 "params": params}})
    return es.request("GET", f"/{index}/_doc/{doc_id}")["_source"].get("origin")


@pytest.mark.parametrize("label,current,offered,expected", COPY_CASES, ids=[c[0] for c in COPY_CASES])
def test_a_copy_moves_the_origin_the_same_in_python_and_painless(scratch, label, current, offered, expected):
    es, index = scratch
    assert replaces_origin(current, offered) is expected, "Python reference"
    stored = _painless(es, index, f"copy-{COPY_CASES.index((label, current, offered, expected))}", current,
                       ADD_REPUBLICATION, {"r": {"canonical_url": "https://copy.example/9"}, "o": offered})
    assert stored == (offered if expected else current), "painless ADD_REPUBLICATION"


@pytest.mark.parametrize("label,current,offered,expected", OWNER_CASES, ids=[c[0] for c in OWNER_CASES])
def test_the_owner_replaces_a_stand_in_origin_the_same_in_python_and_painless(scratch, label, current, offered,
                                                                               expected):
    es, index = scratch
    assert owner_replaces_origin(current, offered, STORY_URL) is expected, "Python reference"
    stored = _painless(es, index, f"owner-{OWNER_CASES.index((label, current, offered, expected))}", current,
                       OWNER_UPDATE, {"doc": {"canonical_url": "https://owner.example/1"}, "fetched_ms": 0,
                                      "o": offered})
    assert stored == (offered if expected else current), "painless OWNER_UPDATE"
