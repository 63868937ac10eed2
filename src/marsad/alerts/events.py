"""The alert event (schema ``alert.v1``): what the alerts topic carries and a webhook receives.

Key on the alerts topic = :attr:`AlertEvent.alert_id` = :func:`alert_id` (rule name, story id): stable across
redeliveries and replays, so a consumer that sees an event twice (the at-least-once window in
:mod:`marsad.alerts.percolate`) can drop the second copy by id.
"""

from __future__ import annotations

import hashlib

import orjson
from pydantic import AwareDatetime, BaseModel, Field

from marsad.errors import PermanentError

ALERT_SCHEMA = "alert.v1"


def alert_id(rule: str, story_id: str) -> str:
    """``sha1(rule + "\\n" + story_id)`` as 40 hex chars: one id per (rule, story), whoever computes it."""
    return hashlib.sha1(f"{rule}\n{story_id}".encode()).hexdigest()


class AlertEvent(BaseModel):
    """One rule matched one newly created story.

    ``snippet`` is the matched passage with the matched words between ⟦ ⟧ (:data:`marsad.search.HL_PRE`/``HL_POST``),
    from the body or, when only the title matched, the title. ``published_at`` is the story's own date (may be old:
    a story indexed late still alerts); ``fired_at`` is when the index stage percolated it (UTC).
    ``webhook`` is the rule's webhook URL at firing time (``None``: topic only).
    """

    schema_: str = Field(default=ALERT_SCHEMA, alias="schema")
    alert_id: str
    rule: str
    query: str
    rule_source: str | None = None
    rule_language: str | None = None
    story_id: str
    title: str | None = None
    url: str
    canonical_url: str
    source: str
    language: str | None = None
    published_at: AwareDatetime | None = None
    snippet: str = ""
    fired_at: AwareDatetime
    webhook: str | None = None

    model_config = {"populate_by_name": True}

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", by_alias=True))

    @classmethod
    def from_json(cls, data: bytes | None) -> AlertEvent:
        """Parse an alerts-topic value. Raises :class:`PermanentError` (``bad-alert``)."""
        try:
            return cls.model_validate(orjson.loads(data or b""))
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise PermanentError("bad-alert", str(exc)[:300]) from exc

    def sent_record(self) -> dict:
        """The document written to the alerts-sent index (``_id`` = ``alert_id``)."""
        return {"alert_id": self.alert_id, "kind": "alert", "rule": self.rule, "rule_query": self.query,
                "story_id": self.story_id, "url": self.url, "title": self.title, "source": self.source,
                "published_at": self.published_at.isoformat() if self.published_at else None,
                "fired_at": self.fired_at.isoformat()}
