"""``marsad demo``: the README's main job on the bundled inputs (:mod:`marsad.demo`)."""

from __future__ import annotations

import typer

from marsad.cli.common import cli_settings


def demo(keep_site: bool = typer.Option(False, "--keep-site",
                                       help="Keep serving the demo site (Ctrl-C ends).")) -> None:
    """The README's main job: stack up, templates, crawl the bundled pages with Airflow, consume, search."""
    import os

    from marsad.demo.runner import run_demo
    from marsad.observability import console

    settings = cli_settings()
    code = run_demo(settings, os.environ, console=console, keep_site=keep_site)
    raise typer.Exit(code)
