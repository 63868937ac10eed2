"""Two crawl workers on two "machines": two ``marsad crawl --until-empty`` OS processes, each with its own local state
directory (``MARSAD_STATE_DIR``: reports, WARC files), sharing only the crawl state in PostgreSQL
(``MARSAD_CRAWL_STATE_URL``, a schema of this test's own) and Kafka, crawl two local sites at the same time.

Two hosts (two trap-site servers on two ports): source ``alpha`` on host A, ``beta`` on host B, :data:`ARTICLES`
articles each behind one RSS feed, ``max_items`` :data:`MAX_ITEMS` per cycle (so each worker needs several cycles
and both get a share of each source), per-host interval :data:`INTERVAL_S`, frontier lease :data:`LEASE_S`.
Checked at the servers and in Kafka, never by the clock of the test:

* every article page answered exactly once across both workers, and both workers fetched some of each source;
* consecutive requests to one host (robots.txt, feed, articles; both workers) at least the interval apart;
* the raw-pages topic holds every article exactly once.

The kill case: the first worker to ask host A for its second article is held there and killed (SIGKILL, found from
the request's client port) — mid-batch, its first page published and marked, the held URL and the rest of its batch
leased to a dead process. The survivor waits for the lease to run out, fetches them, and stops when the frontier
is empty. Allowed extra: exactly one request, the killed one (held, then answered 503 into a dead socket — no page
was ever published for it). Nothing else is doubled: each page is published, acknowledged by Kafka and marked seen
before the next URL is fetched (:func:`marsad.crawl.run.fetch_and_publish`), so the page the victim fetched before
dying is not fetched again; the window that would double a page (a kill between Kafka's acknowledgement and the
seen mark, a few ms) is not hit by a kill at a held request.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import yaml

from marsad.settings import Settings, to_env
from tests.crawlsite.fetch_routes import article
from tests.crawlsite.server import CrawlSite, Request, Response, client_pid, route, rss_feed

pytestmark = pytest.mark.services

ARTICLES = 8
"""Articles per source (one source per host)."""
SOURCES = ("alpha", "beta")
MAX_ITEMS = 3
"""URLs handed to a worker per cycle: 8 articles take each worker several cycles, both get a share."""
INTERVAL_S = 0.6
LEASE_S = 15.0
"""Frontier lease: longer than a live worker's batch (3 articles, the host shared with the other worker: a few
intervals), short enough that the kill case waits little for the dead worker's URLs."""
WAIT_S = 1.0
"""``--wait-s`` of the workers: pause between cycles that were handed nothing."""
TOL_S = 0.15
"""Jitter allowed between a worker's slot (its wall clock, when it wakes up) and the arrival of its request at the
server on a loaded 2-core machine; far below the interval, so slots that are not shared (gaps near 0) still fail."""
TIMEOUT_S = 120
STARTED: list[subprocess.Popen] = []
"""Worker processes of the running test (killed at teardown if a failure left them running)."""


def _paths(src: str) -> list[str]:
    return [f"/w2/{src}/article/{100 + i}" for i in range(ARTICLES)]


def _feed(site: CrawlSite, req: Request) -> Response:
    src = req.path.split("/")[2]
    return rss_feed(site, f"/w2/{src}/", _paths(src))


def _article(site: CrawlSite, req: Request) -> Response:
    """Answers the article; records which process asked.

    With a start gate (``state["gate"]``, host A): article requests are held until two processes have asked, so
    both workers are crawling before either can take the whole frontier (a worker starting seconds late on a
    loaded machine would otherwise find nothing left, and the test would show nothing about sharing). With a kill
    plan (``state["kill"]``), the first worker's second article request is held until the test has killed that
    worker, then answered 503 (to nobody)."""
    st = site.state
    pid = client_pid(req.peer, site.port)
    gate = st.get("gate")
    if gate is not None:
        with site._lock:
            asked = st.setdefault("gate-pids", set())
            asked.add(pid)
            if len(asked) >= 2:
                gate.set()
        gate.wait(TIMEOUT_S)
    plan = st.get("kill")
    with site._lock:
        per_pid = st.setdefault("per-pid", Counter())
        per_pid[pid] += 1
        hold = (plan is not None and not plan["held"].is_set() and pid in plan["pids"]
                and per_pid[pid] == 2)
        if hold:
            plan.update(victim=pid, path=req.path)
            plan["held"].set()
    if hold:
        plan["release"].wait(TIMEOUT_S)
        return Response(503, b"")
    with site._lock:
        st.setdefault("answered", []).append((req.path, pid))
    return Response(200, article(req.path), {"Content-Type": "text/html; charset=utf-8"})


for _src in SOURCES:
    route(f"/w2/{_src}/feed.xml")(_feed)
    for _p in _paths(_src):
        route(_p)(_article)


def _marsad() -> str:
    """The ``marsad`` command of this interpreter's environment, as a user runs it."""
    path = Path(sys.executable).parent / "marsad"
    assert path.exists(), path
    return str(path)


