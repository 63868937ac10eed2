"""The local Elasticsearch node: ES 7.10.2 (OSS modules) embedded by ``org.codelibs:elasticsearch-cluster-runner``.

The runner's own ``main`` cannot be used as is: it picks the HTTP port by probing upward from
``-baseHttpPort`` (silently taking the next port when ours is busy) and refuses ports above 9299, and it
offers no way to set ``network.host``/``transport.port``. So we run a ~30-line launcher (:data:`LAUNCHER_SOURCE`,
written to ``<es>/MarsadEsLauncher.java`` and run with Java's single-file source launcher, JEP 330) that
disables the probing and puts every ``-Dmarsad.es.<key>=<value>`` system property into the node settings.
The runner's ``close()`` (our shutdown hook on SIGTERM) closes the node; it never calls ``clean()``, so
``data/`` survives ``down``/``up``.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from marsad.settings import Settings

from ._common import (
    BIND_HOST,
    Say,
    StackError,
    ensure_libs,
    java_has_module,
    parse_es_ports,
    parse_heap,
    read_resource,
)
from ._service import Service

CLUSTER_NAME = "marsad-local"
TRANSPORT_PORT_OFFSET = 100
"""Transport port = HTTP port + 100, as in Elasticsearch's defaults (9200 -> 9300)."""
ES_MAX_HEAP = 1 << 30
"""Upper bound of ``Settings.es_heap`` for the local node (bytes)."""
LAUNCHER_CLASS = "MarsadEsLauncher"

LAUNCHER_SOURCE = """\
// Written by marsad.stack (do not edit): starts one Elasticsearch node with
// org.codelibs.elasticsearch.runner.ElasticsearchClusterRunner. Every system property
// -Dmarsad.es.<key>=<value> becomes the node setting <key>=<value>; arguments go to the runner.
import java.io.IOException;
import java.util.Map;
import org.codelibs.elasticsearch.runner.ElasticsearchClusterRunner;

public class MarsadEsLauncher {
    private static final String PREFIX = "marsad.es.";

    public static void main(final String[] args) throws Exception {
        final ElasticsearchClusterRunner runner = new ElasticsearchClusterRunner();
        runner.setMaxHttpPort(-1); // use http.port as given: no probing for a free port
        runner.onBuild((index, builder) -> {
            for (final Map.Entry<Object, Object> e : System.getProperties().entrySet()) {
                final String key = e.getKey().toString();
                if (key.startsWith(PREFIX)) {
                    builder.put(key.substring(PREFIX.length()), e.getValue().toString());
                }
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close(); // closes the node; data stays (no clean())
            } catch (final IOException e) {
                e.printStackTrace();
            }
        }));
        try {
            runner.build(args);
        } catch (final RuntimeException e) {
            e.printStackTrace();
            System.exit(1);
        }
        while (!runner.isClosed()) {
            Thread.sleep(1000);
        }
    }
}
"""

# System JVM options of Elasticsearch 7.10 (SystemJvmOptions.java and config/jvm.options), minus the ones
# that need the ES distribution layout. log4j2.formatMsgNoLookups: ES 7.10.2 ships log4j 2.11.1 (CVE-2021-44228
# mitigation recommended by Elastic, ESA-2021-31).
ES_JVM_OPTS = [
    "-XX:+UseG1GC", "-XX:G1ReservePercent=25", "-XX:InitiatingHeapOccupancyPercent=30",
    "-Xss1m", "-Djava.awt.headless=true", "-Dfile.encoding=UTF-8", "-Djna.nosys=true",
    "-XX:-OmitStackTraceInFastThrow", "-Dio.netty.noUnsafe=true", "-Dio.netty.noKeySetOptimization=true",
    "-Dio.netty.recycler.maxCapacityPerThread=0", "-Dio.netty.allocator.numDirectArenas=0",
    "-Dlog4j.shutdownHookEnabled=false", "-Dlog4j2.disable.jmx=true", "-Dlog4j2.formatMsgNoLookups=true",
    "-Djava.locale.providers=SPI,COMPAT",
]  # fmt: skip


def node_settings(http_port: int, cluster_http_ports: list[int] | None = None, *,
                  bootstrap: bool = False) -> dict[str, str]:
    """Elasticsearch settings of a local node (besides the paths the runner sets).

    ``http_port`` comes from ``Settings.es_url`` (ES default 9200); transport = ``http_port`` + 100.
    ``cluster_http_ports``: for a node of a cluster, the HTTP ports of all its nodes (node *i* is named ``es-<i+1>``;
    ``discovery.seed_hosts`` = their transport ports). ``bootstrap``: also set ``cluster.initial_master_nodes`` to
    all node names — on the very first start only (empty data dirs), as Elastic's "Bootstrapping a cluster" asks: a
    node that keeps it could form a second cluster after its data was wiped.
    Raises :class:`StackError` when a transport port would exceed 65535.
    """
    def transport(port: int) -> int:
        if port + TRANSPORT_PORT_OFFSET > 65535:
            raise StackError(f"MARSAD_ES_URL port {port} is too high: the transport port is HTTP port + 100")
        return port + TRANSPORT_PORT_OFFSET

    settings = {
        "network.host": BIND_HOST,
        "http.port": str(http_port),
        "transport.port": str(transport(http_port)),
    }
    if cluster_http_ports is None:
        # No discovery/bootstrapping (and no joining another local node on 9300-9305 by accident).
        settings["discovery.type"] = "single-node"
    else:
        names = [node_name(i) for i in range(len(cluster_http_ports))]
        settings["node.name"] = names[cluster_http_ports.index(http_port)]
        settings["discovery.seed_hosts"] = ",".join(f"{BIND_HOST}:{transport(p)}" for p in cluster_http_ports)
        if bootstrap:
            settings["cluster.initial_master_nodes"] = ",".join(names)
    # Developer machines often have fuller disks than ES's 85/90/95 % watermarks allow; with the
    # watermarks on, indices silently turn read-only at 95 %.
    settings["cluster.routing.allocation.disk.threshold_enabled"] = "false"
    return settings


