"""Kibana 7.10 saved objects for Marsad, generated into ``kibana/saved_objects.ndjson``.

``python -m marsad.kibana_objects`` rewrites the file; ``tests/unit/test_kibana_objects.py`` fails when the file is
stale or when an object references a field the index templates do not have (Kibana cannot run here: checking
every referenced field against ``marsad/index/schema/*.json`` is the check we can make). docker-compose's
``kibana-setup`` service imports the file (``docker/kibana_import.py``) once Kibana answers.

Objects (saved-object types of Kibana 7.10.2, the version of the Elasticsearch we run):

* ``index-pattern`` ``marsad-stories`` on the stories alias, time field ``published_at``; its ``fields`` list is
  derived from ``marsad/index/schema/stories.json`` so Discover works before any refresh;
* ``index-pattern`` ``marsad-alerts`` on ``marsad-alerts*`` (the alerts-sent index of the alerts consumer), time
  field ``fired_at``;
* one ``search`` per alert rule: the stories filtered by exactly :func:`marsad.search.text_query` of the rule's
  query (a custom Query DSL filter, so Kibana, ``marsad search`` and the percolator agree), plus the rule's
  source/language filters; rules from ``marsad/alerts/rules.yaml`` when the file exists, else :data:`EXAMPLE_RULES`;
* ``visualization``: stories over time by source (date histogram × terms ``source``), top republishers (terms on
  ``republications.source``), alert hits over time by rule (on ``marsad-alerts``);
* ``dashboard`` ``marsad-overview`` with those panels and the alert-hits saved search.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from marsad.search import text_query
from marsad.settings import REPO_ROOT

KIBANA_DIR = REPO_ROOT / "kibana"
OBJECTS_FILE = KIBANA_DIR / "saved_objects.ndjson"
RULES_FILE = Path(__file__).resolve().parent / "alerts" / "rules.yaml"
KIBANA_VERSION = "7.10.2"

STORIES_PATTERN = "marsad-stories"
ALERTS_PATTERN = "marsad-alerts"
ALERTS_TITLE = "marsad-alerts*"
"""Matches the alerts consumer's ``marsad-alerts-sent`` alias/indices (and a plain ``marsad-alerts``)."""

EXAMPLE_RULES: list[dict[str, str]] = [
    {"name": "carriers", "query": "حاملات طائرات"},
    {"name": "pezeshkian", "query": "بزشكيان"},
    {"name": "netanyahu-in-lbc", "query": "نتنياهو", "source": "lbcgroup"},
    {"name": "groundwater", "query": "الخزانات الجوفية", "language": "ar"},
]
"""The example rules of ``marsad/alerts/rules.yaml`` (alerts branch), used while that file is absent."""

ALERT_FIELDS: dict[str, str] = {
    "alert_id": "keyword", "rule": "keyword", "story_id": "keyword", "url": "keyword", "title": "text",
    "source": "keyword", "published_at": "date", "fired_at": "date",
}
"""Fields of an alert-hit document (``marsad/index/schema/alerts-sent.json`` on the alerts branch)."""

KIBANA_TYPES = {"keyword": "string", "text": "string", "date": "date", "integer": "number", "long": "number",
                "float": "number", "double": "number", "boolean": "boolean"}
"""Elasticsearch field type → Kibana field type (Kibana ``KBN_FIELD_TYPES``)."""

META_FIELDS = [
    {"name": name, "type": ktype, "esTypes": [name], "count": 0, "scripted": False, "searchable": searchable,
     "aggregatable": agg, "readFromDocValues": False}
    for name, ktype, searchable, agg in (("_id", "string", True, True), ("_index", "string", True, True),
                                         ("_score", "number", False, False), ("_source", "_source", False, False),
                                         ("_type", "string", True, True))
]
"""Kibana's own entries for the metadata fields (as ``GET /api/index_patterns/_fields_for_wildcard`` lists them)."""


