"""The engine's vocabularies, defined once.

The grant vocabularies (categories, funding and management modes, institution kinds, statuses) are the
enums of :mod:`grants.models`, the lowest package; the engine reads their string values from there. The
vocabularies the engine owns itself (budget subjects, verdicts and severities, approvers) are defined
here and :mod:`budgets.models` imports them, so a stored value has one definition.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping

from compliance.text import normalise
from grants.models import Category, FundingMode, GrantStatus, InstitutionKind, ManagementMode


class Subject(str, enum.Enum):
    """Budget subjects after the 2021 reform (国办发〔2021〕32号)."""

    EQUIPMENT = "equipment"    # 设备费
    OPERATIONS = "operations"  # 业务费
    LABOUR = "labour"          # 劳务费
    INDIRECT = "indirect"      # 间接费用
    LUMP_SUM = "lump_sum"      # 包干经费 (single pool of a 包干制 grant)


class Verdict(str, enum.Enum):
    """The verdict on an expense; a finding's severity is one of these, ``allow`` excepted."""

    ALLOW = "allow"
    WARN = "warn"
    NEEDS_APPROVAL = "needs_approval"
    REJECT = "reject"


SEVERITY_ORDER = {v.value: rank for rank, v in enumerate(Verdict)}      # allow < warn < needs_approval < reject
RULE_SEVERITIES = tuple(v.value for v in Verdict if v is not Verdict.ALLOW)
APPROVER_ORDER = {"pi": 0, "institution": 1, "funder": 2}              # 预算调剂: who approves, weakest first


def _values(enum_cls: type[enum.Enum]) -> frozenset[str]:
    return frozenset(v.value for v in enum_cls)


CATEGORIES = _values(Category)
FUNDING_MODES = _values(FundingMode)
MANAGEMENT_MODES = _values(ManagementMode)
INSTITUTION_KINDS = _values(InstitutionKind)
GRANT_STATUSES = _values(GrantStatus)

# scope key of a rule -> (grant attribute, allowed values or None for the policy's own vocabulary)
SCOPE_KEYS = {
    "categories": ("category", CATEGORIES),
    "funding_modes": ("funding_mode", FUNDING_MODES),
    "management_modes": ("management_mode", MANAGEMENT_MODES),
    "institution_kinds": ("institution_kind", INSTITUTION_KINDS),
    "fund_sources": ("fund_source", None),
}

# Chinese names of the expense fields a rule may need (the missing-field findings name them)
FIELD_ZH = {
    "expense_date": "支出日期", "amount": "金额", "subject": "预算科目", "purpose": "用途", "description": "摘要",
    "payee_name": "收款人名称", "payee_kind": "收款人类型", "payment_method": "支付方式", "invoice_no": "发票号码",
    "invoice_verified": "发票查验结果", "unit_value": "单台套价值", "quantity": "数量",
    "platform_registered": "大型仪器共享平台登记", "expert_title": "专家职称", "expert_days": "咨询天数",
    "fund_source": "资金来源", "equity_conditions": "拨改投资金使用条件",
    "trip_city": "出差城市", "traveller_rank": "出差人员级别", "nights": "住宿天数", "travel_days": "出差天数",
    "hotel_invoice": "住宿发票", "lodging_amount": "住宿费", "fare_amount": "城市间交通费",
    "meals_provided_days": "对方提供伙食天数", "meeting_class": "会议类别", "attendees": "参会人数",
    "meeting_staff": "工作人员人数", "meeting_days": "会期", "procurement_method": "采购方式",
    "procurement_record_no": "采购备案号", "partner_in_task_book": "任务书约定的合作单位",
    "partner_share": "任务书约定外拨金额", "fee_basis": "金额为税前/税后", "pay_months": "工资所属月数",
}
EXPENSE_FIELD_NAMES = frozenset(FIELD_ZH) - {"equity_conditions"}


# ------------------------------------------------------------------ closed vocabularies of the expense fields
# The codes themselves are policy data (``vocabularies`` of a policy version, usually included from
# ``compliance/policies/shared/vocabularies-*.yaml``); below are their compiled, typed form and the map from
# an expense field to the vocabulary that closes it.

