"""Installing index templates (``marsad/index/schema/*.json``, the single source of the schema) and aliases.

``apply_templates`` is idempotent: templates are (re)put, the first versioned stories index is created with
the alias as its write index only when the alias does not exist yet; an existing alias is left alone.
Consumers never create indices (the mappings are ``dynamic: strict`` and writing to a missing alias fails).
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from marsad.errors import ConfigError
from marsad.index.es import Es, EsHttpError
from marsad.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "schema"


def load_template(name: str, templates_dir: Path = TEMPLATES_DIR) -> dict[str, Any]:
    """The template body in ``<templates_dir>/<name>.json`` without its ``_comment`` key."""
    body = orjson.loads((templates_dir / f"{name}.json").read_bytes())
    body.pop("_comment", None)
    return body


ANALYSIS_META = "analysis_sha1"
"""Key in the stories mappings' ``_meta``: SHA-1 of the template's analysis settings the index was created with.
Analysis is fixed at index creation, and a changed analyzer *definition* under the same name is accepted by
``PUT _mapping`` without a word, so this is how ``templates apply`` tells an index built with older analysis."""


FINGERPRINT_META = "fingerprint_version"
"""Key in the stories mappings' ``_meta``: the near-duplicate fingerprint version
(:data:`marsad.dedup.near.FINGERPRINT_VERSION`, or the one :attr:`Settings.dedup_params` makes) the index was built
with. Stories of another version are never near-duplicate candidates (``dedup_version``), so after a change
``templates apply`` names the replay that builds a new index version (docs/decisions.md, «Fingerprint version»)."""


def replay_advice(next_index: str) -> str:
    """The instruction that rebuilds the stories into ``next_index`` and moves the aliases there (one text for every
    reason a new index version is needed)."""
    return ("Rebuild the stories into a new index version from the raw pages Kafka still holds, then move the "
            f"alias:\n  marsad replay --from 1970-01-01T00:00:00Z --index {next_index} --swap")


def analysis_sha1(template: dict[str, Any]) -> str:
    """SHA-1 (hex) of the canonical JSON of ``template["template"]["settings"]["analysis"]``."""
    analysis = template["template"]["settings"].get("analysis", {})
    return hashlib.sha1(orjson.dumps(analysis, option=orjson.OPT_SORT_KEYS)).hexdigest()


def stories_template(settings: Settings) -> dict[str, Any]:
    """The stories index template for ``settings``: index patterns ``<stories_index_prefix>*``, the analysis
    hash (:data:`ANALYSIS_META`) and the fingerprint version of ``settings.dedup_params`` (:data:`FINGERPRINT_META`)
    in ``mappings._meta``."""
    stories = load_template("stories")
    stories["index_patterns"] = [f"{settings.stories_index_prefix}*"]
    mappings = stories["template"]["mappings"]
    mappings["_meta"] = {**mappings.get("_meta", {}), ANALYSIS_META: analysis_sha1(stories),
                         FINGERPRINT_META: settings.dedup_params.version}
    return stories


def stale_analysis(es: Es, alias: str, sha: str) -> list[str]:
    """Indices behind ``alias`` whose ``_meta`` analysis hash is missing or differs from ``sha``."""
    mappings = es.request("GET", f"/{alias}/_mapping")
    return sorted(index for index, body in mappings.items()
                  if (body.get("mappings", {}).get("_meta") or {}).get(ANALYSIS_META) != sha)


def stale_fingerprints(es: Es, alias: str, version: str) -> dict[str, str | None]:
    """Indices behind ``alias`` whose recorded fingerprint version (``_meta``, :data:`FINGERPRINT_META`) is missing
    or differs from ``version``: ``{index: recorded version or None}``."""
    mappings = es.request("GET", f"/{alias}/_mapping")
    recorded = {index: (body.get("mappings", {}).get("_meta") or {}).get(FINGERPRINT_META)
                for index, body in mappings.items()}
    return {index: v for index, v in sorted(recorded.items()) if v != version}


class IncompatibleIndex(Exception):
    """The live stories index cannot take the current template's mappings (an analyzer or a field type changed).

    Everything else was applied; the live index needs a new version: :attr:`next_index` is the name to build
    (``marsad replay --from … --index <next_index> --swap`` rebuilds it from the raw pages). ``cause`` is
    Elasticsearch's refusal.
    """

    def __init__(self, alias: str, indices: list[str], next_index: str, cause: EsHttpError) -> None:
        super().__init__(f"{alias} ({', '.join(indices)}) was built with an older, incompatible template: {cause}")
        self.alias, self.indices, self.next_index, self.cause = alias, indices, next_index, cause


def apply_templates(settings: Settings, es: Es | None = None) -> dict[str, str]:
    """Put both templates; create the first stories and fingerprints indices (``…-v1``) behind their aliases.

    Returns a dict of what was done per object (``created``, ``exists``, ``updated``), and under the key
    ``fingerprint version <alias>`` (:func:`fingerprint_key`) the live indices whose stories were fingerprinted with
    another version than ``settings.dedup_params`` makes, with the replay that moves to a new index version: the index
    keeps working (new stories are written with the new version), but its older stories are no longer near-duplicate
    candidates. The recorded version is kept by the mapping update; only a new index version records the new one.
    Raises :class:`~marsad.index.es.EsHttpError` if Elasticsearch rejects a template, and
    :class:`IncompatibleIndex` (after applying everything else) when the live stories index cannot take the
    template's mappings.
    """
    es = es or Es.from_settings(settings)
    done: dict[str, str] = {}
    stories = stories_template(settings)
    es.request("PUT", f"/_index_template/{settings.stories_alias}", stories)
    done[f"template {settings.stories_alias}"] = "updated"
    fps = load_template("fingerprints")
    fps["index_patterns"] = [f"{settings.fingerprints_index}-v*"]
    es.request("PUT", f"/_index_template/{settings.fingerprints_index}", fps)
    done[f"template {settings.fingerprints_index}"] = "updated"

    incompatible: IncompatibleIndex | None = None
    if es.exists(f"/_alias/{settings.stories_alias}"):
        done[f"alias {settings.stories_alias}"] = "exists"
        meta = stories["template"]["mappings"]["_meta"]
        stale = stale_analysis(es, settings.stories_alias, meta[ANALYSIS_META])
        old_fps = stale_fingerprints(es, settings.stories_alias, meta[FINGERPRINT_META])
        try:
            if stale:  # checked before the mapping update, which would write the new hash into _meta
                raise EsHttpError(400, f"analysis of {', '.join(stale)} differs from the template's (analyzers "
                                  "are fixed when an index is created)", "GET", f"/{settings.stories_alias}/_mapping")
            done.update(update_mappings(es, settings.stories_alias, stories["template"]["mappings"],
                                        keep_meta=(FINGERPRINT_META,)))
        except EsHttpError as exc:
            if exc.status != 400:
                raise
            incompatible = IncompatibleIndex(settings.stories_alias, alias_targets(es, settings.stories_alias),
                                             next_index_name(settings, es), exc)
        if old_fps and not incompatible:
            recorded = ", ".join(f"{index} was built with {v or 'an unrecorded version'}"
                                 for index, v in old_fps.items())
            done[fingerprint_key(settings)] = (
                f"{recorded}; this code fingerprints with {meta[FINGERPRINT_META]}. Near-duplicates of the stories "
                "indexed before the change start new stories (they are not candidates). "
                + replay_advice(next_index_name(settings, es)))
    else:
        es.request("PUT", f"/{settings.stories_index_v1}",
                   {"aliases": {settings.stories_alias: {"is_write_index": True}}})
        done[f"index {settings.stories_index_v1}"] = "created"
    if es.exists(f"/_alias/{settings.fingerprints_index}"):
        done[f"alias {settings.fingerprints_index}"] = "exists"
        done.update(update_mappings(es, settings.fingerprints_index, fps["template"]["mappings"]))
    else:
        es.request("PUT", f"/{settings.fingerprints_index}-v1",
                   {"aliases": {settings.fingerprints_index: {"is_write_index": True}}})
        done[f"index {settings.fingerprints_index}-v1"] = "created"
        rebuilt = rebuild_claims(settings, es)
        if rebuilt:
            done[f"claims rebuilt from {settings.stories_alias}"] = str(rebuilt)
    done.update(apply_alert_indices(settings, es, stories))
    if incompatible:
        raise incompatible
    return done


def fingerprint_key(settings: Settings) -> str:
    """The key of :func:`apply_templates`'s answer that reports stale fingerprints (absent when none are)."""
    return f"fingerprint version {settings.stories_alias}"


