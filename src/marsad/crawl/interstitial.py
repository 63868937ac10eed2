"""Recognising interstitials: bot challenges, cookie/consent walls and paywalls served instead of an article.

Such a page must never be published as an article (its text would be indexed as news, and every challenged
site would collapse into one "story"). The rules are data — :data:`RULES`, each with the vendor or site it was
observed on — and are tried in order on the response status, headers, final URL and the first
:data:`SCAN_BYTES` of the body. ``tests/unit/test_interstitial.py`` runs every rule on an example and a
counterexample.

Consent walls need more than markup: nearly every European news page carries a CMP script and
banner *beside* the real article, exactly like the Cloudflare/Imperva scripts that once made every article a
"challenge". A consent rule therefore names a CMP vendor's markup (:data:`CMP_VENDORS`) **and** requires the page's
visible text to be a consent wall (:func:`consent_verdict` over :data:`CONSENT_WORDING`: the wall's own first/second
person wording — "we use cookies", "accept all", IAB TCF purposes — in Arabic and English, dominating a page that has
no article body). The extract stage uses the same verdict on trafilatura's text (``Discard("interstitial-consent")``).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from marsad.text.arabic import normalize_for_matching
from marsad.text.fold import LETTER_TABLE

SCAN_BYTES = 128 * 1024
"""Only the head of the body is searched: challenge and consent pages are small, and a JSON-LD paywall flag
sits in ``<head>``."""

KINDS = ("challenge", "consent", "paywall")


@dataclass(frozen=True)
class Rule:
    """One interstitial signature. Matches when every given condition holds.

    ``header``: (lower-case name, regex on the value); ``body``: regex on the body head (case-insensitive for ASCII);
    ``final_url``: regex on the URL after redirects; ``statuses``: the HTTP statuses it applies to (empty: any);
    ``body_any``: lower-case literal strings, one of which must be in the body head;
    ``consent_text``: the page's visible text must also be a consent wall (:func:`consent_verdict`).
    """

    name: str
    kind: str
    source: str
    """Where the signature was observed or documented."""
    statuses: frozenset[int] = frozenset()
    header: tuple[str, str] | None = None
    body: str | None = None
    final_url: str | None = None
    body_any: tuple[str, ...] = ()
    consent_text: bool = False
    _body_re: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"rule {self.name}: unknown kind {self.kind!r}")
        if self.body:
            # lower-cased pattern, matched case-sensitively on a lower-cased head: sre keeps its literal-prefix
            # search then (IGNORECASE costs ~10x on 128 KiB). Patterns use only lower-case escapes (\s, \.).
            object.__setattr__(self, "_body_re", re.compile(self.body.lower().encode()))

    def matches(self, status: int, headers: Mapping[str, str], final_url: str, head: bytes,
                lowered: bool = False, visible: Callable[[], list[str]] | None = None) -> bool:
        """``head``: the start of the body (``lowered=True``: already lower-cased, as :func:`detect` passes it);
        ``visible``: the page's visible text lines, computed on demand (:func:`detect` shares one across rules)."""
        if self.statuses and status not in self.statuses:
            return False
        if self.header is not None:
            value = headers.get(self.header[0])
            if value is None or not re.search(self.header[1], value, re.IGNORECASE):
                return False
        if self.final_url is not None and not re.search(self.final_url, final_url, re.IGNORECASE):
            return False
        low = head if lowered else head.lower()
        if self._body_re is not None and self._body_re.search(low) is None:
            return False
        if self.body_any and not any(m.encode() in low for m in self.body_any):
            return False
        if self.consent_text and not consent_verdict((visible or (lambda: visible_lines(head)))()).is_wall:
            return False
        return True


# --- consent walls: CMP vendors -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CmpVendor:
    """A consent-management platform's markup: ``markers`` (lower-case literal substrings, any of which is searched
    in the lower-cased page head) are its element ids/classes and script hosts as they appear in page sources;
    ``example`` is such markup. Literals, not regexes: ``bytes.find`` is memchr-fast on 128 KiB, while an
    alternation without a literal prefix cost ~0.6 ms per rule and page."""

    name: str
    vendor: str
    markers: tuple[str, ...]
    example: str
    source: str

    def found_in(self, lowered: str | bytes) -> bool:
        if isinstance(lowered, bytes):
            return any(m.encode() in lowered for m in self.markers)
        return any(m in lowered for m in self.markers)


