"""The crawl state in PostgreSQL: one store shared by every crawl worker on every machine (psycopg 3).

Chosen by ``settings.crawl_state_url = postgresql://…`` (:func:`marsad.crawl.stores.open_seen`,
:func:`~marsad.crawl.stores.open_polls`, :func:`marsad.crawl.stores.open_politeness`); the classes here have
the interface and the semantics of their SQLite counterparts (:class:`~marsad.crawl.state.SeenUrls`,
:class:`~marsad.crawl.state.PollState`, :class:`~marsad.crawl.politeness.Politeness`), and the same unit tests run
against both stores (the ``crawl_store`` fixture: ``tests/unit/test_discover.py``, ``tests/unit/test_politeness.py``).

Where two workers race, one statement or one transaction decides (PostgreSQL's ``READ COMMITTED``):

* **frontier hand-out** — ``SELECT … FOR UPDATE SKIP LOCKED`` of the rows not leased to another worker, leased in
  the same statement: two workers handing out one frontier never get the same URL;
* **seen mark** — ``INSERT … ON CONFLICT DO UPDATE`` and the frontier row closed in one transaction;
* **per-host slot** — ``INSERT … ON CONFLICT (host) DO UPDATE SET next_at = GREATEST(next_at, now) + interval
  RETURNING``: the conflicting row is locked and re-read at its latest committed version, so every claim across
  every machine gets its own slot, ``interval`` after the previous one;
* **Retry-After defer and hold** — upserts that only ever push the time later (``GREATEST``);
* **robots.txt cache** and **poll state** — upserts; a poll outcome older than the stored one is not written.

Slot times are Unix seconds of the claiming machine's clock, as in SQLite: machines sharing the store must keep
their clocks in sync (NTP; a skew of *d* seconds can bring two requests *d* seconds closer).

The schema is created on first connection under a transaction-level advisory lock (two workers starting at once do
not race on ``CREATE TABLE``) and recorded in ``marsad_schema`` (``component = 'crawl'``, ``version``): a newer
version adds its statements to :data:`MIGRATIONS`; a database newer than this code is refused.

Errors: an unreachable or refusing server raises :class:`~marsad.errors.TransientError` naming the host (never the
password); a database written by a newer Marsad raises :class:`~marsad.errors.ConfigError`.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import psycopg

from marsad.crawl.politeness import HOLD_MAX_S, ROBOTS_MAX_BYTES, Politeness, RobotsRules
from marsad.crawl.state import DEFAULT_LEASE_S, Poll, PollState, SeenUrls, _now, worker_id
from marsad.errors import ConfigError, TransientError
from marsad.settings import redact_url

MIGRATIONS: list[str] = [
    # version 1
    """
    CREATE TABLE IF NOT EXISTS crawl_seen (
        url text PRIMARY KEY, source text NOT NULL, first_seen timestamptz NOT NULL,
        last_fetched timestamptz NOT NULL);
    CREATE TABLE IF NOT EXISTS crawl_frontier (
        url text PRIMARY KEY, source text NOT NULL, link text NOT NULL, discovered_at timestamptz NOT NULL,
        fetched_at timestamptz, handed_out integer NOT NULL DEFAULT 0, abandoned boolean NOT NULL DEFAULT false,
        lease_owner text, leased_until timestamptz, seq bigint GENERATED ALWAYS AS IDENTITY);
    CREATE INDEX IF NOT EXISTS crawl_frontier_pending ON crawl_frontier (source, discovered_at, seq)
        WHERE fetched_at IS NULL;
    CREATE TABLE IF NOT EXISTS crawl_polls (
        url text PRIMARY KEY, source text NOT NULL, etag text, last_modified text, body_hash text,
        last_poll timestamptz, last_change timestamptz, interval_s double precision NOT NULL,
        next_poll timestamptz NOT NULL, polls integer NOT NULL DEFAULT 0, changes integer NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS crawl_hosts (host text PRIMARY KEY, next_at double precision NOT NULL);
    CREATE TABLE IF NOT EXISTS crawl_holds (
        host text PRIMARY KEY, until double precision NOT NULL, status integer NOT NULL);
    CREATE TABLE IF NOT EXISTS crawl_robots (
        origin text PRIMARY KEY, fetched_at double precision NOT NULL, status integer NOT NULL, body bytea NOT NULL);
    """,
]
"""Schema migrations of the crawl state, version ``i + 1`` at index ``i``; applied in order, each once."""

SCHEMA_VERSION = len(MIGRATIONS)
_LOCK_KEY = 0x4D61727361640001
"""``pg_advisory_xact_lock`` key serialising schema migrations (``"Marsad"`` + 1 as a bigint)."""
_READY: set[str] = set()
"""Connection URLs whose schema this process has already checked."""


AUTH_REFUSED = ("password authentication failed", "no password supplied", "authentication failed",
                "does not exist")
"""libpq's messages for a refused login (PostgreSQL ``auth.c``: ``password authentication failed for user``,
``role … does not exist``, ``database … does not exist``; libpq ``fe-auth.c``: ``no password supplied``): a
configuration error, not an outage."""


def redact(url: str) -> str:
    """``url`` without its password (for messages and logs): :func:`marsad.settings.redact_url`."""
    return redact_url(url)


def connect(url: str) -> psycopg.Connection:
    """An autocommit connection to ``url`` with the crawl schema at :data:`SCHEMA_VERSION`.

    Raises :class:`TransientError` (server unreachable, starting up) or :class:`ConfigError` (a URL libpq refuses —
    an unknown parameter, a bad ``sslmode`` —, authentication refused — a missing or wrong password is not fixed by
    retrying —, or the database holds a newer schema than this code knows).
    """
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="marsad-crawl")
    except psycopg.ProgrammingError as exc:  # libpq refused the URL itself: an unknown query parameter
        raise ConfigError(f"crawl state URL {redact(url)}: {exc}") from exc
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "connection is bad: invalid " in str(exc):  # libpq: a bad option value (sslmode=bogus), before any I/O
            raise ConfigError(f"crawl state URL {redact(url)}: {first.removeprefix('connection is bad: ')}") from exc
        if any(m in str(exc) for m in AUTH_REFUSED):
            raise ConfigError(f"crawl state PostgreSQL {redact(url)} refused the login: {first} — check the "
                              f"role and the password file the URL names (passfile=…)") from exc
        raise TransientError(f"crawl state PostgreSQL {redact(url)} unreachable: {first}") from exc
    if url not in _READY:
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        _READY.add(url)
    return conn


def migrate(conn: psycopg.Connection) -> int:
    """Bring the crawl schema to :data:`SCHEMA_VERSION` (idempotent, safe with concurrent callers); returns the
    version found before. Raises :class:`ConfigError` for a schema newer than this code."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS marsad_schema (component text PRIMARY KEY, version integer NOT NULL)")
        row = conn.execute("SELECT version FROM marsad_schema WHERE component = 'crawl'").fetchone()
        found = row[0] if row else 0
        if found > SCHEMA_VERSION:
            raise ConfigError(f"the crawl state schema is version {found}, this Marsad knows up to {SCHEMA_VERSION}: "
                              f"upgrade Marsad")
        for sql in MIGRATIONS[found:]:
            conn.execute(sql)
        if found < SCHEMA_VERSION:
            conn.execute("INSERT INTO marsad_schema (component, version) VALUES ('crawl', %s) ON CONFLICT (component) "
                         "DO UPDATE SET version = excluded.version", (SCHEMA_VERSION,))
    return found


