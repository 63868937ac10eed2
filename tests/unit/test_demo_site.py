"""Unit tests of marsad.demo.site and marsad.demo.server: a real HTTP server on 127.0.0.1, no Kafka / Elasticsearch.

Tests marked by the ``corpus`` fixture need the shared test corpus (``settings.corpus_dir``) and skip without it.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import httpx
import pytest
import yaml

from marsad.demo import site as demo_site
from marsad.demo.server import DemoServer, serve
from marsad.demo.site import (
    HTML_NO_CHARSET,
    HTML_UTF8,
    SAMPLE_SITE,
    Site,
    build_sites,
    corpus_available,
    decode_path,
    encode_path,
    write_registry,
)
from marsad.settings import load_settings

EXPECTED_PAGES = {
    "htmldate": 6,
    "lbc": 1,
    "cnn-arabic": 4,
    "assabah": 1,
    "fetch-util": 3,
    "chardet": 2,
    "republished": 2,
    "aggregator": 1,
}
FEED_SITES = ("skynews", "alarabiya", "bbc-arabic", "cnn-arabic-2018")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def corpus() -> Path:
    corpus_dir = load_settings().corpus_dir
    if not corpus_available(corpus_dir):
        pytest.skip(f"test corpus not found at {corpus_dir} (set MARSAD_CORPUS_DIR): data dependency missing")
    return corpus_dir


@pytest.fixture(scope="module")
def running(corpus: Path) -> Iterator[tuple[DemoServer, dict[str, Site]]]:
    port = _free_port()
    sites = build_sites(corpus, f"http://127.0.0.1:{port}")
    with serve(sites, port=port) as server:
        yield server, sites


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as c:
        yield c


def _page(sites: dict[str, Site], site: str, origin: str) -> demo_site.Page:
    return next(p for p in sites[site].pages if p.origin == origin)


# --- corpus sites ------------------------------------------------------------------------------------------------


def test_site_names_and_page_counts(running: tuple[DemoServer, dict[str, Site]]) -> None:
    _, sites = running
    assert set(sites) == set(EXPECTED_PAGES) | set(FEED_SITES)
    for name, count in EXPECTED_PAGES.items():
        assert len(sites[name].pages) == count, name
    for name in FEED_SITES:
        assert sites[name].pages, name
        assert sites[name].from_corpus
        assert sites[name].dropped_items == 0


def test_real_page_is_served_byte_exact(
    running: tuple[DemoServer, dict[str, Site]], client: httpx.Client, corpus: Path
) -> None:
    server, sites = running
    page = _page(sites, "lbc", "fundus/LBCGroup_2026_01_08.html")
    response = client.get(page.url(server.base_url))
    assert response.status_code == 200
    assert response.headers["content-type"] == HTML_UTF8
    assert response.content == (corpus / "fundus" / "LBCGroup_2026_01_08.html").read_bytes()


def test_every_page_is_served_as_built(running: tuple[DemoServer, dict[str, Site]], client: httpx.Client) -> None:
    server, sites = running
    for site in sites.values():
        for page in site.pages:
            response = client.get(page.url(server.base_url))
            assert response.status_code == 200, page.path
            assert response.content == page.body, page.path
            if not page.origin.startswith("generated:"):
                assert page.body == (load_settings().corpus_dir / page.origin).read_bytes()


def test_cnn_copies_have_distinct_urls(running: tuple[DemoServer, dict[str, Site]]) -> None:
    _, sites = running
    pages = sites["cnn-arabic"].pages
    assert len({p.path for p in pages}) == 4
    assert len({p.body for p in pages}) == 4  # byte-different copies of one article


def test_feed_parses_with_expected_items(
    running: tuple[DemoServer, dict[str, Site]], client: httpx.Client
) -> None:
    server, sites = running
    response = client.get(sites["htmldate"].feed_url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/rss+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    links = [entry.link for entry in feed.entries]
    assert len(links) == 7  # 6 pages + one deliberate duplicate
    assert len(set(links)) == 6
    assert all(entry.get("published_parsed") for entry in feed.entries)
    assert all(entry.title for entry in feed.entries)
    for link in set(links):
        assert client.get(link).status_code == 200, link


@pytest.mark.parametrize("name", FEED_SITES)
def test_rewritten_feeds_point_at_local_pages(
    running: tuple[DemoServer, dict[str, Site]], client: httpx.Client, name: str
) -> None:
    server, sites = running
    site = sites[name]
    feed = feedparser.parse(client.get(site.feed_url).content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == site.feed_items
    links = {entry.link for entry in feed.entries}
    assert len(links) == len(site.pages)
    for link in links:
        assert link.startswith(f"{server.base_url}/{name}/")
        response = client.get(link)
        assert response.status_code == 200, link
        assert b'<html lang="ar" dir="rtl">' in response.content
        assert b"<article>" in response.content


def test_every_feed_is_well_formed_rss(running: tuple[DemoServer, dict[str, Site]]) -> None:
    _, sites = running
    for site in sites.values():
        root = ET.fromstring(site.feed_xml)
        assert root.tag == "rss" and root.get("version") == "2.0", site.name
        assert len(root.findall("./channel/item")) == site.feed_items


def test_arabic_paths_round_trip(running: tuple[DemoServer, dict[str, Site]], client: httpx.Client) -> None:
    server, sites = running
    page = sites["alarabiya"].pages[0]
    assert not page.path.isascii()
    url = page.url(server.base_url)
    assert url.isascii() and "%D8" in url
    assert unquote(urlsplit(url).path) == page.path
    response = client.get(url)
    assert response.status_code == 200
    assert page.title in response.text


def test_encode_decode_path_round_trip() -> None:
    for path in ("/a/b c/د-هـ/", "/x/100%/y?z", "/skynews/middle-east/1166274-التحالف", "/ص+ق;=@"):
        encoded = encode_path(path)
        assert encoded.isascii()
        assert decode_path(encoded) == path


def test_chardet_pages_have_no_charset(running: tuple[DemoServer, dict[str, Site]], client: httpx.Client) -> None:
    server, sites = running
    for page in sites["chardet"].pages:
        response = client.get(page.url(server.base_url))
        assert response.headers["content-type"] == HTML_NO_CHARSET
        assert not demo_site.is_utf8(response.content)


def test_aggregator_page_is_built_from_the_seed(
    running: tuple[DemoServer, dict[str, Site]], client: httpx.Client, corpus: Path
) -> None:
    server, sites = running
    (page,) = sites["aggregator"].pages
    lines = [ln.strip() for ln in (corpus / "seed" / "republished-story.txt").read_text("utf-8").splitlines()]
    lines = [ln for ln in lines if ln]
    text = client.get(page.url(server.base_url)).text
    assert f"<title>{lines[0]}</title>" in text and f"<h1>{lines[0]}</h1>" in text
    assert '<html lang="ar" dir="rtl">' in text and '<meta charset="utf-8">' in text
    assert "حاملات طائرات" in text
    assert text.count("<p>سياسة</p>") == 4


def test_robots_404_and_head(running: tuple[DemoServer, dict[str, Site]], client: httpx.Client) -> None:
    server, sites = running
    robots = client.get(f"{server.base_url}/robots.txt")
    assert robots.status_code == 200 and "Allow: /" in robots.text
    assert client.get(f"{server.base_url}/nope/feed.xml").status_code == 404
    assert client.get(f"{server.base_url}/alarabiya/%D8%B2").status_code == 404
    page = sites["lbc"].pages[0]
    head = client.head(page.url(server.base_url))
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(page.body)
    assert head.content == b""


def test_registry_yaml_loads(running: tuple[DemoServer, dict[str, Site]], tmp_path: Path) -> None:
    server, sites = running
    path = tmp_path / "sources.yaml"
    write_registry(sites, server.base_url, path)
    sources = yaml.safe_load(path.read_text("utf-8"))["sources"]
    assert [s["name"] for s in sources] == list(sites)
    by_name = {s["name"]: s for s in sources}
    assert by_name["htmldate"] == {
        "name": "htmldate",
        "site": f"{server.base_url}/htmldate/",
        "feeds": [f"{server.base_url}/htmldate/feed.xml"],
        "language": "ar",
        "timezone": "Africa/Cairo",
        "schedule": "@hourly",
        "enabled": True,
    }
    assert by_name["lbc"]["timezone"] == "Asia/Beirut"
    assert by_name["assabah"]["timezone"] == "Africa/Tunis"
    for source in sources:
        ZoneInfo(source["timezone"])


# --- sample fallback ---------------------------------------------------------------------------------------------


def test_sample_fallback_without_corpus(tmp_path: Path, client: httpx.Client) -> None:
    missing = tmp_path / "no-corpus"
    assert not corpus_available(missing)
    port = _free_port()
    sites = build_sites(missing, f"http://127.0.0.1:{port}")
    assert list(sites) == [SAMPLE_SITE]
    site = sites[SAMPLE_SITE]
    assert not site.from_corpus
    assert 2 <= len(site.pages) <= 3
    with serve(sites, port=port) as server:
        feed = feedparser.parse(client.get(site.feed_url).content)
        assert not feed.bozo
        links = [entry.link for entry in feed.entries]
        assert len(links) == len(site.pages) + 1 and len(set(links)) == len(site.pages)
        texts = [client.get(link).text for link in set(links)]
        assert any("حاملات الطائرات" in t for t in texts)
        assert any("بيروت" in t for t in texts)
        assert any("المصدر:" in t for t in texts)
        assert client.get(f"{server.base_url}/robots.txt").status_code == 200
    registry = tmp_path / "reg.yaml"
    write_registry(sites, f"http://127.0.0.1:{port}", registry)
    assert yaml.safe_load(registry.read_text("utf-8"))["sources"][0]["name"] == SAMPLE_SITE


def test_server_stops(tmp_path: Path) -> None:
    sites = build_sites(tmp_path / "absent", "http://127.0.0.1:1")
    server = serve(sites, port=0)
    assert server.is_running()
    server.stop()
    assert not server.is_running()
    server.stop()  # idempotent
