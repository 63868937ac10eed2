"""One crawl cycle of a source: discover new article URLs (feeds, sitemaps, section pages), fetch, publish raw pages.

These are the functions the Airflow tasks call (``dags/crawl_sources.py``) and ``marsad crawl`` runs.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson

from marsad.crawl.discover import discover, discover_source  # noqa: F401  (re-exported: callers import it here)
from marsad.crawl.fetch import Fetcher, FetchRefused, is_transient
from marsad.crawl.publish import RawPagePublisher
from marsad.crawl.registry import Source, get_source
from marsad.crawl.state import SeenUrls
from marsad.crawl.stores import open_seen
from marsad.dedup.urls import canonical_url
from marsad.errors import TransientError
from marsad.messages import META_HEADER, RAW_PAGE_SCHEMA, SCHEMA_HEADER, RawPageMeta, utcnow
from marsad.settings import Settings

log = logging.getLogger(__name__)


def seen_db(settings: Settings) -> SeenUrls:
    return open_seen(settings)  # SQLite under crawl_dir, or PostgreSQL (settings.crawl_state_url)


def fetch_and_publish(settings: Settings, source: Source, urls: list[str]) -> dict[str, int]:
    """Fetch ``urls`` and publish each page to the raw-pages topic; mark each URL seen as soon as its page is
    delivered.

    Returns counts: ``fetched``, ``published``, ``refused:<reason>`` for every refusal (reasons in
    ``docs/crawl-fetch.md``), ``interstitial:<kind>`` and ``interstitial-rule:<rule>`` (the interstitials among the
    refusals, per kind and per rule of :mod:`marsad.crawl.interstitial`, e.g. ``onetrust-consent-wall``, for the
    registry health view), ``retries`` (extra attempts after timeouts, 429, 5xx), ``too-large`` / ``dead_lettered``
    (pages over a size cap, sent to the dead-letter topic with metadata only), ``already-fetched`` (URLs of the batch
    that a previous attempt of the same task delivered — an Airflow retry after a crash mid-batch — skipped, not
    fetched or published again).

    Each page is settled before the next URL is fetched: published, its delivery acknowledged by Kafka (one flush,
    a few ms on a broker nearby, against the ≥ 1 s per-host interval), then marked seen. A task killed mid-batch
    therefore leaves every page it published marked, and its retry fetches only the rest (retries do not
    publish twice; the window left is a kill between Kafka's acknowledgement and the mark, one page at most).
    A transient refusal (``FetchRefused.transient``) leaves the URL unseen so the next run tries it again.
    Raises :class:`~marsad.errors.TransientError` if Kafka did not acknowledge a raw page (that URL and the rest are
    not marked seen, so the next run fetches them again; the index ``_id`` makes that harmless), and their hand-out
    is refunded so that an outage never makes the frontier abandon them.
    """
    try:
        publisher = RawPagePublisher(settings)
    except TransientError:
        _refund(settings, urls)
        raise
    fetcher = Fetcher(settings, source)
    counts: Counter = Counter()
    settled: set[str] = set()
    transient: list[str] = []
    seen = seen_db(settings)
    try:
        for url in urls:
            key = _canonical([url])
            if key and not seen.due(key[0], source.refetch_after_h):
                counts["already-fetched"] += 1
                settled.add(url)
                continue
            try:
                page = fetcher.fetch(url, source.name)
            except FetchRefused as exc:
                counts[f"refused:{exc.reason}"] += 1
                if exc.reason.startswith("interstitial:"):
                    counts[exc.reason] += 1
                    counts[f"interstitial-rule:{exc.detail}"] += 1  # the rule, i.e. the vendor (crawl health)
                log.warning("%s: %s", source.name, exc)
                if exc.reason == "too-large":
                    meta = RawPageMeta(url=url, final_url=exc.url, canonical_url=canonical_url(exc.url),
                                       status=0, fetched_at=utcnow(), source=source.name)
                    publisher.dead_letter(meta.canonical_url.encode(), [
                        (SCHEMA_HEADER, RAW_PAGE_SCHEMA.encode()),
                        (META_HEADER, orjson.dumps(meta.model_dump(mode="json")))], "too-large", exc.detail)
                if exc.transient:
                    transient.append(url)
                    continue
                # a final refusal is an answer: do not refetch every run
            else:
                counts["fetched"] += 1
                publisher.publish(page)
            try:
                publisher.flush()  # raises before this URL is marked seen
            except TransientError:
                _refund(settings, [u for u in urls if u not in settled])
                raise
            if key:
                seen.mark(key[0], source.name)
            settled.add(url)
        seen.release(_canonical(transient))  # transient failures: any worker may retry
    finally:
        seen.close()
        fetcher.close()
        if fetcher.stats["retries"]:
            counts["retries"] += fetcher.stats["retries"]
    counts.update(publisher.close())
    return dict(counts)


def _refund(settings: Settings, urls: list[str]) -> None:
    """Kafka could not take this run's pages: the URLs were handed out for nothing (see :meth:`SeenUrls.refund`)."""
    seen = seen_db(settings)
    try:
        seen.refund(_canonical(urls))
    finally:
        seen.close()


def _canonical(urls: list[str]) -> list[str]:
    canon = []
    for u in urls:
        try:
            canon.append(canonical_url(u))
        except ValueError:
            continue
    return canon


def write_report(settings: Settings, source: str, counts: dict[str, int]) -> Path:
    """Write the counts of the last crawl of ``source`` to ``<crawl_dir>/reports/crawl-<source>.json``."""
    path = settings.crawl_dir / "reports" / f"crawl-{source}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, orjson.dumps({"source": source, "at": utcnow().isoformat(), "counts": counts}))
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temporary file + rename): a reader (the health DAG) never sees a
    half-written file, and a writer killed mid-write leaves the previous version, not a truncated one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def crawl_source(settings: Settings, name: str) -> dict[str, int]:
    """Discover + fetch + publish for the source ``name`` of ``settings.sources_file``; writes the report."""
    source = get_source(settings.sources_file, name)
    found = discover_source(settings, source)
    counts = fetch_and_publish(settings, source, found.urls)
    counts["discovered"] = len(found.urls)
    counts.update(discovery_counts(found.counts))
    write_report(settings, name, counts)
    return counts


