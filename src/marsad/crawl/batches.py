"""Splitting one run's URLs into batches for the DAG's mapped fetch tasks."""

from __future__ import annotations

import math


def plan_batches(urls: list[str], batch_size: int) -> list[list[str]]:
    """``ceil(len(urls) / batch_size)`` contiguous batches of ``urls`` whose sizes differ by at most one.

    Batches, not single URLs, are mapped: every Airflow task instance costs a process start and API round trips
    (about a second in ``airflow dags test``), and requests to one host are spaced by the fetcher anyway, so more
    parallel tasks per host than ``max_parallel`` buy nothing. No URLs gives ``[[]]``: one empty batch, so the
    mapped task and the report still run (an empty ``.expand`` would skip them and leave no report).
    Raises ``ValueError`` for ``batch_size`` < 1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not urls:
        return [[]]
    n = math.ceil(len(urls) / batch_size)
    k, r = divmod(len(urls), n)
    out, start = [], 0
    for i in range(n):
        end = start + k + (1 if i < r else 0)
        out.append(urls[start:end])
        start = end
    return out


def record_batch(settings, source: str, run_id: str, index: int, counts: dict[str, int]) -> dict[str, int]:
    """Add batch ``index``'s ``counts`` of DAG run ``run_id`` to the crawl report of ``source`` and return the run's
    counts so far (the sum over its recorded batches).

    Each mapped fetch task calls this when it is done, so the report is complete when the last batch finishes and
    no separate report task is needed (every Airflow task instance costs start-up time; see
    docs/benchmarks-crawl-dag.md). Batches of one run are kept in ``<crawl_dir>/reports/batches-<source>.json``
    under an exclusive ``flock`` (mapped tasks finish concurrently); a retried batch replaces its own entry
    (idempotent); a new ``run_id`` starts over. Raises ``OSError`` when the report directory is unusable.
    """
    import fcntl
    from collections import Counter

    import orjson

    from marsad.crawl.run import write_atomic, write_report

    reports = settings.crawl_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    with open(reports / f".batches-{source}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = reports / f"batches-{source}.json"
        try:
            state = orjson.loads(path.read_bytes()) if path.exists() else {}
        except orjson.JSONDecodeError:  # damaged outside write_atomic (disk, hand edit): a report's counts, restart
            state = {}
        if not isinstance(state, dict) or state.get("run_id") != run_id:
            state = {"run_id": run_id, "batches": {}}
        state["batches"][str(index)] = counts
        write_atomic(path, orjson.dumps(state))
        total: Counter = Counter()
        for c in state["batches"].values():
            total.update(c)
        write_report(settings, source, dict(total))
    return dict(total)