def start_empty_version(settings: Settings, es: Es, index: str) -> dict[str, list[str]]:
    """Create the stories version ``index`` (and its claims index) and move the read aliases to it at once.

    For a stack whose live index is :class:`IncompatibleIndex` and whose content can be rebuilt (the demo
    re-crawls and replays its pages); the old indices stay for a rollback. Returns :func:`swap_aliases`'s answer.
    """
    version = index_version(settings, index)
    create_index_version(settings, version, es)
    return swap_aliases(settings, version, es)


def update_mappings(es: Es, alias: str, mappings: dict[str, Any], keep_meta: tuple[str, ...] = ()) -> dict[str, str]:
    """Apply the template's mappings to the indices already behind ``alias`` (new fields are additive).

    A template only shapes indices created after it; without this, a field added to the template would make every
    write to the existing index fail (``dynamic: strict``). A change Elasticsearch refuses (a field's type or
    analyzer changed) raises :class:`~marsad.index.es.EsHttpError`: that needs a new index version and a replay.
    ``_meta`` is replaced as a whole by Elasticsearch; the keys in ``keep_meta`` keep each index's own value (or stay
    absent): they record what the index was built with, not what the template says now.
    """
    done = {}
    current = es.request("GET", f"/{alias}/_mapping") if keep_meta else {}
    for index in sorted(es.request("GET", f"/_alias/{alias}")):
        body = mappings
        if keep_meta:
            own = (current.get(index, {}).get("mappings", {}).get("_meta") or {})
            meta = {k: v for k, v in mappings.get("_meta", {}).items() if k not in keep_meta}
            meta.update({k: own[k] for k in keep_meta if k in own})
            body = {**mappings, "_meta": meta}
        es.request("PUT", f"/{index}/_mapping", body)
        done[f"mapping {index}"] = "updated"
    return done


