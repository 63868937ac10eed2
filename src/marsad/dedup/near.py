"""Near-duplicate detection (draft for exploration)."""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass, field

from rensa import RMinHash

from marsad.text.arabic import normalize_for_matching


@dataclass(frozen=True)
class Params:
    shingle_words: int = 5
    num_perm: int = 128
    bands: int = 64
    rows: int = 2
    seed: int = 1
    min_tokens: int = 25
    near_jaccard: float = 0.35
    containment: float = 0.8
    prefix_slack: float = 1.5
    prefix_extra: int = 20


DEFAULT = Params()
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Fingerprint:
    tokens: int
    shingles: tuple[int, ...]
    signature: tuple[int, ...]
    bands: tuple[str, ...]
    numbers: frozenset[str]
    number_slots: frozenset[str]
    content_hash: str
    _set: frozenset[int] = field(default=frozenset(), repr=False, compare=False)

    @property
    def shingle_set(self) -> frozenset[int]:
        return self._set


def numbers_of(tokens: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    nums: set[str] = set()
    slots: set[str] = set()
    i, n = 0, len(tokens)
    while i < n:
        t = tokens[i]
        if t.isdigit():
            j = i
            while j + 1 < n and tokens[j + 1].isdigit() and j - i < 2:
                j += 1
            num = ".".join(tokens[i:j + 1])
            nums.add(num)
            if j + 1 < n:
                slots.add(f"{tokens[j + 1]}={num}")
            i = j + 1
            continue
        if any(c.isdigit() for c in t):
            for m in _DIGITS.findall(t):
                nums.add(m)
        i += 1
    return frozenset(nums), frozenset(slots)


def fingerprint(text: str, params: Params = DEFAULT) -> Fingerprint | None:
    norm = normalize_for_matching(text)
    tokens = norm.split()
    if len(tokens) < params.min_tokens:
        return None
    k = params.shingle_words
    shingles = [" ".join(g) for g in zip(*(tokens[j:] for j in range(k)))]
    hashes = tuple(dict.fromkeys(zlib.crc32(s.encode()) for s in shingles))
    mh = RMinHash(params.num_perm, params.seed)
    mh.update(shingles)
    sig = tuple(mh.digest())
    r = params.rows
    bands = tuple(f"{b}:" + "".join(f"{v:08x}" for v in sig[b * r:(b + 1) * r]) for b in range(params.bands))
    nums, slots = numbers_of(tokens)
    return Fingerprint(len(tokens), hashes, sig, bands, nums, slots,
                       hashlib.sha256(norm.encode()).hexdigest(), frozenset(hashes))


def features(a: Fingerprint, b: Fingerprint, params: Params = DEFAULT) -> dict:
    sa, sb = a.shingle_set, b.shingle_set
    inter = len(sa & sb)
    union = len(sa) + len(sb) - inter
    j = inter / union if union else 0.0
    small, large = (a, b) if len(sa) <= len(sb) else (b, a)
    c = inter / len(small.shingle_set) if small.shingle_set else 0.0
    L = int(params.prefix_slack * len(small.shingles)) + params.prefix_extra
    pc = len(small.shingle_set & set(large.shingles[:L])) / len(small.shingle_set)
    # number slots
    ua: dict[str, set[str]] = {}
    for s in a.number_slots:
        u, _, v = s.partition("=")
        ua.setdefault(u, set()).add(v)
    ub: dict[str, set[str]] = {}
    for s in b.number_slots:
        u, _, v = s.partition("=")
        ub.setdefault(u, set()).add(v)
    agree = conflict = 0
    cu = []
    for u in ua.keys() & ub.keys():
        if ua[u] & ub[u]:
            agree += 1
        else:
            conflict += 1
            cu.append((u, sorted(ua[u]), sorted(ub[u])))
    na, nb = a.numbers, b.numbers
    nsmall = small.numbers
    ncont = len(na & nb) / len(nsmall) if nsmall else None
    return dict(j=j, c=c, pc=pc, agree=agree, conflict=conflict, cu=cu, ncont=ncont, nsmall=len(nsmall))
