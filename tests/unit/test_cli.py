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


def test_dedup_command_clusters_an_export(tmp_path):
    body = ("أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في العاصمة بسعة مئتي سرير ويضم أقساما للطوارئ والجراحة "
            "والأطفال، وقال الوزير في مؤتمر صحفي إن المستشفى سيخدم أكثر من نصف مليون نسمة في الأحياء الجنوبية. ")
    other = ("فاز المنتخب الوطني لكرة القدم على نظيره في مباراة ودية أقيمت مساء أمس على الملعب الدولي بحضور جماهيري "
             "كبير، وسجل أهداف اللقاء ثلاثة لاعبين من الدوري المحلي في الشوط الثاني من المباراة. ")
    rows = [
        {"id": "a", "url": "https://one.example/1", "title": "مستشفى جديد", "text": body * 2,
         "published_at": "2026-01-16T08:00:00+03:00"},
        {"id": "b", "url": "https://two.example/9", "title": "افتتاح مستشفى", "text": body * 2 + "المصدر: وكالات",
         "published_at": "2026-01-16T09:00:00+03:00"},
        {"id": "c", "url": "https://one.example/2", "title": "المنتخب يفوز", "text": other * 2},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(orjson.dumps(r).decode() for r in rows) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["dedup", str(src)])
    assert result.exit_code == 0, result.output
    out = {d["id"]: d for d in map(orjson.loads, result.stdout.strip().splitlines())}
    assert out["b"]["story_id"] == out["a"]["story_id"] == "a"
    assert out["b"]["duplicate_of"] == "a"
    assert out["c"]["story_id"] == "c" and out["c"]["duplicate_of"] is None


def test_dedup_command_reports_bad_input(tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"id": "a"}\nnot json\n', encoding="utf-8")
    result = runner.invoke(app, ["dedup", str(src)])
    assert result.exit_code == 2
    assert "bad.jsonl:1" in result.output.replace("\n", "") and "text" in result.output


@pytest.mark.parametrize(("line", "says"), [
    ('{"url": "https://a.example/1", "text": "نص"}', "missing field id"),
    ('{"url": "https://a.example/1"}', "missing fields id, text"),
    ('["a", "نص"]', "must be a JSON object"),
    ('{"id": "a", "text": "نص", "published_at": "yesterday"}', "published_at"),
])
def test_dedup_command_names_what_is_wrong_with_a_line(tmp_path, line, says):
    """One line naming the file:line and the field in the user's words — not a Python exception name."""
    src = tmp_path / "bad.jsonl"
    src.write_text(line + "\n", encoding="utf-8")
    result = runner.invoke(app, ["dedup", str(src)])
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and "bad.jsonl:1" in out and says in out, out
    assert "KeyError" not in out and "TypeError" not in out
