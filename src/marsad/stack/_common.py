"""Shared machinery of the local stack: Java/Maven checks, jar fetching, pid files, ports, log tails.

Linux only: process identity is checked through ``/proc/<pid>/cmdline``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

BIND_HOST = "127.0.0.1"
"""The only address the local services listen on (``localhost`` in settings is mapped to it)."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
MIN_JAVA = 17
"""Kafka 4.x brokers require Java 17+ (Kafka 4.0 release notes)."""
MVN_TIMEOUT_S = 1800.0
"""Upper bound for one ``mvn dependency:copy-dependencies`` run (a cold fetch is ~80 MB of jars)."""
LIB_MARKER = ".marsad-complete"
"""File written into a lib dir after a successful fetch; holds the key of what was fetched."""

BANNER = "=== "
"""Prefix of the line we append to a log before each command we run (skipped by :func:`last_line`)."""

JAVA_INSTALL_HINT = "install openjdk-17-jre-headless or set MARSAD_JAVA_HOME"

Say = Callable[[str], None]


class StackError(Exception):
    """A one-line, user-facing reason why the local stack could not be started, stopped or inspected."""


def _quiet(_: str) -> None:
    return None


# --- settings parsing ---------------------------------------------------------------------------------


def parse_kafka_bootstrap(value: str) -> int:
    """Port of ``kafka_bootstrap`` (``host:port``); the host must be loopback. Raises :class:`StackError`."""
    return parse_kafka_ports(value, 1)[0]


def parse_kafka_ports(value: str, nodes: int) -> list[int]:
    """Client ports of the ``nodes`` brokers listed in ``kafka_bootstrap`` (``host:port,host:port,…``, one entry per
    broker, in node order); every host must be loopback. Raises :class:`StackError`."""
    servers = [s.strip() for s in value.split(",") if s.strip()]
    if len(servers) != nodes:
        if nodes == 1:
            raise StackError(
                "the local stack runs one Kafka broker: MARSAD_KAFKA_BOOTSTRAP must be a single host:port, "
                f"got {value!r}"
            )
        raise StackError(
            f"the local stack runs {nodes} Kafka brokers: MARSAD_KAFKA_BOOTSTRAP must list {nodes} host:port "
            f"entries (one per broker), got {value!r}"
        )
    return [_parse_kafka_server(server, value) for server in servers]


def parse_es_ports(value: str, nodes: int) -> list[int]:
    """HTTP ports of the ``nodes`` Elasticsearch nodes listed in ``es_url`` (comma-separated, one URL per node, in
    node order). Raises :class:`StackError`."""
    urls = [u.strip() for u in value.split(",") if u.strip()]
    if len(urls) != nodes:
        if nodes == 1:
            raise StackError(f"the local stack runs one Elasticsearch node: MARSAD_ES_URL must be a single URL, "
                             f"got {value!r}")
        raise StackError(f"the local stack runs {nodes} Elasticsearch nodes: MARSAD_ES_URL must list {nodes} URLs "
                         f"(one per node, comma-separated), got {value!r}")
    return [parse_es_url(u) for u in urls]


def _parse_kafka_server(server: str, value: str) -> int:
    host, sep, port_s = server.rpartition(":")
    if not sep or not port_s.isdigit():
        raise StackError(f"MARSAD_KAFKA_BOOTSTRAP must be host:port, got {value!r}")
    if host not in LOOPBACK_HOSTS:
        raise StackError(
            "the local stack listens on 127.0.0.1 only: MARSAD_KAFKA_BOOTSTRAP host must be 127.0.0.1 or localhost, "
            f"got {host!r}"
        )
    return check_port(int(port_s), "MARSAD_KAFKA_BOOTSTRAP")


def parse_es_url(value: str) -> int:
    """HTTP port of ``es_url`` (``http://host:port``); the host must be loopback. Raises :class:`StackError`."""
    parts = urlsplit(value)
    if parts.scheme != "http":
        raise StackError(
            f"the local Elasticsearch speaks plain http: MARSAD_ES_URL must start with http://, got {value!r}"
        )
    if parts.hostname not in LOOPBACK_HOSTS:
        raise StackError(
            "the local stack listens on 127.0.0.1 only: MARSAD_ES_URL host must be 127.0.0.1 or localhost, "
            f"got {value!r}"
        )
    try:
        port = parts.port
    except ValueError:
        port = None
    return check_port(port if port is not None else 9200, "MARSAD_ES_URL")


def check_port(port: int, setting: str) -> int:
    if not 1024 <= port <= 65535:
        raise StackError(f"{setting}: port {port} is outside 1024-65535")
    return port


_HEAP = re.compile(r"^([1-9][0-9]*)([kKmMgG])$")


