"""Listing pages (section, tag, author, search) whose teasers sit OUTSIDE the links are discarded as
``section-page``; articles with related cards, galleries, live blogs and every corpus article stay articles.

The expected outcome of each case was written down before the detector existed: every page in
``LISTINGS`` must raise ``Discard("section-page")``; every page in ``ARTICLES`` must come out as an article whose text
holds its own body (``must``). Before the structural detector, every ``LISTINGS`` case came out as one "article"
made of the summaries (the link-text test only sees the headlines, which are a minority of the lines).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from marsad.errors import Discard
from marsad.extract.stage import extract_article

FETCHED = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
CORPUS = Path("/work/shared/corpus")

# six realistic Arabic teasers: headline, one-sentence summary (the summary is NOT inside the link)
AR = [
    ("الحكومة تقر موازنة العام المقبل بعجز أقل من المتوقع",
     "أقر مجلس الوزراء مشروع الموازنة العامة للعام المقبل بعد نقاش استمر ثلاث جلسات، مع خفض العجز إلى أربعة في المئة."),
    ("ارتفاع أسعار الذهب في الأسواق المحلية للأسبوع الثالث",
     "واصلت أسعار الذهب صعودها في الأسواق المحلية مدفوعة بارتفاع الأونصة عالميا وتراجع سعر صرف العملة المحلية."),
    ("وزير الخارجية يبحث مع نظيره الفرنسي ملف اللاجئين",
     "بحث وزير الخارجية في اتصال هاتفي مع نظيره الفرنسي عودة اللاجئين والمساعدات الإنسانية المقدمة للمخيمات."),
    ("انطلاق امتحانات الثانوية العامة وسط إجراءات مشددة",
     "انطلقت صباح اليوم امتحانات الثانوية العامة في جميع المحافظات بمشاركة أكثر من ستمئة ألف طالب وطالبة."),
    ("المنتخب الوطني يستعد لمواجهة حاسمة في التصفيات",
     "يخوض المنتخب الوطني معسكرا مغلقا استعدادا لمواجهة حاسمة في التصفيات المؤهلة إلى نهائيات كأس العالم."),
    ("افتتاح معرض الكتاب الدولي بمشاركة خمسمئة دار نشر",
     "افتتح معرض الكتاب الدولي أبوابه أمام الزوار بمشاركة خمسمئة دار نشر عربية وأجنبية وبرنامج ثقافي واسع."),
    ("هيئة الأرصاد تحذر من موجة حر تضرب البلاد غدا",
     "حذرت هيئة الأرصاد الجوية من موجة حر تبدأ غدا وتستمر حتى نهاية الأسبوع مع درجات حرارة تتجاوز الأربعين."),
    ("البنك المركزي يثبت أسعار الفائدة للمرة الرابعة",
     "قرر البنك المركزي تثبيت أسعار الفائدة للمرة الرابعة على التوالي في ظل تباطؤ معدلات التضخم خلال الربع الأخير."),
]
EN = [
    ("Parliament passes the new budget after a long night session",
     "Lawmakers approved the budget by a narrow margin after amendments on fuel subsidies were dropped late on Tuesday."),  # noqa: E501 - test data on one line
    ("Gold prices climb for a third week on local markets",
     "Local gold prices rose again, driven by the global ounce and a weaker currency, traders in the capital said."),
    ("Foreign minister discusses refugee returns with his French counterpart",
     "The two ministers spoke by phone about returns, humanitarian aid to the camps and a donor conference in spring."),
    ("Secondary school exams begin under tight security",
     "More than six hundred thousand students sat the first paper this morning in every province of the country."),
    ("National team prepares for a decisive qualifier",
     "The squad began a closed training camp ahead of the decisive World Cup qualifier against its neighbours."),
    ("International book fair opens with five hundred publishers",
     "The fair opened its doors to visitors with five hundred Arab and foreign publishers and a broad programme."),
]


def page(body: str, title: str = "أخبار سياسية | الموقع", lang: str = "ar", head: str = "") -> bytes:
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
            f'<body><header><nav><a href="/">الرئيسية</a> <a href="/politics/">سياسة</a></nav></header>'
            f"{body}<footer><p>جميع الحقوق محفوظة 2026</p></footer></body></html>").encode()


def href(i: int) -> str:
    return f"/news/2026/01/0{i % 9 + 1}/story-{1000 + i}"


def article_cards(items, lang="ar") -> str:
    cards = "".join(f'<article class="post"><h2 class="post-title"><a href="{href(i)}">{h}</a></h2>'
                    f'<p class="excerpt">{s}</p></article>' for i, (h, s) in enumerate(items))
    return f'<main><h1>{"أخبار سياسية" if lang == "ar" else "Politics"}</h1>{cards}</main>'


def li_cards() -> str:
    lis = "".join(f'<li class="news-item"><a href="{href(i)}" class="thumb"><img src="/i/{i}.jpg" alt=""></a>'
                  f'<a href="{href(i)}" class="title">{h}</a><p>{s}</p><span class="ago">منذ {i + 1} ساعات</span></li>'
                  for i, (h, s) in enumerate(AR))
    return f'<div class="section"><h1>اقتصاد</h1><ul class="news-list">{lis}</ul></div>'


def div_card_grid() -> str:
    cards = "".join(f'<div class="col-md-4"><div class="card"><img class="card-img-top" src="/i/{i}.jpg">'
                    f'<div class="card-body"><h3 class="card-title"><a href="{href(i)}">{h}</a></h3>'
                    f'<p class="card-text">{s}</p></div></div></div>' for i, (h, s) in enumerate(AR[:6]))
    return f'<div class="container"><h1>منوعات</h1><div class="row">{cards}</div></div>'


def time_cards() -> str:
    cards = "".join(f'<article class="teaser"><time datetime="2026-01-0{i + 1}T09:00:00+03:00">0{i + 1} يناير 2026'
                    f'</time><h3><a href="{href(i)}">{h}</a></h3><p>{s}</p></article>'
                    for i, (h, s) in enumerate(AR[:6]))
    return f'<section class="latest"><h2>آخر الأخبار</h2>{cards}</section>'


def flat_h3_p() -> str:
    """No wrapper per card: h3>a then p, as siblings of one container (WordPress 'list' archive themes)."""
    items = "".join(f'<h3><a href="{href(i)}">{h}</a></h3><p>{s}</p>' for i, (h, s) in enumerate(AR[:6]))
    return f'<div id="content"><h1>محليات</h1>{items}</div>'


def tag_archive() -> str:
    items = "".join(f'<div class="item"><div class="meta"><a href="/tag/oil">نفط</a></div>'
                    f'<h2><a href="{href(i)}">{h}</a></h2><div class="summary">{s}</div></div>'
                    for i, (h, s) in enumerate(AR[:6]))
    return (f'<div class="archive"><h1>وسم: النفط</h1><p>كل ما نشر عن النفط في الموقع.</p>'
            f'<div class="tag-results">{items}</div><div class="pagination"><a href="?page=2">التالي</a></div></div>')


def author_archive() -> str:
    items = "".join(f'<article class="author-post"><a href="{href(i)}"><h3>{h}</h3></a><p>{s}</p>'
                    f'<span class="by">بقلم سمير خليل</span></article>' for i, (h, s) in enumerate(AR[:7]))
    return (f'<div class="author-page"><h1>سمير خليل</h1><p class="bio">كاتب صحفي متخصص في الشؤون الاقتصادية، عمل '
            f'في عدة صحف عربية منذ عام 2005.</p><div class="posts">{items}</div></div>')


def search_results() -> str:
    items = "".join(f'<li class="result"><a href="{href(i)}"><h3>{h}</h3></a><p class="snippet">{s}</p>'
                    f'<cite>example.com{href(i)}</cite></li>' for i, (h, s) in enumerate(AR[:6]))
    return (f'<div class="search"><h1>نتائج البحث عن: الموازنة</h1><p>عثرنا على 124 نتيجة</p>'
            f'<ol class="results">{items}</ol></div>')


def live_blog_entry_pages(declared: bool) -> bytes:
    """Each entry's headline links to the entry's own page; ``declared``: schema.org LiveBlogPosting in JSON-LD."""
    entries = "".join(
        f'<div class="live-entry"><time datetime="2026-01-09T1{i}:05:00+03:00">1{i}:05</time>'
        f'<h3><a href="/live/budget-session/entry-{i}">{h}</a></h3><p>{s}</p></div>' for i, (h, s) in enumerate(AR))
    head = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "LiveBlogPosting", '
            '"headline": "مباشر: جلسة الموازنة"}</script>') if declared else ""
    return page(f'<main><h1>مباشر: جلسة الموازنة</h1><div class="entries">{entries}</div></main>',
                title="مباشر: جلسة الموازنة", head=head)


def wordpress_post_classes() -> str:
    """Each card's class names its own post id (WordPress ``post_class()``): no two siblings share a class."""
    cards = "".join(f'<article id="post-{5000 + i}" class="post-{5000 + i} post type-post status-publish hentry">'
                    f'<header><h2 class="entry-title"><a href="{href(i)}">{h}</a></h2></header>'
                    f'<div class="entry-summary"><p>{s}</p></div></article>' for i, (h, s) in enumerate(AR))
    return f'<main id="main"><h1>أخبار</h1>{cards}</main>'


