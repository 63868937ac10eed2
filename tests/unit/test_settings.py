"""Unit tests of marsad.settings.to_env: a child process rebuilt from the env sees the same pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from marsad.settings import ENV_FIELDS, Settings, load_settings, to_env


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    import os

    for k in list(os.environ):
        if k.upper().startswith("MARSAD_"):
            monkeypatch.delenv(k, raising=False)


def _custom(tmp_path: Path) -> Settings:
    (tmp_path / "kafka.password").write_text("not-a-real-password\n")
    (tmp_path / "kafka-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    return Settings(
        kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-256", kafka_sasl_username="svc-marsad",
        kafka_sasl_password_file=tmp_path / "kafka.password", kafka_ssl_ca=tmp_path / "kafka-ca.pem",
        kafka_bootstrap="10.0.0.5:19092,10.0.0.6:19092",
        es_url="http://es.internal:9201",
        state_dir=tmp_path / "state dir",
        crawl_state_dir=tmp_path / "crawl",
        sources_file=tmp_path / "my sources.yaml",
        allow_private_hosts=["127.0.0.1", "localhost", "demo.local"],
        raw_pages_topic="t.raw",
        articles_topic="t.articles",
        dead_letter_topic="t.dlq",
        outcomes_topic="t.outcomes",
        extract_group="g.extract",
        index_group="g.index",
        replay_group_prefix="g.replay",
        stories_alias="stories-test",
        stories_index_prefix="stories-test-v",
        fingerprints_index="fp-test",
        topic_partitions=7,
        max_page_bytes=123456,
        max_message_bytes=654321,
        user_agent="MarsadTest/9 (+https://example.org; «عربي»)",
        fetch_timeout_s=7.5, fetch_connect_timeout_s=3.5, fetch_total_timeout_s=44.0, fetch_retries=5,
        retry_backoff_s=0.25, retry_backoff_max_s=9.0, retry_after_max_s=12.0, min_host_interval_s=2.5,
        max_crawl_delay_s=11.0, host_failures_to_skip=9, robots_cache_h=6.0, obey_robots=False, warc_enabled=False,
        warc_dir=tmp_path / "warc dir", warc_roll_bytes=777777,
        poll_min_interval_s=120.5,
        poll_max_interval_s=7200.0,
        news_max_age_h=12.5,
        sitemap_max_depth=3,
        sitemap_max_children=7,
        health_stale_h=3.5,
        fetch_batch_size=9,
        crawl_task_retry_delay_s=7.5,
        frontier_max_attempts=3,
        crawl_state_url="postgresql://marsad:s3cret@db.internal:5433/crawl",
        crawl_worker_id="worker-7",
        frontier_lease_s=99.0,
        alerts_topic="t.alerts",
        alert_rules_alias="rules-test",
        alerts_sent_index="sent-test",
        dedup_lsh_bands=32, dedup_lsh_rows=4,
        alerts_enabled=False,
        es_username="marsad-test", es_password_file=tmp_path / "es password", es_ca_certs=tmp_path / "ca.pem",
    )


def _rebuild(monkeypatch, env: dict[str, str]) -> Settings:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return Settings()


def test_to_env_round_trip_custom(tmp_path, monkeypatch):
    original = _custom(tmp_path)
    env = to_env(original)
    assert all(k.startswith("MARSAD_") and isinstance(v, str) for k, v in env.items())
    child = _rebuild(monkeypatch, env)
    for name in ENV_FIELDS:
        assert getattr(child, name) == getattr(original, name), name
    assert child.allow_private_hosts == ["127.0.0.1", "localhost", "demo.local"]
    assert child.crawl_dir == original.crawl_dir


def test_to_env_round_trip_defaults(monkeypatch):
    original = Settings()
    env = to_env(original)
    assert "MARSAD_CRAWL_STATE_DIR" not in env  # None is not exported
    child = _rebuild(monkeypatch, env)
    for name in ENV_FIELDS:
        assert getattr(child, name) == getattr(original, name), name
    assert child.allow_private_hosts == []


def test_to_env_values_differ_from_defaults_so_round_trip_is_meaningful(tmp_path):
    custom, default = _custom(tmp_path), Settings()
    same = [n for n in ENV_FIELDS if getattr(custom, n) == getattr(default, n)]
    assert same == ["es_api_key_file"]  # excludes es_username: its round trip is the next test


def test_to_env_round_trip_es_api_key_file(tmp_path, monkeypatch):
    original = Settings(es_api_key_file=tmp_path / "es api key")
    child = _rebuild(monkeypatch, to_env(original))
    assert child.es_api_key_file == original.es_api_key_file


def test_to_env_covers_exactly_env_fields(tmp_path):
    env = to_env(_custom(tmp_path))
    assert set(env) == {f"MARSAD_{n.upper()}" for n in ENV_FIELDS} - {"MARSAD_ES_API_KEY_FILE"}  # None: not exported
    assert env["MARSAD_ALLOW_PRIVATE_HOSTS"] == '["127.0.0.1", "localhost", "demo.local"]'
    assert env["MARSAD_TOPIC_PARTITIONS"] == "7"


def test_single_private_host_round_trip(monkeypatch):
    original = load_settings(allow_private_hosts=["127.0.0.1"])
    child = _rebuild(monkeypatch, to_env(original))
    assert child.allow_private_hosts == ["127.0.0.1"]


def test_env_overrides_defaults_and_overrides_win(monkeypatch):
    monkeypatch.setenv("MARSAD_ARTICLES_TOPIC", "from-env")
    assert load_settings().articles_topic == "from-env"
    assert load_settings(articles_topic="kw").articles_topic == "kw"


@pytest.mark.parametrize("url", ["sqlite:///x.db", "postgresql://db.internal:5432", "http://db/x", "db.internal/x"])
def test_crawl_state_url_must_be_a_postgresql_url(url):
    with pytest.raises(ValueError, match="postgresql://"):
        Settings(crawl_state_url=url)


def test_crawl_state_url_empty_means_the_sqlite_files():
    assert Settings(crawl_state_url="").crawl_state_url is None