def _single(row: tuple[Any, ...] | None) -> Any:
    """The value of a statement that always returns one row of one column (``count(*)``; an upsert with
    ``RETURNING``, which returns the inserted or the updated row). Raises ``LookupError`` on no row."""
    if row is None:
        raise LookupError("a one-row statement returned no row")
    return row[0]


class PgSeenUrls(SeenUrls):
    """:class:`~marsad.crawl.state.SeenUrls` in PostgreSQL (tables ``crawl_seen``, ``crawl_frontier``)."""

    def __init__(self, url: str) -> None:  # noqa: D107 - no SQLite file: the base __init__ is not called
        self._pg = connect(url)  # not the base's _db (a sqlite3 connection): every method using it is overridden

    def seen(self, url: str) -> bool:
        return self._pg.execute("SELECT 1 FROM crawl_seen WHERE url = %s", (url,)).fetchone() is not None

    def due(self, url: str, refetch_after_h: float | None = None, now: datetime | None = None) -> bool:
        row = self._pg.execute("SELECT last_fetched FROM crawl_seen WHERE url = %s", (url,)).fetchone()
        if row is None:
            return True
        if refetch_after_h is None:
            return False
        return (now or _now()) - row[0] >= timedelta(hours=refetch_after_h)

    def mark(self, url: str, source: str, now: datetime | None = None) -> None:
        t = now or _now()
        with self._pg.transaction():
            self._pg.execute(
                "INSERT INTO crawl_seen (url, source, first_seen, last_fetched) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (url) DO UPDATE SET last_fetched = excluded.last_fetched", (url, source, t, t))
            self._pg.execute("UPDATE crawl_frontier SET fetched_at = %s, lease_owner = NULL, leased_until = NULL "
                             "WHERE url = %s", (t, url))

    def enqueue(self, items: list[tuple[str, str]], source: str, now: datetime | None = None) -> int:
        t = now or _now()
        added = 0
        with self._pg.transaction():
            for url, link in items:
                cur = self._pg.execute(
                    "INSERT INTO crawl_frontier (url, source, link, discovered_at) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (url) DO UPDATE SET fetched_at = NULL, discovered_at = excluded.discovered_at, "
                    "link = excluded.link, source = excluded.source, handed_out = 0, abandoned = false, "
                    "lease_owner = NULL, leased_until = NULL WHERE crawl_frontier.fetched_at IS NOT NULL",
                    (url, source, link, t))
                added += cur.rowcount
        return added

    def pending(self, source: str, limit: int | None = None, *, hand_out: bool = False, owner: str | None = None,
                lease_s: float = DEFAULT_LEASE_S, now: datetime | None = None) -> list[str]:
        if not hand_out:
            rows = self._pg.execute(
                "SELECT link FROM crawl_frontier WHERE source = %s AND fetched_at IS NULL "
                "ORDER BY discovered_at, seq LIMIT %s", (source, limit)).fetchall()
            return [r[0] for r in rows]
        owner = owner or worker_id()
        t = now or _now()
        # SKIP LOCKED: rows another worker is handing out right now are not waited for, they are not ours; a row it
        # leased and committed meanwhile is re-checked against the WHERE (READ COMMITTED) and excluded.
        rows = self._pg.execute(
            "WITH picked AS (SELECT url FROM crawl_frontier WHERE source = %(source)s AND fetched_at IS NULL "
            "AND (lease_owner IS NULL OR lease_owner = %(owner)s OR leased_until <= %(now)s) "
            "ORDER BY discovered_at, seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
            "UPDATE crawl_frontier f SET handed_out = f.handed_out + 1, lease_owner = %(owner)s, "
            "leased_until = %(until)s FROM picked WHERE f.url = picked.url "
            "RETURNING f.link, f.discovered_at, f.seq",
            {"source": source, "owner": owner, "now": t, "limit": limit,
             "until": t + timedelta(seconds=lease_s)}).fetchall()
        return [r[0] for r in sorted(rows, key=lambda r: (r[1], r[2]))]

    def waiting(self, source: str, now: datetime | None = None) -> int:
        return _single(self._pg.execute(
            "SELECT count(*) FROM crawl_frontier WHERE source = %s AND fetched_at IS NULL "
            "AND (lease_owner IS NULL OR leased_until <= %s)", (source, now or _now())).fetchone())

    def release(self, urls: list[str]) -> None:
        if urls:
            self._pg.execute("UPDATE crawl_frontier SET lease_owner = NULL, leased_until = NULL "
                             "WHERE url = ANY(%s) AND fetched_at IS NULL", (urls,))

    def refund(self, urls: list[str]) -> None:
        if urls:
            self._pg.execute("UPDATE crawl_frontier SET handed_out = GREATEST(handed_out - 1, 0), "
                             "lease_owner = NULL, leased_until = NULL WHERE url = ANY(%s) AND fetched_at IS NULL",
                             (urls,))

    def abandon(self, source: str, max_attempts: int, now: datetime | None = None) -> list[str]:
        rows = self._pg.execute(
            "UPDATE crawl_frontier SET fetched_at = %s, abandoned = true WHERE source = %s AND fetched_at IS NULL "
            "AND handed_out >= %s RETURNING link", (now or _now(), source, max_attempts)).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        self._pg.close()