REBUILD_SCRIPT = (
    "ctx._id = ctx._source.remove('content_hash'); "
    "ctx._source.claimed_at = ctx._source.remove('indexed_at');"
)


def rebuild_claims(settings: Settings, es: Es) -> int:
    """Re-create fingerprint claims from the stories (``content_hash`` → owner) after the claims index was lost.

    Without this, a copy of an already indexed text would become a second story. Uses ``_reindex`` with
    ``op_type=create`` (existing claims win). Returns the number of claims created (0 when there are no stories).
    """
    if not es.exists(f"/_alias/{settings.stories_alias}"):
        return 0
    resp = es.request("POST", "/_reindex", {
        "conflicts": "proceed",
        "source": {"index": settings.stories_alias, "_source": ["content_hash", "canonical_url", "story_id",
                                                                "indexed_at"]},
        "dest": {"index": settings.fingerprints_index, "op_type": "create"},
        "script": {"lang": "painless", "source": REBUILD_SCRIPT},
    }, params={"refresh": True})
    return int(resp.get("created", 0))


# --- index versions (replay into a new index, then move the aliases) -------------------------------------
@dataclass(frozen=True)
class IndexVersion:
    """The Elasticsearch objects of one index version ``<prefix><version>``.

    * ``stories_index`` / ``fingerprints_index``: the concrete indices, e.g. ``marsad-stories-v2`` and
      ``marsad-fingerprints-v2`` (fingerprint claims point at story ids of one stories index, so each stories
      version has its own claims);
    * ``stories_write_alias`` / ``fingerprints_write_alias``: aliases pointing only at this version
      (``<index>.write``), so the normal index stage, which writes with ``require_alias``, can be pointed at
      the version by settings alone while the read aliases stay on the live version.
    """

    version: str
    stories_index: str
    fingerprints_index: str

    @property
    def stories_write_alias(self) -> str:
        return f"{self.stories_index}.write"

    @property
    def fingerprints_write_alias(self) -> str:
        return f"{self.fingerprints_index}.write"


def index_version(settings: Settings, index: str) -> IndexVersion:
    """Parse a stories index name ``<stories_index_prefix><version>`` (e.g. ``marsad-stories-v2``).

    The name must carry the prefix so the stories template (``index_patterns = <prefix>*``) shapes it; the
    version must be lowercase letters, digits, ``-`` or ``_`` (Elasticsearch index name rules, kept simple).
    Raises :class:`ValueError` with the expected form otherwise.
    """
    prefix = settings.stories_index_prefix
    version = index[len(prefix):] if index.startswith(prefix) else ""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", version):
        raise ValueError(f"index {index!r} must be named {prefix}<version> (e.g. {prefix}2) so the stories "
                         f"template applies; version: lowercase letters, digits, - or _")
    return IndexVersion(version, index, f"{settings.fingerprints_index}-v{version}")


