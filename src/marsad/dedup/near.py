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
   One more key, ``lead:<crc32>`` of the first :data:`LEAD_WORDS` words, makes a one-paragraph teaser a
   candidate of its story even when their Jaccard is far below the S-curve threshold.
5. **Confirmation** (:func:`decide`) on the exact shingle sets, never on the estimate: *near* when the Jaccard
   similarity ``|A∩B| / |A∪B|`` reaches :data:`NEAR_JACCARD`; *containment* (a teaser carrying the first
   paragraphs of a story) when the shorter text's shingles are found in the *opening* of the longer one
   (:func:`prefix_containment`) at :data:`CONTAINMENT` or more. Containment is measured against the opening only
   so that a round-up or a composite article that quotes a story in its middle does not absorb it.
6. **Guards**: a match is refused when the two texts put different numbers in the same places
   («السجن 9 أعوام وغرامة 100 ألف» vs «السجن 7 أعوام وغرامة 50 ألف»: :func:`number_conflicts`) or different names
   after the same title or place word that neither text mentions («الرئيس باتريك ألين حاكم عام جامايكا» vs
   «الرئيس إيسوفو محمدو رئيس جمهورية النيجر»: :func:`name_conflicts`). These are the templated wire items
   (congratulation cables, daily market closes, court verdicts) whose wording overlaps although they are
   different stories.

Same event ≠ same story: two outlets writing their own articles about one event share names, places and quotes
but few 3-word runs in order, and never the opening of one inside the other, so they stay apart (curated corpus
negatives: Jaccard ≤ 0.17).

Every constant below is justified by the threshold curve measured on the corpus (``docs/evaluation-dedup.md``,
written by ``benchmarks/dedup/run.py``).
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from rensa import RMinHash

from marsad.text.arabic import normalize_for_matching
from marsad.text.fold import FOLD_VERSION

__all__ = [
    "BANDS", "CONTAINMENT", "DEFAULT", "Decision", "Fingerprint", "FINGERPRINT_VERSION", "MIN_TOKENS", "MemoryStore",
    "NEAR_JACCARD", "NUM_PERM", "Params", "ROWS", "SHINGLE_WORDS", "CandidateStore", "decide", "fingerprint",
    "jaccard", "name_conflicts", "number_conflicts", "prefix_containment", "short_reason",
]

# ------------------------------------------------------------------------------------------------- constants

SHINGLE_WORDS = 3
"""Words per shingle (Broder 1997, word *w*-shingling). Measured on the corpus (docs/evaluation-dedup.md, «Shingle
size»): the gap between the 1st percentile of labelled copies and the most similar cross-site negative that no guard
refuses is 0.20 for 3 words, 0.15 for 4, 0.09 for 5 and 0.04 for 6. Arabic attaches clitics (و، ب، ل، ال) to
words, so one edited letter changes a token and kills every shingle that spans it; short shingles survive the
light edits wire copies get. Independently written articles still share few 3-word runs (curated same-event pairs:
Jaccard ≤ 0.17)."""

NUM_PERM = 128
"""MinHash signature length (32-bit values). Standard error of the Jaccard estimate is ``sqrt(s(1-s)/128)``
(≈ 0.044 at s = 0.5); the estimate only selects candidates, the decision uses exact sets."""

BANDS = 64
ROWS = 2
"""LSH banding ``b × r = 64 × 2 = NUM_PERM``. S-curve ``P(s) = 1 - (1 - s**2)**64`` (MMDS §3.4): threshold
``(1/64)**(1/2) = 0.125``; P(0.2) = 0.93, P(0.3) = 0.9975, P(0.5) = 1 - 1e-8. Set low on purpose: a teaser with 2 of
6 paragraphs has Jaccard ≈ 0.3 with its story and edited wire copies go down to 0.2, so the candidate step must
not lose them; the price is a few spurious candidates per article, rejected by the exact check (≈ 10 µs each)."""

