"""Alert rules: validation, the YAML rules file, and their storage as percolator documents.

A rule is ``{name, query, source?, language?, webhook?}``. It is stored in the rules index (alias
``settings.alert_rules_alias``, ``_id`` = name) as ``{"query": <percolator query>, "rule": {...}}`` where the
percolator query is :func:`marsad.search.text_query` of the rule's words (the same Arabic semantics as
``marsad search``) plus ``term`` filters on ``source`` / ``language``.

The rules index is built at ``marsad templates apply`` from ``marsad/index/schema/alert-rules.json`` plus the stories
template's analysis settings and field mappings (:func:`marsad.index.templates.rules_template`): a percolated story is
analysed exactly as the
stories index analyses it. When those change, :func:`marsad.index.templates.apply_alert_indices` moves the rules to a
new index version.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError, field_validator

from marsad.errors import ConfigError, TransientError
from marsad.index.es import Es, EsHttpError
from marsad.index.templates import load_template, rules_template
from marsad.messages import utcnow
from marsad.search import parse_query, text_query
from marsad.settings import Settings

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""Rule names are slugs: lower-case ASCII letters, digits, ``-`` and ``_``, 1–64 chars (they are document ids and
appear in URLs and Kibana filters)."""

MAX_QUERY_CHARS = 500
"""A rule is a handful of keywords; 500 characters is far above any real watch phrase."""


class RuleError(ValueError):
    """A rule definition is invalid, or a rule name is unknown; the message says which and why."""


class Rule(BaseModel):
    """One alert rule. Raises :class:`pydantic.ValidationError` on construction when a field is invalid."""

    name: str
    query: str
    source: str | None = None
    language: str | None = None
    webhook: str | None = None

    model_config = {"extra": "forbid"}

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(f"rule name {v!r} is not a slug (a-z, 0-9, '-', '_'; 1-64 chars, starts with a-z/0-9)")
        return v

    @field_validator("query")
    @classmethod
    def _query(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("query is empty")
        if len(v) > MAX_QUERY_CHARS:
            raise ValueError(f"query is {len(v)} characters (max {MAX_QUERY_CHARS})")
        parse_query(v)  # ValueError "nothing to search for" (only OR / empty quotes): refused here, not at storage
        return v

    @field_validator("source", "language")
    @classmethod
    def _filter(cls, v: str | None) -> str | None:
        v = (v or "").strip()
        return v or None

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, v: str | None) -> str | None:
        v = (v or "").strip()
        if not v:
            return None
        u = urlsplit(v)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"webhook {v!r} is not an http(s) URL")
        return v

    def percolator_query(self) -> dict[str, Any]:
        """The stored percolator query: ``text_query(query)`` filtered by source/language when given."""
        filters = []
        if self.source:
            filters.append({"term": {"source": self.source}})
        if self.language:
            filters.append({"term": {"language": self.language}})
        return {"bool": {"must": [text_query(self.query)], "filter": filters}}

    def definition(self) -> dict[str, Any]:
        """The user-given fields (what ``alerts list`` shows and what the YAML file holds)."""
        return self.model_dump()


def rule_error_message(exc: ValidationError) -> str:
    """One line per problem, e.g. ``name: rule name 'A B' is not a slug``."""
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "rule"
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def make_rule(**fields: Any) -> Rule:
    """Build a :class:`Rule`; raises :class:`RuleError` with a one-line reason when a field is invalid."""
    try:
        return Rule(**fields)
    except ValidationError as exc:
        raise RuleError(rule_error_message(exc)) from exc


# --- YAML rules file -------------------------------------------------------------------------------------
@dataclass
class FileProblem:
    """A bad entry in a rules file: its position (1-based), its name if readable, and why."""

    position: int
    name: str | None
    reason: str

    def __str__(self) -> str:
        who = f"rule #{self.position}" + (f" ({self.name})" if self.name else "")
        return f"{who}: {self.reason}"


