"""``marsad extract`` and ``marsad dedup``: the pipeline's extraction and story clustering on local files, no
services."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from marsad.cli.common import aware_instant, cli_settings, fail, input_file, time_zone, web_url


def extract(file: Path = typer.Argument(..., callback=input_file),
            url: str = typer.Option(..., "--url"),
            fetched_at: str | None = typer.Option(None, "--fetched-at", help="ISO 8601; default now."),
            tz: str = typer.Option("UTC", "--tz", help="Time zone for dates without one.")) -> None:
    """Print one Article as JSON for an HTML file."""
    from marsad.errors import Discard
    from marsad.extract.stage import extract_article
    from marsad.messages import utcnow

    url = web_url(url)
    tz = time_zone(tz)
    when = aware_instant(fetched_at, "--fetched-at") if fetched_at else utcnow()
    try:
        art = extract_article(file.read_bytes(), url, fetched_at=when, tz=tz)
    except Discard as d:
        fail(f"not an article: {d}", 1)
    sys.stdout.write(art.to_json().decode() + "\n")


def dedup(file: Path = typer.Argument(..., callback=input_file,
                                     help="JSON lines {id, url, title, text, published_at?}"),
          output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of stdout.")) -> None:
    """Offline story clustering of an export: lines {id, story_id, duplicate_of, similarity}, input order."""
    import tempfile

    from marsad.dedup.stories import dedup_jsonl

    params = cli_settings().dedup_params  # the pipeline's fingerprint parameters (MARSAD_DEDUP_LSH_*)
    try:
        if output is not None:
            n = dedup_jsonl(file, output, params=params)
            sys.stderr.write(f"{n} articles -> {output}\n")
            return
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.jsonl"
            dedup_jsonl(file, out, params=params)
            sys.stdout.write(out.read_text(encoding="utf-8"))
    except ValueError as exc:
        fail(str(exc))
