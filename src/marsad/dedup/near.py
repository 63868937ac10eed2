"""Near-duplicate detection: MinHash over word shingles, LSH bands for candidates, exact confirmation with guards.

A *fingerprint* summarises one article body (already cleaned of republication boilerplate by
:func:`marsad.extract.boilerplate.clean_body`); :func:`decide` compares two fingerprints; a
:class:`CandidateStore` finds the earlier fingerprints worth comparing with (LSH). Story clustering on top of
this lives in :mod:`marsad.dedup.stories`.

Method (Broder 1997, "On the resemblance and containment of documents"; Leskovec, Rajaraman & Ullman, *Mining of
Massive Datasets*, ch. 3):

1. **Normalise** with the one shared normaliser :func:`marsad.text.arabic.normalize_for_matching` (tashkeel,
   tatweel, bidi marks dropped; alef/yeh/teh-marbuta folded; Eastern digits → ASCII; punctuation → space) and split
   on whitespace into word tokens.
2. **Shingles**: every run of :data:`SHINGLE_WORDS` consecutive tokens (Broder's *w*-shingling); each is hashed
   with CRC-32 (stable across processes and machines, so hashes can be stored) to form the shingle set.
3. **MinHash signature** of :data:`NUM_PERM` values (``rensa.RMinHash``, a Rust implementation; the fraction of
   equal positions estimates the Jaccard similarity of the shingle sets).
4. **LSH banding**: the signature is cut into :data:`BANDS` bands of :data:`ROWS` rows; two documents become
   candidates when any band is equal. The probability of that is ``1 - (1 - s**r)**b`` for Jaccard ``s`` (the
   S-curve, MMDS §3.4.2), with its threshold near ``(1/b)**(1/r)``. Each band is a string
   ``f"{band}:{hex}"`` (``hex`` = the band's ``ROWS`` 32-bit values in hex), usable as an Elasticsearch keyword.
5. **Confirmation** (:func:`decide`) on the exact shingle sets, never on the estimate: *near* when the Jaccard
   similarity ``|A∩B| / |A∪B|`` reaches :data:`NEAR_JACCARD`; *containment* (a teaser carrying the first
   paragraphs of a story) when the shorter text's shingles are found in the *opening* of the longer one
   (:func:`prefix_containment`) at :data:`CONTAINMENT` or more. Containment is measured against the opening only
   so that a round-up or a composite article that quotes a story in its middle does not absorb it.
6. **Guards**: a match is refused when the two texts put different numbers after the same counted word
   («السجن 9 أعوام» vs «السجن 7 أعوام»: :func:`number_conflicts`) or different names after the same title or place
   word that neither text mentions («الرئيس باتريك ألين حاكم عام جامايكا» vs «الرئيس إيسوفو محمدو رئيس جمهورية
   النيجر»: :func:`name_conflicts`). These are the templated wire items (congratulation cables, daily market
   closes, court verdicts) whose shingles overlap although they are different stories.

Every constant below is justified by the threshold curve measured on the corpus (``docs/evaluation-dedup.md``,
written by ``benchmarks/dedup/run.py``).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from rensa import RMinHash

from marsad.text.arabic import normalize_for_matching

__all__ = [
    "BANDS", "CONTAINMENT", "Decision", "Fingerprint", "FINGERPRINT_VERSION", "MIN_TOKENS", "MemoryStore",
    "NEAR_JACCARD", "NUM_PERM", "Params", "ROWS", "SHINGLE_WORDS", "CandidateStore", "decide", "fingerprint",
    "jaccard", "name_conflicts", "number_conflicts", "prefix_containment", "short_reason",
]

# ------------------------------------------------------------------------------------------------- constants

SHINGLE_WORDS = 5
"""Words per shingle. Broder (1997) uses word *w*-shingles; 5 is the usual choice for news near-duplicates and
the size the corpus labels were made with. Measured (docs/evaluation-dedup.md): 3- and 4-word shingles raise the
similarity of independently written articles about the same event (shared names and set phrases) more than that
of edited copies."""

NUM_PERM = 128
"""MinHash signature length (32-bit values). Standard error of the Jaccard estimate is ``sqrt(s(1-s)/128)``
(≈ 0.044 at s = 0.5); the estimate only selects candidates, the decision uses exact sets."""

BANDS = 64
ROWS = 2
"""LSH banding ``b × r = 64 × 2 = NUM_PERM``. S-curve ``P(s) = 1 - (1 - s**2)**64`` (MMDS §3.4): threshold
``(1/64)**(1/2) = 0.125``; P(0.2) = 0.93, P(0.3) = 0.9975, P(0.5) = 1 - 1e-8. Set low on purpose: a teaser with 2 of
6 paragraphs has Jaccard ≈ 0.3 with its story and edited wire copies go down to 0.2, so the candidate step must
not lose them; the price is a few spurious candidates per article, rejected by the exact check (≈ 10 µs each)."""

SEED = 1
"""Seed of the MinHash permutations. Part of :data:`FINGERPRINT_VERSION`: signatures made with another seed
are not comparable."""

MIN_TOKENS = 30
"""Bodies with fewer normalised words than this get no fingerprint and never match anything. Reason: below ~30
words (≈ two sentences) a body is a caption, a teaser line or a formula («يهنئ … بذكرى استقلال بلاده»), 26 or fewer
5-word shingles, where one changed word moves Jaccard by ≥ 0.2, so similarity says nothing about being the same
story. The shortest labelled copies in the corpus have 43 words."""

NEAR_JACCARD = 0.3
"""Exact shingle Jaccard at or above which two bodies are near-duplicates (threshold curve in the docs)."""

CONTAINMENT = 0.5
"""Share of the shorter body's shingles found in the opening of the longer one (:func:`prefix_containment`) at or
above which the shorter body is a teaser/trimmed copy of the longer one (threshold curve in the docs)."""

PREFIX_SLACK = 1.2
PREFIX_EXTRA = 10
"""The *opening* of the longer text for :func:`prefix_containment`: its first ``PREFIX_SLACK × n + PREFIX_EXTRA``
distinct shingles, ``n`` = the shorter text's shingle count. Edited copies insert a few sentences; a composite
article that carries another story further down does not match."""

_RENSA_ALGORITHM = getattr(RMinHash, "ALGORITHM_VERSION", 0)
FINGERPRINT_VERSION = f"mh-w{SHINGLE_WORDS}-p{NUM_PERM}-b{BANDS}x{ROWS}-s{SEED}-crc32-rensa{_RENSA_ALGORITHM}"
"""Identifies how fingerprints were made. A persistent store must keep it next to the fingerprints and start a new
index when it changes: band hashes and signatures of different versions are not comparable."""


@dataclass(frozen=True)
class Params:
    """Tunable decision parameters (defaults: the module constants). Shingle size, ``num_perm``, bands and rows
    change the fingerprint itself; the thresholds only change :func:`decide`. Raises ``ValueError`` when
    ``bands * rows > num_perm``."""

    shingle_words: int = SHINGLE_WORDS
    num_perm: int = NUM_PERM
    bands: int = BANDS
    rows: int = ROWS
    seed: int = SEED
    min_tokens: int = MIN_TOKENS
    near_jaccard: float = NEAR_JACCARD
    containment: float = CONTAINMENT
    prefix_slack: float = PREFIX_SLACK
    prefix_extra: int = PREFIX_EXTRA
    guards: bool = True

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands × rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.shingle_words < 1 or self.min_tokens < self.shingle_words:
            raise ValueError("need 1 <= shingle_words <= min_tokens")


DEFAULT = Params()

# ------------------------------------------------------------------------------------------ numbers and names

_N = normalize_for_matching
_DIGITS = re.compile(r"\d+")
_UNIT_STOP = frozenset(_N(w) for w in (
    "في من إلى على عن مع أو و ثم حتى منذ بين خلال نحو حوالي قبل بعد عند لدى مقابل الى او ما لا قد ان أن إن كما "
    "التي الذي الذين هذا هذه ذلك تلك وفي ومن وإلى وعلى فيما بينما حيث بنسبة نسبة".split()))
"""Words after a number that are not a counted noun or unit («في 2015», «من 166»): never a number slot."""

_MARKERS = frozenset(_N(w) for w in (
    "الرئيس رئيس الملك الأمير أمير الشيخ السلطان الوزير وزير وزيرة الوزيرة السفير سفير سفيرة حاكم المستشار "
    "الدكتور المهندس اللواء العميد العقيد المقدم الرائد النقيب الفريق الرقيب العريف الجندي المواطن المواطنة "
    "المقيم المقيمة الشهيد السيد السيدة اللاعب المدرب النائب القاضي الإمام البابا "
    "مدينة محافظة منطقة جمهورية دولة بلدة قرية حي ولاية إمارة جامعة مستشفى نادي شركة مطار ميناء منفذ".split()))
"""Title and place words followed by a name («الرئيس X», «جمهورية X», «محافظة X»): the slots of
:func:`name_conflicts`."""

_SKIP = frozenset(_N(w) for w in (
    "الدكتور د المهندس م الأستاذ الشيخ معالي سمو صاحب السمو الملكي فخامة جلالة السيد السيدة الفريق أول اللواء "
    "الركن العميد العقيد الأمير الملك دولة".split())) | _MARKERS
"""Honorifics skipped between a marker and the name («صاحب السمو الملكي الأمير محمد», «الرئيس د. X»)."""

_COMPOUND = frozenset(_N(w) for w in "عبد أبو ابو أبي ابن بن بنت آل ال أم ذو".split())
"""First parts of compound names, joined with the next word («عبد العزيز» = «عبدالعزيز»)."""


def _stem(token: str) -> str:
    """Light prefix stripping for name lookups: و, then بال/كال/فال/لل → ال, then ال, then a lone ب/ل before a
    word of ≥ 4 letters (after Larkey et al. 2002 light stemming). Over-stripping only makes a name *found* in the
    other text more often, which makes the guard more permissive, never stricter."""
    if len(token) > 3 and token[0] == "و":
        token = token[1:]
    if len(token) > 5 and token[:3] in ("بال", "كال", "فال"):
        token = "ال" + token[3:]
    elif len(token) > 4 and token.startswith("لل"):
        token = "ال" + token[2:]
    if len(token) > 4 and token.startswith("ال"):
        token = token[2:]
    elif len(token) > 4 and token[0] in "بل":
        token = token[1:]
    return token


def _key(word: str) -> int:
    return zlib.crc32(word.encode("utf-8"))


def number_slots(tokens: list[str]) -> frozenset[str]:
    """``{"unit=value"}`` for each number followed by a counted word («41 متهما» → ``"متهما=41"``).

    A number is a token ending in digits plus up to two following all-digit tokens (the normaliser turns «13.41»
    and «4,600» into ``13 41`` / ``4 600``; the parts are joined with ``.``). The value is compared without dots and
    leading zeros. The unit is the next token when it has ≥ 3 letters and is not a preposition/function word
    (:data:`_UNIT_STOP`). Shape: normalised tokens → frozenset of strings; never raises.
    """
    slots: set[str] = set()
    n = len(tokens)
    i = 0
    while i < n:
        t = tokens[i]
        if not t[-1].isdigit():
            i += 1
            continue
        parts = [_DIGITS.findall(t)[-1]]
        j = i + 1
        while j < n and len(parts) < 3 and tokens[j].isdigit():
            parts.append(tokens[j])
            j += 1
        if j < n:
            unit = tokens[j]
            if len(unit) >= 3 and unit not in _UNIT_STOP and not any(c.isdigit() for c in unit):
                value = "".join(parts).lstrip("0") or "0"
                slots.add(f"{unit}={value}")
        i = j
    return frozenset(slots)


def name_slots(tokens: list[str]) -> frozenset[str]:
    """``{"marker=name"}`` for each title/place word followed by a name («الرئيس باتريك» → ``"الرييس=باتريك"``,
    normalised spelling). Honorifics in between are skipped (:data:`_SKIP`); compound-name parts are joined
    («عبد العزيز» → ``عبدالعزيز``); a marker with a clitic («لفخامة الرئيس», «والرئيس») counts. The name is
    :func:`_stem`-med. Shape: normalised tokens → frozenset of strings; never raises."""
    slots: set[str] = set()
    n = len(tokens)
    for i, t in enumerate(tokens):
        m = t if t in _MARKERS else (t[1:] if len(t) > 3 and t[0] in "ولبف" and t[1:] in _MARKERS else None)
        if m is None:
            continue
        j = i + 1
        while j < n and j <= i + 4 and tokens[j] in _SKIP:
            j += 1
        if j >= n or j > i + 4:
            continue
        name = tokens[j]
        if name in _COMPOUND and j + 1 < n:
            name += tokens[j + 1]
        if len(name) < 3 or any(c.isdigit() for c in name):
            continue
        slots.add(f"{m}={_stem(name)}")
    return frozenset(slots)


def _vocab(tokens: list[str]) -> frozenset[int]:
    """CRC-32 keys of the stems of the distinct tokens (≥ 3 letters) and of joined compound names."""
    out = {_key(_stem(t)) for t in set(tokens) if len(t) >= 3}
    out.update(_key(_stem(a + b)) for a, b in zip(tokens, tokens[1:]) if a in _COMPOUND)
    return frozenset(out)


# ---------------------------------------------------------------------------------------------- fingerprint


@dataclass(frozen=True)
class Fingerprint:
    """What dedup keeps of one body. Every field is plain data (ints, strings, tuples, frozensets), so a store can
    persist it (:meth:`to_dict` / :meth:`from_dict`).

    * ``tokens`` — number of normalised words;
    * ``shingles`` — CRC-32 of each distinct :data:`SHINGLE_WORDS`-word shingle, in order of first occurrence
      (order is what :func:`prefix_containment` needs);
    * ``signature`` — MinHash, ``num_perm`` unsigned 32-bit ints;
    * ``bands`` — ``bands`` LSH keys ``"{band}:{hex}"``, Elasticsearch keyword values;
    * ``numbers`` — number slots ``"unit=value"`` (:func:`number_slots`);
    * ``names`` — name slots ``"marker=name"`` (:func:`name_slots`);
    * ``vocab`` — CRC-32 keys of the stemmed word forms, to ask «does this text mention X at all?»;
    * ``content_hash`` — SHA-256 hex of the normalised body (exact duplicates);
    * ``version`` — :data:`FINGERPRINT_VERSION` (or the equivalent for non-default :class:`Params`).
    """

    tokens: int
    shingles: tuple[int, ...]
    signature: tuple[int, ...]
    bands: tuple[str, ...]
    numbers: frozenset[str]
    names: frozenset[str]
    vocab: frozenset[int] = field(repr=False)
    content_hash: str
    version: str = FINGERPRINT_VERSION

    @cached_property
    def shingle_set(self) -> frozenset[int]:
        """The shingle hashes as a set (computed once)."""
        return frozenset(self.shingles)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (lists of ints and strings) for a persistent store."""
        return {"version": self.version, "tokens": self.tokens, "shingles": list(self.shingles),
                "signature": list(self.signature), "bands": list(self.bands), "numbers": sorted(self.numbers),
                "names": sorted(self.names), "vocab": sorted(self.vocab), "content_hash": self.content_hash}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fingerprint:
        """Inverse of :meth:`to_dict`. Raises ``KeyError``/``TypeError`` on a malformed dict."""
        return cls(tokens=int(d["tokens"]), shingles=tuple(d["shingles"]), signature=tuple(d["signature"]),
                   bands=tuple(d["bands"]), numbers=frozenset(d["numbers"]), names=frozenset(d["names"]),
                   vocab=frozenset(d["vocab"]), content_hash=d["content_hash"], version=d["version"])


