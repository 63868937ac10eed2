"""Politeness shared by every crawl process: per-host request slots, Retry-After holds and the robots.txt cache.

Airflow runs each task in its own process, so process memory cannot space requests to one host. The state lives
in a store shared by the processes (:func:`marsad.crawl.stores.open_politeness`): by default one SQLite file (WAL) under
``settings.crawl_dir`` (every process of one machine), with ``settings.crawl_state_url`` the PostgreSQL tables of
:class:`marsad.crawl.pgstate.PgPoliteness` (every process of every machine). The SQLite tables:

* ``hosts(host, next_at)`` — the earliest wall-clock time (Unix seconds) at which the next request to ``host``
  may start. :meth:`Politeness.claim` reserves a slot atomically (``BEGIN IMMEDIATE`` takes SQLite's write lock
  before reading, so two processes never get the same slot) and returns how long to sleep for it.
* ``robots(origin, fetched_at, status, body)`` — the last robots.txt answer per origin (scheme://host:port,
  RFC 9309 §2.3), reused for at most ``settings.robots_cache_h`` hours (RFC 9309 §2.4: ≤ 24 h) by every process.

Robots rules are parsed with protego (Scrapy's parser: RFC 9309 matching, ``*``/``$`` wildcards,
``Crawl-delay``).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from protego import Protego

from marsad.crawl.sqlite_wal import connect_wal

log = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 500 * 1024
"""robots.txt bytes parsed; the rest is ignored (RFC 9309 §2.5: parse at least 500 KiB)."""

ROBOTS_ERROR_TTL_S = 600.0
"""An unreachable robots.txt (5xx, network error) is cached this long (seconds) before it is asked again, so a
failing server is not hit once per article; meanwhile the host counts as disallowed (RFC 9309 §2.3.1.4)."""


HOLD_MAX_S = 24 * 3600.0
"""Longest hold of a host after a ``Retry-After`` (seconds): a server sending years is asked again after a day."""


def host_key(url: str) -> str:
    """The politeness key of ``url``: lower-cased host, plus ``:port`` when the port is not the scheme default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets, or host_key + "/robots.txt" is not a URL
        host = f"[{host}]"
    port = parts.port
    if port and port != (443 if parts.scheme == "https" else 80):
        return f"{host}:{port}"
    return host


