"""Secrets never shown: a PostgreSQL password in the crawl state URL (``user:password@`` or ``?password=``) is
``***`` in messages and in the repr of :class:`~marsad.settings.Settings`; Elasticsearch credentials are refused in
``MARSAD_ES_URL`` and their files' contents are never in the settings or the environment handed to children."""

from __future__ import annotations

import pytest

from marsad.crawl.pgstate import redact
from marsad.settings import Settings, redact_url, to_env

# Gold written by hand: (URL, what may be shown)
CASES = [
    ("postgresql://marsad:s3cret@db.internal:5433/crawl", "postgresql://marsad:***@db.internal:5433/crawl"),
    ("postgresql://marsad:s3cret@db.internal/crawl?sslmode=verify-full",
     "postgresql://marsad:***@db.internal/crawl?sslmode=verify-full"),
    ("postgresql://marsad@db.internal/crawl?password=s3cret&sslmode=require",
     "postgresql://marsad@db.internal/crawl?password=***&sslmode=require"),
    ("postgresql://marsad@db.internal/crawl?sslmode=require&password=s3cret",
     "postgresql://marsad@db.internal/crawl?sslmode=require&password=***"),
    ("postgresql://marsad@127.0.0.1:5432/marsad?passfile=/home/me/.cache/marsad/stack/postgres/pgpass",
     "postgresql://marsad@127.0.0.1:5432/marsad?passfile=/home/me/.cache/marsad/stack/postgres/pgpass"),
    ("postgresql://marsad:p%40ss@db/crawl", "postgresql://marsad:***@db/crawl"),
]


@pytest.mark.parametrize(("url", "shown"), CASES)
def test_redact_hides_the_password_of_a_libpq_url(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert redact_url(url) == shown


@pytest.mark.parametrize(("url", "shown"), CASES)
def test_settings_repr_hides_the_crawl_state_password(url: str, shown: str) -> None:
    s = Settings(crawl_state_url=url)
    assert s.crawl_state_url == url  # the value itself is intact: clients need it
    assert "s3cret" not in repr(s) and "p%40ss" not in repr(s)
    assert f"crawl_state_url={shown!r}" in repr(s)


def test_credentials_in_the_elasticsearch_url_are_refused() -> None:
    with pytest.raises(ValueError, match="MARSAD_ES_PASSWORD_FILE") as err:
        Settings(es_url="https://elastic:s3cret@es.internal:9200")
    assert "s3cret" not in str(err.value)


def test_only_the_path_of_an_elasticsearch_secret_goes_to_child_processes(tmp_path) -> None:
    secret = tmp_path / "es-password"
    secret.write_text("s3cret\n")
    env = to_env(Settings(es_url="https://es.internal:9200", es_username="marsad", es_password_file=secret))
    assert env["MARSAD_ES_USERNAME"] == "marsad" and env["MARSAD_ES_PASSWORD_FILE"] == str(secret)
    assert not any("s3cret" in v for v in env.values())


@pytest.mark.parametrize("kw", [
    {"es_username": "marsad"},  # no password file
    {"es_password_file": "/run/secrets/es"},  # no user
    {"es_username": "marsad", "es_password_file": "/run/secrets/es", "es_api_key_file": "/run/secrets/key"},
])
def test_elasticsearch_authentication_settings_must_be_complete_and_one_way(kw: dict) -> None:
    with pytest.raises(ValueError, match="MARSAD_ES_"):
        Settings(**kw)


def test_a_refused_crawl_state_url_is_not_echoed_with_its_password() -> None:
    with pytest.raises(ValueError, match=r"mysql://marsad:\*\*\*@db.internal/crawl") as err:
        Settings(crawl_state_url="mysql://marsad:s3cret@db.internal/crawl")
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("name, value", [
    ("MARSAD_ES_URL", "http://elastic:s3cret-pw@127.0.0.1:1"),
    ("MARSAD_CRAWL_STATE_URL", "mysql://marsad:s3cret-pw@db/marsad"),
    ("MARSAD_KAFKA_SASL_PASSWORD", "s3cret-pw"),  # given without MARSAD_KAFKA_SASL_USERNAME: refused
])
def test_a_refused_setting_is_named_on_the_command_line_without_its_password(name: str, value: str,
                                                                             tmp_path) -> None:
    """The CLI's one ``error:`` line names the refused variable and its value with the password as ``***`` (before:
    ``cli_settings`` printed pydantic's raw input, ``MARSAD_ES_URL='http://elastic:s3cret@…'``)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
    env.update({name: value, "MARSAD_STATE_DIR": str(tmp_path)})
    proc = subprocess.run([sys.executable, "-m", "marsad.cli", "search", "x"], env=env, capture_output=True,
                          text=True, timeout=60)
    if proc.returncode == 0:
        pytest.fail(f"{name}={value} was accepted")
    assert "s3cret-pw" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == 2 and proc.stderr.startswith("error:") and "MARSAD_" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "Value error, " not in proc.stderr


def test_a_misspelt_setting_is_named_with_the_settings_it_may_mean(tmp_path) -> None:
    """``MARSAD_ES_PASSWORD`` / ``MARSAD_ES_CA`` are guesses from the Kafka names; pydantic ignores unknown variables,
    so without a check they do nothing without a word: one warning each, naming the setting meant — never the value."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
    env.update(MARSAD_STATE_DIR=str(tmp_path), MARSAD_ES_URL="http://127.0.0.1:1", MARSAD_ES_PASSWORD="s3cret-pw",
               MARSAD_ES_CA="/etc/ca.pem", MARSAD_SECRETS_DIR="/tmp/secrets")
    proc = subprocess.run([sys.executable, "-m", "marsad.cli", "search", "x"], env=env, capture_output=True,
                          text=True, timeout=60)
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning:")]
    # the setting each was meant for, written down before the run; difflib may add a second guess
    assert len(warnings) == 2, proc.stderr  # MARSAD_SECRETS_DIR is compose's, not a mistake
    assert warnings[0].startswith("warning: MARSAD_ES_CA is not a Marsad setting and is ignored (did you mean "
                                  "MARSAD_ES_CA_CERTS"), warnings
    assert warnings[1].startswith("warning: MARSAD_ES_PASSWORD is not a Marsad setting and is ignored (did you mean "
                                  "MARSAD_ES_PASSWORD_FILE"), warnings
    assert "s3cret-pw" not in proc.stderr
