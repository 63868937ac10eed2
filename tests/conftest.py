"""Shared fixtures. Tests needing services use their own topic and index names (``names`` fixture).

With ``CI=true`` an unreachable Kafka or Elasticsearch is a test failure, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from marsad.settings import Settings, load_settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CORPUS = Settings().corpus_dir


def _unavailable(msg: str) -> None:
    if IN_CI:
        pytest.fail(f"{msg} (CI=true: a missing service is a failure)")
    pytest.skip(f"{msg}; start it with `marsad stack up`")


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def services(base_settings: Settings) -> Settings:
    """Checks that the real Kafka and Elasticsearch answer; fails in CI, skips elsewhere."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    from marsad.errors import TransientError
    from marsad.index.es import Es

    try:
        AdminClient({"bootstrap.servers": base_settings.kafka_bootstrap}).list_topics(timeout=10)
    except KafkaException as exc:
        _unavailable(f"Kafka not reachable at {base_settings.kafka_bootstrap}: {exc}")
    try:
        Es(base_settings.es_url).request("GET", "/_cluster/health")
    except TransientError as exc:
        _unavailable(f"Elasticsearch not reachable at {base_settings.es_url}: {exc}")
    return base_settings


def _unique_names(base: Settings, tmp_path: Path) -> tuple[str, Settings]:
    tag = f"t{uuid.uuid4().hex[:10]}"
    return tag, base.model_copy(update={
        "raw_pages_topic": f"{tag}.raw-pages.v1",
        "articles_topic": f"{tag}.articles.v1",
        "dead_letter_topic": f"{tag}.dead-letter.v1",
        "outcomes_topic": f"{tag}.outcomes.v1",
        "extract_group": f"{tag}.extract",
        "index_group": f"{tag}.index",
        "stories_alias": f"{tag}-stories",
        "stories_index_prefix": f"{tag}-stories-v",
        "fingerprints_index": f"{tag}-fingerprints",
        "alerts_topic": f"{tag}.alerts.v1",
        "alert_rules_alias": f"{tag}-alert-rules",
        "alerts_sent_index": f"{tag}-alerts-sent",
        "webhook_group": f"{tag}.webhooks",
        "crawl_state_dir": tmp_path / "crawl",
        "allow_private_hosts": ["127.0.0.1"],
        "min_host_interval_s": 0.0,  # politeness spacing is tested on its own (tests/integration/test_crawl_fetch.py)
        "idle_timeout_s": 2.0,
        "topic_partitions": 2,
    })


def _drop_names(tag: str, s: Settings) -> None:
    from confluent_kafka import KafkaError, KafkaException

    from marsad.index.es import Es
    from marsad.kafka.clients import admin, topic_names

    es = Es(s.es_url)
    es.request("DELETE", f"/{tag}-*", ok=(404,))
    for t in (s.stories_alias, s.fingerprints_index, s.alert_rules_alias, s.alerts_sent_index):
        es.request("DELETE", f"/_index_template/{t}", ok=(404,))
    client = admin(s)  # keep a reference: the futures die with the client
    futures = client.delete_topics(topic_names(s), operation_timeout=30)
    for f in futures.values():
        try:
            f.result()
        except KafkaException as exc:  # a topic this test never created is fine, anything else is not
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise


@pytest.fixture(scope="session")
def postgres_url(base_settings: Settings) -> str:
    """URL of the real PostgreSQL for crawl state tests: ``MARSAD_CRAWL_STATE_URL`` or the local stack's database
    ``marsad`` (`marsad stack up`); fails in CI, skips elsewhere when it does not answer."""
    import psycopg

    from marsad.stack._postgres import crawl_state_url

    url = base_settings.crawl_state_url or crawl_state_url(base_settings)
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL not reachable at {url}: {str(exc).strip()}")
    return url