def grid_rows_of_three() -> str:
    """Bootstrap grid: three cards per ``.row``, three rows; no parent holds four cards."""
    rows = "".join('<div class="row">' + "".join(
        f'<div class="col-md-4"><div class="card-body"><h3><a href="{href(3 * r + i)}">{AR[(3 * r + i) % 8][0]}</a>'
        f'</h3><p>{AR[(3 * r + i) % 8][1]}</p></div></div>' for i in range(3)) + "</div>" for r in range(3))
    return f'<div class="container"><h1>منوعات</h1>{rows}</div>'


def read_more_links() -> str:
    """The headline is a heading, not a link; each card links to its story by a short «اقرأ المزيد»."""
    cards = "".join(f'<div class="item"><h3>{h}</h3><p>{s}</p><a href="{href(i)}">اقرأ المزيد</a></div>'
                    for i, (h, s) in enumerate(AR))
    return f'<div class="list"><h1>محليات</h1>{cards}</div>'


def thumbnail_links() -> str:
    """Only the thumbnail is a link (headline in its ``title``/``alt``); the headline text is an ``<h4>``."""
    cards = "".join(f'<li class="it"><a href="{href(i)}" title="{h}"><img src="/i/{i}.jpg" alt="{h}"></a>'
                    f'<h4>{h}</h4><p>{s}</p></li>' for i, (h, s) in enumerate(AR))
    return f'<ul class="l">{cards}</ul>'