def _cmp(name: str, vendor: str, markers: tuple[str, ...], example: str, source: str) -> CmpVendor:
    return CmpVendor(name, vendor, markers, example, source)


CMP_VENDORS: tuple[CmpVendor, ...] = (
    _cmp("onetrust", "OneTrust",
         ("cdn.cookielaw.org", "onetrust-consent-sdk", "onetrust-banner-sdk", "optanon-alert-box-wrapper",
          "otsdkstub.js"),
         '<script src="https://cdn.cookielaw.org/scripttemplates/otSDKStub.js"></script>'
         '<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk"></div></div>',
         "OneTrust Cookie Consent: otSDKStub.js from cdn.cookielaw.org, #onetrust-consent-sdk/#onetrust-banner-sdk "
         "(legacy Optanon: .optanon-alert-box-wrapper); DuckDuckGo autoconsent 'Onetrust' rule"),
    _cmp("didomi", "Didomi",
         ("sdk.privacy-center.org", "didomi-host", "didomi-popup", "didomi-notice", "didomiconfig"),
         '<script src="https://sdk.privacy-center.org/5a1f/loader.js"></script><div id="didomi-host"></div>',
         "Didomi CMP: loader from sdk.privacy-center.org, #didomi-host, #didomi-popup, #didomi-notice, "
         "window.didomiConfig (Didomi developer docs; autoconsent 'didomi' rule)"),
    _cmp("quantcast-inmobi-choice", "Quantcast Choice / InMobi Choice",
         ("cmp.inmobi.com/choice", "quantcast.mgr.consensu.org", "cmp.quantcast.com", "qc-cmp2-container",
          "qc-cmp2-ui", "qc-cmp2-main"),
         '<script src="https://cmp.inmobi.com/choice/p-AbCdEf/x.com/choice.js"></script><div id="qc-cmp2-container">'
         '</div>',
         "Quantcast Choice, renamed InMobi Choice (2022): choice.js from cmp.inmobi.com (formerly quantcast.mgr."
         "consensu.org, cmp.quantcast.com), #qc-cmp2-container / #qc-cmp2-ui; autoconsent 'Quantcast' rule"),
    _cmp("cookiebot", "Cookiebot (Usercentrics)",
         ("consent.cookiebot.com", "consent.cookiebot.eu", "cybotcookiebotdialog", 'id="cookiebot"'),
         '<script id="Cookiebot" src="https://consent.cookiebot.com/uc.js" data-cbid="x"></script>'
         '<div id="CybotCookiebotDialog"></div>',
         "Cookiebot: uc.js from consent.cookiebot.com, script#Cookiebot, #CybotCookiebotDialog (Cookiebot "
         "implementation guide; autoconsent 'Cybotcookiebot' rule)"),
    _cmp("sourcepoint", "Sourcepoint",
         ("cdn.privacy-mgmt.com", "sp_message_container_", "sp_message_iframe_", "window._sp_"),
         "<script>window._sp_ = {config: {baseEndpoint: 'https://cdn.privacy-mgmt.com'}};</script>"
         '<div id="sp_message_container_912345"></div>',
         "Sourcepoint: window._sp_ config with baseEndpoint cdn.privacy-mgmt.com, div[id^=sp_message_container_] "
         "holding iframe[id^=sp_message_iframe_] (autoconsent 'Sourcepoint-top' rule)"),
    _cmp("trustarc", "TrustArc (TRUSTe)",
         ("consent.trustarc.com", "consent-pref.trustarc.com", "truste-consent-track", "truste-consent-content",
          "truste-consent-button", "truste_box_overlay", "teconsent"),
         '<script src="https://consent.trustarc.com/notice?domain=x.com"></script><div id="truste-consent-track">'
         '</div>',
         "TrustArc/TRUSTe: notice script from consent.trustarc.com, #truste-consent-track, .truste_box_overlay, "
         "#teconsent (autoconsent 'TrustArc-top' rule)"),
    _cmp("usercentrics", "Usercentrics",
         ("web.cmp.usercentrics.eu", "app.usercentrics.eu", "usercentrics-root", "usercentrics-cmp"),
         '<script id="usercentrics-cmp" src="https://web.cmp.usercentrics.eu/ui/loader.js"></script>'
         '<div id="usercentrics-root"></div>',
         "Usercentrics: script#usercentrics-cmp loader from web.cmp.usercentrics.eu (v3) or app.usercentrics.eu "
         "(browser-ui v2), #usercentrics-root (Usercentrics docs; CookiebotWP uc_frame template)"),
    _cmp("google-funding-choices", "Google Funding Choices (Privacy & messaging)",
         ("fundingchoicesmessages.google.com", "fc-consent-root", "fc-dialog-container", "googlefcpresent"),
         '<script async src="https://fundingchoicesmessages.google.com/i/pub-1?ers=1"></script>'
         '<div class="fc-consent-root"></div>',
         "Google AdSense/Ad Manager 'Privacy & messaging' (Funding Choices): script from fundingchoicesmessages."
         "google.com, .fc-consent-root / .fc-dialog-container (autoconsent 'google-funding-choices' rule)"),
)


