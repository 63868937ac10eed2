"""The ``marsad`` command (typer). Subcommands import their modules lazily so ``marsad --help`` is instant.

Contract: ../shared/DESIGN.md, section "marsad command". Exit codes: 0 ok, 1 a run failed, 2 usage or
configuration error (one clear line on stderr).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer

from marsad.render import print_hits

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Marsad (مرصد): Arabic news monitoring.")
stack_app = typer.Typer(no_args_is_help=True, help="Local Kafka + Elasticsearch + PostgreSQL without Docker.")
templates_app = typer.Typer(no_args_is_help=True, help="Elasticsearch index templates and aliases.")
app.add_typer(stack_app, name="stack")
app.add_typer(templates_app, name="templates")
dlq_app = typer.Typer(no_args_is_help=True, help="The dead-letter topic (DLQ).")
app.add_typer(dlq_app, name="dlq")
alerts_app = typer.Typer(no_args_is_help=True, help="Keyword alert rules, percolated against every new story.")
app.add_typer(alerts_app, name="alerts")


def _settings():
    """Settings from the environment; a bad ``MARSAD_*`` value is a usage error (exit 2) naming the variable."""
    from pydantic import ValidationError

    from marsad.observability import setup_logging
    from marsad.settings import load_settings

    try:
        settings = load_settings()
    except ValidationError as exc:
        _fail("; ".join(f"MARSAD_{'_'.join(map(str, e['loc'])).upper()}={e.get('input')!r}: {e['msg']}"
                        for e in exc.errors()))
    setup_logging(client_log_level=settings.client_log_level)
    return settings


def _fail(msg: str, code: int = 2) -> None:
    """Print ``error: msg`` on stderr as one unwrapped line (rich would wrap it at the terminal width), exit ``code``
    (1 a run failed, 2 usage or configuration error)."""
    from rich.markup import escape

    from marsad.observability import err_console

    err_console.print(f"[bold red]error:[/] {escape(msg)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _input_file(value):
    """typer callback for file arguments: a missing file or a directory is one line and exit 2 (typer's own check
    prints a usage box)."""
    for path in value if isinstance(value, list) else [value]:
        if path is not None and not path.is_file():
            _fail(f"{path}: {'is a directory' if path.is_dir() else 'no such file'}")
    return value


def _web_url(url: str, option: str = "--url") -> str:
    """``url`` if it is an absolute http(s) URL with a host and a valid port; else a usage error naming
    ``option``."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError: port out of range / not a number
        host = parts.hostname
    except ValueError as exc:
        _fail(f"{option} {url!r}: {exc}")
    if parts.scheme not in ("http", "https"):
        _fail(f"{option} {url!r}: not an absolute http(s) URL")
    if not host:
        _fail(f"{option} {url!r}: no host")
    return url


def _aware_instant(value: str, option: str) -> datetime:
    """ISO 8601 date-time WITH an offset («2026-01-08T12:00:00+02:00», «…Z»); else a usage error."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        _fail(f"{option} {value!r}: not an ISO 8601 date-time ({exc}); e.g. 2026-01-08T12:00:00+02:00")
    if when.tzinfo is None or when.utcoffset() is None:
        _fail(f"{option} {value!r}: no time zone; add an offset, e.g. {when.isoformat()}+00:00 or Z")
    return when


def _time_zone(name: str, option: str = "--tz") -> str:
    """``name`` if it is an IANA zone known to this machine (zoneinfo); else a usage error."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        _fail(f"{option} {name!r}: not a known IANA time zone such as Asia/Beirut ({exc})")
    return name


