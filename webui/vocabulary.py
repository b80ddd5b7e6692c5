"""The one vocabulary table: every code a page may show, with its Chinese and English label.

Templates never print a code: they use the ``label`` filter (``{{ e.verdict|label }}``), which looks the
code up here in the user's language. A code that is not in the table is shown as "—" plus the code in a
``title`` attribute only, so a new enum value is noticed in the crawl test rather than leaking.
"""
from __future__ import annotations

from compliance.policy import current_vocabularies

# domain → code → (zh, en)
VOCABULARY: dict[str, dict[str, tuple[str, str]]] = {
    "category": {
        "competitive": ("竞争性支持", "Competitive"),
        "stable": ("稳定支持", "Stable support"),
        "post_subsidy": ("先立项后补助", "Approve first, subsidise after"),
        "grant_to_equity": ("拨改投", "Grant converted to equity"),
    },
    "funding_mode": {"budgeted": ("预算制", "Budgeted"), "lump_sum": ("包干制", "Lump sum")},
    "management_mode": {
        "standard": ("常规", "Standard"), "directed": ("定向委托", "Directed"),
        "open_competition": ("揭榜挂帅", "Open competition"), "milestone": ("里程碑", "Milestone"),
        "horse_race": ("赛马制", "Horse race"),
    },
    "grant_status": {
        "draft": ("草稿", "Draft"), "approved": ("已立项", "Approved"), "active": ("执行中", "Active"),
        "closing": ("待验收", "Awaiting acceptance"), "accepted": ("已验收", "Accepted"),
        "failed": ("未通过验收", "Failed"), "closed": ("已结题", "Closed"), "suspended": ("已暂停", "Suspended"),
    },
    "role": {
        "institution": ("单位财务人员", "Institution staff"), "finance_bureau": ("财政/科技主管部门", "Finance bureau"),
        "auditor": ("审计人员", "Auditor"), "admin": ("系统管理员", "Administrator"),
    },
    "institution_kind": {
        "university": ("高校", "University"), "research_institute": ("科研院所", "Research institute"),
        "enterprise": ("企业", "Enterprise"), "state_owned_enterprise": ("国有企业", "State-owned enterprise"),
        "new_rd_institution": ("新型研发机构", "New R&D institution"),
    },
    "verdict": {
        "allow": ("合规", "Allowed"), "warn": ("提示", "Warning"), "needs_approval": ("需审批", "Needs approval"),
        "reject": ("不合规", "Rejected"),
    },
    "expense_status": {
        "pending": ("待审批", "Pending"), "posted": ("已入账", "Posted"), "rejected": ("已驳回", "Rejected"),
        "reversed": ("已冲销", "Reversed"),
    },
    "adjustment_status": {
        "recorded": ("已生效", "In effect"), "pending": ("待审批", "Pending"), "approved": ("已批准", "Approved"),
        "rejected": ("已驳回", "Rejected"),
    },
    "approver_level": {
        "pi": ("项目负责人", "Principal investigator"), "institution": ("项目承担单位", "Institution"),
        "funder": ("项目主管部门", "Funding agency"),
    },
    "milestone_status": {"pending": ("待评审", "Pending"), "accepted": ("已通过", "Accepted"),
                         "rejected": ("未通过", "Rejected")},
    "tranche_status": {"planned": ("计划", "Planned"), "paid": ("已拨付", "Paid")},
    "evaluation_kind": {
        "mid_term": ("中期评估", "Mid-term review"), "annual": ("年度绩效报告", "Annual report"),
        "final_acceptance": ("结题验收", "Final acceptance"),
        "post_investment_review": ("投后评价", "Post-investment review"),
    },
    "evaluation_status": {
        "due": ("待提交", "Due"), "submitted": ("已提交", "Submitted"), "overdue": ("已逾期", "Overdue"),
        "scheduled": ("待评价", "Scheduled"), "passed": ("通过", "Passed"), "failed": ("未通过", "Failed"),
        "waived": ("免于评价", "Waived"),
    },
    "severity": {"allow": ("合规", "Allowed"), "warn": ("提示", "Warning"), "needs_approval": ("需审批", "Needs approval"),
                 "reject": ("不合规", "Rejected")},
    "rule_kind": {
        "amount_threshold": ("金额阈值", "Amount threshold"), "budget_adjustment": ("预算调剂", "Budget adjustment"),
        "budget_availability": ("预算余额", "Budget availability"), "budget_subjects": ("预算科目", "Budget subjects"),
        "budget_total": ("预算总额", "Budget total"), "disbursed_funds": ("已拨付资金", "Disbursed funds"),
        "duplicate_invoice": ("重复发票", "Duplicate invoice"), "equity_use_of_funds": ("拨改投资金用途", "Equity use of funds"),
        "expert_fee_rate": ("专家咨询费标准", "Expert fee rate"), "forbidden_purpose": ("负面清单", "Negative list"),
        "grant_period": ("执行期", "Grant period"), "indirect_cap": ("间接费用上限", "Indirect-cost cap"),
        "invoice_verification": ("发票查验", "Invoice verification"), "no_indirect_fund_source": ("不得列支间接费用的资金来源", "No indirect costs for this fund source"),
        "payment_method": ("支付方式", "Payment method"), "related_party": ("关联方交易", "Related party"),
        "subject_not_in_budget": ("科目不在预算中", "Subject not in budget"), "subsidy_eligibility": ("后补助资格", "Subsidy eligibility"),
        "subject_known": ("科目有效性", "Known subject"),
    },
    "entry_type": {
        "expense": ("支出", "Expense"), "reversal": ("冲销", "Reversal"), "disbursement": ("拨款", "Disbursement"),
        "subsidy_payment": ("后补助拨付", "Subsidy payment"), "equity_investment": ("股权投资", "Equity investment"),
        "equity_event": ("股权变动", "Equity event"), "adjustment": ("预算调剂", "Adjustment"),
    },
    "ref_type": {
        "expense": ("支出", "Expense"), "tranche": ("拨款批次", "Tranche"), "subsidy": ("后补助", "Subsidy"),
        "subsidy_assessment": ("后补助核定", "Subsidy assessment"), "equity_investment": ("股权投资", "Equity investment"),
        "equity_event": ("股权变动", "Equity event"), "adjustment": ("预算调剂", "Adjustment"),
        "budget_adjustment": ("预算调剂", "Adjustment"),
    },
    "policy_status": {"active": ("生效", "In force"), "draft": ("草案", "Draft"), "retired": ("已废止", "Retired"),
                      "superseded": ("已替代", "Superseded")},
    "report_flag": {"under_spending": ("执行偏慢", "Under-spending"), "over_spending": ("超支风险", "Over-spending")},
    "checkpoint_period": {"day": ("日", "Day"), "month": ("月", "Month")},
    "report_key": {
        "by_verdict": ("按结论", "By verdict"), "by_rule": ("按规则", "By rule"), "by_institution": ("按单位", "By institution"),
        "by_category": ("按类别", "By category"), "by_month": ("按月份", "By month"), "worst_institutions": ("问题最多的单位", "Worst institutions"),
        "queue_age": ("审批队列时长", "Approval-queue age"), "approval_queue_age": ("审批队列时长", "Approval-queue age"),
        "expenses": ("支出笔数", "Expenses"), "amount": ("金额", "Amount"), "verdict": ("结论", "Verdict"),
        "category": ("类别", "Category"), "subject": ("科目", "Subject"), "rule_id": ("规则", "Rule"),
        "institution_id": ("单位编号", "Institution id"), "institution": ("单位", "Institution"), "month": ("月份", "Month"),
        "grant_id": ("课题编号", "Grant id"), "grant_code": ("课题", "Grant"), "budget": ("预算", "Budget"),
        "spent": ("已支出", "Spent"), "pending": ("待审批", "Pending"), "remaining": ("余额", "Remaining"),
        "execution_rate": ("执行率", "Execution rate"), "time_elapsed": ("时间进度", "Time elapsed"),
        "at_risk": ("执行偏慢", "At risk"), "grants": ("课题", "Grants"), "date_from": ("起始日期", "From"),
        "date_to": ("截止日期", "To"), "as_of": ("截至", "As of"), "count": ("笔数", "Count"),
        "total": ("合计", "Total"), "period": ("期间", "Period"),
        "age": ("时长", "Age"), "approval_queue": ("审批队列", "Approval queue"), "awaiting_acceptance": ("待验收", "Awaiting acceptance"),
        "basic_research_fund_sources": ("基本科研业务费资金来源", "Basic research fund sources"), "buckets": ("分段", "Buckets"),
        "burn_vs_time": ("支出进度与时间进度之比", "Burn vs time"), "code": ("编号", "Code"), "eligible": ("符合条件", "Eligible"),
        "end_date": ("结束日期", "End date"), "start_date": ("开始日期", "Start date"), "flags": ("提示", "Flags"),
        "funding_mode": ("经费模式", "Funding mode"), "goal": ("目标", "Goal"), "horizontal_fund_sources": ("横向项目资金来源", "Horizontal fund sources"),
        "horizontal_min_non_fiscal": ("横向项目最低非财政金额", "Horizontal projects: minimum non-fiscal amount"),
        "horizontal_projects": ("横向项目", "Horizontal projects"), "increment_weight": ("增量加计比例", "Increment weight"),
        "institutions": ("单位", "Institutions"), "instrument_exempt_fund_sources": ("仪器登记豁免的资金来源", "Instrument rule: exempt fund sources"),
        "instrument_institution_kinds": ("仪器登记适用的单位类型", "Instrument rule: institution types"),
        "instrument_min_unit_value": ("须登记仪器的最低单价", "Instrument rule: minimum unit value"), "instruments": ("大型仪器", "Instruments"),
        "items": ("明细", "Items"), "max_age": ("年龄上限", "Maximum age"), "oldest_age_days": ("最长等待天数", "Oldest (days)"),
        "oldest_submitted_at": ("最早提交时间", "Oldest submitted"), "over_spend_min_committed": ("超支提示的最低已用比例", "Overspend: minimum committed"),
        "over_spend_pace": ("超支进度阈值", "Overspend pace"), "under_spend_min_elapsed": ("执行偏慢提示的最低时间进度", "Underspend: minimum time elapsed"),
        "under_spend_pace": ("执行偏慢阈值", "Underspend pace"), "parameters": ("参数", "Parameters"), "projects": ("项目", "Projects"),
        "rows": ("行", "Rows"), "rule": ("规则", "Rule"), "soe_increment_weight": ("国企研发投入增量加计比例", "SOE increment weight"),
        "soe_rd_add_back": ("国企研发投入加计", "SOE R&D add-back"), "source": ("依据", "Source"), "st_budget_growth": ("科技专项资金增长", "S&T budget growth"),
        "st_budget_growth_target": ("科技专项资金增长目标", "S&T budget growth target"), "status": ("状态", "Status"),
        "subjects": ("科目", "Subjects"), "target": ("目标", "Target"), "threshold": ("阈值", "Threshold"), "thresholds": ("阈值", "Thresholds"),
        "title": ("名称", "Title"), "top_violating_institutions": ("违规最多的单位", "Institutions with most violations"),
        "years": ("年度", "Years"), "youth_max_age": ("青年科研人员年龄上限", "Youth: maximum age"), "youth_share": ("青年科研人员经费占比", "Youth share"),
        "youth_share_goal": ("青年占比目标", "Youth share goal"), "pending": ("待审批", "Pending"),
        "name": ("名称", "Name"), "kind": ("类型", "Type"), "rejected_amount": ("不合规金额", "Rejected amount"),
        "rejected_share": ("不合规占比", "Rejected share"), "expense_count": ("支出笔数", "Expenses"),
    },
    "bool": {"True": ("是", "Yes"), "False": ("否", "No"), "None": ("未知", "Unknown")},
}

