"""The ``marsad`` command (typer): the table of every command, one module per command group.

Each command imports what it runs lazily, so ``marsad --help`` is instant. Shared argument checks and the one-line
usage error live in :mod:`marsad.cli.common`; terminal rendering (hits, rules, status, progress) in
:mod:`marsad.render`, which the demo uses too. Exit codes: 0 ok, 1 a run failed, 2 usage or configuration error
(one clear line on stderr). Contract: ../shared/DESIGN.md, section "marsad command".
"""

from __future__ import annotations

import typer

from marsad.cli import (
    alerts,
    consume,
    crawl,
    demo,
    offline,
    replay,
    search,
    stack,
    templates,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Marsad (مرصد): Arabic news monitoring.")

stack_app = typer.Typer(no_args_is_help=True, help="Local Kafka + Elasticsearch + PostgreSQL without Docker.")
stack_app.command("up")(stack.stack_up)
stack_app.command("down")(stack.stack_down)
stack_app.command("status")(stack.stack_status)
app.add_typer(stack_app, name="stack")

templates_app = typer.Typer(no_args_is_help=True, help="Elasticsearch index templates and aliases.")
templates_app.command("apply")(templates.templates_apply)
app.add_typer(templates_app, name="templates")

app.command("crawl")(crawl.crawl)
app.command("crawl-health")(crawl.crawl_health_cmd)
app.command("ingest-warc")(crawl.ingest_warc)
app.command("consume")(consume.consume)
app.command("audit")(consume.audit)
app.command("extract")(offline.extract)
app.command("dedup")(offline.dedup)
app.command("search")(search.search)
app.command("replay")(replay.replay)

dlq_app = typer.Typer(no_args_is_help=True, help="The dead-letter topic (DLQ).")
dlq_app.command("replay")(replay.dlq_replay)
app.add_typer(dlq_app, name="dlq")

alerts_app = typer.Typer(no_args_is_help=True, help="Keyword alert rules, percolated against every new story.")
alerts_app.command("add")(alerts.alerts_add)
alerts_app.command("list")(alerts.alerts_list)
alerts_app.command("remove")(alerts.alerts_remove)
alerts_app.command("load")(alerts.alerts_load)
alerts_app.command("test")(alerts.alerts_test)
alerts_app.command("deliver")(alerts.alerts_deliver)
app.add_typer(alerts_app, name="alerts")

app.command("demo")(demo.demo)
