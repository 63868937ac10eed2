"""The story-origin rule is written twice — in Python (:func:`marsad.dedup.stories.replaces_origin`,
:func:`~marsad.dedup.stories.owner_replaces_origin`, the reference, used by the offline clusterer) and in painless
(:data:`marsad.index.stage.ADD_REPUBLICATION`, :data:`~marsad.index.stage.OWNER_UPDATE`, run by Elasticsearch).
One table of cases, with the expected answer written down from the rule (not computed), goes through both: each
case's painless result comes from a real ``_update`` on a scratch index of the shared node."""

from __future__ import annotations

import uuid

import pytest

from marsad.dedup.stories import owner_replaces_origin, replaces_origin, resolve_origin, site_key, site_keys
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


# --- the attribution names a page of the story (resolve_origin / RESOLVE_ORIGIN) ---------------------------------
SABQ = "https://sabq.org/a1"
SABQ_KEYS = ["sabq", "sabq org", "سبق"]  # site_keys("sabq", "https://sabq.org/a1", "سبق")


def _page(url: str = SABQ, at: str | None = "2015-08-03T09:00:00+03:00", title: str = "سبق: الخبر",
          keys: list[str] | None = SABQ_KEYS, source: str = "sabq") -> dict:
    page = {"canonical_url": url, "title": title, "source": source, "published_at": at}
    if keys is not None:
        page["site_keys"] = keys
    return page


def _attr(site: str = "صحيفة سبق", key: str = "سبق") -> dict:
    return {"site": site, "site_key": key, "source": None, "url": None, "title": None, "published_at": None,
            "via": "attribution"}


def _resolved(url: str = SABQ, at: str = "2015-08-03T06:00:00Z", title: str = "سبق: الخبر") -> dict:
    return {**_attr(), "url": url, "title": title, "source": "sabq", "published_at": at}


AGG = {"canonical_url": STORY_URL, "title": "agg", "source": "agg", "published_at": "2015-08-03T10:00:00+00:00",
       "site_keys": ["agg", "agg example"]}
WIRE = {**AGG, "canonical_url": "https://wire.example/w", "source": "wire", "site_keys": ["wire", "wire example"]}

# (label, story document: owner fields + origin + republications, the copy's republication entry and offered origin,
#  origin expected after the write) — expected values written from the rule, not computed
RESOLVE_CASES = [
    ("the named page is the story document when the attribution arrives",
     {**_page(), "origin": _early("2015-08-03T06:00:00Z", SABQ), "republications": []},
     AGG, _attr(), _resolved()),
    ("the named page arrives after the attribution",
     {**AGG, "origin": _attr(), "republications": []},
     _page(), _early("2015-08-03T06:00:00Z", SABQ), _resolved()),
    ("the named page is already a republication when the attribution arrives",
     {**WIRE, "origin": _early("2015-08-03T10:00:00Z", WIRE["canonical_url"]), "republications": [_page()]},
     AGG, _attr(), _resolved()),
    ("no page of the named site: the attribution stays unresolved",
     {**AGG, "origin": _attr(), "republications": []},
     WIRE, _early("2015-08-03T10:00:00Z", WIRE["canonical_url"]), _attr()),
    ("two pages of the named site: the earlier wins",
     {**AGG, "origin": _attr(), "republications": [_page("https://sabq.org/late", "2015-08-03T08:00:00Z")]},
     _page(), None, _resolved()),
    ("two pages of the named site: an earlier one already there stays",
     {**AGG, "origin": _attr(), "republications": [_page("https://sabq.org/early", "2015-08-03T05:00:00Z")]},
     _page(), None, _resolved("https://sabq.org/early", "2015-08-03T05:00:00Z")),
    ("an undated page of the named site gives way to a dated one",
     {**AGG, "origin": _attr(), "republications": [_page("https://sabq.org/undated", None)]},
     _page(), None, _resolved()),
    ("an undated page alone is the origin, undated",
     {**AGG, "origin": _attr(), "republications": []},
     _page(at=None), None, {**_resolved(), "published_at": None}),
    ("same second: the page seen first",
     {**AGG, "origin": _attr(), "republications": [_page("https://sabq.org/first", "2015-08-03T06:00:00.900Z")]},
     _page(), None, _resolved("https://sabq.org/first")),
    ("a republication stored without site keys matches nothing",
     {**AGG, "origin": _attr(), "republications": [_page(keys=None)]},
     WIRE, None, _attr()),
    ("an earliest origin is not touched by a page of the same site",
     {**AGG, "origin": _early("2015-08-03T10:00:00Z", STORY_URL), "republications": []},
     _page(at="2015-08-03T11:00:00Z"), _early("2015-08-03T11:00:00Z", SABQ),
     _early("2015-08-03T10:00:00Z", STORY_URL)),
    ("the key is compared whole, not as a substring",
     {**AGG, "origin": _attr("سبق نيوز", "سبق نيوز"), "republications": []},
     _page(), None, _attr("سبق نيوز", "سبق نيوز")),
]


