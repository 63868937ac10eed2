"""Outcome types a stage raises; only :mod:`marsad.kafka.worker` decides what happens next.

* :class:`Discard` — the input is valid but not wanted (not an article, a duplicate, ...): counted, committed.
* :class:`PermanentError` — the input cannot be processed and retrying will not help: sent to the DLQ.
* :class:`TransientError` — the environment failed (broker, Elasticsearch, timeout): retried, never committed.
"""


class MarsadError(Exception):
    """Base class for Marsad's own errors."""


class Discard(MarsadError):
    """The message is deliberately not turned into output. ``reason`` is a short stable slug."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class PermanentError(MarsadError):
    """Processing failed for this message and will fail again; ``reason`` is a short stable slug."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class TransientError(MarsadError):
    """A dependency failed; the same message may succeed later."""


class ConfigError(MarsadError):
    """Settings, registry or environment are unusable; the message says what to fix."""


class Undecodable(PermanentError):
    """The bytes have no reading that is text: every candidate encoding gives mojibake by construction
    (:mod:`marsad.extract.decode`). Reason ``undecodable``; the extract stage's worker dead-letters the page."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("undecodable", detail)
