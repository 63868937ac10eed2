"""The demo's alert steps: load ``marsad/alerts/rules.yaml`` before the crawl, print the alert events at the end."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from marsad.alerts.events import AlertEvent
from marsad.alerts.rules import Rule, RuleStore, parse_rules_file
from marsad.errors import ConfigError
from marsad.search import HL_POST, HL_PRE
from marsad.settings import Settings

DEMO_RULES = Path(__file__).resolve().parent / "rules.yaml"


def load_demo_rules(settings: Settings, console: Console, path: Path = DEMO_RULES) -> list[Rule]:
    """Sync the rules of ``path`` into the rules index and say so. Raises :class:`ConfigError` on a bad file."""
    rules, problems = parse_rules_file(path)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(map(str, problems)))
    done = RuleStore(settings).sync(rules)
    console.print(f"  alert rules from {path.name}: " + ", ".join(f"{r.name} «{r.query}»" for r in rules)
                  + f" ({', '.join(f'{k} {len(v)}' for k, v in done.items() if v)})", highlight=False)
    return rules


def read_alert_events(settings: Settings, timeout_s: float = 15.0) -> list[AlertEvent]:
    """Every event on the alerts topic, read to the end of each partition (throwaway consumer group, no commits).

    Raises :class:`~marsad.errors.TransientError` when Kafka does not deliver to the end within ``timeout_s``.
    """
    from marsad.kafka.clients import read_to_end

    return [AlertEvent.from_json(m.value()) for m in read_to_end(settings, settings.alerts_topic, timeout_s)]


def show_alerts(settings: Settings, console: Console, rules: list[Rule], run_started: datetime) -> list[AlertEvent]:
    """Print the alert events of ``rules`` found on the alerts topic (one per alert id), marking those fired before
    ``run_started`` (an alert fires once per story: a second demo run on the same stack fires nothing new)."""
    names = {r.name for r in rules}
    events = list({e.alert_id: e for e in read_alert_events(settings) if e.rule in names}.values())
    console.print(f"  {len(events)} alert events on {settings.alerts_topic} for the demo rules", highlight=False)
    for e in sorted(events, key=lambda e: (e.rule, e.fired_at)):
        when = "this run" if e.fired_at >= run_started else "an earlier run"
        console.print(f"  [bold red]ALERT[/] [bold]{e.rule}[/] «{escape(e.query)}» → [bold]{escape(e.title or '')}[/]",
                      highlight=False)
        console.print(f"     {e.source} · published {(e.published_at.isoformat() if e.published_at else '?')[:16]}"
                      f" · fired {e.fired_at.isoformat()[:19]} ({when}) · id {e.alert_id[:12]}", highlight=False)
        if e.snippet:
            s = escape(e.snippet).replace(HL_PRE, "[bold yellow]").replace(HL_POST, "[/]")
            console.print(f"     … {s} …", highlight=False)
    return events
