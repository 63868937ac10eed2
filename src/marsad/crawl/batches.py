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
