"""Typed settings (pydantic-settings), environment prefix ``MARSAD_``, built once per entrypoint.

Library code never reads ``os.environ``: entrypoints call :func:`load_settings` and pass the object down.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from marsad import topics

if TYPE_CHECKING:
    from marsad.dedup.near import Params

REPO_ROOT = Path(__file__).resolve().parents[2]


def split_urls(value: str) -> list[str]:
    """The comma-separated entries of a multi-node setting (``es_url``, ``kafka_bootstrap``), stripped, empty ones
    dropped: ``"http://a:9200, http://b:9200"`` → ``["http://a:9200", "http://b:9200"]``."""
    return [part.strip() for part in value.split(",") if part.strip()]


def redact_url(url: str) -> str:
    """``url`` with its password — the one of ``user:password@`` and a ``password=`` query parameter (libpq URIs
    accept both) — replaced by ``***``, for messages, logs and reprs: ``postgresql://marsad:s3cret@db/marsad`` →
    ``postgresql://marsad:***@db/marsad``. Other URLs come back unchanged."""
    import re

    parts = urlsplit(url)
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}")
    if parts.query:
        parts = parts._replace(query=re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query))
    return parts.geturl()


def check_secret_files(*named: tuple[str, Path | None]) -> None:
    """Raise ``ValueError`` naming the setting when one of the ``(MARSAD_NAME, path)`` files is unreadable or empty:
    one ``error:`` line at start-up, not a traceback at the first connection (the Kafka files in settings validation,
    the Elasticsearch ones in :func:`marsad.cli.common.cli_settings` — a ``Settings`` may describe another machine's
    files, e.g. a compose container's ``/run/secrets``). The contents are read again where they are used (a rotated
    password needs no restart) and never put in a message."""
    for name, path in named:
        if path is None:
            continue
        try:
            empty = not Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{name}: {path}: {getattr(exc, 'strerror', None) or exc}") from None
        if empty:
            raise ValueError(f"{name}: {path} is empty")