def cmp_vendor(head_lower: bytes | str) -> CmpVendor | None:
    """The first CMP vendor whose markup is in the (lower-cased) page head, else ``None``."""
    return next((v for v in CMP_VENDORS if v.found_in(head_lower)), None)


# --- consent walls: the wall's own wording ---------------------------------------------------------------------------
_AR_FOLD = LETTER_TABLE
"""Patterns are regexes: their letters are folded with the shared letter table (marsad.text.fold), which leaves the
regex syntax (punctuation) alone."""


@dataclass(frozen=True)
class Wording:
    """One kind of consent-wall wording. ``pattern`` is searched in :func:`normalize_for_matching` text (Arabic
    folded, punctuation → space, Latin lower-case); it is written in plain Arabic and folded the same way when
    compiled. ``examples`` must match, ``counterexamples`` (news prose about cookies) must not."""

    name: str
    pattern: str
    examples: tuple[str, ...]
    counterexamples: tuple[str, ...]
    source: str
    _re: re.Pattern[str] = field(init=False, repr=False, compare=False)  # set by __post_init__

    def __post_init__(self) -> None:
        object.__setattr__(self, "_re", re.compile(self.pattern.translate(_AR_FOLD)))

    def search(self, text: str, normalized: bool = False) -> bool:
        return self._re.search(text if normalized else normalize_for_matching(text)) is not None


_COOKIES_AR = "(?:ملفات تعريف الارتباط|ملفات الارتباط|الكوكيز|كوكيز|ملفات الكوكي)"

