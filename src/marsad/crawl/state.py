"""Seen-URL state: a URL (canonical) is fetched once. SQLite file under ``settings.state_dir``.

SQLite in WAL mode survives restarts and is safe for several crawl processes on one machine (writers are
serialised by SQLite's lock; ``INSERT OR IGNORE`` makes marking idempotent). A multi-machine deployment needs a
shared store (issue: crawling done right).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path


class SeenUrls:
    """``seen(url) -> bool`` and ``mark(url, source)``; URLs are canonical URLs."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS seen (url TEXT PRIMARY KEY, source TEXT NOT NULL, first_seen TEXT NOT NULL)"
        )
        self._db.commit()

    def seen(self, url: str) -> bool:
        return self._db.execute("SELECT 1 FROM seen WHERE url = ?", (url,)).fetchone() is not None

    def mark(self, url: str, source: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO seen (url, source, first_seen) VALUES (?, ?, ?)",
            (url, source, datetime.now(timezone.utc).isoformat()),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
