"""The engine's vocabularies, defined once.

The grant vocabularies (categories, funding and management modes, institution kinds, statuses) are the
enums of :mod:`grants.models`, the lowest package; the engine reads their string values from there. The
vocabularies the engine owns itself (budget subjects, verdicts and severities, approvers) are defined
here and :mod:`budgets.models` imports them, so a stored value has one definition.
"""
from __future__ import annotations

import enum

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