class PgPollState(PollState):
    """:class:`~marsad.crawl.state.PollState` in PostgreSQL (table ``crawl_polls``)."""

    def __init__(self, url: str, min_s: float, max_s: float) -> None:  # noqa: D107
        self._check_bounds(min_s, max_s)
        self._pg = connect(url)
        self.min_s, self.max_s = min_s, max_s

    def get(self, url: str) -> Poll:
        row = self._pg.execute(
            "SELECT etag, last_modified, body_hash, last_poll, last_change, interval_s, next_poll, polls, changes "
            "FROM crawl_polls WHERE url = %s", (url,)).fetchone()
        if row is None:
            return Poll(url=url, interval_s=self.min_s)
        return Poll(url, *row)

    def _save(self, new: Poll, source: str) -> None:
        # two workers polling one feed at once: the later poll's outcome stays, an older one never overwrites it
        self._pg.execute(
            "INSERT INTO crawl_polls (url, source, etag, last_modified, body_hash, last_poll, last_change, "
            "interval_s, next_poll, polls, changes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (url) DO UPDATE SET source = excluded.source, etag = excluded.etag, "
            "last_modified = excluded.last_modified, body_hash = excluded.body_hash, last_poll = excluded.last_poll, "
            "last_change = excluded.last_change, interval_s = excluded.interval_s, next_poll = excluded.next_poll, "
            "polls = excluded.polls, changes = excluded.changes "
            "WHERE crawl_polls.last_poll IS NULL OR crawl_polls.last_poll <= excluded.last_poll",
            (new.url, source, new.etag, new.last_modified, new.body_hash, new.last_poll, new.last_change,
             new.interval_s, new.next_poll, new.polls, new.changes))

    def close(self) -> None:
        self._pg.close()


