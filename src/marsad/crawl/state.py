"""Crawl state shared by every crawl worker: seen URLs, the frontier, and poll state of feeds/sitemaps/sections.

Two stores behind one interface, chosen by ``settings.crawl_state_url`` (:func:`marsad.crawl.stores.open_seen`,
:func:`~marsad.crawl.stores.open_polls`):

* unset (the default, ``make demo``): one SQLite file (``<crawl_dir>/seen.sqlite``) in WAL mode. It survives
  restarts and is safe for several crawl processes on one machine (readers never block, writers are serialised by
  SQLite's lock with a 30 s busy timeout; the frontier hand-out takes the write lock first, ``BEGIN IMMEDIATE``).
  Not for several machines: SQLite's locking is unreliable over NFS.
* ``postgresql://…``: the same tables in PostgreSQL (:mod:`marsad.crawl.pgstate`), shared by every worker on every
  machine; the hand-out is ``SELECT … FOR UPDATE SKIP LOCKED``.

Tables:

* ``seen(url, source, first_seen, last_fetched)`` — canonical URLs fetched (or finally refused). A URL is fetched
  once unless its source sets ``refetch_after_h``.
* ``frontier(url, source, link, discovered_at, fetched_at, handed_out, abandoned, lease_owner, leased_until)`` —
  URLs discovery found and that wait for a fetch. Discovery hands out a source's pending rows, so URLs past
  ``max_items`` or of a failed run are not lost when the feed answers 304 next time; :meth:`SeenUrls.mark` closes
  the row. A handed-out row is *leased* to one worker (``settings.crawl_worker_id``) for
  ``settings.frontier_lease_s``: no other worker gets it meanwhile (two workers never fetch one URL twice), the
  same worker gets it again (a retried discovery is idempotent), and a worker killed mid-batch loses nothing.
* ``polls(url, …)`` — per feed/sitemap/section URL: ETag, Last-Modified, body hash, last poll, last change, the
  current adaptive interval and the next poll due (see :class:`PollState`).
"""

from __future__ import annotations

import os
import socket
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from marsad.crawl.sqlite_wal import connect_wal

