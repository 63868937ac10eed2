"""Extraction quality gate on the corpus gold (a drop fails the build).

Floors: text F1 ≥ 0.95 on every Arabic page with full-text gold; 100 % of corpus dates (day, and minute where the
gold has it); every must / must-not snippet; 100 % of the seed's parts (original site, title and date; header,
disclaimers and «سياسة» tail gone; «حاملات طائرات» kept). The per-page table is in docs/evaluation-extraction.md
(written by ``benchmarks/extract/run.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from marsad.errors import Discard
from marsad.extract.stage import extract_article
from marsad.messages import utcnow
from tests.quality.evaluation.extraction import GoldPage, evaluate, markdown_table

F1_FLOOR = 0.95


def _extract(page: GoldPage):
    try:
        return extract_article(page.body(), page.url, fetched_at=utcnow(), tz=page.tz)
    except Discard:
        return None


@pytest.fixture(scope="module")
def scores(corpus: Path):
    return {s.name: s for s in evaluate(corpus, _extract)}


@pytest.fixture(scope="module")
def corpus() -> Path:
    from marsad.settings import Settings

    path = Settings().corpus_dir
    if not path.exists():
        pytest.skip(f"corpus folder {path} not present (data dependency)")
    return path


def test_report_is_printed_for_the_log(scores, capsys):
    with capsys.disabled():
        print("\n" + markdown_table(list(scores.values())))
    assert scores


def test_text_f1_floor_on_full_text_gold(scores):
    graded = {n: s.f1 for n, s in scores.items() if s.f1 is not None}
    assert len(graded) >= 5  # LBC + the four CNN copies
    low = {n: f for n, f in graded.items() if f < F1_FLOOR}
    assert not low, f"text F1 below {F1_FLOOR}: {low}"


def test_every_corpus_date_is_right(scores):
    days = {n: s.day_ok for n, s in scores.items() if s.day_ok is not None}
    assert len(days) >= 9
    assert all(days.values()), {n: scores[n].failures for n, ok in days.items() if not ok}
    minutes = {n: s.minute_ok for n, s in scores.items() if s.minute_ok is not None}
    assert minutes and all(minutes.values()), {n: scores[n].failures for n in minutes}


def test_titles_are_exact(scores):
    titles = {n: s.title_ok for n, s in scores.items() if s.title_ok is not None}
    assert titles and all(titles.values()), {n: scores[n].failures for n, ok in titles.items() if not ok}


def test_must_and_must_not_snippets(scores):
    bad = {n: s.failures for n, s in scores.items() if s.must_ok is False or s.must_not_ok is False}
    assert not bad


def test_seed_story_every_part(scores):
    seed = scores["seed"]
    assert seed.original_ok, seed.failures
    assert seed.must_ok and seed.must_not_ok and seed.day_ok and seed.title_ok, seed.failures


def test_attribution_parsed_on_every_republication(scores):
    graded = {n: s.original_ok for n, s in scores.items() if s.original_ok is not None}
    assert len(graded) >= 3  # the seed + the two youm7 aggregator copies
    assert all(graded.values()), {n: scores[n].failures for n, ok in graded.items() if not ok}