class Settings(BaseSettings):
    """All knobs of Marsad. Every field can be set as ``MARSAD_<FIELD>`` (case-insensitive)."""

    model_config = SettingsConfigDict(env_prefix="MARSAD_", env_file=None, extra="ignore", hide_input_in_errors=True)
    """``hide_input_in_errors``: a refused value is not echoed by pydantic (it may be a URL with a password); the
    validators' own messages name what is wrong, passwords redacted (:func:`redact_url`)."""

    # --- services -----------------------------------------------------------------------------------
    kafka_bootstrap: str = "127.0.0.1:9092"
    """Kafka bootstrap servers, ``host:port[,host:port]``."""
    kafka_admin_timeout_s: float = Field(default=30.0, gt=0)
    """How long topic checks and creation wait for the cluster before giving up with a clear error (seconds)."""
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """How every Kafka client of Marsad (producers, consumers, admin, the stack's probe) talks to the brokers:
    ``PLAINTEXT`` (default; one machine, everything on loopback) or ``SASL_SSL`` (TLS-encrypted, the broker's
    certificate checked against :attr:`kafka_ssl_ca`, the client authenticated with SASL/SCRAM as
    :attr:`kafka_sasl_username`). librdkafka's ``security.protocol`` (:func:`marsad.kafka.clients.security_config`)."""
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    """SASL mechanism with ``SASL_SSL`` (RFC 5802 SCRAM with SHA-512, RFC 7677 with SHA-256); the broker must have
    credentials of this mechanism for the user (``marsad stack up --secure`` creates SCRAM-SHA-512 ones)."""
    kafka_sasl_username: str | None = None
    """SCRAM user of Marsad's Kafka clients (required with ``SASL_SSL``)."""
    kafka_sasl_password: SecretStr | None = None
    """Its password, from the environment (``MARSAD_KAFKA_SASL_PASSWORD``). Prefer :attr:`kafka_sasl_password_file`:
    a file does not show up in ``/proc/<pid>/environ`` of every child process. Never logged (``repr`` shows
    ``**********``). Set one of the two, not both."""
    kafka_sasl_password_file: Path | None = None
    """A file whose content (surrounding whitespace stripped) is the password; read each time a client is built
    (a rotated password is picked up by the next client). Keep it mode 0600 (Docker/Kubernetes secrets are files
    like this)."""
    kafka_ssl_ca: Path | None = None
    """PEM file of the CA that signed the brokers' certificates (librdkafka ``ssl.ca.location``); unset: the
    system's trust store. The broker's certificate must name the host clients connect to (hostname verification is
    on: librdkafka's ``ssl.endpoint.identification.algorithm=https``)."""
    es_url: str = "http://127.0.0.1:9200"
    """Elasticsearch base URL, ``http(s)://host[:port]``, or several nodes of one cluster separated by commas
    (``http://10.0.0.1:9200,http://10.0.0.2:9200``): requests go round-robin to them and move to another node when
    one does not answer."""
    es_username: str | None = None
    """User of HTTP basic authentication to Elasticsearch (``elastic`` or a role user of a cluster with security
    on; the OSS 7.10.2 node of the local stack has none, docs/scaling.md); its password in ``es_password_file``."""
    es_password_file: Path | None = None
    """File holding the password of ``es_username`` (one line; a Docker/Kubernetes secret, mode 0600): read when a
    client is built, never logged, never passed on in the environment — only the path is."""
    es_api_key_file: Path | None = None
    """File holding an Elasticsearch API key, the ``encoded`` value of ``POST /_security/api_key`` (base64 of
    ``id:api_key``), sent as ``Authorization: ApiKey …``; instead of ``es_username``."""
    es_ca_certs: Path | None = None
    """PEM file of the CA that signed the nodes' HTTP certificates, for ``https://`` URLs (default: the system's
    trust store). The certificate and host name are always verified."""
    client_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "CRITICAL"
    """Level of the Kafka client (librdkafka, logger ``marsad.kafka.librdkafka``) and Elasticsearch client
    (``elastic_transport``) loggers in ``marsad`` commands. Default ``CRITICAL``: their reconnect and retry chatter
    (librdkafka prints one line per broker per attempt, elastic_transport a traceback per retry) is not shown;
    every failure still ends as one :class:`~marsad.errors.TransientError` naming the address. ``WARNING`` or
    ``DEBUG`` to see them."""

    @field_validator("client_log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("stack_nodes", mode="before")
    @classmethod
    def _nodes_from_env(cls, value: object) -> object:
        # the environment gives "3": a Literal[1, 3] matches ints only, so without this MARSAD_STACK_NODES=3 (what
        # `marsad stack up --nodes 3` tells clients to set) would be refused
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value

    @field_validator("crawl_state_url")
    @classmethod
    def _crawl_state_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise ValueError(f"{redact_url(value)!r} is not a postgresql://[user[:password]@]host[:port]/database URL "
                             f"(unset it for the SQLite files under crawl_dir)")
        return value

    @field_validator("es_url")
    @classmethod
    def _es_url(cls, value: str) -> str:
        urls = split_urls(value)
        if not urls:
            raise ValueError("no Elasticsearch URL given (http(s)://host[:port], several separated by commas)")
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an http(s)://host[:port] URL")
            parts.port  # noqa: B018 - raises ValueError for a port out of range
            if parts.username is not None or parts.password is not None:
                raise ValueError(f"{parts.scheme}://{parts.hostname}…: no credentials in MARSAD_ES_URL (they would "
                                 f"show in logs and process listings); use MARSAD_ES_USERNAME + "
                                 f"MARSAD_ES_PASSWORD_FILE or MARSAD_ES_API_KEY_FILE")
        return value

    @model_validator(mode="after")
    def _es_auth(self) -> Settings:
        if self.es_api_key_file is not None and (self.es_username or self.es_password_file):
            raise ValueError("MARSAD_ES_API_KEY_FILE and MARSAD_ES_USERNAME/MARSAD_ES_PASSWORD_FILE exclude each "
                             "other: give one way to authenticate")
        if bool(self.es_username) != (self.es_password_file is not None):
            raise ValueError("MARSAD_ES_USERNAME and MARSAD_ES_PASSWORD_FILE go together (basic authentication)")
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """As pydantic's, with the password of ``crawl_state_url`` replaced by ``***`` (a repr may be logged)."""
        for name, value in super().__repr_args__():
            yield name, (redact_url(value) if name == "crawl_state_url" and isinstance(value, str) else value)

    # --- local stack (`marsad stack`) -----------------------------------------------------------------
    state_dir: Path = Path.home() / ".cache" / "marsad"
    """Jars, data and logs of the local stack, crawl state, reports."""
    kafka_version: str = "4.4.0"
    kafka_controller_port: int = 9093
    es_runner_version: str = "7.10.2.0"
    es_heap: str = "768m"
    kafka_heap: str = "512m"
    stack_secure: bool = False
    """`marsad stack up --secure`: the local Kafka brokers listen with ``SASL_SSL`` only (SCRAM-SHA-512 over TLS,
    certificates from a CA generated under ``state_dir``; inter-broker over SASL_SSL, the KRaft controller listener
    over mutual TLS) and the stack's clients use the generated ``marsad`` user (:mod:`marsad.stack._kafka_secure`)."""
    stack_nodes: Literal[1, 3] = 1
    """Kafka brokers and Elasticsearch nodes `marsad stack up` starts (``--nodes``): 1 (one of each, the default) or
    3 (a KRaft cluster of 3 combined broker+controller nodes and a 3-node Elasticsearch cluster, for replication;
    see :mod:`marsad.stack`). PostgreSQL stays one server either way."""
    java_home: Path | None = None
    """JDK to run the local stack; default: the ``java`` on PATH."""
    postgres_port: int = 5432
    """Port of the local stack's PostgreSQL on 127.0.0.1 (PostgreSQL default 5432); its database ``marsad`` holds
    the crawl state when ``crawl_state_url`` points at it (``postgresql://marsad@127.0.0.1:5432/marsad?passfile=
    <state_dir>/stack/postgres/pgpass``, what `marsad stack up` prints; passwords: :mod:`marsad.stack._postgres`)."""

    # --- names (defaults in marsad.topics; tests override) -----------------------------------------------
    raw_pages_topic: str = topics.RAW_PAGES
    articles_topic: str = topics.ARTICLES
    dead_letter_topic: str = topics.DEAD_LETTER
    outcomes_topic: str = topics.OUTCOMES
    """The ledger: one compacted record per (raw page, stage) naming its outcome (:mod:`marsad.ledger`)."""
    extract_group: str = topics.GROUP_EXTRACT
    index_group: str = topics.GROUP_INDEX
    stories_alias: str = topics.STORIES_ALIAS
    stories_index_prefix: str = topics.STORIES_INDEX_PREFIX
    fingerprints_index: str = topics.FINGERPRINTS_INDEX
    replay_group_prefix: str = topics.GROUP_REPLAY_PREFIX
    """Replays consume in a new group ``<prefix>.<index>.<UTC timestamp>`` (see :mod:`marsad.replay`)."""
    dlq_replay_group: str = topics.GROUP_DLQ_REPLAY
    """Group of ``marsad dlq replay``; with ``--reason R`` the group is ``<group>.<R>``."""
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
    """The site registry (:mod:`marsad.crawl.registry`). Default: ``sources.yaml`` of the source checkout; it is
    deployment data, not package data, so an installed package is given one with ``MARSAD_SOURCES_FILE``."""
    crawl_state_dir: Path | None = None
    """Seen-URL database and crawl reports; default ``state_dir/crawl``."""
    crawl_state_url: str | None = None
    """Where the crawl state lives (frontier, seen URLs, poll state, per-host politeness slots, Retry-After holds,
    robots.txt cache). Unset: SQLite files under ``crawl_dir`` (one machine, the embedded default of ``make demo``).
    ``postgresql://user@host[:port]/db[?param=value&…]`` (libpq URI): one PostgreSQL shared by every crawl worker on
    every machine (:mod:`marsad.crawl.pgstate`). The password belongs in a libpq password file named by
    ``?passfile=/path`` (what the local stack prints) or ``PGPASSFILE``, or in ``PGPASSWORD``; one written into the URL
    works but travels to every child process's environment (it is redacted in messages and reprs). Across machines
    add ``sslmode=verify-full&sslrootcert=/path/ca.pem`` (docs/scaling.md, "Not open to the network")."""
    crawl_worker_id: str | None = None
    """Owner name of frontier leases (:meth:`marsad.crawl.state.SeenUrls.pending`); default ``<hostname>:<pid>``."""
    frontier_lease_s: float = Field(default=3600.0, gt=0)
    """A frontier URL handed out to one worker is handed to no other for this long unless that worker marks it
    fetched or releases it (seconds); a worker killed mid-batch loses nothing: its URLs come back after the lease."""
    user_agent: str = "MarsadBot/0.1 (+https://github.com/marsad; Arabic news monitoring)"
    fetch_timeout_s: float = 20.0
    max_page_bytes: int = 5 * 1024 * 1024
    """Pages larger than this are refused by the fetcher with reason ``too-large`` (bytes)."""
    max_message_bytes: int = 8 * 1024 * 1024
    """``max.message.bytes`` of the raw-pages topic and the producer's ``message.max.bytes`` (bytes)."""
    allow_private_hosts: list[str] = Field(default_factory=list)
    """Hosts allowed to resolve to loopback/private addresses (tests and the demo put 127.0.0.1 here)."""
    fetch_connect_timeout_s: float = 10.0
    """TCP/TLS connect timeout of one fetch attempt (seconds); ``fetch_timeout_s`` is the read timeout (the
    longest silence between two received chunks)."""
    fetch_total_timeout_s: float = 60.0
    """Deadline of one fetch attempt from request to last body byte (seconds): a slow-drip response that keeps
    sending a few bytes before each read timeout is cut with reason ``timeout``. Checked at every received
    chunk, so the worst case is this plus one read timeout."""
    fetch_retries: int = Field(default=3, ge=0)
    """Extra attempts after a timeout, a connection error, ``429`` or ``5xx`` (``0``: no retry)."""
    retry_backoff_s: float = Field(default=1.0, ge=0)
    """Base of the capped exponential backoff between attempts: ``base * 2**attempt`` seconds, "equal jitter"
    (half fixed, half random; AWS Architecture Blog, "Exponential Backoff And Jitter", 2015)."""
    retry_backoff_max_s: float = Field(default=30.0, ge=0)
    """Cap of one backoff wait (seconds)."""
    retry_after_max_s: float = Field(default=30.0, ge=0)
    """A ``Retry-After`` (RFC 9110 §10.2.3) longer than this is not waited for: the URL is refused as transient
    (``http-429`` / ``http-5xx``) and the next run tries again, so one page cannot stall a run (seconds)."""
    min_host_interval_s: float = Field(default=1.0, ge=0)
    """Minimum seconds between two requests to one host, across every crawl process sharing ``crawl_dir``
    (StormCrawler's ``fetcher.server.delay`` default is 1 s). The effective interval is the largest of this, the
    source's ``min_interval_s`` and robots.txt ``Crawl-delay``."""
    host_failures_to_skip: int = Field(default=3, ge=1)
    """After this many URLs of one host in a row failed with ``timeout`` / ``http-error`` (retries spent), the
    rest of that host's URLs in the run are refused at once as ``host-down`` (transient): a dead or black-holing
    site costs a few timeouts per run, not ``max_items`` × retries × timeout."""
    max_crawl_delay_s: float = Field(default=30.0, ge=0)
    """robots.txt ``Crawl-delay`` values above this are capped to it (seconds): honoured, but bounded so one
    host cannot stall a run (a site asking for more gets at most ``max_items`` pages per run anyway)."""
    robots_cache_h: float = Field(default=24.0, gt=0, le=24)
    """How long a fetched robots.txt is reused (hours); RFC 9309 §2.4: "SHOULD NOT use the cached version for
    more than 24 hours"."""
    obey_robots: bool = True
    """Honour robots.txt (``False`` only for replaying one's own archive or a site that allowed us in writing)."""
    warc_enabled: bool = True
    """Write every fetched response (articles, feeds, sitemaps, robots.txt) to rolling WARC files."""
    warc_dir: Path | None = None
    """Directory of the WARC archive; default ``crawl_dir/warc``."""
    warc_roll_bytes: int = Field(default=1024 ** 3, gt=0)
    """A WARC file is closed and a new one started once it reaches this size (bytes, compressed; Common Crawl
    and Heritrix roll at 1 GB)."""
    poll_min_interval_s: float = Field(default=600.0, ge=60)
    """Floor of the adaptive poll interval of feeds, sitemaps and section pages (seconds); a source may raise it
    (``poll_min_interval_s`` in the registry). Polls halve the interval on change, double it on none."""
    poll_max_interval_s: float = Field(default=86_400.0, ge=60)
    """Ceiling of the adaptive poll interval (seconds; 24 h as in Media Cloud's rss-fetcher)."""
    news_max_age_h: float = Field(default=48.0, gt=0)
    """Sitemap entries whose ``<news:publication_date>`` (or ``<lastmod>``) is older than this are skipped
    (``too-old``); Google News sitemaps list the last 2 days. Child sitemaps of an index are skipped the same way."""
    sitemap_max_depth: int = Field(default=2, ge=1, le=5)
    """Sitemap levels read from a registry entry (1: the file itself; 2: an index and its child sitemaps)."""
    sitemap_max_children: int = Field(default=20, ge=1)
    """Child sitemaps read per sitemap index and run (newest ``<lastmod>`` first); the rest count ``sitemap-capped``."""
    fetch_batch_size: int = Field(default=50, ge=1)
    """Crawl DAG: at most this many article URLs per mapped ``fetch_and_publish`` task (one retry unit)."""
    crawl_task_retry_delay_s: float = Field(default=120.0, gt=0)
    """Crawl DAG tasks: Airflow's ``retry_delay`` before the first retry of a failed task (seconds; doubled per
    further try, ``retry_exponential_backoff``). Read when the DAG file is parsed (dag-processor)."""
    frontier_max_attempts: int = Field(default=5, ge=1)
    """A discovered URL handed to this many crawl runs without being fetched (transient errors every time) leaves the
    frontier, counted ``discover:abandoned``, so it cannot hold a ``max_items`` slot forever."""
    health_stale_h: float = Field(default=26.0, gt=0)
    """``crawl_health``: a source whose last crawl report is older than this (hours) counts as failed."""

    # --- consumers -------------------------------------------------------------------------------------
    batch_size: int = 200
    poll_timeout_s: float = 0.1
    """Longest wait of one ``consume`` call for a batch (seconds). At a trickle every stage waits this long before it
    works on a page: 1.0 gave an alert p95 of 3.8 s, 0.1 gave 1.8 s (docs/benchmarks-alerts.md); under load batches
    fill before the timeout, so throughput does not depend on it."""
    idle_timeout_s: float = 5.0
    """With ``--until-idle``: stop after this long (seconds) without messages once every partition is caught up; a
    wait during which Kafka failed starts over once it answers again (:meth:`marsad.kafka.worker.Worker.run`)."""
    max_transient_retries: int = 5
    """Replay and DLQ replay: transient failures of one batch tolerated before the run stops (consumers use
    ``consumer_retry_limit_s``)."""
    consumer_retry_limit_s: float | None = Field(default=None, gt=0)
    """How long a consumer keeps retrying one batch that fails transiently (Elasticsearch or Kafka down), with its
    partitions paused and its group membership kept, before it exits without committing (seconds). ``None``
    (default): indefinitely — an outage of any length needs no human."""
    consumer_backoff_max_s: float = Field(default=30.0, gt=0)
    """Cap of the backoff between two attempts of a failing batch (seconds; doubles from 1 s)."""
    consumer_session_timeout_s: float = Field(default=10.0, ge=6, le=300)
    """Kafka ``session.timeout.ms`` of the consumers (seconds): a member killed with SIGKILL holds its partitions
    this long before the group gives them to the others (a member that exits normally leaves at once). 10 s instead
    of librdkafka's 45 s; the broker's ``group.min.session.timeout.ms`` (6 s) is the floor. Heartbeats every third of
    it (Kafka's advice: ``heartbeat.interval.ms`` ≤ 1/3 of the session timeout)."""
    consumer_close_timeout_s: float = Field(default=30.0, gt=0)
    """How long a stopping consumer waits for librdkafka's ``close()`` — commit nothing more, leave the group — before
    it gives up and exits anyway (seconds). ``close()`` has no timeout of its own and was seen blocking for good in a
    rebalance callback (confluentinc/librdkafka#4884); offsets are committed after every batch, so an exit without
    ``close()`` loses nothing: the group hands the partitions on after ``consumer_session_timeout_s``."""
    consumer_max_poll_interval_s: float = Field(default=600.0, gt=0)
    """Kafka ``max.poll.interval.ms`` (seconds): one attempt of one batch must finish within it. Waits between
    attempts keep polling (partitions paused), so an outage never exceeds it."""
    delivery_timeout_s: float = Field(default=60.0, gt=0)
    """Producer ``message.timeout.ms`` (seconds): a message not acknowledged within it is reported failed, and the
    batch is retried (a flush waits this long plus 10 s)."""
    dedup_window_days: float = 7.0
    """Near-duplicate candidates are stories fetched within this many days (bounds the LSH lookup)."""
    dedup_lsh_bands: int | None = Field(default=None, ge=1)
    dedup_lsh_rows: int | None = Field(default=None, ge=1)
    """LSH bands × rows of the near-duplicate fingerprints (``None``: :data:`marsad.dedup.near.BANDS` = 64 ×
    :data:`~marsad.dedup.near.ROWS` = 2, where the S-curve and its measurement are documented); bands × rows must
    not exceed the signature length (128). Part of the fingerprint version: after a change, stories indexed before
    it are no longer near-duplicate candidates until ``marsad replay`` builds a new index version (``marsad
    templates apply`` names the command; docs/decisions.md, «Fingerprint version»)."""
    page_time_limit_s: float = 20.0
    """Per-page extraction time limit (seconds); a page over it is dead-lettered as ``extract-timeout``."""
    metrics_port: int | None = None
    """When set, consumers expose Prometheus metrics on ``127.0.0.1:<port>/metrics``."""
    fault_points: dict[str, str] = Field(default_factory=dict)
    """Tests only: crash points ``{"index.claimed": "kill", ...}`` (see :mod:`marsad.faults`); empty in production."""

    # --- demo ----------------------------------------------------------------------------------------
    corpus_dir: Path = REPO_ROOT.parent / "shared" / "corpus"
    demo_site_port: int = 8765

    @property
    def crawl_dir(self) -> Path:
        return Path(self.crawl_state_dir or Path(self.state_dir) / "crawl")

    @property
    def warc_path(self) -> Path:
        return Path(self.warc_dir or self.crawl_dir / "warc")

    @property
    def robots_token(self) -> str:
        """The product token of :attr:`user_agent` (``MarsadBot``) matched against robots.txt groups
        (RFC 9309 §2.2.1)."""
        return self.user_agent.split("/", 1)[0].split()[0] if self.user_agent.strip() else "*"

    @property
    def stories_index_v1(self) -> str:
        return f"{self.stories_index_prefix}1"

    @property
    def dedup_params(self) -> Params:
        """The near-duplicate parameters: :data:`marsad.dedup.near.DEFAULT` with :attr:`dedup_lsh_bands` and
        :attr:`dedup_lsh_rows` when set."""
        from dataclasses import replace

        from marsad.dedup.near import DEFAULT

        return replace(DEFAULT, bands=self.dedup_lsh_bands or DEFAULT.bands, rows=self.dedup_lsh_rows or DEFAULT.rows)

    @model_validator(mode="after")
    def _kafka_security(self) -> Settings:
        """Kafka security settings that fit together; messages name the variables, never a password."""
        if self.kafka_sasl_password is not None and self.kafka_sasl_password_file is not None:
            raise ValueError("set MARSAD_KAFKA_SASL_PASSWORD or MARSAD_KAFKA_SASL_PASSWORD_FILE, not both")
        if self.kafka_security_protocol == "SASL_SSL":
            if not self.kafka_sasl_username:
                raise ValueError("MARSAD_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs MARSAD_KAFKA_SASL_USERNAME")
            if self.kafka_sasl_password is None and self.kafka_sasl_password_file is None:
                raise ValueError("MARSAD_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs MARSAD_KAFKA_SASL_PASSWORD_FILE "
                                 "(or MARSAD_KAFKA_SASL_PASSWORD)")
            check_secret_files(("MARSAD_KAFKA_SASL_PASSWORD_FILE", self.kafka_sasl_password_file),
                                ("MARSAD_KAFKA_SSL_CA", self.kafka_ssl_ca))
        elif self.kafka_sasl_username or self.kafka_sasl_password is not None or self.kafka_sasl_password_file:
            raise ValueError("MARSAD_KAFKA_SASL_USERNAME/PASSWORD are set but MARSAD_KAFKA_SECURITY_PROTOCOL is "
                             "PLAINTEXT: the credentials would not be used (set it to SASL_SSL)")
        return self

    @model_validator(mode="after")
    def _lsh_fits_signature(self) -> Settings:
        if self.dedup_lsh_bands is not None or self.dedup_lsh_rows is not None:
            try:
                _ = self.dedup_params
            except ValueError as exc:  # Params: bands × rows must fit the signature
                raise ValueError(f"MARSAD_DEDUP_LSH_BANDS × MARSAD_DEDUP_LSH_ROWS: {exc}") from None
        return self


ENV_FIELDS = (
    "kafka_bootstrap", "es_url", "state_dir", "crawl_state_dir", "sources_file", "allow_private_hosts",
    "raw_pages_topic", "articles_topic", "dead_letter_topic", "extract_group", "index_group", "stories_alias",
    "stories_index_prefix", "fingerprints_index", "topic_partitions", "max_page_bytes", "max_message_bytes",
    "user_agent", "fetch_timeout_s", "fetch_connect_timeout_s", "fetch_total_timeout_s", "fetch_retries",
    "retry_backoff_s", "retry_backoff_max_s", "retry_after_max_s", "min_host_interval_s", "host_failures_to_skip",
    "max_crawl_delay_s", "robots_cache_h", "obey_robots", "warc_enabled", "warc_dir", "warc_roll_bytes",
    "replay_group_prefix",
    "poll_min_interval_s", "poll_max_interval_s", "news_max_age_h", "sitemap_max_depth",
    "sitemap_max_children", "health_stale_h", "fetch_batch_size", "crawl_task_retry_delay_s",
    "frontier_max_attempts", "crawl_state_url", "crawl_worker_id", "frontier_lease_s",
    "alerts_topic", "alert_rules_alias", "alerts_sent_index", "alerts_enabled", "outcomes_topic",
    "dedup_lsh_bands", "dedup_lsh_rows", "es_username", "es_password_file", "es_api_key_file", "es_ca_certs",
    "kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password_file",
    "kafka_ssl_ca",
)
"""Fields handed to child processes (Airflow tasks) so they see the same pipeline as their parent. Not the Kafka
password itself (``kafka_sasl_password``): a child gets the password *file*, or inherits
``MARSAD_KAFKA_SASL_PASSWORD`` from the environment it came from; Marsad never copies a secret into an environment."""


def scratch_names(tag: str) -> dict[str, str]:
    """Settings overrides that give a whole pipeline throw-away names under prefix ``tag`` (a lowercase slug, e.g.
    ``bench1a2b3c4d``): every Kafka topic, consumer group and Elasticsearch index, alias and prefix Marsad uses.
    For benchmarks and tests that create and then delete their names on a shared stack — a name left at its default
    would delete the operator's own topic or index (seen: a benchmark that named only three of the five topics
    deleted the real ``marsad.alerts.v1`` and ``marsad.outcomes.v1`` afterwards).
    ``tests/unit/test_scratch_names_cover_every_name.py`` fails when a new name setting is not covered."""
    return {
        "raw_pages_topic": f"{tag}.raw-pages.v1", "articles_topic": f"{tag}.articles.v1",
        "dead_letter_topic": f"{tag}.dead-letter.v1", "outcomes_topic": f"{tag}.outcomes.v1",
        "alerts_topic": f"{tag}.alerts.v1",
        "extract_group": f"{tag}.extract", "index_group": f"{tag}.index", "webhook_group": f"{tag}.webhooks",
        "replay_group_prefix": f"{tag}.replay", "dlq_replay_group": f"{tag}.dlq-replay",
        "stories_alias": f"{tag}-stories", "stories_index_prefix": f"{tag}-stories-v",
        "fingerprints_index": f"{tag}-fingerprints", "alert_rules_alias": f"{tag}-alert-rules",
        "alerts_sent_index": f"{tag}-alerts-sent",
    }


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
