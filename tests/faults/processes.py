"""Consumers as OS processes for the fault tests: environment, start, restart, and the stories they leave.

A consumer here is ``marsad consume <stage> --until-idle`` run as a subprocess with the test's settings in its
``MARSAD_*`` environment — the same entrypoint an operator or a supervisor runs. Crash points
(:mod:`marsad.faults`) are set per process through ``MARSAD_FAULT_POINTS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from marsad.index.es import Es
from marsad.settings import Settings, to_env

MARSAD = Path(sys.executable).with_name("marsad")
SRC = Path(__file__).resolve().parents[2] / "src"


def consumer_env(settings: Settings, **extra: object) -> dict[str, str]:
    """The environment of a consumer process running ``settings`` (plus ``MARSAD_<KEY>`` for each ``extra``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSAD_")}
    env.update(to_env(settings))
    env["PYTHONPATH"] = f"{SRC}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(SRC)
    for key in ("idle_timeout_s", "batch_size", "consumer_session_timeout_s", "index_group", "articles_topic",
                "max_transient_retries", "topic_partitions"):
        env[f"MARSAD_{key.upper()}"] = str(getattr(settings, key))
    for key, value in extra.items():
        env[f"MARSAD_{key.upper()}"] = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return env


def start(settings: Settings, stage: str, log: Path, until_idle: bool = True, **extra: object) -> subprocess.Popen:
    """Start ``marsad consume <stage>`` as a process; its stdout and stderr go to ``log`` (appended)."""
    args = [str(MARSAD), "consume", stage] + (["--until-idle"] if until_idle else [])
    out = open(log, "ab")
    return subprocess.Popen(args, env=consumer_env(settings, **extra), stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_exit(proc: subprocess.Popen, log: Path, timeout_s: float = 300) -> int:
    """Wait for ``proc`` and return its exit code (``-9`` for a SIGKILL); a hang fails with the log's tail."""
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        tail = log.read_text()[-3000:]
        raise AssertionError(f"consumer did not stop within {timeout_s} s; log tail:\n{tail}") from None


def wait_reached(release: Path, n: int, procs: list[subprocess.Popen], timeout_s: float = 120) -> None:
    """Block until ``n`` processes are waiting at the barrier ``release`` (see :mod:`marsad.faults`)."""
    deadline = time.monotonic() + timeout_s
    while len(list(release.parent.glob(f"{release.name}.reached.*"))) < n:
        dead = [p.returncode for p in procs if p.poll() is not None]
        if dead:
            raise AssertionError(f"a consumer exited ({dead}) before barrier {release.name}")
        if time.monotonic() > deadline:
            raise AssertionError(f"barrier {release.name}: fewer than {n} consumers arrived")
        time.sleep(0.05)


def stories(settings: Settings) -> list[dict]:
    """Every story document (canonical URL, republications with match and similarity)."""
    es = Es(settings.es_url)
    es.request("POST", f"/{settings.stories_alias}/_refresh")
    out, after = [], None
    while True:
        body = {"size": 1000, "sort": [{"story_id": "asc"}], "query": {"match_all": {}},
                "_source": ["canonical_url", "republications.canonical_url", "republications.match",
                            "republications.similarity"]}
        if after:
            body["search_after"] = after
        hits = es.request("POST", f"/{settings.stories_alias}/_search", body)["hits"]["hits"]
        if not hits:
            return out
        out += [h["_source"] | {"_id": h["_id"]} for h in hits]
        after = hits[-1]["sort"]


def membership(docs: list[dict]) -> set[frozenset[str]]:
    """Story membership: one set of canonical URLs (the story's own and its republications') per story."""
    return {frozenset([d["canonical_url"], *(r["canonical_url"] for r in d.get("republications") or [])])
            for d in docs}


def owners(docs: list[dict]) -> list[str]:
    """The canonical URL of each story document (the article that started the story, or a fold's target owner)."""
    return [d["canonical_url"] for d in docs]


def doubled(docs: list[dict]) -> dict[str, int]:
    """Canonical URLs listed in more than one story (as owner or republication), with their count."""
    seen: dict[str, int] = {}
    for m in (frozenset([d["canonical_url"], *(r["canonical_url"] for r in d.get("republications") or [])])
              for d in docs):
        for url in m:
            seen[url] = seen.get(url, 0) + 1
    return {u: n for u, n in seen.items() if n > 1}
