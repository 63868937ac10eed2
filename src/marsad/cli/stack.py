"""``marsad stack up|down|status``: the local Kafka, Elasticsearch and PostgreSQL (:mod:`marsad.stack`)."""

from __future__ import annotations

import typer

from marsad.cli.common import cli_settings, fail
from marsad.render import print_status

NODES_HELP = ("Kafka brokers and Elasticsearch nodes: 1, or 3 for replicated clusters (default: MARSAD_STACK_NODES, "
              "else 1). A cluster listens on 19092-19094 / 19200-19202 unless MARSAD_KAFKA_BOOTSTRAP / MARSAD_ES_URL "
              "list one address per node.")


SECURE_HELP = ("Kafka listens with SASL_SSL only (SCRAM-SHA-512 over TLS; CA, certificates and passwords generated "
               "under MARSAD_STATE_DIR/stack/kafka-secrets). Default: MARSAD_STACK_SECURE, else off. Use it on a "
               "fresh state dir: the SCRAM users are written when the brokers' storage is formatted.")


def _settings(nodes: int | None, secure: bool | None = None):
    settings = cli_settings()
    if secure is not None:
        settings = settings.model_copy(update={"stack_secure": secure})
    if nodes is None:
        return settings
    if nodes not in (1, 3):
        fail(f"--nodes must be 1 or 3, got {nodes}")
    return settings.model_copy(update={"stack_nodes": nodes})


def stack_up(nodes: int | None = typer.Option(None, "--nodes", help=NODES_HELP),
             secure: bool | None = typer.Option(None, "--secure/--plaintext", help=SECURE_HELP)) -> None:
    """Fetch (cached) and start local Kafka, Elasticsearch and PostgreSQL; waits until all answer. Idempotent."""
    from marsad import stack
    from marsad.observability import console

    settings = _settings(nodes, secure)
    try:
        st = stack.up(settings, console=console)
    except stack.StackError as exc:
        fail(str(exc), 1)
    print_status(st)
    if settings.stack_nodes != 1 or settings.stack_secure:
        env = " ".join(f"{k}={v}" for k, v in stack.client_env(settings).items())
        console.print(f"clients of this cluster need: {env}", markup=False, highlight=False, soft_wrap=True)


def stack_down() -> None:
    """Stop the processes `marsad stack up` started (data is kept)."""
    from marsad import stack
    from marsad.observability import console

    try:
        stopped = stack.down(cli_settings())
    except stack.StackError as exc:
        fail(str(exc))
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


def stack_status(nodes: int | None = typer.Option(None, "--nodes", help=NODES_HELP),
                 secure: bool | None = typer.Option(None, "--secure/--plaintext", help=SECURE_HELP)) -> None:
    """Show whether local Kafka, Elasticsearch and PostgreSQL run (each node of a cluster), pids, ports and logs."""
    from marsad import stack

    try:
        st = stack.status(_settings(nodes, secure))
    except stack.StackError as exc:
        fail(str(exc))
    print_status(st)
    if not all(s.running for s in st.services):
        raise typer.Exit(1)
