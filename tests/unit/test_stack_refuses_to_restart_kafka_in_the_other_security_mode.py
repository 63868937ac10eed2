"""A local Kafka node starts only in the security mode its storage was formatted in (``--secure`` or not).

Before: ``prepare`` rewrote ``server.properties`` on every start, so ``marsad stack up --nodes 3`` without
``--secure`` brought a secure cluster back with PLAINTEXT listeners (its clients, holding the SASL_SSL settings the
first ``up`` printed, were then refused), and ``--secure`` on plaintext storage started brokers without SCRAM users.
Checked on the node's own guard, before any JVM or download.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from marsad.stack import StackError, client_env
from marsad.stack._kafka import SECURITY_MARKER, KafkaService
from tests.unit.test_stack import make_settings


def _formatted(svc: KafkaService, marker: str | None) -> None:
    svc.data_dir.mkdir(parents=True)
    (svc.data_dir / "meta.properties").write_text("version=1\n")
    if marker is not None:
        (svc.data_dir / SECURITY_MARKER).write_text(marker + "\n")


@pytest.mark.parametrize("formatted, start_secure", [("secure", False), ("plaintext", True)])
def test_a_node_formatted_in_one_mode_is_not_started_in_the_other(tmp_path: Path, formatted: str,
                                                                   start_secure: bool) -> None:
    _formatted(KafkaService(make_settings(tmp_path)), formatted)
    svc = KafkaService(make_settings(tmp_path, stack_secure=start_secure))
    with pytest.raises(StackError, match="fresh MARSAD_STATE_DIR" if start_secure else "start it with --secure"):
        svc._check_security_mode()


@pytest.mark.parametrize("formatted, start_secure", [("secure", True), ("plaintext", False), (None, False)])
def test_a_node_starts_in_the_mode_it_was_formatted_in(tmp_path: Path, formatted: str | None,
                                                       start_secure: bool) -> None:
    _formatted(KafkaService(make_settings(tmp_path)), formatted)  # None: storage of a Marsad before the marker
    KafkaService(make_settings(tmp_path, stack_secure=start_secure))._check_security_mode()


def test_storage_from_before_the_marker_with_kafka_secrets_counts_as_secure(tmp_path: Path) -> None:
    svc = KafkaService(make_settings(tmp_path))
    _formatted(svc, None)
    svc.secrets.dir.mkdir(parents=True)
    with pytest.raises(StackError, match="formatted with --secure"):
        svc._check_security_mode()


def test_the_secure_stack_tells_its_clients_to_say_so(tmp_path: Path) -> None:
    env = client_env(make_settings(tmp_path, stack_secure=True))
    assert env["MARSAD_STACK_SECURE"] == "true" and env["MARSAD_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
