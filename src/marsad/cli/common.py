"""What every command shares: settings from the environment, the one-line usage error, argument checks.

Exit codes: 0 ok, 1 a run failed, 2 usage or configuration error (one clear line on stderr).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import typer


def cli_settings():
    """Settings from the environment; a bad ``MARSAD_*`` value is a usage error (exit 2) naming the variable."""
    from pydantic import ValidationError

    from marsad.observability import setup_logging
    from marsad.settings import check_secret_files, load_settings

    try:
        settings = load_settings()
    except ValidationError as exc:
        fail("; ".join(_setting_error(e) for e in exc.errors()))
    try:  # the files this process will read: one line now rather than a traceback at the first request
        check_secret_files(("MARSAD_ES_PASSWORD_FILE", settings.es_password_file),
                           ("MARSAD_ES_API_KEY_FILE", settings.es_api_key_file),
                           ("MARSAD_ES_CA_CERTS", settings.es_ca_certs))
    except ValueError as exc:
        fail(str(exc))
    setup_logging(client_log_level=settings.client_log_level)
    _warn_unknown_settings()
    return settings


NOT_SETTINGS = ("MARSAD_SECRETS_DIR", "MARSAD_PRIVATE_STACK_DIR", "MARSAD_PRIVATE_STACK_PORT")
"""``MARSAD_*`` variables that are not settings on purpose: read by ``docker/make-secrets.sh`` and docker-compose, and
by the tests' private stacks."""


def _warn_unknown_settings() -> None:
    """One ``warning:`` line per ``MARSAD_*`` environment variable that names no setting (pydantic ignores them, so a
    misspelt or guessed name — ``MARSAD_ES_PASSWORD`` for ``MARSAD_ES_PASSWORD_FILE`` — would do nothing silently),
    with the closest setting names (difflib)."""
    import difflib
    import os

    from rich.markup import escape

    from marsad.observability import err_console
    from marsad.settings import Settings

    known = {f"MARSAD_{name.upper()}" for name in Settings.model_fields}
    for name in sorted(os.environ):
        upper = name.upper()
        if not upper.startswith("MARSAD_") or upper in known or upper in NOT_SETTINGS:
            continue
        longer = sorted(k for k in known if k.startswith(upper + "_"))  # MARSAD_ES_CA → MARSAD_ES_CA_CERTS
        close = list(dict.fromkeys(longer + difflib.get_close_matches(upper, sorted(known), n=2, cutoff=0.75)))[:2]
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        err_console.print(f"[bold yellow]warning:[/] {escape(name)} is not a Marsad setting and is ignored{hint}",
                          highlight=False, soft_wrap=True)


def _setting_error(e: Any) -> str:
    """One refused ``MARSAD_*`` value as ``MARSAD_NAME='value': why`` — the value with any URL password shown as
    ``***`` (:func:`marsad.settings.redact_url`) and left out entirely for a field named like a secret; pydantic's
    ``Value error, `` prefix dropped. A rule across fields (no ``loc``) is its message alone."""
    from marsad.settings import redact_url

    msg = str(e["msg"]).removeprefix("Value error, ")
    if not e["loc"]:
        return msg
    name = "_".join(map(str, e["loc"])).upper()
    value = e.get("input")
    if any(w in name for w in ("PASSWORD", "SECRET", "API_KEY", "TOKEN")):
        shown = "'***'"
    elif isinstance(value, str):
        shown = repr(redact_url(value))
    else:
        shown = repr(value)
    return f"MARSAD_{name}={shown}: {msg}"


def fail(msg: str, code: int = 2) -> None:
    """Print ``error: msg`` on stderr as one unwrapped line (rich would wrap it at the terminal width), exit ``code``
    (1 a run failed, 2 usage or configuration error)."""
    from rich.markup import escape

    from marsad.observability import err_console

    err_console.print(f"[bold red]error:[/] {escape(msg)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def input_file(value):
    """typer callback for file arguments: a missing file or a directory is one line and exit 2 (typer's own check
    prints a usage box)."""
    for path in value if isinstance(value, list) else [value]:
        if path is not None and not path.is_file():
            fail(f"{path}: {'is a directory' if path.is_dir() else 'no such file'}")
    return value


def web_url(url: str, option: str = "--url") -> str:
    """``url`` if it is an absolute http(s) URL with a host and a valid port; else a usage error naming
    ``option``."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError: port out of range (> 65535) / not a number
        host = parts.hostname
    except ValueError as exc:
        fail(f"{option} {url!r}: {exc}")
    if port == 0:  # urlsplit accepts it; TCP port 0 is reserved and no server listens on it (RFC 6335 §6)
        fail(f"{option} {url!r}: port 0 is not a port a page can be served from")
    if parts.scheme not in ("http", "https"):
        fail(f"{option} {url!r}: not an absolute http(s) URL")
    if not host:
        fail(f"{option} {url!r}: no host")
    return url


def aware_instant(value: str, option: str) -> datetime:
    """ISO 8601 date-time WITH an offset («2026-01-08T12:00:00+02:00», «…Z»); else a usage error."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        fail(f"{option} {value!r}: not an ISO 8601 date-time ({exc}); e.g. 2026-01-08T12:00:00+02:00")
    if when.tzinfo is None or when.utcoffset() is None:
        fail(f"{option} {value!r}: no time zone; add an offset, e.g. {when.isoformat()}+00:00 or Z")
    return when


def time_zone(name: str, option: str = "--tz") -> str:
    """``name`` if it is an IANA zone known to this machine (zoneinfo); else a usage error."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        fail(f"{option} {name!r}: not a known IANA time zone such as Asia/Beirut ({exc})")
    return name


class cannot_run:
    """Context manager: a Kafka/Elasticsearch outage (:class:`TransientError`, or a ``KafkaException`` a consumer
    raised) inside a command becomes one ``error:`` line and exit 1; a :class:`~marsad.errors.ConfigError` one line
    and exit 2."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> Literal[False]:
        from confluent_kafka import KafkaException

        from marsad.errors import ConfigError, TransientError

        if isinstance(exc, ConfigError):  # e.g. the Kafka password file became unreadable after start-up
            fail(f"{self.prefix}{exc}", 2)
        if isinstance(exc, TransientError):
            fail(f"{self.prefix}{exc} (is the stack up? `marsad stack up`)", 1)
        if isinstance(exc, KafkaException):
            fail(f"{self.prefix}Kafka failed: {exc} (is the stack up? `marsad stack up`)", 1)
        return False