def _python_copy(doc: dict, rep: dict, offered: dict | None) -> dict | None:
    origin = offered if replaces_origin(doc.get("origin"), offered) else doc.get("origin")
    reps = list(doc["republications"])
    if rep["canonical_url"] != doc["canonical_url"] and all(r["canonical_url"] != rep["canonical_url"] for r in reps):
        reps.append(rep)
    return resolve_origin(origin, [doc, *reps])


@pytest.mark.parametrize("label,doc,rep,offered,expected", RESOLVE_CASES, ids=[c[0] for c in RESOLVE_CASES])
def test_an_attribution_takes_the_named_page_the_same_in_python_and_painless(scratch, label, doc, rep, offered,
                                                                             expected):
    es, index = scratch
    assert _python_copy(doc, rep, offered) == expected, "Python reference"
    doc_id = f"resolve-{[c[0] for c in RESOLVE_CASES].index(label)}"
    es.request("PUT", f"/{index}/_doc/{doc_id}", {**doc, "fetched_at": "2015-08-03T12:00:00Z"})
    es.request("POST", f"/{index}/_update/{doc_id}", {"script": {"source": ADD_REPUBLICATION, "lang": "painless",
                                                                 "params": {"r": rep, "o": offered}}})
    assert es.request("GET", f"/{index}/_doc/{doc_id}")["_source"].get("origin") == expected, \
        "painless ADD_REPUBLICATION"


def test_the_owner_of_the_named_site_resolves_a_stand_ins_attribution_the_same_in_python_and_painless(scratch):
    """The aggregator copy stood in for the story (its owner's write came later): the owner's write is the named
    page, so the attribution the stand-in testified to takes the owner's page."""
    es, index = scratch
    doc = {**AGG, "origin": _attr(), "republications": [AGG], "fetched_at": "2015-08-03T12:00:00Z"}
    owner, offered = _page(), _early("2015-08-03T06:00:00Z", SABQ)
    expected = _resolved()
    origin = offered if owner_replaces_origin(doc["origin"], offered, STORY_URL) else doc["origin"]
    assert resolve_origin(origin, [{**doc, **owner}, *doc["republications"]]) == expected, "Python reference"
    es.request("PUT", f"/{index}/_doc/owner-resolve", doc)
    es.request("POST", f"/{index}/_update/owner-resolve", {"script": {
        "source": OWNER_UPDATE, "lang": "painless", "params": {"doc": owner, "fetched_ms": 0, "o": offered}}})
    assert es.request("GET", f"/{index}/_doc/owner-resolve")["_source"].get("origin") == expected, \
        "painless OWNER_UPDATE"


def test_site_keys_fold_names_and_domains_alike():
    """What the index stage stores: Arabic names normalised, domains without scheme or «www.», lower case."""
    # «.» folds to a space (normalize_for_matching), the same for every page and attribution
    assert site_keys("sabq", "https://www.Sabq.org/", "سبق", None, " ") == ["sabq", "sabq org", "سبق"]
    assert site_key("اليوم السابع") == site_key("اليوم  السابع") == site_key("اليومُ السابع")
