"""``marsad dedup`` (the offline :class:`~marsad.dedup.stories.Clusterer`) and the pipeline's index stage give the
same stories — the same members, not only the same count — on the SaudiNewsNet day 2015-08-03 (1,343 articles, file
order, one partition and one index consumer so the order is fixed). Both use the one story rule
(:func:`marsad.dedup.stories.best_story`)."""

from __future__ import annotations

import json

import pytest

from marsad.dedup.stories import dedup_jsonl
from marsad.dedup.urls import canonical_url
from marsad.extract.boilerplate import clean_body, clean_title

from .story_paths import Doc, offline_stories, pipeline_stories

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]


def _day(corpus) -> tuple[list[dict], list[Doc]]:
    rows = json.loads((corpus / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))
    docs = []
    for i, row in enumerate(rows):
        text, attribution = clean_body(row["content"], clean_title(row["title"]) if row["title"] else None)
        docs.append(Doc(f"2015-08-03.json#{i}", row["url"], text, row["source"], row["title"],
                        attribution_site=attribution.original_site))
    return rows, docs


def test_saudinewsnet_day_same_stories_offline_and_in_the_pipeline(names, corpus, tmp_path, capsys):
    rows, docs = _day(corpus)
    # what `marsad dedup` writes, from the raw export (it cleans the bodies itself)
    src, out = tmp_path / "day.jsonl", tmp_path / "stories.jsonl"
    src.write_text("".join(json.dumps({"id": d.id, "url": r["url"], "title": r["title"], "text": r["content"]},
                                      ensure_ascii=False) + "\n" for d, r in zip(docs, rows)), encoding="utf-8")
    assert dedup_jsonl(src, out) == len(rows)
    url_of = {d.id: canonical_url(d.url) for d in docs}
    by_story: dict[str, set[str]] = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        a = json.loads(line)
        by_story.setdefault(a["story_id"], set()).add(url_of[a["id"]])
    command = {frozenset(v) for v in by_story.values()}

    offline = offline_stories(docs)
    pipeline = pipeline_stories(names, docs)
    with capsys.disabled():
        print(f"\nSaudiNewsNet 2015-08-03: {len(docs)} articles; marsad dedup {len(command)} stories, Clusterer "
              f"{len(offline)}, pipeline {len(pipeline)}; stories only offline {len(offline - pipeline)}, only in "
              f"the pipeline {len(pipeline - offline)}")
    assert command == offline  # the command is the clusterer (source = URL host, a 1:1 map here)
    assert sorted(map(sorted, offline - pipeline)) == sorted(map(sorted, pipeline - offline)) == []
    assert len(pipeline) < len(docs)  # the day has real republications