def definition_list() -> str:
    items = "".join(f'<dt><a href="{href(i)}">{h}</a></dt><dd>{s}</dd>' for i, (h, s) in enumerate(AR))
    return f'<dl class="news">{items}</dl>'


def table_rows() -> str:
    """Old CMS tables: headline link then ``<br>`` and the summary in one cell."""
    rows = "".join(f'<tr><td><a href="{href(i)}">{h}</a><br>{s}</td></tr>' for i, (h, s) in enumerate(AR))
    return f'<table class="news">{rows}</table>'


LISTINGS = {
    "ar-article-cards": page(article_cards(AR)),
    "ar-li-cards": page(li_cards()),
    "ar-div-card-grid": page(div_card_grid()),
    "ar-cards-with-time": page(time_cards()),
    "ar-flat-h3-a-p": page(flat_h3_p()),
    "ar-tag-archive": page(tag_archive(), title="وسم النفط | الموقع"),
    "ar-author-archive": page(author_archive(), title="سمير خليل | الموقع"),
    "ar-search-results": page(search_results(), title="نتائج البحث عن الموازنة"),
    "en-article-cards": page(article_cards(EN, "en"), title="Politics | Site", lang="en"),
    # the same entries without the LiveBlogPosting declaration: a "latest news" ticker, i.e. a listing
    "ar-undeclared-ticker-entry-pages": live_blog_entry_pages(declared=False),
    "ar-og-title-article-cards": page(article_cards(AR), head='<meta property="og:type" content="article">'
                                      '<meta property="og:title" content="أخبار سياسية">'),
    # variations found after the first fix (each came out as an article before)
    "ar-wordpress-post-classes": page(wordpress_post_classes()),
    "ar-grid-rows-of-three": page(grid_rows_of_three()),
    "ar-read-more-links": page(read_more_links()),
    "ar-thumbnail-links": page(thumbnail_links()),
    "ar-definition-list": page(definition_list()),
    "ar-table-rows": page(table_rows()),
}


