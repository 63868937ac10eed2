"""Unit tests of marsad.crawl.registry (sources.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from marsad.crawl.registry import Source, get_source, load_registry
from marsad.errors import ConfigError

REPO_SOURCES = Path(__file__).resolve().parents[2] / "sources.yaml"

VALID = """\
sources:
  - name: lbc
    site: https://www.lbcgroup.tv/
    feeds: [https://www.lbcgroup.tv/Rss/latest-news/ar]
    language: ar
    timezone: Asia/Beirut
    schedule: "@hourly"
    enabled: true
  - name: sky-news-arabia
    site: https://www.skynewsarabia.com/
    timezone: Asia/Dubai
    enabled: false
    max_items: 50
"""


def _write(tmp_path: Path, text: str, name: str = "sources.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def load_yaml_name(p: Path) -> str:
    return yaml.safe_load(p.read_text(encoding="utf-8"))["sources"][0]["name"]


def test_load_valid_registry(tmp_path):
    sources = load_registry(_write(tmp_path, VALID))
    assert [s.name for s in sources] == ["lbc", "sky-news-arabia"]
    lbc, sky = sources
    assert lbc.feeds == ["https://www.lbcgroup.tv/Rss/latest-news/ar"]
    assert lbc.timezone == "Asia/Beirut" and lbc.enabled and lbc.schedule == "@hourly"
    assert sky.enabled is False and sky.max_items == 50
    assert sky.feeds == [] and sky.language == "ar" and sky.schedule == "@hourly"  # defaults


def test_dag_id():
    assert Source(name="sky-news-arabia", site="https://x/").dag_id == "crawl_sky_news_arabia"
    assert Source(name="lbc", site="https://x/").dag_id == "crawl_lbc"


def test_get_source(tmp_path):
    p = _write(tmp_path, VALID)
    assert get_source(p, "lbc").timezone == "Asia/Beirut"
    with pytest.raises(ConfigError, match="nope"):
        get_source(p, "nope")


def test_duplicate_names_rejected(tmp_path):
    text = VALID + "  - name: lbc\n    site: https://other.example/\n"
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_registry(p)
    assert "duplicate" in str(exc.value) and "lbc" in str(exc.value)
    assert str(p) in str(exc.value)


def test_bad_timezone_names_the_file(tmp_path):
    p = _write(tmp_path, VALID.replace("Asia/Beirut", "Asia/Beyrouth"))
    with pytest.raises(ConfigError) as exc:
        load_registry(p)
    assert str(p) in str(exc.value)
    assert "Asia/Beyrouth" in str(exc.value)


@pytest.mark.parametrize("name", ["LBC", "lbc_tv", "-lbc", "lbc tv", "", "lbc\n", "قناة", "lbc.tv"])
def test_bad_name_slug_rejected(tmp_path, name):
    p = _write(tmp_path, yaml.safe_dump({"sources": [{"name": name, "site": "https://x/"}]}, allow_unicode=True))
    assert load_yaml_name(p) == name
    with pytest.raises(ConfigError) as exc:
        load_registry(p)
    assert str(p) in str(exc.value)


@pytest.mark.parametrize("text", ["", "sources: 3\n", "- name: lbc\n  site: x\n", "sources:\n  - site: x\n",
                                  "sources: [\n"])
def test_invalid_registry_is_config_error(tmp_path, text):
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_registry(p)
    assert str(p) in str(exc.value)


def test_missing_file(tmp_path):
    p = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as exc:
        load_registry(p)
    assert str(p) in str(exc.value)


def test_repo_sources_yaml_loads():
    sources = load_registry(REPO_SOURCES)
    assert sources
    names = [s.name for s in sources]
    assert len(names) == len(set(names))
    assert any(s.enabled for s in sources)
    assert all(s.dag_id.startswith("crawl_") and "-" not in s.dag_id for s in sources)
    assert all(s.site.startswith(("http://", "https://")) for s in sources)


def test_timezone_that_is_a_zoneinfo_directory_is_config_error(tmp_path):
    p = _write(tmp_path, VALID.replace("Asia/Beirut", "Asia"))
    with pytest.raises(ConfigError):
        load_registry(p)


def test_non_utf8_registry_is_config_error(tmp_path):
    p = tmp_path / "sources.yaml"
    p.write_bytes(("# مصادر الأخبار\n" + VALID).encode("cp1256"))
    with pytest.raises(ConfigError):
        load_registry(p)


def test_directory_path_is_config_error(tmp_path):
    with pytest.raises(ConfigError):
        load_registry(tmp_path)
