"""On a 3-broker Kafka + 3-node Elasticsearch cluster, the pipeline loses one broker and one ES node mid-run and
carries on: nothing lost, nothing doubled, the same stories as without the loss.

The cluster is ``marsad stack up --nodes 3`` (:func:`marsad.stack.up` with ``stack_nodes=3``) in a private state dir
on private ports — never the shared stack — small heaps (Kafka 256m, ES 384m each). Input: a slice of the
SaudiNewsNet day as raw pages (:func:`tests.faults.test_pipeline_survives_faults.raw_pages`) on 3 partitions; two
extract and two index consumer processes (``marsad consume … --until-idle``), alerts on with the demo rules.

Each run publishes half the pages, starts the consumers, publishes the other half once the consumers have indexed
some stories, and lets them drain. The faulted run, at that moment, first SIGKILLs the broker leading partition 0 of
the raw-pages topic and the ES node holding the primary of the stories index (a crash: no controlled shutdown, no
hand-over), so the second half is *produced* into the degraded cluster and every consumer has to move to the new
leaders / the promoted replica. Neither comes back.

Checked (gold written before the runs): the ledger audit (:func:`marsad.ledger.audit`) counts every raw page
produced with 0 unaccounted and no URL in two stories; no consumer had to be restarted (all exit 0); story
membership equals the fault-free run's on the same cluster up to order effects of near-duplicate chains (the
criterion of ``test_pipeline_survives_faults.py``); `marsad stack status --nodes 3` lists the 7 services with the
two killed nodes stopped.

What makes it hold: topics with replication factor 3 and ``min.insync.replicas=2`` (:func:`marsad.kafka.clients.
replication`) under ``acks=all`` producers; index templates with ``auto_expand_replicas: 0-1`` (one replica on a
cluster); the Elasticsearch client given all three nodes (``es_url`` comma-separated) and librdkafka all three
brokers. Replication factor 1 or no ES replica makes this test fail (docs/decisions.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from marsad.index.es import Es
from marsad.settings import Settings, load_settings, to_env

from .processes import doubled, membership, owners, stories
from .test_pipeline_survives_faults import STAGES, Pipeline, _check, _fingerprints, pipeline_names, raw_pages

pytestmark = pytest.mark.services

PAGES = 400
"""Pages per run: the first 400 articles of the day (enough for a mid-run kill, small enough for ≤ 5 min)."""
KILL_AFTER_STORIES = 60
"""The nodes are killed once this many stories are searchable (of ≈ 190 from the first half)."""
NODES = 3


def cluster_ports() -> dict[str, object]:
    """Ports of a private 3+3 cluster: the first base in 24500, 25500 … with client ports ``+92..94``, controllers
    ``+192..194``, ES HTTP ``+200..202``, ES transport ``+300..302`` and PostgreSQL ``+432`` all free. Below Linux's
    ephemeral range (32768-60999 by default): a port there can be taken by any outgoing connection between this check
    and the JVM's bind (seen: a KRaft controller port lost that way). Clear of the other private stacks (≤ 24300)."""
    from marsad.stack._common import port_free

    offsets = [*range(92, 95), *range(192, 195), *range(200, 203), *range(300, 303), 432]
    for base in range(24500, 32500, 1000):
        if all(port_free(base + d) for d in offsets):
            return {"kafka_bootstrap": ",".join(f"127.0.0.1:{base + 92 + i}" for i in range(NODES)),
                    "kafka_controller_port": base + 192,
                    "es_url": ",".join(f"http://127.0.0.1:{base + 200 + i}" for i in range(NODES)),
                    "postgres_port": base + 432}
    raise RuntimeError("no free port range for the private cluster")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Settings:
    """A private ``marsad stack up --nodes 3`` for this module; stopped (``stack down``) afterwards."""
    from marsad import stack

    state = tmp_path_factory.mktemp("cluster")
    s = load_settings(state_dir=state, stack_nodes=NODES, es_heap="384m", kafka_heap="256m", **cluster_ports())
    try:
        st = stack.up(s)
    except stack.StackError as exc:
        stack.down(s)
        pytest.fail(f"the 3+3 cluster did not start: {exc}")
    assert [x.name for x in st] == ["kafka-1", "kafka-2", "kafka-3", "elasticsearch-1", "elasticsearch-2",
                                    "elasticsearch-3", "postgres"]
    health = Es(s.es_url).request("GET", "/_cluster/health", params={"wait_for_nodes": NODES, "timeout": "60s"})
    assert health["number_of_data_nodes"] == NODES, health
    yield s
    stack.down(s)


@pytest.fixture(scope="module")
def pages() -> list:
    from tests.conftest import CORPUS

    if not CORPUS.exists():
        pytest.skip(f"corpus folder {CORPUS} not present")
    return raw_pages(CORPUS)[:PAGES]