def alias_targets(es: Es, alias: str) -> list[str]:
    """Indices the alias points at, sorted (``[]`` when the alias does not exist)."""
    return sorted(es.request("GET", f"/_alias/{alias}", ok=(404,)).keys() - {"error", "status"})


def put_templates(settings: Settings, es: Es) -> None:
    """(Re)put the stories and fingerprints index templates, as :func:`apply_templates` does, without touching
    existing indices (a template change the live index cannot take is exactly what a new version is for)."""
    es.request("PUT", f"/_index_template/{settings.stories_alias}", stories_template(settings))
    fps = load_template("fingerprints")
    fps["index_patterns"] = [f"{settings.fingerprints_index}-v*"]
    es.request("PUT", f"/_index_template/{settings.fingerprints_index}", fps)


def create_index_version(settings: Settings, version: IndexVersion, es: Es) -> dict[str, str]:
    """Create the version's stories and fingerprints indices (from the templates) with their write aliases.

    Idempotent: an existing index of the version is reused (a replay re-run writes the same ids). Raises
    :class:`ValueError` when the version is the one the read alias points at: a replay never writes into the
    live index. Returns what was done per object (``created`` / ``exists``).
    """
    live = alias_targets(es, settings.stories_alias) + alias_targets(es, settings.fingerprints_index)
    for name in (version.stories_index, version.fingerprints_index):
        if name in live:
            raise ValueError(f"{name} is the live index behind the read alias; replay into a new version")
    put_templates(settings, es)
    done = {}
    for name, alias in ((version.stories_index, version.stories_write_alias),
                        (version.fingerprints_index, version.fingerprints_write_alias)):
        if es.exists(f"/{name}"):
            es.request("POST", "/_aliases", {"actions": [{"add": {"index": name, "alias": alias,
                                                                  "is_write_index": True}}]})
            done[f"index {name}"] = "exists"
        else:
            es.request("PUT", f"/{name}", {"aliases": {alias: {"is_write_index": True}}})
            done[f"index {name}"] = "created"
    return done


def swap_aliases(settings: Settings, version: IndexVersion, es: Es) -> dict[str, list[str]]:
    """Move the read aliases (stories and fingerprints) to ``version`` in ONE ``_aliases`` request.

    Elasticsearch applies the remove and add actions of one request atomically, so readers and the live index
    consumer see either the old or the new index, never none or both. The version's own write aliases stay (they
    only ever name that version). Returns ``{alias: [old indices before the swap]}``.
    """
    actions: list[dict[str, Any]] = []
    before: dict[str, list[str]] = {}
    for alias, index in ((settings.stories_alias, version.stories_index),
                         (settings.fingerprints_index, version.fingerprints_index)):
        before[alias] = alias_targets(es, alias)
        actions += [{"remove": {"index": old, "alias": alias}} for old in before[alias] if old != index]
        actions.append({"add": {"index": index, "alias": alias, "is_write_index": True}})
    es.request("POST", "/_aliases", {"actions": actions})
    return before


def next_index_name(settings: Settings, es: Es) -> str:
    """``<stories_index_prefix><N+1>`` where N is the highest numeric version among existing stories indices
    (1 when there is none), e.g. ``marsad-stories-v2`` next to ``marsad-stories-v1``."""
    prefix = settings.stories_index_prefix
    rows = es.request("GET", f"/_cat/indices/{prefix}*", params={"format": "json", "h": "index"}, ok=(404,))
    versions = [int(r["index"][len(prefix):]) for r in rows if isinstance(r, dict)
                and r.get("index", "")[len(prefix):].isdigit()] if isinstance(rows, list) else []
    return f"{prefix}{max(versions, default=1) + 1}"