class CrawlStore:
    """One crawl state store of a test (``kind``: ``sqlite`` or ``postgres``); every call opens a new connection,
    as another process would. ``settings`` point at it (``crawl_state_url`` / ``crawl_state_dir``)."""

    def __init__(self, kind: str, settings: Settings) -> None:
        self.kind, self.settings = kind, settings

    def seen(self):
        from marsad.crawl.stores import open_seen

        return open_seen(self.settings)

    def polls(self, min_s: float, max_s: float):
        from marsad.crawl.stores import open_polls

        return open_polls(self.settings, min_s, max_s)

    def politeness(self):
        from marsad.crawl.stores import open_politeness

        return open_politeness(self.settings)


@contextmanager
def _own_schema(base: str) -> Iterator[str]:
    """A crawl-state URL on ``base`` whose ``search_path`` is a new schema of its own (dropped afterwards)."""
    from urllib.parse import quote

    import psycopg
    from psycopg import sql

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def crawl_state_url(postgres_url: str) -> Iterator[str]:
    """A crawl-state URL of this test's own in the stack's PostgreSQL (a schema, dropped afterwards)."""
    with _own_schema(postgres_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def crawl_store(request, tmp_path: Path):
    """Each crawl state test runs against both stores: the SQLite files under a temporary ``crawl_dir`` and the
    real PostgreSQL (a schema of its own, dropped afterwards)."""
    settings = Settings(crawl_state_dir=tmp_path / "crawl", state_dir=tmp_path)
    if request.param == "sqlite":
        yield CrawlStore("sqlite", settings)
        return
    with _own_schema(request.getfixturevalue("postgres_url")) as url:
        yield CrawlStore("postgres", settings.model_copy(update={"crawl_state_url": url}))


@pytest.fixture
def names(services: Settings, tmp_path: Path):
    """Settings with topic, group, index and alias names unique to this test; cleaned up afterwards."""
    tag, s = _unique_names(services, tmp_path)
    yield s
    _drop_names(tag, s)


@pytest.fixture(scope="session")
def private_stack():
    """This checkout's private Kafka + Elasticsearch (``tests/private_stack.py``), started once (or reused): fault
    tests stop and kill its engines, never the shared stack's."""
    from marsad.stack import StackError
    from tests.private_stack import PrivateStack

    ps = PrivateStack()
    try:
        ps.up()
    except StackError as exc:
        _unavailable(f"private stack for fault tests did not start: {exc}")
    return ps


@pytest.fixture
def private_names(private_stack, tmp_path: Path):
    """Like ``names``, on the private stack; the engines are started again (if a test left one down) before the
    names are dropped."""
    tag, s = _unique_names(private_stack.settings, tmp_path)
    yield s
    private_stack.up()
    _drop_names(tag, s)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.exists():
        pytest.skip(f"corpus folder {CORPUS} not present (data dependency, not a service)")
    return CORPUS


def pytest_configure(config):
    if IN_CI and not CORPUS.is_dir():
        raise pytest.UsageError(f"CI=true but the test corpus is missing at {CORPUS} (set MARSAD_CORPUS_DIR)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true a skipped test, an xfailed test and an xpassed test are failed tests: CI must never pass by not
    running something or by tolerating a known failure (``xfail_strict = true`` in pyproject.toml already fails an
    xfail that passes everywhere)."""
    outcome = yield
    report = outcome.get_result()
    if not IN_CI:
        return
    if hasattr(report, "wasxfail"):
        reason = report.wasxfail
        del report.wasxfail  # otherwise the terminal still counts it as xfailed/xpassed
        report.outcome = "failed"
        report.longrepr = f"xfail in CI (not allowed): {reason or '(no reason)'}"
    elif report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (not allowed): {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """With CI=true a skip raised while collecting (a module-level ``pytest.importorskip`` or ``pytest.skip(...,
    allow_module_level=True)``) is a collection error: the test-report hook above never sees those tests."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped at collection in CI (not allowed): {report.longrepr}"


@pytest.fixture
def crawl_site():
    """The local crawl trap site (``tests/crawlsite``) on a free 127.0.0.1 port, fresh per test."""
    from tests.crawlsite.server import CrawlSite

    with CrawlSite() as site:
        yield site
