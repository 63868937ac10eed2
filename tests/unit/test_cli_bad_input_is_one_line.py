"""A user's mistake or a service that is down ends a `marsad` command with ONE line on stderr and exit code 2 (bad
usage) or 1 (cannot run) — never a traceback, never a flood of client log lines.

Run through the real command in a subprocess (librdkafka writes its log lines straight to file descriptor 2, which
an in-process runner would not see). "Down" is a closed localhost port, not a patched client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from marsad.crawl.archive import WarcArchive

HTML = ("<html><head><title>خبر</title></head><body><h1>عنوان الخبر الرئيسي في الصفحة</h1>"
        + "<p>" + "نص الخبر الطويل عن أحداث المدينة اليوم. " * 30 + "</p></body></html>")


def _closed_port() -> int:
    """A localhost TCP port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def down() -> dict[str, str]:
    """Environment pointing Kafka and Elasticsearch at closed ports."""
    return {"MARSAD_KAFKA_BOOTSTRAP": f"127.0.0.1:{_closed_port()}", "MARSAD_ES_URL": f"http://127.0.0.1:{_closed_port()}",
            "MARSAD_KAFKA_ADMIN_TIMEOUT_S": "1"}


def marsad(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("MARSAD_CLIENT_LOG_LEVEL", None)
    return subprocess.run([sys.executable, "-m", "marsad.cli", *args], capture_output=True, text=True, env=full_env,
                          timeout=120, cwd=cwd)


def assert_one_line(result: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr[-3000:]
    assert len(lines) == 1, f"{len(lines)} stderr lines:\n" + "\n".join(lines[:12])
    assert lines[0].startswith("error:"), lines[0]
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]
    assert result.returncode == code, (result.returncode, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("page") / "page.html"
    path.write_text(HTML, encoding="utf-8")
    return path


# --- marsad extract: bad arguments (exit 2) -------------------------------------------------------------------

@pytest.mark.parametrize(("url", "needle"), [
    ("/news/2024/01/15/story", "--url"),  # relative
    ("news.example.com/a/1", "--url"),  # no scheme
    ("", "--url"),
    ("http://example.com:99999/a", "port"),  # port out of range
    ("http://example.com:-1/a", "port"),
    ("https://example.com:0/a", "port 0"),  # parses, but no page is served from port 0
    ("http://example.com:http/a", "port"),
    ("http://[::1/x", "--url"),  # malformed IPv6 host
    ("http://[not-an-ip]/x", "--url"),
    ("ftp://example.com/a", "http"),  # not a web page URL
    ("https:///no-host", "--url"),
])
def test_extract_bad_url_is_a_usage_error(page: Path, url: str, needle: str) -> None:
    assert_one_line(marsad("extract", str(page), "--url", url), 2, needle)


@pytest.mark.parametrize("value", ["2026-01-08T12:00", "2026-01-08", "garbage", "2026-13-01T00:00Z", "yesterday",
                                   "2026-01-08T25:00+02:00"])
def test_extract_bad_fetched_at_is_a_usage_error(page: Path, value: str) -> None:
    assert_one_line(marsad("extract", str(page), "--url", "https://example.com/a/1", "--fetched-at", value), 2,
                    "--fetched-at")


@pytest.mark.parametrize("tz", ["Mars/Olympus", "../../etc/passwd", "", "Asia/Beirut "])
def test_extract_unknown_tz_is_a_usage_error(page: Path, tz: str) -> None:
    assert_one_line(marsad("extract", str(page), "--url", "https://example.com/a/1", "--tz", tz), 2, "--tz")


def test_extract_good_arguments_still_work(page: Path) -> None:
    result = marsad("extract", str(page), "--url", "https://example.com/a/1", "--fetched-at",
                    "2026-01-08T12:00:00Z", "--tz", "Asia/Beirut")
    assert result.returncode == 0, result.stderr
    assert '"title"' in result.stdout


@pytest.mark.parametrize("args", [["extract", "/nonexistent/page.html", "--url", "https://example.com/a"],
                                  ["ingest-warc", "/nonexistent/crawl.warc.gz"],
                                  ["dedup", "/nonexistent/export.jsonl"],
                                  ["alerts", "load", "/nonexistent/rules.yaml"]])
def test_missing_input_file_is_a_usage_error(args: list[str]) -> None:
    assert_one_line(marsad(*args), 2, "/nonexistent/")


# --- services down (exit 1) -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["consume", "extract", "--until-idle"], ["consume", "index", "--until-idle"],
                                  ["consume", "all", "--until-idle"], ["consume", "extract"],
                                  ["alerts", "deliver", "--until-idle"], ["dlq", "replay"],
                                  ["dlq", "replay", "--dry-run"]])
