"""Same outputs: ``extract_article`` of this tree vs another git ref, on a fixed page set, byte for byte.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/extract/same_outputs.py [--ref main] [--limit N] [--keep DIR]

Used to prove that a speed-up of the extract stage changed no output. The reference tree is ``git archive <ref> src``
unpacked into a temporary folder; each tree runs in its own subprocess (``PYTHONPATH`` = that tree's ``src``) over the
same pages and writes one line per page: the :class:`~marsad.messages.Article` JSON (``Article.to_json``), or
``discard <reason> <detail>`` / ``permanent <reason> <detail>`` for pages that end without an article. The two
files must be byte-identical; the first differing pages are printed and the exit status is 1.

Pages (built by this tree's benchmark code in both subprocesses, so both see the same bytes):

* the pipeline benchmark's two workloads (``benchmarks/pipeline/run.py`` ``build_pages``: the SaudiNewsNet day in
  the CNN Arabic/LBC templates, and as minimal HTML; 1,343 each);
* every HTML page of the corpus (``benchmarks/extract/run.py`` ``corpus_html_pages``), with ``fetched_at`` fixed;
* the extraction gold pages with their source time zone (``tests.quality.evaluation.extraction.gold_pages``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from marsad.settings import Settings

REPO = Path(__file__).resolve().parents[2]

WORKER = r"""
import sys
from datetime import datetime, timezone
from pathlib import Path
repo, out, limit = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) or None
import importlib.util
sys.path.insert(0, str(repo))
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
pipeline = load("pipeline_run", repo / "benchmarks" / "pipeline" / "run.py")
extract_bench = load("extract_run", repo / "benchmarks" / "extract" / "run.py")
import marsad
assert str(Path(marsad.__file__).resolve()).startswith(sys.argv[4]), marsad.__file__
from marsad.errors import Discard, PermanentError
from marsad.extract.stage import extract_article
from tests.quality.evaluation.extraction import gold_pages

FETCHED = datetime(2026, 11, 29, tzinfo=timezone.utc)
corpus = Path(sys.argv[5])
pages = [("templates " + p.url, p.url, p.body, "UTC") for p in pipeline.build_pages(corpus, "templates", 1, limit)]
pages += [("minimal " + p.url, p.url, p.body, "UTC") for p in pipeline.build_pages(corpus, "minimal", 1, limit)]
pages += [("corpus " + n, u, b, "UTC") for n, u, b in extract_bench.corpus_html_pages(corpus)[:limit]]
pages += [("gold " + p.name, p.url, p.body(), p.tz) for p in gold_pages(corpus)[:limit]]
with out.open("w", encoding="utf-8") as fh:
    for name, url, body, tz in pages:
        try:
            line = extract_article(body, url, fetched_at=FETCHED, tz=tz).to_json().decode("utf-8")
        except Discard as exc:
            line = f"discard {exc.reason} {exc.detail!r}"
        except PermanentError as exc:
            line = f"permanent {exc.reason} {exc.detail!r}"
        fh.write(f"{name}\t{line}\n")
print(len(pages))
"""


def run_tree(src: Path, out: Path, limit: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(src)}
    res = subprocess.run([sys.executable, "-c", WORKER, str(REPO), str(out), str(limit), str(src.resolve()),
                          str(Settings().corpus_dir)],
                         env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"extract run over {src} failed:\n{res.stderr[-3000:]}")
    return int(res.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", default="main", help="git ref of the reference tree")
    ap.add_argument("--limit", type=int, default=0, help="first N pages of each set only (0: all)")
    ap.add_argument("--keep", type=Path, default=None, help="folder to keep both output files in")
    ap.add_argument("--reuse-ref", action="store_true",
                    help="use the reference output already in --keep (same ref, same limit) instead of rerunning it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        tar = tmpd / "ref.tar"
        subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(tar), args.ref, "src"], check=True)
        with tarfile.open(tar) as tf:
            tf.extractall(tmpd / "ref", filter="data")
        keep = args.keep or tmpd
        keep.mkdir(parents=True, exist_ok=True)
        ref_out, new_out = keep / "ref.tsv", keep / "new.tsv"
        if not (args.reuse_ref and args.keep and ref_out.exists()):
            run_tree(tmpd / "ref" / "src", ref_out, args.limit)
        n = run_tree(REPO / "src", new_out, args.limit)
        a = ref_out.read_text(encoding="utf-8").splitlines()
        b = new_out.read_text(encoding="utf-8").splitlines()
    diffs = [(x, y) for x, y in zip(a, b) if x != y]
    if len(a) != len(b):
        print(f"line counts differ: {args.ref} {len(a)}, this tree {len(b)}")
        return 1
    if diffs:
        for x, y in diffs[:5]:
            print(f"- {args.ref}: {x[:400]}\n+ this tree: {y[:400]}\n")
        print(f"{len(diffs)} of {n} pages differ")
        return 1
    kinds = {}
    for line in a:
        k = line.split("\t", 1)[1].split(" ", 1)[0] if not line.split("\t", 1)[1].startswith("{") else "article"
        kinds[k] = kinds.get(k, 0) + 1
    print(f"identical: {n} pages ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}) vs {args.ref}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
