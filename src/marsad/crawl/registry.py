"""The sources registry (``sources.yaml``): which sites to crawl, how, and in which time zone.

Format::

    sources:
      - name: lbc               # slug [a-z0-9-]+; DAG id is crawl_<name with - as _>
        site: https://www.lbcgroup.tv/
        feeds: [https://www.lbcgroup.tv/Rss/latest-news/ar]        # RSS 0.9x/1.0/2.0 or Atom
        sitemaps: [https://www.lbcgroup.tv/sitemap-news.xml]        # sitemap, sitemap index or Google News sitemap
        section_pages: [https://www.lbcgroup.tv/news/ar]            # pages whose article links are followed
        language: ar            # ISO 639-1 code
        timezone: Asia/Beirut   # IANA zone; naive page dates are read in it
        schedule: "@hourly"     # Airflow schedule: 5-field cron or a preset (@hourly, @daily, ...), or null
        enabled: true
        max_parallel: 2         # politeness overrides (see Source)
        min_interval_s: 2
        refetch_after_h: 24
        charset: windows-1256   # optional: the site's real encoding when its pages/feeds declare none or lie

Every mistake is a :class:`~marsad.errors.ConfigError` whose message names the file and the LINE of the offending
entry or field (``sources.yaml:12: sources[1].schedule: ...``): the YAML is composed into nodes (``yaml.compose``)
whose ``start_mark`` locates each pydantic error location. Unknown keys are rejected (a typo such as ``feed:``
would otherwise silently crawl nothing).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from marsad.errors import ConfigError

AIRFLOW_PRESETS = frozenset({"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly",
                             "@yearly"})
"""Schedule presets Airflow 3.3 accepts (``airflow.utils.dates.cron_presets`` plus ``@once``/``@continuous``)."""


def check_http_url(v: str) -> str:
    """``v`` unchanged if it is an absolute ``http``/``https`` URL with a host; else ``ValueError``."""
    if not isinstance(v, str) or not v or v != v.strip() or any(c.isspace() for c in v):
        raise ValueError(f"not a URL (empty or contains spaces): {v!r}")
    try:
        parts = urlsplit(v)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise ValueError(f"not a valid URL {v!r}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {v!r}")
    return v


def check_schedule(v: str | None) -> str | None:
    """An Airflow schedule: ``None``, a preset of :data:`AIRFLOW_PRESETS`, or a 5-field cron expression
    (validated with croniter, the library Airflow's cron timetables use; Airflow rejects 6+ fields)."""
    if v is None or v in AIRFLOW_PRESETS:
        return v
    from croniter import croniter

    if len(v.split()) != 5 or not croniter.is_valid(v):
        raise ValueError(f"not a 5-field cron expression or Airflow preset {sorted(AIRFLOW_PRESETS)}: {v!r}")
    return v


class Source(BaseModel):
    """One site to crawl. Unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    site: str
    """Home page URL; defines "same site" for section-page links and sitemap entries (its host, ``www.`` ignored)."""
    feeds: list[str] = Field(default_factory=list)
    """RSS 0.9x/1.0/2.0 or Atom feed URLs."""
    language: str = Field(default="ar", pattern=r"^[a-z]{2}$")
    """ISO 639-1 code of the site's main language."""
    timezone: str = "UTC"
    schedule: str | None = "@hourly"
    enabled: StrictBool = True
    max_items: int = Field(default=200, ge=1, le=10_000)
    """At most this many new items fetched per run (bounds one run's duration); the rest wait in the frontier."""
    sitemaps: list[str] = Field(default_factory=list)
    """Sitemap or sitemap-index URLs (Google News sitemaps: ``<news:publication_date>``)."""
    section_pages: list[str] = Field(default_factory=list)
    """Section/front pages whose article links are followed (feeds and sitemaps often lag or are absent)."""
    min_interval_s: float | None = Field(default=None, ge=0)
    """Politeness override: minimum seconds between two requests to one host of this source. The effective
    interval is the largest of this, ``settings.min_host_interval_s`` and robots.txt ``Crawl-delay``: a source can
    only slow the crawler down."""
    max_parallel: int = Field(default=2, ge=1, le=16)
    """Politeness override: at most this many fetches in flight for this source's host at once (the DAG's mapped
    fetch tasks run with ``max_active_tis_per_dagrun = max_parallel``)."""
    refetch_after_h: float | None = Field(default=None, gt=0)
    """Re-fetch an already fetched article URL after this many hours when discovery finds it again (default:
    never; a URL is fetched once)."""
    poll_min_interval_s: float | None = Field(default=None, ge=60)
    """Floor of the adaptive poll interval of this source's feeds, sitemaps and section pages (seconds; default
    ``settings.poll_min_interval_s``)."""

    charset: str | None = None
    """The site's real encoding, for sites whose pages, feeds and section pages declare none or a wrong one (old
    Arabic sites in windows-1256). Any WHATWG label or alias :func:`marsad.extract.decode.resolve_charset`
    accepts (``windows-1256``, ``cp1256``, ``iso-8859-6``); it beats the HTTP and ``<meta>``/XML declarations but
    not a byte-order mark or bytes that are valid UTF-8. Carried with each raw page (``RawPageMeta.charset``)."""

    @field_validator("charset")
    @classmethod
    def _known_charset(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from marsad.extract.decode import resolve_charset

        codec, why = resolve_charset(v)
        if codec is None:
            raise ValueError(f"unusable charset {v!r}: {why}")
        return v

    @field_validator("site", "feeds", "sitemaps", "section_pages", mode="after")
    @classmethod
    def _urls(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list):
            for u in v:
                check_http_url(u)
            if len(set(v)) != len(v):
                raise ValueError("the same URL is listed twice")
            return v
        return check_http_url(v)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str | None) -> str | None:
        return check_schedule(v)

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

    @property
    def pool(self) -> str:
        """Airflow pool name of this source's fetch tasks (``crawl_<name>``), should a deployment add pools."""
        return self.dag_id


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[Source]


def _node_at(root: yaml.Node | None, loc: tuple) -> yaml.Node | None:
    """The deepest YAML node along pydantic error location ``loc`` (mapping keys / sequence indices)."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    node = value
                    break
            else:
                return node  # missing field: report the mapping that lacks it
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _key_node(root: yaml.Node | None, loc: tuple) -> yaml.Node | None:
    """For an unknown key (``extra_forbidden``), the key node itself (its value may start on a later line)."""
    parent = _node_at(root, loc[:-1])
    if isinstance(parent, yaml.MappingNode):
        for key, _ in parent.value:
            if key.value == loc[-1]:
                return key
    return parent


def _format_errors(path: Path, root: yaml.Node | None, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        node = _key_node(root, loc) if err["type"] == "extra_forbidden" else _node_at(root, loc)
        line = node.start_mark.line + 1 if node is not None else 1
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{path}:{line}: {where}: {msg}")
    return "invalid registry:\n" + "\n".join(lines)


def load_registry(path: Path) -> list[Source]:
    """Load and validate the registry at ``path``; return all sources (enabled or not), names unique.

    Raises :class:`ConfigError` for an unreadable file, invalid YAML, or invalid entries; the message lists every
    problem as ``<file>:<line>: <location>: <what is wrong>``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"sources registry not found: {path} (the registry file is the setting "
                          f"MARSAD_SOURCES_FILE)") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sources registry: {exc}") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        reg = Registry.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, root, exc)) from exc
    seen: dict[str, int] = {}
    for i, s in enumerate(reg.sources):
        if s.name in seen:
            node = _node_at(root, ("sources", i, "name"))
            line = node.start_mark.line + 1 if node is not None else 1
            raise ConfigError(f"{path}:{line}: duplicate source names [{s.name!r}] (first at entry {seen[s.name]})")
        seen[s.name] = i
    dags: dict[str, str] = {}
    for s in reg.sources:  # "a-b" and "a_b" cannot both exist (slug forbids "_"), but keep the guarantee explicit
        if s.dag_id in dags:
            raise ConfigError(f"{path}: sources {dags[s.dag_id]!r} and {s.name!r} map to one DAG id {s.dag_id}")
        dags[s.dag_id] = s.name
    return reg.sources


def get_source(path: Path, name: str) -> Source:
    """The source called ``name``. Raises :class:`ConfigError` when absent."""
    for s in load_registry(path):
        if s.name == name:
            return s
    raise ConfigError(f"{path}: no source named {name!r}")