# --- stack ------------------------------------------------------------------------------------------------
@stack_app.command("up")
def stack_up() -> None:
    """Fetch (cached) and start local Kafka, Elasticsearch and PostgreSQL; waits until all answer. Idempotent."""
    from marsad import stack
    from marsad.observability import console

    try:
        st = stack.up(_settings(), console=console)
    except stack.StackError as exc:
        _fail(str(exc), 1)
    _print_status(st)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the processes `marsad stack up` started (data is kept)."""
    from marsad import stack
    from marsad.observability import console

    try:
        stopped = stack.down(_settings())
    except stack.StackError as exc:
        _fail(str(exc))
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@stack_app.command("status")
def stack_status() -> None:
    """Show whether local Kafka, Elasticsearch and PostgreSQL run, their pids, ports and logs."""
    from marsad import stack

    try:
        st = stack.status(_settings())
    except stack.StackError as exc:
        _fail(str(exc))
    _print_status(st)
    if not all(s.running for s in st.services):
        raise typer.Exit(1)


def _print_status(st) -> None:
    from marsad.observability import console

    for s in st.services:
        mark = "[green]running[/]" if s.running else "[red]stopped[/]"
        console.print(f"{s.name:14} {mark}  pid={s.pid or '-'}  {s.url}  {s.version or ''}  log={s.log_path}",
                      highlight=False)


# --- templates -----------------------------------------------------------------------------------------
@templates_app.command("apply")
def templates_apply() -> None:
    """Install index templates; create the first versioned stories index and its alias if missing."""
    from marsad.errors import TransientError
    from marsad.index.es import EsHttpError
    from marsad.index.templates import IncompatibleIndex, apply_templates
    from marsad.observability import console

    try:
        done = apply_templates(_settings())
    except IncompatibleIndex as exc:
        _fail(f"{exc}\nEverything else is applied. Rebuild the stories into a new index version from the raw pages "
              f"Kafka still holds, then move the alias:\n  marsad replay --from 1970-01-01T00:00:00Z --index "
              f"{exc.next_index} --swap\n(on a throw-away dev stack, deleting {', '.join(exc.indices)} also works)", 1)
    except TransientError as exc:
        _fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
    except EsHttpError as exc:
        _fail(f"Elasticsearch refused the template or mapping: {exc}. An index created by an older template with "
              f"an incompatible field needs a new index version (reindex into <prefix>v2 and move the alias); on a "
              f"throw-away dev stack, delete the old index instead.", 1)
    for what, how in done.items():
        console.print(f"{what}: {how}", highlight=False)


# --- crawl ---------------------------------------------------------------------------------------------
@app.command()
def crawl(source: Optional[str] = typer.Option(None, "--source", help="Only this source (default: all enabled).")) -> None:
    """One crawl cycle: feeds, sitemaps, section pages → new article pages → raw-pages topic (as the DAG does)."""
    from marsad.crawl.registry import load_registry
    from marsad.crawl.run import crawl_source
    from marsad.errors import ConfigError, TransientError
    from marsad.observability import console

    settings = _settings()
    try:
        names = [source] if source else [s.name for s in load_registry(settings.sources_file) if s.enabled]
        for name in names:
            counts = crawl_source(settings, name)
            console.print(f"{name}: {counts}", highlight=False)
    except ConfigError as exc:
        _fail(str(exc))
    except TransientError as exc:  # Kafka down: discovered URLs stay in the frontier, nothing was marked seen
        _fail(f"{exc} (is the stack up? `marsad stack up`; the next crawl fetches the same URLs again)", 1)


@app.command("crawl-health")
def crawl_health_cmd() -> None:
    """Health of every enabled source from its last crawl report; writes health.json; exit 1 if one failed."""
    from rich.table import Table

    from marsad.crawl.health import crawl_health, health_path
    from marsad.crawl.registry import load_registry
    from marsad.errors import ConfigError
    from marsad.observability import console

    settings = _settings()
    try:
        out = crawl_health(settings, load_registry(settings.sources_file))
    except ConfigError as exc:
        _fail(str(exc))
    table = Table("source", "status", "why", "last report")
    for name, h in out["sources"].items():
        table.add_row(name, h["status"], "; ".join(h["reasons"]), h["report_at"] or "-")
    console.print(table)
    console.print(f"written to {health_path(settings)}", highlight=False)
    if out["summary"]["failed"]:
        raise typer.Exit(1)


@app.command("ingest-warc")
def ingest_warc(files: list[Path] = typer.Argument(..., callback=_input_file),
                source: str = typer.Option("warc", help="Source name recorded on the raw pages.")) -> None:
    """Publish WARC/ARC `response` records (HTML, status 200) as raw pages, with their capture time."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from marsad.crawl.warc import ingest_warc as run
    from marsad.errors import ConfigError, TransientError
    from marsad.observability import console

    settings = _settings()
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
            _fail(str(exc))
        except TransientError as exc:
            _fail(f"{exc} (is the stack up? `marsad stack up`; re-running ingest-warc is harmless)", 1)
    console.print(counts, highlight=False)


