"""What `up`/`down`/`status` need to know about one local service; see :mod:`._kafka` and :mod:`._es`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from marsad.settings import Settings

from ._common import Say, StackError


class Service(ABC):
    """One local service under ``<state_dir>/stack/<dirname>/`` with ``lib``, ``data``, ``logs``, ``config``.

    Subclasses validate their settings lazily: :attr:`port` and friends raise ``StackError`` on bad values,
    while paths never do (so `down` works whatever the settings say about ports).
    """

    name: str
    """Name in `status`/`down` results: ``kafka``, ``elasticsearch``, ``postgres``; ``kafka-2``, ``elasticsearch-2``
    for node 2 of a cluster."""
    title: str
    """Name in user-facing messages."""
    dirname: str
    needs_java: bool = True
    """Whether :meth:`prepare` and :meth:`command` need a JDK (``up`` looks for one only then)."""
    stop_signal_name: str = "SIGTERM"
    """First signal `down` sends (SIGKILL follows after the grace time)."""

    def __init__(self, settings: Settings, node: int | None = None) -> None:
        """``node``: None for the single-node stack (``stack/<dirname>/``, name ``<name>``); ``i`` (0-based) for
        node ``i + 1`` of a cluster (``stack/<dirname>-<i+1>/``, name ``<name>-<i+1>``)."""
        self.settings = settings
        self.node = node
        stack_dir = Path(settings.state_dir).expanduser() / "stack"
        if node is not None:
            self.name = f"{type(self).name}-{node + 1}"
            self.title = f"{type(self).title} node {node + 1}"
        self.home = stack_dir / (self.dirname if node is None else f"{self.dirname}-{node + 1}")
        self._shared_home = stack_dir / self.dirname

    @property
    def lib_dir(self) -> Path:
        """Jars: ``stack/<dirname>/lib``, shared by the single node and every cluster node (same versions)."""
        return self._shared_home / "lib"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def config_dir(self) -> Path:
        return self.home / "config"

    @property
    def pid_file(self) -> Path:
        return self.home / f"{self.name}.pid"

    @property
    def out_log(self) -> Path:
        """The JVM's stdout/stderr (crashes before logging is set up end up here)."""
        return self.logs_dir / f"{self.name}.out"

    @property
    def mvn_log(self) -> Path:
        return self._shared_home / "logs" / "mvn.log"

    @property
    @abstractmethod
    def log_path(self) -> Path:
        """The service's own log file."""

    @property
    @abstractmethod
    def port(self) -> int:
        """The client port (Kafka bootstrap / ES HTTP / PostgreSQL)."""

    @property
    @abstractmethod
    def url(self) -> str:
        """What clients connect to: ``127.0.0.1:9092`` or ``http://127.0.0.1:9200``."""

    @abstractmethod
    def ports(self) -> list[tuple[str, int]]:
        """Every port the service binds, as ``(label, port)``; all must be free before it starts."""

    @abstractmethod
    def markers(self) -> tuple[str, ...]:
        """Exact argv elements that identify the JVM this service started (main class, our config path)."""

    @abstractmethod
    def configured_version(self) -> str:
        """Version the settings ask for (recorded in the pid file at start)."""

    def _java(self, java: Path | None) -> Path:
        """``java`` for a service that :attr:`needs_java` (``up`` finds one before :meth:`prepare` then).
        Raises ``StackError`` when it is missing."""
        if java is None:
            raise StackError(f"{self.title} needs Java and none was found (set MARSAD_JAVA_HOME)")
        return java

    @abstractmethod
    def prepare(self, java: Path | None, say: Say) -> None:
        """Fetch jars, write config files, one-time initialisation. Raises ``StackError``."""

    @abstractmethod
    def command(self, java: Path | None) -> list[str]:
        """argv of the long-running JVM."""

    @abstractmethod
    def probe(self) -> str | None:
        """The running version string when the service is ready to serve clients, else None. Never raises."""

    @property
    def user(self) -> str | None:
        """System user to run the process as (None: the current user)."""
        return None

    def after_ready(self, say: Say) -> None:  # noqa: B027 - optional hook: most services need no setup
        """One-time setup once the service answers (e.g. create databases). Raises ``StackError``."""

    def close(self) -> None:  # noqa: B027 - optional hook: only services with probe clients close them
        """Release probe clients."""
