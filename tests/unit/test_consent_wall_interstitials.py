"""Consent and cookie walls are interstitials at fetch (``interstitial:consent``, rule named after the CMP vendor) and
at extract (``Discard("interstitial-consent")``); an article that merely carries a CMP banner, or an article ABOUT
cookies and privacy law, stays an article.

Expected outcomes written before the code: every ``WALLS`` page → fetch rule ``<vendor>-consent-wall``
(or ``consent-wording-wall`` without CMP markup) and extract discard ``interstitial-consent`` naming the vendor;
every ``ARTICLES`` page → no fetch rule, an article holding its body. Before the fix the Arabic walls passed both
(indexed under the real og:title; only a wall *titled* as a consent request was caught).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from marsad.crawl.interstitial import CMP_VENDORS, CONSENT_WORDING, consent_verdict, detect
from marsad.errors import Discard
from marsad.extract.stage import extract_article

FETCHED = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
HTML = {"content-type": "text/html; charset=utf-8"}
URL = "https://news.example.com/2026/01/09/budget-bonds"
OG_TITLE = "الحكومة تطرح سندات بملياري دولار لسد عجز الموازنة"

# the CMPs' own server-side markup as it appears in page sources (ids/classes/script hosts), per vendor
MARKUP = {
    "onetrust": ('<script src="https://cdn.cookielaw.org/scripttemplates/otSDKStub.js" data-domain-script="0f3a7c1e-'
                 '1111-4d2a-9c3e-2b6f0e0a9d11"></script>', '<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk"'  # noqa: E501 - test data on one line
                 ' class="otFlat">{}</div></div>'),
    "didomi": ('<script>window.didomiConfig = {};</script><script src="https://sdk.privacy-center.org/5a1f/loader.js?'
               'target=news.example.com"></script>', '<div id="didomi-host"><div id="didomi-popup" '
               'class="didomi-popup-container">{}</div></div>'),
    "quantcast-inmobi-choice": ('<script src="https://cmp.inmobi.com/choice/p-AbCdEf/news.example.com/choice.js?tag_'
                                'version=V3"></script>', '<div id="qc-cmp2-container"><div id="qc-cmp2-ui" '
                                'class="qc-cmp2-summary-section">{}</div></div>'),
    "cookiebot": ('<script id="Cookiebot" src="https://consent.cookiebot.com/uc.js" data-cbid="5d2f1b2a-3c4d-4e5f-'
                  '8a9b-0c1d2e3f4a5b" type="text/javascript"></script>', '<div id="CybotCookiebotDialog">{}</div>'),
    "sourcepoint": ("<script>window._sp_queue = []; window._sp_ = {config: {accountId: 1234, baseEndpoint: "
                    "'https://cdn.privacy-mgmt.com'}};</script>", '<div id="sp_message_container_912345" '
                    'class="sp-message-container">{}</div>'),
    "trustarc": ('<script src="https://consent.trustarc.com/notice?domain=example.com&c=teconsent&js=nj"></script>',
                 '<div id="truste-consent-track">{}</div><div id="teconsent"></div>'),
    "usercentrics": ('<script id="usercentrics-cmp" src="https://web.cmp.usercentrics.eu/ui/loader.js" '
                     'data-settings-id="AbCdEf123" async></script>', '<div id="usercentrics-root">{}</div>'),
    "google-funding-choices": ('<script async src="https://fundingchoicesmessages.google.com/i/pub-1234567890123456'
                               '?ers=1"></script>', '<div class="fc-consent-root"><div class="fc-dialog-container">'
                               '{}</div></div>'),
}

AR_WALL = ("<h2>نحن نهتم بخصوصيتك</h2>"
           "<p>نستخدم نحن وشركاؤنا ملفات تعريف الارتباط وتقنيات مماثلة لتخزين المعلومات و/أو الوصول إليها على جهازك، "
           "ولعرض إعلانات ومحتوى مخصصين وقياس أداء الإعلانات والمحتوى.</p>"
           "<p>بالنقر على «قبول الكل» فإنك توافق على استخدام ملفات تعريف الارتباط. يمكنك تغيير تفضيلاتك أو سحب موافقتك في "  # noqa: E501 - test data on one line
           "أي وقت من خلال «إدارة الخيارات».</p>"
           "<button>قبول الكل</button><button>رفض الكل</button><button>إدارة الخيارات</button>")
AR_WALL_GOOGLE = ("<p>يطلب موقع الأخبار موافقتك لاستخدام بياناتك الشخصية من أجل:</p>"
                  "<p>إعلانات ومحتوى مخصّصين، وقياس أداء الإعلانات والمحتوى، والتعرّف على الجمهور، وتطوير المنتجات</p>"
                  "<p>تخزين المعلومات و/أو الوصول إليها على جهاز</p><button>موافقة</button><button>إدارة الخيارات</button>")  # noqa: E501 - test data on one line
EN_WALL = ("<h2>We value your privacy</h2>"
           "<p>We and our partners store and/or access information on a device, such as cookies, and process personal "
           "data for personalised ads and content, ad and content measurement, audience research and services "
           "development.</p><p>By clicking “Accept” you agree to this. You can change your choices or withdraw your "
           "consent at any time.</p><button>Accept all</button><button>Reject all</button><button>Manage options"
           "</button>")

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
# an Arabic article ABOUT cookies and privacy law: it quotes the buttons and says "cookies" in every paragraph
COOKIE_LAW = [
    "فرضت الهيئة الوطنية للمعلوماتية والحريات في فرنسا غرامة قدرها 150 مليون يورو على شركة غوغل، بسبب صعوبة رفض "
    "ملفات تعريف الارتباط على محرك البحث ومنصة يوتيوب مقارنة بسهولة قبولها.",
    "وقالت الهيئة في بيانها إن المستخدم يستطيع قبول ملفات تعريف الارتباط بنقرة واحدة على زر «قبول الكل»، بينما "
    "يحتاج رفضها إلى عدة نقرات، وهو ما يخالف مبدأ حرية الموافقة المنصوص عليه في القانون.",
    "وتستخدم المواقع الإخبارية ومنصات التواصل ملفات تعريف الارتباط لتتبع المستخدمين وعرض إعلانات موجهة، وتلزم "
    "اللائحة الأوروبية لحماية البيانات هذه المواقع بطلب موافقة صريحة قبل تخزين أي ملفات على أجهزة الزوار.",
    "ويرى خبراء في حماية الخصوصية أن نوافذ الموافقة باتت مصدر إزعاج للمستخدمين العرب في أوروبا، إذ تظهر بلغات "
    "مختلفة وتطلب «إدارة الخيارات» عبر قوائم طويلة لا يقرأها أحد تقريبا.",
    "وفي المنطقة العربية، دخل نظام حماية البيانات الشخصية في السعودية حيز التنفيذ، ويلزم الجهات بإبلاغ المستخدم "
    "بالغرض من جمع بياناته، فيما تدرس دول أخرى تشريعات مماثلة تشمل ملفات تعريف الارتباط.",
]
EN_GDPR = [
    "The French data protection authority fined Google 150 million euros because rejecting cookies on its search "
    "engine and YouTube took several clicks while accepting them took one.",
    "Users could accept cookies with a single click on an “Accept all” button, the regulator said, whereas refusing "
    "them required navigating several menus, which breaks the rule that consent must be freely given.",
    "News sites and social networks use cookies to track visitors and target advertising, and the European data "
    "protection regulation obliges them to ask for explicit consent before storing files on devices.",
    "Privacy experts say consent pop-ups have become a nuisance that readers click through without reading, and "
    "that regulators should favour browser-level signals instead.",
]


def page(body: str, head: str = "", title: str = OG_TITLE, lang: str = "ar") -> bytes:
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="og:title" content="{title}"><meta property="og:type" content="article">{head}</head>'
            f'<body><header><nav><a href="/">الرئيسية</a> <a href="/economy/">اقتصاد</a></nav></header>{body}'
            f"<footer><p>جميع الحقوق محفوظة 2026</p></footer></body></html>").encode()


def wall(vendor: str | None, text: str, inside_cmp: bool = False, lang: str = "ar") -> bytes:
    """A wall served in place of the article: the real article's og:title, the consent text as the page body
    (in plain markup, or inside the CMP's own container)."""
    if vendor is None:
        return page(f'<main class="container"><div class="consent-page">{text}</div></main>', lang=lang)
    script, box = MARKUP[vendor]
    body = box.format(text) if inside_cmp else f'<main class="container"><div class="gate">{text}</div></main>'
    return page(body, head=script, lang=lang)


def article(paras: list[str], vendor: str | None, banner: str = AR_WALL, title: str = OG_TITLE,
            lang: str = "ar") -> bytes:
    """An ordinary article page that also carries the CMP's script and (server-rendered) banner."""
    body = "".join(f"<p>{p}</p>" for p in paras)
    head, box = MARKUP[vendor] if vendor else ("", "<div>{}</div>")
    return page(f'<main><article><h1>{title}</h1><div class="article-body">{body}</div></article></main>'
                + box.format(banner), head=head, title=title, lang=lang)


WALLS = {f"{v}-ar": (wall(v, AR_WALL_GOOGLE if v == "google-funding-choices" else AR_WALL), f"{v}-consent-wall")
         for v in MARKUP}
WALLS |= {f"{v}-en": (wall(v, EN_WALL, lang="en"), f"{v}-consent-wall") for v in ("onetrust", "quantcast-inmobi-choice",
                                                                                 "cookiebot", "trustarc")}
WALLS |= {
    "onetrust-ar-inside-cmp-box": (wall("onetrust", AR_WALL, inside_cmp=True), "onetrust-consent-wall"),
    "didomi-ar-inside-cmp-box": (wall("didomi", AR_WALL, inside_cmp=True), "didomi-consent-wall"),
    # a short wall: trafilatura keeps < 80 chars (the buttons are links), so the page's visible text decides
    "cookiebot-ar-short-wall-link-buttons": (wall("cookiebot", '<h2>نحن نهتم بخصوصيتك</h2><p>نستخدم ملفات تعريف '
                                                  'الارتباط.</p><a href="#" class="btn">قبول الكل</a> <a href="#" '
                                                  'class="btn">إدارة الخيارات</a>'), "cookiebot-consent-wall"),
    "no-cmp-ar-wording-only": (wall(None, AR_WALL), "consent-wording-wall"),
    "no-cmp-en-wording-only": (wall(None, EN_WALL, lang="en"), "consent-wording-wall"),
}
# wordings of site-built and translated walls that the first rules missed (each came through as an article before)
OTHER_WALLS = {
    "ar-this-site-uses-allow-all": ("<p>هذا الموقع يستخدم ملفات تعريف الارتباط لتحسين تجربة التصفح وتحليل حركة "
                                    "الزوار.</p><button>السماح بالكل</button><button>رفض جميع ملفات تعريف الارتباط"
                                    "</button>", "ar"),
    "ar-your-privacy-matters": ("<h2>خصوصيتك تهمنا</h2><p>نستخدم ملفات تعريف الارتباط لتخصيص المحتوى والإعلانات."
                                "</p><button>السماح بجميع ملفات تعريف الارتباط</button>", "ar"),
    "ar-by-using-this-site": ("<p>يعتمد موقعنا على ملفات الكوكيز لتقديم أفضل خدمة لك.</p><p>باستخدامك هذا الموقع "
                              "فإنك توافق على سياسة ملفات تعريف الارتباط</p><button>موافق</button>", "ar"),
    "ar-accept-all-cookies-imperative": ("<p>نستخدم ملفات تعريف الارتباط (Cookies) لضمان حصولك على أفضل تجربة.</p>"
                                         "<button>اقبل جميع ملفات تعريف الارتباط</button><a href='/privacy'>إعدادات "
                                         "الخصوصية</a>", "ar"),
    "en-accept-cookies": ("<p>This site uses cookies to give you the best experience.</p><button>Accept cookies"
                          "</button><a href='/cookies'>Cookie policy</a>", "en"),
}
WALLS |= {f"no-cmp-{k}": (wall(None, t, lang=lang), "consent-wording-wall") for k, (t, lang) in OTHER_WALLS.items()}
WALLS |= {f"didomi-{k}": (wall("didomi", t, lang=lang), "didomi-consent-wall") for k, (t, lang) in OTHER_WALLS.items()}


@pytest.mark.parametrize("name", WALLS)
def test_consent_wall_is_an_interstitial_at_fetch_named_after_its_vendor(name):
    body, rule = WALLS[name]
    hit = detect(200, HTML, URL, body)
    assert hit is not None and hit.kind == "consent" and hit.name == rule


@pytest.mark.parametrize("name", WALLS)
def test_consent_wall_reaching_extract_is_discarded_not_indexed(name):
    body, rule = WALLS[name]
    with pytest.raises(Discard) as exc:
        extract_article(body, URL, fetched_at=FETCHED)
    assert exc.value.reason == "interstitial-consent", exc.value
    vendor = next((v for v in CMP_VENDORS if f"{v.name}-consent-wall" == rule), None)
    if vendor is not None:
        assert vendor.vendor in exc.value.detail


ARTICLES = {f"{v}-banner": (article(BODY, v), BODY[2][:40]) for v in MARKUP}
ARTICLES |= {
    "onetrust-banner-en-wording": (article(BODY, "onetrust", banner=EN_WALL), BODY[2][:40]),
    "google-fc-banner": (article(BODY, "google-funding-choices", banner=AR_WALL_GOOGLE), BODY[2][:40]),
    "no-cmp-banner-div": (article(BODY, None), BODY[2][:40]),
    "cookie-law-article-ar": (article(COOKIE_LAW, None, banner="", title="غرامة على غوغل بسبب ملفات تعريف الارتباط"),
                              COOKIE_LAW[1][:40]),
    "cookie-law-article-ar-with-didomi-banner": (article(COOKIE_LAW, "didomi",
                                                         title="غرامة على غوغل بسبب ملفات تعريف الارتباط"),
                                                 COOKIE_LAW[1][:40]),
    "gdpr-article-en-with-cookiebot-banner": (article(EN_GDPR, "cookiebot", banner=EN_WALL,
                                                      title="Google fined over cookie banners", lang="en"),
                                              EN_GDPR[1][:40]),
    "short-article-with-full-tcf-banner": (article(BODY[:2], "sourcepoint", banner=AR_WALL + AR_WALL_GOOGLE),
                                           BODY[1][:40]),
}


@pytest.mark.parametrize("name", ARTICLES)
def test_article_carrying_a_cmp_banner_or_about_cookies_is_not_an_interstitial(name):
    body, must = ARTICLES[name]
    assert detect(200, HTML, URL, body) is None
    art = extract_article(body, URL, fetched_at=FETCHED)
    assert must in art.text


def test_every_cmp_vendor_and_wording_rule_carries_its_example_and_source():
    assert {v.name for v in CMP_VENDORS} == set(MARKUP)
    for v in CMP_VENDORS:
        assert v.found_in(v.example.lower()), v.name
        assert len(v.source) > 20
    for w in CONSENT_WORDING:
        assert w.examples and len(w.source) > 10, w.name
        for ex in w.examples:
            assert w.search(ex), (w.name, ex)
        for ex in w.counterexamples:
            assert not w.search(ex), (w.name, ex)


def test_consent_verdict_needs_two_kinds_of_wording():
    assert not consent_verdict(["نستخدم ملفات تعريف الارتباط لتحسين تجربتك على الموقع"]).is_wall
    assert consent_verdict(["نستخدم ملفات تعريف الارتباط لتحسين تجربتك على الموقع", "قبول الكل"]).is_wall
