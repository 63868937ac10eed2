"""docker-compose.yml's profile ``cluster`` is the Docker form of ``marsad stack up --nodes 3`` (no Docker here:
the YAML is parsed, as in tests/unit/test_compose.py).

Checked: 3 brokers and 3 Elasticsearch nodes only in the profile; broker settings equal what the local cluster
renders for its nodes (:func:`marsad.stack._kafka.render_node_properties`), so replication 3 / min ISR 2 hold in
both; one KRaft quorum (same cluster id, node ids 1-3, every node a voter); ES nodes that discover each other and
bootstrap with all three names; host ports equal the local cluster's defaults; the cluster consumers get
x-marsad-env with all brokers and nodes listed and wait for all six engines; the default services do not need the
profile.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from marsad import stack
from marsad.settings import Settings, split_urls
from marsad.stack._kafka import render_node_properties

from .test_compose import (
    KAFKA_IMAGE_NON_PROPERTIES,
    KAFKA_NETWORK_PROPERTIES,
    compose,  # noqa: F401 - fixture
    defaults,  # noqa: F401 - fixture
    env_of,
    image_tag,
    kafka_property,
    listeners,
    published,
    services,  # noqa: F401 - fixture
)

KAFKA_NODES = ["kafka-1", "kafka-2", "kafka-3"]
ES_NODES = ["es-1", "es-2", "es-3"]
CLUSTER_PROJECT = ["marsad-setup-cluster", "extract-cluster", "index-cluster"]
CLUSTER_ONLY = ["es-certs"]
"""One-shot of the profile making the Elasticsearch nodes' TLS certificates."""
ES_CREDENTIALS = ("MARSAD_ES_USERNAME", "MARSAD_ES_PASSWORD_FILE", "MARSAD_ES_CA_CERTS")
"""Settings only the cluster's project containers have (its Elasticsearch has security on)."""


def in_profile(service: dict) -> bool:
    return "cluster" in (service.get("profiles") or [])


@pytest.fixture
def cluster_defaults(defaults: Settings) -> Settings:  # noqa: F811 - the fixture imported above
    return stack.cluster_settings(defaults.model_copy(update={"stack_nodes": 3}))


def test_profile_has_three_brokers_three_es_nodes_and_the_consumers(services: dict[str, dict]) -> None:  # noqa: F811
    profiled = sorted(name for name, svc in services.items() if in_profile(svc))
    assert profiled == sorted(KAFKA_NODES + ES_NODES + CLUSTER_PROJECT + CLUSTER_ONLY)
    for name, svc in services.items():  # `docker compose up` without the profile never needs a cluster service
        if not in_profile(svc):
            assert not set(svc.get("depends_on") or {}) & set(profiled), name


def test_brokers_match_the_local_cluster_nodes(services: dict[str, dict], cluster_defaults: Settings,  # noqa: F811
                                               tmp_path: Path) -> None:
    for i, name in enumerate(KAFKA_NODES):
        local = {}
        for line in render_node_properties(cluster_defaults, log_dir=tmp_path, node=i).splitlines():
            if line.strip() and not line.startswith("#"):
                k, _, v = line.partition("=")
                local[k.strip()] = v.strip()
        assert (local["min.insync.replicas"], local["default.replication.factor"]) == ("2", "3")
        svc = services[name]
        env = env_of(svc)
        broker = {kafka_property(k): v for k, v in env.items()
                  if k.startswith("KAFKA_") and k not in KAFKA_IMAGE_NON_PROPERTIES}
        differing = {k: (local[k], broker.get(k)) for k in local if k not in KAFKA_NETWORK_PROPERTIES
                     and broker.get(k) != local[k]}  # fmt: skip
        assert not differing, f"{name}: (local cluster node, compose) differ: {differing}"
        assert env["KAFKA_NODE_ID"] == str(i + 1)
        assert svc["image"] == services["kafka"]["image"]
        # host clients reach broker i on the local cluster's port i, and are told that address
        port = int(cluster_defaults.kafka_bootstrap.split(",")[i].rsplit(":", 1)[1])
        assert published(svc, 9092) == port
        assert listeners(env["KAFKA_ADVERTISED_LISTENERS"])["PLAINTEXT"] == ("127.0.0.1", port)
        assert listeners(env["KAFKA_ADVERTISED_LISTENERS"])["INTERNAL"] == (svc["hostname"], 29092) == (name, 29092)


def test_brokers_form_one_kraft_quorum(services: dict[str, dict]) -> None:  # noqa: F811
    envs = [env_of(services[name]) for name in KAFKA_NODES]
    assert len({e["CLUSTER_ID"] for e in envs}) == 1
    assert envs[0]["CLUSTER_ID"] != env_of(services["kafka"])["CLUSTER_ID"]  # another cluster than the single one
    voters = {v.split("@")[0]: v.split("@")[1] for v in envs[0]["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")}
    assert voters == {str(i + 1): f"{name}:9093" for i, name in enumerate(KAFKA_NODES)}
    for e in envs:
        assert e["KAFKA_CONTROLLER_QUORUM_VOTERS"] == envs[0]["KAFKA_CONTROLLER_QUORUM_VOTERS"]
        assert listeners(e["KAFKA_LISTENERS"])["CONTROLLER"][1] == 9093
        assert set(e["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}


def test_es_nodes_form_one_cluster(services: dict[str, dict], cluster_defaults: Settings) -> None:  # noqa: F811
    names = set()
    for i, name in enumerate(ES_NODES):
        svc = services[name]
        env = env_of(svc)
        # the default distribution: the OSS one has no security features (docs/scaling.md)
        assert svc["image"] == "docker.elastic.co/elasticsearch/elasticsearch:7.10.2"
        assert image_tag(svc) == image_tag(services["elasticsearch"])
        assert env["node.name"] == svc["hostname"] == name
        names.add(env["node.name"])
        assert set(env["discovery.seed_hosts"].split(",")) == set(ES_NODES)
        assert set(env["cluster.initial_master_nodes"].split(",")) == set(ES_NODES)
        assert "discovery.type" not in env
        assert env["cluster.routing.allocation.disk.threshold_enabled"] == "false"
        assert published(svc, 9200) == int(split_urls(cluster_defaults.es_url)[i].rsplit(":", 1)[1])
    assert names == set(ES_NODES)
    assert len({env_of(services[n])["cluster.name"] for n in ES_NODES}) == 1


def test_cluster_consumers_list_every_broker_and_node(compose: dict, services: dict[str, dict],  # noqa: F811
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    env = compose["x-marsad-cluster-env"]
    shared = compose["x-marsad-env"]
    own = ("MARSAD_KAFKA_BOOTSTRAP", "MARSAD_ES_URL", *ES_CREDENTIALS)
    assert {k: v for k, v in env.items() if k not in own} == {k: v for k, v in shared.items() if k not in own}
    assert env["MARSAD_KAFKA_BOOTSTRAP"].split(",") == [f"{n}:29092" for n in KAFKA_NODES]
    assert split_urls(env["MARSAD_ES_URL"]) == [f"https://{n}:9200" for n in ES_NODES]
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    assert Settings().es_url == env["MARSAD_ES_URL"]  # a valid setting
    for name in CLUSTER_PROJECT:
        assert {k: str(v) for k, v in env_of(services[name]).items()} == {k: str(v) for k, v in env.items()}
        deps = services[name]["depends_on"]
        assert all(deps[n]["condition"] == "service_healthy" for n in KAFKA_NODES + ES_NODES), name
    assert services["extract-cluster"]["command"] == services["extract"]["command"]
    assert services["index-cluster"]["command"] == services["index"]["command"]
