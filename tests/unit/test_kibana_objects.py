"""kibana/saved_objects.ndjson: parses, is what the generator makes, and every field it references exists in the
index template with a type Kibana can use for that purpose (Kibana itself cannot run here)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from marsad import kibana_objects as ko
from marsad.index.templates import TEMPLATES_DIR, load_template
from marsad.search import text_query

OBJECTS = [json.loads(line) for line in ko.OBJECTS_FILE.read_text(encoding="utf-8").splitlines()]
BY_ID = {(o["type"], o["id"]): o for o in OBJECTS}
STORIES = ko.template_fields(load_template("stories")["template"]["mappings"])
AGGREGATABLE = {"keyword", "date", "integer", "long", "float", "double", "boolean"}


def _alert_fields() -> dict[str, dict]:
    """The alerts-sent template's fields when it is in the tree (alerts branch), else the declared ones."""
    if (TEMPLATES_DIR / "alerts-sent.json").exists():
        return ko.template_fields(load_template("alerts-sent")["template"]["mappings"])
    return {n: {"type": t} for n, t in ko.ALERT_FIELDS.items()}


FIELDS_OF = {ko.STORIES_PATTERN: STORIES, ko.ALERTS_PATTERN: _alert_fields()}


def _pattern_of(obj: dict) -> str:
    refs = [r for r in obj["references"] if r["name"] == "kibanaSavedObjectMeta.searchSourceJSON.index"]
    assert len(refs) == 1 and refs[0]["type"] == "index-pattern", obj["id"]
    assert ("index-pattern", refs[0]["id"]) in BY_ID, f"{obj['id']} references a missing index pattern"
    return refs[0]["id"]


def _dsl_fields(node) -> list[str]:
    """Field names used by a Query DSL clause (match_phrase/match/term keys, multi_match fields)."""
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("match_phrase", "match", "term", "terms", "range"):
                out += list(value)
            elif key == "multi_match":
                out += [f.split("^")[0] for f in value["fields"]]
            else:
                out += _dsl_fields(value)
    elif isinstance(node, list):
        for v in node:
            out += _dsl_fields(v)
    return out


def test_file_is_up_to_date_with_the_generator():
    assert ko.OBJECTS_FILE.read_text(encoding="utf-8") == ko.render(ko.objects()), (
        "kibana/saved_objects.ndjson is stale: run `python -m marsad.kibana_objects`")


def test_objects_are_kibana_7_10_saved_objects_with_unique_ids():
    assert Counter(o["type"] for o in OBJECTS) >= Counter({"index-pattern": 2, "search": 2, "visualization": 3,
                                                           "dashboard": 1})
    assert len(BY_ID) == len(OBJECTS)
    for o in OBJECTS:
        assert set(o) >= {"id", "type", "attributes", "references", "migrationVersion"}
        assert o["type"] in {"index-pattern", "search", "visualization", "dashboard"}
        assert o["attributes"]["title"]
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in BY_ID, f"{o['id']}: dangling reference {ref}"
        src = o["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if src is not None:
            json.loads(src)


def test_stories_index_pattern_matches_the_template():
    p = BY_ID[("index-pattern", "marsad-stories")]["attributes"]
    assert p["title"] == "marsad-stories" and p["timeFieldName"] == "published_at"
    assert STORIES["published_at"]["type"] == "date"
    fields = {f["name"]: f for f in json.loads(p["fields"])}
    for name, f in fields.items():
        if name.startswith("_"):
            continue
        assert name in STORIES, f"index pattern field {name} is not in stories.json"
        es_type = STORIES[name]["type"]
        assert f["esTypes"] == [es_type] and f["type"] == ko.KIBANA_TYPES[es_type]
        assert f["aggregatable"] == (es_type in AGGREGATABLE)
    assert set(STORIES) <= set(fields)


def test_alerts_index_pattern_fields_exist_in_the_alerts_template():
    p = BY_ID[("index-pattern", "marsad-alerts")]["attributes"]
    alert = FIELDS_OF[ko.ALERTS_PATTERN]
    assert alert[p["timeFieldName"]]["type"] == "date"
    for f in json.loads(p["fields"]):
        if not f["name"].startswith("_"):
            assert f["esTypes"] == [alert[f["name"]]["type"]], f["name"]


def test_saved_searches_reference_existing_fields_and_share_the_search_semantics():
    for o in (o for o in OBJECTS if o["type"] == "search"):
        fields = FIELDS_OF[_pattern_of(o)]
        a = o["attributes"]
        for col in a["columns"]:
            assert col in fields, f"{o['id']}: column {col} not in the template"
        for field, _order in a["sort"]:
            assert fields[field]["type"] in AGGREGATABLE, f"{o['id']}: cannot sort on {field}"
        src = json.loads(a["kibanaSavedObjectMeta"]["searchSourceJSON"])
        for flt in src["filter"]:
            for field in _dsl_fields(flt["query"]):
                assert field in fields, f"{o['id']}: filter field {field} not in the template"
                assert fields[field]["type"] in ("text", "keyword"), field
            assert json.loads(flt["meta"]["value"]) == flt["query"]


def test_one_saved_search_per_rule_with_exactly_the_alert_query():
    for rule in ko.load_rules():
        o = BY_ID[("search", f"marsad-rule-{rule['name']}")]
        src = json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert src["filter"][0]["query"] == text_query(rule["query"])
        terms = {k: v for f in src["filter"][1:] for k, v in f["query"]["term"].items()}
        assert terms == {k: rule[k] for k in ("source", "language") if k in rule}
    assert any(r["query"] == "حاملات طائرات" for r in ko.load_rules())


def test_visualization_aggregations_use_aggregatable_fields():
    seen = set()
    for o in (o for o in OBJECTS if o["type"] == "visualization"):
        fields = FIELDS_OF[_pattern_of(o)]
        state = json.loads(o["attributes"]["visState"])
        assert state["title"] == o["attributes"]["title"]
        for agg in state["aggs"]:
            field = agg["params"].get("field")
            if field is None:
                assert agg["type"] == "count"
                continue
            assert field in fields, f"{o['id']}: {field} not in the template"
            assert fields[field]["type"] in AGGREGATABLE, f"{o['id']}: {field} is not aggregatable"
            if agg["type"] == "date_histogram":
                assert fields[field]["type"] == "date"
            seen.add(field)
    assert {"published_at", "source", "republications.source", "fired_at", "rule"} <= seen


def test_dashboard_panels_resolve():
    d = BY_ID[("dashboard", "marsad-overview")]
    panels = json.loads(d["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in d["references"]}
    assert len(panels) == 4
    for p in panels:
        ref = refs[p["panelRefName"]]
        assert (ref["type"], ref["id"]) in BY_ID


@pytest.mark.parametrize("bad", [
    {"aggs": [{"type": "terms", "params": {"field": "title"}}]},        # text: not aggregatable
    {"aggs": [{"type": "terms", "params": {"field": "no_such_field"}}]},
])
def test_the_field_check_rejects_bad_references(bad):
    """The checks above can fail: a terms aggregation on a text or unknown field is caught."""
    field = bad["aggs"][0]["params"]["field"]
    assert field not in STORIES or STORIES[field]["type"] not in AGGREGATABLE