class PgPoliteness(Politeness):
    """:class:`~marsad.crawl.politeness.Politeness` in PostgreSQL (``crawl_hosts``, ``crawl_holds``,
    ``crawl_robots``): one request per host per interval across every worker on every machine."""

    def __init__(self, url: str) -> None:  # noqa: D107
        self._pg = connect(url)
        self._memo: dict[str, tuple[float, RobotsRules]] = {}

    def close(self) -> None:
        self._pg.close()

    def claim_slot(self, host: str, interval_s: float) -> float:
        now = time.time()
        # one statement: ON CONFLICT DO UPDATE locks the host's row and reads its latest committed next_at
        row = self._pg.execute(
            "INSERT INTO crawl_hosts (host, next_at) VALUES (%(host)s, %(now)s + %(interval)s) "
            "ON CONFLICT (host) DO UPDATE SET next_at = GREATEST(crawl_hosts.next_at, %(now)s) + %(interval)s "
            "RETURNING next_at - %(interval)s", {"host": host, "now": now, "interval": interval_s}).fetchone()
        return _single(row)

    def defer(self, host: str, until: float) -> None:
        self._pg.execute("INSERT INTO crawl_hosts (host, next_at) VALUES (%s, %s) ON CONFLICT (host) DO UPDATE "
                         "SET next_at = GREATEST(crawl_hosts.next_at, excluded.next_at)", (host, until))

    def hold(self, host: str, until: float, status: int) -> None:
        until = min(until, time.time() + HOLD_MAX_S)
        self._pg.execute("INSERT INTO crawl_holds (host, until, status) VALUES (%s, %s, %s) ON CONFLICT (host) "
                         "DO UPDATE SET until = GREATEST(crawl_holds.until, excluded.until), status = excluded.status",
                         (host, until, status))

    def held(self, host: str) -> tuple[float, int] | None:
        row = self._pg.execute("SELECT until, status FROM crawl_holds WHERE host = %s", (host,)).fetchone()
        return (row[0], row[1]) if row and row[0] > time.time() else None

    def _load_robots(self, origin: str) -> tuple[float, RobotsRules] | None:
        row = self._pg.execute("SELECT fetched_at, status, body FROM crawl_robots WHERE origin = %s",
                               (origin,)).fetchone()
        return None if row is None else (row[0], RobotsRules(status=row[1], body=bytes(row[2])))

    def _save_robots(self, origin: str, fetched_at: float, rules: RobotsRules) -> None:
        self._pg.execute("INSERT INTO crawl_robots (origin, fetched_at, status, body) VALUES (%s, %s, %s, %s) "
                         "ON CONFLICT (origin) DO UPDATE SET fetched_at = excluded.fetched_at, "
                         "status = excluded.status, body = excluded.body",
                         (origin, fetched_at, rules.status, rules.body[:ROBOTS_MAX_BYTES]))
