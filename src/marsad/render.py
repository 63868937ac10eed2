"""Terminal rendering (rich) shared by the CLI and the demo: search hits with their matched words highlighted.

Kept out of :mod:`marsad.cli` so that the demo (which the CLI runs) prints hits without importing the CLI.
"""

from __future__ import annotations

from urllib.parse import unquote

from rich.markup import escape

from marsad.search import HL_POST, HL_PRE


def print_hits(console, query: str, total: int, hits) -> None:
    """Print search hits for a terminal: title (matched words highlighted), source, date, URL, republishers,
    snippets. When the story's origin is another page than the story document (:attr:`marsad.search.Hit.headline`),
    that page's title, source, date and URL come first and the story document follows as «via»."""
    def marked(s: str) -> str:
        return escape(" ".join(s.split())).replace(HL_PRE, "[bold yellow]").replace(HL_POST, "[/]")

    console.print(f"[bold]«{escape(query)}»[/]: {total} stories", highlight=False)
    for n, h in enumerate(hits, 1):
        rep = f"  +{h.republication_count} republications ({', '.join(h.republishers or [])})" \
            if h.republication_count else ""
        title = marked(h.title_highlight) if getattr(h, "title_highlight", None) else escape(h.title or "(untitled)")
        via = getattr(h, "republished_by", None)
        if via is not None:  # the origin page is the headline; the story document (often an aggregator) is "via"
            head = h.headline or {}
            o = h.origin or {}
            console.print(f"[bold cyan]{n}.[/] [bold]{escape(head.get('title') or o.get('site') or '(untitled)')}"
                          f"[/]", highlight=False)
            console.print(f"   {escape(head.get('source') or '')} · {(head.get('published_at') or '')[:16]} · "
                          f"{escape(unquote(head.get('url') or ''))}{rep}", highlight=False)
            console.print(f"   [magenta]via {escape(via.get('source') or '')}[/] «{title}» · "
                          f"{(via.get('published_at') or '')[:16]} · {escape(unquote(via.get('url') or ''))}",
                          highlight=False)
        else:
            console.print(f"[bold cyan]{n}.[/] [bold]{title}[/]", highlight=False)
            console.print(f"   {h.source} · {(h.published_at or '')[:16]} · {escape(unquote(h.url))}{rep}",
                          highlight=False)
        if via is None and h.original and h.original.get("site"):  # the named original is not in the story
            o = h.original
            console.print(f"   [magenta]republished from {escape(o['site'])}[/]"
                          f"{' · first published ' + o['published_at'] if o.get('published_at') else ''}"
                          f"{' · original title «' + escape(o['title']) + '»' if o.get('title') else ''}",
                          highlight=False)
        for s in h.snippets[:2]:
            console.print(f"   … {marked(s)} …", highlight=False)


def print_status(st) -> None:
    from marsad.observability import console

    for s in st.services:
        mark = "[green]running[/]" if s.running else "[red]stopped[/]"
        # soft_wrap: a URL (PostgreSQL's names its password file) stays on one line, copyable, at any terminal width
        console.print(f"{s.name:16} {mark}  pid={s.pid or '-'}  {s.url}  {s.version or ''}  log={s.log_path}",
                      highlight=False, soft_wrap=True)


def describe_rule(r) -> str:
    from rich.markup import escape

    extra = "".join(f" {k}={v}" for k, v in (("source", r.source), ("language", r.language),
                                              ("webhook", r.webhook)) if v)
    return f"[bold]{r.name}[/]  «{escape(r.query)}»{escape(extra)}"


def replay_progress(console, description: str):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]} pages/s"), TextColumn("ETA"), TimeRemainingColumn(),
                    TimeElapsedColumn(), console=console)