def parse_rules_file(path: Path) -> tuple[list[Rule], list[FileProblem]]:
    """Read ``path`` (YAML: ``rules: [{name, query, source?, language?, webhook?}, ...]``).

    Returns the valid rules and one :class:`FileProblem` per bad entry (invalid field, unknown key, duplicate name).
    Raises :class:`~marsad.errors.ConfigError` when the file is unreadable or not of that shape at all.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read rules file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"rules file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ConfigError(f"rules file {path} must be a mapping with a 'rules:' list")
    rules: list[Rule] = []
    problems: list[FileProblem] = []
    seen: set[str] = set()
    for n, entry in enumerate(data["rules"], 1):
        if not isinstance(entry, dict):
            problems.append(FileProblem(n, None, f"expected a mapping, got {type(entry).__name__}"))
            continue
        name = entry.get("name") if isinstance(entry.get("name"), str) else None
        try:
            rule = Rule(**{k: (str(v) if isinstance(v, (int, float)) and k != "name" else v)
                           for k, v in entry.items()})
        except ValidationError as exc:
            problems.append(FileProblem(n, name, rule_error_message(exc)))
            continue
        except TypeError as exc:
            problems.append(FileProblem(n, name, str(exc)))
            continue
        if rule.name in seen:
            problems.append(FileProblem(n, name, f"duplicate rule name {rule.name!r}"))
            continue
        seen.add(rule.name)
        rules.append(rule)
    return rules, problems


# --- storage ---------------------------------------------------------------------------------------------
class RuleStore:
    """CRUD of rules in the percolator index behind ``settings.alert_rules_alias``.

    Writes use ``refresh=wait_for`` so that the next percolation (ingest) sees them. Raises
    :class:`~marsad.errors.TransientError` when Elasticsearch is unreachable or the alias is missing.
    """

    def __init__(self, settings: Settings, es: Es | None = None) -> None:
        self.settings = settings
        self.es = es or Es.from_settings(settings)
        self.alias = settings.alert_rules_alias

    def _req(self, method: str, path: str, body: Any = None, params: dict | None = None,
             ok: tuple[int, ...] = ()) -> Any:
        missing = f"rules alias {self.alias} missing: run `marsad templates apply`"
        try:
            resp = self.es.request(method, path, body, params=params, ok=ok)
        except EsHttpError as exc:
            if exc.status == 404 and "index_not_found" in str(exc.body):
                raise TransientError(missing) from exc
            raise
        if isinstance(resp, dict) and "index_not_found" in str(resp.get("error", "")):  # a 404 let through by ok
            raise TransientError(missing)
        return resp

    def get(self, name: str) -> Rule | None:
        resp = self._req("GET", f"/{self.alias}/_doc/{name}", ok=(404,))
        if not resp.get("found"):
            return None
        return _rule_from_source(resp["_source"])

    def list(self) -> list[Rule]:
        """All rules, by name (up to 10,000: ``index.max_result_window``)."""
        resp = self._req("POST", f"/{self.alias}/_search", {"size": 10_000, "sort": [{"rule.name": "asc"}],
                                                            "_source": ["rule"], "query": {"match_all": {}}})
        return [_rule_from_source(h["_source"]) for h in resp["hits"]["hits"]]

    def put(self, rule: Rule, replace: bool = True, check: bool = True) -> str:
        """Store ``rule``; returns ``created``, ``updated`` or ``unchanged``.

        With ``replace=False`` an existing rule with another definition raises :class:`RuleError`; so does a query
        with no searchable word (:meth:`check_searchable`, skipped with ``check=False`` when already done).
        """
        if check:
            self.check_searchable(rule)
        old = self._req("GET", f"/{self.alias}/_doc/{rule.name}", ok=(404,))
        now = utcnow().isoformat()
        created_at = now
        if old.get("found"):
            if _rule_from_source(old["_source"]) == rule:
                return "unchanged"
            if not replace:
                raise RuleError(f"rule {rule.name!r} exists with another definition "
                                f"({_rule_from_source(old['_source']).definition()}); remove it first or use --replace")
            created_at = old["_source"]["rule"].get("created_at") or now
        doc = {"query": rule.percolator_query(),
               "rule": {**rule.definition(), "created_at": created_at, "updated_at": now}}
        try:
            self._req("PUT", f"/{self.alias}/_doc/{rule.name}", doc,
                      params={"refresh": "wait_for", "require_alias": True})
        except EsHttpError as exc:
            raise RuleError(f"Elasticsearch refused rule {rule.name!r}: {exc}") from exc
        return "updated" if old.get("found") else "created"

    def check_searchable(self, rule: Rule) -> None:
        """Raise :class:`RuleError` when an alternative of ``rule.query`` has a part that every analyzer it is
        searched with folds to no token (only tatweel, tashkeel, format characters…): its percolator query could
        never match a story. Words are searched with ``marsad_arabic_search`` and ``marsad_arabic_exact``, a quoted
        phrase with ``marsad_arabic_exact`` (:func:`marsad.search.text_query`); the analyzers are the rules index's.
        """
        for alt in parse_query(rule.query):
            for part in alt:
                analyzers = (("marsad_arabic_exact",) if part.kind == "phrase"
                             else ("marsad_arabic_search", "marsad_arabic_exact"))
                if not any(self._req("POST", f"/{self.alias}/_analyze",
                                     {"analyzer": a, "text": part.text}).get("tokens") for a in analyzers):
                    raise RuleError(f"rule {rule.name!r}: {part.text!r} has no searchable word once normalised "
                                    f"(tatweel, tashkeel and format characters are folded away): it could never "
                                    f"match a story")

    def remove(self, name: str) -> None:
        """Delete rule ``name``; raises :class:`RuleError` when there is no such rule."""
        resp = self._req("DELETE", f"/{self.alias}/_doc/{name}", params={"refresh": "wait_for"}, ok=(404,))
        if resp.get("result") != "deleted":
            raise RuleError(f"no rule named {name!r}")

    # builtins.list: in the class body `list` names the method above
    def sync(self, rules: builtins.list[Rule], prune: bool = False) -> dict[str, builtins.list[str]]:
        """Make the stored rules match ``rules`` (idempotent): ``{created, updated, unchanged, removed}`` names.

        Rules stored but absent from ``rules`` are removed only with ``prune`` (rules added with ``alerts add``
        survive a plain load).
        """
        out: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "removed": []}
        for r in rules:  # every rule checked before any is stored: a bad file changes nothing
            self.check_searchable(r)
        for r in rules:
            out[self.put(r, replace=True, check=False)].append(r.name)
        if prune:
            wanted = {r.name for r in rules}
            for r in self.list():
                if r.name not in wanted:
                    self.remove(r.name)
                    out["removed"].append(r.name)
        return out


def _rule_from_source(src: dict[str, Any]) -> Rule:
    r = src["rule"]
    return Rule(**{k: r.get(k) for k in ("name", "query", "source", "language", "webhook")})


# --- `alerts test --text` ----------------------------------------------------------------------------------
def match_text(settings: Settings, es: Es, rule: Rule, text: str, title: str = "", source: str = "test",
              language: str | None = "ar", stored: bool = False) -> str | None:
    """Does ``rule`` match a story with this ``title``/``text``/``source``/``language``? Returns the highlighted
    snippet (⟦ ⟧ around matched words; ``""`` if nothing to highlight) or ``None`` when it does not match.

    A ``stored`` rule is percolated where it lives (the rules alias, filtered to its id), so the answer is what ingest
    would do; an ad-hoc rule is stored in a scratch index built from the same template, which is deleted afterwards.
    """
    from uuid import uuid4

    from marsad.alerts.percolate import HIGHLIGHT, snippet
    doc = {"title": title, "text": text, "source": source, "language": language}
    body = {"size": 1, "query": {"bool": {"must": [{"percolate": {"field": "query", "document": doc}}],
                                          "filter": [{"ids": {"values": [rule.name]}}]}},
            "_source": False, "highlight": HIGHLIGHT}
    if stored:
        resp = RuleStore(settings, es)._req("POST", f"/{settings.alert_rules_alias}/_search", body)
    else:
        t = rules_template(settings, load_template("stories"))["template"]
        scratch = f"{settings.alert_rules_alias}-test-{uuid4().hex[:12]}"
        es.request("PUT", f"/{scratch}", {"settings": t["settings"], "mappings": t["mappings"]})
        try:
            es.request("PUT", f"/{scratch}/_doc/{rule.name}", {"query": rule.percolator_query(),
                                                             "rule": rule.definition()},
                       params={"refresh": "true"})
            resp = es.request("POST", f"/{scratch}/_search", body)
        finally:
            es.request("DELETE", f"/{scratch}", ok=(404,))
    hits = resp["hits"]["hits"]
    if not hits:
        return None
    return snippet(hits[0].get("highlight") or {}, 0, 1)
