"""Fuzz run: 10,000 mutated real corpus inputs through decoding, extraction, discovery and WARC reading.

Usage: ``PYTHONPATH=src .venv/bin/python benchmarks/fuzz/run.py [--cases 10000] [--write-docs]``

Harness and mutations: :mod:`tests.quality.evaluation.fuzz` (the same as
``tests/unit/test_fuzz_mutated_corpus_inputs.py``,
which runs a small sample). Cases are split evenly over the targets; hypothesis is derandomized (fixed seed), so a
run is reproducible. Per case: the typed outcome or the escaping exception (a bug: its input is saved under
``--failures``, default a temporary directory, for a reproducer), and the wall time of the call
(``time.perf_counter``). Per run: peak RSS of the process (``resource.getrusage``, ``ru_maxrss``) and the RSS before
the first case. ``--write-docs`` writes docs/fuzz.md.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st

from marsad.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # repo root: gold sets in tests/quality/evaluation
from tests.quality.evaluation.fuzz import CONTENT_TYPES, TARGETS, Harness, mutated

REPO = Path(__file__).resolve().parents[2]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _current_rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(cases: int, failures: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="marsad-fuzz-"))
    harness = Harness(work)
    per_target = {t: cases // len(TARGETS) + (1 if i < cases % len(TARGETS) else 0) for i, t in enumerate(TARGETS)}
    outcomes: dict[str, Counter] = defaultdict(Counter)
    times: dict[str, list[float]] = defaultdict(list)
    sizes: dict[str, list[int]] = defaultdict(list)
    bugs: list[dict] = []
    rss_after: dict[str, float] = {}
    rss_before = _current_rss_mib()
    started = time.perf_counter()
    for target in TARGETS:
        @settings(max_examples=per_target[target], derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], verbosity=Verbosity.quiet,
                  suppress_health_check=list(HealthCheck))
        @given(body=mutated(target), content_type=st.sampled_from(CONTENT_TYPES))
        def one(body: bytes, content_type: str | None) -> None:
            t0 = time.perf_counter()
            try:
                outcome = harness.run(target, body, content_type)
            except Exception as exc:  # noqa: BLE001 - a bug: recorded with its input, reported below
                outcome = f"BUG {type(exc).__name__}"
                path = failures / f"{target}-{hashlib.sha256(body).hexdigest()[:16]}.bin"
                path.write_bytes(body)
                bugs.append({"target": target, "exception": type(exc).__name__, "message": str(exc)[:160],
                             "content_type": content_type, "input": str(path)})
            times[target].append(time.perf_counter() - t0)
            sizes[target].append(len(body))
            outcomes[target][outcome] += 1

        one()
        rss_after[target] = _current_rss_mib()
        print(f"{target}: {sum(outcomes[target].values())} cases, max {max(times[target]):.3f} s, "
              f"{len([b for b in bugs if b['target'] == target])} bugs", file=sys.stderr)
    harness.close()
    return {"per_target": per_target, "outcomes": outcomes, "times": times, "sizes": sizes, "bugs": bugs,
            "rss_before_mib": rss_before, "rss_after": rss_after, "peak_rss_mib": _rss_mib(), "seconds": time.perf_counter() - started}


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 20 else max(xs)


def _show(outcome: str) -> str:
    """An outcome for Markdown: control characters escaped (a reason may carry bytes of the input)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in outcome)


def _kind(outcome: str) -> str:
    """Outcome kind for the table: ``discard:no-article-text`` → ``discard``, ``decoded:utf-8`` → ``decoded``."""
    return outcome.split(":", 1)[0]


