"""Consumers (``marsad consume … --until-idle`` as OS processes) ride out real faults on a private stack:
Elasticsearch stopped, the broker killed with SIGKILL and restarted, a member killed with SIGKILL, SIGTERM.

Nothing here monkeypatches an exception: the engines are really stopped (``tests/private_stack.py``).
"""

from __future__ import annotations

import re
import signal
import socket
import time
from pathlib import Path

import httpx

from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.kafka.clients import admin, ensure_topics
from tests.integration.helpers import publish, raw_page, read_to_end

EXIT_WAIT_S = 240.0
"""Generous bound for a consumer to drain a few dozen records after a fault is repaired (a hang fails the test)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _article_page(i: int) -> bytes:
    import random

    rng = random.Random(i)
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    words = " ".join("".join(rng.choice(letters) for _ in range(rng.randint(3, 7))) for _ in range(150))
    return (f"<html lang='ar'><head><title>خبر {i}</title></head><body><article><h1>خبر رقم {i}</h1>"
            f"<p>الخبر رقم {i}: {words}.</p></article></body></html>").encode()


def _pages(start: int, n: int):
    return [raw_page(f"https://faults.example/news/{i}", _article_page(i)) for i in range(start, start + n)]


def _articles(settings, topic: str | None = None) -> list:
    from marsad.messages import Article

    return [Article.from_json(v) for v in read_to_end(settings, topic or settings.articles_topic, timeout_s=60)]


def _wait_exit(proc, log: Path, timeout_s: float = EXIT_WAIT_S) -> int:
    try:
        return proc.wait(timeout_s)
    except Exception:
        proc.kill()
        proc.wait()
        raise AssertionError(f"consumer did not finish; log:\n{log.read_text()[-3000:]}") from None


def _metric(port: int, name: str) -> list[tuple[str, float]]:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.ConnectError:  # the consumer process is still starting
        return []
    return [(m.group(1) or "", float(m.group(2))) for m in re.finditer(rf"^{name}(\{{.*?\}})? (\S+)$", text, re.M)]


def _wait_for(cond, what: str, timeout_s: float = 120.0, proc=None, log: Path | None = None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"consumer exited ({proc.returncode}) while waiting for {what}; log:\n"
                                 f"{log.read_text()[-3000:] if log else ''}")
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; log:\n{log.read_text()[-3000:] if log else ''}")


def _group_members(settings, group: str) -> int:
    client = admin(settings)  # keep a reference: the futures never complete once their client is gone
    futs = client.describe_consumer_groups([group], request_timeout=10)
    return len(futs[group].result(timeout=20).members)


def _stable_with(settings, group: str, n: int) -> bool:
    """The group has settled with ``n`` members, each holding an assignment (no rebalance in progress). A member told
    to stop *during* a rebalance cannot leave at once: librdkafka's ``close()`` then waits ~5 s and the broker keeps
    the member until its session timeout (seen: 1 run in 3 when SIGTERM followed the second member's join)."""
    from confluent_kafka import ConsumerGroupState

    client = admin(settings)
    desc = client.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=20)
    return (desc.state == ConsumerGroupState.STABLE and len(desc.members) == n
            and all(m.assignment and m.assignment.topic_partitions for m in desc.members))


def test_index_consumer_pauses_through_an_elasticsearch_outage_and_resumes(private_stack, private_names, tmp_path):
    """ES down for longer than the old give-up (31 s): the consumer stays in its group with partitions paused, the
    reason and lag in its log and metrics, and indexes everything once ES is back — no human step."""
    from tests.integration.test_index_worker_failure_modes import article, produce, text_n

    s = private_names
    ensure_topics(s)
    apply_templates(s, Es(s.es_url))
    arts = [article(f"https://es-outage.example/{i}", text_n(1000 + i)) for i in range(12)]
    private_stack.stop_es()
    produce(s, [(a.canonical_url.encode(), a.to_json(), None) for a in arts])
    port, log = _free_port(), tmp_path / "index.log"
    proc = private_stack.consume(s, "index", log, metrics_port=port, idle_timeout_s=2, alerts_enabled=False)
    paused = _wait_for(lambda: [v for labels, v in _metric(port, "marsad_consumer_paused") if v == 1],
                       "the pause gauge", proc=proc, log=log)
    assert paused
    time.sleep(40)  # past the old 5-retry give-up (1+2+4+8+16 s)
    assert proc.poll() is None, f"consumer exited during the outage:\n{log.read_text()[-3000:]}"
    lag = sum(v for _, v in _metric(port, "marsad_consumer_lag"))
    assert lag == len(arts)  # visible, and nothing committed while ES was away
    assert "paused" in log.read_text()
    private_stack.up()
    assert _wait_exit(proc, log) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "Traceback" not in text
    assert "recovered from" in text
    es = Es(s.es_url)
    es.request("POST", f"/{s.stories_alias}/_refresh")
    assert es.request("GET", f"/{s.stories_alias}/_count")["count"] == len(arts)