CONSENT_WORDING: tuple[Wording, ...] = (
    Wording("ar-we-use-cookies", r"(?:نستخدم|نستعمل|(?:يستخدم|يستعمل|يعتمد) (?:هذا الموقع|موقعنا)|"
            r"(?:هذا الموقع|موقعنا) (?:يستخدم|يستعمل|يعتمد))(?: \S+){0,4} " + _COOKIES_AR,
            ("نستخدم نحن وشركاؤنا ملفات تعريف الارتباط وتقنيات مماثلة", "يستخدم هذا الموقع الكوكيز لتحسين تجربتك",
             "نحن نستخدم ملفات تعريف الإرتباط", "هذا الموقع يستخدم ملفات تعريف الارتباط لتحسين تجربة التصفح",
             "يعتمد موقعنا على ملفات الكوكيز لتقديم أفضل خدمة لك"),
            ("وتستخدم المواقع الإخبارية ملفات تعريف الارتباط لتتبع المستخدمين",
             "يستخدم الموقع ملفات تعريف الارتباط لتتبع المستخدمين، بحسب التقرير"),
            "OneTrust/Didomi/Cookiebot Arabic banner texts (Gulf and Levant news sites, EU visitors)"),
    Wording("ar-we-and-partners", r"نحن و ?شركاؤنا|نحن و ?شركائنا|و ?شركاؤنا (?:نخزن|نستخدم|نقوم|نعالج)",
            ("نستخدم نحن وشركاؤنا ملفات تعريف الارتباط", "نحن و شركاؤنا نعالج بياناتك"),
            ("قال الوزير إن الحكومة وشركاءها سيواصلون العمل",),
            "IAB TCF v2 Arabic banner text ('We and our partners'), Quantcast/InMobi Choice and Didomi translations"),
    Wording("ar-we-value-privacy", r"(?:نهتم|نقدر|نحترم|نحرص على) (?:ب)?خصوصيتك|خصوصيتك (?:تهمنا|مهمة)",
            ("نحن نهتم بخصوصيتك", "نقدّر خصوصيتك", "خصوصيتك تهمنا", "خصوصيتك مهمة بالنسبة لنا"),
            ("تهتم الشركة بخصوصية مستخدميها", "قال الخبير إن خصوصية المستخدمين مهمة"),
            "Quantcast/InMobi Choice Arabic title 'We value your privacy'; OneTrust/site-built 'Your privacy matters'"),
    Wording("ar-consent-buttons",
            r"قبول (?:الكل|الجميع)|(?:قبول|اقبل|رفض|ارفض) (?:جميع )?" + _COOKIES_AR + r"|رفض (?:الكل|الجميع)|"
            r"السماح (?:بالكل|بالجميع|بجميع " + _COOKIES_AR + r")|"
            r"(?:إدارة|تخصيص|ضبط) (?:الخيارات|خياراتي|التفضيلات|الإعدادات)|(?:إدارة|تخصيص|ضبط|إعدادات) (?:إعدادات )?"
            + _COOKIES_AR + r"|أوافق على (?:استخدام|ملفات)|موافق و ?(?:إغلاق|متابعة)",
            ("قبول الكل", "رفض الكل", "إدارة الخيارات", "إعدادات ملفات تعريف الارتباط", "موافق ومتابعة",
             "السماح بالكل", "السماح بجميع ملفات تعريف الارتباط", "اقبل جميع ملفات تعريف الارتباط",
             "رفض جميع ملفات تعريف الارتباط"),
            ("أعلن الحزب رفض الحكومة الجديدة", "قبول الطلبات في الجامعات يبدأ الأحد"),
            "CMP button labels in Arabic (OneTrust, Didomi, Google Funding Choices, Sourcepoint templates; Cookiebot's "
            "Arabic 'السماح بالكل' = 'Allow all')"),
    Wording("ar-by-clicking",
            r"(?:بالنقر|بالضغط|عند النقر|عند الضغط) (?:على|فوق) (?:زر )?(?:قبول|موافق|أوافق|الموافقة)|"
            r"(?:بمتابعة|بمواصلة|باستمرارك في|استمرارك في) (?:تصفح|التصفح|استخدام)(?: \S+){0,4} (?:توافق|موافقتك)|"
            r"باستخدامك (?:هذا الموقع|موقعنا|الموقع)(?: \S+){0,2} (?:توافق|موافقتك)",
            ("بالنقر على «قبول الكل» فإنك توافق", "بمواصلة التصفح فإنك توافق على استخدامنا ملفات تعريف الارتباط",
             "باستخدامك هذا الموقع فإنك توافق على سياسة ملفات تعريف الارتباط"),
            ("قالت الهيئة إن المستخدم يقبل بنقرة واحدة على زر قبول الكل",),
            "Arabic consent banners' 'By clicking Accept / by continuing to browse you agree'"),
    Wording("ar-your-consent",
            r"(?:سحب|تغيير|تعديل) (?:موافقتك|تفضيلاتك|اختياراتك|خياراتك)|"
            r"موافقتك (?:على|لاستخدام) (?:استخدام )?(?:ملفات|بياناتك|الكوكيز)|"
            r"يطلب(?: \S+){1,6} موافقتك لاستخدام بياناتك",
            ("يمكنك تغيير تفضيلاتك أو سحب موافقتك في أي وقت", "يطلب موقع الأخبار موافقتك لاستخدام بياناتك الشخصية"),
            ("وتلزم اللائحة هذه المواقع بطلب موافقة صريحة قبل تخزين أي ملفات",),
            "Google Funding Choices Arabic ('… يطلب موافقتك لاستخدام بياناتك الشخصية'), OneTrust preference centre"),
    Wording("ar-tcf-purposes",
            r"تخزين (?:المعلومات|معلومات) و ?أو (?:الوصول إليها|الوصول إلى)|إعلانات ومحتوى مخصص|"
            r"قياس (?:أداء )?الإعلانات والمحتوى|أبحاث الجمهور وتطوير الخدمات|التعرف على الجمهور(?:،)? وتطوير المنتجات",
            ("تخزين المعلومات و/أو الوصول إليها على جهاز", "إعلانات ومحتوى مخصّصين، وقياس أداء الإعلانات والمحتوى"),
            ("ويخزن التطبيق المعلومات على خوادم الشركة",),
            "IAB Europe TCF v2.2 purpose names, Arabic translation as shown by Google Funding Choices and Didomi"),
    Wording("en-we-use-cookies", r"\b(?:we|this (?:web)?site|our (?:web)?site) uses? (?:cookies|similar technologies)",
            ("We use cookies to improve your experience", "This website uses cookies"),
            ("News sites and social networks use cookies to track visitors",),
            "Cookie banner boilerplate (Cookiebot default text 'This website uses cookies')"),
    Wording("en-we-and-partners", r"\bwe and our (?:\d+ )?(?:trusted )?(?:partners|vendors)\b",
            ("We and our partners store and/or access information", "we and our 842 partners"),
            ("The minister said we and the opposition agree",),
            "IAB TCF v2 banner text (Quantcast/InMobi Choice, Sourcepoint, Google Funding Choices)"),
    Wording("en-we-value-privacy", r"\bwe (?:value|care about|respect) your privacy\b",
            ("We value your privacy",), ("Voters value their privacy, the survey found",),
            "Quantcast/InMobi Choice default title"),
    Wording("en-consent-buttons",
            r"\b(?:accept|reject|allow|decline|refuse) (?:all |necessary |essential )?cookies\b|"
            r"\b(?:accept|reject|allow|decline|refuse) all\b|\bmanage (?:my )?(?:preferences|options|"
            r"settings|cookies|choices|consent)\b|\bcookies? (?:settings|preferences)\b|\bi (?:agree|accept)\b|"
            r"\bagree and (?:close|continue)\b",
            ("Accept all", "Reject all", "Manage options", "Cookie settings", "I agree", "Accept cookies",
             "Allow all cookies", "Accept necessary cookies"),
            ("The court did not accept the appeal", "They manage the fund"),
            "CMP button labels (OneTrust, Didomi, Quantcast/InMobi, Google Funding Choices defaults)"),
    Wording("en-by-clicking",
            r"\bby (?:clicking|tapping|selecting|choosing) (?:on )?(?:accept|agree|i agree|ok|allow|consent)|"
            r"\bby continuing to (?:browse|use) (?:this|our|the) (?:site|website)",
            ("By clicking “Accept” you agree", "By continuing to browse this site you agree"),
            ("Users could accept cookies with a single click",),
            "Cookie banner boilerplate"),
    Wording("en-your-consent",
            r"\b(?:withdraw|change|manage) your (?:consent|choices|preferences)\b|\byour privacy choices\b|"
            r"\basks for your consent to use your personal data\b",
            ("You can withdraw your consent at any time", "Your Privacy Choices"),
            ("regulators asked for explicit consent before storing files",),
            "TCF banners; Google Funding Choices ('… asks for your consent to use your personal data'); CCPA link"),
    Wording("en-tcf-purposes",
            r"store and ?or access information on a device|personali[sz]ed (?:ads|advertising) and content|"
            r"ad and content measurement|audience (?:insights|research) and (?:product|services) development",
            ("store and/or access information on a device", "Personalised ads and content, ad and content measurement"),
            ("the app stores information on company servers",),
            "IAB Europe TCF v2.2 purpose and feature names"),
)

