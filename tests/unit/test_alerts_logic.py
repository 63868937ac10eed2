"""Unit tests of the alerts package's pure parts: rules, the rules file, events, percolate request/response, webhook."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from marsad.alerts.demo import DEMO_RULES
from marsad.alerts.events import AlertEvent, alert_id
from marsad.alerts.percolate import percolate_body, snippet
from marsad.alerts.rules import RuleError, make_rule, parse_rules_file
from marsad.alerts.webhook import WebhookStage, deliver
from marsad.errors import ConfigError, PermanentError
from marsad.index.templates import load_template, rules_template, schema_sha1
from marsad.kafka.worker import Record
from marsad.search import text_query
from marsad.settings import Settings
from tests.local_http import serve

Q = "حاملات طائرات"


def test_rule_query_is_search_semantics_plus_filters():
    r = make_rule(name="carriers", query=f"  {Q}\n ", source="aggregator", language="ar")
    assert r.query == Q  # whitespace folded
    q = r.percolator_query()["bool"]
    assert q["must"] == [text_query(Q)]
    assert q["filter"] == [{"term": {"source": "aggregator"}}, {"term": {"language": "ar"}}]
    assert make_rule(name="c", query=Q).percolator_query()["bool"]["filter"] == []


@pytest.mark.parametrize("fields, fragment", [
    ({"name": "Carriers", "query": Q}, "not a slug"),
    ({"name": "حاملات", "query": Q}, "not a slug"),
    ({"name": "a b", "query": Q}, "not a slug"),
    ({"name": "ok", "query": "   "}, "query is empty"),
    ({"name": "ok", "query": "x" * 501}, "max 500"),
    ({"name": "ok", "query": Q, "webhook": "ftp://example.org/x"}, "not an http(s) URL"),
    ({"name": "ok", "query": Q, "webhook": "not a url"}, "not an http(s) URL"),
    ({"name": "ok", "query": Q, "colour": "red"}, "colour"),
])
def test_bad_rules_are_refused_with_the_reason(fields, fragment):
    with pytest.raises(RuleError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        make_rule(**fields)


def test_example_rules_file_is_valid():
    rules, problems = parse_rules_file(DEMO_RULES)
    assert problems == []
    assert {"name": "carriers", "query": Q, "source": None, "language": None, "webhook": None} in \
        [r.definition() for r in rules]


def test_rules_file_reports_every_bad_entry(tmp_path: Path):
    f = tmp_path / "rules.yaml"
    f.write_text(f"""
rules:
  - name: carriers
    query: {Q}
  - name: Bad Name
    query: x
  - just a string
  - name: carriers
    query: other words
  - name: hook
    query: y
    webhook: mailto:a@b.c
  - name: typo
    qeury: z