FIELD_VOCABULARY = {
    "subject": "subjects", "purpose": "purposes", "payee_kind": "payee_kinds", "payment_method": "payment_methods",
    "fund_source": "fund_sources", "expert_title": "expert_titles",
}
VOCABULARY_NAMES = tuple(FIELD_VOCABULARY.values())
# Names the policy's rule params use for the same vocabularies (``ParamReader.strs(..., vocab)``).
PARAM_VOCABULARY = {"subjects": "subjects", "purposes": "purpose_codes", "payee_kinds": "payee_kinds",
                    "payment_methods": "payment_methods", "fund_sources": "fund_sources",
                    "expert_titles": "expert_titles"}


@dataclass(frozen=True, slots=True)
class Code:
    """One code of a closed vocabulary: its labels, what people type for it, and what it demands."""

    code: str
    zh: str
    en: str
    synonyms: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()      # expense fields a rule needs when an expense carries this code
    forbidden_by: tuple[str, ...] = ()  # negative-list rules that name this code (filled in by the policy)

    def to_dict(self) -> dict:
        return {"code": self.code, "zh": self.zh, "en": self.en, "synonyms": list(self.synonyms),
                "requires": list(self.requires), "forbidden_by": list(self.forbidden_by)}


@dataclass(frozen=True)
class Vocabulary:
    """A closed list of codes, in the policy's order, with a lookup of everything a person may type."""

    name: str
    codes: tuple[Code, ...]
    by_code: Mapping[str, Code] = field(repr=False)
    lookup: Mapping[str, str] = field(repr=False)   # normalised code / zh / en / synonym → code

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.codes)

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def resolve(self, typed: str | None) -> str | None:
        """The code a person meant by ``typed`` (a code, a label or a synonym, in any width, case or script)."""
        if typed is None:
            return None
        if typed in self.by_code:
            return typed
        return self.lookup.get(normalise(typed))

    def labels(self) -> tuple[tuple[str, str], ...]:
        """(code, Chinese label) pairs, in order."""
        return tuple((c.code, c.zh) for c in self.codes)


def compile_vocabulary(name: str, raw: Any, known_fields: frozenset[str], where: str,
                       forbidden: Mapping[str, tuple[str, ...]] | None = None) -> Vocabulary:
    """One vocabulary of a policy: ``{code: {zh, en, synonyms?, requires?}}``; refuses clashes and unknown fields."""
    from compliance.rules.params import PolicyError  # the rules package imports this module

    if not isinstance(raw, Mapping) or not raw:
        raise PolicyError(f"{where}: vocabularies.{name} must map codes to {{zh, en, synonyms, requires}}")
    codes, lookup = [], {}
    for code, spec in raw.items():
        at = f"{where}: vocabularies.{name}.{code}"
        if not isinstance(code, str) or not code.isascii() or not code.replace("_", "").isalnum() or code != code.lower():
            raise PolicyError(f"{at}: a code is lower-case ASCII letters, digits and underscores")
        if not isinstance(spec, Mapping):
            raise PolicyError(f"{at}: must be a mapping with zh and en")
        extra = set(spec) - {"zh", "en", "synonyms", "requires"}
        if extra:
            raise PolicyError(f"{at}: unknown keys {sorted(extra)}")
        zh, en = spec.get("zh"), spec.get("en")
        if not isinstance(zh, str) or not zh.strip() or not isinstance(en, str) or not en.strip():
            raise PolicyError(f"{at}: needs both zh and en labels")
        synonyms = spec.get("synonyms") or []
        requires = spec.get("requires") or []
        for key, values in (("synonyms", synonyms), ("requires", requires)):
            if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
                raise PolicyError(f"{at}: {key} must be a list of non-empty strings")
        unknown = sorted(set(requires) - known_fields)
        if unknown:
            raise PolicyError(f"{at}: requires names fields an expense does not have: {unknown}")
        for typed in (code, zh, en, *synonyms):
            key = normalise(typed)
            other = lookup.get(key)
            if other is not None and other != code:
                raise PolicyError(f"{at}: {typed!r} already stands for {other!r} in vocabularies.{name}")
            lookup[key] = code
        codes.append(Code(code, zh.strip(), en.strip(), tuple(s.strip() for s in synonyms), tuple(requires),
                          tuple((forbidden or {}).get(code, ()))))
    return Vocabulary(name, tuple(codes), {c.code: c for c in codes}, lookup)