# --- alert indices: rules (percolator) and alerts-sent --------------------------------------------------
def rules_template(settings: Settings, stories: dict[str, Any]) -> dict[str, Any]:
    """The rules index template: ``marsad/index/schema/alert-rules.json`` + the stories template's ``analysis``
    settings and every story field mapping (so ``text_query`` finds the same fields and analyzers), with
    ``_meta.schema_sha1`` over the assembled analysis + properties. Raises :class:`~marsad.errors.ConfigError` when a
    story field collides with the rule's own fields (``query``, ``rule``)."""
    t = load_template("alert-rules")
    t["index_patterns"] = [f"{settings.alert_rules_alias}-v*"]
    analysis = copy.deepcopy(stories["template"]["settings"].get("analysis", {}))
    own = t["template"]["mappings"]["properties"]
    story_props = copy.deepcopy(stories["template"]["mappings"]["properties"])
    clash = sorted(own.keys() & story_props.keys())
    if clash:
        raise ConfigError(f"stories template fields {clash} collide with the alert rule fields")
    props = {**story_props, **own}
    t["template"]["settings"]["analysis"] = analysis
    t["template"]["mappings"]["properties"] = props
    t["template"]["mappings"]["_meta"] = {"schema_sha1": schema_sha1(analysis, props)}
    return t


def schema_sha1(analysis: dict[str, Any], properties: dict[str, Any]) -> str:
    return hashlib.sha1(orjson.dumps({"analysis": analysis, "properties": properties},
                                     option=orjson.OPT_SORT_KEYS)).hexdigest()


def _version(index: str, alias: str) -> int:
    m = re.fullmatch(re.escape(alias) + r"-v(\d+)", index)
    return int(m.group(1)) if m else 0


def apply_alert_indices(settings: Settings, es: Es, stories: dict[str, Any]) -> dict[str, str]:
    """Put the rules and alerts-sent templates; create ``<alias>-v1`` behind each alias when missing.

    When the rules index behind the alias was built from other analysis settings or mappings (``_meta.schema_sha1``
    differs), the rules are reindexed into ``<alias>-v<N+1>`` (the percolator re-parses each query with the new
    analysis), the alias moves atomically and the old index is deleted. Run it while nobody edits rules.
    Returns what was done per object. Raises :class:`~marsad.index.es.EsHttpError` if Elasticsearch refuses.
    """
    done: dict[str, str] = {}
    rules_t = rules_template(settings, stories)
    alias = settings.alert_rules_alias
    es.request("PUT", f"/_index_template/{alias}", rules_t)
    done[f"template {alias}"] = "updated"
    sent_t = load_template("alerts-sent")
    sent_t["index_patterns"] = [f"{settings.alerts_sent_index}-v*"]
    es.request("PUT", f"/_index_template/{settings.alerts_sent_index}", sent_t)
    done[f"template {settings.alerts_sent_index}"] = "updated"

    want = rules_t["template"]["mappings"]["_meta"]["schema_sha1"]
    if not es.exists(f"/_alias/{alias}"):
        es.request("PUT", f"/{alias}-v1", {"aliases": {alias: {"is_write_index": True}}})
        done[f"index {alias}-v1"] = "created"
    else:
        [current] = sorted(es.request("GET", f"/_alias/{alias}"))
        mapping = es.request("GET", f"/{current}/_mapping")[current]["mappings"]
        if (mapping.get("_meta") or {}).get("schema_sha1") == want:
            done[f"alias {alias}"] = "exists"
        else:
            new = f"{alias}-v{_version(current, alias) + 1}"
            es.request("PUT", f"/{new}", {})
            moved = es.request("POST", "/_reindex", {"source": {"index": current}, "dest": {"index": new}},
                               params={"refresh": True})
            if moved.get("failures"):
                es.request("DELETE", f"/{new}", ok=(404,))
                raise ConfigError(f"rules could not move to {new} (the new analysis refuses them): "
                                  f"{str(moved['failures'][0])[:500]}")
            es.request("POST", "/_aliases", {"actions": [
                {"remove": {"index": current, "alias": alias}},
                {"add": {"index": new, "alias": alias, "is_write_index": True}},
            ]})
            es.request("DELETE", f"/{current}", ok=(404,))
            done[f"index {new}"] = f"created, {moved.get('created', 0)} rules moved from {current} (schema changed)"

    sent = settings.alerts_sent_index
    if es.exists(f"/_alias/{sent}"):
        done[f"alias {sent}"] = "exists"
        done.update(update_mappings(es, sent, sent_t["template"]["mappings"]))
    else:
        es.request("PUT", f"/{sent}-v1", {"aliases": {sent: {"is_write_index": True}}})
        done[f"index {sent}-v1"] = "created"
    return done
