"""Arabic search acceptance lists: query → forms that must / must not match, as realistic sentences.

Used by the integration test (``tests/integration/test_search_acceptance.py``, real Elasticsearch, the stories
template) and by ``benchmarks/search/acceptance.py``, which writes the tables of ``docs/search.md`` with one column
for Marsad's analysis and one for Elasticsearch's stock ``arabic`` analyzer with a plain ``match`` query.

Each form is indexed once per :data:`VARIANTS` spelling: as written, with tashkeel on the form, with tatweel
inside it, in Arabic presentation forms (isolated forms, U+FE70–U+FEFF), with bidi/format marks (RLM, ZWNJ) —
the ways the same word reaches a page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FATHA, TATWEEL = "\u064e", "\u0640"


def with_tashkeel(word: str) -> str:
    """A fatha after every letter but the last (the shape, not the grammar, of vocalised text)."""
    return "".join(c + FATHA for c in word[:-1]) + word[-1:]


def with_tatweel(word: str) -> str:
    """Tatweel (kashida) after the second letter: «حامـــلات»."""
    return word[:2] + TATWEEL * 3 + word[2:] if len(word) > 2 else word


def _isolated(c: str) -> str:
    try:
        return unicodedata.lookup(f"{unicodedata.name(c)} ISOLATED FORM")
    except (KeyError, ValueError):
        return c


def with_presentation_forms(word: str) -> str:
    """Every letter as its isolated presentation form (U+FE70–U+FEFF), as legacy PDFs and old sites emit."""
    return "".join(_isolated(c) for c in word)


def with_format_marks(word: str) -> str:
    """Right-to-left marks around the word and a zero-width non-joiner inside it (copy-paste from bidi editors)."""
    return "\u200f" + word[:2] + "\u200c" + word[2:] + "\u200f" if len(word) > 2 else word


VARIANTS: dict[str, Callable[[str], str]] = {
    "plain": lambda w: w,
    "tashkeel": with_tashkeel,
    "tatweel": with_tatweel,
    "presentation": with_presentation_forms,
    "format": with_format_marks,
}


@dataclass(frozen=True)
class Case:
    """A form of the query inside a sentence; ``{}`` in ``sentence`` marks where ``form`` goes."""
    form: str
    sentence: str
    match: bool

    def text(self, variant: str = "plain") -> str:
        return self.sentence.format(" ".join(VARIANTS[variant](w) for w in self.form.split()))


@dataclass(frozen=True)
class AcceptanceList:
    query: str
    cases: list[Case]
    note: str = ""
    variants: tuple[str, ...] = field(default=tuple(VARIANTS))


FAR_APART = ("قال حامل الشهادة الجامعية إنه تقدم إلى الوظيفة منذ عامين ولم يتلق أي رد من الوزارة حتى الآن. "
             "وفي خبر آخر، هبطت الطائرة في مطار القاهرة بعد تأخير دام ساعتين بسبب الأحوال الجوية.")

LISTS: list[AcceptanceList] = [
    AcceptanceList("حاملات طائرات", [
        Case("حاملات الطائرات", "أعلنت البحرية الأمريكية إرسال {} إلى شرق المتوسط.", True),
        Case("حاملة طائرات", "وصلت {} أمريكية إلى المنطقة صباح أمس.", True),
        Case("حاملة الطائرات", "رصدت الأقمار الصناعية {} قرب السواحل اليمنية.", True),
        Case("بحاملات الطائرات", "لوّح المسؤول {} في رسالة واضحة إلى طهران.", True),
        Case("لحاملات الطائرات", "لا مكان {} في هذا الممر المائي الضيق.", True),
        Case("حاملتا طائرات", "أبحرت {} من القاعدة البحرية في نورفولك.", True),
        Case("حاملتي الطائرات", "نشرت الولايات المتحدة {} في البحر الأحمر.", True),
        Case("وحاملات الطائرات", "تملك البحرية غواصات نووية {} الأكبر في العالم.", True),
        Case("حاملات الطائرات الأمريكية", "تتجه {} نحو الخليج.", True),
        Case("حامل … الطائرة", FAR_APART.replace("{", "{{").replace("}", "}}"), False),
        Case("طائرات", "أسقطت الدفاعات الجوية ثلاث {} مسيرة فوق المدينة.", False),
    ], note="«حامل» and «الطائرة» far apart in unrelated sentences must not match; the words alone do not either."),
    AcceptanceList("بزشكيان", [
        Case("بزشكيان", "قال الرئيس الإيراني مسعود {} إن بلاده لا تسعى إلى الحرب.", True),
        Case("وبزشكيان", "التقى وزير الخارجية الرئيس الروسي {} في موسكو.", True),
        Case("لبزشكيان", "وجهت الحكومة دعوة {} لزيارة بغداد.", True),
        Case("ببزشكيان", "اتصل رئيس الوزراء هاتفيا {} مساء الثلاثاء.", True),
        Case("بزشك", "افتتح الطبيب {} عيادة جديدة في تبريز.", False),
    ]),
    AcceptanceList("نتنياهو", [
        Case("نتنياهو", "رفض رئيس الوزراء الإسرائيلي بنيامين {} المقترح المصري.", True),
        Case("لنتنياهو", "وجه الرئيس الأمريكي انتقادات حادة {} بسبب الاستيطان.", True),
        Case("ونتنياهو", "اجتمع بايدن {} في البيت الأبيض.", True),
        Case("فنتنياهو", "{} لم يعلن موقفه بعد من الهدنة.", True),
        Case("بنتنياهو", "أشاد الوزير {} في كلمته أمام الكنيست.", True),
    ]),
    AcceptanceList("ترامب", [
        Case("ترامب", "قال الرئيس الأمريكي دونالد {} إن المفاوضات تسير بشكل جيد.", True),
        Case("وترامب", "التقى الرئيس الفرنسي {} على هامش القمة.", True),
        Case("لترامب", "قدم الوفد الخليجي هدية {} خلال الزيارة.", True),
        Case("بترامب", "ندد المتظاهرون {} أمام السفارة.", True),
        Case("ترام", "افتتحت البلدية خط {} جديدا في وسط المدينة.", False),
    ]),
    AcceptanceList("إيران", [
        Case("إيران", "أعلنت {} استئناف المحادثات النووية.", True),
        Case("ايران", "قالت {} إن الاتفاق ما زال قائما.", True),
        Case("وإيران", "تبادلت السعودية {} السفراء بعد قطيعة طويلة.", True),
        Case("لإيران", "لا يمكن {} أن تتجاهل الضغوط الدولية.", True),
        Case("بإيران", "تحيط العقوبات {} من كل جانب.", True),
    ], note="alef with hamza below «إ» and bare alef «ا» are one letter for search."),
    AcceptanceList("غزة", [
        Case("غزة", "دخلت قافلة المساعدات إلى قطاع {} فجر اليوم.", True),
        Case("غزه", "تواصل القصف على {} لليوم الثالث.", True),
        Case("وغزة", "تربط الطريق بين رفح {} المدينة.", True),
        Case("بغزة", "أصيب عشرات المدنيين {} الليلة الماضية.", True),
    ], note="ta marbuta «ة» and ha «ه» are folded; «بغزة» leaves a 2-letter stem + ة, so the index also keeps «غزة» "
            "next to it (short-clitic variant) and the bare query finds it."),
    AcceptanceList("دمشق", [
        Case("دمشق", "عقد الاجتماع في {} بحضور الوفود العربية.", True),
        Case("بدمشق", "انفجرت سيارة مفخخة {} صباح اليوم.", True),
        Case("لدمشق", "وصل الوفد {} في زيارة رسمية.", True),
        Case("ودمشق", "تحسنت العلاقات بين عمّان {} في الأشهر الأخيرة.", True),
    ], note="four letters remain after ب/ل: the clitic is stripped on both sides."),
    AcceptanceList("مصر", [
        Case("مصر", "قالت {} إنها ستستضيف جولة جديدة من المحادثات.", True),
        Case("لمصر", "قدم الصندوق قرضا جديدا {} بقيمة ثلاثة مليارات دولار.", True),
        Case("بمصر", "ارتفع معدل التضخم {} للشهر الثالث.", True),
    ]),
    AcceptanceList("لبنان", [
        Case("لبنان", "أعلن {} الحداد الرسمي ثلاثة أيام.", True),
        Case("بلبنان", "عصفت العاصفة الثلجية {} طوال الليل.", True),
        Case("ولبنان", "وقعت سوريا {} اتفاقا لتنظيم الحدود.", True),
        Case("للبنان", "قدمت فرنسا مساعدات عاجلة {} بعد الانفجار.", True),
    ], note="a root letter that looks like a clitic (ل of لبنان) is handled the same way on both sides."),
    AcceptanceList("فلسطين", [
        Case("فلسطين", "طالب الوزير بالاعتراف بدولة {} المستقلة.", True),
        Case("بفلسطين", "يحتفل المسيحيون {} بعيد الميلاد.", True),
        Case("وفلسطين", "وقعت الأردن {} مذكرة تفاهم.", True),
        Case("لفلسطين", "أكد دعم بلاده الثابت {} وشعبها.", True),
    ]),
    AcceptanceList("لاجئين", [
        Case("لاجئين", "استقبلت ألمانيا آلاف {} خلال العام الماضي.", True),
        Case("لاجئ", "قال {} سوري إنه لا يستطيع العودة.", True),
        Case("اللاجئين", "تعاني مخيمات {} من نقص المياه.", True),
        Case("لاجئون", "وصل {} جدد إلى الجزيرة اليونانية.", True),
        Case("بلاجئين", "امتلأت المدارس {} من القرى المجاورة.", True),
    ], note="a plural suffix does not make a root ل look like a clitic: «لاجئين» is not ل + «اجئين»."),
    AcceptanceList("مصطفى", [
        Case("مصطفى", "استقبل الرئيس رئيس الوزراء {} مدبولي.", True),
        Case("مصطفي", "صرح الدكتور {} مدبولي بأن الحكومة ملتزمة بالخطة.", True),
        Case("لمصطفى", "قدم الحضور التهنئة {} بعد فوزه.", True),
    ], note="alef maqsura «ى» and ya «ي» are folded."),
    AcceptanceList("عمران", [
        Case("عمران", "قال رئيس الوزراء الباكستاني السابق {} خان إنه سيواصل الاحتجاج.", True),
        Case("وعمران", "خرج أنصار الحزب {} خان إلى الشوارع.", True),
        Case("عمر", "أعلن اللاعب {} السومة اعتزاله اللعب الدولي.", False),
    ], note="a name must not match a different name sharing its stem: stock arabic_stem reduces «عمران» to «عمر»."),
    AcceptanceList("بوتين", [
        Case("بوتين", "أجرى الرئيس الروسي فلاديمير {} اتصالاً هاتفياً بنظيره الإيراني.", True),
        Case("لبوتين", "وجه الرئيس الفرنسي دعوة {} لحضور القمة.", True),
        Case("وبوتين", "التقى ترامب {} في قمة ألاسكا.", True),
        Case("بوت", "أطلقت الشركة {} محادثة جديداً يجيب عن أسئلة العملاء.", False),
    ], note="names in ـين are kept whole (marsad_keep_names, clitics undone by marsad_name_proclitics): stock "
            "arabic_stem reduces «بوتين» to «بوت» (bot)."),
    AcceptanceList("ماكرون", [
        Case("ماكرون", "قال الرئيس الفرنسي إيمانويل {} إن بلاده ستعترف بدولة فلسطين.", True),
        Case("لماكرون", "نُسب تصريح {} حول الهجرة أثار جدلاً واسعاً.", True),
        Case("ماكر", "وصف الكاتب بطل روايته بأنه ثعلب {} لا يؤتمن.", False),
    ], note="names in ـون are kept whole: stock arabic_stem reduces «ماكرون» to «ماكر» (cunning)."),
    AcceptanceList("سليمان", [
        Case("سليمان", "استقبل الملك الأمير {} في قصر اليمامة.", True),
        Case("لسليمان", "وجه المجلس الشكر {} على جهوده.", True),
        Case("سليم", "فاز العداء {} بالميدالية الذهبية.", False),
    ], note="«سليمان» and «سليم» are different names (stock: both «سليم»)."),
    AcceptanceList("بطولة", [
        Case("بطولة", "انتهت {} الدوري بفوز الهلال.", True),
        Case("ببطولة", "فاز الفريق {} الدوري للمرة الثالثة.", True),
        Case("البطولة", "انطلقت {} وسط حضور جماهيري كبير.", True),
        Case("طول", "يبلغ {} الجسر الجديد كيلومترين.", False),
    ], note="a leading ب/ل/ك is stripped only when 5 letters remain: «بطولة» keeps its ب."),
    AcceptanceList("طول", [
        Case("طول", "يبلغ {} الجسر الجديد كيلومترين.", True),
        Case("بطولة", "انطلقت {} الدوري وسط حضور جماهيري كبير.", True),
    ], note="the price of the index-side short-clitic variant: a bare short word also finds ب/ل/ك + that word "
            "when it is another word («طول» finds «بطولة»; the reverse does not happen). Quote it for the exact form."),
    AcceptanceList('"حاملات الطائرات"', [
        Case("حاملات الطائرات", "أعلنت البحرية إرسال {} إلى المتوسط.", True),
        Case("حاملة الطائرات", "رصدت الأقمار الصناعية {} قرب السواحل.", False),
        Case("الطائرات حاملات", "تحدثت التقارير عن {} بلا تفاصيل.", False),
    ], note="a quoted phrase searches the exact (normalised, unstemmed) subfield: only that form, in that order."),
    AcceptanceList("نتنياهو OR بزشكيان", [
        Case("نتنياهو", "رفض {} المقترح.", True),
        Case("وبزشكيان", "التقى بوتين {} في موسكو.", True),
        Case("ترامب", "قال {} إن المفاوضات تسير بشكل جيد.", False),
    ], variants=("plain",)),
]


def documents(lists: list[AcceptanceList] = LISTS) -> list[dict[str, Any]]:
    """Story documents for every (list, case, variant): ``{story_id, title, text, source, language}``.

    ``story_id`` is ``l<list>-c<case>-<variant>``, ``source`` is ``l<list>`` (so each query is run against its
    own list only, with the search's source filter); the title is neutral («خبر»): matches come from the text.
    """
    docs = []
    for li, lst in enumerate(lists):
        for ci, case in enumerate(lst.cases):
            for variant in lst.variants:
                docs.append({"story_id": f"l{li}-c{ci}-{variant}", "title": "خبر", "text": case.text(variant),
                             "source": f"l{li}", "language": "ar"})
    return docs


def index_documents(es: Any, index: str, docs: list[dict[str, Any]]) -> None:
    """Bulk-index ``docs`` (``_id`` = ``story_id``) into ``index`` and refresh; raises on any item error."""
    import orjson

    lines = []
    for d in docs:
        lines += [orjson.dumps({"index": {"_index": index, "_id": d["story_id"]}}), orjson.dumps(d)]
    resp = es.request("POST", "/_bulk", b"\n".join(lines) + b"\n", params={"refresh": "true"})
    if resp.get("errors"):
        bad = [i for i in resp["items"] if i["index"].get("error")][:3]
        raise RuntimeError(f"bulk indexing of acceptance documents failed: {bad}")


@dataclass
class Outcome:
    query: str
    form: str
    variant: str
    expected: bool
    matched: bool


def evaluate(run_query: Callable[[AcceptanceList, int], set[str]],
             lists: list[AcceptanceList] = LISTS) -> list[Outcome]:
    """One :class:`Outcome` per (list, case, variant). ``run_query(list, list_number)`` returns the matched
    ``story_id`` set of that list's query (restricted to source ``l<list_number>``)."""
    out = []
    for li, lst in enumerate(lists):
        matched = run_query(lst, li)
        for ci, case in enumerate(lst.cases):
            for variant in lst.variants:
                out.append(Outcome(lst.query, case.form, variant, case.match,
                                   f"l{li}-c{ci}-{variant}" in matched))
    return out
