"""The `marsad` command surface (contract in ../shared/DESIGN.md) without services."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from marsad.cli import app

runner = CliRunner()


@pytest.mark.parametrize("args", [["stack", "--help"], ["templates", "--help"], ["crawl", "--help"],
                                  ["ingest-warc", "--help"], ["consume", "--help"], ["extract", "--help"],
                                  ["search", "--help"], ["demo", "--help"]])
def test_contract_commands_exist(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def test_extract_prints_article_json(corpus):
    path = corpus / "fundus" / "LBCGroup_2026_01_08.html"
    result = runner.invoke(app, ["extract", str(path), "--url", "https://www.lbcgroup.tv/news/1/x/ar",
                                 "--fetched-at", "2026-01-08T12:00:00+00:00", "--tz", "Asia/Beirut"])
    assert result.exit_code == 0, result.output
    art = orjson.loads(result.stdout.strip().splitlines()[-1])
    for key in ("url", "canonical_url", "title", "text", "published_at", "language", "sitename", "original",
                "content_hash"):
        assert key in art
    assert art["language"] == "ar"
    assert art["published_at"] in ("2026-01-08T11:42:50Z", "2026-01-08T11:42:50+00:00")


def test_extract_of_a_feed_is_a_clear_error(corpus, tmp_path):
    feed = sorted((corpus / "derived" / "feeds").glob("*.rss.xml"))[0]
    result = runner.invoke(app, ["extract", str(feed), "--url", "https://example.com/feed"])
    assert result.exit_code == 1
    assert "feed-not-article" in result.output


def test_unknown_consume_stage_is_usage_error():
    result = runner.invoke(app, ["consume", "bogus"])
    assert result.exit_code == 2
    assert "unknown stage" in result.output