def parse_heap(value: str, setting: str, *, max_bytes: int | None = None) -> str:
    """Validate a JVM heap size such as ``768m`` or ``1g``; returns it unchanged. Raises :class:`StackError`."""
    m = _HEAP.match(value.strip())
    if not m:
        raise StackError(f"{setting} must look like 512m or 1g, got {value!r}")
    size = int(m.group(1)) * {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()]
    if size < 128 << 20:
        raise StackError(f"{setting}={value} is too small for the local stack (at least 128m)")
    if max_bytes is not None and size > max_bytes:
        raise StackError(f"{setting}={value} is above the local stack's limit of {max_bytes >> 20}m")
    return value.strip()


# --- java / maven -------------------------------------------------------------------------------------


def parse_java_major(version_output: str) -> int | None:
    """Major version from ``java -version`` output (``"1.8.0_292"`` -> 8, ``"17.0.15"`` -> 17, ``"25-ea"`` -> 25)."""
    m = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not m:
        return None
    major = int(m.group(1))
    if major == 1 and m.group(2):
        return int(m.group(2))
    return major


def find_java(java_home: Path | None) -> Path:
    """The ``java`` executable to run the stack with (``java_home/bin/java`` or ``java`` on PATH), checked to be 17+.

    Raises :class:`StackError` when it is missing, does not run, or is older than Java 17.
    """
    if java_home is not None:
        java = Path(java_home) / "bin" / "java"
        if not (java.is_file() and os.access(java, os.X_OK)):
            raise StackError(
                f"Java {MIN_JAVA}+ is required for the local stack: {java} not found (MARSAD_JAVA_HOME={java_home})"
            )
    else:
        found = shutil.which("java")
        if found is None:
            raise StackError(
                f"Java {MIN_JAVA}+ is required for the local stack: `java` not found on PATH ({JAVA_INSTALL_HINT})"
            )
        java = Path(found)
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise StackError(f"Java {MIN_JAVA}+ is required for the local stack: `{java} -version` failed: {e}") from e
    major = parse_java_major(out.stderr + out.stdout)
    if major is None:
        raise StackError(f"Java {MIN_JAVA}+ is required for the local stack: cannot read the version of {java}")
    if major < MIN_JAVA:
        raise StackError(
            f"Java {MIN_JAVA}+ is required for the local stack: {java} is Java {major} ({JAVA_INSTALL_HINT})"
        )
    return java


