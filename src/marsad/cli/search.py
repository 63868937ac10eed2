"""``marsad search``: stories with Arabic analysis and highlighted snippets."""

from __future__ import annotations

import sys

import typer

from marsad.cli.common import cli_settings, fail
from marsad.render import print_hits


def search(query: str = typer.Argument(..., help='Words (near each other), "exact phrase" or «…», '
                                               'alternatives with OR.'),
           as_json: bool = typer.Option(False, "--json", help="One JSON object per hit, one per line (orjson)."),
           since: str | None = typer.Option(None, "--since", help="Published at or after: ISO date or date-time "
                                               "(2026-01-08, 2026-01-08T11:42+02:00); naive = UTC."),
           until: str | None = typer.Option(None, "--until", help="Published before (ISO, as --since)."),
           source: str | None = typer.Option(None, "--source", help="Only stories of this source (sources.yaml name)."),
           language: str | None = typer.Option(None, "--language", help="Only stories in this language (e.g. ar)."),
           sort: str = typer.Option("relevance", "--sort", help="relevance | date (newest first)"),
           size: int = typer.Option(10, "--size", min=1, max=10_000, help="How many stories to show.")) -> None:
    """Search stories (one hit per story, republications counted) with Arabic analysis; highlighted snippets."""
    import orjson

    from marsad.errors import ConfigError, TransientError
    from marsad.index.es import EsHttpError
    from marsad.observability import console
    from marsad.search import parse_when
    from marsad.search import search as run_search

    try:
        since_at = parse_when(since, "--since") if since is not None else None
        until_at = parse_when(until, "--until") if until is not None else None
        settings = cli_settings()
        total, hits = run_search(settings, query, since=since_at, until=until_at, source=source, language=language,
                                 sort=sort, size=size)
    except (ValueError, ConfigError) as exc:
        fail(str(exc), 2)
    except TransientError as exc:
        fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
    except EsHttpError as exc:
        if exc.status == 404:
            fail(f"no stories index behind {settings.stories_alias}: run `marsad templates apply` first", 1)
        fail(f"Elasticsearch refused the search: {exc}", 1)
    if as_json:
        for h in hits:
            sys.stdout.write(orjson.dumps(h.as_dict()).decode() + "\n")
        return
    print_hits(console, query, total, hits)
