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


def test_missing_file_names_the_path_and_the_setting(tmp_path):
    # an installed package has no sources.yaml beside it: the message says which setting names the registry
    p = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as exc:
        load_registry(p)
    assert str(p) in str(exc.value) and "MARSAD_SOURCES_FILE" in str(exc.value)


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


# --- schema: file AND line of each mistake -------------------------------------------------------------------

def _error(tmp_path: Path, text: str) -> str:
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_registry(p)
    return str(exc.value)


def test_error_names_file_and_line_of_the_bad_field(tmp_path):
    text = VALID.replace('schedule: "@hourly"', 'schedule: "every hour"')
    msg = _error(tmp_path, text)
    line = text.splitlines().index('    schedule: "every hour"') + 1
    assert f"sources.yaml:{line}: sources[0].schedule:" in msg


def test_unknown_key_rejected_with_its_line(tmp_path):
    text = VALID + "  - name: typo\n    site: https://t.example/\n    feed: [https://t.example/rss]\n"
    msg = _error(tmp_path, text)
    line = text.splitlines().index("    feed: [https://t.example/rss]") + 1
    assert f"sources.yaml:{line}: sources[2].feed: unknown key" in msg


def test_every_error_is_listed_with_its_own_line(tmp_path):
    text = ("sources:\n"
            "  - name: a\n"
            "    site: ftp://a.example/\n"          # line 3
            "  - name: b\n"
            "    site: https://b.example/\n"
            "    language: arabic\n"                # line 6
            "    enabled: yes please\n")            # line 7
    msg = _error(tmp_path, text)
    assert ":3: sources[0].site:" in msg and "http(s)" in msg
    assert ":6: sources[1].language:" in msg
    assert ":7: sources[1].enabled:" in msg


def test_missing_field_points_at_the_entry(tmp_path):
    msg = _error(tmp_path, "sources:\n  - name: ok\n    site: https://ok.example/\n  - name: nosite\n")
    assert "sources.yaml:4: sources[1].site: Field required" in msg


def test_duplicate_name_reports_line_of_the_second(tmp_path):
    text = VALID + "  - name: lbc\n    site: https://other.example/\n"
    msg = _error(tmp_path, text)
    assert f"sources.yaml:{len(text.splitlines()) - 1}: duplicate" in msg


@pytest.mark.parametrize("field,value", [
    ("feeds", "[not a url]"), ("feeds", "[/relative/feed.xml]"), ("sitemaps", "[javascript:alert(1)]"),
    ("section_pages", "['http://x.example:99999/']"), ("feeds", "[https://a.example/f, https://a.example/f]"),
    ("schedule", "'61 * * * *'"), ("schedule", "'* * * * * *'"), ("schedule", "'@fortnightly'"),
    ("max_parallel", "0"), ("max_parallel", "100"), ("min_interval_s", "-1"), ("refetch_after_h", "0"),
    ("enabled", "'true'"), ("language", "AR"), ("max_items", "0"), ("poll_min_interval_s", "1"),
])
def test_bad_values_rejected(tmp_path, field, value):
    msg = _error(tmp_path, f"sources:\n  - name: s\n    site: https://s.example/\n    {field}: {value}\n")
    assert f"sources.yaml:4: sources[0].{field}:" in msg


@pytest.mark.parametrize("schedule", ["@hourly", "@daily", "@once", "@continuous", "*/15 * * * *",
                                      "0 6-22 * * MON-FRI", None])
def test_good_schedules_accepted(tmp_path, schedule):
    p = _write(tmp_path, yaml.safe_dump({"sources": [{"name": "s", "site": "https://s.example/",
                                                      "schedule": schedule}]}))
    assert load_registry(p)[0].schedule == schedule


def test_discovery_and_politeness_fields(tmp_path):
    p = _write(tmp_path, yaml.safe_dump({"sources": [{
        "name": "s", "site": "https://s.example/", "sitemaps": ["https://s.example/news-sitemap.xml"],
        "section_pages": ["https://s.example/politics/"], "max_parallel": 3, "min_interval_s": 1.5,
        "refetch_after_h": 12, "poll_min_interval_s": 300}]}))
    s = load_registry(p)[0]
    assert s.sitemaps == ["https://s.example/news-sitemap.xml"] and s.section_pages == ["https://s.example/politics/"]
    assert (s.max_parallel, s.min_interval_s, s.refetch_after_h, s.poll_min_interval_s) == (3, 1.5, 12, 300)