def report(r: dict, label: str) -> str:
    lines = []
    total = sum(sum(c.values()) for c in r["outcomes"].values())
    all_times = [t for ts in r["times"].values() for t in ts]
    lines += [f"### {label}", "",
              f"{total} cases in {r['seconds']:.0f} s; {len(r['bugs'])} escaped exceptions; max time per case "
              f"{max(all_times):.3f} s, p95 {_p95(all_times) * 1000:.1f} ms; RSS {r['rss_before_mib']:.0f} MiB "
              f"before the first case, peak {r['peak_rss_mib']:.0f} MiB.", "",
              "RSS after each target (MiB, in run order): "
              + ", ".join(f"{t} {m:.0f}" for t, m in r["rss_after"].items()) + ".", "",
              "| target | cases | max input | outcomes (kind: count) | p95 ms | max ms |", "|---|---|---|---|---|---|"]
    for target in TARGETS:
        kinds = Counter()
        for outcome, n in r["outcomes"][target].items():
            kinds[_kind(outcome)] += n
        lines.append(f"| {target} | {sum(r['outcomes'][target].values())} | {max(r['sizes'][target]) // 1024} KiB | "
                     + ", ".join(f"{k}: {n}" for k, n in kinds.most_common())
                     + f" | {_p95(r['times'][target]) * 1000:.1f} | {max(r['times'][target]) * 1000:.0f} |")
    lines += ["", "Reasons (top 12 per target):", ""]
    for target in TARGETS:
        top = ", ".join(f"`{_show(o)}` {n}" for o, n in r["outcomes"][target].most_common(12))
        lines.append(f"* **{target}**: {top}")
    if r["bugs"]:
        lines += ["", "Escaped exceptions (distinct by target, type and message start):", ""]
        seen = Counter((b["target"], b["exception"], b["message"][:60]) for b in r["bugs"])
        for (target, exc, msg), n in seen.most_common():
            lines.append(f"* {target}: `{exc}: {msg}` ×{n}")
    return "\n".join(lines) + "\n"


DOC_HEAD = """# Fuzzing with mutated corpus inputs

Generated by `benchmarks/fuzz/run.py --write-docs` ({when}, {machine}). Harness: `tests/quality/evaluation/fuzz.py`;
the sample in `make test` is `tests/unit/test_fuzz_mutated_corpus_inputs.py` ({sample} derandomized cases).

Inputs are real corpus files (`../shared/corpus`: 12 HTML pages incl. the undeclared windows-1256 / ISO-8859-6
ones, 4 RSS feeds, 4 news sitemaps, the 13-page WARC), mutated by hypothesis (fixed seed): bit flips, inserted
tokens (broken and bytes-to-bytes charset names in `<meta>` and `<?xml?>`, BOMs, NULs, entity declarations, 2,000
nested `<div>`, bad URLs, bad WARC headers), deletions, a slice repeated up to 200 times, truncation, splices of
two seeds; inputs up to 2 MiB; a `Content-Type` drawn from 22 real-world variants.

The contract checked: every case ends as a typed outcome — `article`, `discard:<reason>`, `error:<reason>`
(`PermanentError`: the dead-letter topic), `decoded:<encoding>`, `links` / `empty:<counted reasons>`, WARC
`pages` / `empty:skipped:<reason>` / `refused` (`ConfigError` naming the file) — and nothing else escapes. Times
are wall-clock per call on a shared 2-core machine (other test runs in parallel): they are recorded, never
asserted. The extract stage runs under its per-page limit (`page_time_limit_s`, 20 s); decoding, discovery and
WARC reading have no limit of their own, hence the max column.

"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--failures", type=Path, default=None, help="Directory for inputs that escaped (reproducers).")
    ap.add_argument("--label", default="this branch")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--append", action="store_true", help="With --write-docs: add this run's section to docs/fuzz.md.")
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # discovery logs every unreadable feed: thousands of lines here
    failures = args.failures or Path(tempfile.mkdtemp(prefix="marsad-fuzz-failures-"))
    failures.mkdir(parents=True, exist_ok=True)
    if not Settings().corpus_dir.is_dir():
        print(f"corpus not found at {Settings().corpus_dir} (set MARSAD_CORPUS_DIR)", file=sys.stderr)
        return 2
    r = run(args.cases, failures)
    text = report(r, args.label)
    print(text)
    print(f"inputs that escaped: {failures}", file=sys.stderr)
    if args.write_docs:
        doc = REPO / "docs" / "fuzz.md"
        if args.append and doc.exists():
            doc.write_text(doc.read_text() + "\n" + text)
        else:
            from tests.unit.test_fuzz_mutated_corpus_inputs import EXAMPLES

            head = DOC_HEAD.format(when=datetime.now(timezone.utc).strftime("%Y-%m-%d"),
                                   machine=f"Python {platform.python_version()}, {platform.machine()}",
                                   sample=sum(EXAMPLES.values()))
            doc.write_text(head + text)
    return 1 if r["bugs"] else 0


if __name__ == "__main__":
    sys.exit(main())
