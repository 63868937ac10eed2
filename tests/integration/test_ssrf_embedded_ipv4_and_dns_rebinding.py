"""SSRF guard: IPv4 addresses embedded in IPv6 are checked like IPv4; the connection goes to the address that was
checked (no DNS rebinding). Real HTTP against a local server (:mod:`tests.integration.routed_site`), real SQLite state,
real Kafka where the path publishes."""

from __future__ import annotations

from collections import Counter

import pytest

from marsad.crawl.fetch import Fetcher, FetchRefused
from marsad.settings import Settings

from .routed_site import ARTICLE, HITS, ROUTES, crawl_settings


# --- SSRF: IPv4 addresses embedded in IPv6 ------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",   # NAT64 (RFC 6052) of 169.254.169.254
    "http://[64:ff9b:1::a9fe:a9fe]/",                  # local-use NAT64 prefix (RFC 8215)
    "http://[2002:a9fe:a9fe::1]/",                     # 6to4 of 169.254.169.254
    "http://[::127.0.0.1]/",                           # IPv4-compatible (deprecated) loopback
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo whose client is 10.0.0.1
])
def test_ipv4_embedded_in_ipv6_is_checked_like_ipv4(url):
    """ipaddress calls these IPv6 forms global, yet on a NAT64/6to4 network they reach the embedded IPv4 address
    (the cloud metadata service, loopback, the private network)."""
    from marsad.crawl.fetch import check_address

    with pytest.raises(FetchRefused) as e:
        check_address(url, Settings())
    assert e.value.reason == "private-address"


def test_a_public_ipv6_address_still_passes():
    from marsad.crawl.fetch import check_address

    check_address("http://[2606:4700:4700::1111]/", Settings())  # Cloudflare DNS: global, nothing embedded


# --- SSRF: DNS rebinding between the check and the connection -----------------------------------------------
def test_dns_rebinding_between_check_and_connect_is_refused(routed_site, tmp_path, monkeypatch):
    """check_address resolved the host, then httpx resolved it again to connect: a name whose first answer is
    public and the next one loopback/metadata (DNS rebinding, TTL 0) passed the guard and reached the private
    address. The connection must go to an address that was checked."""
    import socket

    port = int(routed_site.rsplit(":", 1)[1])
    ROUTES["/internal/admin-secret-98765"] = (200, {"Content-Type": "text/html"}, ARTICLE)
    real = socket.getaddrinfo
    asked: Counter = Counter()

    def rebinding(host, *args, **kw):
        if host == "rebind.example":
            asked[host] += 1
            ip = "93.184.216.34" if asked[host] == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, args[0] if args else port))]
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    HITS.clear()
    f = Fetcher(crawl_settings(tmp_path, obey_robots=False, fetch_retries=0))
    try:
        with pytest.raises(FetchRefused) as e:
            f.fetch(f"http://rebind.example:{port}/internal/admin-secret-98765", "routed")
    finally:
        f.close()
    assert e.value.reason == "private-address"
    assert HITS["/internal/admin-secret-98765"] == 0
