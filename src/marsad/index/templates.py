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
    else:
        es.request("PUT", f"/{settings.stories_index_v1}",
                   {"aliases": {settings.stories_alias: {"is_write_index": True}}})
        done[f"index {settings.stories_index_v1}"] = "created"
    if es.exists(f"/_alias/{settings.fingerprints_index}"):
        done[f"alias {settings.fingerprints_index}"] = "exists"
    else:
        es.request("PUT", f"/{settings.fingerprints_index}-v1",
                   {"aliases": {settings.fingerprints_index: {"is_write_index": True}}})
        done[f"index {settings.fingerprints_index}-v1"] = "created"
    return done
