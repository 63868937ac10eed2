"""``marsad crawl``, ``crawl-health``, ``ingest-warc``: raw pages onto the raw-pages topic without Airflow."""

from __future__ import annotations

from pathlib import Path

import typer

from marsad.cli.common import cli_settings, fail, input_file


def crawl(source: str | None = typer.Option(None, "--source", help="Only this source (default: all enabled)."),
          until_empty: bool = typer.Option(
              False, "--until-empty",
              help="Repeat cycles until the sources' frontier is empty, waiting for URLs leased to other workers "
                   "(a crawl worker beside others sharing MARSAD_CRAWL_STATE_URL; docs/scaling.md)."),
          wait_s: float = typer.Option(5.0, "--wait-s", min=0.0,
                                       help="With --until-empty: pause when a cycle was handed nothing (seconds).")
          ) -> None:
    """One crawl cycle: feeds, sitemaps, section pages → new article pages → raw-pages topic (as the DAG does).

    With --until-empty: cycles until no URL of the sources is left in the frontier (a long-running worker)."""
    from marsad.crawl.registry import load_registry
    from marsad.crawl.run import crawl_source, crawl_until_empty
    from marsad.errors import ConfigError, TransientError
    from marsad.observability import console

    settings = cli_settings()

    def show(name: str, counts: dict[str, int]) -> None:
        console.print(f"{name}: {counts}", highlight=False)

    try:
        names = [source] if source else [s.name for s in load_registry(settings.sources_file) if s.enabled]
        if until_empty:
            left = crawl_until_empty(settings, names, wait_s=wait_s, on_cycle=show)
            console.print("frontier empty" if not left else
                          f"{left} URLs left in the frontier for a later run (refused for now: host held, timeouts)",
                          highlight=False)
            return
        for name in names:
            show(name, crawl_source(settings, name))
    except ConfigError as exc:
        fail(str(exc))
    except TransientError as exc:  # Kafka down: discovered URLs stay in the frontier, nothing was marked seen
        fail(f"{exc} (is the stack up? `marsad stack up`; the next crawl fetches the same URLs again)", 1)


def crawl_health_cmd() -> None:
    """Health of every enabled source from its last crawl report; writes health.json; exit 1 if one failed."""
    from rich.table import Table

    from marsad.crawl.health import crawl_health, health_path
    from marsad.crawl.registry import load_registry
    from marsad.errors import ConfigError
    from marsad.observability import console

    settings = cli_settings()
    try:
        out = crawl_health(settings, load_registry(settings.sources_file))
    except ConfigError as exc:
        fail(str(exc))
    table = Table("source", "status", "why", "last report")
    for name, h in out["sources"].items():
        table.add_row(name, h["status"], "; ".join(h["reasons"]), h["report_at"] or "-")
    console.print(table)
    console.print(f"written to {health_path(settings)}", highlight=False)
    if out["summary"]["failed"]:
        raise typer.Exit(1)


def ingest_warc(files: list[Path] = typer.Argument(..., callback=input_file),
                source: str = typer.Option("warc", help="Source name recorded on the raw pages.")) -> None:
    """Publish WARC/ARC `response` records (HTML, status 200) as raw pages, with their capture time."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from marsad.crawl.warc import ingest_warc as run
    from marsad.errors import ConfigError, TransientError
    from marsad.observability import console

    settings = cli_settings()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} pages"),
                  TextColumn("{task.fields[rate]} pages/s"), TimeElapsedColumn(), console=console) as prog:
        task = prog.add_task("ingest-warc", total=None, rate="-")

        def tick(_size: int) -> None:
            prog.advance(task)
            elapsed = prog.tasks[0].elapsed or 1e-9
            prog.update(task, rate=f"{prog.tasks[0].completed / elapsed:.1f}")

        try:
            counts = run(settings, list(files), source=source, on_page=tick)
        except ConfigError as exc:
            fail(str(exc))
        except TransientError as exc:
            fail(f"{exc} (is the stack up? `marsad stack up`; re-running ingest-warc is harmless)", 1)
    console.print(counts, highlight=False)
