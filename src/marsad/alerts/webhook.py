"""Webhook delivery: a consumer of the alerts topic that POSTs each event to its rule's webhook.

Ingest never waits for a webhook: the index stage only publishes to the alerts topic. This consumer (``marsad alerts
deliver``, group ``settings.webhook_group``) reads the topic and POSTs the event as JSON with the header
``X-Marsad-Alert-Id`` (receivers dedupe on it: delivery is at-least-once). Per event:

* 2xx → ``delivered``; an event without a webhook → ``no-webhook`` (counted, nothing to do);
* connection error, timeout, 408, 429 or 5xx → retried ``settings.webhook_max_attempts`` times with exponential
  backoff from ``settings.webhook_backoff_s``; then dead-lettered with reason ``webhook-failed``;
* any other 4xx → dead-lettered at once with reason ``webhook-rejected`` (the receiver refuses this event);
* a host resolving to a loopback, private, link-local or metadata address (the crawler's SSRF guard,
  :func:`marsad.crawl.fetch.check_address`) → ``webhook-refused`` unless listed in ``allow_private_hosts``.

A dead-lettered event keeps its payload (``marsad dlq replay`` can put it back on the alerts topic), so a webhook that
is down for a day loses nothing and blocks nobody; the cost per failing event is bounded by
``webhook_max_attempts × webhook_timeout_s`` plus the backoff.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
from prometheus_client import Counter as PromCounter

from marsad.alerts.events import AlertEvent
from marsad.crawl.fetch import FetchRefused, check_address
from marsad.errors import PermanentError
from marsad.settings import Settings
from marsad.stage import Outcome, Record

log = logging.getLogger(__name__)

WEBHOOKS = PromCounter("marsad_webhook_deliveries_total", "Webhook delivery attempts by result", ["result"])

RETRYABLE_STATUS = frozenset({408, 425, 429})
"""4xx statuses that mean "try again later" (RFC 9110 §15.5.9 Request Timeout, RFC 8470 Too Early,
RFC 6585 Too Many Requests); every 5xx is retried too."""


def _via_env_proxy(url: str) -> bool:
    """Does httpx (``trust_env``) send ``url`` through a proxy from ``HTTP(S)_PROXY``/``ALL_PROXY`` (not bypassed by
    ``NO_PROXY``)? The socket is then connected to the proxy, whose address says nothing about the webhook host."""
    import urllib.request

    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def post_within(client: httpx.Client, url: str, body: bytes, headers: dict[str, str],
                timeout_s: float, settings: Settings | None = None) -> httpx.Response:
    """POST ``body`` to ``url`` and return the complete response within ``timeout_s`` seconds in total.

    httpx's ``timeout`` bounds each connect/read/write separately, so a receiver that trickles its answer (a byte
    now and then) would hold the request for ever; :func:`worst_case_s` and :func:`webhook_batch_size` rely on an
    attempt ending after ``timeout_s``. A timer shuts the request's socket down at the deadline (the connection is
    new for each request: ``connection: close``), which ends the blocked read; that is raised as
    :class:`httpx.TimeoutException`. Other failures raise as httpx raises them.

    With ``settings``, the address the socket is actually connected to passes the SSRF guard too (the host may
    resolve differently for :func:`~marsad.crawl.fetch.check_address` and for the connection: DNS rebinding);
    a refused peer raises :class:`~marsad.crawl.fetch.FetchRefused` ``private-address`` before a byte is sent.
    Not when the request goes through an environment proxy (:func:`_via_env_proxy`): the peer is the proxy.
    """
    socks: list[socket.socket] = []
    host = urlsplit(url).hostname
    check_peer = (settings is not None and host not in settings.allow_private_hosts
                  and not (getattr(client, "trust_env", True) and _via_env_proxy(url)))

    def trace(name: str, info: dict) -> None:
        if name == "connection.start_tls.complete" and info.get("return_value") is not None:
            sock = info["return_value"].get_extra_info("socket")  # the TLS wrap detached the plain socket
            if sock is not None:
                socks.append(sock)
            return
        if name == "connection.connect_tcp.complete" and info.get("return_value") is not None:
            sock = info["return_value"].get_extra_info("socket")
            if sock is None:
                return
            socks.append(sock)
            if check_peer:
                peer = sock.getpeername()[0]
                ip = ipaddress.ip_address(peer.split("%")[0])
                if not ip.is_global or ip.is_multicast:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    raise FetchRefused("private-address", url, f"connected to {peer}")

    expired = threading.Event()

    def cut() -> None:
        expired.set()
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(timeout_s, cut)
    timer.daemon = True
    timer.start()
    try:
        return client.post(url, content=body, headers={**headers, "connection": "close"}, timeout=timeout_s,
                           extensions={"trace": trace})
    except httpx.HTTPError as exc:
        if expired.is_set():
            raise httpx.TimeoutException(f"no complete answer within {timeout_s:g} s") from exc
        raise
    finally:
        timer.cancel()


def deliver(event: AlertEvent, client: httpx.Client, settings: Settings) -> int:
    """POST ``event`` to ``event.webhook``; returns the number of attempts used.

    Raises :class:`PermanentError` ``webhook-rejected`` (non-retryable 4xx), ``webhook-refused`` (the host resolves to
    a loopback/private/metadata address not in ``settings.allow_private_hosts``) or ``webhook-failed`` (retries
    exhausted).
    """
    assert event.webhook is not None
    body = event.to_json()
    headers = {"content-type": "application/json", "x-marsad-alert-id": event.alert_id,
               "user-agent": settings.user_agent}
    last = ""
    delay = settings.webhook_backoff_s
    for attempt in range(1, settings.webhook_max_attempts + 1):
        try:
            check_address(event.webhook, settings)  # the crawler's SSRF guard: no loopback/private/metadata hosts
            resp = post_within(client, event.webhook, body, headers, settings.webhook_timeout_s, settings)
        except FetchRefused as exc:
            if exc.reason != "dns-error":
                WEBHOOKS.labels("refused").inc()
                raise PermanentError("webhook-refused", f"{event.webhook}: {exc.reason} {exc.detail} (hosts on "
                                     f"private networks must be listed in MARSAD_ALLOW_PRIVATE_HOSTS)") from exc
            last = f"dns-error: {exc.detail}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if resp.is_success:
                WEBHOOKS.labels("delivered").inc()
                return attempt
            last = f"HTTP {resp.status_code}"
            if resp.status_code < 500 and resp.status_code not in RETRYABLE_STATUS:
                WEBHOOKS.labels("rejected").inc()
                raise PermanentError("webhook-rejected", f"{event.webhook} answered {last} to alert {event.alert_id}")
        WEBHOOKS.labels("attempt_failed").inc()
        if attempt < settings.webhook_max_attempts:
            log.warning("webhook %s attempt %d failed (%s); retry in %.1f s", event.webhook, attempt, last, delay)
            time.sleep(delay)
            delay *= 2
    WEBHOOKS.labels("failed").inc()
    raise PermanentError("webhook-failed", f"{event.webhook}: {settings.webhook_max_attempts} attempts, last: {last}")


class WebhookStage:
    """Kafka stage over the alerts topic: one webhook POST per event that has a webhook (see module docstring)."""

    name = "webhook"

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(follow_redirects=False)

    def process_batch(self, records: list[Record]) -> list[Outcome]:
        outcomes = []
        for rec in records:
            try:
                event = AlertEvent.from_json(rec.value)
                if not event.webhook:
                    outcomes.append(Outcome(label="no-webhook"))
                    continue
                deliver(event, self.client, self.settings)
                outcomes.append(Outcome(label="delivered"))
            except PermanentError as exc:
                outcomes.append(Outcome(error=exc))
        return outcomes


def worst_case_s(settings: Settings) -> float:
    """Longest time one event can take: every attempt times out, plus the backoff between attempts (seconds)."""
    n = settings.webhook_max_attempts
    return n * settings.webhook_timeout_s + settings.webhook_backoff_s * (2 ** (n - 1) - 1)


def webhook_batch_size(settings: Settings) -> int:
    """Events per batch such that a batch of failing webhooks takes at most half of the consumers'
    ``max.poll.interval.ms`` (``settings.consumer_max_poll_interval_s``; 18 with the defaults: 600 s / 2 over
    3 × 5 s + 1.5 s per event), and never more than ``settings.batch_size``. A batch over it would get the consumer
    evicted and the batch redelivered — forever, if its webhooks keep failing."""
    return max(1, min(settings.batch_size,
                      int(settings.consumer_max_poll_interval_s / 2 // worst_case_s(settings))))


def webhook_worker(settings: Settings):
    """The ``marsad alerts deliver`` worker: alerts topic → webhooks, group ``settings.webhook_group``, batches of
    :func:`webhook_batch_size` events."""
    from marsad.kafka.worker import Worker

    settings = settings.model_copy(update={"batch_size": webhook_batch_size(settings)})
    return Worker(settings, WebhookStage(settings), settings.alerts_topic, settings.webhook_group)
