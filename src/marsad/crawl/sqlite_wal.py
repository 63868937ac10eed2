"""Open a SQLite file shared by several crawl processes of one machine in WAL mode, without losing a race.

Two processes opening a *fresh* file at the same moment race on ``PRAGMA journal_mode=WAL``: switching from the
rollback journal to WAL needs an exclusive lock, and a connection that already holds a shared lock while another
holds the reserved lock gets ``SQLITE_BUSY`` at once — SQLite does not call the busy handler when waiting could
deadlock (https://www.sqlite.org/c3ref/busy_handler.html). :func:`connect_wal` retries the switch with backoff
until ``timeout_s``. The same race on ``CREATE TABLE``/``ALTER TABLE`` migrations is the caller's: run them
inside ``BEGIN IMMEDIATE`` (see :func:`marsad.crawl.state._connect`).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Literal

_FIRST_WAIT_S = 0.01
_MAX_WAIT_S = 0.5


def connect_wal(path: Path, *, timeout_s: float,
                isolation_level: Literal["DEFERRED", "IMMEDIATE", "EXCLUSIVE"] | None = "DEFERRED"
                ) -> sqlite3.Connection:
    """A connection to ``path`` (created with its parent directory if missing) in WAL journal mode.

    ``timeout_s`` (seconds) is both SQLite's busy timeout and the limit of the WAL-switch retries;
    ``isolation_level`` is passed to :func:`sqlite3.connect` (``"DEFERRED"``: implicit ``BEGIN`` before writes,
    like its default ``""``; ``None``: autocommit).
    Raises :class:`sqlite3.OperationalError` when the file stays locked for ``timeout_s``, or on any other SQLite
    error (a read-only or corrupt file).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=isolation_level)
    deadline = time.monotonic() + timeout_s
    wait = _FIRST_WAIT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return db
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() + wait > deadline:
                db.close()
                raise
        time.sleep(wait)
        wait = min(wait * 2, _MAX_WAIT_S)