def template_fields(mappings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Flatten a mapping: ``{"title.exact": {"type": "text", ...}, "republications.source": {...}}``.

    Objects are walked (``object`` has no type of its own); ``enabled: false`` objects have no fields.
    """
    out: dict[str, dict[str, Any]] = {}

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            path = f"{prefix}{name}"
            if spec.get("enabled") is False:
                continue
            if "properties" in spec:
                walk(spec["properties"], path + ".")
                continue
            out[path] = spec
            for sub, subspec in (spec.get("fields") or {}).items():
                out[f"{path}.{sub}"] = subspec

    walk(mappings.get("properties", {}), "")
    return out


def kibana_field(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A Kibana 7.10 index-pattern field entry for an Elasticsearch mapping entry."""
    es_type = spec["type"]
    doc_values = es_type != "text" and spec.get("doc_values", True)
    return {"name": name, "type": KIBANA_TYPES[es_type], "esTypes": [es_type], "count": 0, "scripted": False,
            "searchable": spec.get("index", True) is not False, "aggregatable": bool(doc_values),
            "readFromDocValues": bool(doc_values)}


def _index_pattern(pid: str, title: str, time_field: str, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    entries = META_FIELDS + [kibana_field(n, s) for n, s in sorted(fields.items())]
    return {"id": pid, "type": "index-pattern", "attributes": {
        "title": title, "timeFieldName": time_field, "fields": json.dumps(entries, ensure_ascii=False)},
        "references": [], "migrationVersion": {"index-pattern": "7.6.0"}}


def _search_source(index_ref: bool = True, filters: list[dict[str, Any]] | None = None) -> str:
    src: dict[str, Any] = {"query": {"query": "", "language": "kuery"}, "filter": filters or [],
                           "highlightAll": True, "version": True}
    if index_ref:
        src["indexRefName"] = "kibanaSavedObjectMeta.searchSourceJSON.index"
    return json.dumps(src, ensure_ascii=False)


def _filter(n: int, alias: str, dsl: dict[str, Any]) -> dict[str, Any]:
    return {"meta": {"alias": alias, "negate": False, "disabled": False, "type": "custom", "key": "query",
                     "value": json.dumps(dsl, ensure_ascii=False),
                     "indexRefName": f"kibanaSavedObjectMeta.searchSourceJSON.filter[{n}].meta.index"},
            "query": dsl, "$state": {"store": "appState"}}


def rule_search(rule: dict[str, str]) -> dict[str, Any]:
    """The saved search of one alert rule: the stories its query (and filters) find, newest first."""
    filters = [_filter(0, f"rule {rule['name']}: «{rule['query']}»", text_query(rule["query"]))]
    for key in ("source", "language"):
        if rule.get(key):
            filters.append(_filter(len(filters), f"{key}: {rule[key]}", {"term": {key: rule[key]}}))
    refs = [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": STORIES_PATTERN}]
    refs += [{"name": f"kibanaSavedObjectMeta.searchSourceJSON.filter[{i}].meta.index", "type": "index-pattern",
              "id": STORIES_PATTERN} for i in range(len(filters))]
    return {"id": f"marsad-rule-{rule['name']}", "type": "search", "attributes": {
        "title": f"Alert rule {rule['name']}: «{rule['query']}»",
        "description": "Stories matched by the rule's query with the same Arabic semantics as `marsad search` "
                       "and the percolator (marsad.search.text_query).",
        "hits": 0, "columns": ["title", "source", "republication_count", "url"],
        "sort": [["published_at", "desc"]], "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(filters=filters)}},
        "references": refs, "migrationVersion": {"search": "7.9.3"}}


def _vis(vid: str, title: str, vis_type: str, params: dict[str, Any], aggs: list[dict[str, Any]],
         pattern: str) -> dict[str, Any]:
    state = {"title": title, "type": vis_type, "params": params, "aggs": aggs}
    return {"id": vid, "type": "visualization", "attributes": {
        "title": title, "visState": json.dumps(state, ensure_ascii=False), "uiStateJSON": "{}", "description": "",
        "version": 1, "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source()}},
        "references": [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern",
                        "id": pattern}],
        "migrationVersion": {"visualization": "7.10.0"}}


def _count() -> dict[str, Any]:
    return {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}}


def _date_histogram(field: str) -> dict[str, Any]:
    return {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment",
            "params": {"field": field, "useNormalizedEsInterval": True, "interval": "auto", "drop_partials": False,
                       "min_doc_count": 1, "extended_bounds": {}}}


def _terms(aid: str, field: str, schema: str, size: int) -> dict[str, Any]:
    return {"id": aid, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": field, "orderBy": "1", "order": "desc", "size": size, "otherBucket": True,
                       "otherBucketLabel": "Other", "missingBucket": False, "missingBucketLabel": "Missing"}}


def _histogram_params(label: str) -> dict[str, Any]:
    """Params of a stacked vertical bar chart (Kibana 7.10 ``histogram`` defaults)."""
    return {
        "type": "histogram", "grid": {"categoryLines": False}, "addTooltip": True, "addLegend": True,
        "legendPosition": "right", "times": [], "addTimeMarker": False, "labels": {"show": False},
        "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True,
                          "style": {}, "scale": {"type": "linear"}, "labels": {"show": True, "filter": True,
                                                                               "truncate": 100}, "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True,
                       "style": {}, "scale": {"type": "linear", "mode": "normal"},
                       "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                       "title": {"text": label}}],
        "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked", "data": {"label": label, "id": "1"},
                          "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": True, "lineWidth": 2,
                          "showCircles": True}],
    }


