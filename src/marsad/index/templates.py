"""Installing index templates (``index_templates/*.json``, the single source of the schema) and aliases.

``apply_templates`` is idempotent: templates are (re)put, the first versioned stories index is created with
the alias as its write index only when the alias does not exist yet; an existing alias is left alone.
Consumers never create indices (the mappings are ``dynamic: strict`` and writing to a missing alias fails).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from marsad.index.es import Es
from marsad.settings import REPO_ROOT, Settings

TEMPLATES_DIR = REPO_ROOT / "index_templates"


def load_template(name: str, templates_dir: Path = TEMPLATES_DIR) -> dict[str, Any]:
    """The template body in ``<templates_dir>/<name>.json`` without its ``_comment`` key."""
    body = orjson.loads((templates_dir / f"{name}.json").read_bytes())
    body.pop("_comment", None)
    return body


def apply_templates(settings: Settings, es: Es | None = None) -> dict[str, str]:
    """Put both templates; create the first stories and fingerprints indices (``…-v1``) behind their aliases.

    Returns a dict of what was done per object (``created``, ``exists``, ``updated``).
    Raises :class:`~marsad.index.es.EsHttpError` if Elasticsearch rejects a template.
    """
    es = es or Es(settings.es_url)
    done: dict[str, str] = {}
    stories = load_template("stories")
    stories["index_patterns"] = [f"{settings.stories_index_prefix}*"]
    es.request("PUT", f"/_index_template/{settings.stories_alias}", stories)
    done[f"template {settings.stories_alias}"] = "updated"
    fps = load_template("fingerprints")
    fps["index_patterns"] = [f"{settings.fingerprints_index}-v*"]
    es.request("PUT", f"/_index_template/{settings.fingerprints_index}", fps)
    done[f"template {settings.fingerprints_index}"] = "updated"

    if es.exists(f"/_alias/{settings.stories_alias}"):
        done[f"alias {settings.stories_alias}"] = "exists"
        done.update(update_mappings(es, settings.stories_alias, stories["template"]["mappings"]))
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
    from marsad.alerts.rules import apply_alert_indices  # rules index: the stories analysis and fields, copied

    done.update(apply_alert_indices(settings, es, stories))
    return done


def update_mappings(es: Es, alias: str, mappings: dict[str, Any]) -> dict[str, str]:
    """Apply the template's mappings to the indices already behind ``alias`` (new fields are additive).

    A template only shapes indices created after it; without this, a field added to the template would make every
    write to the existing index fail (``dynamic: strict``). A change Elasticsearch refuses (a field's type or
    analyzer changed) raises :class:`~marsad.index.es.EsHttpError`: that needs a new index version and a replay.
    """
    done = {}
    for index in sorted(es.request("GET", f"/_alias/{alias}")):
        es.request("PUT", f"/{index}/_mapping", mappings)
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
    return done