CONSENT_MIN_KINDS = 2
"""Distinct :data:`CONSENT_WORDING` kinds a wall shows (one "we use cookies" line in a footer is not a wall)."""
CONSENT_SHARE = 0.5
"""Share of the text (characters of lines ≥ 15 chars, plus consent lines of any length) that is consent wording."""
CONSENT_MAX_OWN_CHARS = 400
CONSENT_MAX_OWN_PARAGRAPHS = 2
"""A page with this much other text (characters), or this many other paragraphs of ≥ 80 characters, has an article
body: its consent text is a banner beside the article (the common case), not a wall."""


@dataclass(frozen=True)
class ConsentVerdict:
    """``consent_chars``/``own_chars`` (characters of consent lines / other lines ≥ 15 chars), ``own_paragraphs``
    (other lines ≥ 80 chars), ``kinds`` (names of the wording kinds seen)."""

    consent_chars: int
    own_chars: int
    own_paragraphs: int
    kinds: tuple[str, ...]

    @property
    def is_wall(self) -> bool:
        total = self.consent_chars + self.own_chars
        return (len(self.kinds) >= CONSENT_MIN_KINDS and total > 0 and self.consent_chars / total >= CONSENT_SHARE
                and self.own_chars < CONSENT_MAX_OWN_CHARS and self.own_paragraphs < CONSENT_MAX_OWN_PARAGRAPHS)

    def describe(self) -> str:
        return (f"consent wording ({', '.join(self.kinds)}) is {self.consent_chars} of "
                f"{self.consent_chars + self.own_chars} chars")


