"""``marsad alerts …``: keyword alert rules (percolator queries) and the webhook consumer."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from marsad.cli.common import cli_settings, fail, input_file
from marsad.render import describe_rule, print_hits


def _rule_store():
    from marsad.alerts.rules import RuleStore

    return RuleStore(cli_settings())


def _alerts_call(fn):
    """Run ``fn()``; a RuleError is a usage error (exit 2), an unreachable service a failed run (exit 1)."""
    from marsad.alerts.rules import RuleError
    from marsad.errors import ConfigError, TransientError

    try:
        return fn()
    except (RuleError, ConfigError) as exc:
        fail(str(exc))
    except TransientError as exc:
        fail(f"{exc} (is the stack up? `marsad stack up`)", 1)


def alerts_add(name: str = typer.Argument(..., help="Rule name (slug: a-z 0-9 - _)."),
               query: str = typer.Argument(..., help="Words to watch, same semantics as `marsad search`."),
               source: str | None = typer.Option(None, "--source", help="Only stories from this source."),
               language: str | None = typer.Option(None, "--language", help="Only stories in this language."),
               webhook: str | None = typer.Option(None, "--webhook", help="Also POST each alert here."),
               replace: bool = typer.Option(False, "--replace", help="Overwrite a rule of the same name.")) -> None:
    """Add an alert rule (stored as a percolator query; fires once per new matching story)."""
    from marsad.alerts.rules import make_rule
    from marsad.observability import console

    rule = _alerts_call(lambda: make_rule(name=name, query=query, source=source, language=language, webhook=webhook))
    how = _alerts_call(lambda: _rule_store().put(rule, replace=replace))
    console.print(f"{how}: {describe_rule(rule)}", highlight=False)


def alerts_list(as_json: bool = typer.Option(False, "--json", help="One JSON object per rule.")) -> None:
    """List the alert rules."""
    import orjson

    from marsad.observability import console

    rules = _alerts_call(lambda: _rule_store().list())
    if as_json:
        for r in rules:
            sys.stdout.write(orjson.dumps(r.definition()).decode() + "\n")
        return
    for r in rules:
        console.print(describe_rule(r), highlight=False)
    console.print(f"{len(rules)} rules", highlight=False)


def alerts_remove(name: str = typer.Argument(...)) -> None:
    """Remove an alert rule (it stops firing at once)."""
    from marsad.observability import console

    _alerts_call(lambda: _rule_store().remove(name))
    console.print(f"removed: {name}", highlight=False)


def alerts_load(file: Path = typer.Argument(..., callback=input_file, help="YAML: rules: [{name, query, ...}]"),
                prune: bool = typer.Option(False, "--prune",
                                           help="Also remove stored rules absent from the file.")) -> None:
    """Sync rules from a YAML file (idempotent). Nothing is changed when any entry is invalid."""
    from marsad.alerts.rules import parse_rules_file
    from marsad.observability import console

    rules, problems = _alerts_call(lambda: parse_rules_file(file))
    if problems:
        fail(f"{file}: {len(problems)} bad entries, nothing loaded:\n  " + "\n  ".join(map(str, problems)))
    done = _alerts_call(lambda: _rule_store().sync(rules, prune=prune))
    console.print(", ".join(f"{k}: {len(v)}" for k, v in done.items()), highlight=False)
    for k in ("created", "updated", "removed"):
        for n in done[k]:
            console.print(f"  {k} {n}", highlight=False)


def alerts_test(rule_or_query: str = typer.Argument(..., help="A stored rule's name, or words to try."),
                text: str | None = typer.Option(None, "--text", help="Try this text instead of stored stories."),
                title: str = typer.Option("", "--title", help="With --text: the title."),
                source: str | None = typer.Option(None, "--source", help="Ad-hoc query: source filter; "
                                                     "with --text: the text's source."),
                language: str | None = typer.Option(None, "--language"),
                size: int = typer.Option(10, "--size")) -> None:
    """Show which stored stories (or a given --text) a rule or query matches. Exit 1 when nothing matches."""
    from rich.markup import escape

    from marsad.alerts.rules import NAME_RE, make_rule, match_text
    from marsad.observability import console
    from marsad.search import HL_POST, HL_PRE, search

    settings = cli_settings()
    store = _rule_store()
    stored = _alerts_call(lambda: store.get(rule_or_query)) if NAME_RE.match(rule_or_query) else None
    rule = stored or _alerts_call(lambda: make_rule(name="adhoc", query=rule_or_query, source=source,
                                                    language=language))
    console.print(f"{'rule' if stored else 'ad-hoc query'}: {describe_rule(rule)}", highlight=False)
    if text is not None:
        snip = _alerts_call(lambda: match_text(settings, store.es, rule, text, title=title,
                                               source=source or rule.source or "test",
                                               language=language or rule.language or "ar", stored=bool(stored)))
        if snip is None:
            console.print("no match", highlight=False)
            raise typer.Exit(1)
        snip = escape(snip).replace(HL_PRE, "[bold yellow]").replace(HL_POST, "[/]")
        console.print(f"match: … {snip} …", highlight=False)
        return
    total, hits = _alerts_call(lambda: search(settings, rule.query, es=store.es, source=rule.source,
                                              language=rule.language, size=size))
    print_hits(console, rule.query, total, hits)
    if not total:
        raise typer.Exit(1)


def alerts_deliver(until_idle: bool = typer.Option(False, "--until-idle",
                                                   help="Stop once the topic is drained.")) -> None:
    """Run the webhook consumer: alerts topic → each rule's webhook (retries, then the dead-letter topic)."""
    from marsad.alerts.webhook import webhook_worker
    from marsad.kafka.worker import exit_if_close_hung
    from marsad.observability import console

    settings = cli_settings()
    worker = _alerts_call(lambda: webhook_worker(settings))
    stats = _alerts_call(lambda: worker.run(until_idle=until_idle))
    console.print(stats.as_dict(), highlight=False)
    exit_if_close_hung(worker)
