"""Crawl reports under crashes. A report or batches file cut short (a task killed while writing; the
health DAG reading while a fetch task writes) must not take down the health view or every later fetch task."""

from __future__ import annotations

from datetime import datetime, timezone

from marsad.crawl.batches import record_batch
from marsad.crawl.health import crawl_health
from marsad.crawl.registry import Source
from marsad.settings import load_settings


def test_one_unreadable_report_marks_that_source_failed_not_the_whole_health_run(tmp_path):
    s = load_settings(crawl_state_dir=tmp_path / "crawl")
    reports = s.crawl_dir / "reports"
    reports.mkdir(parents=True)
    (reports / "crawl-broken.json").write_bytes(b'{"source": "broken", "at": "2026-11-')  # cut mid-write
    good = Source(name="good", site="https://good.example/")
    record_batch(s, "good", "run-1", 0, {"discover:polled": 1, "discover:items": 2, "discovered": 2, "fetched": 2, "published": 2})  # noqa: E501 - test data on one line
    out = crawl_health(s, [Source(name="broken", site="https://broken.example/"), good],
                       now=datetime.now(timezone.utc))
    assert out["sources"]["broken"]["status"] == "failed"
    assert "unreadable" in " ".join(out["sources"]["broken"]["reasons"])
    assert out["sources"]["good"]["status"] == "ok"


def test_a_batches_file_cut_short_does_not_fail_every_later_fetch_task(tmp_path):
    s = load_settings(crawl_state_dir=tmp_path / "crawl")
    reports = s.crawl_dir / "reports"
    reports.mkdir(parents=True)
    (reports / "batches-src.json").write_bytes(b'{"run_id": "run-1", "batches": {"0": {"fetch')  # killed mid-write
    total = record_batch(s, "src", "run-2", 0, {"fetched": 3, "published": 3})
    assert total == {"fetched": 3, "published": 3}
    assert record_batch(s, "src", "run-2", 1, {"fetched": 1, "published": 1}) == {"fetched": 4, "published": 4}


def test_reports_are_replaced_atomically(tmp_path, monkeypatch):
    """write_report wrote in place: a reader between truncate and write saw an empty or partial file."""
    from pathlib import Path

    from marsad.crawl import run

    s = load_settings(crawl_state_dir=tmp_path / "crawl")
    run.write_report(s, "src", {"fetched": 1})
    calls = []
    real = Path.write_bytes

    def spy(self, data):
        calls.append(self.name)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", spy)
    run.write_report(s, "src", {"fetched": 2})
    assert "crawl-src.json" not in calls  # written under a temporary name, then renamed