def consent_verdict(lines: list[str]) -> ConsentVerdict:
    """Score text ``lines`` (extracted text or :func:`visible_lines`) against :data:`CONSENT_WORDING`.

    Stops at the first line that shows an article body (other text reaching :data:`CONSENT_MAX_OWN_CHARS` or
    :data:`CONSENT_MAX_OWN_PARAGRAPHS`): the verdict is then "not a wall" whatever follows, and an ordinary page costs
    a few lines, not a whole-page normalisation."""
    consent = own = paras = 0
    kinds: list[str] = []
    for line in lines:
        size = len(line)
        norm = normalize_for_matching(line)
        if not norm:
            continue
        hit = [w.name for w in CONSENT_WORDING if w.search(norm, normalized=True)]
        if hit:
            consent += size
            kinds.extend(k for k in hit if k not in kinds)
        elif size >= 15:
            own += size
            paras += size >= 80
            if own >= CONSENT_MAX_OWN_CHARS or paras >= CONSENT_MAX_OWN_PARAGRAPHS:
                break
    return ConsentVerdict(consent, own, paras, tuple(kinds))


_INVISIBLE = re.compile(rb"<(script|style|noscript|template|head|svg)\b.*?</\1\s*>|<!--.*?-->", re.DOTALL | re.I)
_BLOCK_TAG = re.compile(rb"<\s*/?\s*(p|div|li|h[1-6]|br|button|tr|td|th|section|article|header|footer|nav|ul|ol|form|"
                        rb"label|a|main|aside|dd|dt|figcaption|blockquote|option)\b[^>]*>", re.I)
_ANY_TAG = re.compile(rb"<[^>]*>")


