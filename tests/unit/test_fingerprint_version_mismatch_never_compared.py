"""Fingerprints of different versions (other LSH bands × rows, another folding) are never offered as candidates,
and comparing them anyway is a clear ``ValueError`` (marsad.dedup.near). No services.

The texts are written for this test: one news paragraph (60 words) and the same with its last sentence changed, so
the two share their first 20 words and with them the lead key, which does not depend on the LSH parameters.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from marsad.dedup.near import DEFAULT, FINGERPRINT_VERSION, MemoryStore, Params, decide, fingerprint
from marsad.settings import Settings
from marsad.text.fold import FOLD_VERSION

BODY = ("أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في العاصمة بسعة مئتي سرير ويضم أقساما للطوارئ والجراحة "
        "والأطفال، وقال الوزير في مؤتمر صحفي إن المستشفى سيخدم أكثر من نصف مليون نسمة في الأحياء الجنوبية، "
        "وأضاف أن الوزارة تعمل على تجهيز مستشفيات أخرى في المحافظات خلال العام المقبل بتمويل من الموازنة العامة "
        "للدولة وبالتعاون مع القطاع الخاص والجمعيات الأهلية. ")
COPY = BODY.rsplit("،", 1)[0] + "، وأكد أن العمل في المستشفى يبدأ الأسبوع المقبل بطاقم من الأطباء والممرضين."
CHANGED = Params(bands=32, rows=4)


def test_version_names_the_lsh_parameters_and_the_folding():
    assert FINGERPRINT_VERSION == DEFAULT.version
    assert FOLD_VERSION in FINGERPRINT_VERSION  # a folding change changes shingles and content hashes
    assert "b64x2" in DEFAULT.version and "b32x4" in CHANGED.version
    assert Params(near_jaccard=0.7).version == DEFAULT.version  # thresholds do not change the fingerprint


def test_store_offers_no_candidate_of_another_version():
    old, new = fingerprint(BODY), fingerprint(COPY, CHANGED)
    assert old is not None and new is not None
    assert old.lead == new.lead and not set(old.bands) & set(new.bands)
    store = MemoryStore()
    store.add("old", old)
    assert store.candidates(new) == []  # the shared lead key alone would offer it
    same = fingerprint(COPY)
    assert [d for d, _ in store.candidates(same)] == ["old"] and decide(same, old).duplicate


def test_decide_refuses_two_versions_with_a_clear_error():
    with pytest.raises(ValueError, match="fingerprint versions differ.*b32x4.*b64x2"):
        decide(fingerprint(COPY, CHANGED), fingerprint(BODY))


def test_lsh_settings_make_the_params_and_refuse_more_rows_than_the_signature():
    assert Settings().dedup_params == DEFAULT
    assert Settings(dedup_lsh_bands=32, dedup_lsh_rows=4).dedup_params.version == CHANGED.version
    with pytest.raises(ValidationError, match="exceeds num_perm"):
        Settings(dedup_lsh_bands=64, dedup_lsh_rows=4)


def test_dedup_command_uses_the_lsh_settings_and_refuses_a_bad_pair(tmp_path, monkeypatch):
    import orjson
    from typer.testing import CliRunner

    from marsad.cli import app

    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(orjson.dumps({"id": i, "url": f"https://{i}.example/1", "text": t}).decode()
                             for i, t in (("a", BODY), ("b", COPY))) + "\n", encoding="utf-8")
    monkeypatch.setenv("MARSAD_DEDUP_LSH_BANDS", "32")
    monkeypatch.setenv("MARSAD_DEDUP_LSH_ROWS", "4")
    result = CliRunner().invoke(app, ["dedup", str(src)])
    assert result.exit_code == 0, result.output
    assert [orjson.loads(line)["story_id"] for line in result.stdout.splitlines()] == ["a", "a"]
    monkeypatch.setenv("MARSAD_DEDUP_LSH_BANDS", "64")
    result = CliRunner().invoke(app, ["dedup", str(src)])
    assert result.exit_code == 2
    assert "MARSAD_DEDUP_LSH_BANDS × MARSAD_DEDUP_LSH_ROWS" in result.output and "Traceback" not in result.output
