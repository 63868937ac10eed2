"""End-to-end pipeline throughput vs bare trafilatura, same pages, same machine, one run.

Usage (the local stack must be up: ``marsad stack up``)::

    PYTHONPATH=src .venv/bin/python benchmarks/pipeline/run.py [--workloads templates,minimal] [--scale 1]
        [--extract-consumers 2] [--index-consumers 1] [--partitions 2] [--profile-index] [--write-docs]

Workloads (built at run time from the corpus folder; nothing is copied into the repository):

* ``templates`` — the 1,343 SaudiNewsNet articles of ``saudinewsnet/2015-08-03.json`` placed into two real outlet
  page templates, alternately: CNN Arabic (``newspaper4k/arabic_article.html``, the story ``div.cnn_strycntntrgt``)
  and LBC (``fundus/LBCGroup_2026_01_08.html``, ``div.LongDesc``). The article body, ``<title>``, ``og:title``, the
  headline, ``rel=canonical`` and ``og:url`` are replaced; every page has its own URL.
* ``minimal`` — the same articles as minimal HTML (``<article><h1>…</h1><p>…</p></article>``).

``--scale N`` repeats the day N times with distinct URLs (copy k of an article gets a distinct URL; its text is the
same, so copies 2…N are exact duplicates for dedup — the index grows by fingerprint claims and republications, not
stories; see the report).

For each workload, in the same run:

(a) **bare** — ``trafilatura.extract(body, url=url)`` (defaults) over every page with a 2-process pool (fork; the
    pages are inherited, not pickled);
(b) **pipeline** — ``marsad consume extract`` × ``--extract-consumers`` and ``marsad consume index`` ×
    ``--index-consumers`` as separate OS processes on the shared stack, throw-away topic/group/index names (like the
    tests' ``names`` fixture; deleted afterwards), alerts enabled with the demo rules (``marsad/alerts/rules.yaml``) plus
    one probe rule «المملكة» so that enough stories alert to give a p95 (the demo rules match ~1 page of this day).
    The consumers start first and index two warm-up pages (imports, group join); then the harness produces every
    page to the raw-pages topic. Time = first raw record's timestamp → the last raw page's final ledger record
    (the index stage writes its outcome after the bulk with ``refresh=true`` and the percolation, so the story is
    searchable by then; pages the extract stage discards end there).

Per page: raw → searchable = index-stage ledger record timestamp − raw record timestamp (an upper bound of the
``marsad_fetch_to_searchable_seconds`` histogram's span: both end at the batch's outcome); raw → alert = the alert
event's timestamp − raw record timestamp. Peak RSS of each consumer process (``psutil``, sampled every 0.5 s,
children included). CPU per page of each process tree (user + system over the timed span): the consumers, the
Elasticsearch and Kafka JVMs (the processes listening on 9200 and 9092) and the harness itself — set against
bare trafilatura's time per page in its pool and the machine's 2 cores. With ``--profile-index`` the (single) index consumer runs under ``py-spy record --idle``
(collapsed stacks; wall time including waits) and the report splits its time by step.

The machine is shared (2 cores, other engineers' tests): compare ratios measured in the same run, not absolute
pages/s. The load average at start and end is printed. ``--write-docs`` writes docs/benchmarks-pipeline.md.
"""

from __future__ import annotations

import argparse
import html
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import orjson

from marsad.alerts.demo import DEMO_RULES
from marsad.alerts.rules import RuleStore, make_rule, parse_rules_file
from marsad.dedup.urls import canonical_url
from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.kafka import clients
from marsad.messages import RawPage, RawPageMeta, utcnow
from marsad.settings import REPO_ROOT, Settings, load_settings, scratch_names, to_env

PROBE_RULE = "المملكة"

# ---------------------------------------------------------------------------------------------------------------
# workloads


@dataclass
class Page:
    url: str
    body: bytes
    source: str


