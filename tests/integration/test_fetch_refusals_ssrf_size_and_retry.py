"""Fetch refusals and failures have an outcome: redirects to private/metadata addresses and invalid ports are refused,
an oversized page is dead-lettered with its metadata, a transient HTTP failure is retried on the next run (not marked
seen)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from marsad.crawl.fetch import Fetcher, FetchRefused, check_address
from marsad.crawl.registry import Source
from marsad.crawl.run import fetch_and_publish, seen_db
from marsad.dedup.urls import canonical_url
from marsad.kafka.clients import ensure_topics
from marsad.settings import Settings
from tests.local_http import serve

from .helpers import read_all

ARTICLE = ("<html><head><title>خبر</title></head><body><article>"
           + "<p>هذا نص عربي طويل عن حاملات الطائرات في البحر المتوسط.</p>" * 20
           + "</article></body></html>").encode()

ROUTES: dict[str, tuple[int, dict[str, str], bytes]] = {}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        status, headers, body = ROUTES.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if "Transfer-Encoding" in headers:  # chunked, no Content-Length: only the streamed cap can stop it
            for i in range(0, len(body), 65536):
                part = body[i:i + 65536]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    with serve(_Handler) as base:
        yield base


SRC = Source(name="refusals", site="http://127.0.0.1/")


# --- SSRF ---------------------------------------------------------------------------------------------
def test_redirect_from_allowed_host_to_metadata_address_is_refused(site, tmp_path):
    ROUTES["/meta"] = (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    f = Fetcher(Settings(allow_private_hosts=["127.0.0.1"], crawl_state_dir=tmp_path))  # politeness DB, WARC
    try:
        with pytest.raises(FetchRefused) as e:
            f.fetch(f"{site}/meta", "refusals")
    finally:
        f.close()
    assert e.value.reason == "private-address"


def test_ssrf_guard_refuses_cgnat_cloud_metadata_address():
    with pytest.raises(FetchRefused):
        check_address("http://100.100.100.200/latest/meta-data/", Settings())


def test_redirect_to_invalid_port_is_a_refusal_not_a_crash(site, names):
    ensure_topics(names)
    ROUTES["/badport"] = (302, {"Location": "http://news.example.com:99999/x"}, b"")
    ROUTES["/ok"] = (200, {"Content-Type": "text/html; charset=utf-8"}, ARTICLE)
    counts = fetch_and_publish(names, SRC, [f"{site}/ok", f"{site}/badport"])
    assert counts.get("published") == 1
    assert sum(v for k, v in counts.items() if k.startswith("refused:")) == 1


# --- size caps ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunked", [False, True])
def test_crawl_side_too_large_page_is_dead_lettered_with_metadata(site, names, chunked):
    s = names.model_copy(update={"max_page_bytes": 50_000})
    ensure_topics(s)
    headers = {"Content-Type": "text/html"}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    ROUTES["/big"] = (200, headers, b"<html><body>" + b"x" * 300_000 + b"</body></html>")
    counts = fetch_and_publish(s, SRC, [f"{site}/big"])
    assert counts["refused:too-large"] == 1 and counts["dead_lettered"] == 1
    dead = read_all(s, s.dead_letter_topic, 1)
    assert len(dead) == 1
    h = dict(dead[0].headers())
    assert h["dlq.reason"] == b"too-large" and h["dlq.stage"] == b"crawl"
    assert b"/big" in h["marsad.meta"]
    assert dead[0].key() == canonical_url(f"{site}/big").encode()


# --- refusals and the seen-URL state ------------------------------------------------------------------
def test_transient_http_failure_is_retried_next_run(site, names):
    ensure_topics(names)
    ROUTES["/flaky"] = (503, {"Retry-After": "60"}, b"busy")
    counts = fetch_and_publish(names, SRC, [f"{site}/flaky"])
    assert counts == {"refused:http-503": 1}
    seen = seen_db(names)
    try:
        assert not seen.seen(canonical_url(f"{site}/flaky"))
    finally:
        seen.close()
