"""Which crawl-state store a process opens: PostgreSQL when ``settings.crawl_state_url`` is set, else SQLite files
under ``settings.crawl_dir``.

The choice lives here, above both backends, so the SQLite modules (:mod:`marsad.crawl.state`,
:mod:`marsad.crawl.politeness`) and the PostgreSQL one (:mod:`marsad.crawl.pgstate`, which reuses their record
types) do not import each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marsad.crawl.politeness import Politeness
from marsad.crawl.state import PollState, SeenUrls

if TYPE_CHECKING:
    from marsad.settings import Settings


def open_seen(settings: Settings) -> SeenUrls:
    """Seen URLs and frontier of ``settings``: PostgreSQL when ``crawl_state_url`` is set, else SQLite."""
    if settings.crawl_state_url:
        from marsad.crawl.pgstate import PgSeenUrls

        return PgSeenUrls(settings.crawl_state_url)
    return SeenUrls(settings.crawl_dir / "seen.sqlite")


def open_polls(settings: Settings, min_s: float, max_s: float) -> PollState:
    """Poll state of ``settings`` (same store as :func:`open_seen`); bounds as in
    :class:`~marsad.crawl.state.PollState`."""
    if settings.crawl_state_url:
        from marsad.crawl.pgstate import PgPollState

        return PgPollState(settings.crawl_state_url, min_s, max_s)
    return PollState(settings.crawl_dir / "seen.sqlite", min_s, max_s)


def open_politeness(settings: Settings) -> Politeness:
    """The politeness store of ``settings``: PostgreSQL when ``crawl_state_url`` is set, else
    ``<crawl_dir>/politeness.sqlite``."""
    if settings.crawl_state_url:
        from marsad.crawl.pgstate import PgPoliteness

        return PgPoliteness(settings.crawl_state_url)
    return Politeness(settings.crawl_dir / "politeness.sqlite")