def node_name(node: int) -> str:
    """``node.name`` of node ``node`` (0-based) of a local cluster: ``es-1``, ``es-2``, …"""
    return f"es-{node + 1}"


class EsService(Service):
    name = "elasticsearch"
    title = "Elasticsearch"
    dirname = "es"

    def __init__(self, settings: Settings, node: int | None = None) -> None:
        super().__init__(settings, node)
        self._http: httpx.Client | None = None

    @property
    def launcher_path(self) -> Path:
        return self.home / f"{LAUNCHER_CLASS}.java"

    @property
    def log_path(self) -> Path:
        return self.logs_dir / f"{CLUSTER_NAME}.log"

    @property
    def port(self) -> int:
        if self.node is None:
            return parse_es_ports(self.settings.es_url, 1)[0]
        return parse_es_ports(self.settings.es_url, self.settings.stack_nodes)[self.node]

    def _node_settings(self, *, bootstrap: bool = False) -> dict[str, str]:
        if self.node is None:
            return node_settings(self.port)
        ports = parse_es_ports(self.settings.es_url, self.settings.stack_nodes)
        if len(set(ports)) != len(ports):
            raise StackError(f"MARSAD_ES_URL lists a port twice: {self.settings.es_url!r}")
        return node_settings(self.port, ports, bootstrap=bootstrap)

    @property
    def transport_port(self) -> int:
        return int(self._node_settings()["transport.port"])

    @property
    def url(self) -> str:
        return f"http://{BIND_HOST}:{self.port}"

    def ports(self) -> list[tuple[str, int]]:
        return [("HTTP", self.port), ("transport", self.transport_port)]

    def markers(self) -> tuple[str, ...]:
        return (str(self.launcher_path),)

    def configured_version(self) -> str:
        return self.settings.es_runner_version.rsplit(".", 1)[0]  # runner 7.10.2.0 embeds ES 7.10.2

    def _heap(self) -> str:
        return parse_heap(self.settings.es_heap, "MARSAD_ES_HEAP", max_bytes=ES_MAX_HEAP)

    def prepare(self, java: Path | None, say: Say) -> None:
        java = self._java(java)
        self._heap()
        self._node_settings()
        if not java_has_module(java, "jdk.compiler"):
            raise StackError(
                f"the local Elasticsearch needs a Java runtime with the jdk.compiler module (to run its launcher): "
                f"{java} has none; set MARSAD_JAVA_HOME to a full JDK 17+"
            )
        ensure_libs(
            what=self.title,
            pom_name="es-pom.xml",
            properties={"es.runner.version": self.settings.es_runner_version},
            lib_dir=self.lib_dir,
            log_path=self.mvn_log,
            say=say,
        )
        for d in (self.config_dir, self.data_dir, self.logs_dir, self.home / "node", self.home / "tmp"):
            d.mkdir(parents=True, exist_ok=True)
        self.launcher_path.write_text(LAUNCHER_SOURCE, encoding="utf-8")
        (self.config_dir / "log4j2.properties").write_text(read_resource("es-log4j2.properties"), encoding="utf-8")
        (self.config_dir / "elasticsearch.yml").write_text(
            "# Settings of the local node are passed by marsad.stack as -Dmarsad.es.<key>=<value>.\n", encoding="utf-8"
        )

    def command(self, java: Path | None) -> list[str]:
        java = self._java(java)
        heap = self._heap()
        fresh = not self.data_dir.is_dir() or not any(self.data_dir.iterdir())
        props = [f"-Dmarsad.es.{k}={v}" for k, v in self._node_settings(bootstrap=fresh).items()]
        return [
            str(java), f"-Xms{heap}", f"-Xmx{heap}", *ES_JVM_OPTS, f"-Djava.io.tmpdir={self.home / 'tmp'}",
            *props, "-cp", f"{self.lib_dir}/*", str(self.launcher_path),
            "-basePath", str(self.home / "node"), "-confPath", str(self.config_dir),
            "-dataPath", str(self.data_dir), "-logsPath", str(self.logs_dir),
            "-numOfNode", "1", "-clusterName", CLUSTER_NAME,
            # Only for the runner's "HTTP Port:" line (node N gets base + N); http.port above is what counts.
            "-baseHttpPort", str(self.port - 1),
        ]  # fmt: skip

    def fetch_version(self, timeout_s: float = 2.0) -> str | None:
        """``version.number`` from ``GET /``; None when ES does not answer. Never raises."""
        try:
            r = self._client().get(f"{self.url}/", timeout=timeout_s)
            r.raise_for_status()
            return str(r.json()["version"]["number"])
        except Exception:  # noqa: BLE001 - any failure means "not answering"
            return None

    def probe(self) -> str | None:
        """Ready when ``GET /`` answers and ``_cluster/health`` is yellow or green."""
        version = self.fetch_version()
        if version is None:
            return None
        try:
            r = self._client().get(f"{self.url}/_cluster/health", params={"wait_for_status": "yellow", "timeout": "1s"},
                                   timeout=5.0)  # fmt: skip
            if r.status_code == 200 and r.json().get("status") in ("yellow", "green"):
                return version
        except (httpx.HTTPError, ValueError):  # no answer, or not JSON yet: not ready (the caller probes again)
            return None
        return None

    def _client(self) -> httpx.Client:
        if self._http is None:
            # trust_env=False: an HTTP(S)_PROXY in the environment must not capture loopback calls.
            self._http = httpx.Client(trust_env=False)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