def test_extract_consumer_survives_a_broker_kill_and_restart(private_stack, private_names, tmp_path):
    """The broker killed with SIGKILL mid-run and restarted: the consumer logs the condition, waits, and drains every
    raw page published before and after (idle check and polls hit the dead broker; nothing may crash)."""
    s = private_names
    ensure_topics(s)
    first = _pages(0, 20)
    publish(s, first)
    log = tmp_path / "extract.log"
    proc = private_stack.consume(s, "extract", log, idle_timeout_s=15, batch_size=5)
    _wait_for(lambda: len(read_to_end(s, s.outcomes_topic)) >= 5, "a first batch", proc=proc, log=log)
    private_stack.kill_kafka()
    time.sleep(12)  # the consumer polls, checks idleness and commits against a dead broker
    assert proc.poll() is None, f"consumer died with the broker:\n{log.read_text()[-3000:]}"
    private_stack.up()
    second = _pages(100, 20)
    publish(s, second)
    assert _wait_exit(proc, log) == 0, log.read_text()[-3000:]
    assert "Traceback" not in log.read_text()
    got = {a.canonical_url for a in _articles(s)}
    assert got == {p.meta.canonical_url for p in first + second}


def test_killed_member_is_replaced_and_the_group_drains(private_stack, private_names, tmp_path):
    """Two extract consumers; one is killed with SIGKILL mid-run and a new one started (as a supervisor would): the
    new member waits out the dead one's session (10 s) without dying and the group drains every page."""
    s = private_names.model_copy(update={"topic_partitions": 3})
    ensure_topics(s)
    pages = _pages(0, 60)
    publish(s, pages)
    logs = [tmp_path / f"c{i}.log" for i in range(3)]
    c1 = private_stack.consume(s, "extract", logs[0], idle_timeout_s=8, batch_size=3)
    c2 = private_stack.consume(s, "extract", logs[1], idle_timeout_s=8, batch_size=3)
    _wait_for(lambda: len(read_to_end(s, s.outcomes_topic)) >= 6, "first batches", proc=c1, log=logs[0])
    c1.send_signal(signal.SIGKILL)
    c1.wait()
    c3 = private_stack.consume(s, "extract", logs[2], idle_timeout_s=8, batch_size=3)
    for proc, log in ((c2, logs[1]), (c3, logs[2])):
        assert _wait_exit(proc, log) == 0, log.read_text()[-3000:]
        assert "Traceback" not in log.read_text()
    assert {a.canonical_url for a in _articles(s)} == {p.meta.canonical_url for p in pages}


def test_sigterm_closes_the_consumer_and_leaves_the_group_at_once(private_stack, private_names, tmp_path):
    """SIGTERM: the consumer exits 0 and its membership ends with the process (LeaveGroup), not after the session
    timeout — set to 120 s here, so a member still listed long after the exit would mean it did not leave."""
    s = private_names
    ensure_topics(s)
    publish(s, _pages(0, 4))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    a = private_stack.consume(s, "extract", logs[0], until_idle=False, consumer_session_timeout_s=120)
    b = private_stack.consume(s, "extract", logs[1], until_idle=False, consumer_session_timeout_s=120)
    try:
        _wait_for(lambda: _stable_with(s, s.extract_group, 2), "both members, group stable", proc=a, log=logs[0])
        a.send_signal(signal.SIGTERM)
        assert _wait_exit(a, logs[0], 60) == 0, logs[0].read_text()[-3000:]
        _wait_for(lambda: _group_members(s, s.extract_group) == 1, "the member to leave", timeout_s=30)
    finally:
        b.send_signal(signal.SIGTERM)
        assert _wait_exit(b, logs[1], 60) == 0, logs[1].read_text()[-3000:]
    assert "Traceback" not in logs[0].read_text() + logs[1].read_text()
    assert _group_members(s, s.extract_group) == 0
