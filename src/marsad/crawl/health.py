"""Crawl health over the whole registry, from the per-source crawl reports (``<crawl_dir>/reports/crawl-<source>.json``,
written by :func:`marsad.crawl.run.write_report`). What the ``crawl_health`` DAG and ``marsad crawl-health`` run.

Statuses of an enabled source, worst first:

* ``failed`` — no report, a report older than ``settings.health_stale_h`` (the last runs failed or never ran), every
  polled feed/sitemap/section page failed (``discover:http-*`` / ``discover:refused:*`` with nothing read), or every
  article fetch was refused (``refused:*`` with nothing fetched);
* ``interstitials-only`` — pages came back but every one was a challenge/consent/paywall interstitial
  (``interstitial:<kind>`` counts from the fetch side, which also counts them as ``refused:interstitial:<kind>``)
  and nothing was published;
* reasons also name ``discover:undecodable`` resources (an error) and ``discover:charset-ignored`` declarations
  (informative), so a site whose pages need a ``charset`` in ``sources.yaml`` shows up;
* ``empty`` — resources were read but held no items at all (a feed gone empty, a redesigned section page), or the
  source has nothing to poll;
* ``ok`` — anything else (including "nothing new this hour": 304s and already-seen links are healthy).

Whatever the status, a source that met interstitials says so: ``interstitials`` counts them per kind
(``consent``, ``challenge``, ``paywall``) and a reason names the rules, i.e. the vendors (``2 consent walls
(onetrust-consent-wall: 2)``), from the crawl report's ``interstitial:<kind>`` / ``interstitial-rule:<rule>`` counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from marsad.crawl.registry import Source
from marsad.settings import Settings

STATUSES = ("failed", "interstitials-only", "empty", "ok")


@dataclass
class SourceHealth:
    source: str
    status: str
    reasons: list[str] = field(default_factory=list)
    report_at: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    interstitials: dict[str, int] = field(default_factory=dict)
    """Interstitial pages of the last run per kind (``consent``, ``challenge``, ``paywall``)."""


def _sum(counts: dict[str, int], prefix: str) -> int:
    return sum(v for k, v in counts.items() if k.startswith(prefix))


_KIND_WORDS = {"consent": "consent walls", "challenge": "bot challenges", "paywall": "paywalls"}


def _interstitial_note(h: SourceHealth) -> None:
    """Fill ``h.interstitials`` and add one reason per kind naming its rules (the vendors)."""
    h.interstitials = {k.split(":", 1)[1]: v for k, v in h.counts.items() if k.startswith("interstitial:") and v}
    rules = {k.split(":", 1)[1]: v for k, v in h.counts.items() if k.startswith("interstitial-rule:") and v}
    for kind, n in sorted(h.interstitials.items()):
        named = ", ".join(f"{r}: {c}" for r, c in sorted(rules.items()) if _rule_kind(r) == kind)
        h.reasons.append(f"{n} {_KIND_WORDS.get(kind, kind)}" + (f" ({named})" if named else ""))


def _rule_kind(name: str) -> str | None:
    from marsad.crawl.interstitial import RULES

    return next((r.kind for r in RULES if r.name == name), None)


def assess(source: Source, report: dict | None, now: datetime, stale_h: float) -> SourceHealth:
    """Health of ``source`` from its last crawl ``report`` (``{"source", "at", "counts"}`` or ``None``)."""
    h = _assess(source, report, now, stale_h)
    _interstitial_note(h)
    return h


def _assess(source: Source, report: dict | None, now: datetime, stale_h: float) -> SourceHealth:
    if report is None:
        return SourceHealth(source.name, "failed", ["no crawl report (never ran, or every run failed)"])
    at = datetime.fromisoformat(report["at"])
    counts = {k: int(v) for k, v in report.get("counts", {}).items()}
    h = SourceHealth(source.name, "ok", [], report["at"], counts)
    if now - at > timedelta(hours=stale_h):
        h.status = "failed"
        h.reasons.append(f"last report is {(now - at).total_seconds() / 3600:.1f} h old (> {stale_h:g} h)")
        return h
    read = counts.get("discover:polled", 0) + counts.get("discover:not-modified", 0) \
        + counts.get("discover:not-due", 0)
    errors = _sum(counts, "discover:http-") + _sum(counts, "discover:refused:") \
        + counts.get("discover:xml-entities", 0) + counts.get("discover:unreadable", 0) \
        + counts.get("discover:undecodable", 0)
    if errors and not read:
        h.status = "failed"
        h.reasons.append(f"every feed/sitemap/section page failed ({errors} errors)")
        return h
    # the fetch side counts an interstitial both as ``refused:interstitial:<kind>`` and ``interstitial:<kind>``
    interstitials = _sum(counts, "interstitial:")
    other_refusals = _sum(counts, "refused:") - _sum(counts, "refused:interstitial:")
    if not counts.get("published", 0) and not counts.get("fetched", 0) and (interstitials or other_refusals):
        if interstitials and not other_refusals:
            h.status = "interstitials-only"
            h.reasons.append(f"{interstitials} interstitial pages, nothing published")
        else:
            h.status = "failed"
            h.reasons.append(f"every article fetch was refused ({other_refusals} refusals, "
                             f"{interstitials} interstitials)")
        return h
    if counts.get("discover:polled", 0) and not counts.get("discover:items", 0) and not counts.get("discovered", 0):
        h.status = "empty"
        h.reasons.append("feeds/sitemaps/section pages were read but held no items")
    elif not read and not errors:
        h.status = "empty"
        h.reasons.append("nothing to poll (no feeds, sitemaps or section pages answered)")
    if errors:
        h.reasons.append(f"{errors} feed/sitemap/section errors")
    if counts.get("discover:undecodable", 0):
        h.reasons.append(f"{counts['discover:undecodable']} feeds/sitemaps/section pages undecodable (no charset "
                         "reading is text: set the source's `charset` in sources.yaml)")
    if counts.get("discover:charset-ignored", 0):
        h.reasons.append(f"{counts['discover:charset-ignored']} charset declarations ignored (unknown, not text, "
                         "or contradicted by the bytes)")
    return h


def crawl_health(settings: Settings, sources: list[Source], now: datetime | None = None) -> dict:
    """Assess every enabled source and write ``<crawl_dir>/reports/health.json``; returns what was written:
    ``{"at", "summary": {status: [source, …]}, "sources": {name: {status, reasons, report_at, counts}}}``."""
    now = now or datetime.now(timezone.utc)
    reports = settings.crawl_dir / "reports"
    out: dict = {"at": now.isoformat(), "summary": {s: [] for s in STATUSES}, "sources": {}}
    for source in sources:
        if not source.enabled:
            continue
        path = reports / f"crawl-{source.name}.json"
        try:
            report = orjson.loads(path.read_bytes()) if path.exists() else None
            h = assess(source, report, now, settings.health_stale_h)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            # one damaged report must not hide the health of every other source
            h = SourceHealth(source.name, "failed", [f"crawl report {path.name} unreadable: {exc}"])
        out["summary"][h.status].append(source.name)
        out["sources"][source.name] = asdict(h)
    reports.mkdir(parents=True, exist_ok=True)
    health_path(settings).write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))
    return out


def health_path(settings: Settings) -> Path:
    return settings.crawl_dir / "reports" / "health.json"