def _template(path: Path, body_xpath: str) -> str:
    """The outlet page with markers for the URL, the title and the body (lxml; the rest of the page unchanged)."""
    import lxml.html

    doc = lxml.html.fromstring(path.read_bytes())
    (body,) = doc.xpath(body_xpath)
    for child in list(body):
        body.remove(child)
    body.text = "@@BODY@@"
    for t in doc.xpath("//title"):
        t.text = "@@TITLE@@"
        for c in list(t):
            t.remove(c)
    for h in doc.xpath("//h1"):
        if h.text_content().strip():
            for c in list(h):
                h.remove(c)
            h.text = "@@TITLE@@"
    for m in doc.xpath('//meta[@property="og:title"]'):
        m.set("content", "@@TITLE@@")
    for m in doc.xpath('//meta[@property="og:url"]'):
        m.set("content", "@@URL@@")
    for link in doc.xpath('//link[@rel="canonical"]'):
        link.set("href", "@@URL@@")
    return lxml.html.tostring(doc, encoding="unicode", doctype="<!DOCTYPE html>")


def build_pages(corpus: Path, workload: str, scale: int, limit: int | None) -> list[Page]:
    rows = json.loads((corpus / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))
    if limit:
        rows = rows[:limit]
    templates = []
    if workload == "templates":
        templates = [
            ("cnn", _template(corpus / "newspaper4k" / "arabic_article.html", '//div[@class="cnn_strycntntrgt"]')),
            ("lbc", _template(corpus / "fundus" / "LBCGroup_2026_01_08.html", '//div[@class="LongDesc"]')),
        ]
    out = []
    for k in range(scale):
        for n, row in enumerate(rows):
            title = html.escape(row["title"])
            paras = "".join(f"<p>{html.escape(p)}</p>" for p in row["content"].split("\n") if p.strip())
            if templates:
                name, tpl = templates[n % 2]
                url = f"https://bench-{name}.example/{k}/{n}/article.html"
                body = tpl.replace("@@BODY@@", paras).replace("@@TITLE@@", title).replace("@@URL@@", url)
            else:
                url = f"https://bench-min.example/{k}/{n}/article.html"
                body = (f"<!doctype html><html lang='ar'><head><meta charset='utf-8'><title>{title}</title></head>"
                        f"<body><article><h1>{title}</h1>{paras}</article></body></html>")
            out.append(Page(url, body.encode("utf-8"), row["source"]))
    return out


# ---------------------------------------------------------------------------------------------------------------
# (a) bare trafilatura

_PAGES: list[Page] = []


def _bare_one(i: int) -> float:
    import trafilatura

    p = _PAGES[i]
    t0 = time.perf_counter()
    trafilatura.extract(p.body, url=p.url)
    return time.perf_counter() - t0


def run_bare(pages: list[Page], procs: int = 2) -> dict:
    global _PAGES
    _PAGES = pages
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs) as pool:
        pool.map(_bare_one, range(min(4, len(pages))))  # imports done in both workers
        t0 = time.perf_counter()
        per_page = pool.map(_bare_one, range(len(pages)), chunksize=8)
        wall = time.perf_counter() - t0
    # cpu_ms_per_page: the mean time of one extract call inside a pool worker (≈ its CPU: one process per core)
    return {"seconds": wall, "pages_s": len(pages) / wall, "per_page_ms": [x * 1000 for x in per_page],
            "cpu_ms_per_page": 1000 * sum(per_page) / len(per_page)}


# ---------------------------------------------------------------------------------------------------------------
# (b) the real pipeline


def bench_settings(base: Settings, partitions: int) -> tuple[str, Settings]:
    tag = f"bench{uuid.uuid4().hex[:8]}"
    return tag, base.model_copy(update={**scratch_names(tag), "topic_partitions": partitions})


def drop(tag: str, s: Settings, es: Es) -> None:
    from confluent_kafka import KafkaException

    es.request("DELETE", f"/{tag}-*", ok=(404,))
    for t in (s.stories_alias, s.fingerprints_index, s.alert_rules_alias, s.alerts_sent_index):
        es.request("DELETE", f"/_index_template/{t}", ok=(404,))
    client = clients.admin(s)
    for f in client.delete_topics(clients.topic_names(s), operation_timeout=30).values():
        try:
            f.result()
        except KafkaException as exc:
            print(f"warning: deleting a topic: {exc}", file=sys.stderr)


