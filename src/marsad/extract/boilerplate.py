"""Republication boilerplate: recognise it in an extracted article, remove it from the body, keep it as metadata.

Arabic aggregators and wire-fed papers wrap the same story in different furniture (see ../shared/DESIGN.md,
"Arabic, concretely"). Left in the body, that furniture makes copies of one story look different to dedup and
makes unrelated stories look alike (the same disclaimer on every page of an aggregator). Observed forms:

* aggregator header «هذا الخبر بعنوان "…" نشر أولاً على موقع X وتم جلبه من مصدره الأصلي بتاريخ …» and
  disclaimers «لا يتحمل موقعنا مضمونه…», «بإمكانكم الإطلاع على تفاصيل هذا الخبر من خلال مصدره الأصلي»
  (corpus seed/republished-story.txt, a real aggregator copy of a hashtagsyria.com story, 16 Jan 2026);
* source lines «المصدر: X», «لقراءة الخبر كاملاً من المصدر اضغط هنا» (corpus derived/republished);
* «رابط الخبر بصحيفة الوئام: <title>» feed tails (SaudiNewsNet 2015-08-03, alweeam, 90 of 90 articles);
* wire datelines «طنجة - واس», «واس - الرياض:», «واس (الرياض)», «الرياض : واس», «لندن، بريطانيا (CNN) –», and the
  SPA line «إسلام آباد 18 شوال 1436 هـ الموافق 03 اغسطس 2015 م واس» (SaudiNewsNet author fields and bodies,
  antcorpus CNN);
* repeated category tails «سياسة» ×4 (seed, derived/republished), tag lists after «سمات» (SaudiNewsNet 3alyoum,
  76 of 76 articles) or «الكلمات الدالة :» (akhbarelyom), related lists «مقالات أخرى للكاتب…» (aljazirah),
  «إقرأ أيضا: …» lines (antcorpus CNN);
* category prefixes on SPA titles «عام / …», «سياسي / …» (SaudiNewsNet dedup_clusters, source ``was``).

The rules are data: ``boilerplate_rules.yaml`` next to this module lists each rule with its kind, regex, where it
applies, what it captures and real examples; ``tests/unit/test_boilerplate.py`` runs every rule on its own
examples, so a new rule is a YAML entry with examples and no code change.

Matching is normalisation-insensitive: rules and text are compared after :func:`fold`, which removes bidi/format
characters, tashkeel and tatweel, folds alef/yeh/teh-marbuta variants, Eastern digits, quote and dash variants and
collapses whitespace, while keeping a map back to the original characters. Removal and captured values therefore
use the original text (captured dates keep «١٦ كانون الثاني ٢٠٢٦» as written).

Conservatism: rules only look at the first/last few paragraphs (``within``), peel from the edges inward and stop
at the first paragraph no rule recognises; a cut inside a paragraph must start at a sentence boundary; every rule
has a ``max_chars`` limit on what it may remove. A sentence that merely mentions «المصدر» is never touched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from marsad.text.arabic import normalize_for_matching
from marsad.text.fold import FORMAT, LETTER_TABLE

__all__ = ["Attribution", "Rule", "Rules", "clean_body", "clean_title", "fold", "load_rules"]

# --------------------------------------------------------------------------------------------------- attribution


@dataclass(frozen=True)
class Attribution:
    """Metadata recovered from the boilerplate removed from one article.

    * ``original_site`` — site named as the origin: «hashtagsyria.com» (header), «اليوم السابع» («المصدر: …»),
      «الوئام» («رابط الخبر بصحيفة الوئام: …»);
    * ``original_title`` — the origin's title, when the boilerplate quotes it;
    * ``original_date_text`` — the origin's date exactly as written (e.g. «١٦ كانون الثاني ٢٠٢٦»; parse elsewhere);
    * ``source_line`` — the first «المصدر: …»-style line, verbatim;
    * ``wire`` — news agency of a dateline as written («واس», «د. ب. أ», «CNN»);
    * ``dateline_place`` / ``dateline_date_text`` — place (and SPA date text) of that dateline;
    * ``tags`` — category/tag strings from tag tails. Text extraction loses tag boundaries: one element per
      separator-delimited chunk (``،`` ``,`` ``|`` ``;`` or one line per tag), otherwise the whole list as one string;
    * ``removed`` — ``(rule name, removed text)`` in document order; the text is verbatim (stripped).

    Scalar fields are filled by the first rule that captures them (head before tail); all default to ``None``/().
    """

    original_site: str | None = None
    original_title: str | None = None
    original_date_text: str | None = None
    source_line: str | None = None
    wire: str | None = None
    dateline_place: str | None = None
    dateline_date_text: str | None = None
    tags: tuple[str, ...] = ()
    removed: tuple[tuple[str, str], ...] = ()


_SCALAR_FIELDS = frozenset(f.name for f in fields(Attribution)) - {"tags", "removed"}
CAPTURE_FIELDS = _SCALAR_FIELDS | {"tags"}
"""Attribution fields a rule may capture into (``capture:`` keys in the YAML)."""

# --------------------------------------------------------------------------------------------------------- fold

_TATWEEL = "\u0640"
_PUNCTUATION_FOLD: dict[str, str] = {
    **{q: '"' for q in "«»“”„‟″〝〞＂"},
    **{q: "'" for q in "‘’‚‛′"},
    **{d: "-" for d in "‐‑‒–—―−﹘﹣－"},
}
"""Quote and dash variants rules treat as one (the rules' own concern; Arabic letters fold in marsad.text.fold)."""


def _build_table() -> dict[int, str | None]:
    """One ``str.translate`` table: code point → folded string (``None`` = drop). Unlisted = unchanged.

    The Arabic part is the shared :data:`marsad.text.fold.LETTER_TABLE` (format characters, tashkeel, letters,
    digits, presentation forms; tatweel is handled by :func:`fold` itself); on top: whitespace → space, quote and
    dash variants, and NFKC for fullwidth forms and the ellipsis."""
    table: dict[int, str | None] = {cp: " " for cp in range(0x10000) if chr(cp).isspace()}
    table.update(LETTER_TABLE)
    table.pop(ord(_TATWEEL), None)
    for ch, r in _PUNCTUATION_FOLD.items():
        table[ord(ch)] = r
    for cp in [*range(0xFF01, 0xFF5F), 0x2026]:
        if cp in table:
            continue
        parts = unicodedata.normalize("NFKC", chr(cp))
        if parts != chr(cp):
            table[cp] = "".join(table.get(ord(c), c) or "" for c in parts)
    return table


_TABLE = _build_table()
_TATWEEL_RUN = re.compile("\u0640+")
_SPACE_RUN = re.compile(" {2,}")


def _is_arabic_letter(ch: str) -> bool:
    return "\u0621" <= ch <= "\u064a" or "\u0671" <= ch <= "\u06d3"


def _tatweel(m: re.Match[str]) -> str:
    s, e, text = m.start(), m.end(), m.string
    attached = (s > 0 and _is_arabic_letter(text[s - 1])) or (e < len(text) and _is_arabic_letter(text[e]))
    return "" if attached else "-"


def _fold_text(text: str) -> str:
    """``fold(text)[0]`` without the offset map (``str.translate`` + two regexes; the hot path)."""
    if _TATWEEL in text:
        text = _TATWEEL_RUN.sub(_tatweel, text)
    return _SPACE_RUN.sub(" ", text.translate(_TABLE)).strip(" ")


def fold(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` for rule matching; return ``(folded, offsets)``.

    ``offsets[j]`` is the index in ``text`` of the character that produced ``folded[j]``; ``len(offsets) ==
    len(folded)``. Folding: drop bidi/format characters (category Cf) and tashkeel; fold أ إ آ ٱ → ا, ى → ي,
    ة → ه, ؤ → و, ئ → ي, Eastern/Persian digits → ASCII, «» “” „ → ``"``, ‘ ’ → ``'``, – — − → ``-``; NFKC for
    presentation forms, fullwidth forms and «…»; whitespace runs (incl. NBSP) → one space, stripped at both ends.
    Tatweel inside a word is dropped («الــوزراء»), a free-standing tatweel run is a dash («واس ـ الرياض»,
    «لندن ـ د. ب. أ»; observed in SaudiNewsNet). Unlike :func:`normalize_for_matching`, punctuation and letter case
    are kept (rules need «:», «.», «(», and are compiled case-insensitive). Shape: ``str -> (str, list[int])``;
    never raises. The folded string equals the fast path used for matching; offsets are only built on a match.
    """
    out: list[str] = []
    offs: list[int] = []
    space = True  # suppress leading spaces
    n = len(text)
    i = 0
    table = _TABLE
    while i < n:
        ch = text[i]
        if ch == _TATWEEL:
            j = i
            while j < n and text[j] == _TATWEEL:
                j += 1
            attached = (i > 0 and _is_arabic_letter(text[i - 1])) or (j < n and _is_arabic_letter(text[j]))
            r = "" if attached else "-"
            step = j - i
        else:
            r = table.get(ord(ch), ch) or ""
            step = 1
        for c in r:
            if c == " ":
                if space:
                    continue
                space = True
            else:
                space = False
            out.append(c)
            offs.append(i)
        i += step
    if out and out[-1] == " ":
        out.pop()
        offs.pop()
    return "".join(out), offs


def _fold_pattern(pattern: str) -> str:
    """Fold the literal characters of a rule regex with the same table as :func:`fold` (not whitespace/case)."""
    return "".join(ch if ch.isspace() else (_TABLE.get(ord(ch), ch) or "") for ch in pattern if ch != _TATWEEL)


_EDGE_JUNK = "".join(sorted({chr(cp) for cp in range(0x10000) if chr(cp).isspace()} | FORMAT))
"""Whitespace (``str.isspace``, as in the fold table) and every format character (:data:`marsad.text.fold.FORMAT`,
category Cf: bidi marks, zero-width characters, word joiner, soft hyphen, U+0600–U+0605 …), the class the shared
folding deletes."""


def _strip(text: str) -> str:
    """Strip whitespace and format characters (:data:`_EDGE_JUNK`) at both ends."""
    return text.strip(_EDGE_JUNK)


def _clean_value(text: str) -> str:
    """A captured value: format characters removed, whitespace collapsed, edge quotes/colons stripped."""
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = " ".join(text.split())
    return text.strip(" \"'«»“”:")


# -------------------------------------------------------------------------------------------------------- rules

KINDS = frozenset({"header", "disclaimer", "source-line", "read-more", "wire-dateline", "category-tail",
                   "tags-after-marker", "related-list", "read-also", "title-echo", "title-prefix"})
"""Rule kinds. ``category-tail`` uses the built-in repeated-run matcher and ``title-echo`` compares with the
title; every other kind is a regex rule."""

WHERES = frozenset({"head", "tail", "any", "title"})
SCOPES = frozenset({"paragraph", "prefix", "suffix", "edge", "block", "repeated", "title-echo"})
_RULE_KEYS = frozenset({"name", "kind", "where", "within", "scope", "max_chars", "pattern", "capture", "boundary",
                        "params", "observed", "examples", "counterexamples", "note"})
_WINDOW = 1200
"""Characters of a paragraph folded for prefix/suffix rules (longer paragraphs: only this much of each end)."""
_SENTENCE_END = frozenset('.!?؟"\')]…؛')


@dataclass(frozen=True)
class Rule:
    """One boilerplate rule loaded from YAML (see ``boilerplate_rules.yaml`` for the field reference).

    ``regex`` is the folded pattern compiled case-insensitive (``None`` for matcher scopes); ``suffix_regex`` is
    the same anchored at the end. ``examples``/``counterexamples`` are kept for the tests.
    """

    name: str
    kind: str
    where: frozenset[str]
    within: int
    scope: str
    max_chars: int
    regex: re.Pattern[str] | None
    suffix_regex: re.Pattern[str] | None
    capture: tuple[tuple[str, str], ...]
    boundary: bool
    params: tuple[tuple[str, Any], ...]
    observed: str
    examples: tuple[dict[str, Any], ...] = field(default=(), compare=False, repr=False)
    counterexamples: tuple[dict[str, Any], ...] = field(default=(), compare=False, repr=False)

    def param(self, key: str, default: Any) -> Any:
        return dict(self.params).get(key, default)


@dataclass(frozen=True)
class Rules:
    """An ordered rule set. Order matters: at each paragraph the first rule (in file order) that matches wins."""

    rules: tuple[Rule, ...]
    source: str = "<rules>"
    _by_where: dict[str, tuple[Rule, ...]] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for w in WHERES:
            self._by_where[w] = tuple(r for r in self.rules if w in r.where)

    def only(self, *names: str) -> Rules:
        """The sub-set of rules with these names (file order kept). Raises ``KeyError`` for an unknown name."""
        known = {r.name for r in self.rules}
        for n in names:
            if n not in known:
                raise KeyError(n)
        return Rules(tuple(r for r in self.rules if r.name in names), self.source)

    def at(self, where: str) -> tuple[Rule, ...]:
        """Rules that apply at ``where`` ('head', 'tail', 'any', 'title'), in file order."""
        return self._by_where.get(where, ())

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


def _as_list(v: Any) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _example(raw: Any, rule: str) -> dict[str, Any]:
    if isinstance(raw, str):
        return {"text": raw}
    if isinstance(raw, dict) and isinstance(raw.get("text"), str):
        return raw
    raise ValueError(f"rule {rule!r}: example must be a string or a mapping with 'text': {raw!r}")


def _build_rule(raw: dict[str, Any], vars_: dict[str, str]) -> Rule:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"rule without a name: {raw!r}")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ValueError(f"rule {name!r}: unknown keys {sorted(unknown)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ValueError(f"rule {name!r}: kind {kind!r} not in {sorted(KINDS)}")
    where = frozenset(_as_list(raw.get("where")))
    if not where or not where <= WHERES:
        raise ValueError(f"rule {name!r}: where {sorted(where)} must be a non-empty subset of {sorted(WHERES)}")
    scope = raw.get("scope")
    if scope not in SCOPES:
        raise ValueError(f"rule {name!r}: scope {scope!r} not in {sorted(SCOPES)}")
    pattern = raw.get("pattern")
    regex = suffix_regex = None
    if scope in ("repeated", "title-echo"):
        if pattern is not None:
            raise ValueError(f"rule {name!r}: scope {scope!r} takes no pattern")
    else:
        if not isinstance(pattern, str) or not pattern.strip():
            raise ValueError(f"rule {name!r}: a regex 'pattern' is required for scope {scope!r}")
        pattern = re.sub(r"\{\{(\w+)\}\}", lambda m: vars_[m.group(1)] if m.group(1) in vars_ else
                         _missing_var(name, m.group(1)), pattern.strip())
        folded = _fold_pattern(pattern)
        try:
            regex = re.compile(folded, re.IGNORECASE)
            suffix_regex = re.compile(f"(?:{folded})$", re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"rule {name!r}: bad regex: {exc}") from exc
    capture = raw.get("capture") or {}
    if not isinstance(capture, dict) or not set(capture) <= CAPTURE_FIELDS:
        raise ValueError(f"rule {name!r}: capture keys must be among {sorted(CAPTURE_FIELDS)}: {capture!r}")
    for fld, grp in capture.items():
        if grp != "$0" and (regex is None or grp not in regex.groupindex):
            raise ValueError(f"rule {name!r}: capture {fld!r} names unknown group {grp!r}")
    examples = tuple(_example(e, name) for e in _as_list(raw.get("examples")))
    if not examples:
        raise ValueError(f"rule {name!r}: at least one example is required")
    within = int(raw.get("within", 1))
    max_chars = int(raw.get("max_chars", 300))
    if within < 1 or max_chars < 1 or max_chars > _WINDOW - 100:
        raise ValueError(f"rule {name!r}: within >= 1 and 1 <= max_chars <= {_WINDOW - 100} required")
    return Rule(
        name=name, kind=kind, where=where, within=within, scope=scope, max_chars=max_chars, regex=regex,
        suffix_regex=suffix_regex, capture=tuple(capture.items()),
        boundary=bool(raw.get("boundary", True)), params=tuple((raw.get("params") or {}).items()),
        observed=str(raw.get("observed", "")), examples=examples,
        counterexamples=tuple(_example(e, name) for e in _as_list(raw.get("counterexamples"))),
    )


def _missing_var(rule: str, var: str) -> str:
    raise ValueError(f"rule {rule!r}: unknown variable {{{{{var}}}}}")


def _parse_rules(text: str, source: str) -> Rules:
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ValueError(f"{source}: expected a mapping with a 'rules' list")
    vars_ = {str(k): str(v).strip() for k, v in (data.get("vars") or {}).items()}
    rules = tuple(_build_rule(r, vars_) for r in data["rules"])
    names = [r.name for r in rules]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"{source}: duplicate rule names {sorted(dup)}")
    return Rules(rules, source)


@lru_cache(maxsize=1)
def _default_rules() -> Rules:
    text = resources.files("marsad.extract").joinpath("boilerplate_rules.yaml").read_text(encoding="utf-8")
    return _parse_rules(text, "marsad/extract/boilerplate_rules.yaml")


def load_rules(path: Path | None = None) -> Rules:
    """Load and compile a rule file; ``None`` → the packaged ``boilerplate_rules.yaml`` (parsed once, cached).

    Raises ``ValueError`` (unknown kind/scope/key, bad regex, unknown ``{{var}}``, rule without examples, duplicate
    names), ``OSError`` for an unreadable path and ``yaml.YAMLError`` for malformed YAML.
    """
    if path is None:
        return _default_rules()
    return _parse_rules(Path(path).read_text(encoding="utf-8"), str(path))


# ------------------------------------------------------------------------------------------------------- engine


@dataclass
class _Hit:
    """One rule application: new texts for paragraphs (``None`` = paragraph gone), what went, what was captured."""

    rule: str
    edits: dict[int, str | None]
    removed: str
    at: tuple[int, int]  # (paragraph index, char offset) for document order
    captures: dict[str, str]
    tags: tuple[str, ...] = ()


class _Window:
    """A folded paragraph (or its first/last ``_WINDOW`` characters). ``offsets`` are built only when needed."""

    __slots__ = ("text", "base", "truncated", "folded", "_offs")

    def __init__(self, text: str, base: int, truncated: bool) -> None:
        self.text, self.base, self.truncated = text, base, truncated
        self.folded = _fold_text(text)
        self._offs: list[int] | None = None

    def find(self, finder: Callable[[str], re.Match[str] | None]) -> tuple[re.Match[str], list[int]] | None:
        """Run ``finder`` on the folded text; on a match also return the offset map (original = base + offs[j])."""
        m = finder(self.folded)
        if m is None:
            return None
        if self._offs is None:
            slow, self._offs = fold(self.text)
            if slow != self.folded:  # both folds use one table; this guards against a future divergence
                self.folded = slow
                m = finder(slow)
                if m is None:
                    return None
        return m, self._offs


class _Folds:
    """Per-call cache of folded paragraph windows, key (text, 'head'|'tail')."""

    def __init__(self) -> None:
        self._c: dict[tuple[str, str], _Window] = {}

    def get(self, text: str, mode: str) -> _Window:
        key = (text, mode)
        w = self._c.get(key)
        if w is None:
            if len(text) <= _WINDOW:
                w = _Window(text, 0, False)
            elif mode == "head":
                w = _Window(text[:_WINDOW], 0, True)
            else:
                base = len(text) - _WINDOW
                w = _Window(text[base:], base, True)
            self._c[key] = w
        return w


def _split_tags(value: str) -> tuple[str, ...]:
    parts = re.split(r"\s*[،,|;؛]\s*", value)
    return tuple(p for p in (_clean_value(x) for x in parts) if p)


def _captures(rule: Rule, m: re.Match[str], text: str, offs: list[int], base: int) -> tuple[dict[str, str], tuple]:
    caps: dict[str, str] = {}
    tags: tuple[str, ...] = ()
    for fld, grp in rule.capture:
        s, e = m.span(0 if grp == "$0" else grp)
        if s < 0 or e <= s:
            continue
        value = _clean_value(text[base + offs[s]: base + offs[e - 1] + 1])
        if not value:
            continue
        if fld == "tags":
            tags = _split_tags(value)
        else:
            caps[fld] = value
    return caps, tags


def _sentence_boundary(folded: str, start: int, truncated: bool) -> bool:
    if start == 0:
        return not truncated
    return start >= 2 and folded[start - 1] == " " and folded[start - 2] in _SENTENCE_END


def _suffix_finder(rule: Rule, truncated: bool) -> Callable[[str], re.Match[str] | None]:
    suffix_regex = rule.suffix_regex
    assert suffix_regex is not None  # regex scopes only (load check)

    def find(f: str) -> re.Match[str] | None:
        pos = 0
        while True:
            m = suffix_regex.search(f, pos)
            if m is None or m.start() == len(f):
                return None
            if not rule.boundary or _sentence_boundary(f, m.start(), truncated):
                return m
            pos = m.start() + 1
    return find


def _match_regex(rule: Rule, text: str, idx: int, end: str, folds: _Folds) -> _Hit | None:
    """Apply a regex rule to paragraph ``text`` (index ``idx``) seen from ``end`` ('head'|'tail'|'any')."""
    assert rule.regex is not None  # every scope but repeated/title-echo has a pattern (load check)
    scope = rule.scope
    if scope == "edge":
        scope = "prefix" if end == "head" else "suffix"
    if scope == "paragraph":
        if len(text) > rule.max_chars * 2 or len(_strip(text)) > rule.max_chars:
            return None  # before folding: most paragraphs of a body are longer than any whole-paragraph rule
        w = folds.get(text, "head")
        if w.truncated:
            return None
        found = w.find(rule.regex.fullmatch)
        if found is None:
            return None
        caps, tags = _captures(rule, found[0], text, found[1], 0)
        return _Hit(rule.name, {idx: None}, _strip(text), (idx, 0), caps, tags)
    if scope == "prefix":
        w = folds.get(text, "head")
        found = w.find(rule.regex.match)
        if found is None:
            return None
        m, offs = found
        if m.end() == 0 or (w.truncated and m.end() == len(w.folded)):
            return None
        cut = offs[m.end() - 1] + 1
        removed = _strip(text[:cut])
        if not removed or len(removed) > rule.max_chars:
            return None
        caps, tags = _captures(rule, m, text, offs, 0)
        return _Hit(rule.name, {idx: _strip(text[cut:]) or None}, removed, (idx, 0), caps, tags)
    if scope == "suffix":
        w = folds.get(text, "tail")
        found = w.find(_suffix_finder(rule, w.truncated))
        if found is None:
            return None
        m, offs = found
        cut = w.base + offs[m.start()]
        removed = _strip(text[cut:])
        if not removed or len(removed) > rule.max_chars:
            return None
        caps, tags = _captures(rule, m, text, offs, w.base)
        return _Hit(rule.name, {idx: _strip(text[:cut]) or None}, removed, (idx, cut), caps, tags)
    return None


_NOT_ITEM = re.compile(r"[.!?؟،,:;؛]")
_LETTER = re.compile(r"[^\W\d_]")


def _short_item(text: str, max_words: int, max_chars: int, headline: bool = False) -> str | None:
    """Folded text of a tag-like item (short, no sentence punctuation, has a letter), else ``None``.

    ``headline=True`` (rule param ``headlines``) accepts the punctuation of headline lists («زيارة ماكرون.. دوي»).
    """
    s = _strip(text)
    if not s or len(s) > max_chars:
        return None
    f = _fold_text(s)
    if len(f.split()) > max_words or (not headline and _NOT_ITEM.search(f)) or not _LETTER.search(f):
        return None
    return f


def _match_repeated(rule: Rule, cur: list[str | None], ne: list[int], pos: int) -> _Hit | None:
    """Trailing run of >= min_repeats identical short category strings: one line ("سياسة سياسة سياسة") or one per
    paragraph ("سياسة" ×4). Observed: seed/republished-story.txt, derived/republished aggregator pages."""
    min_rep = int(rule.param("min_repeats", 2))
    max_words = int(rule.param("max_unit_words", 3))
    max_chars = int(rule.param("max_unit_chars", 30))
    idx = ne[pos]
    text = cur[idx] or ""
    s = _strip(text)
    if len(s) > rule.max_chars:
        return None
    toks_f = _fold_text(s).split()
    toks_o = s.split()
    if len(toks_f) == len(toks_o):
        for u in range(1, max_words + 1):
            k, r = divmod(len(toks_f), u)
            if r or k < min_rep:
                continue
            unit = toks_f[:u]
            if toks_f == unit * k and _short_item(" ".join(toks_o[:u]), max_words, max_chars):
                return _Hit(rule.name, {idx: None}, s, (idx, 0), {}, (_clean_value(" ".join(toks_o[:u])),))
    item = _short_item(text, max_words, max_chars)
    if item is None:
        return None
    run, run_texts = [idx], [text]
    p = pos - 1
    while p >= 0 and (prev := cur[ne[p]]) is not None and _short_item(prev, max_words, max_chars) == item:
        run.append(ne[p])
        run_texts.append(prev)
        p -= 1
    if len(run) < min_rep or sum(len(_strip(t)) for t in run_texts) > rule.max_chars:
        return None
    run.reverse()
    run_texts.reverse()
    return _Hit(rule.name, {i: None for i in run}, "\n".join(_strip(t) for t in run_texts), (run[0], 0), {},
                (_clean_value(_strip(text)),))


def _match_block(rule: Rule, cur: list[str | None], ne: list[int], pos: int, folds: _Folds) -> _Hit | None:
    """A marker paragraph (rule regex, whole paragraph) followed only by short tag-like paragraphs up to the end.
    Observed: akhbarelyom «الكلمات الدالة :» followed by one tag per element (htmldate/1731695567.html)."""
    max_items = int(rule.param("max_items", 15))
    max_words = int(rule.param("max_item_words", 4))
    max_chars = int(rule.param("max_item_chars", 40))
    assert rule.regex is not None  # every scope but repeated/title-echo has a pattern (load check)
    items: list[int] = []
    item_texts: list[str] = []
    p = pos
    while p >= 0 and len(items) <= max_items:
        idx = ne[p]
        text = cur[idx]
        if text is None:
            return None
        found = folds.get(text, "head").find(rule.regex.fullmatch) if len(text) <= rule.max_chars else None
        if found is not None:
            if not items:
                return None
            items.reverse()
            item_texts.reverse()
            block = [idx, *items]
            removed = "\n".join(_strip(t) for t in [text, *item_texts])
            caps, _ = _captures(rule, found[0], text, found[1], 0)
            tags = tuple(_clean_value(t) for t in item_texts) if rule.kind == "tags-after-marker" else ()
            return _Hit(rule.name, {i: None for i in block}, removed, (idx, 0), caps, tags)
        if _short_item(text, max_words, max_chars, bool(rule.param("headlines", False))) is None:
            return None
        items.append(idx)
        item_texts.append(text)
        p -= 1
    return None


def _match_title_echo(rule: Rule, text: str, idx: int, title_norm: str | None) -> _Hit | None:
    """The first paragraph repeats the title (trafilatura keeps an in-article ``<h1>``; derived/republished)."""
    if not title_norm or len(text) > rule.max_chars:
        return None
    if normalize_for_matching(text) != title_norm:
        return None
    return _Hit(rule.name, {idx: None}, _strip(text), (idx, 0), {})


def _try(rule: Rule, cur: list[str | None], ne: list[int], pos: int, end: str, folds: _Folds,
         title_norm: str | None) -> _Hit | None:
    idx = ne[pos]
    text = cur[idx]
    if text is None:
        return None
    if rule.scope == "repeated":
        return _match_repeated(rule, cur, ne, pos) if end == "tail" else None
    if rule.scope == "block":
        return _match_block(rule, cur, ne, pos, folds) if end == "tail" else None
    if rule.scope == "title-echo":
        return _match_title_echo(rule, text, idx, title_norm) if end == "head" else None
    return _match_regex(rule, text, idx, end, folds)


def clean_body(text: str, title: str | None = None, rules: Rules | None = None) -> tuple[str, Attribution]:
    """Remove republication boilerplate from an extracted body; return ``(body, attribution)``.

    ``text`` is trafilatura-style plain text, paragraphs separated by ``"\\n"``; ``title`` (optional) lets the
    ``title-echo`` rule drop a first paragraph that only repeats the title. Passes, in this order:

    1. head: from the first non-empty paragraph on, apply ``head`` rules (prefix/whole-paragraph); a paragraph
       emptied by a rule is dropped and the next one is tried; stop at the first paragraph no rule changes;
    2. tail: the same from the last paragraph backwards with ``tail`` rules (suffix cuts start at a sentence
       boundary; repeated-run and tag-block matchers);
    3. any: whole-paragraph ``any`` rules on the remaining paragraphs (e.g. «إقرأ أيضا: …» lines).

    A rule applies only within its ``within`` first/last non-empty paragraphs (counted on the input). Untouched
    paragraphs are returned byte-identical; when nothing matches, ``text`` itself is returned. Never raises on any
    ``str`` input; ``rules`` defaults to :func:`load_rules`. Cost: well under 2 ms for a typical article (only
    edge paragraphs are folded, at most 1,200 characters of each).
    """
    rules = rules if rules is not None else load_rules()
    paragraphs = text.split("\n")
    cur: list[str | None] = list(paragraphs)  # a removed paragraph becomes None
    ne = [i for i, p in enumerate(paragraphs) if p.strip(_EDGE_JUNK)]
    if not ne:
        return text, Attribution()
    folds = _Folds()
    title_norm = normalize_for_matching(clean_title(title, rules)) if title else None
    hits: list[_Hit] = []

    def apply(hit: _Hit) -> None:
        for i, new in hit.edits.items():
            cur[i] = new
        hits.append(hit)

    head_rules, tail_rules, any_rules = rules.at("head"), rules.at("tail"), rules.at("any")
    pos = 0
    while pos < len(ne) and head_rules:
        hit = next((h for r in head_rules if pos < r.within
                    for h in [_try(r, cur, ne, pos, "head", folds, title_norm)] if h), None)
        if hit is None:
            break
        apply(hit)
        if cur[ne[pos]] is None:
            pos += 1
    first = pos
    n_head = len(hits)
    pos = len(ne) - 1
    while pos >= first and tail_rules:
        if cur[ne[pos]] is None:
            pos -= 1
            continue
        rank = len(ne) - 1 - pos
        hit = next((h for r in tail_rules if rank < r.within
                    for h in [_try(r, cur, ne, pos, "tail", folds, title_norm)] if h), None)
        if hit is None:
            break
        apply(hit)
    n_tail = len(hits) - n_head
    if any_rules:
        for pos, idx in enumerate(ne):
            if cur[idx] is None:
                continue
            hit = next((h for r in any_rules for h in [_try(r, cur, ne, pos, "any", folds, title_norm)] if h),
                       None)
            if hit is not None:
                apply(hit)
    if not hits:
        return text, Attribution()
    out = [p for p in cur if p is not None]
    while n_head and out and not out[0].strip(_EDGE_JUNK):  # blank lines left at an edge that was cut
        out.pop(0)
    while n_tail and out and not out[-1].strip(_EDGE_JUNK):
        out.pop()
    return "\n".join(out), _attribution(hits)


def _attribution(hits: list[_Hit]) -> Attribution:
    values: dict[str, str] = {}
    tags: list[str] = []
    for h in hits:  # processing order: head first, then tail (from the end), then any
        for k, v in h.captures.items():
            values.setdefault(k, v)
        tags.extend(t for t in h.tags if t not in tags)
    removed = tuple((h.rule, h.removed) for h in sorted(hits, key=lambda h: h.at))
    return replace(Attribution(), **values, tags=tuple(tags), removed=removed)


def clean_title(title: str, rules: Rules | None = None) -> str:
    """Title for display and matching: bidi/format marks removed, ``title`` rules applied, whitespace collapsed.

    Strips SPA category prefixes «عام / …», «سياسي / …» (observed: SaudiNewsNet dedup_clusters, source ``was``)
    and RTL embedding marks («\\u202bخادم الحرمين…\\u202c», sabq). Tatweel and tashkeel are KEPT: the title is
    display text and they are the publisher's spelling; matching goes through :func:`normalize_for_matching`,
    which drops them. Shape: ``str -> str``; never raises.
    """
    rules = rules if rules is not None else load_rules()
    t = " ".join("".join(ch for ch in title if unicodedata.category(ch) != "Cf").split())
    for _ in range(3):  # prefixes do not nest deeper than this in practice
        for r in rules.at("title"):
            if r.regex is None:
                continue
            f, offs = fold(t)
            m = r.regex.match(f)
            if m and 0 < m.end() < len(f):
                t = t[offs[m.end() - 1] + 1:].strip()
                break
        else:
            break
    return t
