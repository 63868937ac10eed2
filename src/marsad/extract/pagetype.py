"""Page types that are not articles, recognised by structure: listing pages (section, tag, author and search pages).

A listing page is a run of *teasers*: repeated sibling blocks, each with its own headline link to another page, an
optional short summary, time, author or category. When the summaries sit outside the links (``<h3><a>headline</a>
</h3><p>summary</p>``), trafilatura returns them as a body of short paragraphs and the link-text share alone
(:func:`marsad.extract.stage._is_link_list`) sees only the headlines — six summaries were indexed as one "article"
(seen on Arabic news sites). :func:`find_teasers` finds the teasers in the parsed page (before trafilatura prunes it)
and
:func:`teaser_share` measures how much of the extracted text they make.

Two shapes are recognised (the constants below are the whole rule; ``tests/unit/test_section_page_teaser_listings.py``
holds the cases, listings and the articles that must stay articles):

* **cards**: at least :data:`MIN_TEASERS` sibling elements of one tag among :data:`CARD_TAGS` (``<article>``,
  ``<li>``, ``<div class=card>`` …; classes may differ per card, as WordPress's ``post-5001``), or cells of the
  rows of one grid (``.row > .col-md-4``, three to a row), each holding a *headline* within its first
  :data:`HEADLINE_LEAD_CHARS` characters and at most :data:`TEASER_MAX_CHARS` of other text. The headline is a
  headline link or, on cards without one, a heading (``<h1>``–``<h6>``, 15+ characters) with a link out of prose
  to another page (``اقرأ المزيد``, a thumbnail);
* **flat runs**: at least :data:`MIN_TEASERS` headings (``<h2>``–``<h4>`` or ``<dt>`` holding a headline link, or a
  link holding a heading) among the children of one element, each followed by at most :data:`TEASER_MAX_CHARS` of
  text before the next such heading (WordPress "list" archives, ``<dl>`` lists).

A *headline link* has an ``href`` (not ``#…``, ``javascript:``, ``mailto:``), at least 15 characters of text and is
not inline in prose (its parent is not a ``<p>``/``<span>``/``<td>``… whose text does not start with the link);
a run needs :data:`MIN_TEASERS` distinct target paths.

Live blogs (decision, docs/decisions.md): a live blog is the site's own running report, so it stays an article when
its entries link to the page itself (``#entry-3``, ``?entry=3``: one target path) or when it declares itself with
schema.org ``LiveBlogPosting`` (Google's live-badge markup), even if each entry links to its own page. An undeclared
run of timestamped entries each linking to another page is a "latest news" ticker, i.e. a listing. A roundup article
made of
``<p><a>headline</a></p>`` and lead paragraphs (corpus ``fetch_util/almasryalyoum_article.html``) is neither shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from marsad.crawl.interstitial import SCAN_BYTES, cmp_vendor, consent_verdict

MIN_TEASERS = 4
"""Sibling teasers needed for a listing: a related-stories box has 3–6, a section page 8–30 (the share test below,
not this count, keeps the former an article)."""

TEASER_MAX_CHARS = 450
"""Most text (characters, besides the headline) a teaser carries: one or two summary sentences, a time, a byline.
A roundup or explainer section with full paragraphs is longer."""

HEADLINE_LEAD_CHARS = 80
"""The headline link starts within this many characters of its card (room for a category, a time, an author)."""

HEADLINE_MIN_CHARS = 15
"""Shortest headline text (characters), as the link-text test (menus and "more" links are shorter)."""

SECTION_TEASER_SHARE = 0.6
"""A page whose extracted text is at least this share of teaser text is a listing …"""

SECTION_MAX_OWN_CHARS = 400
"""… unless the text outside the teasers reaches this many characters, or holds :data:`ARTICLE_MIN_PARAGRAPHS`
paragraphs of prose: that is an article body, and the teasers are its related-stories box (kept, as trafilatura
returned them). A section intro or an author bio is one paragraph."""

ARTICLE_MIN_PARAGRAPHS = 2
PROSE_MIN_CHARS = 80
"""A paragraph of prose: a line of at least this many characters outside the teasers."""

SECTION_MIN_TEASER_LINES = 3
"""At least this many extracted lines must come from teasers."""

CARD_TAGS = frozenset({"article", "li", "div", "section", "dd", "tr"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_INLINE_PARENTS = frozenset({"p", "span", "em", "strong", "b", "i", "font", "small", "blockquote", "td", "label", "q"})
_NOT_PAGES = re.compile(r"\.(jpe?g|png|gif|webp|svg|avif|mp4|mp3|pdf)$", re.IGNORECASE)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _squash(text: str) -> str:
    """Without any whitespace: ``text_content()`` glues ``<a>headline</a><p>summary</p>`` with no space, while
    trafilatura's lines have one; containment is checked on squashed strings."""
    return "".join(text.split())