class Watcher(threading.Thread):
    """Reads the ledger and alerts topics from the beginning: final outcome time per raw page, alert time per URL."""

    def __init__(self, s: Settings) -> None:
        super().__init__(daemon=True)
        self.s = s
        self.final: dict[tuple[int, int], tuple[int, str]] = {}  # (partition, offset) of raw → (ts ms, category)
        self.alert_ms: dict[str, int] = {}
        self.final_records: Counter = Counter()  # (partition, offset) of raw → index-stage/discard records seen
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        c = Consumer({"bootstrap.servers": self.s.kafka_bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                      "enable.auto.commit": False, "logger": clients.LIBRDKAFKA_LOG,
                      **clients.security_config(self.s)})
        tps = []
        for topic in (self.s.outcomes_topic, self.s.alerts_topic):
            for p in c.list_topics(topic, timeout=10).topics[topic].partitions:
                tps.append(TopicPartition(topic, p, OFFSET_BEGINNING))
        c.assign(tps)
        self.ready.set()
        while not self.stop.is_set():
            for m in c.consume(500, timeout=0.1):
                if m.error():
                    continue
                ts = m.timestamp()[1]
                v = orjson.loads(m.value())
                if m.topic() == self.s.alerts_topic:
                    self.alert_ms.setdefault(v["canonical_url"], ts)
                    continue
                raw = (v["raw"]["partition"], v["raw"]["offset"])
                if v["stage"] == "index":
                    self.final[raw] = (ts, v.get("kind") or v["status"])
                    self.final_records[raw] += 1
                elif v["status"] in ("discarded", "dead_lettered"):
                    self.final_records[raw] += 1
                    if raw not in self.final:
                        self.final[raw] = (ts, f"{v['status']}:{v['reason']}")
        c.close()


class Leaver(threading.Thread):
    """SIGTERMs ``proc`` once ``watcher`` has ``after`` final outcomes (the consumer finishes its batch, commits and
    leaves the group: the rebalance hands its partitions to the others)."""

    def __init__(self, watcher: Watcher, proc: subprocess.Popen, after: int) -> None:
        super().__init__(daemon=True)
        self.watcher, self.proc, self.after = watcher, proc, after
        self.left_at: int | None = None

    def run(self) -> None:
        while not self.watcher.stop.is_set():
            if len(self.watcher.final) >= self.after:
                self.left_at = len(self.watcher.final)
                stop_consumer(self.proc)
                return
            time.sleep(0.1)


