"""Wiring of the consumers: which stage reads which topic in which consumer group."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from marsad.crawl.registry import load_registry
from marsad.errors import ConfigError
from marsad.kafka.worker import Worker, WorkerStats
from marsad.settings import Settings


def extract_worker(settings: Settings) -> Worker:
    from marsad.extract.stage import ExtractStage

    try:
        sources = load_registry(settings.sources_file)
    except ConfigError:
        sources = []
    return Worker(settings, ExtractStage(settings, sources), settings.raw_pages_topic, settings.extract_group,
                  ledger=True)


def index_worker(settings: Settings) -> Worker:
    from marsad.index.stage import IndexStage

    return Worker(settings, IndexStage(settings), settings.articles_topic, settings.index_group, ledger=True)


def drain(settings: Settings, progress: Callable[[str, WorkerStats], None] | None = None) -> dict[str, dict]:
    """Run extract then index until both topics are drained; return each worker's stats as dicts."""
    out = {}
    for name, factory in (("extract", extract_worker), ("index", index_worker)):
        w = factory(settings)
        stats = w.run(until_idle=True, progress=partial(progress, name) if progress else None)
        out[name] = stats.as_dict()
    return out
