"""The pipeline as OS processes on the SaudiNewsNet day, under real faults, ends with the fault-free stories.

Input: the 1,343 articles of ``saudinewsnet/2015-08-03.json`` (read from the shared corpus at test time) as raw
pages — a minimal HTML page per article, each with its own URL — on 3 partitions. Two ``marsad consume extract``
and two ``marsad consume index`` processes run per stage, alerts on with the demo rules (``marsad/alerts/rules.yaml``).

Everything runs on a **private** Kafka + Elasticsearch (own free ports, own state dir, ES heap 384m),
started once per session and shared by the scenarios: faults are injected there, never on the shared stack.

The fault-free run is computed once per session; each scenario then runs the same input under new names and
checks: same story membership, no URL in two stories, each (rule, story) alerted once, and every consumer ended by
itself (exit 0) after the test restarted the ones it killed — as a supervisor (systemd ``Restart=on-failure``)
would; no other step.

Scenarios: (a) 20 ``kill -9`` of random consumers at random moments. (b) Elasticsearch stopped (SIGKILL) for 60 s
mid-run:
the index consumers pause and keep their group membership. (c) the Kafka broker killed (SIGKILL) and restarted
mid-run. After each, the ledger audit (:func:`marsad.ledger.audit`) shows 0 unaccounted and no URL in two stories.

**Story criterion** (docs/decisions.md, "Fault suite: which story differences are order effects"; chosen before the
runs it judges). Two fault-free runs of this input are *not* identical: with two index consumers on three
partitions the order in which articles become searchable varies, and greedy clustering of a near-duplicate chain
(A~B, B~C, A≁C) depends on that order (A first: A and C may start two stories; B first: one story). So a story of the
fault run may differ from the fault-free stories **only inside an order-sensitive component**: take the stories that
differ (fault-free side and fault side; they cover the same URLs), build the near-duplicate graph on their articles
with the stage's own rule (:func:`marsad.dedup.near.decide` on the extracted texts read back from the articles topic)
and require, for every connected component of it, that (1) it is **not a clique** — some pair in it is not a
near-duplicate, so the grouping is legitimately order-dependent — and (2) every differing story, on either side,
lies inside one component and is connected by near-duplicate edges. A clique split into several stories (the
race-repair failure) or a story joining unrelated texts fails. A race split *inside* a non-clique chain passes that
criterion (the old one-way repair passed scenario (b) under it: 10 stories in 6 chains), so every run — fault-free
ones included — must also leave **no two stories whose owners are near-duplicates** the stage would have compared
(:func:`missed_folds`): a working decision plus race repair never leaves such a pair, a missed fold always does.
The differing stories are printed with their components either way; the same checks are applied to a second
fault-free run (``fault_free_again``), which must pass them too.
"""

from __future__ import annotations

import html
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from marsad.index.es import Es
from marsad.settings import Settings

from .conftest import names_for
from .processes import doubled, membership, owners, start, stories

pytestmark = pytest.mark.services

PRIVATE = {"es_heap": "384m", "kafka_heap": "384m"}


def private_ports() -> dict[str, object]:
    """Kafka client/controller, PostgreSQL and ES HTTP ports of the private stack: the first base in 21000, 22000 …
    whose ``+92``, ``+93``, ``+94``, ``+200`` and ``+300`` (ES transport) are all free — other engineers run private
    stacks too."""
    from marsad.stack._common import port_free

    for base in range(21000, 40000, 1000):
        if all(port_free(base + d) for d in (92, 93, 94, 200, 300)):
            return {"kafka_bootstrap": f"127.0.0.1:{base + 92}", "kafka_controller_port": base + 93,
                    "postgres_port": base + 94,
                    "es_url": f"http://127.0.0.1:{base + 200}"}
    raise RuntimeError("no free port range for the private stack")
KILLS = 20
HUNG_AFTER_DRAINED_S = 90
"""A consumer still running this long after every record was committed is hung at exit (seen once: ``close()``
blocked in librdkafka's ``rd_kafka_assign`` from the rebalance callback, cf. confluentinc/librdkafka#4884); it is
killed and counted as ``exits["hung at exit"]`` so the test fails with that reason instead of at the deadline."""
STAGES = ("extract", "extract", "index", "index")


