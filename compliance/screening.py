"""Screening descriptions against the negative list: term groups compiled once per policy, one scan per row.

A policy's ``screening`` section (usually included from ``policies/shared/screening-*.yaml``) gives, per
negative-list rule id, two tiers of term groups and the look-alikes that void them::

    NEG-FINE-ETC:
      clear:                       # a hit rejects, citing the rule
        - any: [罚款, 滞纳金, late fee]
        - all: [[缴纳, 交纳], [罚]]   # every part present, in any order, within `window` characters
          window: 8
      suspect:                     # a hit lifts the verdict to needs_approval, naming the words
        - any: [处罚, 违章]
      except: [罚款单据]            # a hit lying inside one of these is not a hit

Texts and terms go through :func:`compliance.text.normalise` (NFKC, traditional → simplified, case,
spaces and punctuation), so "罰 款", "ＦＩＮＥ" and "罚-款" are the words they look like. ASCII terms match
whole words (an optional plural s) so "fine" is not found in "define"; Chinese terms match anywhere.

Every term of every rule and tier (and every exception) is in a single regular expression, written as a
trie (:func:`trie_pattern`) so the engine follows the text's characters rather than trying each term;
each match reports the longest term at its position, the terms contained in it are known from compile
time, and the search resumes one character later so overlapping terms are found too. So a description
with no term costs one C-level scan whatever the size of the lexicon, and the per-rule work runs only on
the few terms found.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from compliance.rules.params import PolicyError
from compliance.text import normalise

CLEAR, SUSPECT = "clear", "suspect"
TIERS = (CLEAR, SUSPECT)
DEFAULT_WINDOW = 12


@dataclass(frozen=True, slots=True)
class Group:
    """Parts that must all occur within ``window`` characters; an any-of group has one part."""

    parts: tuple[frozenset[str], ...]
    window: int | None


@dataclass(frozen=True, slots=True)
class RuleScreen:
    rule_id: str
    clear: tuple[Group, ...]
    suspect: tuple[Group, ...]
    exceptions: frozenset[str]

    @property
    def terms(self) -> frozenset[str]:
        return frozenset(t for g in (*self.clear, *self.suspect) for part in g.parts for t in part)


@dataclass(frozen=True, slots=True)
class Hit:
    rule_id: str
    tier: str
    words: tuple[str, ...]   # the normalised terms that made the hit, in text order


def _terms(raw: Any, where: str) -> frozenset[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(t, str) and t.strip() for t in items):
        raise PolicyError(f"{where}: a list of non-empty terms")
    out = set()
    for t in items:
        n = normalise(t)
        if not n:
            raise PolicyError(f"{where}: {t!r} is only spaces or punctuation")
        out.add(n)
    return frozenset(out)


def _groups(raw: Any, where: str) -> tuple[Group, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PolicyError(f"{where}: a list of term groups ({{any: [...]}} or {{all: [[...], [...]], window: N}})")
    out = []
    for i, g in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(g, Mapping) or not (set(g) == {"any"} or set(g) in ({"all"}, {"all", "window"})):
            raise PolicyError(f"{at}: a group is {{any: [...]}} or {{all: [[...], [...]], window: N}}")
        if "any" in g:
            out.append(Group((_terms(g["any"], f"{at}.any"),), None))
            continue
        parts = g["all"]
        if not isinstance(parts, list) or len(parts) < 2:
            raise PolicyError(f"{at}.all: at least two parts, each a term or a list of alternatives")
        window = g.get("window", DEFAULT_WINDOW)
        if not isinstance(window, int) or isinstance(window, bool) or not 2 <= window <= 200:
            raise PolicyError(f"{at}.window: a whole number of characters between 2 and 200")
        out.append(Group(tuple(_terms(p, f"{at}.all[{j}]") for j, p in enumerate(parts)), window))
    return tuple(out)


_WORD_END = r"(?:e?s)?(?![a-z0-9])"   # an English term ends a word (an optional plural s)
_WORD_START = r"(?<![a-z0-9])"


def trie_pattern(terms: Iterable[str]) -> str:
    """One regular expression matching any of ``terms``, written as a trie so that the engine follows the
    text's characters instead of trying every term in turn; at each node longer terms come first. Terms
    starting with an ASCII letter or digit start a word; ASCII terms end one."""
    root: dict = {}
    for t in terms:
        node = root
        for ch in t:
            node = node.setdefault(ch, {})
        node[""] = t

    def gen(node: dict, top: bool) -> str:
        alts = []
        for ch in sorted(k for k in node if k):
            start = _WORD_START if top and ch.isascii() and ch.isalnum() else ""
            alts.append(start + re.escape(ch) + gen(node[ch], False))
        if "" in node:
            alts.append(_WORD_END if node[""].isascii() else "")
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    return gen(root, True)


class Screener:
    """The compiled ``screening`` section of one policy."""

    def __init__(self, rules: Iterable[RuleScreen]):
        self.rules = tuple(rules)
        self._rule_terms = tuple((r, r.terms) for r in self.rules)
        terms: set[str] = set()
        for r in self.rules:
            terms |= r.exceptions
            for g in (*r.clear, *r.suspect):
                for part in g.parts:
                    terms |= part
        ordered = sorted(terms, key=lambda t: (-len(t), t))
        # the look-ahead on the terms' first characters lets the engine skip a position with one set lookup
        first = "".join(sorted({re.escape(t[0]) for t in ordered}))
        self._regex = re.compile(f"(?=[{first}])" + trie_pattern(ordered)) if ordered else None
        # every term found inside a matched term, with its offset (Chinese terms only: ASCII ones need boundaries)
        # (term, offset, length) of every term found inside a matched term
        self._inside: dict[str, tuple[tuple[str, int, int], ...]] = {}
        for t in ordered:
            found = [(t, 0, len(t))]
            for u in ordered:
                if u == t or len(u) >= len(t) or u not in t:
                    continue
                if u.isascii():   # an English term inside another counts only as a whole word ("gift" in "gift cards")
                    for m in re.finditer(_WORD_START + re.escape(u) + _WORD_END, t):
                        found.append((u, m.start(), m.end() - m.start()))
                    continue
                start = t.find(u)
                while start != -1:
                    found.append((u, start, len(u)))
                    start = t.find(u, start + 1)
            self._inside[t] = tuple(found)
        self._memo: dict[str, tuple[Hit, ...]] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.rules)

    # -- scanning ------------------------------------------------------------------------------
    def occurrences(self, text: str) -> dict[str, list[tuple[int, int]]]:
        """term → [(start, end), …] of every term of the lexicon in the normalised ``text``."""
        occ: dict[str, set[tuple[int, int]]] = {}
        if self._regex is None or not text:
            return {}
        search = self._regex.search
        m = search(text)
        while m is not None:
            p = m.start()
            matched = m.group(0)
            m = search(text, p + 1)   # terms may overlap: look again from the next character
            for term, off, length in self._inside.get(matched) or self._inside_ascii(matched):
                occ.setdefault(term, set()).add((p + off, p + off + length))
        return {t: sorted(v) for t, v in occ.items()}

    def _inside_ascii(self, matched: str) -> tuple[tuple[str, int, int], ...]:
        # an ASCII term matched with a plural ending: report its singular term, spanning the whole word
        for suffix in ("es", "s"):
            if matched.endswith(suffix) and matched[:-len(suffix)] in self._inside:
                return ((matched[:-len(suffix)], 0, len(matched)),)
        return ((matched, 0, len(matched)),)

    def scan(self, description: str | None) -> tuple[Hit, ...]:
        """The hits of one description: per rule, its strongest tier (clear before suspect) and the words."""
        return self.scan_normalised(normalise(description))

    def scan_normalised(self, text: str) -> tuple[Hit, ...]:
        """:meth:`scan` of a text already normalised (the judge normalises each description once)."""
        if not text or not self.rules:
            return ()
        hits = self._memo.get(text)
        if hits is not None:
            return hits
        occ = self.occurrences(text)
        out: list[Hit] = []
        if occ:
            found = occ.keys()
            for r, terms in self._rule_terms:
                if found.isdisjoint(terms):
                    continue
                for tier, groups in ((CLEAR, r.clear), (SUSPECT, r.suspect)):
                    words = _match(groups, occ, r.exceptions)
                    if words:
                        out.append(Hit(r.rule_id, tier, words))
                        break
        hits = tuple(out)
        with self._lock:
            if len(self._memo) >= 4096:
                self._memo.clear()
            self._memo[text] = hits
        return hits


def _match(groups: tuple[Group, ...], occ: Mapping[str, list[tuple[int, int]]],
           exceptions: frozenset[str]) -> tuple[str, ...] | None:
    present = occ.keys()
    voids = [span for t in present & exceptions for span in occ[t]]

    def spans(part: frozenset[str]) -> list[tuple[int, int, str]]:
        out = []
        for t in present & part:
            for s, e in occ[t]:
                if not any(vs <= s and e <= ve for vs, ve in voids):
                    out.append((s, e, t))
        return out

    for g in groups:
        found = [spans(p) for p in g.parts]
        if not all(found):
            continue
        if g.window is None:
            return tuple(dict.fromkeys(t for _, _, t in sorted(found[0])))
        best = _within(found, g.window)
        if best is not None:
            return best
    return None


def _within(found: list[list[tuple[int, int, str]]], window: int) -> tuple[str, ...] | None:
    """One occurrence of each part, all inside ``window`` characters (any order), or None."""
    def walk(i: int, lo: int, hi: int, chosen: list) -> tuple[str, ...] | None:
        if i == len(found):
            return tuple(t for _, _, t in sorted(chosen))
        for s, e, t in found[i]:
            nlo, nhi = min(lo, s), max(hi, e)
            if nhi - nlo <= window and all(not (s < ce and cs < e) for cs, ce, _ in chosen):
                r = walk(i + 1, nlo, nhi, chosen + [(s, e, t)])
                if r is not None:
                    return r
        return None

    return walk(0, 10 ** 9, -1, [])


def compile_screening(raw: Any, negative_rules: Mapping[str, tuple[str, ...]], name: str) -> Screener:
    """``screening`` (rule id → {clear, suspect, except}) plus each negative-list rule's own ``keywords``
    (a clear any-of group, as older policy versions state them) → one :class:`Screener`.

    ``negative_rules`` maps the id of every ``forbidden_purpose`` rule to its keywords.
    """
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{name}: screening must map negative-list rule ids to {{clear, suspect, except}}")
    unknown = sorted(set(raw) - set(negative_rules))
    if unknown:
        raise PolicyError(f"{name}: screening names rules that are not forbidden_purpose rules: {unknown}")
    out = []
    for rid, keywords in negative_rules.items():
        spec = raw.get(rid) or {}
        where = f"{name}: screening.{rid}"
        if not isinstance(spec, Mapping) or set(spec) - {"clear", "suspect", "except"}:
            raise PolicyError(f"{where}: keys are clear, suspect and except")
        clear = _groups(spec.get("clear"), f"{where}.clear")
        if keywords:
            clear = clear + (Group((_terms(list(keywords), f"{name}: {rid}.keywords"),), None),)
        suspect = _groups(spec.get("suspect"), f"{where}.suspect")
        exceptions = _terms(spec["except"], f"{where}.except") if spec.get("except") else frozenset()
        if clear or suspect:
            out.append(RuleScreen(rid, clear, suspect, exceptions))
    return Screener(out)
