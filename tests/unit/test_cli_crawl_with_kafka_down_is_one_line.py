"""`marsad crawl` and `marsad ingest-warc` with Kafka down (a closed port) end with a one-line error and
exit 1, not a traceback; nothing is marked seen."""

from __future__ import annotations

from datetime import datetime, timezone

from typer.testing import CliRunner

from marsad.cli import app
from marsad.crawl.archive import WarcArchive

SOURCES = """sources:
  - name: closed
    site: http://127.0.0.1:9/
    feeds: [http://127.0.0.1:9/feed.xml]
    language: ar
    timezone: Asia/Beirut
    schedule: "*/30 * * * *"
    enabled: true
"""


def _env(tmp_path):
    (tmp_path / "sources.yaml").write_text(SOURCES)
    return {"MARSAD_KAFKA_BOOTSTRAP": "127.0.0.1:1", "MARSAD_KAFKA_ADMIN_TIMEOUT_S": "2", "MARSAD_SOURCES_FILE": str(tmp_path / "sources.yaml"),  # noqa: E501 - test data on one line
            "MARSAD_CRAWL_STATE_DIR": str(tmp_path / "crawl"), "MARSAD_ALLOW_PRIVATE_HOSTS": '["127.0.0.1"]'}


def test_crawl_with_kafka_down_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(app, ["crawl"], env=_env(tmp_path))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit, not TransientError
    assert "127.0.0.1:1" in result.output


def test_ingest_warc_with_kafka_down_is_a_clean_error(tmp_path):
    a = WarcArchive(tmp_path / "w", 1 << 30)
    a.write(url="http://x.example/a-123456", fetched_at=datetime.now(timezone.utc), request_headers=[],
            status=200, reason="OK", http_version="HTTP/1.1", response_headers=[("Content-Type", "text/html")],
            body=b"<html>x</html>")
    a.close()
    result = CliRunner().invoke(app, ["ingest-warc", str(a.files[0])], env=_env(tmp_path))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "127.0.0.1:1" in result.output
