"""``marsad consume`` (the extract and index consumers) and ``marsad audit`` (where every raw page ended)."""

from __future__ import annotations

import sys

import typer

from marsad.cli.common import cannot_run, cli_settings, fail


def consume(stage: str = typer.Argument(..., help="extract | index | all"),
            until_idle: bool = typer.Option(False, "--until-idle",
                                            help="Stop once the input topics are drained.")) -> None:
    """Run consumers: extract (raw pages → articles), index (articles → Elasticsearch), or all."""
    import multiprocessing

    from marsad import pipeline
    from marsad.kafka.worker import exit_if_close_hung
    from marsad.observability import console

    settings = cli_settings()
    if stage not in ("extract", "index", "all"):
        fail(f"unknown stage {stage!r}: use extract, index or all")
    if settings.metrics_port:
        from marsad.observability import start_metrics_server

        start_metrics_server(settings.metrics_port)
    factories = {"extract": pipeline.extract_worker, "index": pipeline.index_worker}
    names = ["extract", "index"] if stage == "all" else [stage]
    if stage == "all" and until_idle or len(names) == 1:
        # consumer_retry_limit_s ran out (or Kafka refused the group): nothing of the batch was committed
        worker = None
        with cannot_run(f"{stage} consumer stopped (restarting resumes after the last committed batch): "):
            if stage == "all":
                console.print(pipeline.drain(settings), highlight=False)
            else:
                worker = factories[stage](settings)
                console.print(worker.run(until_idle=until_idle).as_dict(), highlight=False)
        if worker is not None:
            exit_if_close_hung(worker)
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
        fail(f"consumer processes failed: {failed}", 1)


def _run_stage(name: str) -> None:
    from marsad import pipeline
    from marsad.kafka.worker import exit_if_close_hung

    settings = cli_settings()
    factory = {"extract": pipeline.extract_worker, "index": pipeline.index_worker}[name]
    try:
        with cannot_run(f"{name}: "):
            worker = factory(settings)
            worker.run()
        exit_if_close_hung(worker)
    except KeyboardInterrupt:
        return
    except typer.Exit as exc:
        sys.exit(exc.exit_code)


def audit(since: str | None = typer.Option(None, "--since", help="ISO 8601; raw pages published at or after."),
          until: str | None = typer.Option(None, "--until", help="ISO 8601; raw pages published before."),
          as_json: bool = typer.Option(False, "--json", help="Print the counts as one JSON object.")) -> None:
    """Reconcile the raw-pages topic with the ledger: every raw page must be a story, a republication, a duplicate,
    discarded or dead-lettered, and no URL in two stories. Exit 1 when a page is unaccounted or a URL doubled."""
    import json

    from marsad.errors import TransientError
    from marsad.ledger import audit as run_audit
    from marsad.observability import console
    from marsad.replay import parse_instant

    settings = cli_settings()
    try:
        start = parse_instant(since) if since else None
        end = parse_instant(until) if until else None
    except ValueError as exc:
        fail(str(exc))
    if start is not None and end is not None and end <= start:
        fail(f"--until ({end.isoformat()}) must be after --since ({start.isoformat()}): the window holds no raw page")
    try:
        report = run_audit(settings, start, end)
    except TransientError as exc:
        fail(f"{exc} (is the stack up? `marsad stack up`)", 1)
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
