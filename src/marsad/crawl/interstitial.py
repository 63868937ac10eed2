"""Recognising interstitials: bot challenges, cookie/consent walls and paywalls served instead of an article.

Such a page must never be published as an article (its text would be indexed as news, and every challenged
site would collapse into one "story"). The rules are data — :data:`RULES`, each with the vendor or site it was
observed on — and are tried in order on the response status, headers, final URL and the first
:data:`SCAN_BYTES` of the body. ``tests/unit/test_interstitial.py`` runs every rule on an example and a
counterexample.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from collections.abc import Mapping

SCAN_BYTES = 128 * 1024
"""Only the head of the body is searched: challenge and consent pages are small, and a JSON-LD paywall flag
sits in ``<head>``."""

KINDS = ("challenge", "consent", "paywall")


@dataclass(frozen=True)
class Rule:
    """One interstitial signature. Matches when every given condition holds.

    ``header``: (lower-case name, regex on the value); ``body``: regex on the body head (case-insensitive for ASCII);
    ``final_url``: regex on the URL after redirects; ``statuses``: the HTTP statuses it applies to (empty: any).
    """

    name: str
    kind: str
    source: str
    """Where the signature was observed or documented."""
    statuses: frozenset[int] = frozenset()
    header: tuple[str, str] | None = None
    body: str | None = None
    final_url: str | None = None
    _body_re: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"rule {self.name}: unknown kind {self.kind!r}")
        if self.body:
            # lower-cased pattern, matched case-sensitively on a lower-cased head: sre keeps its literal-prefix
            # search then (IGNORECASE costs ~10x on 128 KiB). Patterns use only lower-case escapes (\s, \.).
            object.__setattr__(self, "_body_re", re.compile(self.body.lower().encode()))

    def matches(self, status: int, headers: Mapping[str, str], final_url: str, head: bytes,
                lowered: bool = False) -> bool:
        """``head``: the start of the body (``lowered=True``: already lower-cased, as :func:`detect` passes it)."""
        if self.statuses and status not in self.statuses:
            return False
        if self.header is not None:
            value = headers.get(self.header[0])
            if value is None or not re.search(self.header[1], value, re.IGNORECASE):
                return False
        if self.final_url is not None and not re.search(self.final_url, final_url, re.IGNORECASE):
            return False
        if self._body_re is not None and self._body_re.search(head if lowered else head.lower()) is None:
            return False
        return True


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
    for rule in rules:
        if rule.matches(status, headers, final_url, head, lowered=True):
            return rule
    return None
