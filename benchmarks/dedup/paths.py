"""Offline clustering vs the pipeline on the dedup gate's documents: story counts and differing stories per group.

Each group of the gate's evaluation set (:func:`tests.quality.evaluation.dedup.load_eval_set`: ``snn``, ``ant``,
``html``) is fed in publication order (undated last, then id — the order of
:func:`~tests.quality.evaluation.dedup.cluster_assignments`) to the offline :class:`~marsad.dedup.stories.Clusterer`
and to the index stage (one partition, one consumer, its own indices on the running stack); stories are compared as
sets of canonical URLs. Needs the local Kafka + Elasticsearch (``marsad stack up``) and the corpus.

    PYTHONPATH=src python benchmarks/dedup/paths.py
"""

from __future__ import annotations

import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # repo root: tests/ helpers
from marsad.settings import Settings  # noqa: E402
from tests.integration.story_paths import Doc, offline_stories, pipeline_stories  # noqa: E402
from tests.quality.evaluation.dedup import load_eval_set  # noqa: E402


def main() -> int:
    base = Settings()
    tag = f"bench{uuid.uuid4().hex[:8]}"
    settings = base.model_copy(update={"articles_topic": f"{tag}.articles.v1", "dead_letter_topic": f"{tag}.dlq.v1",
                                       "outcomes_topic": f"{tag}.outcomes.v1", "index_group": f"{tag}.index",
                                       "stories_alias": f"{tag}-stories", "fingerprints_index": f"{tag}-fingerprints",
                                       "idle_timeout_s": 2.0})
    es_set = load_eval_set(base.corpus_dir)
    far = datetime.max.replace(tzinfo=timezone.utc)
    groups: dict[str, list] = {}
    for d in es_set.docs.values():
        groups.setdefault(d.group, []).append(d)
    total = [0, 0, 0, 0]
    for name, evdocs in sorted(groups.items()):
        docs = [Doc(d.id, d.url, d.text, d.source or (urlsplit(d.url).hostname or "unknown"), d.title, d.published_at,
                    d.attribution_site)
                for d in sorted(evdocs, key=lambda d: (d.published_at or far, d.id))]
        offline = offline_stories(docs)
        pipeline = pipeline_stories(settings, docs, label=name)
        urls = len({u for s in offline for u in s})
        print(f"{name}: {len(docs)} documents ({urls} canonical URLs); offline {len(offline)} stories, pipeline "
              f"{len(pipeline)}; only offline {len(offline - pipeline)}, only pipeline {len(pipeline - offline)}")
        for s in sorted(map(sorted, offline - pipeline))[:5]:
            print("   offline:", s)
        for s in sorted(map(sorted, pipeline - offline))[:5]:
            print("  pipeline:", s)
        total = [total[0] + len(docs), total[1] + len(offline), total[2] + len(pipeline),
                 total[3] + len(offline ^ pipeline)]
    print(f"all: {total[0]} documents; offline {total[1]} stories, pipeline {total[2]}; differing {total[3]}")
    from marsad.kafka.clients import admin

    topics = [f"{settings.articles_topic}.{g}" for g in groups] + [settings.dead_letter_topic, settings.outcomes_topic]
    admin(settings).delete_topics(topics, operation_timeout=30)
    return 0 if total[3] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