def _start_worker(s: Settings, machine: Path) -> subprocess.Popen:
    """``marsad crawl --until-empty`` with its own local state directory ("another machine")."""
    local = s.model_copy(update={"state_dir": machine, "crawl_state_dir": machine / "crawl"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
    env.update(to_env(local))
    with open(machine.parent / f"{machine.name}.log", "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen([_marsad(), "crawl", "--until-empty", "--wait-s", str(WAIT_S)], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    STARTED.append(proc)
    return proc


def _output(machine: Path) -> str:
    return (machine.parent / f"{machine.name}.log").read_text(errors="replace")


@pytest.fixture
def two_hosts(crawl_site: CrawlSite):
    """Host A (the ``crawl_site`` fixture) and host B (a second server on another port)."""
    with CrawlSite() as b:
        yield {"alpha": crawl_site, "beta": b}


@pytest.fixture
def setup(names: Settings, crawl_state_url: str, two_hosts: dict[str, CrawlSite], tmp_path: Path):
    from marsad.kafka.clients import ensure_topics

    registry = tmp_path / "sources.yaml"
    registry.write_text(yaml.safe_dump({"sources": [
        {"name": src, "site": site.url(f"/w2/{src}/"), "feeds": [site.url(f"/w2/{src}/feed.xml")],
         "max_items": MAX_ITEMS} for src, site in two_hosts.items()]}))
    s = names.model_copy(update={
        "sources_file": registry, "min_host_interval_s": INTERVAL_S, "crawl_state_url": crawl_state_url,
        "frontier_lease_s": LEASE_S})
    ensure_topics(s)
    two_hosts["alpha"].state["gate"] = threading.Event()
    yield s, two_hosts, [tmp_path / "machine-a", tmp_path / "machine-b"]
    for p in STARTED:  # a failed test leaves no worker behind
        if p.poll() is None:
            p.kill()
            p.wait(timeout=30)
    STARTED.clear()


def _check_spacing(sites: dict[str, CrawlSite]) -> None:
    for src, site in sites.items():
        times = sorted(r.at for r in site.requests)
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert min(gaps) >= INTERVAL_S - TOL_S, (src, sorted(gaps)[:5])


def _check_topic(s: Settings, sites: dict[str, CrawlSite]) -> None:
    from marsad.dedup.urls import canonical_url

    from .helpers import read_all

    expected = sorted(canonical_url(site.url(p)) for src, site in sites.items() for p in _paths(src))
    msgs = read_all(s, s.raw_pages_topic, expected=len(expected), timeout_s=60)
    assert sorted(m.key().decode() for m in msgs) == expected


def test_two_workers_fetch_each_article_once_and_keep_the_host_interval(setup):
    s, sites, machines = setup
    procs = [_start_worker(s, m) for m in machines]
    for p in procs:
        p.wait(timeout=TIMEOUT_S)
    outputs = [_output(m) for m in machines]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all("frontier empty" in out for out in outputs), outputs

    pids = {p.pid for p in procs}
    for src, site in sites.items():
        answered = site.state["answered"]
        per_path = Counter(path for path, _ in answered)
        assert sorted(per_path) == _paths(src) and set(per_path.values()) == {1}, (src, per_path)
        asked = [r.path for r in site.requests if "/article/" in r.path]
        assert sorted(asked) == _paths(src), (src, asked)  # no request beyond the answered ones
        by_worker = Counter(pid for _, pid in answered)
        assert set(by_worker) == pids, (src, by_worker)  # both workers fetched a share of this host
    _check_spacing(sites)
    _check_topic(s, sites)
    for m in machines:  # each machine kept its own local state (crawl reports) in its own directory
        assert (m / "crawl" / "reports" / "crawl-alpha.json").exists(), m


def test_worker_killed_mid_batch_loses_no_url_and_the_survivor_finishes(setup):
    import psycopg

    s, sites, machines = setup
    host_a = sites["alpha"]
    plan = {"held": threading.Event(), "release": threading.Event(), "pids": set()}
    host_a.state["kill"] = plan
    procs = [_start_worker(s, m) for m in machines]
    plan["pids"] = {p.pid for p in procs}
    try:
        assert plan["held"].wait(TIMEOUT_S), [_output(m) for m in machines]
        victim = next(p for p in procs if p.pid == plan["victim"])
        os.kill(victim.pid, signal.SIGKILL)  # mid-batch: its first article of host A published, the second held
        victim.wait(timeout=30)
    finally:
        plan["release"].set()
    survivor = next(p for p in procs if p is not victim)
    survivor.wait(timeout=TIMEOUT_S)
    out = _output(machines[procs.index(survivor)])
    assert victim.returncode == -signal.SIGKILL
    assert survivor.returncode == 0 and "frontier empty" in out, out

    killed_path = plan["path"]
    for src, site in sites.items():
        per_path = Counter(path for path, _ in site.state["answered"])
        assert sorted(per_path) == _paths(src) and set(per_path.values()) == {1}, (src, per_path)
        asked = Counter(r.path for r in site.requests if "/article/" in r.path)
        extra = {killed_path: 1} if src == "alpha" else {}
        assert asked == Counter(_paths(src)) + Counter(extra), (src, asked)  # + only the killed request
    # the victim's first article of host A came from it, the killed URL from the survivor after the lease ran out
    answered_a = dict(host_a.state["answered"])
    assert answered_a[killed_path] == survivor.pid
    assert victim.pid in answered_a.values()
    _check_spacing(sites)
    _check_topic(s, sites)

    with psycopg.connect(s.crawl_state_url, autocommit=True) as conn:
        rows = conn.execute("SELECT link, handed_out, fetched_at IS NOT NULL, abandoned FROM crawl_frontier"
                            ).fetchall()
    assert len(rows) == len(SOURCES) * ARTICLES and all(done and not abandoned for _, _, done, abandoned in rows)
    handed = {link: n for link, n, _, _ in rows}
    assert handed[host_a.url(killed_path)] == 2  # to the victim, then (lease expired) to the survivor