# The expense fields' closed vocabularies are the policy's (compliance/policies/shared/vocabularies-*.yaml):
# their labels come from there, never from a second copy here.
POLICY_DOMAINS = {"subject": "subjects", "purpose": "purposes", "payee_kind": "payee_kinds",
                  "payment_method": "payment_methods", "fund_source": "fund_sources", "expert_title": "expert_titles"}
_vocabularies = current_vocabularies()
for _domain, _name in POLICY_DOMAINS.items():
    VOCABULARY[_domain] = {c.code: (c.zh, c.en[:1].upper() + c.en[1:]) for c in _vocabularies[_name].codes}

# a code looked up without a domain: the first domain that knows it (codes are consistent across domains)
_ANY: dict[str, tuple[str, str]] = {}
for _domain in VOCABULARY.values():
    for _code, _pair in _domain.items():
        _ANY.setdefault(_code, _pair)


def all_codes() -> set[str]:
    """Every code of every domain (what the crawl test looks for on the pages)."""
    return {code for name, domain in VOCABULARY.items() if name not in ("report_key", "bool") for code in domain}


def label(code, domain: str | None = None, lang: str = "zh") -> str:
    if code is None or code == "":
        return "—"
    if isinstance(code, bool):
        code = str(code)
    code = getattr(code, "value", code)
    pair = VOCABULARY.get(domain, {}).get(str(code)) if domain else None
    pair = pair or _ANY.get(str(code))
    if pair is None:
        return str(code) if not str(code).isascii() else "—"
    return pair[1] if lang == "en" else pair[0]


def choices(domain: str, lang: str = "zh", codes=None) -> list[tuple[str, str]]:
    table = VOCABULARY[domain]
    return [(code, table[code][1] if lang == "en" else table[code][0]) for code in (codes or table)]
