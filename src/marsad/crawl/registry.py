"""The sources registry (``sources.yaml``): which sites to crawl, how, and in which time zone.

Format::

    sources:
      - name: lbc               # slug [a-z0-9-]+; DAG id is crawl_<name with - as _>
        site: https://www.lbcgroup.tv/
        feeds: [https://www.lbcgroup.tv/Rss/latest-news/ar]
        language: ar
        timezone: Asia/Beirut   # IANA zone; naive page dates are read in it
        schedule: "@hourly"     # Airflow schedule (cron or preset)
        enabled: true

Raises :class:`~marsad.errors.ConfigError` naming the file (and entry) for an unreadable or invalid registry.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from marsad.errors import ConfigError


class Source(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    site: str
    feeds: list[str] = Field(default_factory=list)
    language: str = "ar"
    timezone: str = "UTC"
    schedule: str | None = "@hourly"
    enabled: bool = True
    max_items: int = 200
    """At most this many new items fetched per run (bounds one run's duration)."""
    sitemaps: list[str] = Field(default_factory=list)
    """Sitemap or sitemap-index URLs (Google News sitemaps: ``<news:publication_date>``)."""
    section_pages: list[str] = Field(default_factory=list)
    """Section/front pages whose article links are followed (feeds and sitemaps often lag or are absent)."""
    min_interval_s: float | None = Field(default=None, ge=0)
    """Politeness override: minimum seconds between two requests to one host of this source (default:
    ``settings.min_host_interval_s``; a larger robots.txt ``Crawl-delay`` always wins)."""
    max_parallel: int = Field(default=2, ge=1, le=16)
    """Politeness override: at most this many fetches in flight for this source's host at once."""
    refetch_after_h: float | None = Field(default=None, gt=0)
    """Re-fetch an already fetched article URL after this many hours (default: never; a URL is fetched once)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "Asia" is a directory
            raise ValueError(f"unknown IANA time zone {v!r}") from exc
        return v

    @property
    def dag_id(self) -> str:
        return "crawl_" + self.name.replace("-", "_")


class Registry(BaseModel):
    sources: list[Source]


def load_registry(path: Path) -> list[Source]:
    """Load and validate the registry at ``path``; return all sources (enabled or not), names unique."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"sources registry not found: {path}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sources registry: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        reg = Registry.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid registry: {exc}") from exc
    names = [s.name for s in reg.sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{path}: duplicate source names {dupes}")
    return reg.sources


def get_source(path: Path, name: str) -> Source:
    """The source called ``name``. Raises :class:`ConfigError` when absent."""
    for s in load_registry(path):
        if s.name == name:
            return s
    raise ConfigError(f"{path}: no source named {name!r}")
