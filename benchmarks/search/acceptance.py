"""Acceptance tables for docs: each list's query → form → matched? by Marsad search and by the stock analyzer.

Usage: ``PYTHONPATH=src .venv/bin/python benchmarks/search/acceptance.py [--write-docs]``

Same lists, documents and query path as ``tests/integration/test_search_acceptance.py``
(:mod:`tests.quality.evaluation.search_acceptance`), on per-run indices of the local Elasticsearch that are deleted
afterwards. The reference column is Elasticsearch's built-in ``arabic`` analyzer with a plain ``match``
(operator and) on the text. ``--write-docs`` writes docs/search-acceptance.md.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections import defaultdict
from pathlib import Path

from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.search import search
from marsad.settings import REPO_ROOT, Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # repo root: gold sets in tests/quality/evaluation
from tests.quality.evaluation.search_acceptance import (
    LISTS,
    VARIANTS,
    documents,
    evaluate,
    index_documents,
)


def outcomes(base: Settings):
    tag = f"bench-accept-{uuid.uuid4().hex[:8]}"
    s = base.model_copy(update={"stories_alias": f"{tag}-stories", "stories_index_prefix": f"{tag}-stories-v",
                                "fingerprints_index": f"{tag}-fingerprints"})
    es = Es(s.es_url)
    stock = f"{tag}-stock"
    try:
        apply_templates(s, es)
        index_documents(es, s.stories_alias, documents())
        es.request("PUT", f"/{stock}", {"mappings": {"properties": {
            "text": {"type": "text", "analyzer": "arabic"}, "story_id": {"type": "keyword"},
            "title": {"type": "text", "analyzer": "arabic"},
            "source": {"type": "keyword"}, "language": {"type": "keyword"}}}})
        index_documents(es, stock, documents())

        def run_marsad(lst, li):
            return {h.story_id for h in search(s, lst.query, es=es, source=f"l{li}", size=200)[1]}

        def run_stock(lst, li):
            body = {"size": 200, "query": {"bool": {
                "must": [{"match": {"text": {"query": lst.query, "operator": "and"}}}],
                "filter": [{"term": {"source": f"l{li}"}}]}}}
            return {h["_id"] for h in es.request("POST", f"/{stock}/_search", body)["hits"]["hits"]}

        return evaluate(run_marsad), evaluate(run_stock)
    finally:
        es.request("DELETE", f"/{tag}-*", ok=(404,))
        for t in (s.stories_alias, s.fingerprints_index):
            es.request("DELETE", f"/_index_template/{t}", ok=(404,))


def _cell(results: dict[str, bool], variants: tuple[str, ...]) -> str:
    if all(results[v] for v in variants):
        return "yes"
    if not any(results[v] for v in variants):
        return "no"
    return "only " + ", ".join(v for v in variants if results[v])


def markdown(marsad, stock) -> str:
    lines = [
        "# Search acceptance lists",
        "",
        "Written by `benchmarks/search/acceptance.py --write-docs`; the same lists are asserted by "
        "`tests/integration/test_search_acceptance.py` against the real Elasticsearch "
        "(`tests/quality/evaluation/search_acceptance.py`). Each form sits in a realistic sentence and is indexed in "
        f"{len(VARIANTS)} spellings: {', '.join(VARIANTS)} (tashkeel on every letter, tatweel inside the word, "
        "Arabic presentation forms, RLM + ZWNJ format marks). *Marsad* = `marsad search` on the stories template; *stock* = Elasticsearch's "
        "`arabic` analyzer with a plain `match` (operator and). ✔ = as required, ✘ = not.",
        "",
    ]
    per: dict[tuple[str, str], dict[str, dict[str, bool]]] = defaultdict(lambda: {"m": {}, "s": {}})
    expected: dict[tuple[str, str], bool] = {}
    for m, s in zip(marsad, stock):
        per[(m.query, m.form)]["m"][m.variant] = m.matched
        per[(m.query, m.form)]["s"][s.variant] = s.matched
        expected[(m.query, m.form)] = m.expected
    for lst in LISTS:
        lines += [f"## «{lst.query}»", ""]
        if lst.note:
            lines += [lst.note, ""]
        lines += ["| form | expected | Marsad | stock `arabic` |", "|---|---|---|---|"]
        for case in lst.cases:
            key = (lst.query, case.form)
            want = expected[key]
            m, s = _cell(per[key]["m"], lst.variants), _cell(per[key]["s"], lst.variants)
            ok = lambda c: "✔" if c == ("yes" if want else "no") else "✘"  # noqa: E731
            lines.append(f"| {case.form} | {'yes' if want else 'no'} | {m} {ok(m)} | {s} {ok(s)} |")
        lines.append("")
    wrong_m = sum(o.matched != o.expected for o in marsad)
    wrong_s = sum(o.matched != o.expected for o in stock)
    lines += [f"Totals over {len(marsad)} (form, spelling) documents: Marsad wrong on {wrong_m}, stock on "
              f"{wrong_s}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    text = markdown(*outcomes(Settings()))
    print(text)
    if args.write_docs:
        (REPO_ROOT / "docs" / "search-acceptance.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