@pytest.mark.parametrize("name", LISTINGS)
def test_listing_page_is_discarded_as_section_page(name):
    with pytest.raises(Discard) as exc:
        extract_article(LISTINGS[name], "https://example.com/politics/", fetched_at=FETCHED)
    assert exc.value.reason == "section-page", exc.value


# ------------------------------------------------------------------------------------------------ must stay articles
BODY = [
    "أعلن وزير المالية في مؤتمر صحفي عقده ظهر اليوم أن الحكومة ستطرح سندات جديدة بقيمة ملياري دولار خلال الربع "
    "الأول من العام المقبل، في خطوة تهدف إلى سد جزء من العجز المتوقع في الموازنة.",
    "وقال الوزير إن الطرح سيتم على ثلاث شرائح، الأولى في يناير والثانية في فبراير والثالثة في مارس، مضيفا أن "
    "الإقبال المتوقع من المستثمرين المحليين والأجانب يبعث على التفاؤل رغم الظروف الاقتصادية الصعبة.",
    "وأوضح أن العائد على السندات سيحدد وفق آلية المزاد، وأن البنك المركزي سيتولى إدارة عملية الطرح بالتنسيق مع "
    "وزارة المالية، على أن تعلن النتائج في نهاية كل شهر.",
    "من جهته، رأى الخبير الاقتصادي أحمد سليم أن الخطوة ضرورية في المرحلة الحالية، لكنه حذر من تزايد أعباء خدمة "
    "الدين العام التي باتت تستهلك نحو ثلث الإيرادات السنوية للدولة.",
]
ART_TITLE = "الحكومة تطرح سندات بملياري دولار لسد عجز الموازنة"


def article_page(extra: str, body: list[str] = BODY, h1: str = ART_TITLE, inside: str = "") -> bytes:
    """``extra`` follows the ``<article>`` element; ``inside`` follows the body inside it (trafilatura keeps it)."""
    paras = "".join(f"<p>{p}</p>" for p in body)
    return page(f'<main><article class="story"><h1>{h1}</h1><time datetime="2026-01-09T10:00:00+03:00">9 يناير 2026'
                f'</time><div class="story-body">{paras}</div>{inside}</article>{extra}</main>', title=ART_TITLE,
                head=f'<meta property="og:title" content="{ART_TITLE}"><meta property="og:type" content="article">')


def related_cards(n: int, cls: str) -> str:
    cards = "".join(f'<article class="card"><h3><a href="{href(i)}">{h}</a></h3><p>{s}</p></article>'
                    for i, (h, s) in enumerate(AR[:n]))
    return f'<section class="{cls}"><h2>اقرأ أيضا</h2>{cards}</section>'


def gallery() -> str:
    figs = "".join(f'<figure class="photo"><a href="/gallery/55/photo-{i}"><img src="/g/{i}.jpg"></a>'
                   f'<figcaption>صورة {i}: جانب من المؤتمر الصحفي لوزير المالية في مقر الوزارة</figcaption></figure>'
                   for i in range(8))
    return f'<div class="gallery">{figs}</div>'


def live_blog() -> bytes:
    entries = "".join(
        f'<div class="live-entry" id="entry-{i}"><time datetime="2026-01-09T1{i}:05:00+03:00">1{i}:05</time>'
        f'<h3><a href="#entry-{i}">{h}</a></h3><p>{s}</p></div>' for i, (h, s) in enumerate(AR))
    return page(f'<main><article class="liveblog"><h1>تغطية مباشرة: جلسة إقرار الموازنة</h1>{entries}</article></main>',
                title="تغطية مباشرة: جلسة إقرار الموازنة",
                head='<script type="application/ld+json">{"@type": "LiveBlogPosting"}</script>')