LEAD_WORDS = 20
"""The first ``LEAD_WORDS`` normalised words give one more candidate key, ``lead:<crc32>``: a teaser that carries
only the first paragraph of a long story can have Jaccard ≈ 0.1 with it (corpus: a CNN video page = the article's
first paragraph, Jaccard 0.11), where the S-curve gives only P ≈ 0.5; the shared opening makes it a candidate
anyway. 20 words ≈ one sentence: templated cables share their first 13 words, not 20."""

SEED = 1
"""Seed of the MinHash permutations. Part of :data:`FINGERPRINT_VERSION`: signatures made with another seed
are not comparable."""

MIN_TOKENS = 30
"""Bodies with fewer normalised words than this get no fingerprint and never match anything, not even an identical
one. Reason: below ~30 words (≈ two sentences) a body is a caption, a one-line video teaser, a ticker or a formula
(«صورة اليوم», «شاهد الفيديو: …»), the same few words recur under different stories, and a handful of shingles
cannot tell a copy from a coincidence. The shortest labelled copies in the corpus have 43 words; the pairs this
costs are 7 one-sentence CNN video pages (URL variants, which the clusterer still joins by URL)."""

NEAR_JACCARD = 0.6
"""Exact shingle Jaccard at or above which two bodies are near-duplicates («resemblance», Broder 1997). Threshold
curve: precision stays 1.0 with no curated negative merged for 0.5–0.7; 0.6 is the middle. Below 0.5 composite
articles and pieces sharing a standard paragraph merge (curated negatives at 0.33–0.47)."""

CONTAINMENT = 0.65
"""Share of the shorter body's shingles found in the *opening* of the longer one (:func:`prefix_containment`) at
or above which the shorter body is a teaser or trimmed copy of the longer one (Broder's containment, restricted to
the opening). Threshold curve: precision 1.0 and no curated negative merged from 0.55 up, recall ≥ 0.95 up to 0.8;
the most similar unguarded negative is a next-day follow-up re-using yesterday's background (0.52), the 1st
percentile of labelled copies is 0.72. 0.65 leaves ±0.05 on both sides."""

SAME_SOURCE_CONTAINMENT = 0.7
""":data:`CONTAINMENT` for two articles of the same site. A site's own furniture (related-article lists carrying
the leads of its other stories, standard background paragraphs) is shared between its different stories and never
across sites, so within one site partial overlap is weaker evidence. Corpus: CNN Arabic and SkyNews bodies that end
in the same related list reach 0.66; same-site copies (URL variants, web/print versions) are ≥ 0.76. Without this
rule 4 such pairs merge (threshold curve, ablation)."""

PREFIX_SLACK = 1.2
PREFIX_EXTRA = 10
"""The *opening* of the longer text for :func:`prefix_containment`: its first ``PREFIX_SLACK × n + PREFIX_EXTRA``
distinct shingles, ``n`` = the shorter text's shingle count. Edited copies insert a few sentences; a composite
article that carries another story further down does not match."""

_RENSA_ALGORITHM = getattr(RMinHash, "ALGORITHM_VERSION", 0)


def _version_of(shingle_words: int, num_perm: int, bands: int, rows: int, seed: int) -> str:
    return (f"mh-w{shingle_words}-p{num_perm}-b{bands}x{rows}-l{LEAD_WORDS}-s{seed}-crc32-rensa{_RENSA_ALGORITHM}"
            f"-{FOLD_VERSION}")