# --- consumers -------------------------------------------------------------------------------------------
@app.command()
def consume(stage: str = typer.Argument(..., help="extract | index | all"),
            until_idle: bool = typer.Option(False, "--until-idle", help="Stop once the input topics are drained.")) -> None:
    """Run consumers: extract (raw pages → articles), index (articles → Elasticsearch), or all."""
    import multiprocessing

    from marsad import pipeline
    from marsad.observability import console

    settings = _settings()
    if stage not in ("extract", "index", "all"):
        _fail(f"unknown stage {stage!r}: use extract, index or all")
    if settings.metrics_port:
        from marsad.observability import start_metrics_server

        start_metrics_server(settings.metrics_port)
    factories = {"extract": pipeline.extract_worker, "index": pipeline.index_worker}
    names = ["extract", "index"] if stage == "all" else [stage]
    if stage == "all" and until_idle or len(names) == 1:
        # consumer_retry_limit_s ran out (or Kafka refused the group): nothing of the batch was committed
        with _cannot_run(f"{stage} consumer stopped (the batch stays uncommitted; restarting resumes it): "):
            if stage == "all":
                console.print(pipeline.drain(settings), highlight=False)
            else:
                console.print(factories[stage](settings).run(until_idle=until_idle).as_dict(), highlight=False)
        return
    # one process per stage: each worker runs in its process's main thread, where the per-page time limit works
    procs = [multiprocessing.Process(target=_run_stage, args=(n,), name=f"marsad-{n}") for n in names]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        console.print("stopping")
        for p in procs:
            p.join(30)
    failed = [p.name for p in procs if p.exitcode not in (0, None)]
    if failed:
        _fail(f"consumer processes failed: {failed}", 1)


def _run_stage(name: str) -> None:
    from marsad import pipeline

    settings = _settings()
    factory = {"extract": pipeline.extract_worker, "index": pipeline.index_worker}[name]
    try:
        with _cannot_run(f"{name}: "):
            factory(settings).run()
    except KeyboardInterrupt:
        return
    except typer.Exit as exc:
        sys.exit(exc.exit_code)


