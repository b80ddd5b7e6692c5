"""资助计划 (programmes): which programme a grant belongs to, and the rules a programme brings.

Policy data in ``compliance/data/programmes.yaml`` (labels, sources, the categories a programme fits, its
rule sections), compiled once into frozen :class:`Programme` objects. Pure: no database, no Flask. The
engine's programme rules (:mod:`compliance.rules.programme`) and the subsidy payment read these; the
registry validates a grant's programme code against :func:`programmes`.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from compliance.policy_files import normalise, parse_title
from compliance.rules.params import PolicyError, to_decimal
from compliance.vocabulary import CATEGORIES, RULE_SEVERITIES

PROGRAMMES_FILE = Path(__file__).resolve().parent / "data" / "programmes.yaml"
PROGRAMME_KEYS = {"title", "source", "categories", "reward_extraction", "youth_share", "subsidy_cap"}


@dataclass(frozen=True, slots=True)
class RewardExtraction:
    """绩效/奖励提取: expenses of these purposes may take at most ``max_share`` of the grant's fiscal amount."""

    purposes: frozenset
    max_share: Decimal
    severity: str
    source: str


@dataclass(frozen=True, slots=True)
class YouthShare:
    min_share: Decimal
    max_age: int
    source: str


@dataclass(frozen=True, slots=True)
class SubsidyCap:
    """At most ``per_institution_per_year`` paid to one institution in a calendar year under the programme."""

    per_institution_per_year: Decimal
    source: str


@dataclass(frozen=True, slots=True)
class Programme:
    code: str
    title_zh: str
    title_en: str
    source: str
    categories: frozenset | None
    reward_extraction: RewardExtraction | None = None
    youth_share: YouthShare | None = None
    subsidy_cap: SubsidyCap | None = None

    def to_dict(self) -> dict:
        return {"code": self.code, "zh": self.title_zh, "en": self.title_en, "source": self.source,
                "categories": sorted(self.categories) if self.categories else None,
                "reward_extraction": None if self.reward_extraction is None else {
                    "purposes": sorted(self.reward_extraction.purposes),
                    "max_share": str(self.reward_extraction.max_share), "source": self.reward_extraction.source},
                "youth_share": None if self.youth_share is None else {
                    "min_share": str(self.youth_share.min_share), "max_age": self.youth_share.max_age,
                    "source": self.youth_share.source},
                "subsidy_cap": None if self.subsidy_cap is None else {
                    "per_institution_per_year": str(self.subsidy_cap.per_institution_per_year),
                    "source": self.subsidy_cap.source}}


def _cite(sources: Mapping, raw: Any, where: str) -> str:
    items = raw if isinstance(raw, list) else [raw]
    parts = []
    for s in items:
        if not isinstance(s, Mapping) or s.get("doc") not in sources or set(s) - {"doc", "article"}:
            raise PolicyError(f"{where}: a source is {{doc, article}} with doc listed in sources, got {s!r}")
        short = sources[s["doc"]].get("short") or s["doc"]
        parts.append(f"{short} {s['article']}" if s.get("article") else short)
    if not parts:
        raise PolicyError(f"{where}: source is required")
    return "; ".join(parts)


def _section(raw: Mapping, key: str, allowed: set, where: str) -> Mapping | None:
    sec = raw.get(key)
    if sec is None:
        return None
    if not isinstance(sec, Mapping) or set(sec) - allowed or "source" not in sec:
        raise PolicyError(f"{where}.{key}: keys must be among {sorted(allowed)}, with a source")
    return sec


def compile_programmes(content: Any) -> dict[str, Programme]:
    """Validate and compile the programmes file's content."""
    content = normalise(content, "programmes")
    if not isinstance(content, Mapping) or set(content) != {"sources", "programmes"}:
        raise PolicyError("programmes: the file has exactly two sections, sources and programmes")
    sources = content["sources"]
    for doc, meta in sources.items():
        if not isinstance(meta, Mapping) or not str(meta.get("title", "")).strip():
            raise PolicyError(f"programmes: source {doc} needs a title")
    out: dict[str, Programme] = {}
    for code, raw in content["programmes"].items():
        where = f"programmes.{code}"
        if not isinstance(raw, Mapping) or set(raw) - PROGRAMME_KEYS:
            raise PolicyError(f"{where}: keys must be among {sorted(PROGRAMME_KEYS)}")
        if len(code) > 40 or not code.replace("_", "").isalnum() or not code.isascii():
            raise PolicyError(f"{where}: a code is ASCII letters, digits and _ (at most 40)")
        zh, en = parse_title(raw.get("title"), where)
        cats = raw.get("categories")
        if cats is not None:
            if not isinstance(cats, list) or not cats or set(cats) - CATEGORIES:
                raise PolicyError(f"{where}.categories: a non-empty list among {sorted(CATEGORIES)}")
            cats = frozenset(cats)
        reward = youth = cap = None
        sec = _section(raw, "reward_extraction", {"purposes", "max_share", "severity", "source"}, where)
        if sec is not None:
            share = to_decimal(sec.get("max_share"), f"{where}.reward_extraction.max_share")
            if not 0 < share <= 1 or sec.get("severity") not in RULE_SEVERITIES or not sec.get("purposes"):
                raise PolicyError(f"{where}.reward_extraction: purposes, 0 < max_share ≤ 1 and a severity")
            reward = RewardExtraction(frozenset(sec["purposes"]), share, sec["severity"],
                                      _cite(sources, sec["source"], f"{where}.reward_extraction"))
        sec = _section(raw, "youth_share", {"min_share", "max_age", "source"}, where)
        if sec is not None:
            youth = YouthShare(to_decimal(sec.get("min_share"), f"{where}.youth_share.min_share"),
                               int(sec.get("max_age")), _cite(sources, sec["source"], f"{where}.youth_share"))
        sec = _section(raw, "subsidy_cap", {"per_institution_per_year", "source"}, where)
        if sec is not None:
            amount = to_decimal(sec.get("per_institution_per_year"), f"{where}.subsidy_cap.per_institution_per_year")
            if amount < 0:
                raise PolicyError(f"{where}.subsidy_cap: the cap is not negative")
            cap = SubsidyCap(amount, _cite(sources, sec["source"], f"{where}.subsidy_cap"))
        out[code] = Programme(code, zh, en, _cite(sources, raw.get("source"), where), cats, reward, youth, cap)
    if not out:
        raise PolicyError("programmes: at least one programme")
    return out


@lru_cache(maxsize=1)
def programmes() -> dict[str, Programme]:
    """The compiled programmes (read once)."""
    return compile_programmes(yaml.safe_load(PROGRAMMES_FILE.read_text(encoding="utf-8")))


def programme_errors(code: str | None, category: str) -> list[str]:
    """Why ``code`` cannot be the programme of a grant of ``category`` (empty: it can; None: no programme)."""
    if code is None:
        return []
    known = programmes()
    p = known.get(code)
    if p is None:
        return [f"未知的资助计划 {code!r}，可选：{', '.join(sorted(known))} / unknown programme; one of "
                f"{', '.join(sorted(known))}"]
    if p.categories is not None and category not in p.categories:
        return [f"{p.title_zh}只适用于 {', '.join(sorted(p.categories))} 类课题 / {p.title_en} fits only "
                f"{', '.join(sorted(p.categories))} grants, not {category}"]
    return []