def test_kafka_down_is_one_line_without_client_log_flood(down: dict[str, str], args: list[str]) -> None:
    line = assert_one_line(marsad(*args, env=down), 1)
    assert down["MARSAD_KAFKA_BOOTSTRAP"] in line


def test_consume_all_with_kafka_down_fails_once_per_stage(down: dict[str, str]) -> None:
    """Without --until-idle each stage runs in its own process: each says why, the command exits 1."""
    result = marsad("consume", "all", env=down)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr and not any(line.startswith("%") for line in lines), result.stderr[-2000:]
    assert result.returncode == 1
    assert len(lines) == 3 and all(line.startswith("error:") for line in lines), lines


def test_ingest_warc_with_kafka_down_is_one_line(down: dict[str, str], tmp_path: Path) -> None:
    a = WarcArchive(tmp_path / "w", 1 << 30)
    a.write(url="http://x.example/a-123456", fetched_at=datetime.now(timezone.utc), request_headers=[],
            status=200, reason="OK", http_version="HTTP/1.1", response_headers=[("Content-Type", "text/html")],
            body=HTML.encode())
    a.close()
    line = assert_one_line(marsad("ingest-warc", str(a.files[0]), env=down), 1)
    assert down["MARSAD_KAFKA_BOOTSTRAP"] in line


def test_ingest_warc_of_a_file_that_is_no_warc_is_refused_before_kafka(down: dict[str, str], tmp_path: Path) -> None:
    """The file is the mistake, whatever Kafka's state: refused as bad input (exit 2) naming it, with Kafka down —
    so nothing was created or published on a live one either."""
    good = WarcArchive(tmp_path / "w", 1 << 30)
    good.write(url="http://x.example/a-123456", fetched_at=datetime.now(timezone.utc), request_headers=[],
               status=200, reason="OK", http_version="HTTP/1.1", response_headers=[("Content-Type", "text/html")],
               body=HTML.encode())
    good.close()
    page = tmp_path / "page.html"
    page.write_text(HTML, encoding="utf-8")
    line = assert_one_line(marsad("ingest-warc", str(good.files[0]), str(page), env=down), 2, "page.html")
    assert "WARC" in line


@pytest.mark.parametrize("args", [["search", "غزة"], ["templates", "apply"], ["alerts", "add", "gaza", "غزة"],
                                  ["alerts", "list"], ["alerts", "remove", "gaza"], ["alerts", "test", "غزة"],
                                  ["replay", "--from", "2026-01-01", "--index", "marsad-stories-v9"]])
def test_elasticsearch_down_is_one_line_without_retry_tracebacks(down: dict[str, str], args: list[str]) -> None:
    line = assert_one_line(marsad(*args, env=down), 1)
    assert down["MARSAD_ES_URL"].removeprefix("http://") in line


# --- other bad usage (exit 2) -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "needle"), [
    (["alerts", "add", "bad name!", "غزة"], "slug"),
    (["alerts", "add", "gaza", ""], "empty"),
    (["replay", "--from", "notadate", "--index", "marsad-stories-v9"], "notadate"),
    (["replay", "--from", "2026-01-02", "--to", "2026-01-01", "--index", "marsad-stories-v9"], "--to"),
    (["dlq", "replay", "--since", "garbage"], "garbage"),
    (["search", "غزة", "--since", "yesterday"], "--since"),
    (["consume", "bogus"], "bogus"),
])
def test_bad_arguments_are_one_line_usage_errors(down: dict[str, str], args: list[str], needle: str) -> None:
    assert_one_line(marsad(*args, env=down), 2, needle)


@pytest.mark.parametrize(("env", "needle"), [
    ({"MARSAD_KAFKA_ADMIN_TIMEOUT_S": "-1"}, "MARSAD_KAFKA_ADMIN_TIMEOUT_S"),
    ({"MARSAD_TOPIC_PARTITIONS": "three"}, "MARSAD_TOPIC_PARTITIONS"),
    ({"MARSAD_ES_URL": "notaurl"}, "MARSAD_ES_URL"),
    ({"MARSAD_CLIENT_LOG_LEVEL": "LOUD"}, "MARSAD_CLIENT_LOG_LEVEL"),
])
def test_bad_setting_in_environment_is_a_usage_error(env: dict[str, str], needle: str) -> None:
    result = subprocess.run([sys.executable, "-m", "marsad.cli", "search", "غزة"], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=120)
    assert_one_line(result, 2, needle)


def test_stack_status_with_a_port_outside_the_range_is_a_usage_error() -> None:
    assert_one_line(marsad("stack", "status", env={"MARSAD_KAFKA_BOOTSTRAP": "127.0.0.1:1"}), 2, "port 1")