if TYPE_CHECKING:
    from marsad.settings import Settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (url TEXT PRIMARY KEY, source TEXT NOT NULL, first_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frontier (
    url TEXT PRIMARY KEY, source TEXT NOT NULL, link TEXT NOT NULL, discovered_at TEXT NOT NULL, fetched_at TEXT,
    handed_out INTEGER NOT NULL DEFAULT 0, abandoned INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS frontier_pending ON frontier (source, fetched_at, discovered_at);
CREATE TABLE IF NOT EXISTS polls (
    url TEXT PRIMARY KEY, source TEXT NOT NULL, etag TEXT, last_modified TEXT, body_hash TEXT,
    last_poll TEXT, last_change TEXT, interval_s REAL NOT NULL, next_poll TEXT NOT NULL,
    polls INTEGER NOT NULL DEFAULT 0, changes INTEGER NOT NULL DEFAULT 0);
"""

DEFAULT_LEASE_S = 3600.0
"""Frontier lease when the caller names none (seconds; ``settings.frontier_lease_s``)."""


def worker_id(settings: Settings | None = None) -> str:
    """The frontier lease owner of this process: ``settings.crawl_worker_id`` or ``<hostname>:<pid>``."""
    if settings is not None and settings.crawl_worker_id:
        return settings.crawl_worker_id
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat()


def _connect(path: Path) -> sqlite3.Connection:
    db = connect_wal(path, timeout_s=30)
    # Schema and migrations under the write lock: two processes opening one file at once would otherwise both see
    # a column missing and the second ALTER TABLE fail ("duplicate column name").
    db.executescript("BEGIN IMMEDIATE;" + _SCHEMA)
    cols = {r[1] for r in db.execute("PRAGMA table_info(seen)")}
    if "last_fetched" not in cols:  # databases written before re-fetch existed
        db.execute("ALTER TABLE seen ADD COLUMN last_fetched TEXT")
        db.execute("UPDATE seen SET last_fetched = first_seen WHERE last_fetched IS NULL")
    cols = {r[1] for r in db.execute("PRAGMA table_info(frontier)")}
    if "lease_owner" not in cols:  # databases written before leases existed
        db.execute("ALTER TABLE frontier ADD COLUMN lease_owner TEXT")
        db.execute("ALTER TABLE frontier ADD COLUMN leased_until TEXT")
    db.commit()
    return db


class SeenUrls:
    """Seen URLs and the frontier. URLs are canonical URLs (:func:`marsad.dedup.urls.canonical_url`)."""

    def __init__(self, path: Path) -> None:
        self._db = _connect(path)

    def seen(self, url: str) -> bool:
        return self._db.execute("SELECT 1 FROM seen WHERE url = ?", (url,)).fetchone() is not None

    def due(self, url: str, refetch_after_h: float | None = None, now: datetime | None = None) -> bool:
        """True when ``url`` should be fetched: never fetched, or fetched more than ``refetch_after_h`` hours ago."""
        row = self._db.execute("SELECT last_fetched FROM seen WHERE url = ?", (url,)).fetchone()
        if row is None:
            return True
        if refetch_after_h is None:
            return False
        last = datetime.fromisoformat(row[0])
        return (now or _now()) - last >= timedelta(hours=refetch_after_h)

    def mark(self, url: str, source: str, now: datetime | None = None) -> None:
        """Record that ``url`` was fetched (or finally refused) now; closes its frontier row. Idempotent."""
        t = _iso(now or _now())
        self._db.execute(
            "INSERT INTO seen (url, source, first_seen, last_fetched) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET last_fetched = excluded.last_fetched",
            (url, source, t, t),
        )
        self._db.execute("UPDATE frontier SET fetched_at = ?, lease_owner = NULL, leased_until = NULL WHERE url = ?",
                         (t, url))
        self._db.commit()

    def enqueue(self, items: list[tuple[str, str]], source: str, now: datetime | None = None) -> int:
        """Add ``(canonical_url, link)`` pairs to ``source``'s frontier (pending); returns how many were not
        pending already. A URL fetched before is re-opened (the caller decided it is due again)."""
        t = _iso(now or _now())
        added = 0
        for url, link in items:
            cur = self._db.execute(
                "INSERT INTO frontier (url, source, link, discovered_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET fetched_at = NULL, discovered_at = excluded.discovered_at, "
                "link = excluded.link, source = excluded.source, handed_out = 0, abandoned = 0, lease_owner = NULL, "
                "leased_until = NULL "
                "WHERE frontier.fetched_at IS NOT NULL",
                (url, source, link, t),
            )
            added += cur.rowcount
        self._db.commit()
        return added

    def pending(self, source: str, limit: int | None = None, *, hand_out: bool = False, owner: str | None = None,
                lease_s: float = DEFAULT_LEASE_S, now: datetime | None = None) -> list[str]:
        """Links waiting in ``source``'s frontier, oldest discovery first (at most ``limit``).

        Without ``hand_out``: every pending link (leased or not), nothing changes. With ``hand_out``: the rows not
        leased to another worker (no lease, an expired one, or one of ``owner``), leased to ``owner`` (default
        :func:`worker_id`) until ``now + lease_s`` seconds, each counting one more attempt (see :meth:`abandon`).
        Atomic across processes: two workers handing out one frontier never get the same URL.
        """
        if not hand_out:
            rows = self._db.execute(
                "SELECT url, link FROM frontier WHERE source = ? AND fetched_at IS NULL "
                "ORDER BY discovered_at, rowid LIMIT ?",
                (source, -1 if limit is None else limit),
            ).fetchall()
            return [r[1] for r in rows]
        owner = owner or worker_id()
        t = now or _now()
        self._db.execute("BEGIN IMMEDIATE")  # the write lock before reading: no other worker hands out meanwhile
        try:
            rows = self._db.execute(
                "SELECT url, link FROM frontier WHERE source = ? AND fetched_at IS NULL "
                "AND (lease_owner IS NULL OR lease_owner = ? OR leased_until <= ?) "
                "ORDER BY discovered_at, rowid LIMIT ?",
                (source, owner, _iso(t), -1 if limit is None else limit),
            ).fetchall()
            until = _iso(t + timedelta(seconds=lease_s))
            self._db.executemany("UPDATE frontier SET handed_out = handed_out + 1, lease_owner = ?, "
                                 "leased_until = ? WHERE url = ?", [(owner, until, r[0]) for r in rows])
            self._db.commit()
        except BaseException:
            self._db.rollback()
            raise
        return [r[1] for r in rows]

    def waiting(self, source: str, now: datetime | None = None) -> int:
        """Pending rows of ``source`` not leased to anyone now (what the next hand-out could get)."""
        return self._db.execute(
            "SELECT count(*) FROM frontier WHERE source = ? AND fetched_at IS NULL "
            "AND (lease_owner IS NULL OR leased_until <= ?)", (source, _iso(now or _now()))).fetchone()[0]

    def release(self, urls: list[str]) -> None:
        """End the lease of the pending ``urls`` (canonical) without closing them: their fetch failed transiently,
        the next hand-out (by any worker) may take them at once."""
        self._db.executemany("UPDATE frontier SET lease_owner = NULL, leased_until = NULL "
                             "WHERE url = ? AND fetched_at IS NULL", [(u,) for u in urls])
        self._db.commit()

    def refund(self, urls: list[str]) -> None:
        """Take back one hand-out of the pending ``urls`` (canonical) and end their lease: the run they were handed
        to could not publish anything (Kafka down), so it was no attempt of theirs — an outage must not make
        :meth:`abandon` drop them."""
        self._db.executemany("UPDATE frontier SET handed_out = max(handed_out - 1, 0), lease_owner = NULL, "
                             "leased_until = NULL WHERE url = ? AND fetched_at IS NULL", [(u,) for u in urls])
        self._db.commit()

    def abandon(self, source: str, max_attempts: int, now: datetime | None = None) -> list[str]:
        """Close the pending rows of ``source`` handed out ``max_attempts`` times without being marked fetched
        (a URL that times out on every run would otherwise hold a ``max_items`` slot forever); returns their links.
        They are not marked seen: if discovery finds them again later they are queued afresh."""
        rows = self._db.execute(
            "SELECT url, link FROM frontier WHERE source = ? AND fetched_at IS NULL AND handed_out >= ?",
            (source, max_attempts)).fetchall()
        if rows:
            t = _iso(now or _now())
            self._db.executemany("UPDATE frontier SET fetched_at = ?, abandoned = 1 WHERE url = ?",
                                 [(t, r[0]) for r in rows])
            self._db.commit()
        return [r[1] for r in rows]

    def close(self) -> None:
        self._db.close()


@dataclass
class Poll:
    """Poll state of one feed/sitemap/section-page URL. Times are aware UTC datetimes; ``interval_s`` seconds."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_poll: datetime | None = None
    last_change: datetime | None = None
    interval_s: float = 0.0
    next_poll: datetime | None = None
    polls: int = 0
    changes: int = 0

    def conditional_headers(self) -> dict[str, str]:
        """``If-None-Match`` / ``If-Modified-Since`` from the last 200 answer (RFC 9110 §13.1)."""
        h = {}
        if self.etag:
            h["If-None-Match"] = self.etag
        if self.last_modified:
            h["If-Modified-Since"] = self.last_modified
        return h


POLL_SLACK_S = 60.0
"""A poll due within this many seconds counts as due now: scheduled runs start a little early or late, and an
interval equal to the schedule period must not skip every other run."""


class PollState:
    """Adaptive re-polling of feeds, sitemaps and section pages (same SQLite file as :class:`SeenUrls`).

    The interval of each URL lives in ``[min_s, max_s]``: it is halved after a poll that found a change (new ETag or
    body) and doubled after one that did not (``304 Not Modified`` or the same body hash). The model is Media Cloud's
    rss-fetcher (per-feed ``poll_minutes`` shortened on new stories, lengthened on none) and StormCrawler's
    ``AdaptiveScheduler`` (``fetchInterval`` decreased on change, increased on "not modified", within bounds).
    A first poll is always due.
    """

    def __init__(self, path: Path, min_s: float, max_s: float) -> None:
        self._check_bounds(min_s, max_s)
        self._db = _connect(path)
        self.min_s, self.max_s = min_s, max_s

    @staticmethod
    def _check_bounds(min_s: float, max_s: float) -> None:
        if not 0 < min_s <= max_s:
            raise ValueError(f"poll interval bounds must satisfy 0 < min <= max, got {min_s}, {max_s}")

    def get(self, url: str) -> Poll:
        row = self._db.execute(
            "SELECT etag, last_modified, body_hash, last_poll, last_change, interval_s, next_poll, polls, changes "
            "FROM polls WHERE url = ?", (url,)).fetchone()
        if row is None:
            return Poll(url=url, interval_s=self.min_s)
        ts = [datetime.fromisoformat(v) if v else None for v in (row[3], row[4], row[6])]
        return Poll(url, row[0], row[1], row[2], ts[0], ts[1], row[5], ts[2], row[7], row[8])

    def is_due(self, poll: Poll, now: datetime | None = None) -> bool:
        """True when ``poll`` was never made or its next poll time is (within :data:`POLL_SLACK_S`) reached."""
        return poll.next_poll is None or poll.next_poll <= (now or _now()) + timedelta(seconds=POLL_SLACK_S)

    def record(self, poll: Poll, source: str, *, changed: bool, etag: str | None = None,
               last_modified: str | None = None, body_hash: str | None = None,
               now: datetime | None = None) -> Poll:
        """Store the outcome of a poll and schedule the next one; returns the new state.

        ``changed``: the resource answered with new content (halve the interval) or not (double it). For a ``304``
        pass ``changed=False`` and no validators: the stored ETag/Last-Modified/hash stay as they were.
        """
        t = now or _now()
        interval = poll.interval_s / 2 if changed else poll.interval_s * 2
        if poll.polls == 0:
            interval = poll.interval_s or self.min_s  # the first answer tells nothing about the change rate
        interval = min(self.max_s, max(self.min_s, interval))
        new = Poll(
            url=poll.url,
            etag=etag if etag is not None else poll.etag,
            last_modified=last_modified if last_modified is not None else poll.last_modified,
            body_hash=body_hash if body_hash is not None else poll.body_hash,
            last_poll=t,
            last_change=t if changed else poll.last_change,
            interval_s=interval,
            next_poll=t + timedelta(seconds=interval),
            polls=poll.polls + 1,
            changes=poll.changes + (1 if changed else 0),
        )
        self._save(new, source)
        return new

    def _save(self, new: Poll, source: str) -> None:
        assert new.last_poll is not None and new.next_poll is not None  # record() sets both
        self._db.execute(
            "INSERT OR REPLACE INTO polls (url, source, etag, last_modified, body_hash, last_poll, last_change, "
            "interval_s, next_poll, polls, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new.url, source, new.etag, new.last_modified, new.body_hash, _iso(new.last_poll),
             _iso(new.last_change) if new.last_change else None, new.interval_s, _iso(new.next_poll),
             new.polls, new.changes))
        self._db.commit()

    def close(self) -> None:
        self._db.close()
