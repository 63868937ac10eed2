"""Wall time of ONE ``airflow dags test crawl_<source>`` for a demo source, the way ``marsad demo`` runs it.

Usage: ``python benchmarks/crawl_dag/run.py [--source cnn-arabic] [--repeat 2] [--label before]``
Also the CPU seconds (user+sys) of each ``dags test`` process tree, which other load on the machine disturbs less
than wall time. Uses its own Kafka topics (``bench<uuid>.*``, deleted afterwards), its own AIRFLOW_HOME and crawl dir
under a temp dir, and the demo site on a free port. Reference measured in the same run: ``airflow dags list`` (Airflow
start-up
and DAG parsing), so the figure ``dags test / dags list`` is comparable across machines. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from marsad.demo.airflow import airflow_bin, airflow_env, migrate_airflow
from marsad.demo.server import serve
from marsad.demo.site import build_sites, write_registry
from marsad.kafka.clients import admin, ensure_topics, topic_names
from marsad.settings import load_settings, scratch_names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default=None)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    tag = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = load_settings()
        sites = build_sites(base.corpus_dir, "http://127.0.0.1:0")
        server = serve(sites, port=0)
        base_url = server.base_url
        sites = build_sites(base.corpus_dir, base_url)
        server.stop()
        port = int(base_url.rsplit(":", 1)[1])
        server = serve(sites, port=port)
        registry = tmp / "sources.yaml"
        write_registry(sites, base_url, registry)
        s = base.model_copy(update={
            "sources_file": registry, "state_dir": tmp, "crawl_state_dir": tmp / "crawl",
            "allow_private_hosts": ["127.0.0.1"], **scratch_names(tag)})  # the clean-up deletes them all
        ensure_topics(s)
        env = airflow_env(s, os.environ)
        log = tmp / "airflow.log"
        migrate_airflow(env, log)
        source = args.source or next(iter(sites))
        dag_id = "crawl_" + source.replace("-", "_")
        try:
            t = time.monotonic()
            subprocess.run([airflow_bin(), "dags", "list"], env=env, capture_output=True, check=True)
            ref = time.monotonic() - t
            runs, cpu = [], []
            for i in range(args.repeat):
                if i:  # a fresh crawl dir: every run discovers and fetches the same pages
                    import shutil
                    shutil.rmtree(tmp / "crawl", ignore_errors=True)
                t = time.monotonic()
                ru = resource.getrusage(resource.RUSAGE_CHILDREN)
                rc = subprocess.run([airflow_bin(), "dags", "test", dag_id], env=env, capture_output=True).returncode
                runs.append(round(time.monotonic() - t, 2))
                ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)  # CPU is less disturbed by other load than wall
                cpu.append(round(ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime, 2))
                if rc:
                    raise SystemExit(f"dags test failed: see {log}")
            report = json.loads((tmp / "crawl" / "reports" / f"crawl-{source}.json").read_text())
        finally:
            server.stop()
            client = admin(s)
            for f in client.delete_topics(topic_names(s), operation_timeout=30).values():
                f.result()
        print(json.dumps({"label": args.label, "source": source, "dags_test_s": runs, "dags_test_cpu_s": cpu,
                          "dags_list_s": round(ref, 2), "ratio": round(min(runs) / ref, 2),
                          "counts": report["counts"]}))


if __name__ == "__main__":
    main()
