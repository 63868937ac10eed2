"""The per-source ``charset`` of sources.yaml is validated with a clear line-numbered error, and
carried with every raw page (``RawPageMeta.charset``); raw-page records written before the field still parse."""

from __future__ import annotations

import orjson
import pytest
import yaml

from marsad.crawl.registry import load_registry
from marsad.errors import ConfigError
from marsad.messages import META_HEADER, RAW_PAGE_SCHEMA, SCHEMA_HEADER, RawPage


def _write(tmp_path, charset):
    p = tmp_path / "sources.yaml"
    p.write_text(yaml.safe_dump({"sources": [{"name": "old", "site": "https://old.example/", "charset": charset}]},
                                allow_unicode=True), "utf-8")
    return p


@pytest.mark.parametrize("charset", ["windows-1256", "cp1256", "cp-1256", "ISO-8859-6", "iso-8859-6-i", "utf-8"])
def test_known_charsets_are_accepted(tmp_path, charset):
    assert load_registry(_write(tmp_path, charset))[0].charset == charset


@pytest.mark.parametrize("charset,why", [("hex", "bytes-to-bytes"), ("cp037", "not ASCII-compatible"),
                                         ("windows-9999", "unknown"), ("", "empty")])
def test_unusable_charset_is_a_config_error_naming_the_line(tmp_path, charset, why):
    with pytest.raises(ConfigError) as exc:
        load_registry(_write(tmp_path, charset))
    msg = str(exc.value)
    assert "sources[0].charset" in msg and why in msg and "sources.yaml:" in msg


def test_raw_page_meta_carries_charset_and_old_records_still_parse():
    meta = {"url": "https://a.example/x", "final_url": "https://a.example/x", "canonical_url": "https://a.example/x",
            "status": 200, "fetched_at": "2026-01-01T00:00:00+00:00", "source": "old"}
    old = RawPage.from_kafka(b"<html>", [(SCHEMA_HEADER, RAW_PAGE_SCHEMA.encode()), (META_HEADER, orjson.dumps(meta))])
    assert old.meta.charset is None
    new = RawPage.from_kafka(b"<html>", [(SCHEMA_HEADER, RAW_PAGE_SCHEMA.encode()),
                                         (META_HEADER, orjson.dumps(meta | {"charset": "windows-1256"}))])
    assert new.meta.charset == "windows-1256"
    assert dict(new.to_kafka()[2])[META_HEADER].find(b'"charset":"windows-1256"') > 0