def live_blog_permalinks() -> bytes:
    """Entries whose headline links to the live page itself (query permalink): still the same page."""
    entries = "".join(
        f'<div class="live-entry"><time datetime="2026-01-09T1{i}:05:00+03:00">1{i}:05</time>'
        f'<h3><a href="/live/budget-session?entry={i}">{h}</a></h3><p>{s}</p></div>' for i, (h, s) in enumerate(AR))
    return page(f'<main><h1>مباشر: جلسة الموازنة</h1><div class="entries">{entries}</div></main>',
                title="مباشر: جلسة الموازنة")


def inline_links() -> bytes:
    """Body paragraphs that each carry a long inline link to another story: prose, not teasers."""
    paras = [f'{p[:60]} <a href="{href(i)}">وفق ما ذكرته الصحيفة في تقرير سابق عن الموضوع</a> {p[60:]}'
             for i, p in enumerate(BODY + BODY[:2])]
    return article_page("", body=paras)


def explainer_sections() -> bytes:
    """Question headings, each followed by prose citing another story by an inline link: an article."""
    secs = "".join(f'<section class="q"><h2>{AR[i][0]}؟</h2><p>{BODY[i % 4][:70]} <a href="{href(i)}">التقرير</a> '
                   f'{BODY[i % 4][70:]}</p></section>' for i in range(6))
    return page(f'<main><article><h1>{ART_TITLE}</h1>{secs}</article></main>', title=ART_TITLE)


def paragraphs_opening_with_links() -> bytes:
    """Body paragraphs that open with a link (a named ministry): prose, although each link leads its line."""
    return article_page("", body=[f'<a href="{href(i)}">وزارة الصحة الفلسطينية في غزة</a> {BODY[i % 4]}'
                                  for i in range(6)])


ARTICLES = {
    "related-5-cards-neutral-class": (article_page(related_cards(5, "more-stories")), BODY[0][:40]),
    "related-6-cards-related-class": (article_page(related_cards(6, "related-articles")), BODY[0][:40]),
    "related-4-cards": (article_page(related_cards(4, "more")), BODY[3][:40]),
    # inside <article>: trafilatura returns the cards' summaries with the body; the body's own text keeps it an article
    "related-6-cards-inside-article": (article_page("", inside=related_cards(6, "box")), BODY[0][:40]),
    "short-article-related-4-cards-inside": (article_page("", body=BODY[:2], inside=related_cards(4, "box")),
                                             BODY[1][:40]),
    # teasers are ~68 % of this text: only the 400+ characters of its own body keep it an article
    "short-article-related-6-cards-inside": (article_page("", body=BODY[:2], inside=related_cards(6, "box")),
                                             BODY[1][:40]),
    "photo-gallery": (article_page(gallery()), BODY[0][:40]),
    "photo-gallery-inside-article": (article_page("", inside=gallery()), BODY[0][:40]),
    "inline-links-in-prose": (inline_links(), "وأوضح أن العائد"),
    "live-blog-fragment-permalinks": (live_blog(), AR[0][1][:40]),
    "live-blog-query-permalinks": (live_blog_permalinks(), AR[0][1][:40]),
    "live-blog-declared-entry-pages": (live_blog_entry_pages(declared=True), AR[0][1][:40]),
    "explainer-headings-with-inline-links": (explainer_sections(), BODY[1][70:110]),
    "paragraphs-opening-with-links": (paragraphs_opening_with_links(), BODY[2][:40]),
}


@pytest.mark.parametrize("name", ARTICLES)
def test_article_with_repeated_blocks_stays_an_article(name):
    html, must = ARTICLES[name]
    url = "https://example.com/live/budget-session" if name.startswith("live") else "https://example.com/news/2026/01/09/bonds"
    art = extract_article(html, url, fetched_at=FETCHED)
    assert must in art.text


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus absent")
def test_every_corpus_article_page_is_still_an_article():
    """All corpus HTML pages are articles (corpus README), the fetch_util roundup (a flat run of <p><a>headline</a>
    then lead paragraphs, expectations.json) included."""
    pages = sorted(CORPUS.rglob("*.html"))
    assert len(pages) >= 19
    discarded = {}
    for p in pages:
        try:
            extract_article(p.read_bytes(), f"https://news.example.com/2026/01/{p.stem}", fetched_at=FETCHED)
        except Discard as d:
            discarded[str(p.relative_to(CORPUS))] = d.reason
    assert discarded == {}