TABLE_PARAMS = {"perPage": 20, "showPartialRows": False, "showMetricsAtAllLevels": False,
                "sort": {"columnIndex": None, "direction": None}, "showTotal": False, "totalFunc": "sum",
                "percentageCol": ""}


def objects(rules: list[dict[str, str]] | None = None, stories_template: dict[str, Any] | None = None
            ) -> list[dict[str, Any]]:
    """All saved objects, in import order (index patterns before what references them)."""
    from marsad.index.templates import load_template

    rules = rules if rules is not None else load_rules()
    stories = stories_template or load_template("stories")
    fields = template_fields(stories["template"]["mappings"])
    alert_fields = {n: {"type": t} for n, t in ALERT_FIELDS.items()}
    out = [
        _index_pattern(STORIES_PATTERN, STORIES_PATTERN, "published_at", fields),
        _index_pattern(ALERTS_PATTERN, ALERTS_TITLE, "fired_at", alert_fields),
    ]
    out += [rule_search(r) for r in rules]
    out.append({"id": "marsad-alert-hits", "type": "search", "attributes": {
        "title": "Alert hits", "description": "One row per story and rule that fired (alerts-sent index).",
        "hits": 0, "columns": ["rule", "title", "source", "url"], "sort": [["fired_at", "desc"]], "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source()}},
        "references": [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern",
                        "id": ALERTS_PATTERN}], "migrationVersion": {"search": "7.9.3"}})
    out += [
        _vis("marsad-stories-over-time", "Stories over time by source", "histogram", _histogram_params("Stories"),
             [_count(), _date_histogram("published_at"), _terms("3", "source", "group", 10)], STORIES_PATTERN),
        _vis("marsad-top-republishers", "Top republishers", "table", TABLE_PARAMS,
             [_count(), _terms("2", "republications.source", "bucket", 20)], STORIES_PATTERN),
        _vis("marsad-alert-hits-over-time", "Alert hits over time by rule", "histogram",
             _histogram_params("Alert hits"),
             [_count(), _date_histogram("fired_at"), _terms("3", "rule", "group", 10)], ALERTS_PATTERN),
    ]
    panels = [("marsad-stories-over-time", "visualization", 0, 0, 48, 15),
              ("marsad-top-republishers", "visualization", 0, 15, 24, 15),
              ("marsad-alert-hits-over-time", "visualization", 24, 15, 24, 15),
              ("marsad-alert-hits", "search", 0, 30, 48, 15)]
    panels_json = [{"version": KIBANA_VERSION, "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(i + 1)},
                    "panelIndex": str(i + 1), "embeddableConfig": {}, "panelRefName": f"panel_{i}"}
                   for i, (_, _, x, y, w, h) in enumerate(panels)]
    out.append({"id": "marsad-overview", "type": "dashboard", "attributes": {
        "title": "Marsad overview", "description": "Stories over time by source, top republishers, alert hits.",
        "hits": 0, "panelsJSON": json.dumps(panels_json), "optionsJSON": '{"hidePanelTitles":false,"useMargins":true}',
        "version": 1, "timeRestore": True, "timeFrom": "now-7d", "timeTo": "now",
        "refreshInterval": {"pause": True, "value": 0},
        "kibanaSavedObjectMeta": {"searchSourceJSON": '{"query":{"query":"","language":"kuery"},"filter":[]}'}},
        "references": [{"name": f"panel_{i}", "type": t, "id": pid} for i, (pid, t, *_) in enumerate(panels)],
        "migrationVersion": {"dashboard": "7.9.3"}})
    return out


def load_rules(path: Path = RULES_FILE) -> list[dict[str, str]]:
    """Rules ``[{name, query, source?, language?}]`` from the alerts YAML (``rules:`` list), else the examples."""
    if not path.exists():
        return EXAMPLE_RULES
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [{k: str(r[k]) for k in ("name", "query", "source", "language") if r.get(k)}
            for r in data.get("rules") or []]


def render(objs: list[dict[str, Any]]) -> str:
    """NDJSON: one object per line, keys in a stable order, Arabic kept readable."""
    return "".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in objs)


def write(path: Path = OBJECTS_FILE) -> bool:
    """Regenerate ``path``; True when its content changed."""
    text = render(objects())
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OBJECTS_FILE
    print(f"{target}: {'rewritten' if write(target) else 'up to date'}")
