"""A thin Elasticsearch REST client on Elastic's own ``elastic-transport`` (connection pool, retries, JSON).

Why not the ``elasticsearch`` package: the local node is Elasticsearch 7.10.2 (the newest whose full module set
is on Maven Central, see docs/decisions.md). The 8.x Python client refuses servers older than 7.14 (no
``X-Elastic-Product`` header) and the 7.x clients pin ``urllib3<2``, which conflicts with trafilatura 2.3.
The REST API Marsad uses (bulk, search, index templates, aliases, analyze) is the same on 7.10, 8.x and 9.x.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from elastic_transport import ConnectionError as EsConnectionError
from elastic_transport import ConnectionTimeout, NodeConfig, Transport, TransportError

from marsad.errors import ConfigError, PermanentError, TransientError

if TYPE_CHECKING:
    from marsad.settings import Settings


class EsHttpError(Exception):
    """Elasticsearch answered with an HTTP error status; ``status`` and the decoded ``body`` are kept."""

    def __init__(self, status: int, body: Any, method: str, path: str) -> None:
        reason = body.get("error", body) if isinstance(body, dict) else body
        super().__init__(f"{method} {path} -> {status}: {str(reason)[:500]}")
        self.status = status
        self.body = body


class Es:
    """``request(method, path, body=None, params=None) -> dict``.

    Raises :class:`~marsad.errors.TransientError` when the node is unreachable or times out, and
    :class:`EsHttpError` for an HTTP status ≥ 400 not listed in ``ok`` (``401``: missing or wrong credentials,
    ``403``: the user lacks a privilege). Build it with :meth:`from_settings` so credentials and CA come along.
    """

    def __init__(self, url: str, request_timeout_s: float = 60.0, *, authorization: str | None = None,
                 ca_certs: Path | None = None) -> None:
        """``url``: ``Settings.es_url`` — one node, or several nodes of one cluster separated by commas.

        With several nodes, elastic-transport's node pool sends requests round-robin and, on a connection error or
        timeout, marks the node dead for a while (exponential back-off) and retries the request on another one; up
        to one retry per other node (at least 2), so a cluster with one node down still answers every request.

        ``authorization``: the ``Authorization`` header of every request (``Basic …`` / ``ApiKey …``, built from the
        settings by :meth:`from_settings`; elastic-transport hides it in reprs). ``ca_certs``: PEM CA file verifying
        ``https://`` nodes (default: the system trust store; certificates and host names are always verified).
        """
        from urllib.parse import urlsplit

        from marsad.settings import split_urls

        self.url = url
        nodes = []
        for one in split_urls(url):
            u = urlsplit(one)
            nodes.append(NodeConfig(u.scheme or "http", u.hostname or "127.0.0.1", u.port or 9200,
                                    request_timeout=request_timeout_s,
                                    headers={"authorization": authorization} if authorization else {},
                                    ca_certs=str(ca_certs) if ca_certs is not None and u.scheme == "https" else None))
        self._t = Transport(nodes, max_retries=max(2, len(nodes)), retry_on_timeout=True)

    @classmethod
    def from_settings(cls, settings: Settings, request_timeout_s: float = 60.0) -> Es:
        """A client of ``settings.es_url`` authenticating as the settings say: ``es_username`` +
        ``es_password_file`` (HTTP basic, RFC 7617), or ``es_api_key_file`` (``Authorization: ApiKey <encoded>``,
        Elasticsearch's API key scheme), or nothing (the OSS node of the local stack); ``es_ca_certs`` for TLS.
        Secret files are read here (surrounding whitespace stripped). Raises :class:`ConfigError` naming the file
        (never its contents) when one cannot be read or is empty."""
        import base64

        authorization = None
        if settings.es_api_key_file is not None:
            authorization = f"ApiKey {_read_secret(settings.es_api_key_file, 'MARSAD_ES_API_KEY_FILE')}"
        elif settings.es_username and settings.es_password_file is not None:
            password = _read_secret(settings.es_password_file, "MARSAD_ES_PASSWORD_FILE")
            token = base64.b64encode(f"{settings.es_username}:{password}".encode()).decode("ascii")
            authorization = f"Basic {token}"
        if settings.es_ca_certs is not None and not Path(settings.es_ca_certs).is_file():
            raise ConfigError(f"MARSAD_ES_CA_CERTS: {settings.es_ca_certs} is not a readable file")
        return cls(settings.es_url, request_timeout_s, authorization=authorization, ca_certs=settings.es_ca_certs)

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
                ok: tuple[int, ...] = ()) -> Any:
        if params:
            from urllib.parse import urlencode

            path = f"{path}?{urlencode({k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()})}"
        headers = {"accept": "application/json"}
        payload = None
        if body is not None:
            if isinstance(body, (bytes, str)):
                headers["content-type"] = "application/x-ndjson"
                payload = body.encode() if isinstance(body, str) else body
            else:
                headers["content-type"] = "application/json"
                payload = orjson.dumps(body)
        try:
            resp = self._t.perform_request(method, path, headers=headers, body=payload)
        except (EsConnectionError, ConnectionTimeout) as exc:
            raise TransientError(f"Elasticsearch at {self.url} unreachable: {exc}") from exc
        except TransportError as exc:
            raise TransientError(f"Elasticsearch transport error: {exc}") from exc
        status = resp.meta.status
        if status in (401, 403) and status not in ok:
            raise self._refused(status)
        if status >= 400 and status not in ok:
            if status in (429, 502, 503, 504):
                raise TransientError(f"Elasticsearch {method} {path} -> {status}")
            raise EsHttpError(status, resp.body, method, path)
        return resp.body

    def exists(self, path: str) -> bool:
        """``HEAD path`` is 200 (index, alias or template exists). Raises TransientError when unreachable."""
        try:
            status = self._t.perform_request("HEAD", path).meta.status
        except (EsConnectionError, ConnectionTimeout, TransportError) as exc:
            raise TransientError(f"Elasticsearch at {self.url} unreachable: {exc}") from exc
        if status in (401, 403):
            raise self._refused(status)
        return status == 200

    def _refused(self, status: int) -> ConfigError:
        """401 (credentials missing or wrong) or 403 (the user lacks a privilege) is a configuration error, not an
        outage: retrying does not fix it (Elasticsearch security: 401 authentication, 403 authorization)."""
        if status == 401:
            return ConfigError(f"Elasticsearch at {self.url} refused the credentials (401): check MARSAD_ES_USERNAME "
                               f"+ MARSAD_ES_PASSWORD_FILE or MARSAD_ES_API_KEY_FILE")
        return ConfigError(f"Elasticsearch at {self.url} refused the request (403): the user lacks a privilege on "
                           f"Marsad's indices (docs/scaling.md, \"Not open to the network\")")

    def bulk(self, lines: list[dict[str, Any]], refresh: bool | str = False) -> dict[str, Any]:
        """Send a bulk request (action/source dicts in order); returns the response with per-item results."""
        body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
        return self.request("POST", "/_bulk", body=body, params={"refresh": refresh})

    def close(self) -> None:
        self._t.close()


def _read_secret(path: Path, setting: str) -> str:
    """The stripped contents of the secret file ``path`` (UTF-8). Raises :class:`ConfigError` naming ``setting`` and
    the path when it cannot be read or is empty."""
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {type(exc).__name__}") from None
    if not value:
        raise ConfigError(f"{setting}: {path} is empty")
    return value


@dataclass(frozen=True)
class BulkItem:
    """One item of a ``_bulk`` response: its HTTP ``status`` and its result (``_id``, ``result``, ``error`` …).

    The one mapping from a per-item status to what Marsad does with it (Elasticsearch's bulk API answers each
    action on its own; the request's own status says nothing about them): 2xx done; 429 and 5xx **transient**
    (the node is busy or a shard unavailable: the batch is retried); ``document_missing`` (an ``update`` without
    upsert on a document that is gone) and ``conflict`` (409: a ``create`` whose id exists, a version conflict) for
    the caller to resolve; any other 4xx **permanent** for that record (dead-lettered with :meth:`permanent`)."""

    status: int
    body: dict[str, Any]

    @classmethod
    def of(cls, item: dict[str, Any]) -> BulkItem:
        (_, res), = item.items()
        return cls(int(res.get("status", 500)), res)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def transient(self) -> bool:
        return self.status == 429 or self.status >= 500

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def document_missing(self) -> bool:
        return self.status == 404 and "document_missing" in str(self.body.get("error", ""))

    def permanent(self, prefix: str = "es") -> PermanentError:
        """The dead-letter reason of a refused item: ``<prefix>-<ES error type>`` and the first 500 characters of
        Elasticsearch's reason."""
        err = self.body.get("error") or {}
        return PermanentError(f"{prefix}-{err.get('type', self.status)}", str(err.get("reason", ""))[:500])


def bulk_items(resp: dict[str, Any]) -> list[BulkItem]:
    """The items of a ``_bulk`` response, in request order (:class:`BulkItem`)."""
    return [BulkItem.of(it) for it in resp["items"]]


def doc_id(canonical_url: str) -> str:
    """Document ``_id`` for a canonical URL: SHA-1 hex (40 chars; ES ``_id`` limit is 512 bytes, URLs can exceed it)."""
    import hashlib

    return hashlib.sha1(canonical_url.encode("utf-8")).hexdigest()