""", encoding="utf-8")
    rules, problems = parse_rules_file(f)
    assert [r.name for r in rules] == ["carriers"]
    text = [str(p) for p in problems]
    assert text[0].startswith("rule #2 (Bad Name): name:") and "not a slug" in text[0]
    assert text[1] == "rule #3: expected a mapping, got str"
    assert text[2] == "rule #4 (carriers): duplicate rule name 'carriers'"
    assert text[3].startswith("rule #5 (hook): webhook:")
    assert "rule #6 (typo)" in text[4] and "query" in text[4] and "qeury" in text[4]


@pytest.mark.parametrize("content", ["rules: {a: 1}\n", "- name: x\n", "rules: [\n"])
def test_rules_file_of_the_wrong_shape_is_a_config_error(tmp_path: Path, content: str):
    f = tmp_path / "rules.yaml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="rules file"):
        parse_rules_file(f)


def test_cli_load_refuses_a_bad_file_before_touching_elasticsearch(tmp_path: Path, monkeypatch):
    from marsad.cli import app

    monkeypatch.setenv("MARSAD_ES_URL", "http://127.0.0.1:1")  # nothing listens: must not be reached
    f = tmp_path / "rules.yaml"
    f.write_text("rules:\n  - name: ok\n    query: x\n  - name: BAD\n    query: y\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["alerts", "load", str(f)])
    out = " ".join(res.output.split())  # rich wraps long lines
    assert res.exit_code == 2
    assert "1 bad entries, nothing loaded" in out and "rule #2 (BAD)" in out
    res = CliRunner().invoke(app, ["alerts", "add", "Not A Slug", Q])
    assert res.exit_code == 2 and "not a slug" in " ".join(res.output.split())


def test_alert_id_is_stable_per_rule_and_story():
    a = alert_id("carriers", "s1")
    assert a == alert_id("carriers", "s1") and len(a) == 40
    assert len({a, alert_id("carriers", "s2"), alert_id("other", "s1"), alert_id("carriers\ns", "1")}) == 4


def _event(**kw) -> AlertEvent:
    base = dict(alert_id=alert_id("carriers", "s1"), rule="carriers", query=Q, story_id="s1", title="t",
                url="http://a/1", canonical_url="http://a/1", source="agg",
                published_at=datetime(2026, 1, 16, tzinfo=timezone.utc), snippet="⟦حاملات⟧ ⟦طائرات⟧",
                fired_at=datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc))
    base.update(kw)
    return AlertEvent(**base)


def test_event_round_trip_and_sent_record():
    e = _event(webhook="http://hook/x")
    back = AlertEvent.from_json(e.to_json())
    assert back == e
    rec = e.sent_record()
    assert rec["kind"] == "alert" and rec["alert_id"] == e.alert_id and rec["published_at"].startswith("2026-01-16")
    with pytest.raises(PermanentError, match="bad-alert"):
        AlertEvent.from_json(b'{"rule": "x"}')


def test_percolate_body_pages_by_rule_name():
    docs = [{"title": "a", "text": "b", "source": "s", "language": "ar"}]
    body = percolate_body(docs)
    assert body["query"] == {"percolate": {"field": "query", "documents": docs}}
    assert body["sort"] == [{"rule.name": "asc"}] and "search_after" not in body
    assert percolate_body(docs, after="m")["search_after"] == ["m"]


def test_snippet_follows_the_document_slot():
    hl = {"1_text": ["… توجه ⟦حاملات⟧ ⟦طائرات⟧ …"], "0_title": ["⟦حاملات⟧ الطائرات"],
          "0_text.exact": ["x ⟦y⟧\n z"]}
    assert snippet(hl, 1, 2) == "… توجه ⟦حاملات⟧ ⟦طائرات⟧ …"
    assert snippet(hl, 0, 2) == "x ⟦y⟧ z"  # body before title, whitespace folded
    assert snippet({"title": ["⟦a⟧"]}, 0, 1) == "⟦a⟧"  # one document: keys without slot prefix
    assert snippet({"title": ["⟦a⟧"]}, 0, 2) == ""


def test_rules_template_copies_the_stories_analysis_and_fields():
    stories = load_template("stories")
    t = rules_template(Settings(), stories)
    assert t["index_patterns"] == ["marsad-alert-rules-v*"]
    assert t["template"]["settings"]["analysis"] == stories["template"]["settings"]["analysis"]
    props = t["template"]["mappings"]["properties"]
    for f in ("title", "text", "source", "language"):
        assert props[f] == stories["template"]["mappings"]["properties"][f]
    assert props["query"] == {"type": "percolator"}
    sha = t["template"]["mappings"]["_meta"]["schema_sha1"]
    changed = load_template("stories")
    changed["template"]["settings"]["analysis"]["analyzer"]["marsad_arabic"]["filter"].append("arabic_stem")
    assert rules_template(Settings(), changed)["template"]["mappings"]["_meta"]["schema_sha1"] != sha
    assert sha == schema_sha1(t["template"]["settings"]["analysis"], props)
    clash = load_template("stories")
    clash["template"]["mappings"]["properties"]["rule"] = {"type": "keyword"}
    with pytest.raises(ConfigError, match="collide"):
        rules_template(Settings(), clash)


def _client(statuses: list[int], seen: list[httpx.Request]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = statuses.pop(0)
        if status == 0:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)

    return httpx.Client(transport=httpx.MockTransport(handler))


FAST = Settings(webhook_backoff_s=0.0, webhook_max_attempts=3, allow_private_hosts=["hook.example", "h"])


def test_webhook_retries_transient_failures_then_delivers():
    seen: list[httpx.Request] = []
    e = _event(webhook="http://hook.example/in")
    assert deliver(e, _client([0, 503, 200], seen), FAST) == 3
    assert [r.headers["x-marsad-alert-id"] for r in seen] == [e.alert_id] * 3
    assert AlertEvent.from_json(seen[-1].content) == e


def test_webhook_gives_up_after_the_attempts_and_refuses_on_4xx():
    seen: list[httpx.Request] = []
    with pytest.raises(PermanentError) as exc:
        deliver(_event(webhook="http://hook.example/in"), _client([503, 429, 0], seen), FAST)
    assert exc.value.reason == "webhook-failed" and "ConnectError" in exc.value.detail and len(seen) == 3
    seen.clear()
    with pytest.raises(PermanentError) as exc:
        deliver(_event(webhook="http://hook.example/in"), _client([404], seen), FAST)
    assert exc.value.reason == "webhook-rejected" and len(seen) == 1


def test_webhook_stage_outcomes():
    seen: list[httpx.Request] = []
    stage = WebhookStage(FAST, client=_client([200, 400], seen))
    recs = [Record("t", 0, n, None, v) for n, v in enumerate([
        _event(webhook="http://h/1").to_json(), _event().to_json(), _event(webhook="http://h/2").to_json(),
        b"not json"])]
    out = stage.process_batch(recs)
    assert [o.label for o in out[:2]] == ["delivered", "no-webhook"]
    assert out[2].error.reason == "webhook-rejected" and out[3].error.reason == "bad-alert"


def test_webhook_batches_fit_in_the_poll_interval():
    from marsad.alerts.webhook import webhook_batch_size, worst_case_s

    s = Settings()
    assert worst_case_s(s) == 3 * 5.0 + 0.5 + 1.0
    assert webhook_batch_size(s) == 18
    assert webhook_batch_size(Settings(webhook_timeout_s=400)) == 1
    assert webhook_batch_size(Settings(webhook_timeout_s=0.1, batch_size=50)) == 50


def test_webhook_to_a_private_address_is_refused_without_a_request():
    seen: list[httpx.Request] = []
    for url in ("http://127.0.0.1:8080/x", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook"):
        with pytest.raises(PermanentError) as exc:
            deliver(_event(webhook=url), _client([200], seen), FAST)
        assert exc.value.reason == "webhook-refused" and "MARSAD_ALLOW_PRIVATE_HOSTS" in exc.value.detail
    assert seen == []
    allowed = FAST.model_copy(update={"allow_private_hosts": ["127.0.0.1"]})
    assert deliver(_event(webhook="http://127.0.0.1:8080/x"), _client([200], seen), allowed) == 1


@pytest.mark.parametrize("query", ["OR", '""', "«»", "OR OR", '" "'])
def test_a_rule_with_nothing_to_search_for_is_refused_not_a_crash(tmp_path: Path, monkeypatch, query):
    # such a query passed validation and then raised a bare ValueError from percolator_query() inside
    # RuleStore.put: `alerts add` crashed with a traceback, and `alerts load` crashed after storing the rules
    # listed before it (its promise "nothing is changed when any entry is invalid" broken)
    with pytest.raises(RuleError, match="nothing to search for"):
        make_rule(name="r", query=query)
    f = tmp_path / "rules.yaml"
    f.write_text(f"rules:\n  - name: ok\n    query: {Q}\n  - name: bad\n    query: '{query}'\n", encoding="utf-8")
    rules, problems = parse_rules_file(f)
    assert [r.name for r in rules] == ["ok"]
    assert len(problems) == 1 and "rule #2 (bad)" in str(problems[0]) and "nothing to search for" in str(problems[0])
    from marsad.cli import app

    monkeypatch.setenv("MARSAD_ES_URL", "http://127.0.0.1:1")  # refused before Elasticsearch is reached
    res = CliRunner().invoke(app, ["alerts", "add", "bad", query])
    assert res.exit_code == 2 and "nothing to search for" in " ".join(res.output.split())


def _self_signed(tmp_path: Path) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 (cert and key PEM paths)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    c, k = tmp_path / "cert.pem", tmp_path / "key.pem"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return str(c), str(k)


_TRICKLED_ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-slow: " + b"y" * 60 + b"\r\n\r\n"


def _trickling_receiver(sent: list[int], stop: threading.Event) -> type[BaseHTTPRequestHandler]:
    """A webhook receiver that answers one byte every 0.3 s; ``sent`` gets, per connection, the bytes of the
    answer written before the client hung up."""

    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("content-length") or 0))
            sent.append(0)
            try:
                for b in _TRICKLED_ANSWER:
                    if stop.is_set():
                        return
                    self.wfile.write(bytes([b]))
                    sent[-1] += 1
                    time.sleep(0.3)
            except OSError:
                return  # the client hung up: what the test wants; sent[-1] says after how many bytes

        def log_message(self, *args: object) -> None:
            pass

    return Trickle


def _recording_receiver(got: list[str], status: int) -> type[BaseHTTPRequestHandler]:
    """A receiver that records each request line in ``got`` and answers ``status`` with no body."""

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("content-length") or 0))
            got.append(self.requestline)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Recorder


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_webhook_that_trickles_its_answer_is_cut_at_the_timeout(scheme, tmp_path: Path):
    # An attempt must end after webhook_timeout_s in all (a deadline, not a per-read timeout): worst_case_s /
    # webhook_batch_size assume it, and a receiver (or a proxy) answering one byte every 0.3 s would otherwise keep
    # a POST alive for as long as it trickles, the batch outlive max.poll.interval.ms and the consumer be evicted
    # and the batch redelivered to the same receiver, forever. (https: the deadline must cut the TLS socket, the
    # plain one is detached by the TLS wrap.)
    stop = threading.Event()
    sent: list[int] = []
    tls = None
    if scheme == "https":
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*_self_signed(tmp_path))
    s = Settings(webhook_timeout_s=1.0, webhook_max_attempts=2, webhook_backoff_s=0.0,
                 allow_private_hosts=["127.0.0.1"])
    with serve(_trickling_receiver(sent, stop), tls=tls) as base:
        try:
            with pytest.raises(PermanentError) as exc:
                deliver(_event(webhook=f"{base}/hook"), httpx.Client(verify=False), s)
        finally:
            stop.set()
    assert exc.value.reason == "webhook-failed"
    # Counted at the receiver, not by the test's clock: both attempts were cut mid-answer. The receiver sends a byte
    # every 0.3 s (the whole answer: len(answer) × 0.3 ≈ 27 s); a deadline of 1 s lets ≈ 4 bytes through, and 8 is
    # twice that (a loaded machine fires the timer late); a per-read timeout lets them all through, a deadline of 5 s
    # ≈ 17 (both seen failing).
    assert len(sent) == 2, sent
    assert all(n <= 2 * round(1.0 / 0.3) for n in sent), (sent, len(_TRICKLED_ANSWER))


def test_a_webhook_host_that_rebinds_to_a_private_address_is_refused(monkeypatch):
    # The guard checks the address actually connected to, not only the one check_address resolved: a host that
    # answers a public address to the check and 127.0.0.1 to the connection (DNS rebinding) would otherwise get
    # the POST delivered to a loopback service.
    got: list[str] = []
    real = socket.getaddrinfo
    calls = []

    def rebinding(host, port_, *a, **kw):
        if host != "rebind.example":
            return real(host, port_, *a, **kw)
        calls.append(host)
        ip = "93.184.216.34" if len(calls) == 1 else "127.0.0.1"  # public to the check, loopback to the connect
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port_))]

    for k in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(k, raising=False)
    s = Settings(webhook_timeout_s=2.0, webhook_max_attempts=1, webhook_backoff_s=0.0)
    with serve(_recording_receiver(got, 200)) as base:
        port = int(base.rsplit(":", 1)[1])
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        with pytest.raises(PermanentError) as exc:
            deliver(_event(webhook=f"http://rebind.example:{port}/hook"), httpx.Client(), s)
    assert exc.value.reason == "webhook-refused" and "127.0.0.1" in exc.value.detail
    assert got == []  # nothing reached the loopback service


def test_a_webhook_through_a_configured_proxy_is_not_refused_for_the_proxy_address(monkeypatch):
    # the connected-peer check must not refuse the (often private) address of an egress proxy from HTTP(S)_PROXY:
    # the peer is then the proxy, not the webhook host (which check_address vetted)
    got: list[str] = []
    real = socket.getaddrinfo
    for k in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(k, raising=False)
    s = Settings(webhook_timeout_s=2.0, webhook_max_attempts=1, webhook_backoff_s=0.0)
    with serve(_recording_receiver(got, 204)) as proxy:
        monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **kw: (
            [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))] if host == "public.example"
            else real(host, *a, **kw)))
        monkeypatch.setenv("HTTP_PROXY", proxy)
        assert deliver(_event(webhook="http://public.example/hook"), httpx.Client(), s) == 1
    assert got and got[0].startswith("POST http://public.example/hook")