FINGERPRINT_VERSION = _version_of(SHINGLE_WORDS, NUM_PERM, BANDS, ROWS, SEED)
"""Identifies how fingerprints are made: shingle size, signature length, LSH bands × rows, lead words, seed,
shingle hash, MinHash implementation, and the Arabic folding (:data:`marsad.text.fold.FOLD_VERSION`: a folding
change changes tokens, hence shingles, lead keys and content hashes). Band keys and signatures of different versions
are not comparable, and :func:`decide` refuses to compare them. A persistent store keeps the version next to each
fingerprint and only offers candidates of the version it is asked with (the stories index: the ``dedup_version``
field, and ``_meta.fingerprint_version`` for the index as a whole — docs/decisions.md, «Fingerprint version»)."""


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
    same_source_containment: float = SAME_SOURCE_CONTAINMENT
    prefix_slack: float = PREFIX_SLACK
    prefix_extra: int = PREFIX_EXTRA
    guards: bool = True

    @property
    def version(self) -> str:
        """The fingerprint version these parameters make (:data:`FINGERPRINT_VERSION` for the defaults); the
        thresholds do not enter it."""
        return _version_of(self.shingle_words, self.num_perm, self.bands, self.rows, self.seed)

    def __post_init__(self) -> None:
        if self.bands < 1 or self.rows < 1:
            raise ValueError(f"bands and rows must be at least 1 (got {self.bands} × {self.rows})")
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands × rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.shingle_words < 1 or self.min_tokens < self.shingle_words:
            raise ValueError("need 1 <= shingle_words <= min_tokens")


DEFAULT = Params()

# ------------------------------------------------------------------------------------------ numbers and names

