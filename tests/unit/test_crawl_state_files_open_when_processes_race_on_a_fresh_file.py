"""Several crawl processes of one machine opening the same *fresh* SQLite crawl-state file at the same moment
(``make demo``'s Airflow tasks, two ``marsad crawl`` workers, ``test_crawl_fetch``'s two fetchers) all open it.

Seen in CI: one of two fetchers died on ``PRAGMA journal_mode=WAL`` with ``database is locked`` — SQLite returns
``SQLITE_BUSY`` without calling the busy handler when waiting could deadlock — and ``seen.sqlite``'s migrations
raced (``duplicate column name: last_fetched``). Gold, written before the fix: every process of every round exits 0
and the file ends in WAL mode with every column.

Each round starts 4 forked processes held at a barrier and released together on a new file; before the fix, 50
rounds failed 18 of 400 openings of ``politeness.sqlite`` and 81 of 400 of ``seen.sqlite`` on this machine
(2 cores), so a round of 50 misses the race with probability well under 1e-3.
"""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest

CTX = mp.get_context("fork")  # cheap processes; each opens its own connection after the fork
ROUNDS = 50
PROCESSES = 4


def _open(kind: str, path: str, barrier) -> None:
    from marsad.crawl.politeness import Politeness
    from marsad.crawl.state import SeenUrls

    barrier.wait()
    store = Politeness(Path(path)) if kind == "politeness" else SeenUrls(Path(path))
    store.close()


@pytest.mark.parametrize("kind", ["politeness", "seen"])
def test_every_process_opens_a_fresh_state_file_at_once(kind, tmp_path):
    failed = []
    for r in range(ROUNDS):
        path = tmp_path / f"{r}" / f"{kind}.sqlite"
        barrier = CTX.Barrier(PROCESSES)
        procs = [CTX.Process(target=_open, args=(kind, str(path), barrier)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        failed += [(r, p.exitcode) for p in procs if p.exitcode != 0]
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        if kind == "seen":
            assert {"last_fetched"} <= {c[1] for c in db.execute("PRAGMA table_info(seen)")}
            assert {"lease_owner", "leased_until"} <= {c[1] for c in db.execute("PRAGMA table_info(frontier)")}
        db.close()
    assert failed == [], f"(round, exit code) of processes that could not open the file: {failed}"
