"""The crawl DAGs under the real Airflow 3 scheduler (LocalExecutor, PostgreSQL metadata DB, API server,
dag-processor: :mod:`tests.airflow_scheduler`), crawl state in the stack's PostgreSQL, against the trap site.

Two sources share one host: ``alpha`` (6 articles) and ``beta`` (4 articles), batches of 2, ``max_parallel`` 2,
per-host interval 1 s. Every article response is held :data:`HOLD_S` at the server, so fetches running in parallel
overlap there and can be counted. The first ``beta`` task process that asks for its *second* article is killed
(SIGKILL, found from the request's client port) — a crash mid-batch after one page was published; Airflow retries
the task in a new process. Checked at the server and in Kafka, never by the clock of the test:

* every article page answered exactly once across all parallel tasks and the retry (the killed request is the only
  extra one), and the raw-pages topic holds each page exactly once;
* at most ``max_parallel`` fetches of one source in flight at the server (and in Airflow's task-instance
  start/end intervals), and at least two fetches in flight at once somewhere (tasks really ran in parallel);
* consecutive requests to the host, across both DAGs and all task processes, at least the interval apart.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter

import pytest
import yaml

from tests.crawlsite.fetch_routes import article
from tests.crawlsite.server import CrawlSite, Request, Response, client_pid, route, rss_feed

from ..airflow_helpers import env_for
from ..airflow_scheduler import AirflowDeployment

pytestmark = [pytest.mark.airflow, pytest.mark.services]

ARTICLES = {"alpha": 6, "beta": 4}
MAX_PARALLEL = 2
BATCH = 2
INTERVAL_S = 1.0
HOLD_S = 3.0
"""Seconds each article response is held at the server, so that parallel fetches overlap there."""
TOL_S = 0.15
"""Jitter allowed between a crawler's slot (its wall clock, when it wakes up) and the arrival of its request at the
server, on a loaded 2-core machine with several task processes; far below the interval, so a slot that is not shared
(gaps near 0) still fails."""


def _article_paths(src: str) -> list[str]:
    return [f"/s/{src}/article/{100 + i}" for i in range(ARTICLES[src])]


def _feed(site: CrawlSite, req: Request) -> Response:
    src = req.path.split("/")[2]
    return rss_feed(site, f"/s/{src}/", _article_paths(src))


def _article(site: CrawlSite, req: Request) -> Response:
    src = req.path.split("/")[2]
    st = site.state
    if src == "beta" and "killed" not in st:
        pid = client_pid(req.peer, site.port)
        with site._lock:
            per_pid = st.setdefault("beta-pids", Counter())
            per_pid[pid] += 1
            crash = pid is not None and per_pid[pid] == 2 and "killed" not in st
            if crash:
                st["killed"] = req.path
        if crash:
            os.kill(pid, signal.SIGKILL)  # the task process dies mid-batch, its first page already published
            return Response(503, b"")
    with site._lock:
        flight = st.setdefault("in-flight", Counter())
        peak = st.setdefault("peak", Counter())
        flight[src] += 1
        flight["all"] += 1
        peak[src] = max(peak[src], flight[src])
        peak["all"] = max(peak["all"], flight["all"])
    time.sleep(HOLD_S)
    with site._lock:
        flight[src] -= 1
        flight["all"] -= 1
        st.setdefault("answered", []).append(req.path)
    return Response(200, article(req.path), {"Content-Type": "text/html; charset=utf-8"})


for _src in ARTICLES:
    route(f"/s/{_src}/feed.xml")(_feed)
    for _p in _article_paths(_src):
        route(_p)(_article)


def _max_overlap(intervals: list[tuple[str, str]]) -> int:
    """Largest number of ``[start, end]`` intervals (ISO strings of one clock: Airflow's DB) open at once."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    now = best = 0
    for _, d in events:
        now += d
        best = max(best, now)
    return best


def test_crawl_dags_fetch_each_page_once_under_the_real_scheduler(names, crawl_site, crawl_state_url, postgres_url,
                                                                   tmp_path):
    from marsad.dedup.urls import canonical_url
    from marsad.kafka.clients import ensure_topics

    from ..integration.helpers import read_all

    registry = tmp_path / "sources.yaml"
    registry.write_text(yaml.safe_dump({"sources": [
        {"name": src, "site": crawl_site.url(f"/s/{src}/"), "feeds": [crawl_site.url(f"/s/{src}/feed.xml")],
         "max_parallel": MAX_PARALLEL} for src in ARTICLES]}))
    s = names.model_copy(update={
        "sources_file": registry, "fetch_batch_size": BATCH, "min_host_interval_s": INTERVAL_S,
        "crawl_state_url": crawl_state_url, "crawl_task_retry_delay_s": 3.0, "warc_enabled": False})
    ensure_topics(s)
    # expected before anything runs: 10 article pages, each answered once and published once
    expected_paths = sorted(p for src in ARTICLES for p in _article_paths(src))
    expected_keys = sorted(canonical_url(crawl_site.url(p)) for p in expected_paths)

    home = tmp_path / "airflow"
    with AirflowDeployment(env_for(s, home), home, postgres_url, f"airflow_{uuid.uuid4().hex[:10]}") as af:
        dag_ids = [f"crawl_{src}" for src in ARTICLES]
        af.wait_for_dags(dag_ids)
        for d in dag_ids:  # @hourly, catchup off: unpausing lets the scheduler start the latest interval's run
            af.unpause(d)
        first = {d: af.wait_for_first_run(d) for d in dag_ids}
        assert {r["run_type"] for r in first.values()} == {"scheduled"}, first
        runs = {d: r["dag_run_id"] for d, r in first.items()}
        states = {d: af.wait_for_run(d, r) for d, r in runs.items()}
        tis = {d: af.task_instances(d, r) for d, r in runs.items()}

    summary = [(d, t["task_id"], t["map_index"], t["state"], t["try_number"]) for d in tis for t in tis[d]]
    detail = f"states={states} tis={summary}"
    assert states == {"crawl_alpha": "success", "crawl_beta": "success"}, detail
    # the crash happened, and Airflow retried that task in a new process
    assert crawl_site.state.get("killed", "").startswith("/s/beta/article/"), detail
    beta_fetch = [t for t in tis["crawl_beta"] if t["task_id"] == "fetch_and_publish"]
    assert sorted(t["try_number"] for t in beta_fetch) == [1, 2], detail

    # raw pages: each page exactly once, though the killed attempt had published its first page
    msgs = read_all(s, s.raw_pages_topic, expected=len(expected_keys), timeout_s=60)
    assert sorted(m.key().decode() for m in msgs) == expected_keys

    # every article page answered exactly once across parallel tasks and the retry
    answered = Counter(crawl_site.state.get("answered", []))
    assert sorted(answered) == expected_paths and set(answered.values()) == {1}, answered
    asked = Counter(r.path for r in crawl_site.requests if "/article/" in r.path)
    assert sum(asked.values()) == len(expected_paths) + 1, asked  # + the request of the killed process

    # max_parallel held per source (at the server and in Airflow's own task-instance intervals); tasks did overlap
    peak = crawl_site.state["peak"]
    assert peak["alpha"] <= MAX_PARALLEL and peak["beta"] <= MAX_PARALLEL, peak
    assert peak["all"] >= 2, peak
    alpha_fetch = [(t["start_date"], t["end_date"]) for t in tis["crawl_alpha"] if t["task_id"] == "fetch_and_publish"]
    assert len(alpha_fetch) == ARTICLES["alpha"] // BATCH
    assert _max_overlap(alpha_fetch) <= MAX_PARALLEL, alpha_fetch

    # one host, two DAGs, many task processes: consecutive requests at least the interval apart
    times = sorted(r.at for r in crawl_site.requests)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= INTERVAL_S - TOL_S, sorted(gaps)[:5]