class RssSampler(threading.Thread):
    """Peak RSS (MB) of each process tree in ``procs`` (name → pid), sampled every ``every_s``."""

    def __init__(self, procs: dict[str, int], every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.procs, self.every_s = procs, every_s
        self.peak: dict[str, float] = defaultdict(float)
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        handles = {}
        for name, pid in self.procs.items():
            try:
                handles[name] = psutil.Process(pid)
            except psutil.NoSuchProcess:
                pass
        while not self.stop.wait(self.every_s):
            for name, p in handles.items():
                try:
                    tree = [p] + p.children(recursive=True)
                    rss = 0
                    for q in tree:
                        # py-spy wraps the index consumer: count the Python process, not the sampler
                        if q.name() != "py-spy":
                            rss += q.memory_info().rss
                    self.peak[name] = max(self.peak[name], rss / 2 ** 20)
                except psutil.NoSuchProcess:
                    continue


def engine_pids() -> dict[str, int]:
    """pid of the process listening on Kafka's 9092 and Elasticsearch's 9200 (the local stack's JVMs), by name."""
    import psutil

    want = {9092: "kafka", 9200: "elasticsearch"}
    found = {}
    for c in psutil.net_connections(kind="tcp"):
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port in want and c.pid:
            found[want[c.laddr.port]] = c.pid
    return found


def cpu_seconds(pids: dict[str, int], alone: frozenset[str] = frozenset({"harness"})) -> dict[str, float]:
    """User + system CPU seconds used so far by each process tree in ``pids`` (name → pid), children included
    except for the names in ``alone`` (the harness: its children are the consumers, counted on their own);
    a process gone meanwhile counts 0."""
    import psutil

    out = {}
    for name, pid in pids.items():
        try:
            root = psutil.Process(pid)
            total = 0.0
            for q in [root] + ([] if name in alone else root.children(recursive=True)):
                if q.name() == "py-spy":  # the sampler wrapping the index consumer is not the consumer's cost
                    continue
                t = q.cpu_times()
                total += t.user + t.system
            out[name] = total
        except psutil.NoSuchProcess:
            out[name] = 0.0
    return out


def start_consumers(s: Settings, n_extract: int, n_index: int, profile_to: Path | None,
                    src: Path) -> dict[str, subprocess.Popen]:
    env = {**os.environ, **to_env(s), "PYTHONPATH": str(src)}
    env.pop("MARSAD_METRICS_PORT", None)
    procs = {}
    for k in range(n_extract):
        procs[f"extract-{k + 1}"] = subprocess.Popen([sys.executable, "-m", "marsad.cli", "consume", "extract"],
                                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for k in range(n_index):
        cmd = [sys.executable, "-m", "marsad.cli", "consume", "index"]
        if profile_to is not None and k == 0:
            pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            cmd = [pyspy, "record", "--idle", "--rate", "100", "--format", "raw", "-o", str(profile_to), "--"] + cmd
        procs[f"index-{k + 1}"] = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL)
    return procs


def stop_consumer(p: subprocess.Popen) -> None:
    """SIGTERM the consumer (it finishes its batch and leaves the group); under py-spy, SIGTERM the Python child so
    py-spy sees it exit and writes its profile."""
    import psutil

    try:
        kids = psutil.Process(p.pid).children()
        if kids and Path(p.args[0]).name == "py-spy":
            for k in kids:
                k.terminate()
            return
    except psutil.NoSuchProcess:
        return
    p.terminate()


def produce(s: Settings, pages: list[Page], prefix: str = "") -> dict[tuple[int, int], tuple[int, str]]:
    """Produce ``pages`` as raw pages; return (partition, offset) → (record timestamp ms, canonical URL)."""
    prod = clients.producer(s)
    sent: dict[tuple[int, int], tuple[int, str]] = {}
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(err)
        else:
            sent[(msg.partition(), msg.offset())] = (msg.timestamp()[1], msg.key().decode())

    for p in pages:
        url = prefix + p.url
        rp = RawPage(meta=RawPageMeta(url=url, final_url=url, canonical_url=canonical_url(url), status=200,
                                      headers={"content-type": "text/html; charset=utf-8"}, fetched_at=utcnow(),
                                      source=p.source, content_length=len(p.body)), body=p.body)
        key, value, headers = rp.to_kafka()
        while True:
            try:
                prod.produce(s.raw_pages_topic, key=key, value=value, headers=headers, on_delivery=report)
                break
            except BufferError:
                prod.poll(0.1)
        prod.poll(0)
    left = prod.flush(120)
    if left or errors:
        raise RuntimeError(f"producing raw pages: {left} unacknowledged, {len(errors)} failed: {errors[:3]}")
    return sent


def wait_final(w: Watcher, sent: dict, timeout_s: float, procs: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(k in w.final for k in sent):
            return
        dead = [n for n, p in procs.items() if p.poll() is not None]
        if dead:
            raise RuntimeError(f"consumer processes exited: {dead}")
        time.sleep(0.2)
    missing = [k for k in sent if k not in w.final]
    raise RuntimeError(f"{len(missing)} raw pages without a final outcome after {timeout_s} s")


def wait_assigned(s: Settings, members: dict[str, int], procs: dict[str, subprocess.Popen],
                  timeout_s: float = 120) -> None:
    """Wait until each consumer group in ``members`` (group → processes started) is stable with that many members,
    each holding at least one partition. A process that starts late joins while the first holds every partition
    (seen: 2 extract processes, the first held both partitions for the first 200-record batch), which measures the
    join, not the steady state. Raises ``RuntimeError`` after ``timeout_s`` seconds."""
    from confluent_kafka import ConsumerGroupState

    client = clients.admin(s)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        groups = client.describe_consumer_groups(list(members), request_timeout=10)
        ok = True
        for name, fut in groups.items():
            g = fut.result()
            assigned = [m for m in g.members if m.assignment and m.assignment.topic_partitions]
            ok &= g.state == ConsumerGroupState.STABLE and len(assigned) == members[name] == len(g.members)
        if ok:
            return
        dead = [n for n, p in procs.items() if p.poll() is not None]
        if dead:
            raise RuntimeError(f"consumer processes exited: {dead}")
        time.sleep(0.5)
    raise RuntimeError(f"consumer groups {list(members)} not stable with every member assigned after {timeout_s} s")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def run_pipeline(base: Settings, es: Es, pages: list[Page], args, profile_to: Path | None,
                 src: Path = REPO_ROOT / "src", leave: str | None = None) -> dict:
    """One pipeline run over ``pages`` with ``args.extract_consumers`` + ``args.index_consumers`` processes; returns
    the figures (keys as in the report). ``leave``: the name of one consumer process (``extract-2`` …) to stop with
    SIGTERM once half the pages have their final outcome — it leaves the group, the others take its partitions
    (the returned ``left_at`` counts the pages final by then)."""
    tag, s = bench_settings(base, args.partitions)
    procs: dict[str, subprocess.Popen] = {}
    watcher = Watcher(s)
    try:
        apply_templates(s, es)
        clients.ensure_topics(s)
        rules, problems = parse_rules_file(DEMO_RULES)
        if problems:
            raise RuntimeError(f"alerts/rules.yaml: {problems}")
        RuleStore(s, es).sync(rules + [make_rule(name="probe-kingdom", query=PROBE_RULE)])
        procs = start_consumers(s, args.extract_consumers, args.index_consumers, profile_to, src)
        watcher.start()
        watcher.ready.wait(30)
        # warm-up: imports, group joins, first ES connections
        warm = build_pages(s.corpus_dir, "minimal", 1, 2)
        wsent = produce(s, warm, prefix="https://warm.example/")
        wait_final(watcher, wsent, 180, procs)
        wait_assigned(s, {s.extract_group: args.extract_consumers, s.index_group: args.index_consumers}, procs)
        sampler = RssSampler({n: p.pid for n, p in procs.items()})
        sampler.start()
        cpu_pids = {**{n: p.pid for n, p in procs.items()}, **engine_pids(), "harness": os.getpid()}
        cpu0 = cpu_seconds(cpu_pids)
        load0 = os.getloadavg()
        t_start = time.perf_counter()
        warm_final = len(watcher.final)
        leaver = Leaver(watcher, procs[leave], warm_final + len(pages) // 2) if leave else None
        if leaver:
            leaver.start()
        sent = produce(s, pages)
        produce_s = time.perf_counter() - t_start
        wait_final(watcher, sent, args.timeout, {n: p for n, p in procs.items() if n != leave})
        wall_s = time.perf_counter() - t_start
        cpu1 = cpu_seconds(cpu_pids)
        load1 = os.getloadavg()
        sampler.stop.set()
        first_raw = min(ts for ts, _ in sent.values())
        last_final = max(watcher.final[k][0] for k in sent)
        seconds = (last_final - first_raw) / 1000
        searchable, alert = [], []
        cats = Counter()
        url_ts = {}
        for k, (ts, url) in sent.items():
            fts, cat = watcher.final[k]
            cats[cat.split(":")[0] if ":" in cat else cat] += 1
            if cat in ("story", "republication", "duplicate"):
                searchable.append((fts - ts) / 1000)
            url_ts[url] = ts
        for url, ats in watcher.alert_ms.items():
            if url in url_ts:
                alert.append((ats - url_ts[url]) / 1000)
        done = sorted(watcher.final[k][0] for k in sent)
        tenth = max(1, len(done) // 10)
        first_tenth = tenth / max(1e-3, (done[tenth - 1] - first_raw) / 1000)
        last_tenth = tenth / max(1e-3, (done[-1] - done[-tenth - 1]) / 1000) if len(done) > tenth else float("nan")
        es.request("POST", f"/{s.stories_alias}/_refresh")
        stories = es.request("GET", f"/{s.stories_alias}/_count")["count"]
        return {
            "pages": len(pages), "seconds": seconds, "pages_s": len(pages) / seconds, "produce_s": produce_s,
            "wall_s": wall_s, "categories": dict(cats), "stories": stories - 2,
            "first_tenth_pages_s": first_tenth, "last_tenth_pages_s": last_tenth,
            "searchable_p50": pct(searchable, .5), "searchable_p95": pct(searchable, .95),
            "alert_p50": pct(alert, .5), "alert_p95": pct(alert, .95), "alerts": len(alert),
            "rss_mb": dict(sampler.peak), "load": (load0, load1),
            "cpu_s": {n: cpu1[n] - cpu0.get(n, 0.0) for n in cpu1},
            "consumers": f"{args.extract_consumers} extract + {args.index_consumers} index",
            "left_at": leaver.left_at - warm_final if leaver and leaver.left_at is not None else None,
            "leaver_exit": procs[leave].wait(60) if leave else None,
            "final_records": dict(Counter(watcher.final_records[k] for k in sent)),
        }
    finally:
        watcher.stop.set()
        for p in procs.values():
            stop_consumer(p)
        for p in procs.values():
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
        drop(tag, s, es)


# ---------------------------------------------------------------------------------------------------------------
# profile of the index consumer (py-spy --format raw: "frame;frame;... count" lines, root first)

STEPS = [
    # (label, function names that must all be on a stack); the first matching row wins
    # (since the batched searches: ``_candidates_many``, one ``_msearch`` per batch; before: ``_candidates`` per text)
    ("candidate searches in race repair (after the write)", ("_repair", "_candidates")),
    ("candidate searches in race repair (after the write)", ("_repair", "_candidates_many")),
    ("race repair: folds", ("_repair",)),
    ("bulk write + refresh (wait_for before, refresh=true since)", ("_write",)),
    ("candidate searches in plan (LSH bands / lead key)", ("_candidates",)),
    ("candidate searches in plan (LSH bands / lead key)", ("_candidates_many",)),
    ("fingerprint claims (bulk create + mget)", ("_claim",)),
    ("canonical-collision check (mget)", ("_keep_canonical_collisions_apart",)),
    ("alert percolation + alerts-sent + alert publish", ("on_batch",)),
    ("plan: MinHash + decide (CPU)", ("_plan",)),
    ("Kafka: produce outputs + ledger, flush", ("emit",)),
    ("Kafka: offset commit", ("commit",)),
    ("Kafka: lag gauges (committed() round trip)", ("_update_lag",)),
    ("parse articles (JSON → Article)", ("from_json",)),
    ("Kafka: poll (incl. waiting for input)", ("_poll",)),
]


def profile_table(path: Path, articles: int, rate: int = 100) -> tuple[list[tuple[str, float, float]], list]:
    """``[(step, seconds, ms per article)]`` and the top leaf-ish functions by sampled wall time."""
    by_step: Counter = Counter()
    by_func: Counter = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if not any(f.startswith("Worker.run ") for f in frames):
            continue  # start-up (imports) and threads other than the consumer's loop
        total += n
        names = [f.split(" (")[0].strip().rsplit(".", 1)[-1] for f in frames]
        step = "other"
        for label, funcs in STEPS:
            if all(fn in names for fn in funcs):
                step = label
                break
        by_step[step] += n
        seen = set()
        for f in frames:
            key = f.strip()
            if key not in seen:
                by_func[key] += n
                seen.add(key)
    labels = list(dict.fromkeys(label for label, _ in STEPS + [("other", ())]))
    rows = [(label, by_step[label] / rate, by_step[label] / rate / max(1, articles) * 1000)
            for label in labels if by_step[label]]
    top = [(f, c / rate) for f, c in by_func.most_common(60)]
    return rows, top


# ---------------------------------------------------------------------------------------------------------------


def before_src(ref: str) -> Path:
    """``src/`` of git commit ``ref`` unpacked to a temporary folder (``git archive``), for the consumers of the
    "before" run."""
    import tarfile
    import tempfile

    dest = Path(tempfile.mkdtemp(prefix="marsad-before-"))
    data = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", ref, "src"], check=True, capture_output=True).stdout
    import io

    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="templates,minimal")
    ap.add_argument("--scale", type=int, default=1, help="repeat the day N times with distinct URLs")
    ap.add_argument("--limit", type=int, default=None, help="first N articles of the day only (smoke runs)")
    ap.add_argument("--extract-consumers", type=int, default=2)
    ap.add_argument("--index-consumers", type=int, default=1)
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--bare-procs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--profile-index", action="store_true", help="run the first index consumer under py-spy")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    ap.add_argument("--repeat", type=int, default=1, help="pipeline runs per variant (alternating)")
    ap.add_argument("--before-ref", default=None,
                    help="also run the pipeline with the consumers of this git commit (before/after in one run)")
    args = ap.parse_args()
    base = load_settings()
    es = Es(base.es_url)
    results = []
    started = datetime.now(timezone.utc)
    for wl in args.workloads.split(","):
        pages = build_pages(base.corpus_dir, wl, args.scale, args.limit)
        kib = statistics.mean(len(p.body) for p in pages) / 1024
        print(f"[{wl}] {len(pages)} pages, {kib:.0f} KiB mean; bare trafilatura …", file=sys.stderr, flush=True)
        bare = run_bare(pages, args.bare_procs)
        print(f"[{wl}] bare {bare['pages_s']:.1f} pages/s; pipeline …", file=sys.stderr, flush=True)
        variants = [("", REPO_ROOT / "src")]
        if args.before_ref:
            variants = [(f"before ({args.before_ref})", before_src(args.before_ref)), ("after (this tree)",
                                                                                      REPO_ROOT / "src")]
        entry = {"workload": wl, "pages": len(pages), "kib": kib,
                 "bare": {k: v for k, v in bare.items() if k != "per_page_ms"},
                 "bare_p50_ms": pct(bare["per_page_ms"], .5), "bare_p95_ms": pct(bare["per_page_ms"], .95),
                 "pipelines": []}
        for label, src in variants * args.repeat:  # before, after, before, after …: load drifts hit both
            prof = (Path(f"/tmp/marsad-index-profile-{wl}-{uuid.uuid4().hex[:6]}.txt") if args.profile_index
                    else None)
            pipe = run_pipeline(base, es, pages, args, prof, src)
            pipe["label"] = label
            print(f"[{wl}] pipeline {label} {pipe['pages_s']:.1f} pages/s", file=sys.stderr, flush=True)
            if prof is not None:
                time.sleep(1)
                if prof.exists():
                    articles = sum(v for k, v in pipe["categories"].items()
                                   if k in ("story", "republication", "duplicate")) + 2
                    pipe["profile"], pipe["profile_top"] = profile_table(prof, articles)
                    pipe["profile_file"] = str(prof)
            entry["pipelines"].append(pipe)
        results.append(entry)
    report = render(results, args, started)
    print(report)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    if args.write_docs:
        (REPO_ROOT / "docs" / "benchmarks-pipeline.md").write_text(report, encoding="utf-8")
    return 0


def render(results: list[dict], args, started: datetime) -> str:
    lines = [
        "# Pipeline throughput vs bare trafilatura (benchmarks/pipeline/run.py)",
        "",
        f"Written by `benchmarks/pipeline/run.py --workloads {args.workloads} --scale {args.scale}"
        f"{' --profile-index' if args.profile_index else ''}"
        f"{' --before-ref ' + args.before_ref if args.before_ref else ''}` on {started:%Y-%m-%d %H:%M} UTC. "
        f"Shared local stack (Kafka 4.4, Elasticsearch 7.10.2, one node), 2 cores shared with other engineers' "
        f"test runs: compare the ratios, measured in the same run, not the absolute figures.",
        "",
        f"*bare*: `trafilatura.extract(body, url=url)` (defaults), {args.bare_procs}-process pool. *pipeline*: "
        f"raw pages produced to the raw-pages topic ({args.partitions} partitions) while `marsad consume extract` × "
        f"{args.extract_consumers} and `marsad consume index` × {args.index_consumers} run as separate processes; "
        f"alerts on (demo rules + probe rule «{PROBE_RULE}»); seconds from the first raw record to the last raw "
        f"page's final ledger record (story searchable).",
        "",
        "| workload | pages | KiB/page | bare pages/s | pipeline pages/s | pipeline ÷ bare | raw→searchable p50 / p95 s "
        "| raw→alert p50 / p95 s (alerts) | stories | load avg start → end |",
        "|---|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for r in results:
        for p in r["pipelines"]:
            lines.append(
                f"| {r['workload']}{' ' + p['label'] if p['label'] else ''} | {r['pages']} | {r['kib']:.0f} | "
                f"{r['bare']['pages_s']:.1f} | {p['pages_s']:.1f} | **{p['pages_s'] / r['bare']['pages_s']:.2f}×** | "
                f"{p['searchable_p50']:.2f} / {p['searchable_p95']:.2f} | {p['alert_p50']:.2f} / {p['alert_p95']:.2f} "
                f"({p['alerts']}) | {p['stories']} | {p['load'][0][0]:.1f} → {p['load'][1][0]:.1f} |")
    lines += ["", "Raw→searchable and raw→alert here are latencies *under a backlog*: every page is produced within "
              "seconds and the pipeline drains them over the run, so they measure queueing (≈ half the run for the "
              "median). The latency of a page arriving alone is measured by `benchmarks/alerts/run.py` "
              "(docs/benchmarks-alerts.md). Alerts: events of the probe rule and the demo rules, one per (rule, story).",
              "", "Outcomes and peak RSS of each consumer process during the run:", ""]
    for r in results:
        for p in r["pipelines"]:
            rss = ", ".join(f"{k} {v:.0f} MB" for k, v in sorted(p["rss_mb"].items()))
            lines.append(f"* {r['workload']}{' ' + p['label'] if p['label'] else ''}: {p['categories']}; produce took "
                         f"{p['produce_s']:.1f} s of {p['wall_s']:.1f} s; bare per-page p50/p95 "
                         f"{r['bare_p50_ms']:.1f}/{r['bare_p95_ms']:.1f} ms; pages/s over the first / last tenth of "
                         f"the pages to finish {p['first_tenth_pages_s']:.1f} / {p['last_tenth_pages_s']:.1f}; "
                         f"RSS: {rss}.")
    cpu_rows = [(r, p) for r in results for p in r["pipelines"] if p.get("cpu_s")]
    if cpu_rows:
        lines += ["", "CPU per page during the run (user + system seconds of each process tree from the first raw "
                      "record produced to the last final ledger record, ÷ pages; *harness* = this script: producing "
                      "the raw pages and reading the ledger). The machine has 2 cores: at N pages/s it can spend at "
                      "most 2000 ÷ N ms per page; bare trafilatura's own CPU per page is the reference.", "",
                  "| workload | pages/s | extract (all) ms | index (all) ms | elasticsearch ms | kafka ms | harness ms "
                  "| total ms | 2 cores ÷ pages/s ms | bare trafilatura ms |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r, p in cpu_rows:
            c, n = p["cpu_s"], r["pages"]
            ext = sum(v for k, v in c.items() if k.startswith("extract")) * 1000 / n
            idx = sum(v for k, v in c.items() if k.startswith("index")) * 1000 / n
            es_ms, kf, hn = (c.get(k, float("nan")) * 1000 / n for k in ("elasticsearch", "kafka", "harness"))
            bare_cpu = r["bare"].get("cpu_ms_per_page", float("nan"))
            lines.append(f"| {r['workload']}{' ' + p['label'] if p['label'] else ''} | {p['pages_s']:.1f} | "
                         f"{ext:.2f} | {idx:.2f} | {es_ms:.2f} | {kf:.2f} | {hn:.2f} | "
                         f"**{ext + idx + es_ms + kf + hn:.2f}** | {2000 / p['pages_s']:.2f} | {bare_cpu:.2f} |")
    for r in results:
        for p in r["pipelines"]:
            if "profile" not in p:
                continue
            lines += ["", f"### Where the index consumer's time goes ({r['workload']} {p['label']}, py-spy --idle, "
                          f"wall time)", "", "| step | seconds | ms per article |", "|---|---:|---:|"]
            for label, sec, ms in p["profile"]:
                lines.append(f"| {label} | {sec:.1f} | {ms:.1f} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
