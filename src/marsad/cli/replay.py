"""``marsad replay`` (raw pages into a new index version) and ``marsad dlq replay`` (dead letters back)."""

from __future__ import annotations

import sys

import typer

from marsad.cli.common import cli_settings, fail
from marsad.render import replay_progress


def replay(start: str = typer.Option(..., "--from", help="ISO 8601; Kafka record time to start at (no offset = UTC)."),
           end: str | None = typer.Option(None, "--to", help="ISO 8601, exclusive; default: the topic's end now."),
           source: str | None = typer.Option(None, "--source", help="Only raw pages of this source."),
           index: str = typer.Option(..., "--index", help="New index version, e.g. marsad-stories-v2."),
           swap: bool = typer.Option(False, "--swap", help="Move the read aliases to the new index when done."),
           as_json: bool = typer.Option(False, "--json", help="Print the counts as one JSON object.")) -> None:
    """Reprocess raw pages from Kafka (offsets_for_times) into a new index version; --swap moves the aliases."""
    import orjson

    from marsad.errors import ConfigError, TransientError
    from marsad.observability import console
    from marsad.replay import Replayer, parse_instant

    settings = cli_settings()
    try:
        t_from = parse_instant(start)
        t_to = parse_instant(end) if end else None
        if t_to is not None and t_to <= t_from:
            raise ValueError(f"--to {end} is not after --from {start}: nothing to replay")
        runner = Replayer(settings, index, source=source)
        with replay_progress(console, "replay") as prog:
            task = prog.add_task(f"replay → {index}", total=None, rate="-")

            def tick(done: int, total: int) -> None:
                elapsed = prog.tasks[0].elapsed or 1e-9
                prog.update(task, completed=done, total=total, rate=f"{done / elapsed:.1f}")

            stats = runner.run(t_from, t_to, swap=swap, progress=tick)
    except (ValueError, ConfigError) as exc:
        fail(str(exc))
    except TransientError as exc:
        fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
    if as_json:
        sys.stdout.write(orjson.dumps(stats.as_dict()).decode() + "\n")
        if stats.swap_refused:
            raise typer.Exit(1)
        return
    console.print(f"replayed {stats.done} of {stats.total} raw pages into {index} in {stats.seconds:.1f} s "
                  f"(consumer group {stats.group})", highlight=False)
    console.print(f"  outcomes: {dict(stats.outcomes)}", highlight=False)
    if stats.reasons:
        console.print(f"  reasons: {dict(stats.reasons)}", highlight=False)
    if stats.swap_refused:
        fail(f"swap refused: {stats.swap_refused}", 1)
    if stats.swapped is not None:
        new = {settings.stories_alias: runner.version.stories_index,
               settings.fingerprints_index: runner.version.fingerprints_index}
        for alias, old in stats.swapped.items():
            console.print(f"  alias {alias}: {', '.join(old) or '(none)'} → {new[alias]}", highlight=False)
    else:
        console.print(f"  read alias {settings.stories_alias} unchanged; move it with the same command and --swap, "
                      f"or search {index} directly", highlight=False)


def dlq_replay(reason: str | None = typer.Option(None, "--reason", help="Only dead letters with this reason slug."),
               since: str | None = typer.Option(None, "--since", help="Only letters dead-lettered at/after (ISO)."),
               dry_run: bool = typer.Option(False, "--dry-run", help="Count only: nothing produced or committed."),
               as_json: bool = typer.Option(False, "--json", help="Print the counts as one JSON object.")) -> None:
    """Put dead-lettered records back on their original topic (each once per consumer group); counts per reason."""
    import orjson

    from marsad.errors import TransientError
    from marsad.observability import console
    from marsad.replay import dlq_replay as run
    from marsad.replay import parse_instant

    settings = cli_settings()
    try:
        stats = run(settings, reason=reason, since=parse_instant(since) if since else None, dry_run=dry_run)
    except ValueError as exc:
        fail(str(exc))
    except TransientError as exc:
        fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
    if as_json:
        sys.stdout.write(orjson.dumps(stats.as_dict()).decode() + "\n")
        return
    verb = "would replay" if dry_run else "replayed"
    console.print(f"{verb} {sum(stats.replayed.values())} of {stats.read} dead letters read "
                  f"(group {stats.group})", highlight=False)
    for label, counts in (("replayed" if not dry_run else "would replay", stats.replayed),
                          ("skipped (filter)", stats.skipped), ("not replayable (no original topic)",
                                                                 stats.not_replayable), ("to topics", stats.topics),
                          ("original topic missing", stats.missing_topics)):
        if counts:
            console.print(f"  {label}: {dict(counts)}", highlight=False)