def java_has_module(java: Path, module: str) -> bool:
    """Whether ``java --list-modules`` lists ``module`` (e.g. ``jdk.compiler``, needed to run a ``.java`` file)."""
    try:
        out = subprocess.run([str(java), "--list-modules"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(line.split("@", 1)[0] == module for line in out.stdout.splitlines())


def find_mvn() -> str:
    """``mvn`` on PATH. Raises :class:`StackError` when missing."""
    found = shutil.which("mvn")
    if found is None:
        raise StackError(
            "Maven is required to download the local stack's jars: `mvn` not found on PATH (install maven)"
        )
    return found


def read_resource(name: str) -> str:
    """Text of a data file shipped in ``marsad.stack`` (pom, log4j2 and properties templates)."""
    return resources.files("marsad.stack").joinpath(name).read_text(encoding="utf-8")


def lib_key(pom_name: str, pom_text: str, properties: dict[str, str]) -> str:
    """Identity of a fetched lib dir: pom name + overridden versions + pom content hash."""
    props = " ".join(f"{k}={v}" for k, v in sorted(properties.items()))
    return f"{pom_name} {props} sha256:{hashlib.sha256(pom_text.encode()).hexdigest()[:16]}"


def ensure_libs(
    *,
    what: str,
    pom_name: str,
    properties: dict[str, str],
    lib_dir: Path,
    log_path: Path,
    say: Say = _quiet,
) -> bool:
    """Make ``lib_dir`` hold the runtime jars of the shipped pom ``pom_name``; returns True if it fetched.

    Cached: nothing runs when ``lib_dir/.marsad-complete`` holds the same :func:`lib_key`. Otherwise runs
    ``mvn -B -q dependency:copy-dependencies -DincludeScope=runtime`` (local repo: Maven's default ``~/.m2``)
    into ``<lib_dir>.partial`` and renames it into place. Maven output goes to ``log_path``.
    Raises :class:`StackError` when ``mvn`` is missing or fails.
    """
    pom_text = read_resource(pom_name)
    key = lib_key(pom_name, pom_text, properties)
    marker = lib_dir / LIB_MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == key:
        return False
    mvn = find_mvn()
    versions = ", ".join(f"{k} {v}" for k, v in sorted(properties.items()))
    say(f"{what}: downloading jars with Maven ({versions}) ...")
    work = lib_dir.parent
    work.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pom = work / "pom.xml"
    pom.write_text(pom_text, encoding="utf-8")
    partial = lib_dir.with_name(lib_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    cmd = [
        mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}", "-DincludeScope=runtime",
        *(f"-D{k}={v}" for k, v in sorted(properties.items())),
    ]  # fmt: skip
    started = time.monotonic()
    offset = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("ab") as log:
        log.write(f"\n{BANNER}{time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(cmd)}\n".encode())
        log.flush()
        try:
            rc = subprocess.run(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                timeout=MVN_TIMEOUT_S).returncode  # fmt: skip
        except subprocess.TimeoutExpired:
            raise StackError(
                f"mvn did not finish fetching the {what} jars within {MVN_TIMEOUT_S:.0f} s; see {log_path}"
            ) from None
    jars = list(partial.glob("*.jar")) if partial.is_dir() else []
    if rc != 0 or not jars:
        raise StackError(
            f"mvn failed to fetch the {what} jars (exit {rc}): {mvn_error(log_path, offset)}; see {log_path}"
        )
    shutil.rmtree(lib_dir, ignore_errors=True)
    partial.rename(lib_dir)
    marker.write_text(key + "\n", encoding="utf-8")
    say(f"{what}: {len(jars)} jars in {time.monotonic() - started:.1f} s -> {lib_dir}")
    return True


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def mvn_error(log_path: Path, offset: int = 0, max_chars: int = 300) -> str:
    """First ``[ERROR]`` line Maven wrote to ``log_path`` after byte ``offset`` (ANSI colours removed)."""
    try:
        with log_path.open("rb") as f:
            f.seek(offset)
            text = _ANSI.sub("", f.read().decode(errors="replace"))
    except OSError:
        return "no output"
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[ERROR]") and line[7:].strip():
            line = line[7:].strip()
            return line if len(line) <= max_chars else line[: max_chars - 3] + "..."
    return last_line(log_path, max_chars=max_chars)


# --- pid files and processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PidRecord:
    """Content of a pid file (JSON): the process, what it runs, when it started (Unix seconds)."""

    pid: int
    version: str
    started_at: float


def write_pid(path: Path, record: PidRecord) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(record)) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_pid(path: Path) -> PidRecord | None:
    """The record in ``path``; None when the file is missing or unreadable (never raises)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PidRecord(pid=int(data["pid"]), version=str(data.get("version", "")),
                         started_at=float(data.get("started_at", 0.0)))  # fmt: skip
    except (OSError, ValueError, TypeError, KeyError):
        return None


def proc_cmdline(pid: int) -> list[str] | None:
    """argv of a live process from ``/proc/<pid>/cmdline``; None if gone or a zombie (reaped when it is our child)."""
    _reap(pid)
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None  # zombie or kernel thread
    return [a.decode(errors="replace") for a in raw.rstrip(b"\0").split(b"\0")]


def is_ours(pid: int, markers: Sequence[str]) -> bool:
    """True when ``pid`` is alive and every string in ``markers`` is an exact element of its argv."""
    argv = proc_cmdline(pid)
    return argv is not None and all(m in argv for m in markers)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError:
        pass


def alive(pid: int) -> bool:
    return proc_cmdline(pid) is not None


def stop_pids(pids: Sequence[int], *, timeout_s: float = 30.0,
              signals: Sequence[signal.Signals] | None = None) -> None:
    """SIGTERM (or ``signals[i]`` for ``pids[i]``) every pid, wait up to ``timeout_s`` for all to exit, then
    SIGKILL the rest (and wait 10 s more)."""
    for i, pid in enumerate(pids):
        try:
            os.kill(pid, signals[i] if signals else signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    rest = [p for p in pids if alive(p)]
    for pid in rest:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and any(alive(p) for p in rest):
        time.sleep(0.1)


def spawn(cmd: Sequence[str], *, cwd: Path, out_path: Path, user: str | None = None) -> subprocess.Popen[bytes]:
    """Start ``cmd`` detached (own session, stdin closed), stdout+stderr appended to ``out_path``; as ``user``
    when given (needs root; see :func:`as_user`)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("ab") as out:
        out.write(f"\n{BANNER}{time.strftime('%Y-%m-%dT%H:%M:%S')} marsad stack: {' '.join(cmd)}\n".encode())
        out.flush()
        return subprocess.Popen(list(cmd), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, **as_user(user))  # fmt: skip


def as_user(user: str | None) -> dict:
    """``subprocess`` arguments running a child as ``user`` with its own primary group and no supplementary group:
    keeping root's group 0 would make the group bits of root-owned directories (``/root`` is ``rwx------``) apply
    instead of the "others" bits."""
    if user is None:
        return {}
    import pwd

    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


# --- ports and logs ------------------------------------------------------------------------------------


def port_free(port: int, host: str = BIND_HOST) -> bool:
    """Whether a listening socket could be bound to ``host:port`` right now (TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(port: int, host: str = BIND_HOST, timeout_s: float = 0.5) -> bool:
    """Whether a TCP connection to ``host:port`` succeeds within ``timeout_s`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def last_line(*paths: Path, max_chars: int = 300) -> str:
    """Last non-empty log line among ``paths``, newest file first, skipping our own ``=== `` start banners.

    Returns ``"no log output yet"`` when there is none. Never raises.
    """
    existing = [p for p in paths if p.is_file()]
    for path in sorted(existing, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            with path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 16384))
                text = f.read().decode(errors="replace")
        except OSError:
            continue
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(BANNER)]
        if lines:
            line = lines[-1]
            return line if len(line) <= max_chars else line[: max_chars - 3] + "..."
    return "no log output yet"
