"""Unit tests of crawl batching and crawl health (reports → statuses)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from marsad.crawl.batches import plan_batches
from marsad.crawl.health import assess, crawl_health, health_path
from marsad.crawl.registry import Source
from marsad.settings import load_settings

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
SRC = Source(name="s", site="https://s.example/")


@pytest.mark.parametrize("n,bs,sizes", [
    (0, 50, [0]), (1, 50, [1]), (6, 50, [6]), (50, 50, [50]), (51, 50, [26, 25]), (101, 50, [34, 34, 33]),
    (10, 3, [3, 3, 2, 2]), (5, 1, [1, 1, 1, 1, 1]),
])
def test_plan_batches(n, bs, sizes):
    urls = [f"u{i}" for i in range(n)]
    batches = plan_batches(urls, bs)
    assert [len(b) for b in batches] == sizes
    assert [u for b in batches for u in b] == urls
    with pytest.raises(ValueError):
        plan_batches(urls, 0)


def report(hours_ago: float = 1, **counts) -> dict:
    return {"source": "s", "at": (NOW - timedelta(hours=hours_ago)).isoformat(), "counts": counts}


@pytest.mark.parametrize("rep,status", [
    (None, "failed"),
    (report(30, **{"discover:polled": 1, "published": 3}), "failed"),                         # stale
    (report(**{"discover:http-503": 2}), "failed"),                                           # every feed failed
    (report(**{"discover:refused:private-address": 1, "discover:xml-entities": 1}), "failed"),
    (report(**{"discover:polled": 1, "discover:items": 4, "discovered": 4, "refused:robots-disallowed": 4}),
     "failed"),
    (report(**{"discover:polled": 1, "discover:items": 2, "discovered": 2, "refused:interstitial:cloudflare": 2,
               "interstitial:cloudflare": 2}), "interstitials-only"),   # as the fetch side counts them
    (report(**{"discover:polled": 1, "discover:items": 2, "discovered": 2, "refused:interstitial:consent": 1,
               "interstitial:consent": 1, "refused:timeout": 1}), "failed"),
    (report(**{"discover:polled": 1, "discover:items": 0}), "empty"),
    (report(), "empty"),
    (report(**{"discover:not-modified": 2}), "ok"),                                            # nothing new: fine
    (report(**{"discover:polled": 1, "discover:items": 5, "discover:already-seen": 5}), "ok"),
    (report(**{"discover:polled": 1, "discover:items": 2, "discovered": 2, "fetched": 2, "published": 1,
               "interstitial:consent": 1, "discover:http-404": 1}), "ok"),
])
def test_assess(rep, status):
    h = assess(SRC, rep, NOW, stale_h=26)
    assert h.status == status, h
    assert status == "ok" or h.reasons  # every non-ok status says why


def test_crawl_health_writes_json_for_enabled_sources(tmp_path):
    s = load_settings(crawl_state_dir=tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "crawl-good.json").write_bytes(orjson.dumps(report(**{"discover:polled": 1,
                                                                                   "discover:items": 1})))
    sources = [Source(name="good", site="https://g.example/"), Source(name="missing", site="https://m.example/"),
               Source(name="off", site="https://o.example/", enabled=False)]
    out = crawl_health(s, sources, now=NOW)
    assert out["summary"]["ok"] == ["good"] and out["summary"]["failed"] == ["missing"]
    assert "off" not in out["sources"]
    assert orjson.loads(health_path(s).read_bytes()) == out


def test_crawl_health_command_exits_1_when_a_source_failed(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from marsad.cli import app

    registry = tmp_path / "sources.yaml"
    registry.write_text("sources:\n  - name: good\n    site: https://g.example/\n"
                        "  - name: never-ran\n    site: https://n.example/\n")
    (tmp_path / "crawl" / "reports").mkdir(parents=True)
    fresh = {"source": "good", "at": datetime.now(timezone.utc).isoformat(),
             "counts": {"discover:polled": 1, "discover:items": 3, "discovered": 3, "fetched": 3, "published": 3}}
    (tmp_path / "crawl" / "reports" / "crawl-good.json").write_bytes(orjson.dumps(fresh))
    monkeypatch.setenv("MARSAD_SOURCES_FILE", str(registry))
    monkeypatch.setenv("MARSAD_CRAWL_STATE_DIR", str(tmp_path / "crawl"))
    result = CliRunner().invoke(app, ["crawl-health"])
    assert result.exit_code == 1, result.output
    assert "never-ran" in result.output and "failed" in result.output
    out = orjson.loads((tmp_path / "crawl" / "reports" / "health.json").read_bytes())
    assert out["summary"]["ok"] == ["good"] and out["summary"]["failed"] == ["never-ran"]


def test_record_batch_sums_batches_of_one_run_and_is_idempotent(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from marsad.crawl.batches import record_batch

    s = load_settings(crawl_state_dir=tmp_path)
    report_path = tmp_path / "reports" / "crawl-s.json"
    with ThreadPoolExecutor(4) as pool:  # mapped tasks finish concurrently
        list(pool.map(lambda i: record_batch(s, "s", "run-1", i, {"fetched": 2, "published": 2}), range(8)))
    assert orjson.loads(report_path.read_bytes())["counts"] == {"fetched": 16, "published": 16}
    record_batch(s, "s", "run-1", 3, {"fetched": 2, "published": 1})  # batch 3 retried: replaces its entry
    assert orjson.loads(report_path.read_bytes())["counts"] == {"fetched": 16, "published": 15}
    assert record_batch(s, "s", "run-2", 0, {"fetched": 1}) == {"fetched": 1}  # a new run starts over
    assert orjson.loads(report_path.read_bytes())["counts"] == {"fetched": 1}


def test_consent_walls_are_counted_per_source_with_their_vendor_rules():
    """A source whose pages are partly consent walls is still ok, but says how many and whose CMP.
    Expected written before the code: interstitials == {"consent": 3, "challenge": 1} and reasons naming
    onetrust-consent-wall: 2 and consent-wording-wall: 1."""
    rep = report(**{"discover:polled": 1, "discover:items": 6, "discovered": 6, "fetched": 2, "published": 2,
                    "refused:interstitial:consent": 3, "interstitial:consent": 3,
                    "interstitial-rule:onetrust-consent-wall": 2, "interstitial-rule:consent-wording-wall": 1,
                    "refused:interstitial:challenge": 1, "interstitial:challenge": 1,
                    "interstitial-rule:cloudflare-challenge": 1})
    h = assess(SRC, rep, NOW, stale_h=26)
    assert h.status == "ok"
    assert h.interstitials == {"consent": 3, "challenge": 1}
    assert "3 consent walls (consent-wording-wall: 1, onetrust-consent-wall: 2)" in h.reasons
    assert "1 bot challenges (cloudflare-challenge: 1)" in h.reasons
    only = assess(SRC, report(**{"discover:polled": 1, "discover:items": 1, "discovered": 1,
                                 "refused:interstitial:consent": 1, "interstitial:consent": 1,
                                 "interstitial-rule:didomi-consent-wall": 1}), NOW, stale_h=26)
    assert only.status == "interstitials-only" and "1 consent walls (didomi-consent-wall: 1)" in only.reasons
