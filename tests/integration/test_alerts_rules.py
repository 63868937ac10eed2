"""Alert rules against the real Elasticsearch: the CLI, the Arabic semantics of a stored rule, schema migration of
the rules index, and no second alert for a story folded by the index stage's race repair."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from marsad.alerts.events import AlertEvent, alert_id
from marsad.alerts.rules import RuleStore, make_rule, match_text
from marsad.cli import app
from marsad.dedup.urls import canonical_url
from marsad.index.es import Es, doc_id
from marsad.index.stage import IndexStage
from marsad.index.templates import apply_templates, load_template
from marsad.kafka.clients import ensure_topics
from marsad.kafka.worker import Record
from marsad.messages import Article, utcnow
from marsad.settings import to_env
from marsad.text.arabic import content_hash

from .helpers import read_to_end

pytestmark = pytest.mark.services

Q = "حاملات طائرات"
SEED_LINE = ("تجدر الإشارة إلى أن التهديدات الأمريكية المتزايدة ضد إيران كانت قد دفعت القوات العسكرية الإيرانية إلى حالة "  # noqa: E501 - test data on one line
             "تأهب قصوى، وسط تقارير تفيد بتوجه حاملات طائرات ومدمرات أمريكية من بحر الصين نحو منطقة الشرق الأوسط.")


@pytest.fixture
def rules_env(names, monkeypatch):
    es = Es(names.es_url)
    apply_templates(names, es)
    for k, v in to_env(names).items():
        monkeypatch.setenv(k, v)
    return names, es


def _cli(*args: str):
    res = CliRunner().invoke(app, ["alerts", *args])
    return res.exit_code, " ".join(res.output.split())


def test_cli_add_list_test_remove_load(rules_env, tmp_path):
    settings, es = rules_env
    assert _cli("add", "carriers", Q, "--source", "aggregator")[0] == 0
    code, out = _cli("add", "carriers", "شيء آخر")
    assert code == 2 and "exists with another definition" in out
    assert _cli("add", "carriers", Q, "--source", "aggregator") == (0, f"unchanged: carriers «{Q}» source=aggregator")
    code, out = _cli("list", "--json")
    assert code == 0 and orjson.loads(out) == {"name": "carriers", "query": Q, "source": "aggregator",
                                                "language": None, "webhook": None}
    # a stored rule tried on a text: the source filter applies
    code, out = _cli("test", "carriers", "--text", SEED_LINE, "--source", "aggregator")
    assert code == 0 and "match:" in out and "حاملات" in out
    assert _cli("test", "carriers", "--text", SEED_LINE, "--source", "elsewhere")[0] == 1
    # an ad-hoc query (no stored rule of that name) runs in a scratch index that is removed afterwards
    code, out = _cli("test", "حاملة الطائرات", "--text", "أبحرت حاملات طائرات نحو الخليج")
    assert code == 0 and "ad-hoc query" in out
    assert not [i for i in es.request("GET", f"/{settings.alert_rules_alias}-test-*") if i]
    # against stored stories: none yet
    assert _cli("test", "carriers")[0] == 1

    f = tmp_path / "rules.yaml"
    f.write_text(f"rules:\n  - name: carriers\n    query: {Q}\n  - name: pezeshkian\n    query: بزشكيان\n",
                 encoding="utf-8")
    code, out = _cli("load", str(f))
    assert code == 0 and "created: 1, updated: 1, unchanged: 0, removed: 0" in out
    assert _cli("load", str(f))[1].startswith("created: 0, updated: 0, unchanged: 2")
    assert _cli("add", "extra", "نتنياهو")[0] == 0
    assert "removed: 1" in _cli("load", str(f), "--prune")[1]
    assert [r.name for r in RuleStore(settings, es).list()] == ["carriers", "pezeshkian"]
    assert _cli("remove", "pezeshkian")[0] == 0
    code, out = _cli("remove", "pezeshkian")
    assert code == 2 and "no rule named 'pezeshkian'" in out


@pytest.mark.parametrize("text, hit", [
    (SEED_LINE, True),
    ("شوهدت حاملة طائرات فرنسية في المتوسط", True),
    ("رست حاملات الطائرات في الميناء", True),
    ("وصلت طائرات الشحن إلى المطار", False),  # one word only: all words are required
])
def test_stored_rule_has_search_semantics(rules_env, text, hit):
    settings, es = rules_env
    rule = make_rule(name="carriers", query=Q)
    RuleStore(settings, es).put(rule)
    assert (match_text(settings, es, rule, text, stored=True) is not None) is hit


def test_analysis_change_moves_rules_to_a_new_index_version(rules_env):
    settings, es = rules_env
    store = RuleStore(settings, es)
    store.put(make_rule(name="carriers", query=Q))
    again = apply_templates(settings, es)
    assert again[f"alias {settings.alert_rules_alias}"] == "exists"
    # the stories template gains a char filter mapping (as the search engineer's analyzer work would)
    real = load_template

    def changed(name, *a, **kw):
        t = real(name, *a, **kw)
        if name == "stories":
            t["template"]["settings"]["analysis"]["char_filter"]["marsad_strip_format"]["mappings"].append(
                "\\u00B7=>")  # a character marsad_strip_format does not map yet (it holds all of Cf)
        return t

    import marsad.index.templates as templates_mod

    orig = templates_mod.load_template
    templates_mod.load_template = changed
    try:
        stories = changed("stories")
        done = templates_mod.apply_alert_indices(settings, es, stories)
    finally:
        templates_mod.load_template = orig
    key = f"index {settings.alert_rules_alias}-v2"
    assert key in done and "1 rules moved" in done[key]
    assert list(es.request("GET", f"/_alias/{settings.alert_rules_alias}")) == [f"{settings.alert_rules_alias}-v2"]
    assert [r.name for r in store.list()] == ["carriers"]
    assert match_text(settings, es, make_rule(name="carriers", query=Q), SEED_LINE, stored=True) is not None


def _record(a: Article, offset: int) -> Record:
    return Record("articles", 0, offset, a.canonical_url.encode(), a.to_json())


def _article(url: str, text: str) -> Article:
    return Article(url=url, canonical_url=canonical_url(url), source="test", title="عنوان", text=text,
                   fetched_at=utcnow(), content_hash=content_hash(text), language="ar")


def test_story_folded_by_race_repair_does_not_alert_twice(rules_env, corpus):
    """Two consumers create near-duplicate stories at once; the one with the larger id folds itself into the other
    after its write (``IndexStage._repair``) and must not alert: one alert for the one story."""
    settings, es = rules_env
    ensure_topics(settings)
    RuleStore(settings, es).put(make_rule(name="carriers", query=Q))
    paras = [x.strip() for x in (corpus / "seed" / "republished-story.txt").read_text(encoding="utf-8").splitlines()
             if x.strip()][3:-4]
    full, short = "\n".join(paras), "\n".join(paras[:-1] + [paras[-1] + " وأضاف المصدر تفاصيل أخرى."])
    urls = sorted((f"http://site{n}.example/news/1" for n in range(2)), key=lambda u: doc_id(canonical_url(u)))
    small, big = _article(urls[0], full), _article(urls[1], short)  # doc_id(small) < doc_id(big)

    IndexStage(settings, es).process_batch([_record(small, 0)])  # consumer A: its story, its alert
    racer = IndexStage(settings, es)
    real = racer._candidates_many
    calls = []

    def blind_first(queries):  # consumer B did not see A's story when planning (the race), sees it at repair
        calls.append(queries)
        return [[] for _ in queries] if len(calls) == 1 else real(queries)

    racer._candidates_many = blind_first
    [out] = racer.process_batch([_record(big, 1)])
    assert out.label == "duplicate" and len(calls) == 2  # folded by _repair
    events = [AlertEvent.from_json(v) for v in read_to_end(settings, settings.alerts_topic)]
    assert [(e.rule, e.story_id) for e in events] == [("carriers", doc_id(small.canonical_url))]
    # the folded article is marked as a copy of the alerted story: a replay in which it owns the story stays silent
    es.request("POST", f"/{settings.alerts_sent_index}/_refresh")
    marks = es.request("POST", f"/{settings.alerts_sent_index}/_search", {"query": {"term": {"kind": "copy"}}})
    assert [(h["_id"], h["_source"]["url"]) for h in marks["hits"]["hits"]] == [
        (alert_id("carriers", doc_id(big.canonical_url)), big.canonical_url)]


def test_cli_without_the_rules_index_says_to_apply_templates(services, monkeypatch):
    monkeypatch.setenv("MARSAD_ALERT_RULES_ALIAS", "tnever-created-alert-rules")
    for args in (("add", "carriers", Q), ("list",), ("remove", "carriers"), ("test", "carriers")):
        code, out = _cli(*args)
        assert code == 1 and "run `marsad templates apply`" in out, (args, out)
    assert not Es(services.es_url).exists("/tnever-created-alert-rules")


@pytest.mark.parametrize("query", ["ـــ", "\u064b\u064c", "ـــ OR \u0651", '"ـــ"'])
def test_a_rule_that_analyses_to_no_word_is_refused(rules_env, query):
    # a query made only of tatweel / tashkeel folds to nothing in every analyzer: stored, its percolator query
    # would match no story ever and the watch list would be silently blind
    settings, es = rules_env
    code, out = _cli("add", "blind", query)
    assert code == 2 and "no searchable word" in out
    assert RuleStore(settings, es).get("blind") is None
    # a query whose stop words survive on the exact subfields is still a working rule
    assert _cli("add", "stops", "في من")[0] == 0
    assert match_text(settings, es, make_rule(name="stops", query="في من"), "خرج في من معه", stored=True) is not None


def test_load_with_a_blind_rule_changes_nothing(rules_env, tmp_path):
    settings, es = rules_env
    f = tmp_path / "rules.yaml"
    f.write_text(f"rules:\n  - name: carriers\n    query: {Q}\n  - name: blind\n    query: ـــ\n", encoding="utf-8")
    code, out = _cli("load", str(f))
    assert code == 2 and "no searchable word" in out
    assert RuleStore(settings, es).list() == []
