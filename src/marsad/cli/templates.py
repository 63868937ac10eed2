"""``marsad templates apply``: index templates and aliases (:mod:`marsad.index.templates`)."""

from __future__ import annotations

from marsad.cli.common import cli_settings, fail


def templates_apply() -> None:
    """Install index templates; create the first versioned stories index and its alias if missing."""
    from marsad.errors import TransientError
    from marsad.index.es import EsHttpError
    from marsad.index.templates import IncompatibleIndex, apply_templates
    from marsad.observability import console

    try:
        done = apply_templates(cli_settings())
    except IncompatibleIndex as exc:
        fail(f"{exc}\nEverything else is applied. Rebuild the stories into a new index version from the raw pages "
              f"Kafka still holds, then move the alias:\n  marsad replay --from 1970-01-01T00:00:00Z --index "
              f"{exc.next_index} --swap\n(on a throw-away dev stack, deleting {', '.join(exc.indices)} also works)", 1)
    except TransientError as exc:
        fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
    except EsHttpError as exc:
        fail(f"Elasticsearch refused the template or mapping: {exc}. An index created by an older template with "
              f"an incompatible field needs a new index version (reindex into <prefix>v2 and move the alias); on a "
              f"throw-away dev stack, delete the old index instead.", 1)
    for what, how in done.items():
        console.print(f"{what}: {how}", highlight=False)