def _version(p: Params) -> str:
    if p == DEFAULT:
        return FINGERPRINT_VERSION
    return f"mh-w{p.shingle_words}-p{p.num_perm}-b{p.bands}x{p.rows}-s{p.seed}-crc32-rensa{_RENSA_ALGORITHM}"


def short_reason(text: str, params: Params = DEFAULT) -> str | None:
    """Why ``text`` gets no fingerprint (``"short: 12 words < 30"``), or ``None`` when it gets one."""
    n = len(normalize_for_matching(text).split())
    return f"short: {n} words < {params.min_tokens}" if n < params.min_tokens else None


def fingerprint(text: str, params: Params = DEFAULT) -> Fingerprint | None:
    """Fingerprint of one cleaned body, or ``None`` when it has fewer than ``params.min_tokens`` normalised words
    (:data:`MIN_TOKENS`; such bodies never match anything). Shape: ``str -> Fingerprint | None``; never raises
    on any ``str``. Cost: ≈ 0.3 ms for a 300-word article (normalisation is half of it)."""
    norm = normalize_for_matching(text)
    tokens = norm.split()
    if len(tokens) < params.min_tokens:
        return None
    k = params.shingle_words
    shingles = [" ".join(g) for g in zip(*(tokens[j:] for j in range(k)))]
    hashes = tuple(dict.fromkeys(zlib.crc32(s.encode("utf-8")) for s in shingles))
    mh = RMinHash(params.num_perm, params.seed)
    mh.update(shingles)
    sig = tuple(mh.digest())
    r = params.rows
    bands = tuple(f"{b}:" + "".join(f"{v:08x}" for v in sig[b * r:(b + 1) * r]) for b in range(params.bands))
    return Fingerprint(
        tokens=len(tokens), shingles=hashes, signature=sig, bands=bands, numbers=number_slots(tokens),
        names=name_slots(tokens), vocab=_vocab(tokens),
        content_hash=hashlib.sha256(norm.encode("utf-8")).hexdigest(), version=_version(params),
    )