_N = normalize_for_matching
_TRAILING_DIGITS = re.compile(r"\d+$")
_ALL_DIGITS = re.compile(r"\d+")
_ANY_DIGIT = re.compile(r"\d")
_MARKERS = frozenset(_N(w) for w in (
    "الرئيس رئيس الملك الأمير أمير الشيخ السلطان الوزير وزير وزيرة الوزيرة السفير سفير سفيرة حاكم المستشار "
    "الدكتور المهندس اللواء العميد العقيد المقدم الرائد النقيب الرقيب العريف الجندي المواطن المواطنة "
    "المقيم المقيمة الشهيد السيد السيدة القاضي الإمام البابا "
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
    """``{"before|after=value"}`` for each number with the words on both sides («السجن 9 اعوام» →
    ``"السجن|اعوام=9"``): a number's *slot* is its context, so two texts that fill the same slot with different
    values disagree on a fact.

    A number is a token ending in digits plus up to two following all-digit tokens (the normaliser turns «13.41»
    and «4,600» into ``13 41`` / ``4 600``; the parts are joined and leading zeros dropped, so «4,600» = «4600»).
    ``after`` must be a word (no digits); ``before`` is the previous token or empty at the start. Shape:
    normalised tokens → frozenset of strings; never raises.
    """
    slots: set[str] = set()
    n = len(tokens)
    i = 0
    while i < n:
        m = _TRAILING_DIGITS.search(tokens[i])
        if m is None:
            i += 1
            continue
        parts = [m.group()]
        j = i + 1
        while j < n and len(parts) < 3 and _ALL_DIGITS.fullmatch(tokens[j]):
            parts.append(tokens[j])
            j += 1
        if j < n and not _ANY_DIGIT.search(tokens[j]):
            before = tokens[i][: m.start()] or (tokens[i - 1] if i > 0 else "")
            value = "".join(parts).lstrip("0") or "0"
            slots.add(f"{before}|{tokens[j]}={value}")
        i = j
    return frozenset(slots)


def name_slots(tokens: list[str]) -> frozenset[str]:
    """``{"marker=name"}`` for each title/place word followed by a name («الرئيس باتريك» → ``"الرييس=باتريك"``,
    normalised spelling). Honorifics in between are skipped (:data:`_SKIP`); compound-name parts are joined
    («عبد العزيز» → ``عبدالعزيز``); a marker with a clitic («والرئيس», «للرئيس») counts. Shape: normalised
    tokens → frozenset of strings; never raises."""
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
        if len(name) < 3 or _ANY_DIGIT.search(name):
            continue
        slots.add(f"{m}={name}")
    return frozenset(slots)


def _u32(values: Iterable[int]) -> bytes:
    """Pack unsigned 32-bit ints as little-endian bytes (4 per value): the storage form of hashes and signatures."""
    arr = array("I", values)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tobytes()


def _unpack(data: bytes) -> array:
    """Inverse of :func:`_u32`."""
    arr = array("I")
    arr.frombytes(data)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr


if array("I").itemsize != 4:  # pragma: no cover - every CPython platform in use has 4-byte unsigned int
    raise ImportError("marsad.dedup.near needs array('I') to hold 32-bit values")


def _vocab(tokens: list[str]) -> bytes:
    """Sorted CRC-32 keys of the distinct tokens (≥ 3 letters) and of joined compound names («عبد العزيز» →
    «عبدالعزيز»), packed (:func:`_u32`). Clitic variants are handled on the lookup side (:func:`_mentions`)."""
    keys = {_key(t) for t in set(tokens) if len(t) > 2}
    keys.update(_key(a + b) for a, b in zip(tokens, tokens[1:]) if a in _COMPOUND)
    return _u32(sorted(keys))


def _mentions(fp: Fingerprint, name: str) -> bool:
    """Does the body of ``fp`` contain ``name`` as a word, with or without a clitic prefix (و ب ل ال وال بال لل)?
    Binary search in the sorted vocabulary; runs only when two bodies name different people for one title."""
    stem = _stem(name)
    forms = {name, stem, "ال" + stem, "و" + name, "ب" + name, "ل" + name, "وال" + stem, "بال" + stem, "لل" + stem,
             "و" + stem, "ب" + stem, "ل" + stem}
    vocab = _unpack(fp.vocab)
    for f in forms:
        k = _key(f)
        i = bisect_left(vocab, k)
        if i < len(vocab) and vocab[i] == k:
            return True
    return False


# ---------------------------------------------------------------------------------------------- fingerprint


@dataclass(frozen=True)
class Fingerprint:
    """What dedup keeps of one body: plain, immutable data that a store can persist (:meth:`to_dict` /
    :meth:`from_dict`). Hashes are packed as little-endian unsigned 32-bit ints (4 bytes each), which keeps an
    in-memory store at ≈ 15 KB per article.

    * ``tokens`` — number of normalised words;
    * ``shingles`` — CRC-32 of each distinct :data:`SHINGLE_WORDS`-word shingle, in order of first occurrence
      (order is what :func:`prefix_containment` needs), packed; :attr:`shingle_hashes` / :attr:`shingle_set` unpack;
    * ``signature`` — MinHash, ``num_perm`` values, packed; :attr:`signature_values` unpacks;
    * ``bands`` — ``bands`` LSH keys ``"{band}:{hex}"``, Elasticsearch keyword values;
    * ``lead`` — ``"lead:{crc32 hex}"`` of the first :data:`LEAD_WORDS` words (another candidate key);
    * ``numbers`` — number slots ``"before|after=value"`` (:func:`number_slots`);
    * ``names`` — name slots ``"marker=name"`` (:func:`name_slots`);
    * ``vocab`` — sorted CRC-32 keys of the distinct words, packed: «does this text mention X at all?»;
    * ``content_hash`` — SHA-256 hex of the normalised body (exact duplicates);
    * ``version`` — :data:`FINGERPRINT_VERSION` (or the equivalent for non-default :class:`Params`).
    """

    tokens: int
    shingles: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    bands: tuple[str, ...] = field(repr=False)
    lead: str
    numbers: frozenset[str]
    names: frozenset[str]
    vocab: bytes = field(repr=False)
    content_hash: str
    version: str = FINGERPRINT_VERSION

    @property
    def candidate_keys(self) -> tuple[str, ...]:
        """The keys a store indexes and looks up: the LSH bands and the lead key."""
        return (*self.bands, self.lead)

    @property
    def n_shingles(self) -> int:
        return len(self.shingles) // 4

    @property
    def shingle_hashes(self) -> array:
        """The shingle hashes in order of first occurrence (``array('I')``, a new array on each call)."""
        return _unpack(self.shingles)

    @cached_property
    def shingle_set(self) -> frozenset[int]:
        """The shingle hashes as a set (built once per fingerprint, O(n), then kept: the index stage compares one
        stored fingerprint with every article of a batch, and rebuilding the set for each pair was the largest CPU
        cost of the index stage — docs/benchmarks-pipeline.md). Not a field: equality, ``to_dict`` and the stored
        form are unchanged."""
        return frozenset(_unpack(self.shingles))

    @property
    def signature_values(self) -> tuple[int, ...]:
        """The MinHash signature as ``num_perm`` ints in 0 … 2**32 − 1."""
        return tuple(_unpack(self.signature))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict for a persistent store: packed fields as base64 strings (an Elasticsearch ``binary``
        field takes them as they are), sets as sorted lists."""
        b64 = base64.b64encode
        return {"version": self.version, "tokens": self.tokens, "shingles": b64(self.shingles).decode("ascii"),
                "signature": b64(self.signature).decode("ascii"), "bands": list(self.bands), "lead": self.lead,
                "numbers": sorted(self.numbers), "names": sorted(self.names),
                "vocab": b64(self.vocab).decode("ascii"), "content_hash": self.content_hash}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fingerprint:
        """Inverse of :meth:`to_dict`. Raises ``KeyError``, ``TypeError`` or ``binascii.Error`` (a ``ValueError``)
        on a malformed dict."""
        b64 = base64.b64decode
        return cls(tokens=int(d["tokens"]), shingles=b64(d["shingles"], validate=True),
                   signature=b64(d["signature"], validate=True), bands=tuple(d["bands"]), lead=d["lead"],
                   numbers=frozenset(d["numbers"]), names=frozenset(d["names"]),
                   vocab=b64(d["vocab"], validate=True), content_hash=d["content_hash"], version=d["version"])


def short_reason(text: str, params: Params = DEFAULT) -> str | None:
    """Why ``text`` gets no fingerprint (``"short: 12 words < 30"``), or ``None`` when it gets one."""
    n = len(normalize_for_matching(text).split())
    return f"short: {n} words < {params.min_tokens}" if n < params.min_tokens else None


def fingerprint(text: str, params: Params = DEFAULT) -> Fingerprint | None:
    """Fingerprint of one cleaned body, or ``None`` when it has fewer than ``params.min_tokens`` normalised words
    (:data:`MIN_TOKENS`; such bodies never match anything). Shape: ``str -> Fingerprint | None``; never raises
    on any ``str``. Cost: ≈ 0.55 ms median per SaudiNewsNet article (about a third of it normalisation)."""
    norm = normalize_for_matching(text)
    tokens = norm.split()
    if len(tokens) < params.min_tokens:
        return None
    k = params.shingle_words
    shingles = [" ".join(g) for g in zip(*(tokens[j:] for j in range(k)))]
    hashes = dict.fromkeys(zlib.crc32(s.encode("utf-8")) for s in shingles)
    mh = RMinHash(params.num_perm, params.seed)
    mh.update(shingles)
    sig = array("I", mh.digest())
    if sys.byteorder == "little":
        sig.byteswap()
    hexsig = sig.tobytes().hex()  # big-endian hex, 8 digits per value
    if sys.byteorder == "little":
        sig.byteswap()
    r = params.rows
    w = 8 * r
    bands = tuple(f"{b}:{hexsig[b * w:(b + 1) * w]}" for b in range(params.bands))
    lead = f"lead:{_key(' '.join(tokens[:LEAD_WORDS])):08x}"
    return Fingerprint(
        tokens=len(tokens), shingles=_u32(hashes), signature=_u32(sig), bands=bands, lead=lead,
        numbers=number_slots(tokens),
        names=name_slots(tokens), vocab=_vocab(tokens),
        content_hash=hashlib.sha256(norm.encode("utf-8")).hexdigest(), version=params.version,
    )


# ------------------------------------------------------------------------------------------------- decision


def _jaccard(sa: frozenset[int], sb: frozenset[int]) -> float:
    inter = len(sa & sb)
    union = len(sa) + len(sb) - inter
    return inter / union if union else 0.0


def _prefix(a: Fingerprint, sa: frozenset[int], b: Fingerprint, sb: frozenset[int], params: Params) -> float:
    (small, s_small), large = ((a, sa), b) if a.n_shingles <= b.n_shingles else ((b, sb), a)
    if not s_small:
        return 0.0
    window = int(params.prefix_slack * small.n_shingles) + params.prefix_extra
    return len(s_small.intersection(_unpack(large.shingles[: 4 * window]))) / len(s_small)


def jaccard(a: Fingerprint, b: Fingerprint) -> float:
    """Exact Jaccard similarity ``|A∩B| / |A∪B|`` of the shingle sets (0.0–1.0; Broder's resemblance)."""
    return _jaccard(a.shingle_set, b.shingle_set)


def prefix_containment(a: Fingerprint, b: Fingerprint, params: Params = DEFAULT) -> float:
    """Share (0.0–1.0) of the shorter body's shingles found in the *opening* of the longer one: its first
    ``prefix_slack × n + prefix_extra`` distinct shingles, ``n`` = the shorter body's count (Broder's containment
    restricted to the opening, so that a teaser joins its story and a composite article does not absorb a story
    it quotes further down)."""
    return _prefix(a, a.shingle_set, b, b.shingle_set, params)


def _slots(values: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s in values:
        k, _, v = s.partition("=")
        out.setdefault(k, set()).add(v)
    return out


def number_conflicts(a: Fingerprint, b: Fingerprint) -> list[str]:
    """Number slots (same words before and after) filled with different values in the two bodies
    (``["السجن|اعوام: 9 ≠ 7", "غرامه|الف: 100 ≠ 50"]``), returned when there are at least two such disagreements
    and at least as many as the slots that agree; else empty. One disagreement is a typo, an update or a figure
    mentioned in passing, not another story (corpus: «لا يزيد عمره عن 55 عاما» vs «عن 25 عاما» in two copies of
    one job advert; «بنحو 41 مليون» vs «بنحو 29.5 مليون» about two different years in two copies of one report);
    templated items differ in several figures (index level, change, volume of a market close). Numbers written as
    words in one text («ستة أيام») are simply absent there, never a conflict."""
    na, nb = _slots(a.numbers), _slots(b.numbers)
    common = na.keys() & nb.keys()
    bad = [u for u in sorted(common) if not na[u] & nb[u]]
    if len(bad) < 2 or len(bad) < len(common) - len(bad):
        return []
    return [f"{u}: {'/'.join(sorted(na[u]))} ≠ {'/'.join(sorted(nb[u]))}" for u in bad]


def _close(a: str, b: str) -> bool:
    """Spelling variants of one transliterated name («بيتسبرغ»/«بيتسبرج», «بوتين»/«بوتن», «الأمريكي»/«الأميركي»):
    optimal-string-alignment distance (Levenshtein plus adjacent transposition) ≤ 1, or ≤ 2 when both have ≥ 7
    letters."""
    limit = 2 if min(len(a), len(b)) >= 7 else 1
    if abs(len(a) - len(b)) > limit:
        return False
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1] <= limit


def name_conflicts(a: Fingerprint, b: Fingerprint) -> list[str]:
    """Title/place words followed by different names that *neither* body mentions anywhere in the other and that
    are not spelling variants of each other (``["الرييس: باتريك ≠ ايسوفو"]``), returned when such disagreeing
    markers are at least as many as the markers whose names agree; else empty. A rewrite that says «الرئيس ترامب»
    where the other says «الرئيس الأمريكي دونالد ترامب» is not a conflict («ترامب» occurs in both); nor is a copy
    that mentions one more city in passing among many agreeing names (corpus: «مدينة أبها» vs «مدينة بريدة» in two
    copies of one SPA story)."""
    na, nb = _slots(a.names), _slots(b.names)
    common = na.keys() & nb.keys()
    agree = 0
    out = []
    for m in sorted(common):
        va, vb = na[m], nb[m]
        if va & vb:
            agree += 1
            continue
        only_a = [v for v in va if not _mentions(b, v)]
        only_b = [v for v in vb if not _mentions(a, v)]
        if only_a and only_b and not any(_close(x, y) or _close(_stem(x), _stem(y)) for x in only_a for y in only_b):
            out.append(f"{m}: {'/'.join(sorted(only_a))} ≠ {'/'.join(sorted(only_b))}")
    return out if out and len(out) >= agree else []


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


def decide(new: Fingerprint | None, old: Fingerprint | None, params: Params = DEFAULT, *,
           same_source: bool = False) -> Decision:
    """Is ``new`` a copy of ``old``? Symmetric in its arguments. ``None`` (a short body) never matches.

    Rules, in order:

    1. equal ``content_hash`` → ``exact``;
    2. Jaccard ≥ ``near_jaccard`` → ``near``;
    3. prefix containment ≥ ``containment`` (``same_source_containment`` when ``same_source``: the two articles come
       from one site) → ``containment``;
    4. unless ``params.guards`` is false, a number or name conflict (:func:`number_conflicts`,
       :func:`name_conflicts`) turns a ``near``/``containment`` match into ``conflict``.

    Raises ``ValueError`` when the fingerprints have different versions (made with different parameters or another
    folding: :data:`FINGERPRINT_VERSION`); stores never offer such candidates (:class:`CandidateStore`).
    """
    if new is None or old is None:
        return Decision(False, 0.0, "short", "a body below the minimum length never matches")
    if new.version != old.version:
        raise ValueError(f"fingerprint versions differ: {new.version} vs {old.version} (made with other parameters "
                         "or another folding; a candidate store offers only fingerprints of the version asked for)")
    if new.content_hash == old.content_hash:
        return Decision(True, 1.0, "exact", "identical normalised bodies", 1.0, 1.0)
    sa, sb = new.shingle_set, old.shingle_set
    j = _jaccard(sa, sb)
    pc = _prefix(new, sa, old, sb, params)
    need = params.same_source_containment if same_source else params.containment
    if j >= params.near_jaccard:
        kind, sim, why = "near", j, f"Jaccard {j:.2f} ≥ {params.near_jaccard}"
    elif pc >= need:
        kind, sim, why = "containment", pc, f"prefix containment {pc:.2f} ≥ {need}"
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
    (e.g. Elasticsearch: one document per article with ``candidate_keys`` as a ``keyword`` array and
    :meth:`Fingerprint.to_dict` in ``_source``; query = ``terms`` on that field) must behave the same."""

    def candidates(self, fp: Fingerprint) -> list[tuple[str, Fingerprint]]:
        """Stored ``(doc_id, fingerprint)`` pairs of ``fp.version`` sharing at least one of ``fp.candidate_keys`` (an
        LSH band or the lead key); any order, no duplicates. Fingerprints of another version are never returned:
        the lead key does not depend on the LSH parameters, so without the version filter they would be offered,
        and :func:`decide` refuses to compare them."""
        ...

    def add(self, doc_id: str, fp: Fingerprint) -> None:
        """Store ``fp`` under ``doc_id``; adding an id again replaces its fingerprint."""
        ...


class MemoryStore:
    """In-memory :class:`CandidateStore`: candidate key → doc ids, doc id → fingerprint. Memory ≈ 15 KB per
    article (measured by the benchmark; the 65 key strings are a third of it). No eviction: a long-running consumer
    should keep a window of recent days. Not thread-safe."""

    def __init__(self) -> None:
        self._bands: dict[str, list[str]] = {}
        self._docs: dict[str, Fingerprint] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def get(self, doc_id: str) -> Fingerprint | None:
        return self._docs.get(doc_id)

    def candidates(self, fp: Fingerprint) -> list[tuple[str, Fingerprint]]:
        seen: dict[str, None] = {}
        for band in fp.candidate_keys:
            for doc_id in self._bands.get(band, ()):
                seen[doc_id] = None
        return [(d, self._docs[d]) for d in seen if self._docs[d].version == fp.version]

    def add(self, doc_id: str, fp: Fingerprint) -> None:
        old = self._docs.get(doc_id)
        if old is not None:
            for band in old.candidate_keys:
                ids = self._bands.get(band)
                if ids and doc_id in ids:
                    ids.remove(doc_id)
        self._docs[doc_id] = fp
        for band in fp.candidate_keys:
            self._bands.setdefault(band, []).append(doc_id)
