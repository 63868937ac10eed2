"""``marsad demo``: the README's main job on the bundled inputs.

1. start the local stack (Kafka + Elasticsearch) and apply the index templates;
2. serve the corpus (``settings.corpus_dir``) as local news sites with feeds on 127.0.0.1, or the shipped sample
   site when the corpus is absent, and write a sources registry for them;
3. run each source's crawl DAG once with ``airflow dags test`` (real Airflow, SQLite metadata DB);
4. drain the extract and index consumers;
5. print the counts and three Arabic searches;
6. print the alert events of ``marsad/alerts/rules.yaml`` (loaded before the crawl) read from the alerts topic;
7. replay the retained raw pages into the next index version and swap the alias (:func:`show_replay`);
   leave the stack running.

Each demo run starts with an empty seen-URL state of its own (``state_dir/demo/crawl``), so it crawls every
bundled page again; indexing is idempotent, so repeated runs leave the same documents.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from marsad.demo.airflow import airflow_env, migrate_airflow, run_dag
from marsad.settings import Settings

DEMO_QUERIES: tuple[str, ...] = ("حاملات طائرات", "صواريخ دمشق", "السحب الآمن للخزانات الجوفية")
"""The seed story mentions «حاملات طائرات» (attributed to hashtagsyria.com); the four CNN Arabic copies (one story)
are about Damascus missiles; the youm7 story about groundwater comes with a full aggregator copy and a teaser, both
joined to it as republications."""
SAMPLE_QUERIES = ("حاملات طائرات", "بيروت")


def run_demo(settings: Settings, environ: Mapping[str, str], console: Console | None = None,
             keep_site: bool = False) -> int:
    """Run the demo; returns the process exit code (0 when every step worked and the searches found hits)."""
    from marsad import stack
    from marsad.crawl.registry import load_registry
    from marsad.demo.server import serve
    from marsad.demo.site import build_sites, corpus_available, write_registry
    from marsad.index.es import Es
    from marsad.index.templates import (
        IncompatibleIndex,
        apply_templates,
        start_empty_version,
    )
    from marsad.kafka.clients import ensure_topics
    from marsad.pipeline import drain
    from marsad.render import print_hits
    from marsad.search import search

    console = console or Console()
    t0 = time.monotonic()
    demo_dir = Path(settings.state_dir) / "demo"
    crawl_dir = demo_dir / "crawl"
    shutil.rmtree(crawl_dir, ignore_errors=True)
    demo_dir.mkdir(parents=True, exist_ok=True)
    base_url = f"http://127.0.0.1:{settings.demo_site_port}"
    registry = demo_dir / "sources.yaml"
    settings = settings.model_copy(update={
        "sources_file": registry, "crawl_state_dir": crawl_dir,
        "allow_private_hosts": sorted({*settings.allow_private_hosts, "127.0.0.1"}),
        # all demo sites share one local host: keep politeness on, but at 50 ms instead of the 1 s default
        "min_host_interval_s": min(settings.min_host_interval_s, 0.05),
    })

    console.rule("[bold]1. local stack")
    try:
        stack.up(settings, console=console)
    except stack.StackError as exc:
        console.print(f"[red]stack failed:[/] {exc}")
        return 1
    try:
        applied = apply_templates(settings)
    except IncompatibleIndex as exc:  # a stack from an older Marsad: the demo rebuilds its stories anyway
        moved = start_empty_version(settings, Es.from_settings(settings), exc.next_index)
        console.print(f"  {', '.join(exc.indices)} was built by an older template; the demo starts "
                      f"{exc.next_index} (aliases moved from {moved[settings.stories_alias]}; the old index is kept)",
                      highlight=False)
        applied = apply_templates(settings)
    for what, how in applied.items():
        console.print(f"  {what}: {how}", highlight=False)
    ensure_topics(settings)
    from marsad.alerts.demo import (  # alerts: rules before the crawl, events at the end
        load_demo_rules,
        show_alerts,
    )
    from marsad.messages import utcnow

    alert_rules, run_started = load_demo_rules(settings, console), utcnow()

    console.rule("[bold]2. demo news sites")
    if corpus_available(settings.corpus_dir):
        console.print(f"  serving the corpus at {settings.corpus_dir}")
        queries = DEMO_QUERIES
    else:
        console.print(f"  [yellow]corpus folder {settings.corpus_dir} is absent: using the small sample site "
                      f"shipped with Marsad[/]")
        queries = SAMPLE_QUERIES
    sites = build_sites(settings.corpus_dir, base_url)
    write_registry(sites, base_url, registry)
    server = serve(sites, port=settings.demo_site_port)
    sources = [s for s in load_registry(registry) if s.enabled]
    pages = sum(len(s.pages) for s in sites.values())
    console.print(f"  {len(sources)} sites, {pages} pages, feeds at {base_url}/<site>/feed.xml")

    console.rule("[bold]3. crawl with Airflow (airflow dags test, one DAG per source)")
    env = airflow_env(settings, environ)
    af_log = demo_dir / "airflow.log"
    af_log.write_bytes(b"")
    crawl_counts: Counter = Counter()
    failed_dags = []
    try:
        migrate_airflow(env, af_log)
        with Progress(TextColumn("  {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console) as prog:
            task = prog.add_task("DAG runs", total=len(sources))
            for src in sources:
                prog.update(task, description=f"{src.dag_id:28}")
                if run_dag(src.dag_id, env, af_log) != 0:
                    failed_dags.append(src.dag_id)
                report = crawl_dir / "reports" / f"crawl-{src.name}.json"
                if report.exists():
                    crawl_counts.update(orjson.loads(report.read_bytes())["counts"])
                prog.advance(task)
    finally:
        if not keep_site:
            server.stop()
    if failed_dags:
        console.print(f"  [red]failed DAG runs: {failed_dags}[/] (log: {af_log})")

    console.rule("[bold]4. consumers: extract → index")
    with Progress(TextColumn("  {task.description}"), TextColumn("{task.completed} records"),
                  TimeElapsedColumn(), console=console) as prog:
        tasks = {n: prog.add_task(n, total=None) for n in ("extract", "index")}
        stats = drain(settings, progress=lambda n, s: prog.update(tasks[n], completed=s.consumed))
    es = Es.from_settings(settings)
    es.request("POST", f"/{settings.stories_alias}/_refresh")
    total_docs = es.request("GET", f"/{settings.stories_alias}/_count")["count"]

    ex, ix = stats["extract"], stats["index"]
    dlq = ex["outcomes"].get("dead_lettered", 0) + ix["outcomes"].get("dead_lettered", 0) \
        + crawl_counts.get("dead_lettered", 0)
    table = Table(title="this run", show_header=True)
    table.add_column("step")
    table.add_column("pages", justify="right")
    table.add_column("meaning")
    for label, value, meaning in (
        ("discovered", crawl_counts.get("discovered", 0), "new article links in the feeds"),
        ("fetched", crawl_counts.get("fetched", 0), "article pages downloaded by the DAG tasks"),
        ("published", crawl_counts.get("published", 0),
         f"raw pages acknowledged by Kafka ({settings.raw_pages_topic})"),
        ("extracted", ex["outcomes"].get("ok", 0), "articles produced by trafilatura"),
        ("discarded", ex["outcomes"].get("discarded", 0), "not articles (reason counted)"),
        ("duplicates", ix["outcomes"].get("duplicate", 0),
         "copies joined to an existing story (same or near-same text)"),
        ("indexed", ix["outcomes"].get("indexed", 0), "story documents written"),
        ("dead-lettered", dlq, f"sent to {settings.dead_letter_topic} with a reason"),
    ):
        table.add_row(label, str(value), meaning)
    console.print(table)
    reasons = {**ex["reasons"], **ix["reasons"], **{k: v for k, v in crawl_counts.items() if k.startswith("refused")}}
    if reasons:
        console.print(f"  reasons: {reasons}", highlight=False)
    console.print(f"  stories in {settings.stories_alias}: {total_docs}")

    console.rule("[bold]5. Arabic search")
    found_all = True
    for q in queries:
        total, hits = search(settings, q, es=es, size=3)
        found_all &= total > 0
        print_hits(console, q, total, hits)
        console.print()
    console.rule("[bold]6. alerts fired at ingest (percolator)")
    fired = show_alerts(settings, console, alert_rules, run_started)
    found_all &= any(e.rule == "carriers" for e in fired)
    replay_ok = show_replay(settings, console)
    console.rule()
    console.print(f"done in {time.monotonic() - t0:.0f} s. The stack is still running: search with "
                  f"[bold].venv/bin/marsad search \"…\"[/]; stop it with [bold]make stop[/] "
                  f"(= .venv/bin/marsad stack down).")
    if keep_site:
        console.print(f"demo site still served at {base_url}/ — Ctrl-C to end")
        try:
            server.wait()
        except KeyboardInterrupt:
            server.stop()
    return 0 if (found_all and not failed_dags and replay_ok) else 1


REPLAY_FROM = "1970-01-01T00:00:00+00:00"
"""The demo replays the whole retained raw-pages topic: a rebuild of the stories index, as after an extractor
change."""


def show_replay(settings: Settings, console: Console, since: str = REPLAY_FROM) -> bool:
    """Demo step: replay the raw pages recorded since ``since`` (ISO 8601) into the next stories index version with
    ``--swap`` and print old → new index, the pages and both aliases after the swap.

    Returns True when the read alias points at the new index and it holds stories.
    """
    from marsad.index.es import Es
    from marsad.index.templates import alias_targets, next_index_name
    from marsad.replay import parse_instant, replay

    console.rule("[bold]7. replay raw pages into a new index version, then swap the alias")
    es = Es.from_settings(settings)
    old = alias_targets(es, settings.stories_alias)
    before = es.request("GET", f"/{settings.stories_alias}/_count")["count"] if old else 0
    new = next_index_name(settings, es)
    console.print(f"  marsad replay --from {since} --index {new} --swap   (the whole retained topic)",
                  highlight=False)
    with Progress(TextColumn("  {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} pages"),
                  TimeElapsedColumn(), console=console) as prog:
        task = prog.add_task("replay", total=None)
        stats = replay(settings, parse_instant(since), None, new, swap=True,
                       progress=lambda done, total: prog.update(task, completed=done, total=total))
    after = alias_targets(es, settings.stories_alias)
    count = es.request("GET", f"/{settings.stories_alias}/_count")["count"]
    console.print(f"  {', '.join(old) or '(none)'} → {new}: {stats.done} raw pages replayed in "
                  f"{stats.seconds:.1f} s {dict(stats.outcomes)}", highlight=False)
    console.print(f"  alias {settings.stories_alias} → {', '.join(after)} ({count} stories; before: {before}); "
                  f"alias {settings.fingerprints_index} → {', '.join(alias_targets(es, settings.fingerprints_index))}; "
                  f"the old index is kept for a rollback (swap back with one _aliases call)", highlight=False)
    return after == [new] and count > 0