@pytest.fixture(scope="session")
def private_stack(services: Settings, tmp_path_factory) -> Settings:
    """A Kafka + Elasticsearch of this test session only (``marsad stack`` on other ports and state dir)."""
    from marsad import stack

    state = tmp_path_factory.mktemp("private-stack")
    s = services.model_copy(update={**PRIVATE, **private_ports(), "state_dir": state})
    stack.up(s)
    yield s
    stack.down(s)


def raw_pages(corpus: Path) -> list:
    """One raw page per SaudiNewsNet article: minimal HTML (title + one ``<p>`` per line), URL unique by index."""
    from tests.integration.helpers import raw_page

    day = json.loads((corpus / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))
    pages = []
    for i, a in enumerate(day):
        paras = "".join(f"<p>{html.escape(line.strip())}</p>" for line in a["content"].splitlines() if line.strip())
        title = html.escape(a["title"] or "")
        body = (f'<html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{title}</title></head>'
                f"<body><article><h1>{title}</h1>{paras}</article></body></html>").encode()
        pages.append(raw_page(f"https://{a['source']}.example/snn/{i}", body, source=a["source"]))
    return pages


def pipeline_names(base: Settings, workdir: Path) -> Settings:
    """Fresh names for one run (3 partitions, alerts on), their templates and topics created and the demo alert
    rules loaded; ``workdir`` (the consumers' log) created."""
    from marsad.alerts.demo import DEMO_RULES
    from marsad.alerts.rules import RuleStore, parse_rules_file
    from marsad.index.templates import apply_templates
    from marsad.kafka.clients import ensure_topics

    s = names_for(base, topic_partitions=3, idle_timeout_s=8.0, alerts_enabled=True)
    workdir.mkdir(parents=True, exist_ok=True)
    apply_templates(s)
    ensure_topics(s)
    rules, problems = parse_rules_file(DEMO_RULES)
    assert not problems
    RuleStore(s).sync(rules)
    return s


