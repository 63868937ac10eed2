"""``marsad templates apply``: index templates and aliases (:mod:`marsad.index.templates`)."""

from __future__ import annotations

from marsad.cli.common import cli_settings, fail


def templates_apply() -> None:
    """Install index templates; create the first versioned stories index and its alias if missing."""
    from marsad.errors import ConfigError, TransientError
    from marsad.index.es import EsHttpError
    from marsad.index.templates import IncompatibleIndex, apply_templates, fingerprint_key, replay_advice
    from marsad.observability import console, err_console

    settings = cli_settings()
    try:
        done = apply_templates(settings)
    except IncompatibleIndex as exc:
        fail(f"{exc}\nEverything else is applied. {replay_advice(exc.next_index)}\n(on a throw-away dev stack, "
             f"deleting {', '.join(exc.indices)} also works)", 1)
    except ConfigError as exc:
        fail(str(exc))
    except TransientError as exc:
        fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
    except EsHttpError as exc:
        fail(f"Elasticsearch refused the template or mapping: {exc}. An index created by an older template with "
              f"an incompatible field needs a new index version (reindex into <prefix>v2 and move the alias); on a "
              f"throw-away dev stack, delete the old index instead.", 1)
    stale = done.pop(fingerprint_key(settings), None)
    for what, how in done.items():
        console.print(f"{what}: {how}", highlight=False)
    if stale:  # the index keeps working (exit 0: consumers may start), but dedup across the change needs a replay
        from rich.markup import escape

        err_console.print(f"[bold yellow]warning:[/] {escape(stale)}", highlight=False, soft_wrap=True)
