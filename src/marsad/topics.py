"""The only place where Kafka topic names, consumer-group names and index/alias names are spelled.

Settings may prefix or override them (tests use their own names); everything else imports from here.
Topic names carry a schema version suffix (``.v1``) so that an incompatible wire change gets a new topic.
"""

RAW_PAGES = "marsad.raw-pages.v1"
"""Raw pages: key = canonical URL (UTF-8), value = the raw HTTP body bytes, metadata in headers."""

ARTICLES = "marsad.articles.v1"
"""Extracted articles: key = canonical URL, value = :class:`marsad.messages.Article` as JSON."""

DEAD_LETTER = "marsad.dead-letter.v1"
"""Dead letters: the original key/value/headers plus ``dlq.*`` headers naming the reason."""

ALERTS = "marsad.alerts.v1"
"""Alert events: key = alert id (sha1 of rule name + story id), value = :class:`marsad.alerts.events.AlertEvent`."""

OUTCOMES = "marsad.outcomes.v1"
"""The ledger (``cleanup.policy=compact``): key = ``<raw topic>/<partition>/<offset>/<stage>``, value = one
:mod:`marsad.ledger` outcome record (JSON) — what happened to that raw page in that stage."""

GROUP_EXTRACT = "marsad.extract"
GROUP_INDEX = "marsad.index"
GROUP_REPLAY_PREFIX = "marsad.replay"
"""Prefix of replay consumer groups: ``<prefix>.<index>.<UTC timestamp>``, a new group per replay (never the live
groups, whose offsets a replay must not move)."""
GROUP_DLQ_REPLAY = "marsad.dlq-replay"
"""Consumer group of ``marsad dlq replay`` (``.<reason>`` appended with ``--reason``): each dead letter once."""
GROUP_WEBHOOKS = "marsad.webhooks"

STORIES_ALIAS = "marsad-stories"
"""Read/write alias analysts and consumers use; points at one versioned index."""

STORIES_INDEX_PREFIX = "marsad-stories-v"
FINGERPRINTS_INDEX = "marsad-fingerprints"
"""Content fingerprint claims (``_id`` = content hash, created with ``op_type=create``)."""

ALERT_RULES_ALIAS = "marsad-alert-rules"
"""Percolator index of alert rules (``_id`` = rule name); analysis and story fields copied from the stories template."""

ALERTS_SENT_INDEX = "marsad-alerts-sent"
"""One document per fired alert (``_id`` = alert id, created with ``op_type=create``): the once-per-story record."""