def run(base: Settings, workdir: Path, pages: list, fault=None) -> dict:
    """Publish half of ``pages``, start the consumers, wait for :data:`KILL_AFTER_STORIES` stories, call ``fault``,
    publish the other half, drain; return the audit, stories and alerts (as the fault suite's ``run``)."""
    from marsad.ledger import audit
    from tests.integration.helpers import publish

    s = pipeline_names(base, workdir)
    half = len(pages) // 2
    publish(s, pages[:half])
    pipe = Pipeline(s, workdir)
    es = Es(s.es_url)
    try:
        for slot in range(len(STAGES)):
            pipe.start(slot)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # mid-run: some stories written, most not
            es.request("POST", f"/{s.stories_alias}/_refresh")
            if es.request("GET", f"/{s.stories_alias}/_count")["count"] >= KILL_AFTER_STORIES:
                break
            time.sleep(0.3)
        if fault:
            fault(s)
        publish(s, pages[half:])  # producing into the cluster as it is now
        pipe.supervise(deadline_s=400)
    finally:
        pipe.kill_all()
    docs = stories(s)
    es.request("POST", f"/{s.alerts_sent_index}/_refresh")
    sent = es.request("POST", f"/{s.alerts_sent_index}/_search", {
        "size": 10_000, "query": {"term": {"kind": "alert"}}, "_source": ["rule", "story_id"]})["hits"]["hits"]
    members = {d["_id"]: frozenset([d["canonical_url"], *(r["canonical_url"] for r in d.get("republications") or [])])
               for d in docs}
    alerted = Counter((h["_source"]["rule"], members.get(h["_source"]["story_id"])) for h in sent)
    return {"audit": audit(s).as_dict(), "membership": membership(docs), "doubled": doubled(docs),
            "alerted": alerted, "exits": pipe.exits, "settings": s, "fingerprints": _fingerprints(s),
            "owners": owners(docs)}


def _pid(cluster: Settings, name: str) -> int:
    from marsad.stack import _own_pid, _services

    pid = _own_pid({svc.name: svc for svc in _services(cluster)}[name])
    assert pid is not None, f"{name} is not running"
    return pid


def _rss_mib(pid: int) -> int:
    """Resident set size of ``pid`` (MiB, from ``/proc/<pid>/status`` ``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _wait_gone(pid: int, timeout_s: float = 30.0) -> None:
    from marsad.stack._common import alive  # reads /proc/<pid>/cmdline; reaps our own zombie child

    deadline = time.monotonic() + timeout_s
    while alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive {timeout_s} s after SIGKILL"
        time.sleep(0.1)


def test_pipeline_survives_a_broker_and_an_es_node_lost(cluster, pages, tmp_path):
    from confluent_kafka.admin import ConfigResource

    from marsad.kafka.clients import admin

    fault_free = run(cluster, tmp_path / "fault-free", pages)
    assert fault_free["exits"] == Counter({0: len(STAGES)}), fault_free["exits"]
    assert fault_free["audit"]["produced"] == PAGES
    assert fault_free["audit"]["unaccounted"] == 0, fault_free["audit"]

    killed: dict[str, str] = {}

    def lose_a_broker_and_an_es_node(s: Settings) -> None:
        client = admin(s)
        md = client.list_topics(s.raw_pages_topic, timeout=30)
        partition = md.topics[s.raw_pages_topic].partitions[0]
        assert len(partition.replicas) == NODES and len(partition.isrs) == NODES, partition  # replicated, in sync
        resource = ConfigResource(ConfigResource.Type.TOPIC, s.raw_pages_topic)
        config = client.describe_configs([resource])[resource].result(timeout=30)
        assert config["min.insync.replicas"].value == "2"  # acks=all waits for 2 of the 3 replicas
        killed["kafka"] = f"kafka-{partition.leader}"  # KRaft node.id i+1 is service kafka-<i+1>
        shards = Es(s.es_url).request("GET", f"/_cat/shards/{s.stories_alias}", params={"format": "json"})
        assert sorted(sh["prirep"] for sh in shards) == ["p", "r"], shards  # one replica
        primary = next(sh["node"] for sh in shards if sh["prirep"] == "p")  # node.name es-<i+1>
        killed["elasticsearch"] = f"elasticsearch-{primary.removeprefix('es-')}"
        rss = {name: _rss_mib(_pid(cluster, name)) for name in ("kafka-1", "kafka-2", "kafka-3", "elasticsearch-1",
                                                                "elasticsearch-2", "elasticsearch-3")}
        print(f"RSS of the six JVMs mid-run (MiB): {rss}, together {sum(rss.values())}")
        pids = [_pid(cluster, killed["kafka"]), _pid(cluster, killed["elasticsearch"])]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for pid in pids:
            _wait_gone(pid)

    result = run(cluster, tmp_path / "faulted", pages, lose_a_broker_and_an_es_node)
    print(f"killed {killed}; audit {result['audit']}; exits {dict(result['exits'])}")
    assert set(killed) == {"kafka", "elasticsearch"}
    _check(result, fault_free)
    assert result["audit"]["produced"] == PAGES
    assert set(result["exits"]) == {0}, result["exits"]  # nobody had to be restarted

    # `marsad stack status --nodes 3` lists every node; the two killed ones as stopped (exit 1: not all running)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
    env |= to_env(cluster) | {"MARSAD_KAFKA_CONTROLLER_PORT": str(cluster.kafka_controller_port),
                              "MARSAD_POSTGRES_PORT": str(cluster.postgres_port), "COLUMNS": "250",
                              "PYTHONPATH": f"{Path(__file__).resolve().parents[2] / 'src'}"}
    out = subprocess.run([str(Path(sys.executable).with_name("marsad")), "stack", "status", "--nodes", "3"],
                         env=env, capture_output=True, text=True, timeout=120)
    rows = {line.split()[0]: line.split()[1] for line in out.stdout.splitlines() if line.strip()}
    expected = {name: "stopped" if name in killed.values() else "running"
                for name in ("kafka-1", "kafka-2", "kafka-3", "elasticsearch-1", "elasticsearch-2",
                             "elasticsearch-3", "postgres")}
    assert (rows, out.returncode) == (expected, 1), out.stdout + out.stderr
