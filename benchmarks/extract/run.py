"""Extract-stage benchmark: Marsad's stage vs plain ``trafilatura.extract`` (default settings), same pages, same run.

Usage: ``.venv/bin/python benchmarks/extract/run.py [--repeat 5] [--workload-pages 1343] [--write-docs]``

Pages: every HTML page of the corpus gold set (``tests.quality.evaluation.extraction.gold_pages``). Reports pages/s and
ms/page (median, p95) for both, the ratio (machine noise cancels: both run interleaved in one process), text F1 of
both on the full-text gold pages, and the peak RSS of one extract worker process over the corpus
(``resource.getrusage`` in a fresh subprocess). ``--write-docs`` writes docs/benchmarks-extract.md and
docs/evaluation-extraction.md.

Per-page distribution on **every HTML page of the corpus** (every ``*.html``/``*.html.gz`` file under the corpus
folder and every HTML ``response`` payload of its WARC files, byte-identical payloads counted once), and on the
pipeline benchmark's workloads (``benchmarks/pipeline/run.py``: the SaudiNewsNet day placed into the CNN Arabic and
LBC templates, and as minimal HTML; ``--workload-pages`` of each, default all 1,343): p50, p95 and max ms per page for
both extractors, one round, interleaved. The peak RSS of each consumer process *during the pipeline run* is reported
by ``benchmarks/pipeline/run.py`` (docs/benchmarks-pipeline.md).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import trafilatura

from marsad.errors import Discard
from marsad.extract.stage import extract_article
from marsad.settings import REPO_ROOT, Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # repo root: gold sets in tests/quality/evaluation
from tests.quality.evaluation.extraction import evaluate, gold_pages, markdown_table, prf

FETCHED = datetime(2026, 11, 29, tzinfo=timezone.utc)

RSS_SCRIPT = """
import resource, sys
sys.path.insert(0, sys.argv[2])  # repo root (tests.quality.evaluation)
from datetime import datetime, timezone
from pathlib import Path
from marsad.errors import Discard
from tests.quality.evaluation.extraction import gold_pages
from marsad.extract.stage import extract_article
pages = gold_pages(Path(sys.argv[1]))
for _ in range(3):
    for p in pages:
        try:
            extract_article(p.body(), p.url, fetched_at=datetime.now(timezone.utc), tz=p.tz)
        except Discard:
            pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def corpus_html_pages(corpus: Path) -> list[tuple[str, str, bytes]]:
    """``(name, url, body)`` of every HTML page in the corpus folder: ``*.html``, ``*.html.gz`` and the HTML
    ``response`` records of ``*.warc.gz``; a body byte-identical to one already listed is skipped."""
    import gzip
    import hashlib

    from warcio.archiveiterator import ArchiveIterator

    out, seen = [], set()

    def add(name: str, url: str, body: bytes) -> None:
        digest = hashlib.sha256(body).digest()
        if digest not in seen:
            seen.add(digest)
            out.append((name, url, body))

    paths = sorted(corpus.rglob("*"), key=lambda p: (p.name.endswith(".warc.gz"), str(p)))  # files before WARCs
    for path in paths:
        rel = str(path.relative_to(corpus))
        if path.name.endswith(".html"):
            add(rel, f"https://corpus.example/{rel}", path.read_bytes())
        elif path.name.endswith(".html.gz"):
            add(rel, f"https://corpus.example/{rel}", gzip.decompress(path.read_bytes()))
        elif path.name.endswith(".warc.gz"):
            with path.open("rb") as fh:
                for rec in ArchiveIterator(fh):
                    ctype = rec.http_headers.get_header("Content-Type", "") if rec.http_headers else ""
                    if rec.rec_type == "response" and "html" in ctype:
                        url = rec.rec_headers.get_header("WARC-Target-URI")
                        add(f"{rel}#{url}", url, rec.content_stream().read())
    return out


def per_page_table(sets: list[tuple[str, list[tuple[str, str, bytes]]]]) -> list[str]:
    """Marsad's stage and ``trafilatura.extract`` on every page of each set, one round, interleaved."""
    lines = ["| pages | n | extractor | ms/page p50 | p95 | max | slowest page |", "|---|---:|---|---:|---:|---:|---|"]
    for label, pages in sets:
        res = {"Marsad extract stage": [], "trafilatura.extract (defaults)": []}
        for name, url, body in pages:
            t0 = time.perf_counter()
            try:
                extract_article(body, url, fetched_at=FETCHED)
            except Discard:
                pass
            res["Marsad extract stage"].append(((time.perf_counter() - t0) * 1000, name))
            t0 = time.perf_counter()
            trafilatura.extract(body, url=url)
            res["trafilatura.extract (defaults)"].append(((time.perf_counter() - t0) * 1000, name))
        for ex, vals in res.items():
            ms = [v for v, _ in vals]
            worst = max(vals)
            lines.append(f"| {label} | {len(pages)} | {ex} | {statistics.median(ms):.1f} | {pct(ms, .95):.1f} | "
                         f"{worst[0]:.0f} | {worst[1]} |")
    return lines


