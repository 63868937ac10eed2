"""Splitting one run's URLs into batches for the DAG's mapped fetch tasks."""

from __future__ import annotations

import math


def plan_batches(urls: list[str], max_parallel: int, batch_size: int) -> list[list[str]]:
    """Contiguous batches of ``urls``: at least ``min(max_parallel, len(urls))`` of them (so the allowed
    parallelism is used) and none larger than ``batch_size`` (a failed task retries a bounded amount of work).

    No URLs gives ``[[]]``: one empty batch, so the mapped task and the report still run (an empty ``.expand``
    would skip them and leave no report). Raises ``ValueError`` for ``max_parallel`` or ``batch_size`` < 1.
    """
    if max_parallel < 1 or batch_size < 1:
        raise ValueError(f"max_parallel and batch_size must be >= 1, got {max_parallel}, {batch_size}")
    if not urls:
        return [[]]
    n = max(min(max_parallel, len(urls)), math.ceil(len(urls) / batch_size))
    k, r = divmod(len(urls), n)
    out, start = [], 0
    for i in range(n):  # sizes differ by at most one
        end = start + k + (1 if i < r else 0)
        out.append(urls[start:end])
        start = end
    return out