def visible_lines(head: bytes | str) -> list[str]:
    """The visible text of an HTML page head as lines (block tags break lines; scripts, styles and ``<head>``
    dropped). Decoded as UTF-8, else windows-1256 (the fetch side has no charset detection; the extract stage
    scores trafilatura's text instead). Regex, not a parser: it runs at fetch, only when a consent rule's markup
    matched."""
    if isinstance(head, str):
        head = head.encode("utf-8")
    raw = _ANY_TAG.sub(b" ", _BLOCK_TAG.sub(b"\n", _INVISIBLE.sub(b" ", head)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1256", errors="replace")
    return [ln for ln in (" ".join(x.split()) for x in html_lib.unescape(text).splitlines()) if ln]


_CONSENT_PREFILTER = ("cookie", "consent", "privacy", "ملفات تعريف", "الارتباط", "الإرتباط", "كوكيز", "خصوصيتك",
                      "موافقتك")


RULES: tuple[Rule, ...] = (
    # --- bot challenges (CDN / WAF) ---------------------------------------------------------------------
    Rule("cloudflare-mitigated", "challenge", header=("cf-mitigated", r"challenge"),
         source="Cloudflare docs, 'Detect a Challenge Page response': header cf-mitigated: challenge"),
    # not /cdn-cgi/challenge-platform/ alone: Bot Management's "JavaScript detections" injects
    # /cdn-cgi/challenge-platform/scripts/jsd/main.js into every ordinary page of the zone (LBCGroup in the corpus)
    Rule("cloudflare-challenge", "challenge",
         body=r"/cdn-cgi/challenge-platform/h/[a-z]/orchestrate/|window\._cf_chl_opt|cf-chl-",
         source="Cloudflare managed/JS challenge page ('Just a moment...'): _cf_chl_opt and the orchestrate "
                "script, observed 2023-2026"),
    Rule("cloudflare-just-a-moment", "challenge", statuses=frozenset({403, 429, 503}),
         body=r"<title>\s*Just a moment\.\.\.\s*</title>",
         source="Cloudflare interstitial title, observed on news sites behind Cloudflare"),
    Rule("checking-your-browser", "challenge",
         body=r"Checking (if the site connection is secure|your browser before accessing)",
         source="Cloudflare IUAM (legacy) and DDoS-Guard check pages"),
    Rule("ddos-guard", "challenge", statuses=frozenset({403, 503}), header=("server", r"ddos-guard"),
         source="DDoS-Guard check page: 'Server: ddos-guard' with a 403/503 answer"),
    Rule("akamai-access-denied", "challenge", statuses=frozenset({403}),
         body=r"errors(\.|&#46;)edgesuite(\.|&#46;)net|Reference\s*&#32;&#35;",
         source="Akamai Edge 'Access Denied … Reference #18.…' page (errors.edgesuite.net)"),
    Rule("sucuri-firewall", "challenge", body=r"Sucuri WebSite Firewall|sucuri_cloudproxy_js",
         source="Sucuri CloudProxy firewall block / JS check page"),
    Rule("datadome", "challenge", body=r"captcha-delivery\.com|ct\.captcha-delivery",
         source="DataDome captcha page (geo.captcha-delivery.com iframe); header x-datadome on the response"),
    Rule("datadome-header", "challenge", statuses=frozenset({403}), header=("x-datadome", r"."),
         source="DataDome block answer: 403 with an x-datadome header"),
    # not _Incapsula_Resource alone: Imperva injects /_Incapsula_Resource?SWJIYLWA=… into ordinary pages too
    Rule("imperva-incapsula", "challenge",
         body=r"_Incapsula_Resource\?CWUDNSAI=|Incapsula incident ID|"
              r"noindex,\s*nofollow[\"']?\s*/?>\s*<script[^>]*_Incapsula_Resource\?SWJIYLWA=",
         source="Imperva (Incapsula) bot check page: the CWUDNSAI iframe, the incident-ID block page, or an empty "
                "noindex page holding only the SWJIYLWA script"),
    Rule("perimeterx", "challenge", body=r"px-captcha|_pxCaptcha|Press &amp; Hold|Press & Hold",
         source="HUMAN (PerimeterX) 'Press & Hold' captcha page"),
    # --- consent / cookie walls ----------------------------------------------------------------------------
    Rule("google-consent", "consent", final_url=r"^https?://consent\.google\.",
         source="Google 'Before you continue' cookie wall (consent.google.com redirect, EU visitors)"),
    Rule("yahoo-consent", "consent", final_url=r"^https?://(consent|guce)\.yahoo\.com/",
         source="Yahoo/Maktoob consent wall (consent.yahoo.com, guce.yahoo.com redirects)"),
    # a CMP's markup AND visible text that is a consent wall (markup alone: every EU article page has it)
    *(Rule(f"{v.name}-consent-wall", "consent", body_any=v.markers, consent_text=True,
           source=f"{v.vendor} consent wall served instead of the article; markup: {v.source}") for v in CMP_VENDORS),
    Rule("consent-wording-wall", "consent", body_any=_CONSENT_PREFILTER, consent_text=True,
         source="Consent walls without known CMP markup (site-built, Arabic or English): visible text is the wall's "
                "own wording (CONSENT_WORDING) and nothing else of weight"),
    Rule("cookie-wall-page", "consent", body=r"<title>[^<]{0,80}(cookie wall|cookie consent|consent required|"
         r"before you continue|قبول ملفات تعريف الارتباط)[^<]{0,80}</title>",
         source="Cookie-wall pages whose title is the consent request (observed on EU publisher CMPs)"),
    # --- paywalls ------------------------------------------------------------------------------------------
    Rule("json-ld-not-free", "paywall", body=r"\"isAccessibleForFree\"\s*:\s*(false|\"false\")",
         source="schema.org isAccessibleForFree=false, Google Search Central 'paywalled content' markup"),
    Rule("piano-paywall", "paywall", body=r"<title>[^<]{0,80}(subscribe to continue|subscriber only|"
         r"للمشتركين فقط)[^<]{0,80}</title>",
         source="Subscription-wall pages (Piano/Tinypass style) whose title asks for a subscription"),
)


def detect(status: int, headers: Mapping[str, str], final_url: str, body: bytes,
           rules: tuple[Rule, ...] = RULES) -> Rule | None:
    """The first rule of ``rules`` matching this response, or ``None``. ``headers`` must have lower-case names."""
    head = body[:SCAN_BYTES].lower()  # once: the rules' patterns are compiled lower-cased, case-sensitive
    memo: list[list[str]] = []

    def visible() -> list[str]:  # parsed at most once per response, only if a consent rule's markup matched
        if not memo:
            memo.append(visible_lines(body[:SCAN_BYTES]))
        return memo[0]

    for rule in rules:
        if rule.matches(status, headers, final_url, head, lowered=True, visible=visible):
            return rule
    return None
