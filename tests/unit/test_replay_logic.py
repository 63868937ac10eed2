"""Replay and DLQ-replay logic without services: ranges from offsets_for_times answers, times, names, headers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest
from typer.testing import CliRunner

from marsad.cli import app
from marsad.index.templates import index_version
from marsad.messages import META_HEADER, dead_letter_headers
from marsad.replay import (
    REPLAYED_FROM,
    PartitionRange,
    _at_or_after,
    dlq_group,
    epoch_ms,
    original_headers,
    parse_instant,
    replay_group,
    resolve_range,
    source_of,
)
from marsad.settings import Settings


@pytest.mark.parametrize("low, high, start_at, end_at, expected", [
    (0, 10, 3, 7, (3, 7)),          # both times found
    (0, 10, 3, None, (3, 10)),      # no --to: to the high watermark
    (0, 10, 3, -1, (3, 10)),        # --to after the last record: -1 -> read to the end
    (0, 10, -1, -1, (10, 10)),      # --from after the last record: -1 -> nothing
    (0, 10, -1, None, (10, 10)),
    (5, 10, 2, 8, (5, 8)),          # start below the low watermark (retention deleted it): clamped
    (0, 10, 6, 4, (6, 6)),          # inconsistent answers never give a negative range
    (0, 0, -1, -1, (0, 0)),         # empty partition
])
def test_resolve_range(low, high, start_at, end_at, expected):
    r = resolve_range(2, low, high, start_at, end_at)
    assert (r.partition, r.start, r.end) == (2, *expected)
    assert r.size == expected[1] - expected[0]


def test_epoch_ms_is_exact_milliseconds_and_refuses_naive_times():
    assert epoch_ms(datetime(1970, 1, 1, 0, 0, 1, 999_999, tzinfo=timezone.utc)) == 1999
    assert epoch_ms(datetime(2026, 1, 16, 3, 0, tzinfo=timezone(timedelta(hours=3)))) == \
        epoch_ms(datetime(2026, 1, 16, 0, 0, tzinfo=timezone.utc)) == 1_768_521_600_000
    with pytest.raises(ValueError, match="no UTC offset"):
        epoch_ms(datetime(2026, 1, 16))


def test_parse_instant_reads_offsets_and_defaults_to_utc():
    assert parse_instant("2026-01-16") == datetime(2026, 1, 16, tzinfo=timezone.utc)
    assert parse_instant("2026-01-16T08:00:00+03:00") == datetime(2026, 1, 16, 5, tzinfo=timezone.utc)
    assert parse_instant("2026-01-16T05:00:00Z") == datetime(2026, 1, 16, 5, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_instant("yesterday")


def test_source_of_reads_only_the_meta_header():
    meta = orjson.dumps({"source": "youm7", "url": "x"})
    assert source_of([("marsad.schema", b"raw-page.v1"), (META_HEADER, meta)]) == "youm7"
    assert source_of([(META_HEADER, b"{not json")]) is None
    assert source_of([(META_HEADER, b"[1, 2]")]) is None
    assert source_of(None) is None


def test_index_version_names_and_validation():
    s = Settings()
    v = index_version(s, "marsad-stories-v2")
    assert (v.version, v.stories_index, v.fingerprints_index) == ("2", "marsad-stories-v2", "marsad-fingerprints-v2")
    assert v.stories_write_alias == "marsad-stories-v2.write"
    assert v.fingerprints_write_alias == "marsad-fingerprints-v2.write"
    for bad in ("stories-v2", "marsad-stories-v", "marsad-stories-vX", "marsad-stories-v2/x"):
        with pytest.raises(ValueError, match="must be named marsad-stories-v<version>"):
            index_version(s, bad)


def test_group_names_are_new_per_replay_and_never_the_live_groups():
    s = Settings()
    g = replay_group(s, "marsad-stories-v2", datetime(2026, 1, 16, 5, 0, 1, 42, tzinfo=timezone.utc))
    assert g == "marsad.replay.marsad-stories-v2.20260116T050001000042Z"
    assert g not in (s.extract_group, s.index_group)
    assert dlq_group(s, None) == "marsad.dlq-replay"
    assert dlq_group(s, "extract-timeout") == "marsad.dlq-replay.extract-timeout"


def test_original_headers_drop_every_dlq_header():
    orig = [("marsad.schema", b"raw-page.v1"), (META_HEADER, b"{}")]
    dead = dead_letter_headers(orig, reason="r", detail="d", stage="extract", error_class="E", topic="t",
                               partition=0, offset=1) + [(REPLAYED_FROM, b"dlq/0/1")]
    assert original_headers(dead) == orig


def test_partition_range_size_is_never_negative():
    assert PartitionRange(0, 5, 3).size == 0


@pytest.mark.parametrize("args", [["replay", "--help"], ["dlq", "replay", "--help"]])
def test_replay_commands_exist(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


def test_replay_bad_time_is_a_usage_error():
    result = CliRunner().invoke(app, ["replay", "--from", "yesterday", "--index", "marsad-stories-v2"])
    assert result.exit_code == 2
    assert "ISO 8601" in result.output


def test_dlq_since_filter_reads_the_dead_letter_time():
    since = datetime(2026, 1, 16, tzinfo=timezone.utc)
    assert _at_or_after("2026-01-16T00:00:00+00:00", since)
    assert _at_or_after("2026-01-16T02:59:00+03:00", since) is False  # 23:59 UTC the day before
    assert not _at_or_after(None, since) and not _at_or_after("garbage", since)
    assert not _at_or_after("2026-01-17T00:00:00", since)  # naive: cannot be placed in time
