"""Fuzz: mutated real corpus inputs through charset decoding, the extract stage, feed / section / sitemap discovery
and WARC reading (harness and mutations in :mod:`tests.quality.evaluation.fuzz`).

Every outcome is typed — an article, a ``Discard`` / ``PermanentError`` with its reason, a discovery count reason, a
WARC skip reason or a ``ConfigError`` naming the file — and nothing else may escape. A small derandomized sample
(fixed seed: the same inputs on every run, so CI is reproducible); the 10,000-case run with times and memory is
``benchmarks/fuzz/run.py`` (figures in docs/fuzz.md). No time is asserted here.

A failing input is written to the test's temporary directory (path in the failure message) for a reproducer:
``Harness(work_dir).run(target, path.read_bytes(), content_type)``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")  # the dev extra; with CI=true a missing one fails (tests/conftest.py)

from hypothesis import HealthCheck, Phase, Verbosity, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.conftest import CORPUS  # noqa: E402
from tests.quality.evaluation.fuzz import CONTENT_TYPES, Harness, mutated, seeds  # noqa: E402

EXAMPLES = {"decode": 80, "extract": 50, "feed": 60, "section": 60, "sitemap": 60, "warc": 80}
"""Examples per target in ``make test`` (390 in all)."""


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} not present (data dependency)")
    h = Harness(tmp_path_factory.mktemp("fuzz"))
    yield h
    h.close()


def _check(harness: Harness, target: str, body: bytes, content_type: str | None, failures: Path) -> str:
    try:
        outcome = harness.run(target, body, content_type)
    except Exception as exc:  # noqa: BLE001 - re-raised with a reproducer, never swallowed
        path = failures / f"{target}-{hashlib.sha256(body).hexdigest()[:16]}.bin"
        path.write_bytes(body)
        raise AssertionError(f"{target}: {type(exc).__name__}: {str(exc)[:300]} — content-type {content_type!r}, "
                             f"input {len(body)} bytes saved to {path}") from exc
    assert isinstance(outcome, str) and ":" in outcome or outcome in ("article", "links", "pages", "refused"), outcome
    return outcome


def _fuzz(target: str):
    @settings(max_examples=EXAMPLES[target], derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], verbosity=Verbosity.quiet,
              suppress_health_check=list(HealthCheck))
    @given(body=mutated(target), content_type=st.sampled_from(CONTENT_TYPES))
    def run(harness: Harness, failures: Path, body: bytes, content_type: str | None) -> None:
        _check(harness, target, body, content_type, failures)

    return run


@pytest.mark.parametrize("target", sorted(EXAMPLES))
def test_mutated_corpus_inputs_end_in_a_typed_outcome(harness: Harness, tmp_path: Path, target: str) -> None:
    assert seeds({"decode": "html", "extract": "html", "section": "html"}.get(target, target)), \
        f"no corpus seeds for {target}"
    _fuzz(target)(harness, tmp_path)


def test_unmutated_seeds_give_real_outcomes(harness: Harness) -> None:
    """The harness is not vacuous: the seeds themselves give articles, links and pages."""
    assert harness.run("extract", seeds("html")[0], "text/html; charset=utf-8") == "article"
    assert harness.run("feed", seeds("feed")[0], "application/rss+xml") == "links"
    assert harness.run("warc", seeds("warc")[0], None) == "pages"
    assert harness.run("decode", seeds("html")[7], None).startswith("decoded:")  # undeclared windows-1256
