"""Unit tests of marsad.stage.per_record (exception → outcome mapping; no Kafka)."""

from __future__ import annotations

import logging

import pytest

from marsad.errors import Discard, PermanentError, TransientError
from marsad.stage import Outcome, Output, Record, per_record


def _rec(offset: int, value: bytes) -> Record:
    return Record(topic="raw", partition=1, offset=offset, key=b"k", value=value)


def _fn(rec: Record) -> list[Output]:
    v = rec.value
    if v == b"ok":
        return [Output("out", rec.key, b"done")]
    if v == b"none":
        return []
    if v == b"discard":
        raise Discard("duplicate", "same hash")
    if v == b"perm":
        raise PermanentError("bad-raw-page", "no meta")
    if v == b"transient":
        raise TransientError("es down")
    if v == b"keyerror":
        return {}["missing"]
    if v == b"long":
        raise ValueError("x" * 5000)
    raise AssertionError(v)


def test_each_record_gets_its_outcome_in_order():
    batch = per_record(_fn, "test")
    recs = [_rec(0, b"ok"), _rec(1, b"discard"), _rec(2, b"perm"), _rec(3, b"none")]
    out = batch(recs)
    assert len(out) == 4
    assert all(isinstance(o, Outcome) for o in out)
    assert out[0].outputs == [Output("out", b"k", b"done")] and out[0].error is None and out[0].discard is None
    assert out[0].label == "ok"
    assert out[1].discard is not None and out[1].discard.reason == "duplicate" and out[1].discard.detail == "same hash"
    assert out[1].error is None and out[1].outputs == []
    assert isinstance(out[2].error, PermanentError) and out[2].error.reason == "bad-raw-page"
    assert out[2].discard is None
    assert out[3].outputs == [] and out[3].error is None and out[3].discard is None


def test_transient_error_propagates_for_the_whole_batch():
    batch = per_record(_fn, "test")
    with pytest.raises(TransientError, match="es down"):
        batch([_rec(0, b"ok"), _rec(1, b"transient"), _rec(2, b"ok")])


def test_unexpected_exception_becomes_permanent_error_and_is_logged(caplog):
    batch = per_record(_fn, "extract")
    with caplog.at_level(logging.ERROR, logger="marsad.stage"):
        out = batch([_rec(41, b"keyerror"), _rec(42, b"ok")])
    err = out[0].error
    assert isinstance(err, PermanentError)
    assert err.reason == "unexpected-KeyError"
    assert "missing" in err.detail
    assert out[1].outputs and out[1].error is None  # the batch goes on
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "marsad.stage"]
    assert len(errors) == 1
    msg = errors[0].getMessage()
    assert "extract" in msg and "raw/1@41" in msg
    assert "Traceback" in msg and "KeyError" in msg


def test_unexpected_exception_detail_is_truncated():
    out = per_record(_fn, "t")([_rec(0, b"long")])
    assert out[0].error.reason == "unexpected-ValueError"
    assert len(out[0].error.detail) == 500


def test_expected_outcomes_are_not_logged_as_errors(caplog):
    with caplog.at_level(logging.DEBUG, logger="marsad.stage"):
        per_record(_fn, "t")([_rec(0, b"discard"), _rec(1, b"perm")])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_empty_batch():
    assert per_record(_fn, "t")([]) == []
