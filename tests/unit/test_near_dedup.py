"""Near-duplicate detection and story clustering (marsad.dedup.near, marsad.dedup.stories): fast, no services.

The texts are written for these tests (no corpus data): a six-paragraph news story, a different story, a
congratulation-cable template and a market-close template.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from marsad.dedup.near import (
    BANDS,
    DEFAULT,
    FINGERPRINT_VERSION,
    MIN_TOKENS,
    MemoryStore,
    Params,
    decide,
    fingerprint,
    name_conflicts,
    number_conflicts,
    prefix_containment,
    short_reason,
)
from marsad.dedup.stories import Clusterer, best_story, dedup_jsonl

STORY = [
    "وقّع وزير الموارد المائية صباح اليوم الأحد في القاهرة عقد المرحلة الثانية من دراسة الخزانات الجوفية مع كلية "
    "الهندسة بجامعة القاهرة، بحضور عدد من قيادات الوزارة وأساتذة الجامعة وممثلي الشركات المنفذة للمشروع.",
    "وقال الوزير في كلمته إن الدراسة تهدف إلى تحديد الإمكانات الآمنة للسحب من المياه الجوفية في الصحراء الغربية، "
    "وإعداد خرائط دقيقة لمناطق التغذية والملوحة خلال 18 شهراً من تاريخ التوقيع.",
    "وأوضح عميد كلية الهندسة أن فريق البحث يضم أكثر من أربعين باحثاً في الجيولوجيا والهيدرولوجيا ونظم المعلومات "
    "الجغرافية، وأن النتائج ستنشر في تقارير دورية تتاح للمستثمرين والمزارعين.",
    "وأشار المتحدث باسم الوزارة إلى أن المرحلة الأولى من الدراسة شملت حفر آبار اختبارية في ثلاث محافظات، وقياس "
    "منسوب المياه ونوعيتها على مدى عامين كاملين قبل اعتماد النماذج الرياضية.",
    "ومن المنتظر أن تستخدم الوزارة نتائج الدراسة في تنظيم تراخيص حفر الآبار الجديدة، ومنع الاستنزاف في المناطق "
    "التي تشهد هبوطاً سريعاً في منسوب المياه خلال السنوات الأخيرة.",
    "وتأتي هذه الخطوة ضمن خطة وطنية لإدارة الموارد المائية حتى منتصف القرن، تتضمن تحلية مياه البحر وإعادة استخدام "
    "مياه الصرف المعالجة وتبطين الترع في القرى.",
]
OTHER = [
    "افتتح محافظ الإسكندرية مساء أمس معرض الكتاب السنوي في مكتبة الإسكندرية بمشاركة أكثر من مئتي دار نشر عربية "
    "وأجنبية، وسط إقبال كبير من الطلاب والعائلات في اليوم الأول.",
    "وقالت مديرة المعرض إن الدورة الحالية تخصص جناحاً لأدب الأطفال وآخر للكتب الرقمية، وتستضيف ندوات يومية لكتاب من "
    "مصر والمغرب ولبنان حول مستقبل القراءة.",
    "وأضافت أن إدارة المعرض خفضت أسعار التذاكر للطلاب إلى النصف، ووفرت حافلات مجانية من محطات القطار إلى أرض "
    "المعرض طوال أيام الدورة.",
    "ويستمر المعرض عشرة أيام، ويختتم بحفل لتوزيع جوائز أفضل كتاب وأفضل ترجمة وأفضل تصميم غلاف، بحضور وزير الثقافة "
    "وعدد من السفراء.",
]
# the same event written up independently by a second outlet: shared names, places and facts, own wording
SAME_EVENT = (
    "شهدت جامعة القاهرة أمس توقيع اتفاق بين وزارة الموارد المائية وكلية الهندسة لاستكمال دراسة المياه الجوفية. "
    "ويستهدف الاتفاق، بحسب بيان للوزارة، رسم خرائط لملوحة الخزانات في الصحراء الغربية وتقدير الكميات التي يمكن "
    "سحبها دون إضرار بالمخزون. وقال أستاذ في الكلية شارك في المرحلة الأولى إن الآبار الاختبارية كشفت تفاوتاً كبيراً "
    "بين المحافظات، وإن المزارعين ينتظرون النتائج منذ سنوات لتحديد مواقع الحفر."
)
CABLE = ("بعث رئيس مجلس الوزراء برقية تهنئة إلى فخامة الرئيس {name} رئيس جمهورية {country} بمناسبة ذكرى العيد الوطني "
         "لبلاده، أعرب فيها باسمه واسم الحكومة والشعب عن أصدق التهاني وأطيب التمنيات بموفور الصحة والسعادة لفخامته، "
         "ولحكومة وشعب جمهورية {country} الصديق المزيد من التقدم والازدهار، مؤكداً حرص بلاده على تطوير العلاقات "
         "الثنائية في مختلف المجالات.")
MARKET = ("أغلق المؤشر العام لسوق الأسهم جلسة اليوم مرتفعاً {a} نقطة عند مستوى {b} نقطة، وبلغت قيمة التداولات {c} "
          "مليون ريال، وارتفعت أسهم {d} شركة وتراجعت أسهم {e} شركة. وتصدر قطاع المصارف القطاعات الرابحة بدعم من "
          "نتائج الربع الثاني، فيما تراجع قطاع التأمين بنسبة طفيفة مع جني الأرباح في الساعة الأخيرة من التعاملات، "
          "وقال محللون إن السيولة ما زالت تتركز في الأسهم القيادية وإن السوق تنتظر إعلان نتائج شركات البتروكيماويات.")

FULL = "\n".join(STORY)
TEASER = "\n".join(STORY[:2])
NO_GUARDS = replace(DEFAULT, guards=False)
T0 = datetime(2026, 1, 16, 9, 0, tzinfo=timezone.utc)


def fp(text: str, params: Params = DEFAULT):
    out = fingerprint(text, params)
    assert out is not None, "test text unexpectedly short"
    return out


# ------------------------------------------------------------------------------------------ fingerprints


@pytest.mark.parametrize("text", ["", "   \n ", "عاجل", "شاهد الفيديو: لحظة وصول الوفد إلى المطار"])
def test_empty_and_short_bodies_have_no_fingerprint_and_match_nothing(text):
    assert fingerprint(text) is None
    assert short_reason(text) is not None and f"< {MIN_TOKENS}" in short_reason(text)
    d = decide(fingerprint(text), fp(FULL))
    assert not d.duplicate and d.kind == "short"
    assert not decide(None, None).duplicate


def test_minimum_length_is_exactly_min_tokens_words():
    words = " ".join(FULL.split())
    base = words.split()
    assert fingerprint(" ".join(base[:MIN_TOKENS])) is not None
    assert fingerprint(" ".join(base[:MIN_TOKENS - 1])) is None
    assert short_reason(" ".join(base[:MIN_TOKENS])) is None


def test_short_bodies_never_match_by_fingerprint_but_the_same_text_follows_its_story():
    """Like the index stage's claim on the content hash: the same normalised text is one story even below
    MIN_TOKENS; a different short body never matches anything."""
    c = Clusterer()
    a = c.add("a", "صورة اليوم", T0, "https://one.example/a")
    b = c.add("b", "صورةُ اليوم", T0, "https://two.example/b")  # same text after normalisation
    x = c.add("x", "صورة الأمس", T0, "https://three.example/x")
    assert a.kind == "short" and (b.story_id, b.duplicate_of, b.kind) == ("a", "a", "exact")
    assert (x.story_id, x.duplicate_of, x.kind) == ("x", None, "short")


def test_arabic_spelling_variants_give_the_same_fingerprint():
    plain = "\n".join(STORY)
    variant = (plain.replace("الوزارة", "الــوزارة").replace("إلى", "الى").replace("مياه", "مِيَاهٌ")
               .replace("18", "١٨").replace("القاهرة", "\u200fالقاهره\u200f").replace("الأحد", "الاحد"))
    assert variant != plain
    a, b = fp(plain), fp(variant)
    assert a.signature == b.signature and a.bands == b.bands and a.content_hash == b.content_hash
    assert decide(a, b).kind == "exact"


@pytest.mark.parametrize("text", [
    "² ³ ١٢ ٣٤ ۵۶ 7.5 ⁴ ① " * 10,
    "🙂 🚀 " * 40 + " ".join(STORY),
    ("Breaking news from Cairo 2026 " * 10) + "\u200f\u202b\ufeff",
    " ".join(["ـــ"] * 50),
    "وزير " * 40,
])
def test_fingerprint_never_raises_on_odd_text(text):
    f = fingerprint(text)
    if f is not None:
        assert f.n_shingles >= 1 and decide(f, f).kind == "exact"


def test_band_keys_are_elasticsearch_keywords():
    f = fp(FULL)
    assert len(f.bands) == BANDS and len(set(f.bands)) == BANDS
    for i, band in enumerate(f.bands):
        idx, _, value = band.partition(":")
        assert idx == str(i) and len(value) == 8 * DEFAULT.rows and int(value, 16) >= 0
        assert band.isascii() and " " not in band
    sig = f.signature_values
    assert len(sig) == DEFAULT.num_perm and all(0 <= v < 2**32 for v in sig)
    assert f.bands[0] == f"0:{sig[0]:08x}{sig[1]:08x}"  # band = the rows' values in hex
    assert len(f.shingle_hashes) == f.n_shingles == len(f.shingle_set)
    assert f.version == FINGERPRINT_VERSION


def test_fingerprint_round_trips_through_json():
    f = fp(FULL)
    g = type(f).from_dict(json.loads(json.dumps(f.to_dict())))
    assert g == f
    assert decide(g, fp(TEASER)) == decide(f, fp(TEASER))


def test_fingerprints_of_different_versions_are_not_compared():
    other = Params(shingle_words=4)
    with pytest.raises(ValueError, match="versions differ"):
        decide(fp(FULL), fp(FULL, other))


def test_params_are_validated():
    with pytest.raises(ValueError):
        Params(bands=65, rows=2)
    with pytest.raises(ValueError):
        Params(min_tokens=DEFAULT.shingle_words - 1)


# --------------------------------------------------------------------------------------------- decisions


def test_teaser_with_the_first_paragraphs_joins_by_containment_not_jaccard():
    full, teaser = fp(FULL), fp(TEASER)
    d = decide(teaser, full)
    assert d.duplicate and d.kind == "containment"
    assert d.jaccard < DEFAULT.near_jaccard  # symmetric Jaccard alone would miss it
    assert decide(full, teaser) == d  # symmetric


def test_story_quoted_inside_a_composite_article_is_not_absorbed():
    composite = fp("\n".join(OTHER + STORY[:2]))  # another story, with the two paragraphs appended
    teaser = fp(TEASER)
    assert prefix_containment(teaser, composite) < 0.1
    assert not decide(teaser, composite).duplicate


def test_edited_copy_is_a_near_duplicate():
    edited = FULL.replace("صباح اليوم الأحد", "أمس").replace(STORY[5], "") + "\nالمصدر: وكالة الأنباء"
    d = decide(fp(edited), fp(FULL))
    assert d.duplicate and d.kind == "near" and d.similarity >= DEFAULT.near_jaccard


def test_same_event_written_independently_stays_separate():
    d = decide(fp(SAME_EVENT), fp(FULL))
    assert not d.duplicate and d.kind == "different" and d.similarity < 0.2


def test_number_conflict_guard_refuses_templated_market_closes():
    a = fp(MARKET.format(a=45, b=8120, c=950, d=96, e=61))
    b = fp(MARKET.format(a=12, b=8087, c=730, d=54, e=103))
    assert decide(a, b, NO_GUARDS).duplicate  # the text alone would merge them
    d = decide(a, b)
    assert not d.duplicate and d.kind == "conflict" and "نقطه" in d.reason
    assert len(number_conflicts(a, b)) >= 2


def test_one_differing_figure_is_not_a_conflict():
    a = fp(MARKET.format(a=45, b=8120, c=950, d=96, e=61))
    b = fp(MARKET.format(a=45, b=8120, c=950, d=96, e=62))  # a corrected figure in a copy
    assert number_conflicts(a, b) == []
    assert decide(a, b).duplicate


def test_name_conflict_guard_refuses_templated_cables_to_different_countries():
    a = fp(CABLE.format(name="ماركو ألفيس", country="البرتغال"))
    b = fp(CABLE.format(name="كارلوس منديز", country="الأوروغواي"))
    assert decide(a, b, NO_GUARDS).duplicate
    d = decide(a, b)
    assert not d.duplicate and d.kind == "conflict"
    assert any("ماركو" in c and "كارلوس" in c for c in name_conflicts(a, b))


def test_transliteration_variants_of_a_name_are_not_a_conflict():
    a = fp(CABLE.format(name="ماركو ألفيس", country="البرتغال"))
    b = fp(CABLE.format(name="ماركو ألفيز", country="البرتغال"))
    c = fp(CABLE.format(name="ماركوس ألفيس", country="البرتغال"))
    assert name_conflicts(a, b) == [] and decide(a, b).duplicate
    assert name_conflicts(a, c) == [] and decide(a, c).duplicate


def test_same_site_needs_stronger_containment():
    # the shorter body shares ~68 % of its shingles with the longer one's opening
    partial = "\n".join(STORY[:2] + ["وفي سياق آخر أعلنت الوزارة عن مسابقة لتعيين مهندسين جدد في مديريات الري "
                                     "بالمحافظات، على أن يبدأ التقديم الأسبوع المقبل عبر البوابة الإلكترونية، "
                                     "وتشترط المسابقة خبرة ثلاث سنوات."])
    a, b = fp(partial), fp(FULL)
    pc = prefix_containment(a, b)
    assert DEFAULT.containment <= pc < DEFAULT.same_source_containment
    assert decide(a, b).duplicate
    assert not decide(a, b, same_source=True).duplicate


# ------------------------------------------------------------------------------------------------- store


def test_lead_key_makes_a_one_paragraph_teaser_a_candidate():
    full, teaser = fp(FULL), fp(STORY[0] + " " + STORY[1][:40])
    assert full.lead == teaser.lead and full.lead.startswith("lead:") and full.lead.isascii()
    store = MemoryStore()
    store.add("full", replace(full, bands=tuple(f"{i}:none" for i in range(BANDS))))  # no MinHash band in common
    assert [d for d, _ in store.candidates(teaser)] == ["full"]


def test_memory_store_finds_copies_and_replaces_on_re_add():
    store = MemoryStore()
    full = fp(FULL)
    store.add("full", full)
    store.add("other", fp("\n".join(OTHER)))
    assert [d for d, _ in store.candidates(fp(TEASER))] == ["full"]
    assert store.candidates(fp(SAME_EVENT)) == []
    store.add("full", fp("\n".join(OTHER)))  # same id, new text: old bands forgotten
    assert store.candidates(full) == []
    assert len(store) == 2


# -------------------------------------------------------------------------------------------- clustering


def test_clusterer_assigns_story_ids_duplicates_and_similarity():
    c = Clusterer()
    a = c.add("a", FULL, T0, "https://news.example/a", "news")
    b = c.add("b", TEASER, T0 + timedelta(hours=1), "https://agg.example/b", "agg")
    x = c.add("x", "\n".join(OTHER), T0, "https://news.example/x", "news")
    s = c.add("s", SAME_EVENT, T0, "https://daily.example/s", "daily")
    assert (a.story_id, a.duplicate_of, a.similarity, a.kind) == ("a", None, None, "new")
    assert (b.story_id, b.duplicate_of, b.kind) == ("a", "a", "containment") and b.similarity == 1.0
    assert x.story_id == "x" and s.story_id == "s"
    assert c.story_of("b") == "a" and c.stories["a"].members == ["a", "b"]


def test_an_article_matching_two_stories_joins_the_single_best_similarity_like_the_index_stage():
    c = Clusterer()
    c.add("a1", FULL, T0, "https://one.example/a1", "one")
    c.add("a2", FULL.replace("صباح اليوم الأحد", "أمس"), T0, "https://two.example/a2", "two")
    t = c.add("t", "\n".join(STORY[:2] + OTHER[:2]), T0, "https://three.example/t", "three")  # own story
    assert t.story_id == "t"
    text = "\n".join(STORY[:2] + OTHER[:2] + STORY[2:])
    n = c.add("n", text, T0, "https://four.example/n", "four")
    to_t, to_a1 = decide(fp(text), fp("\n".join(STORY[:2] + OTHER[:2]))), decide(fp(text), fp(FULL))
    assert to_t.duplicate and to_a1.duplicate and to_t.similarity > to_a1.similarity
    # story "a1" has two matching copies, "t" one: the best single similarity decides, not the number of copies
    assert (n.story_id, n.duplicate_of, n.similarity) == ("t", "t", round(to_t.similarity, 4))
    assert best_story(fp(text), "four", [("a1", fp(FULL), "one"), ("t", fp("\n".join(STORY[:2] + OTHER[:2])),
                                                                       "three")]).story_id == "t"


def test_clusterer_url_duplicates_ignore_tracking_and_scheme():
    c = Clusterer()
    c.add("a", FULL, T0, "http://news.example/story/1?utm_source=x")
    u = c.add("u", "\n".join(OTHER), T0, "https://NEWS.example/story/1#top")  # updated text, same page
    assert (u.story_id, u.duplicate_of, u.kind, u.similarity) == ("a", "a", "url", 1.0)


def test_re_adding_an_article_is_idempotent():
    c = Clusterer()
    first = c.add("a", FULL, T0, "https://news.example/a")
    assert c.add("a", TEASER, T0, "https://other.example/z") == first
    assert c.stories["a"].members == ["a"]


def test_origin_moves_to_an_earlier_copy_but_story_id_stays():
    c = Clusterer()
    c.add("late", FULL, T0 + timedelta(hours=5), "https://agg.example/late", "agg")
    e = c.add("early", FULL.replace("صباح اليوم الأحد", "اليوم"), T0, "https://wire.example/e", "wire")
    assert e.story_id == "late" and e.origin_id == "early"
    assert c.stories["late"].origin_id == "early"


def test_origin_is_the_site_named_by_an_attribution_header():
    c = Clusterer()
    c.add("orig", FULL, T0 + timedelta(hours=2), "https://www.hashtagsyria.com/news/1", "hashtagsyria.com")
    r = c.add("copy", FULL, T0, "https://agg.example/2", "agg", attribution_site="hashtagsyria.com")
    assert r.story_id == "orig" and r.kind == "exact"
    assert r.origin_id == "orig"  # named by the header, although the copy has the earlier date
    c2 = Clusterer()
    lone = c2.add("copy", FULL, T0, "https://agg.example/2", "agg", attribution_site="HashtagSyria.com")
    assert lone.origin_id == "copy" and c2.stories["copy"].origin_site == "HashtagSyria.com"


def test_clusterer_rejects_naive_dates():
    with pytest.raises(ValueError, match="timezone"):
        Clusterer().add("a", FULL, datetime(2026, 1, 16))


def test_dedup_jsonl_clusters_in_publication_order_and_keeps_input_order(tmp_path):
    rows = [
        {"id": "teaser", "url": "https://agg.example/t", "title": "عنوان", "text": TEASER,
         "published_at": "2026-01-16T12:00:00+03:00"},
        {"id": "other", "url": "https://fair.example/o", "title": "معرض", "text": "\n".join(OTHER)},
        {"id": "full", "url": "https://wire.example/f", "title": "الخبر", "text": FULL,
         "published_at": "2026-01-16T08:00:00Z"},
        {"id": "short", "url": "https://wire.example/s", "title": "قصير", "text": "عاجل"},
    ]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    assert dedup_jsonl(src, out) == 4
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [g["id"] for g in got] == ["teaser", "other", "full", "short"]
    assert all(set(g) == {"id", "story_id", "duplicate_of", "similarity"} for g in got)
    by = {g["id"]: g for g in got}
    assert by["teaser"] == {"id": "teaser", "story_id": "full", "duplicate_of": "full", "similarity": 1.0}
    assert by["full"] == {"id": "full", "story_id": "full", "duplicate_of": None, "similarity": None}
    assert by["other"]["story_id"] == "other" and by["short"]["story_id"] == "short"


@pytest.mark.parametrize("line, message", [
    ("not json", "in.jsonl:1"),
    ('{"url": "https://a.example/1", "text": "x"}', "missing field id"),
    ('{"id": "a", "text": "x", "published_at": "yesterday"}', "published_at: "),
    ('{"id": "a", "text": 5}', "text must be a string"),
])
def test_dedup_jsonl_reports_the_bad_line(tmp_path, line, message):
    src = tmp_path / "in.jsonl"
    src.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        dedup_jsonl(src, tmp_path / "out.jsonl")


def test_dedup_jsonl_rejects_duplicate_ids(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate id"):
        dedup_jsonl(src, tmp_path / "out.jsonl")
