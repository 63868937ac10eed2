"""`marsad search` against the real Elasticsearch: one line per story, filters, JSON, clear errors."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from marsad.cli import app
from marsad.index.es import Es
from marsad.index.templates import apply_templates
from tests.quality.evaluation.search_acceptance import index_documents

pytestmark = pytest.mark.services
runner = CliRunner()

DOCS = [
    {"story_id": "s1", "title": "وصول حاملة طائرات أمريكية", "url": "https://lbc.example/1", "source": "lbc",
     "language": "ar", "published_at": "2026-01-08T11:42:50+00:00", "text": "وصلت حاملة الطائرات إلى المتوسط.",
     "republication_count": 2, "republications": [{"source": "sky", "canonical_url": "https://sky.example/9"},
                                                  {"source": "aggregator", "canonical_url": "https://agg.example/3"}]},
    {"story_id": "s2", "title": "خبر آخر", "url": "https://cnn.example/2", "source": "cnn", "language": "ar",
     "published_at": "2026-01-10T08:00:00+02:00", "text": "قالت البحرية إن حاملات الطائرات تتجه نحو الخليج."},
]


@pytest.fixture
def env(names):
    es = Es(names.es_url)
    apply_templates(names, es)
    index_documents(es, names.stories_alias, DOCS)
    return {"MARSAD_ES_URL": names.es_url, "MARSAD_STORIES_ALIAS": names.stories_alias}


def test_search_prints_one_line_per_story_with_republishers(env):
    res = runner.invoke(app, ["search", "حاملات طائرات"], env=env)
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())  # rich wraps at the terminal width
    assert "2 stories" in out
    assert "+2 republications (aggregator, sky)" in out
    assert res.output.count("https://") == 2


def test_search_json_lines_with_filters_and_date_sort(env):
    res = runner.invoke(app, ["search", "حاملات طائرات", "--json", "--sort", "date"], env=env)
    assert res.exit_code == 0, res.output
    rows = [orjson.loads(line) for line in res.stdout.splitlines()]
    assert [r["story_id"] for r in rows] == ["s2", "s1"]
    assert rows[1]["republishers"] == ["aggregator", "sky"] and rows[1]["republication_count"] == 2
    assert any("\u27e6" in s for s in rows[0]["snippets"])
    res = runner.invoke(app, ["search", "حاملات طائرات", "--json", "--source", "lbc",
                              "--since", "2026-01-08T13:00+02:00", "--until", "2026-01-09"], env=env)
    assert [orjson.loads(line)["story_id"] for line in res.stdout.splitlines()] == ["s1"]


@pytest.mark.parametrize("args, message", [
    (["--since", "08/01/2026"], "--since: '08/01/2026' is not an ISO 8601 date"),
    (["--since", "2026-01-09", "--until", "2026-01-08"], "is not before --until"),
    (["--sort", "score"], "unknown sort 'score'"),
    ([], None),
])
def test_search_refuses_bad_input_with_a_clear_error(env, args, message):
    query = "حاملات طائرات" if message else '""'
    res = runner.invoke(app, ["search", query, *args], env=env)
    assert res.exit_code == 2
    assert (message or "nothing to search for") in " ".join(res.output.split())


def test_search_without_index_says_what_to_do(names):
    env = {"MARSAD_ES_URL": names.es_url, "MARSAD_STORIES_ALIAS": names.stories_alias}
    res = runner.invoke(app, ["search", "غزة"], env=env)
    assert res.exit_code == 1
    assert "marsad templates apply" in " ".join(res.output.split())
