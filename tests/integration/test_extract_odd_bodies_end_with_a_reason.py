"""The extract worker on odd bodies (binary labelled HTML, a trafilatura exception, an article that outgrows the topic
limit after re-encoding): each record ends discarded or dead-lettered with a reason, the rest of the batch goes on."""

from __future__ import annotations

import gzip

import pytest

from marsad.kafka.clients import ensure_topics
from marsad.pipeline import extract_worker

from .helpers import publish, raw_page, read_all

pytestmark = pytest.mark.services


def _arabic_html(paragraphs: int) -> str:
    body = "".join(f"<p>الفقرة رقم {i}: هذا نص عربي طويل عن حاملات الطائرات في البحر المتوسط وما جرى هناك.</p>"
                   for i in range(paragraphs))
    return f"<html lang='ar'><head><title>خبر طويل</title></head><body><article>{body}</article></body></html>"


def test_binary_bodies_labelled_html_are_discarded_with_a_reason(names):
    ensure_topics(names)
    html = _arabic_html(10).encode()
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\n" + bytes(range(256)) * 40
    publish(names, [
        raw_page("https://a.example/gz", gzip.compress(html)),        # Content-Encoding lost: gzip bytes
        raw_page("https://a.example/pdf", pdf),
        raw_page("https://a.example/empty", b"   "),
    ])
    stats = extract_worker(names).run(until_idle=True)
    assert stats.consumed == 3
    assert stats.outcomes["discarded"] == 3, stats.as_dict()
    assert stats.reasons["discarded:not-html"] == 2 and stats.reasons["discarded:empty-body"] == 1


def test_trafilatura_exception_is_dead_lettered_and_rest_of_batch_continues(names, monkeypatch):
    import trafilatura

    real = trafilatura.bare_extraction

    def boom(html, url=None, **kw):
        if url and "boom" in url:
            raise RecursionError("maximum recursion depth exceeded")
        return real(html, url=url, **kw)

    monkeypatch.setattr(trafilatura, "bare_extraction", boom)
    ensure_topics(names)
    html = _arabic_html(10).encode()
    publish(names, [raw_page("https://a.example/boom", html), raw_page("https://a.example/fine", html)])
    stats = extract_worker(names).run(until_idle=True)
    assert stats.outcomes["ok"] == 1 and stats.outcomes["dead_lettered"] == 1
    dead = read_all(names, names.dead_letter_topic, 1)
    assert dict(dead[0].headers())["dlq.reason"] == b"unexpected-RecursionError"


def test_cp1256_page_whose_article_outgrows_the_topic_limit_is_dead_lettered(names):
    small = names.model_copy(update={"max_message_bytes": 190_000})
    ensure_topics(small)
    body = _arabic_html(2000).encode("cp1256")
    assert 150_000 < len(body) < small.max_message_bytes   # accepted on raw-pages
    publish(small, [raw_page("https://legacy.example/big", body, content_type="text/html; charset=windows-1256"),
                    raw_page("https://legacy.example/small", _arabic_html(5).encode("cp1256"),
                             content_type="text/html; charset=windows-1256")])
    stats = extract_worker(small).run(until_idle=True)
    assert stats.consumed == 2
    assert stats.outcomes["ok"] == 1 and stats.outcomes["dead_lettered"] == 1