def workload_pages(corpus: Path, workload: str, n: int) -> list[tuple[str, str, bytes]]:
    """The pipeline benchmark's pages (built at run time from the corpus, see benchmarks/pipeline/run.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
    from run import build_pages  # benchmarks/pipeline/run.py

    return [(p.url, p.url, p.body) for p in build_pages(corpus, workload, 1, n)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workload-pages", type=int, default=1343,
                    help="pages of each pipeline-benchmark workload in the per-page table (0: none)")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    corpus = Settings().corpus_dir
    pages = gold_pages(corpus)
    bodies = [(p, p.body()) for p in pages]
    marsad_ms: list[float] = []
    traf_ms: list[float] = []
    marsad_out: dict[str, str] = {}
    traf_out: dict[str, str] = {}
    for _ in range(args.repeat):
        for p, body in bodies:  # interleaved, so load on the shared machine hits both alike
            t0 = time.perf_counter()
            try:
                a = extract_article(body, p.url, fetched_at=FETCHED, tz=p.tz)
                marsad_out[p.name] = a.text
            except Discard:
                marsad_out[p.name] = ""
            marsad_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            traf_out[p.name] = trafilatura.extract(body, url=p.url) or ""
            traf_ms.append((time.perf_counter() - t0) * 1000)
    f1 = {}
    for p in pages:
        if p.text:
            f1[p.name] = (prf(marsad_out[p.name], p.text)[2], prf(traf_out[p.name], p.text)[2])
    rss_kb = int(subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(corpus), str(REPO_ROOT)],
                                capture_output=True, text=True,
                                check=True).stdout.strip().splitlines()[-1])
    every = corpus_html_pages(corpus)
    sets = [("every corpus HTML page", every)]
    if args.workload_pages:
        sets += [("SaudiNewsNet day in CNN/LBC templates", workload_pages(corpus, "templates", args.workload_pages)),
                 ("SaudiNewsNet day as minimal HTML", workload_pages(corpus, "minimal", args.workload_pages))]
    per_page = per_page_table(sets)
    n = len(marsad_ms)
    m_total, t_total = sum(marsad_ms) / 1000, sum(traf_ms) / 1000
    lines = [
        "# Extract benchmark",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on this machine (2 cores, shared), "
        f"{len(pages)} corpus pages × {args.repeat} rounds, interleaved. `benchmarks/extract/run.py`.",
        "",
        "| extractor | pages/s | ms/page median | ms/page p95 | mean text F1 (full-text gold) |",
        "|---|---|---|---|---|",
        f"| Marsad extract stage | {n / m_total:.1f} | {statistics.median(marsad_ms):.1f} | {pct(marsad_ms, .95):.1f} "
        f"| {statistics.mean(v[0] for v in f1.values()):.3f} |",
        f"| trafilatura.extract (defaults) | {n / t_total:.1f} | {statistics.median(traf_ms):.1f} | "
        f"{pct(traf_ms, .95):.1f} | {statistics.mean(v[1] for v in f1.values()):.3f} |",
        "",
        f"Speed ratio (trafilatura time / Marsad time, same run): **{t_total / m_total:.2f}×**.",
        f"Peak RSS of one extract process over the corpus (3 rounds): **{rss_kb / 1024:.0f} MB**.",
        "",
        "## Per page, every corpus HTML page and the pipeline workloads",
        "",
        f"One round, interleaved; {len(every)} distinct HTML pages found in the corpus folder (every `*.html`, "
        "`*.html.gz` and WARC `response` payload; byte-identical copies once). The pipeline workloads are those of "
        "`benchmarks/pipeline/run.py`; the peak RSS of each consumer process during the pipeline run is in "
        "docs/benchmarks-pipeline.md.",
        "",
        *per_page,
        "",
        "Marsad's stage does more than trafilatura's default call: charset decoding, its own date search with a",
        "signal, republication boilerplate removal, metadata (title, sitename, description, tags).",
        "",
        "| page | F1 Marsad | F1 trafilatura |",
        "|---|---|---|",
        *(f"| {k} | {a:.3f} | {b:.3f} |" for k, (a, b) in f1.items()),
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write_docs:
        (REPO_ROOT / "docs" / "benchmarks-extract.md").write_text(report, encoding="utf-8")

        def ex(p):
            try:
                return extract_article(p.body(), p.url, fetched_at=FETCHED, tz=p.tz)
            except Discard:
                return None

        table = markdown_table(evaluate(corpus, ex))
        (REPO_ROOT / "docs" / "evaluation-extraction.md").write_text(
            "# Extraction evaluation (corpus gold)\n\nWritten by `benchmarks/extract/run.py --write-docs`; the same "
            "scores are the floors of `tests/quality/test_extraction_gate.py`. P/R/F1: bag of normalised words "
            "(`tests.quality.evaluation.extraction`). ✓/✗: exact title, day, minute, must/must-not snippets, parsed "
            "attribution.\n\n" + table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
