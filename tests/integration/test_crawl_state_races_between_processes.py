"""Crawl workers racing for the shared crawl state, as real OS processes, against both stores (``crawl_store``:
SQLite files and the real PostgreSQL of `marsad stack up`).

* 4 processes claim slots of one host at once: every claimed slot is at least the interval after the previous one,
  whichever process claimed it (one request per host per interval across all workers);
* 2 processes hand out one frontier at once: no URL is handed to both, none is lost;
* a worker killed (SIGKILL) while holding a lease loses nothing: its URLs are handed out again after the lease.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from datetime import datetime, timedelta, timezone

from marsad.settings import Settings

CTX = mp.get_context("spawn")  # fresh interpreters: no connection or lock inherited from the test process
INTERVAL_S = 0.05
CLAIMS_PER_PROCESS = 10


def _claimer(settings: Settings, barrier, out) -> None:
    from marsad.crawl.stores import open_politeness

    p = open_politeness(settings)
    barrier.wait()
    slots = [p.claim_slot("news.example", INTERVAL_S) for _ in range(CLAIMS_PER_PROCESS)]  # Unix times to send at
    p.close()
    out.put((os.getpid(), slots))


def test_four_processes_never_claim_slots_closer_than_the_interval(crawl_store):
    """Gold, written before the run: 40 slots, each ≥ INTERVAL_S after the previous one (the store serialises the
    claims; a read-then-write without the lock hands two processes the same slot)."""
    barrier, out = CTX.Barrier(4), CTX.Queue()
    procs = [CTX.Process(target=_claimer, args=(crawl_store.settings, barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len({pid for pid, _ in results}) == 4
    slots = sorted(s for _, ss in results for s in ss)
    assert len(slots) == 4 * CLAIMS_PER_PROCESS
    gaps = [b - a for a, b in zip(slots, slots[1:])]
    assert min(gaps) >= INTERVAL_S - 1e-6, sorted(gaps)[:5]


def _handout(settings: Settings, owner: str, barrier, out) -> None:
    from marsad.crawl.stores import open_seen

    seen = open_seen(settings)
    barrier.wait()
    got: list[str] = []
    while True:
        batch = seen.pending("src", limit=3, hand_out=True, owner=owner, lease_s=3600)
        if not batch:
            break
        got += batch
        for url in batch:  # "fetched": closes the row, as fetch_and_publish does once Kafka has the page
            seen.mark(url, "src")
    seen.close()
    out.put((owner, got))


def test_two_processes_never_hand_out_one_url_twice(crawl_store):
    urls = [f"https://news.example/a/{i}" for i in range(300)]
    seen = crawl_store.seen()
    assert seen.enqueue([(u, u) for u in urls], "src") == 300
    seen.close()
    barrier, out = CTX.Barrier(2), CTX.Queue()
    procs = [CTX.Process(target=_handout, args=(crawl_store.settings, owner, barrier, out)) for owner in "AB"]
    for p in procs:
        p.start()
    got = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    a, b = got["A"], got["B"]
    assert not set(a) & set(b), sorted(set(a) & set(b))[:5]
    assert len(a) == len(set(a)) and len(b) == len(set(b))
    assert sorted(a + b) == sorted(urls)  # none lost


def _lease_and_hang(settings: Settings, ready) -> None:
    import time

    from marsad.crawl.stores import open_seen

    seen = open_seen(settings)
    seen.pending("src", limit=2, hand_out=True, owner="doomed", lease_s=60)
    ready.set()
    time.sleep(600)  # "fetching" until killed


def test_worker_killed_mid_batch_loses_no_frontier_url(crawl_store):
    seen = crawl_store.seen()
    seen.enqueue([(f"https://news.example/b/{i}", f"https://news.example/b/{i}") for i in range(3)], "src")
    ready = CTX.Event()
    proc = CTX.Process(target=_lease_and_hang, args=(crawl_store.settings, ready))
    proc.start()
    assert ready.wait(60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    now = datetime.now(timezone.utc)
    assert seen.pending("src", hand_out=True, owner="other", now=now) == ["https://news.example/b/2"]
    after = seen.pending("src", hand_out=True, owner="other", now=now + timedelta(seconds=61))
    assert after == [f"https://news.example/b/{i}" for i in range(3)]
    seen.close()
