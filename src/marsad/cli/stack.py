"""``marsad stack up|down|status``: the local Kafka, Elasticsearch and PostgreSQL (:mod:`marsad.stack`)."""

from __future__ import annotations

import typer

from marsad.cli.common import cli_settings, fail
from marsad.render import print_status


def stack_up() -> None:
    """Fetch (cached) and start local Kafka, Elasticsearch and PostgreSQL; waits until all answer. Idempotent."""
    from marsad import stack
    from marsad.observability import console

    try:
        st = stack.up(cli_settings(), console=console)
    except stack.StackError as exc:
        fail(str(exc), 1)
    print_status(st)


def stack_down() -> None:
    """Stop the processes `marsad stack up` started (data is kept)."""
    from marsad import stack
    from marsad.observability import console

    try:
        stopped = stack.down(cli_settings())
    except stack.StackError as exc:
        fail(str(exc))
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


def stack_status() -> None:
    """Show whether local Kafka, Elasticsearch and PostgreSQL run, their pids, ports and logs."""
    from marsad import stack

    try:
        st = stack.status(cli_settings())
    except stack.StackError as exc:
        fail(str(exc))
    print_status(st)
    if not all(s.running for s in st.services):
        raise typer.Exit(1)