# ------------------------------------------------------------------------------------------------- decision


def jaccard(a: Fingerprint, b: Fingerprint) -> float:
    """Exact Jaccard similarity of the shingle sets (0.0–1.0)."""
    sa, sb = a.shingle_set, b.shingle_set
    inter = len(sa & sb)
    union = len(sa) + len(sb) - inter
    return inter / union if union else 0.0


def prefix_containment(a: Fingerprint, b: Fingerprint, params: Params = DEFAULT) -> float:
    """Share (0.0–1.0) of the shorter body's shingles found in the *opening* of the longer one: its first
    ``prefix_slack × n + prefix_extra`` distinct shingles, ``n`` = the shorter body's count (Broder's containment
    restricted to the opening, so that a teaser joins its story and a composite article does not absorb a story
    it quotes further down)."""
    small, large = (a, b) if len(a.shingles) <= len(b.shingles) else (b, a)
    if not small.shingles:
        return 0.0
    window = int(params.prefix_slack * len(small.shingles)) + params.prefix_extra
    return len(small.shingle_set.intersection(large.shingles[:window])) / len(small.shingle_set)


def _slots(values: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s in values:
        k, _, v = s.partition("=")
        out.setdefault(k, set()).add(v)
    return out


def number_conflicts(a: Fingerprint, b: Fingerprint) -> list[str]:
    """Counted words that carry different numbers in the two bodies and no common one
    (``["اعوام: 9 ≠ 7"]``); empty when the numbers agree or do not overlap. Numbers written as words in one
    text («ستة أيام») are simply absent there, never a conflict."""
    na, nb = _slots(a.numbers), _slots(b.numbers)
    return [f"{u}: {'/'.join(sorted(na[u]))} ≠ {'/'.join(sorted(nb[u]))}"
            for u in sorted(na.keys() & nb.keys()) if not na[u] & nb[u]]


def name_conflicts(a: Fingerprint, b: Fingerprint) -> list[str]:
    """Title/place words followed by different names where *neither* name appears anywhere in the other body
    (``["الرييس: باتريك ≠ ايسوفو"]``). A rewrite that says «الرئيس ترامب» where the other says «الرئيس الأمريكي
    دونالد ترامب» is not a conflict, because «ترامب» occurs in both."""
    na, nb = _slots(a.names), _slots(b.names)
    out = []
    for m in sorted(na.keys() & nb.keys()):
        va, vb = na[m], nb[m]
        if va & vb:
            continue
        only_a = [v for v in va if _key(v) not in b.vocab]
        only_b = [v for v in vb if _key(v) not in a.vocab]
        if only_a and only_b:
            out.append(f"{m}: {'/'.join(sorted(only_a))} ≠ {'/'.join(sorted(only_b))}")
    return out


@dataclass(frozen=True)
class Decision:
    """Outcome of :func:`decide`.

    * ``duplicate`` — the two bodies are copies of one story;
    * ``similarity`` — the score that decided (0.0–1.0): Jaccard for ``near``, prefix containment for
      ``containment``, 1.0 for ``exact``; for a non-duplicate the larger of the two;
    * ``kind`` — ``exact`` | ``near`` | ``containment`` | ``conflict`` (similar enough, refused by a guard) |
      ``different`` | ``short`` (a body without fingerprint);
    * ``reason`` — human-readable explanation;
    * ``jaccard`` / ``containment`` — both measures, for logs and evaluation.
    """

    duplicate: bool
    similarity: float
    kind: str
    reason: str
    jaccard: float = 0.0
    containment: float = 0.0


def decide(new: Fingerprint | None, old: Fingerprint | None, params: Params = DEFAULT) -> Decision:
    """Is ``new`` a copy of ``old``? Symmetric except for wording. ``None`` (a short body) never matches.

    Rules, in order: equal ``content_hash`` → ``exact``; Jaccard ≥ ``near_jaccard`` → ``near``; prefix
    containment ≥ ``containment`` → ``containment``; then, unless ``params.guards`` is false, a number or name
    conflict (:func:`number_conflicts`, :func:`name_conflicts`) turns a match into ``conflict``. Raises
    ``ValueError`` when the fingerprints have different versions.
    """
    if new is None or old is None:
        return Decision(False, 0.0, "short", "a body below the minimum length never matches")
    if new.version != old.version:
        raise ValueError(f"fingerprint versions differ: {new.version} vs {old.version}")
    if new.content_hash == old.content_hash:
        return Decision(True, 1.0, "exact", "identical normalised bodies", 1.0, 1.0)
    j = jaccard(new, old)
    pc = prefix_containment(new, old, params)
    if j >= params.near_jaccard:
        kind, sim, why = "near", j, f"Jaccard {j:.2f} ≥ {params.near_jaccard}"
    elif pc >= params.containment:
        kind, sim, why = "containment", pc, f"prefix containment {pc:.2f} ≥ {params.containment}"
    else:
        return Decision(False, max(j, pc), "different", f"Jaccard {j:.2f}, prefix containment {pc:.2f}", j, pc)
    if params.guards:
        conflicts = number_conflicts(new, old) + name_conflicts(new, old)
        if conflicts:
            return Decision(False, sim, "conflict", f"{why} but " + "; ".join(conflicts[:3]), j, pc)
    return Decision(True, sim, kind, why, j, pc)


# ---------------------------------------------------------------------------------------------------- stores


class CandidateStore(Protocol):
    """Where earlier fingerprints live. The in-memory :class:`MemoryStore` is the reference; a persistent one
    (e.g. Elasticsearch: one document per article with ``bands`` as a ``keyword`` array and the fingerprint in
    ``_source``; query = ``terms`` on ``bands``) must behave the same."""

    def candidates(self, fp: Fingerprint) -> list[tuple[str, Fingerprint]]:
        """Earlier ``(doc_id, fingerprint)`` pairs sharing at least one LSH band with ``fp`` (any order, no
        duplicates, never ``fp``'s own id)."""
        ...

    def add(self, doc_id: str, fp: Fingerprint) -> None:
        """Store ``fp`` under ``doc_id``; adding an id again replaces its fingerprint."""
        ...


class MemoryStore:
    """In-memory :class:`CandidateStore`: band key → doc ids, doc id → fingerprint. Memory ≈ 15 KB per article
    (shingles, vocab and band strings). Not thread-safe."""

    def __init__(self) -> None:
        self._bands: dict[str, list[str]] = {}
        self._docs: dict[str, Fingerprint] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def get(self, doc_id: str) -> Fingerprint | None:
        return self._docs.get(doc_id)

    def candidates(self, fp: Fingerprint) -> list[tuple[str, Fingerprint]]:
        seen: dict[str, None] = {}
        for band in fp.bands:
            for doc_id in self._bands.get(band, ()):
                seen[doc_id] = None
        return [(d, self._docs[d]) for d in seen]

    def add(self, doc_id: str, fp: Fingerprint) -> None:
        old = self._docs.get(doc_id)
        if old is not None:
            for band in old.bands:
                ids = self._bands.get(band)
                if ids and doc_id in ids:
                    ids.remove(doc_id)
        self._docs[doc_id] = fp
        for band in fp.bands:
            self._bands.setdefault(band, []).append(doc_id)