def robots_origin(url: str) -> str:
    """``scheme://host[:port]`` — the scope of one robots.txt (RFC 9309 §2.3)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{host_key(url)}"


@dataclass(frozen=True)
class RobotsRules:
    """One origin's robots.txt answer. ``status`` is the HTTP status (0: network error).

    ``allowed(url, token)`` applies RFC 9309 §2.3.1: 2xx → the rules; 4xx (except 429) → "unavailable", allow
    all; 5xx, 429 or unreachable → disallow all (429 is treated as a server error, as Google's crawler does).
    """

    status: int
    body: bytes = b""

    @property
    def unreachable(self) -> bool:
        return self.status == 0 or self.status >= 500 or self.status == 429

    @cached_property
    def _parser(self) -> Protego | None:
        """Parsed once per answer (every request of a run asks it)."""
        if not 200 <= self.status < 300:
            return None
        # utf-8-sig: a UTF-8 byte order mark (IIS / Windows editors) is dropped, as Google does; left in, the
        # first line reads "\ufeffUser-agent" and protego ignores the whole group and every rule in it.
        return Protego.parse(self.body[:ROBOTS_MAX_BYTES].decode("utf-8-sig", errors="replace"))

    def allowed(self, url: str, token: str) -> bool:
        if self.unreachable:
            return False
        parser = self._parser
        return True if parser is None else parser.can_fetch(url, token)

    def crawl_delay(self, token: str) -> float | None:
        """``Crawl-delay`` for ``token`` (seconds) or ``None``; not part of RFC 9309, honoured as Bing/Yandex do."""
        parser = self._parser
        if parser is None:
            return None
        delay = parser.crawl_delay(token)
        return float(delay) if delay is not None else None


class Politeness:
    """Shared per-host slots and robots cache in ``path`` (SQLite, WAL). One instance per process and run."""

    def __init__(self, path: Path) -> None:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves (autocommit otherwise).
        self._db = connect_wal(path, timeout_s=60, isolation_level=None)
        # NORMAL: no fsync per commit (WAL stays consistent; a power cut may forget the last slots, which only
        # makes the next request to a host come early once). FULL costs a disk flush per request.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS hosts (host TEXT PRIMARY KEY, next_at REAL NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS holds (host TEXT PRIMARY KEY, until REAL NOT NULL, "
                         "status INTEGER NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS robots (origin TEXT PRIMARY KEY, fetched_at REAL NOT NULL, "
                         "status INTEGER NOT NULL, body BLOB NOT NULL)")
        self._memo: dict[str, tuple[float, RobotsRules]] = {}

    def close(self) -> None:
        self._db.close()

    # --- per-host slots ---------------------------------------------------------------------------------
    def claim(self, host: str, interval_s: float) -> float:
        """Reserve the next request slot of ``host``; return the seconds to wait before using it (≥ 0).

        The slot is ``max(now, next_at)``; ``next_at`` becomes ``slot + interval_s``. Atomic across processes.
        """
        return max(0.0, self.claim_slot(host, interval_s) - time.time())

    def claim_slot(self, host: str, interval_s: float) -> float:
        """Reserve the next request slot of ``host`` and return it as Unix time (seconds): no other claim of the
        store, in any process, gets a slot closer than ``interval_s`` to it. :meth:`claim` in absolute time."""
        now = time.time()
        self._db.execute("BEGIN IMMEDIATE")  # SQLite's write lock before the read: the claims are serialised
        try:
            row = self._db.execute("SELECT next_at FROM hosts WHERE host = ?", (host,)).fetchone()
            slot = max(now, row[0] if row else now)
            self._db.execute("INSERT INTO hosts (host, next_at) VALUES (?, ?) ON CONFLICT(host) DO UPDATE SET "
                             "next_at = excluded.next_at", (host, slot + interval_s))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return slot

    def wait_turn(self, host: str, interval_s: float) -> float:
        """:meth:`claim` a slot and sleep until it; returns the seconds slept."""
        wait = self.claim(host, interval_s)
        if wait > 0:
            time.sleep(wait)
        return wait

    def defer(self, host: str, until: float) -> None:
        """No request to ``host`` before Unix time ``until`` (a ``Retry-After`` applies to the whole host)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("INSERT INTO hosts (host, next_at) VALUES (?, ?) ON CONFLICT(host) DO UPDATE SET "
                             "next_at = max(next_at, excluded.next_at)", (host, until))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # --- holds: a Retry-After too long to wait for ---------------------------------------------------------
    def hold(self, host: str, until: float, status: int) -> None:
        """No request to ``host`` before Unix time ``until`` (capped at :data:`HOLD_MAX_S` from now): the host
        answered ``status`` with a ``Retry-After`` longer than a run waits. Unlike :meth:`defer` nobody sleeps for
        it: :meth:`held` tells every process to refuse the host's URLs at once until then."""
        until = min(until, time.time() + HOLD_MAX_S)
        self._db.execute("INSERT INTO holds (host, until, status) VALUES (?, ?, ?) ON CONFLICT(host) DO UPDATE SET "
                         "until = max(until, excluded.until), status = excluded.status", (host, until, status))

    def held(self, host: str) -> tuple[float, int] | None:
        """``(until, status)`` when ``host`` is on hold now (see :meth:`hold`), else ``None``."""
        row = self._db.execute("SELECT until, status FROM holds WHERE host = ?", (host,)).fetchone()
        return (row[0], row[1]) if row and row[0] > time.time() else None

    # --- robots.txt cache ------------------------------------------------------------------------------
    def cached_robots(self, origin: str, max_age_s: float) -> RobotsRules | None:
        """The cached robots answer of ``origin`` if younger than ``max_age_s`` (errors: ``ROBOTS_ERROR_TTL_S``)."""
        now = time.time()
        hit = self._memo.get(origin)
        if hit is None:
            hit = self._load_robots(origin)
            if hit is None:
                return None
            self._memo[origin] = hit
        fetched_at, rules = hit
        ttl = min(max_age_s, ROBOTS_ERROR_TTL_S) if rules.unreachable else max_age_s
        return rules if now - fetched_at < ttl else None

    def store_robots(self, origin: str, rules: RobotsRules) -> None:
        """Cache ``rules`` as ``origin``'s robots.txt answer fetched now (for every process of the store)."""
        now = time.time()
        self._memo[origin] = (now, rules)
        self._save_robots(origin, now, rules)

    def _load_robots(self, origin: str) -> tuple[float, RobotsRules] | None:
        row = self._db.execute("SELECT fetched_at, status, body FROM robots WHERE origin = ?", (origin,)).fetchone()
        return None if row is None else (row[0], RobotsRules(status=row[1], body=bytes(row[2])))

    def _save_robots(self, origin: str, now: float, rules: RobotsRules) -> None:
        self._db.execute("INSERT INTO robots (origin, fetched_at, status, body) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT(origin) DO UPDATE SET fetched_at = excluded.fetched_at, "
                         "status = excluded.status, body = excluded.body",
                         (origin, now, rules.status, rules.body[:ROBOTS_MAX_BYTES]))


def backoff_s(attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Wait before retry number ``attempt`` (0-based): ``min(cap, base * 2**attempt)`` with equal jitter
    (half fixed, half uniform random; AWS Architecture Blog, "Exponential Backoff And Jitter", 2015). Seconds."""
    d = min(cap_s, base_s * (2 ** attempt))
    return d / 2 + (rng or random).uniform(0, d / 2)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.

    Returns ``None`` when absent or unparseable, ``0`` for a date in the past.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