def discovery_counts(counts: dict[str, int]) -> dict[str, int]:
    """Discovery counts as stored in crawl reports: keys prefixed ``discover:`` (``discover:not-modified``…)."""
    return {f"discover:{k}": v for k, v in counts.items() if v}


UNTIL_EMPTY_WAIT_S = 5.0
"""Default pause of :func:`crawl_until_empty` between rounds that were handed nothing (seconds)."""


def crawl_until_empty(settings: Settings, names: list[str], *, wait_s: float = UNTIL_EMPTY_WAIT_S,
                      on_cycle: Callable[[str, dict[str, int]], None] | None = None) -> int:
    """Crawl the sources ``names`` (:func:`crawl_source` each, in rounds) until their frontier is empty: a crawl
    worker that runs beside others sharing one crawl state (PostgreSQL, ``settings.crawl_state_url``; or SQLite
    for several processes of one machine) and stops when the work is done (docs/scaling.md).

    After each round over ``names``:

    * no URL of these sources pending in the frontier (leased to any worker or not) → return 0;
    * this round settled URLs (fetched and published, or refused for good) → the next round starts at once;
    * this round was handed nothing — every pending URL is leased to another worker, alive or killed (its lease
      runs out after ``settings.frontier_lease_s``) → sleep ``wait_s`` seconds, then the next round, which gets
      what the other worker released or left behind;
    * this round was handed URLs and settled none (all refused transiently: a held host, timeouts, 5xx) → return
      the number still pending: they are for a later run (another round now would only count one more attempt
      towards ``settings.frontier_max_attempts`` without a chance of success).

    ``on_cycle(name, counts)`` is called after each source's cycle with :func:`crawl_source`'s counts. Raises what
    :func:`crawl_source` raises (``ConfigError``, :class:`~marsad.errors.TransientError` for Kafka or PostgreSQL
    down); ``ValueError`` for ``wait_s`` < 0.
    """
    if wait_s < 0:
        raise ValueError(f"wait_s must be >= 0, got {wait_s}")
    while True:
        handed = settled = 0
        for name in names:
            counts = crawl_source(settings, name)
            handed += counts.get("discovered", 0)
            settled += counts.get("discovered", 0) - _released(counts)
            if on_cycle is not None:
                on_cycle(name, counts)
        left = _pending(settings, names)
        if left == 0:
            return 0
        if handed and not settled:
            return left
        if not handed:
            time.sleep(wait_s)


def _released(counts: dict[str, int]) -> int:
    """URLs of a cycle refused transiently (``refused:<reason>`` with a transient reason): :func:`fetch_and_publish`
    handed them back to the frontier unseen."""
    return sum(n for k, n in counts.items() if k.startswith("refused:") and is_transient(k.removeprefix("refused:")))


def _pending(settings: Settings, names: list[str]) -> int:
    """URLs of the sources ``names`` waiting in the frontier, leased to a worker or not."""
    seen = seen_db(settings)
    try:
        return sum(len(seen.pending(name)) for name in names)
    finally:
        seen.close()
