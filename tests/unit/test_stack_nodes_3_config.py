"""`marsad stack up --nodes 3` renders a 3-node KRaft quorum and a 3-node Elasticsearch cluster, on ports of its
own, with one data directory per node; topics get replication 3 / min ISR 2 on 3 brokers (no Java, no services).

Gold (written from the Kafka and Elasticsearch documentation before running the code): node ``i`` has
``node.id=i+1``, its own client and controller port, ``controller.quorum.voters=1@…,2@…,3@…``, internal topics
replicated 3 times with min ISR 2; ES node ``i`` is ``es-<i+1>``, seeds = the 3 transport ports (HTTP + 100),
``cluster.initial_master_nodes`` only on the first start, no ``discovery.type``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from marsad import stack
from marsad.kafka.clients import replication
from marsad.settings import Settings, load_settings
from marsad.stack._common import StackError, parse_es_ports, parse_kafka_ports
from marsad.stack._es import EsService, node_settings
from marsad.stack._kafka import KafkaService, render_node_properties, render_server_properties

from .test_stack import parse_properties

BOOTSTRAP = "127.0.0.1:29092,127.0.0.1:29093,localhost:29094"
ES = "http://127.0.0.1:29200,http://127.0.0.1:29201,http://localhost:29202"


def cluster(tmp_path: Path, **kw: object) -> Settings:
    base: dict[str, object] = {"state_dir": tmp_path / "state", "stack_nodes": 3, "kafka_bootstrap": BOOTSTRAP,
                               "kafka_controller_port": 29192, "es_url": ES, "postgres_port": 29432}
    return load_settings(**{**base, **kw})


def test_each_broker_is_one_voter_of_the_quorum(tmp_path: Path) -> None:
    s = cluster(tmp_path)
    voters = "1@127.0.0.1:29192,2@127.0.0.1:29193,3@127.0.0.1:29194"
    for i in range(3):
        props = parse_properties(render_node_properties(s, log_dir=tmp_path / f"d{i}", node=i))
        assert props["node.id"] == str(i + 1)
        assert props["process.roles"] == "broker,controller"
        assert props["controller.quorum.voters"] == voters
        assert "controller.quorum.bootstrap.servers" not in props
        assert props["listeners"] == f"PLAINTEXT://127.0.0.1:{29092 + i},CONTROLLER://127.0.0.1:{29192 + i}"
        assert props["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{29092 + i}"
        assert props["log.dirs"] == str(tmp_path / f"d{i}")
        assert (props["offsets.topic.replication.factor"], props["transaction.state.log.replication.factor"],
                props["transaction.state.log.min.isr"], props["share.coordinator.state.topic.replication.factor"],
                props["share.coordinator.state.topic.min.isr"], props["default.replication.factor"],
                props["min.insync.replicas"]) == ("3", "3", "2", "3", "2", "3", "2")
        single = parse_properties(render_server_properties(load_settings(), log_dir=tmp_path))
        assert props["message.max.bytes"] == single["message.max.bytes"]  # the rest as on one node


@pytest.mark.parametrize(("update", "message"), [
    ({"kafka_bootstrap": "127.0.0.1:29092,127.0.0.1:29093"}, "must list 3 host:port"),
    ({"kafka_bootstrap": "127.0.0.1:29092,10.0.0.2:29093,127.0.0.1:29094"}, "127.0.0.1 only"),
    ({"kafka_controller_port": 29093}, "collide"),
])
def test_bad_cluster_addresses_are_refused(tmp_path: Path, update: dict, message: str) -> None:
    with pytest.raises(StackError, match=message):
        render_node_properties(cluster(tmp_path, **update), log_dir=tmp_path, node=0)


def test_es_nodes_discover_each_other_and_bootstrap_once() -> None:
    ports = [29200, 29201, 29202]
    first = node_settings(29201, ports, bootstrap=True)
    assert first["node.name"] == "es-2"
    assert (first["http.port"], first["transport.port"]) == ("29201", "29301")
    assert first["discovery.seed_hosts"] == "127.0.0.1:29300,127.0.0.1:29301,127.0.0.1:29302"
    assert first["cluster.initial_master_nodes"] == "es-1,es-2,es-3"
    assert "discovery.type" not in first
    later = node_settings(29201, ports)
    assert "cluster.initial_master_nodes" not in later
    assert node_settings(29200)["discovery.type"] == "single-node"  # one node: unchanged


def test_es_node_bootstraps_only_with_empty_data(tmp_path: Path) -> None:
    svc = EsService(cluster(tmp_path), 1)
    java = Path("/usr/bin/java")
    assert "-Dmarsad.es.cluster.initial_master_nodes=es-1,es-2,es-3" in svc.command(java)
    (svc.data_dir / "nodes").mkdir(parents=True)
    assert not any("initial_master_nodes" in a for a in svc.command(java))


def test_port_lists(tmp_path: Path) -> None:
    assert parse_kafka_ports(BOOTSTRAP, 3) == [29092, 29093, 29094]
    assert parse_es_ports(ES, 3) == [29200, 29201, 29202]
    with pytest.raises(StackError, match="single URL"):
        parse_es_ports(ES, 1)
    with pytest.raises(StackError, match="must list 3 URLs"):
        parse_es_ports("http://127.0.0.1:29200", 3)


def test_cluster_defaults_keep_clear_of_the_single_node_ports(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    for name in ("MARSAD_KAFKA_BOOTSTRAP", "MARSAD_ES_URL", "MARSAD_KAFKA_CONTROLLER_PORT", "MARSAD_STACK_NODES"):
        monkeypatch.delenv(name, raising=False)
    one = load_settings(state_dir=tmp_path)
    assert stack.cluster_settings(one) is one
    three = stack.cluster_settings(one.model_copy(update={"stack_nodes": 3}))
    assert three.kafka_bootstrap == "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"
    assert three.kafka_controller_port == 19192
    assert three.es_url == "http://127.0.0.1:19200,http://127.0.0.1:19201,http://127.0.0.1:19202"
    assert stack.client_env(one.model_copy(update={"stack_nodes": 3})) == {
        "MARSAD_KAFKA_BOOTSTRAP": three.kafka_bootstrap, "MARSAD_ES_URL": three.es_url, "MARSAD_STACK_NODES": "3"}
    mine = stack.cluster_settings(cluster(tmp_path))  # addresses set by the user are kept
    assert (mine.kafka_bootstrap, mine.es_url) == (BOOTSTRAP, ES)


def test_each_node_has_its_own_directory_and_shares_the_jars(tmp_path: Path) -> None:
    s = cluster(tmp_path)
    services = stack._services(s)
    assert [svc.name for svc in services] == ["kafka-1", "kafka-2", "kafka-3", "elasticsearch-1", "elasticsearch-2",
                                              "elasticsearch-3", "postgres"]
    homes = [svc.home for svc in services]
    assert len(set(homes)) == len(homes)
    assert homes[0] == tmp_path / "state" / "stack" / "kafka-1"
    assert {svc.lib_dir for svc in services[:3]} == {KafkaService(s).lib_dir}
    assert {svc.lib_dir for svc in services[3:6]} == {EsService(s).lib_dir}
    assert [p for svc in services[:6] for _, p in svc.ports()] == [
        29092, 29192, 29093, 29193, 29094, 29194, 29200, 29300, 29201, 29301, 29202, 29302]
    # `down` looks at every shape a state dir can hold, whatever stack_nodes says
    assert {svc.name for svc in stack._all_services(load_settings(state_dir=tmp_path / "state"))} >= {
        svc.name for svc in services} | {"kafka", "elasticsearch"}


@pytest.mark.parametrize(("brokers", "expected"), [
    (1, (1, {})), (2, (2, {})), (3, (3, {"min.insync.replicas": "2"})), (5, (3, {"min.insync.replicas": "2"}))])
def test_topic_replication_follows_the_brokers(brokers: int, expected: tuple) -> None:
    assert replication(brokers) == expected