def _tag(el) -> str:
    return el.tag if isinstance(el.tag, str) else ""


@dataclass(frozen=True)
class Teasers:
    """Teaser texts of one page: ``blocks`` (whitespace-normalised text of each teaser, headline included)."""

    blocks: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.blocks)


def _headline_links(tree, page_url: str) -> dict:
    """``{<a> element: normalised text}`` for every headline link of the page (see module docstring)."""
    out = {}
    for a in tree.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        text = _norm(a.text_content())
        if len(text) < HEADLINE_MIN_CHARS:
            continue  # checked before resolving the URL: most links of a page (menus, tags) are short
        try:
            target = urlsplit(urljoin(page_url, href))
        except ValueError:
            continue
        if _NOT_PAGES.search(target.path):
            continue
        if _in_prose(a):
            continue  # a link inside a sentence of prose (a link that opens its cell or line is a headline)
        out[a] = (text, target.path)
    return out


def _page_path(a, page_url: str) -> str | None:
    """The target path of link ``a`` when it points to a page (not ``#…``, ``javascript:``, media), else ``None``."""
    href = (a.get("href") or "").strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    try:
        path = urlsplit(urljoin(page_url, href)).path
    except ValueError:
        return None
    return None if _NOT_PAGES.search(path) else path


def _in_prose(a) -> bool:
    """Is link ``a`` inside a sentence: its parent is a ``<p>``/``<span>``… whose text does not start with it?"""
    parent = a.getparent()
    return (parent is not None and _tag(parent) in _INLINE_PARENTS
            and not _norm(parent.text_content()).startswith(_norm(a.text_content())))


def _heading_texts(tree) -> dict:
    """``{heading element: normalised text}`` for every ``<h1>``–``<h6>`` of at least :data:`HEADLINE_MIN_CHARS`."""
    out = {}
    for el in tree.iter(*HEADINGS):
        text = _norm(el.text_content())
        if len(text) >= HEADLINE_MIN_CHARS:
            out[el] = text
    return out


def _card(el, heads: dict, headings: dict, page_url: str) -> tuple[str, str] | None:
    """``(card text, headline target)`` when ``el`` is a teaser card, else ``None``.

    The headline is the card's first headline link or, when it has none, its first heading whose card links to a
    page by a short link (``اقرأ المزيد``, a thumbnail): then the target is that link's."""
    first = next((heads[a] for a in el.iter("a") if a in heads), None)
    if first is None:  # only the first heading and the first page link count: found lazily (a card has many links)
        title = next((headings[h] for h in el.iter(*HEADINGS) if h in headings), None)
        if title is None:
            return None
        path = next((t for a in el.iter("a") if not _in_prose(a) and (t := _page_path(a, page_url)) is not None),
                    None)
        if path is None:
            return None
        first = (title, path)
    text = _norm(el.text_content())
    headline, target = first
    at = text.find(headline)
    if at < 0 or at > HEADLINE_LEAD_CHARS:
        return None
    if len(text) - len(headline) > TEASER_MAX_CHARS:
        return None
    return text, target


def _heading_link(el, heads: dict) -> tuple[str, str] | None:
    tag = _tag(el)
    if tag in HEADINGS or tag == "dt":
        for a in el.iter("a"):
            if a in heads:
                return heads[a]
    elif el in heads and any(_tag(d) in HEADINGS for d in el.iter()):
        return heads[el]
    return None