class Pipeline:
    """Two extract + two index consumer processes over one set of names; a supervisor that restarts the failed."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings, self.log = settings, workdir / "consumers.log"
        self.procs: list[subprocess.Popen | None] = [None] * len(STAGES)
        self.done = [False] * len(STAGES)
        self.exits: Counter = Counter()

    def start(self, slot: int) -> None:
        self.procs[slot] = start(self.settings, STAGES[slot], self.log)

    def supervise(self, deadline_s: float = 900) -> None:
        """Restart every consumer that ends with a failure until all ended by themselves with exit 0."""
        end = time.monotonic() + deadline_s
        drained_since, checked = None, 0.0
        while not all(self.done):
            if any(self.done) and time.monotonic() - checked > 5:  # some ended: is the rest idling out, or hung?
                checked = time.monotonic()
                drained_since = (drained_since or checked) if self.drained() else None
                if drained_since and checked - drained_since > HUNG_AFTER_DRAINED_S:
                    for slot in self.running():  # nothing left to do for minutes: a hang at exit, not work
                        os.killpg(self.procs[slot].pid, signal.SIGKILL)
                        self.procs[slot].wait()
                        self.done[slot] = True
                        self.exits["hung at exit"] += 1
                    break
            for slot, p in enumerate(self.procs):
                if self.done[slot] or p is None or p.poll() is None:
                    continue
                self.exits[p.returncode] += 1
                if p.returncode == 0:
                    self.done[slot] = True
                else:
                    self.start(slot)
            if all(self.done) and not self.drained():  # an index consumer idled before extract was done
                for slot in range(len(STAGES)):
                    self.done[slot] = False
                    self.start(slot)
            assert time.monotonic() < end, f"pipeline not drained in {deadline_s} s: {self.log.read_text()[-3000:]}"
            time.sleep(0.2)

    def running(self) -> list[int]:
        return [slot for slot, p in enumerate(self.procs) if p is not None and p.poll() is None]

    def drained(self) -> bool:
        from confluent_kafka import Consumer, TopicPartition

        s = self.settings
        for topic, group in ((s.raw_pages_topic, s.extract_group), (s.articles_topic, s.index_group)):
            c = Consumer({"bootstrap.servers": s.kafka_bootstrap, "group.id": group, "enable.auto.commit": False})
            try:
                tps = [TopicPartition(topic, p) for p in range(s.topic_partitions)]
                for tp in c.committed(tps, timeout=30):
                    low, high = c.get_watermark_offsets(tp, timeout=30)
                    if high > low and tp.offset < high:
                        return False
            finally:
                c.close()
        return True

    def kill_all(self) -> None:
        for p in self.procs:
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def run(base: Settings, workdir: Path, pages: list, fault=None) -> dict:
    """Produce ``pages``, run the pipeline (calling ``fault(pipeline)`` once consumers run), return the outcome."""
    from tests.integration.helpers import publish

    s = pipeline_names(base, workdir)
    publish(s, pages)
    pipe = Pipeline(s, workdir)
    try:
        for slot in range(len(STAGES)):
            pipe.start(slot)
        if fault:
            fault(pipe)
        pipe.supervise()
    finally:
        pipe.kill_all()
    docs = stories(s)
    es = Es(s.es_url)
    es.request("POST", f"/{s.alerts_sent_index}/_refresh")
    sent = es.request("POST", f"/{s.alerts_sent_index}/_search", {
        "size": 10_000, "query": {"term": {"kind": "alert"}}, "_source": ["rule", "story_id"]})["hits"]["hits"]
    members = {d["_id"]: frozenset([d["canonical_url"], *(r["canonical_url"] for r in d.get("republications") or [])])
               for d in docs}
    alerted = Counter((h["_source"]["rule"], members.get(h["_source"]["story_id"])) for h in sent)
    from marsad.ledger import audit

    report = audit(s).as_dict()
    return {"audit": report, "membership": membership(docs), "doubled": doubled(docs), "alerted": alerted,
            "exits": pipe.exits, "settings": s, "fingerprints": _fingerprints(s), "owners": owners(docs)}


def _fingerprints(s: Settings) -> dict:
    """``canonical URL -> (Fingerprint | None, source)`` of every article the extract stage produced (read back)."""
    from marsad.dedup.near import fingerprint
    from marsad.kafka.clients import read_to_end
    from marsad.messages import Article

    out = {}
    for m in read_to_end(s, s.articles_topic, timeout_s=60):
        a = Article.from_json(m.value())
        out[a.canonical_url] = (fingerprint(a.text), a.source)
    return out


def order_effects(expected: set, got: set, fps: dict) -> tuple[list[str], list[str]]:
    """Judge the stories that differ between ``expected`` and ``got`` (sets of frozensets of canonical URLs) by the
    story criterion of the module docstring. Returns ``(violations, explanation)``: an empty ``violations`` means
    every difference is an order effect of a near-duplicate chain."""
    from marsad.dedup.near import decide

    lost, extra = expected - got, got - expected
    urls = set().union(*lost, *extra) if (lost or extra) else set()
    near = {u: set() for u in urls}
    ordered = sorted(urls)
    for i, u in enumerate(ordered):
        for v in ordered[i + 1:]:
            (fu, su), (fv, sv) = fps.get(u, (None, None)), fps.get(v, (None, None))
            if fu is not None and fv is not None and decide(fu, fv, same_source=su == sv).duplicate:
                near[u].add(v)
                near[v].add(u)
    comp: dict[str, int] = {}
    for u in ordered:  # connected components
        if u in comp:
            continue
        comp[u], todo = len(set(comp.values())), [u]
        while todo:
            x = todo.pop()
            for y in near[x]:
                if y not in comp:
                    comp[y] = comp[u]
                    todo.append(y)
    members: dict[int, set] = {}
    for u, c in comp.items():
        members.setdefault(c, set()).add(u)

    def connected(story: frozenset) -> bool:
        start = next(iter(story))
        seen, todo = {start}, [start]
        while todo:
            x = todo.pop()
            for y in near[x] & story:
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        return seen == set(story)

    violations, explanation = [], []
    for _c, ms in sorted(members.items(), key=lambda kv: sorted(kv[1])):
        clique = all(near[u] >= ms - {u} for u in ms)
        side_exp = sorted(map(sorted, (x for x in lost if x <= ms)))
        side_got = sorted(map(sorted, (x for x in extra if x <= ms)))
        explanation.append(f"component {sorted(ms)} (clique: {clique}): fault-free {side_exp} / this run {side_got}")
        if clique:
            violations.append(f"near-duplicate clique grouped differently: {side_exp} vs {side_got}")
    for side, stories_ in (("fault-free", lost), ("this run", extra)):
        for x in stories_:
            if len({comp[u] for u in x}) > 1 or not connected(x):
                violations.append(f"{side} story not connected by near-duplicate edges: {sorted(x)}")
    return violations, explanation


def missed_folds(owner_urls: list[str], fps: dict) -> list[str]:
    """Pairs of stories whose **owners** (story documents' canonical URLs) are near-duplicates the stage would have
    compared: they share a candidate key (an LSH band or the lead key, :attr:`Fingerprint.candidate_keys`) and
    :func:`marsad.dedup.near.decide` (symmetric) calls them copies. ``fps`` maps canonical URL ->
    ``(Fingerprint | None, source)``. Returns one line per such pair; empty when none.

    Why it must be empty, in a fault-free run as in a fault run: an article starts a story only when no searchable
    story's owner is its near-duplicate (else it joins the best one, :func:`marsad.dedup.stories.best_story`), and
    when two such owners were written concurrently the race repair folds one into the other. So two near-duplicate
    owners left side by side are a fold that never happened — the split the order criterion cannot see inside a
    near-duplicate chain (A~B, B~C, A≁C: {A} + {B, C} owned by B). Assumed: no article has more than 30 candidate
    stories (the stage reads the first 30; beyond them a missed pair would be flagged here though the stage never
    saw it)."""
    from marsad.dedup.near import decide

    by_key: dict[str, list[str]] = {}
    for url in sorted(owner_urls):
        fp = fps.get(url, (None, None))[0]
        for key in fp.candidate_keys if fp is not None else ():
            by_key.setdefault(key, []).append(url)
    pairs = {(u, v) for urls in by_key.values() for i, u in enumerate(urls) for v in urls[i + 1:]}
    out = []
    for u, v in sorted(pairs):
        (fu, su), (fv, sv) = fps[u], fps[v]
        d = decide(fu, fv, same_source=su == sv)
        if d.duplicate:
            out.append(f"owners of two stories are near-duplicates ({d.kind}, {d.similarity:.2f}): {u} / {v}")
    return out


@pytest.fixture(scope="session")
def snn_pages(corpus_dir_session) -> list:
    return raw_pages(corpus_dir_session)


@pytest.fixture(scope="session")
def corpus_dir_session() -> Path:
    from tests.conftest import CORPUS

    if not CORPUS.exists():
        pytest.skip(f"corpus folder {CORPUS} not present")
    return CORPUS


@pytest.fixture(scope="session")
def fault_free(private_stack, snn_pages, tmp_path_factory) -> dict:
    out = run(private_stack, tmp_path_factory.mktemp("fault-free"), snn_pages)
    assert out["exits"] == Counter({0: len(STAGES)}), out["exits"]
    return out


def _check(result: dict, fault_free: dict) -> None:
    assert result["doubled"] == {}
    assert result["audit"]["unaccounted"] == 0 and not result["audit"]["urls_in_more_than_one_story"], result["audit"]
    assert result["audit"]["produced"] == fault_free["audit"]["produced"]
    assert set().union(*result["membership"]) == set().union(*fault_free["membership"])  # same URLs in stories
    violations, explanation = order_effects(fault_free["membership"], result["membership"],
                                            fault_free["fingerprints"] | result["fingerprints"])
    print(f"{len(fault_free['membership'] - result['membership'])} fault-free stories differ (order effects "
          f"allowed):", *explanation, sep="\n  ")
    missed = missed_folds(result["owners"], result["fingerprints"])
    print(f"{len(missed)} pairs of near-duplicate owners (missed folds)", *missed, sep="\n  ")
    assert not (violations or missed), "\n".join(violations + missed + ["explanation:"] + explanation)
    assert all(n == 1 for n in result["alerted"].values()), [k for k, n in result["alerted"].items() if n > 1]
    same = fault_free["membership"] & result["membership"]  # alerts of the stories both runs grouped alike
    assert {k for k in result["alerted"] if k[1] in same} == {k for k in fault_free["alerted"] if k[1] in same}
    assert all(k[1] is not None for k in result["alerted"])  # every alert names a story that exists


@pytest.fixture(scope="session")
def fault_free_again(private_stack, snn_pages, tmp_path_factory) -> dict:
    out = run(private_stack, tmp_path_factory.mktemp("fault-free-again"), snn_pages)
    assert out["exits"] == Counter({0: len(STAGES)}), out["exits"]
    return out


def test_second_fault_free_run_differs_only_by_order_effects(fault_free, fault_free_again):
    """The criterion's premise: a second fault-free run may differ only in near-duplicate chains (the differences
    and their components are printed). Runs in CI (a skip is a failure there); about 2 min."""
    _check(fault_free_again, fault_free)


def test_fault_free_run_is_sane(fault_free, snn_pages):
    urls = set().union(*fault_free["membership"])
    assert len(urls) > 1000  # a few pages are discarded (too short) — the rest are in stories
    assert fault_free["doubled"] == {}
    assert not (missed := missed_folds(fault_free["owners"], fault_free["fingerprints"])), "\n".join(missed)
    assert fault_free["alerted"] and all(n == 1 for n in fault_free["alerted"].values())


def test_twenty_kill_9_of_consumers(private_stack, snn_pages, fault_free, tmp_path):
    rng = random.Random(20150803)
    killed: list[str] = []

    def kills(pipe: Pipeline) -> None:
        while len(killed) < KILLS:
            time.sleep(rng.uniform(0.3, 1.5))
            alive = pipe.running()
            if not alive:
                return  # everything ended by itself before all kills: the assertion below says so
            slot = rng.choice(alive)
            os.killpg(pipe.procs[slot].pid, signal.SIGKILL)
            pipe.procs[slot].wait()
            killed.append(STAGES[slot])
            pipe.exits[-9] += 1
            pipe.start(slot)  # the supervisor's restart

    result = run(private_stack, tmp_path, snn_pages, kills)
    assert len(killed) == KILLS
    assert "hung at exit" not in result["exits"], result["exits"]
    _check(result, fault_free)


def _pid(settings: Settings, service: str) -> int:
    from marsad.stack import _services
    from marsad.stack._common import read_pid

    kafka, es = (svc for svc in _services(settings) if svc.name in ("kafka", "elasticsearch"))
    return read_pid((kafka if service == "kafka" else es).pid_file).pid


def _outage(private_stack: Settings, service: str, down_s: float):
    """A fault: once the index consumers have written some stories, SIGKILL ``service`` of the private stack, keep
    it down ``down_s`` seconds, then start it again with ``marsad stack up`` (same state dir: data kept)."""
    from marsad import stack

    def fault(pipe: Pipeline) -> None:
        es = Es(pipe.settings.es_url)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # mid-run: some stories written, not all
            es.request("POST", f"/{pipe.settings.stories_alias}/_refresh")
            if es.request("GET", f"/{pipe.settings.stories_alias}/_count")["count"] >= 100:
                break
            time.sleep(0.5)
        os.kill(_pid(private_stack, service), signal.SIGKILL)
        time.sleep(down_s)
        stack.up(private_stack)

    return fault


def test_elasticsearch_down_60_s(private_stack, snn_pages, fault_free, tmp_path):
    result = run(private_stack, tmp_path, snn_pages, _outage(private_stack, "es", 60))
    _check(result, fault_free)
    assert set(result["exits"]) == {0}, result["exits"]  # nobody had to be restarted


def test_kafka_broker_killed_and_restarted(private_stack, snn_pages, fault_free, tmp_path):
    result = run(private_stack, tmp_path, snn_pages, _outage(private_stack, "kafka", 5))
    _check(result, fault_free)
    assert set(result["exits"]) == {0}, result["exits"]
