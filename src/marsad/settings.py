"""Typed settings (pydantic-settings), environment prefix ``MARSAD_``, built once per entrypoint.

Library code never reads ``os.environ``: entrypoints call :func:`load_settings` and pass the object down.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from marsad import topics

REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """All knobs of Marsad. Every field can be set as ``MARSAD_<FIELD>`` (case-insensitive)."""

    model_config = SettingsConfigDict(env_prefix="MARSAD_", env_file=None, extra="ignore")

    # --- services -----------------------------------------------------------------------------------
    kafka_bootstrap: str = "127.0.0.1:9092"
    """Kafka bootstrap servers, ``host:port[,host:port]``."""
    es_url: str = "http://127.0.0.1:9200"
    """Elasticsearch base URL."""

    # --- local stack (`marsad stack`) -----------------------------------------------------------------
    state_dir: Path = Path.home() / ".cache" / "marsad"
    """Jars, data and logs of the local stack, crawl state, reports."""
    kafka_version: str = "4.4.0"
    kafka_controller_port: int = 9093
    es_runner_version: str = "7.10.2.0"
    es_heap: str = "768m"
    kafka_heap: str = "512m"
    java_home: Path | None = None
    """JDK to run the local stack; default: the ``java`` on PATH."""

    # --- names (defaults in marsad.topics; tests override) -----------------------------------------------
    raw_pages_topic: str = topics.RAW_PAGES
    articles_topic: str = topics.ARTICLES
    dead_letter_topic: str = topics.DEAD_LETTER
    extract_group: str = topics.GROUP_EXTRACT
    index_group: str = topics.GROUP_INDEX
    stories_alias: str = topics.STORIES_ALIAS
    stories_index_prefix: str = topics.STORIES_INDEX_PREFIX
    fingerprints_index: str = topics.FINGERPRINTS_INDEX
    topic_partitions: int = 3

    # --- alerts (marsad.alerts) ---------------------------------------------------------------------------
    alerts_topic: str = topics.ALERTS
    """Alert events (:class:`marsad.alerts.events.AlertEvent` JSON), key = alert id."""
    alert_rules_alias: str = topics.ALERT_RULES_ALIAS
    """Alias of the percolator index holding the alert rules (``<alias>-v<N>`` behind it)."""
    alerts_sent_index: str = topics.ALERTS_SENT_INDEX
    """Alias of the durable once-per-(rule, story) record (``_id`` = alert id, written with ``op_type=create``)."""
    alerts_enabled: bool = True
    """Percolate newly created stories in the index stage. Off: the index stage never reads the rules."""
    webhook_group: str = topics.GROUP_WEBHOOKS
    """Consumer group of ``marsad alerts deliver`` (alerts topic → webhooks)."""
    webhook_timeout_s: float = 5.0
    """Per-attempt HTTP timeout of a webhook POST (seconds)."""
    webhook_max_attempts: int = 3
    """Attempts per alert event; after the last failure the event is dead-lettered (``webhook-failed``)."""
    webhook_backoff_s: float = 0.5
    """Wait before the 2nd attempt (seconds); doubled before each further attempt."""

    # --- crawl ------------------------------------------------------------------------------------------
    sources_file: Path = REPO_ROOT / "sources.yaml"
    crawl_state_dir: Path | None = None
    """Seen-URL database and crawl reports; default ``state_dir/crawl``."""
    user_agent: str = "MarsadBot/0.1 (+https://github.com/marsad; Arabic news monitoring)"
    fetch_timeout_s: float = 20.0
    max_page_bytes: int = 5 * 1024 * 1024
    """Pages larger than this are refused by the fetcher with reason ``too-large`` (bytes)."""
    max_message_bytes: int = 8 * 1024 * 1024
    """``max.message.bytes`` of the raw-pages topic and the producer's ``message.max.bytes`` (bytes)."""
    allow_private_hosts: list[str] = Field(default_factory=list)
    """Hosts allowed to resolve to loopback/private addresses (tests and the demo put 127.0.0.1 here)."""

    # --- consumers -------------------------------------------------------------------------------------
    batch_size: int = 200
    poll_timeout_s: float = 0.1
    """Longest wait of one ``consume`` call for a batch (seconds). At a trickle every stage waits this long before it
    works on a page: 1.0 gave an alert p95 of 3.8 s, 0.1 gave 1.8 s (docs/benchmarks-alerts.md); under load batches
    fill before the timeout, so throughput does not depend on it."""
    idle_timeout_s: float = 5.0
    """With ``--until-idle``: stop after this long without messages once every partition is caught up."""
    max_transient_retries: int = 5
    dedup_window_days: float = 7.0
    """Near-duplicate candidates are stories fetched within this many days (bounds the LSH lookup)."""
    page_time_limit_s: float = 20.0
    """Per-page extraction time limit (seconds); a page over it is dead-lettered as ``extract-timeout``."""
    metrics_port: int | None = None
    """When set, consumers expose Prometheus metrics on ``127.0.0.1:<port>/metrics``."""

    # --- demo ----------------------------------------------------------------------------------------
    corpus_dir: Path = REPO_ROOT.parent / "shared" / "corpus"
    demo_site_port: int = 8765

    @property
    def crawl_dir(self) -> Path:
        return Path(self.crawl_state_dir or Path(self.state_dir) / "crawl")

    @property
    def stories_index_v1(self) -> str:
        return f"{self.stories_index_prefix}1"


ENV_FIELDS = (
    "kafka_bootstrap", "es_url", "state_dir", "crawl_state_dir", "sources_file", "allow_private_hosts",
    "raw_pages_topic", "articles_topic", "dead_letter_topic", "extract_group", "index_group", "stories_alias",
    "stories_index_prefix", "fingerprints_index", "topic_partitions", "max_page_bytes", "max_message_bytes",
    "user_agent", "alerts_topic", "alert_rules_alias", "alerts_sent_index", "alerts_enabled",
)
"""Fields handed to child processes (Airflow tasks) so they see the same pipeline as their parent."""


def to_env(settings: Settings) -> dict[str, str]:
    """``MARSAD_*`` environment variables reproducing ``settings``'s :data:`ENV_FIELDS` in a child process."""
    import json

    env = {}
    for name in ENV_FIELDS:
        value = getattr(settings, name)
        if value is None:
            continue
        env[f"MARSAD_{name.upper()}"] = json.dumps(value) if isinstance(value, list) else str(value)
    return env


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (``MARSAD_*``), then apply keyword overrides."""
    return Settings(**overrides)  # type: ignore[arg-type]
