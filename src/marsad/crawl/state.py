"""Crawl state shared by every crawl worker: seen URLs, the frontier, and poll state of feeds/sitemaps/sections.

One SQLite file (``<crawl_dir>/seen.sqlite``) in WAL mode: it survives restarts and is safe for several crawl
processes on one machine (readers never block, writers are serialised by SQLite's lock with a 30 s busy timeout;
every write is an idempotent upsert). A multi-machine deployment needs one shared store instead — a PostgreSQL table
with the same three tables (``INSERT … ON CONFLICT``), or a status index as StormCrawler keeps in Elasticsearch/
OpenSearch — not a file on a network share (SQLite's locking is unreliable over NFS).

Tables:

* ``seen(url, source, first_seen, last_fetched)`` — canonical URLs fetched (or finally refused). A URL is fetched
  once unless its source sets ``refetch_after_h``.
* ``frontier(url, source, link, discovered_at, fetched_at)`` — URLs discovery found and that wait for a fetch.
  Discovery returns a source's pending rows, so URLs past ``max_items`` or of a failed run are not lost when the
  feed answers 304 next time; :meth:`SeenUrls.mark` closes the row.
* ``polls(url, …)`` — per feed/sitemap/section URL: ETag, Last-Modified, body hash, last poll, last change, the
  current adaptive interval and the next poll due (see :class:`PollState`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

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


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat()


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(_SCHEMA)
    cols = {r[1] for r in db.execute("PRAGMA table_info(seen)")}
    if "last_fetched" not in cols:  # databases written before re-fetch existed
        db.execute("ALTER TABLE seen ADD COLUMN last_fetched TEXT")
        db.execute("UPDATE seen SET last_fetched = first_seen WHERE last_fetched IS NULL")
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
        self._db.execute("UPDATE frontier SET fetched_at = ? WHERE url = ?", (t, url))
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
                "link = excluded.link, source = excluded.source, handed_out = 0, abandoned = 0 "
                "WHERE frontier.fetched_at IS NOT NULL",
                (url, source, link, t),
            )
            added += cur.rowcount
        self._db.commit()
        return added

    def pending(self, source: str, limit: int | None = None, *, hand_out: bool = False) -> list[str]:
        """Links waiting in ``source``'s frontier, oldest discovery first (at most ``limit``). With ``hand_out``
        the returned rows count one more attempt (see :meth:`abandon`)."""
        rows = self._db.execute(
            "SELECT url, link FROM frontier WHERE source = ? AND fetched_at IS NULL "
            "ORDER BY discovered_at, rowid LIMIT ?",
            (source, -1 if limit is None else limit),
        ).fetchall()
        if hand_out and rows:
            self._db.executemany("UPDATE frontier SET handed_out = handed_out + 1 WHERE url = ?",
                                 [(r[0],) for r in rows])
            self._db.commit()
        return [r[1] for r in rows]

    def refund(self, urls: list[str]) -> None:
        """Take back one hand-out of the pending ``urls`` (canonical): the run they were handed to could not publish
        anything (Kafka down), so it was no attempt of theirs — an outage must not make :meth:`abandon` drop them."""
        self._db.executemany("UPDATE frontier SET handed_out = max(handed_out - 1, 0) "
                             "WHERE url = ? AND fetched_at IS NULL", [(u,) for u in urls])
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
        if not 0 < min_s <= max_s:
            raise ValueError(f"poll interval bounds must satisfy 0 < min <= max, got {min_s}, {max_s}")
        self._db = _connect(path)
        self.min_s, self.max_s = min_s, max_s

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
        self._db.execute(
            "INSERT OR REPLACE INTO polls (url, source, etag, last_modified, body_hash, last_poll, last_change, "
            "interval_s, next_poll, polls, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new.url, source, new.etag, new.last_modified, new.body_hash, _iso(t),
             _iso(new.last_change) if new.last_change else None, new.interval_s, _iso(new.next_poll),
             new.polls, new.changes))
        self._db.commit()
        return new

    def close(self) -> None:
        self._db.close()
