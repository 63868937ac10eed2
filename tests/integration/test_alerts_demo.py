"""The demo's alert steps (``marsad.alerts.demo``) in isolation: rules loaded from marsad/alerts/rules.yaml, the seed
page
ingested as the demo serves it, the alert events printed from the alerts topic."""

from __future__ import annotations

import pytest
from rich.console import Console

from marsad.alerts.demo import load_demo_rules, show_alerts
from marsad.demo.site import _CorpusBuilder
from marsad.index.templates import apply_templates
from marsad.kafka.clients import ensure_topics
from marsad.messages import utcnow
from marsad.pipeline import extract_worker, index_worker

from .helpers import publish, raw_page

pytestmark = pytest.mark.services


def test_demo_prints_the_carriers_alert_on_the_seed_story(names, corpus, monkeypatch):
    settings = names.model_copy(update={"idle_timeout_s": 0.5, "poll_timeout_s": 0.2})
    apply_templates(settings)
    ensure_topics(settings)
    console = Console(record=True, width=250)
    rules = load_demo_rules(settings, console)
    assert "carriers «حاملات طائرات»" in console.export_text()
    started = utcnow()
    [page] = _CorpusBuilder(corpus, "http://127.0.0.1:8765").aggregator().pages
    publish(settings, [raw_page(page.url("http://127.0.0.1:8765"), page.body, source="aggregator")])
    extract_worker(settings).run(until_idle=True)
    index_worker(settings).run(until_idle=True)

    events = show_alerts(settings, console, rules, started)
    assert sorted(e.rule for e in events) == ["carriers", "netanyahu-aggregator", "pezeshkian"]
    out = " ".join(console.export_text().split())
    assert "ALERT carriers «حاملات طائرات» → روسيا تتدخل دبلوماسياً" in out
    assert "(this run)" in out and "حاملات طائرات ومدمرات" in out
    # a second demo run on the same stack: nothing fires again, the earlier alert is still shown
    assert load_demo_rules(settings, console) == rules
    again = show_alerts(settings, console, rules, utcnow())
    assert {e.alert_id for e in again} == {e.alert_id for e in events}
    assert "(an earlier run)" in console.export_text()

    # `marsad alerts test carriers` finds the stored seed story, highlighted
    from typer.testing import CliRunner

    from marsad.cli import app
    from marsad.settings import to_env

    for k, v in to_env(settings).items():
        monkeypatch.setenv(k, v)
    res = CliRunner().invoke(app, ["alerts", "test", "carriers"])
    out = " ".join(res.output.split())
    assert res.exit_code == 0 and "«حاملات طائرات»: 1 stories" in out and "روسيا تتدخل دبلوماسياً" in out