def find_teasers(tree, page_url: str) -> Teasers:
    """The teasers of a parsed page (an lxml tree, before trafilatura prunes it). Empty when the page has no run of
    :data:`MIN_TEASERS` teasers pointing to at least that many distinct pages."""
    if any("liveblogposting" in (s.text or "").lower() for s in tree.iter("script")
           if (s.get("type") or "").lower() == "application/ld+json"):
        return Teasers(())
    heads = _headline_links(tree, page_url)
    headings = _heading_texts(tree)
    if len(heads) + len(headings) < MIN_TEASERS:
        return Teasers(())
    blocks: list[str] = []
    parents = {id(anc): anc for el in (*heads, *headings) for anc in el.iterancestors()}  # may hold a run
    for parent in parents.values():
        children = [c for c in parent if isinstance(c.tag, str)]
        # cards: siblings of one tag (classes vary per card: WordPress "post-5001", "featured"), and the cells of
        # the rows of a grid pooled (Bootstrap ``.row > .col-md-4`` three to a row)
        cells = [g for c in children if c.tag in CARD_TAGS for g in c if isinstance(g.tag, str)]
        for pool in (children, cells):
            groups: dict[str, list] = {}
            for c in pool:
                if c.tag in CARD_TAGS:
                    groups.setdefault(c.tag, []).append(c)
            for members in groups.values():
                if len(members) < MIN_TEASERS:
                    continue
                cards = [card for m in members if (card := _card(m, heads, headings, page_url)) is not None]
                if len(cards) >= MIN_TEASERS and len({t for _, t in cards}) >= MIN_TEASERS:
                    blocks.extend(text for text, _ in cards)
        if len(children) < MIN_TEASERS:
            continue
        # flat runs: heading-with-link, then its summary siblings up to the next one
        units: list[tuple[list[str], str]] = []
        for c in children:
            hl = _heading_link(c, heads)
            if hl is not None:
                units.append(([hl[0]], hl[1]))
            elif units:
                units[-1][0].append(_norm(c.text_content()))
        units = [(parts, t) for parts, t in units if sum(len(p) for p in parts[1:]) <= TEASER_MAX_CHARS]
        if len(units) >= MIN_TEASERS and len({t for _, t in units}) >= MIN_TEASERS:
            blocks.extend(" ".join(p for p in parts if p) for parts, _ in units)
    return Teasers(tuple(blocks))


@dataclass(frozen=True)
class ListingVerdict:
    """How much of an extracted text is teasers: ``teaser_chars``, ``own_chars`` (characters of lines of at least
    15 characters), ``teaser_lines``, ``own_paragraphs`` (own lines of at least :data:`PROSE_MIN_CHARS`)."""

    teaser_chars: int
    own_chars: int
    teaser_lines: int
    own_paragraphs: int = 0

    @property
    def share(self) -> float:
        total = self.teaser_chars + self.own_chars
        return self.teaser_chars / total if total else 0.0

    @property
    def is_listing(self) -> bool:
        return (self.teaser_lines >= SECTION_MIN_TEASER_LINES and self.share >= SECTION_TEASER_SHARE
                and self.own_chars < SECTION_MAX_OWN_CHARS and self.own_paragraphs < ARTICLE_MIN_PARAGRAPHS)

    def describe(self) -> str:
        return (f"{self.teaser_lines} extracted lines are teasers of repeated sibling blocks "
                f"({self.share:.0%} of the text, {self.own_chars} chars outside them)")


def teaser_share(text: str, teasers: Teasers) -> ListingVerdict:
    """Split the extracted ``text`` (lines) into teaser text and the page's own text; lines under 15 characters
    (times, "more" buttons, bylines) are not counted either way."""
    joined = "\n".join(_squash(b) for b in teasers.blocks)
    t_chars = o_chars = t_lines = o_paras = 0
    for line in text.splitlines():
        ln = _norm(line)
        if len(ln) < HEADLINE_MIN_CHARS:
            continue
        if joined and _squash(ln) in joined:
            t_chars += len(ln)
            t_lines += 1
        else:
            o_chars += len(ln)
            o_paras += len(ln) >= PROSE_MIN_CHARS
    return ListingVerdict(t_chars, o_chars, t_lines, o_paras)


def consent_wall(text: str, html: str) -> str | None:
    """Why the page is a consent/cookie wall (a detail string naming the CMP vendor), or ``None``.

    The same verdict as the fetch side's consent rules (:func:`marsad.crawl.interstitial.consent_verdict`), on
    trafilatura's ``text`` (which keeps the CMP containers' text, the buttons and even a 68-character wall); the
    vendor is looked up in the page's markup. A wall served under the real article's og:title was
    indexed and fired an alert on the title."""
    verdict = consent_verdict(text.splitlines())
    if not verdict.is_wall:
        return None
    vendor = cmp_vendor(html[: SCAN_BYTES * 2].lower())
    return f"{vendor.vendor if vendor else 'no known CMP markup'}: {verdict.describe()}"