class _cannot_run:
    """Context manager: a Kafka/Elasticsearch outage (:class:`TransientError`, or a ``KafkaException`` a consumer
    raised) inside a command becomes one ``error:`` line and exit 1."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        from confluent_kafka import KafkaException

        from marsad.errors import TransientError

        if isinstance(exc, TransientError):
            _fail(f"{self.prefix}{exc} (is the stack up? `marsad stack up`)", 1)
        if isinstance(exc, KafkaException):
            _fail(f"{self.prefix}Kafka failed: {exc} (is the stack up? `marsad stack up`)", 1)
        return False


@app.command()
def audit(since: Optional[str] = typer.Option(None, "--since", help="ISO 8601; raw pages published at or after."),
          until: Optional[str] = typer.Option(None, "--until", help="ISO 8601; raw pages published before."),
          as_json: bool = typer.Option(False, "--json", help="Print the counts as one JSON object.")) -> None:
    """Reconcile the raw-pages topic with the ledger: every raw page must be a story, a republication, a duplicate,
    discarded or dead-lettered, and no URL in two stories. Exit 1 when a page is unaccounted or a URL doubled."""
    import json

    from marsad.errors import TransientError
    from marsad.ledger import audit as run_audit
    from marsad.observability import console
    from marsad.replay import parse_instant

    settings = _settings()
    try:
        start = parse_instant(since) if since else None
        end = parse_instant(until) if until else None
    except ValueError as exc:
        _fail(str(exc))
    try:
        report = run_audit(settings, start, end)
    except TransientError as exc:
        _fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
    d = report.as_dict()
    if as_json:
        console.print_json(json.dumps(d, ensure_ascii=False))
    else:
        for k in ("produced", "indexed", "republication", "duplicate"):
            console.print(f"{k:14} {d[k]}", highlight=False)
        for k in ("discarded", "dead_lettered"):
            console.print(f"{k:14} {sum(d[k].values())}", highlight=False)
            for reason, n in sorted(d[k].items(), key=lambda x: -x[1]):
                console.print(f"  {reason:30} {n}", highlight=False)
        console.print(f"{'unaccounted':14} {d['unaccounted']}", highlight=False)
        for ex in d["unaccounted_examples"]:
            console.print(f"  {ex}", highlight=False)
        console.print(f"{'doubled URLs':14} {len(d['urls_in_more_than_one_story'])}", highlight=False)
        for url, ids in list(d["urls_in_more_than_one_story"].items())[:20]:
            console.print(f"  {url}: {', '.join(ids)}", highlight=False)
    if not report.clean:
        raise typer.Exit(1)


@app.command()
def extract(file: Path = typer.Argument(..., callback=_input_file),
            url: str = typer.Option(..., "--url"),
            fetched_at: Optional[str] = typer.Option(None, "--fetched-at", help="ISO 8601; default now."),
            tz: str = typer.Option("UTC", "--tz", help="Time zone for dates without one.")) -> None:
    """Print one Article as JSON for an HTML file."""
    from marsad.errors import Discard
    from marsad.extract.stage import extract_article
    from marsad.messages import utcnow

    url = _web_url(url)
    tz = _time_zone(tz)
    when = _aware_instant(fetched_at, "--fetched-at") if fetched_at else utcnow()
    try:
        art = extract_article(file.read_bytes(), url, fetched_at=when, tz=tz)
    except Discard as d:
        _fail(f"not an article: {d}", 1)
    sys.stdout.write(art.to_json().decode() + "\n")


@app.command()
def dedup(file: Path = typer.Argument(..., callback=_input_file, help="JSON lines {id, url, title, text, published_at?}"),
          output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout.")) -> None:
    """Offline story clustering of an export: lines {id, story_id, duplicate_of, similarity}, input order."""
    import tempfile

    from marsad.dedup.stories import dedup_jsonl

    try:
        if output is not None:
            n = dedup_jsonl(file, output)
            sys.stderr.write(f"{n} articles -> {output}\n")
            return
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.jsonl"
            dedup_jsonl(file, out)
            sys.stdout.write(out.read_text(encoding="utf-8"))
    except ValueError as exc:
        _fail(str(exc))


@app.command()
def search(query: str = typer.Argument(..., help='Words (near each other), "exact phrase" or «…», alternatives with OR.'),
           as_json: bool = typer.Option(False, "--json", help="One JSON object per hit, one per line (orjson)."),
           since: Optional[str] = typer.Option(None, "--since", help="Published at or after: ISO date or date-time "
                                               "(2026-01-08, 2026-01-08T11:42+02:00); naive = UTC."),
           until: Optional[str] = typer.Option(None, "--until", help="Published before (ISO, as --since)."),
           source: Optional[str] = typer.Option(None, "--source", help="Only stories of this source (sources.yaml name)."),
           language: Optional[str] = typer.Option(None, "--language", help="Only stories in this language (e.g. ar)."),
           sort: str = typer.Option("relevance", "--sort", help="relevance | date (newest first)"),
           size: int = typer.Option(10, "--size", min=1, max=10_000, help="How many stories to show.")) -> None:
    """Search stories (one hit per story, republications counted) with Arabic analysis; highlighted snippets."""
    import orjson

    from marsad.errors import TransientError
    from marsad.index.es import EsHttpError
    from marsad.observability import console
    from marsad.search import parse_when, search as run_search

    try:
        since_at = parse_when(since, "--since") if since is not None else None
        until_at = parse_when(until, "--until") if until is not None else None
        settings = _settings()
        total, hits = run_search(settings, query, since=since_at, until=until_at, source=source, language=language,
                                 sort=sort, size=size)
    except ValueError as exc:
        _fail(str(exc), 2)
    except TransientError as exc:
        _fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
    except EsHttpError as exc:
        if exc.status == 404:
            _fail(f"no stories index behind {settings.stories_alias}: run `marsad templates apply` first", 1)
        _fail(f"Elasticsearch refused the search: {exc}", 1)
    if as_json:
        for h in hits:
            sys.stdout.write(orjson.dumps(h.as_dict()).decode() + "\n")
        return
    print_hits(console, query, total, hits)


# --- replay ----------------------------------------------------------------------------------------------
def _replay_progress(console, description: str):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]} pages/s"), TextColumn("ETA"), TimeRemainingColumn(),
                    TimeElapsedColumn(), console=console)


@app.command()
def replay(start: str = typer.Option(..., "--from", help="ISO 8601; Kafka record time to start at (no offset = UTC)."),
           end: Optional[str] = typer.Option(None, "--to", help="ISO 8601, exclusive; default: the topic's end now."),
           source: Optional[str] = typer.Option(None, "--source", help="Only raw pages of this source."),
           index: str = typer.Option(..., "--index", help="New index version, e.g. marsad-stories-v2."),
           swap: bool = typer.Option(False, "--swap", help="Move the read aliases to the new index when done."),
           as_json: bool = typer.Option(False, "--json", help="Print the counts as one JSON object.")) -> None:
    """Reprocess raw pages from Kafka (offsets_for_times) into a new index version; --swap moves the aliases."""
    import orjson

    from marsad.errors import ConfigError, TransientError
    from marsad.observability import console
    from marsad.replay import Replayer, parse_instant

    settings = _settings()
    try:
        t_from = parse_instant(start)
        t_to = parse_instant(end) if end else None
        if t_to is not None and t_to <= t_from:
            raise ValueError(f"--to {end} is not after --from {start}: nothing to replay")
        runner = Replayer(settings, index, source=source)
        with _replay_progress(console, "replay") as prog:
            task = prog.add_task(f"replay → {index}", total=None, rate="-")

            def tick(done: int, total: int) -> None:
                elapsed = prog.tasks[0].elapsed or 1e-9
                prog.update(task, completed=done, total=total, rate=f"{done / elapsed:.1f}")

            stats = runner.run(t_from, t_to, swap=swap, progress=tick)
    except (ValueError, ConfigError) as exc:
        _fail(str(exc))
    except TransientError as exc:
        _fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
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
        _fail(f"swap refused: {stats.swap_refused}", 1)
    if stats.swapped is not None:
        new = {settings.stories_alias: runner.version.stories_index,
               settings.fingerprints_index: runner.version.fingerprints_index}
        for alias, old in stats.swapped.items():
            console.print(f"  alias {alias}: {', '.join(old) or '(none)'} → {new[alias]}", highlight=False)
    else:
        console.print(f"  read alias {settings.stories_alias} unchanged; move it with the same command and --swap, "
                      f"or search {index} directly", highlight=False)


@dlq_app.command("replay")
def dlq_replay(reason: Optional[str] = typer.Option(None, "--reason", help="Only dead letters with this reason slug."),
               since: Optional[str] = typer.Option(None, "--since", help="Only letters dead-lettered at/after (ISO)."),
               dry_run: bool = typer.Option(False, "--dry-run", help="Count only: nothing produced or committed."),
               as_json: bool = typer.Option(False, "--json", help="Print the counts as one JSON object.")) -> None:
    """Put dead-lettered records back on their original topic (each once per consumer group); counts per reason."""
    import orjson

    from marsad.errors import TransientError
    from marsad.observability import console
    from marsad.replay import dlq_replay as run, parse_instant

    settings = _settings()
    try:
        stats = run(settings, reason=reason, since=parse_instant(since) if since else None, dry_run=dry_run)
    except ValueError as exc:
        _fail(str(exc))
    except TransientError as exc:
        _fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
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


# --- alerts --------------------------------------------------------------------------------------------
def _rule_store():
    from marsad.alerts.rules import RuleStore

    return RuleStore(_settings())


def _alerts_call(fn):
    """Run ``fn()``; a RuleError is a usage error (exit 2), an unreachable service a failed run (exit 1)."""
    from marsad.alerts.rules import RuleError
    from marsad.errors import ConfigError, TransientError

    try:
        return fn()
    except (RuleError, ConfigError) as exc:
        _fail(str(exc))
    except TransientError as exc:
        _fail(f"{exc} (is the stack up? `marsad stack up`)", 1)


def _describe_rule(r) -> str:
    from rich.markup import escape

    extra = "".join(f" {k}={v}" for k, v in (("source", r.source), ("language", r.language),
                                              ("webhook", r.webhook)) if v)
    return f"[bold]{r.name}[/]  «{escape(r.query)}»{escape(extra)}"


@alerts_app.command("add")
def alerts_add(name: str = typer.Argument(..., help="Rule name (slug: a-z 0-9 - _)."),
               query: str = typer.Argument(..., help="Words to watch, same semantics as `marsad search`."),
               source: Optional[str] = typer.Option(None, "--source", help="Only stories from this source."),
               language: Optional[str] = typer.Option(None, "--language", help="Only stories in this language."),
               webhook: Optional[str] = typer.Option(None, "--webhook", help="Also POST each alert here."),
               replace: bool = typer.Option(False, "--replace", help="Overwrite a rule of the same name.")) -> None:
    """Add an alert rule (stored as a percolator query; fires once per new matching story)."""
    from marsad.alerts.rules import make_rule
    from marsad.observability import console

    rule = _alerts_call(lambda: make_rule(name=name, query=query, source=source, language=language, webhook=webhook))
    how = _alerts_call(lambda: _rule_store().put(rule, replace=replace))
    console.print(f"{how}: {_describe_rule(rule)}", highlight=False)


@alerts_app.command("list")
def alerts_list(as_json: bool = typer.Option(False, "--json", help="One JSON object per rule.")) -> None:
    """List the alert rules."""
    import orjson

    from marsad.observability import console

    rules = _alerts_call(lambda: _rule_store().list())
    if as_json:
        for r in rules:
            sys.stdout.write(orjson.dumps(r.definition()).decode() + "\n")
        return
    for r in rules:
        console.print(_describe_rule(r), highlight=False)
    console.print(f"{len(rules)} rules", highlight=False)


@alerts_app.command("remove")
def alerts_remove(name: str = typer.Argument(...)) -> None:
    """Remove an alert rule (it stops firing at once)."""
    from marsad.observability import console

    _alerts_call(lambda: _rule_store().remove(name))
    console.print(f"removed: {name}", highlight=False)


@alerts_app.command("load")
def alerts_load(file: Path = typer.Argument(..., callback=_input_file, help="YAML: rules: [{name, query, ...}]"),
                prune: bool = typer.Option(False, "--prune", help="Also remove stored rules absent from the file.")) -> None:
    """Sync rules from a YAML file (idempotent). Nothing is changed when any entry is invalid."""
    from marsad.alerts.rules import parse_rules_file
    from marsad.observability import console

    rules, problems = _alerts_call(lambda: parse_rules_file(file))
    if problems:
        _fail(f"{file}: {len(problems)} bad entries, nothing loaded:\n  " + "\n  ".join(map(str, problems)))
    done = _alerts_call(lambda: _rule_store().sync(rules, prune=prune))
    console.print(", ".join(f"{k}: {len(v)}" for k, v in done.items()), highlight=False)
    for k in ("created", "updated", "removed"):
        for n in done[k]:
            console.print(f"  {k} {n}", highlight=False)


@alerts_app.command("test")
def alerts_test(rule_or_query: str = typer.Argument(..., help="A stored rule's name, or words to try."),
                text: Optional[str] = typer.Option(None, "--text", help="Try this text instead of stored stories."),
                title: str = typer.Option("", "--title", help="With --text: the title."),
                source: Optional[str] = typer.Option(None, "--source", help="Ad-hoc query: source filter; "
                                                     "with --text: the text's source."),
                language: Optional[str] = typer.Option(None, "--language"),
                size: int = typer.Option(10, "--size")) -> None:
    """Show which stored stories (or a given --text) a rule or query matches. Exit 1 when nothing matches."""
    from rich.markup import escape

    from marsad.alerts.rules import NAME_RE, make_rule, match_text
    from marsad.observability import console
    from marsad.search import HL_POST, HL_PRE, search

    settings = _settings()
    store = _rule_store()
    stored = _alerts_call(lambda: store.get(rule_or_query)) if NAME_RE.match(rule_or_query) else None
    rule = stored or _alerts_call(lambda: make_rule(name="adhoc", query=rule_or_query, source=source,
                                                    language=language))
    console.print(f"{'rule' if stored else 'ad-hoc query'}: {_describe_rule(rule)}", highlight=False)
    if text is not None:
        snip = _alerts_call(lambda: match_text(settings, store.es, rule, text, title=title,
                                               source=source or rule.source or "test",
                                               language=language or rule.language or "ar", stored=bool(stored)))
        if snip is None:
            console.print("no match", highlight=False)
            raise typer.Exit(1)
        snip = escape(snip).replace(HL_PRE, "[bold yellow]").replace(HL_POST, "[/]")
        console.print(f"match: … {snip} …", highlight=False)
        return
    total, hits = _alerts_call(lambda: search(settings, rule.query, es=store.es, source=rule.source,
                                              language=rule.language, size=size))
    print_hits(console, rule.query, total, hits)
    if not total:
        raise typer.Exit(1)


@alerts_app.command("deliver")
def alerts_deliver(until_idle: bool = typer.Option(False, "--until-idle", help="Stop once the topic is drained.")) -> None:
    """Run the webhook consumer: alerts topic → each rule's webhook (retries, then the dead-letter topic)."""
    from marsad.alerts.webhook import webhook_worker
    from marsad.observability import console

    settings = _settings()
    stats = _alerts_call(lambda: webhook_worker(settings).run(until_idle=until_idle))
    console.print(stats.as_dict(), highlight=False)


@app.command()
def demo(keep_site: bool = typer.Option(False, "--keep-site", help="Keep serving the demo site (Ctrl-C ends).")) -> None:
    """The README's main job: stack up, templates, crawl the bundled pages with Airflow, consume, search."""
    import os

    from marsad.demo import run_demo
    from marsad.observability import console

    settings = _settings()
    code = run_demo(settings, os.environ, console=console, keep_site=keep_site)
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
