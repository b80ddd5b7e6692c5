"""Budget use cases: setting a grant's budget and 预算调剂 (the 先立项后补助 subsidy is ``budgets.subsidy``)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from budgets.models import (
    DIRECT_SUBJECTS,
    SUBJECT_ZH,
    AdjustmentStatus,
    BudgetAdjustment,
    BudgetLine,
    Subject,
)
from compliance import policy as policy_store
from compliance import rules
from grants import ledger
from grants.db import now, today, unit_of_work
from grants.errors import Conflict, Forbidden, Invalid, NotFound
from grants.extensions import db
from grants.models import Category, FundingMode, Grant, GrantStatus, SubsidyTerms, User
from grants.access import is_bureau, require_writer_of
from grants.lifecycle import register_transition_guard
from grants.registry import get_grant

S = GrantStatus


def policy_on(on: date) -> "policy_store.Policy":
    _version, policy = policy_store.in_force(db.session, on)
    if policy is None:
        raise Conflict(f"{on} 没有生效的经费政策版本 / no policy version in force on {on}")
    return policy


def lines_of(grant_id: int, *, for_update: bool = False) -> list[BudgetLine]:
    stmt = select(BudgetLine).where(BudgetLine.grant_id == grant_id).order_by(BudgetLine.id)
    if for_update:
        stmt = stmt.with_for_update()
    return list(db.session.scalars(stmt))


def list_lines(grant_id: int, user: User) -> list[BudgetLine]:
    get_grant(grant_id, user)
    return lines_of(grant_id)


def _allowed_subjects(grant: Grant) -> tuple[Subject, ...]:
    if grant.funding_mode == FundingMode.LUMP_SUM:
        return (Subject.LUMP_SUM,)
    return (*DIRECT_SUBJECTS, Subject.INDIRECT)


def _budget_findings(grant: Grant, amounts: dict[str, Decimal]) -> list:
    policy = policy_on(grant.start_date)
    return rules.check_budget(amounts, grant.fiscal_amount, grant, policy)


def _raise_on_findings(findings: list) -> None:
    blocking = [f for f in findings if f.severity in ("reject", "needs_approval")]
    if blocking:
        raise Invalid("预算不符合规定 / the budget breaks the rules: " + "; ".join(f.message_zh for f in blocking),
                      {"lines": [f.message_en for f in blocking]}, findings=[f.to_dict() for f in findings])


def _check_editable(grant: Grant, user: User) -> None:
    require_writer_of(user, grant.institution_id)
    if grant.status != S.DRAFT:
        raise Conflict(f"课题状态为 {grant.status.value}，预算只能通过预算调剂变更 / grant is {grant.status.value}: "
                       "change the budget through an adjustment (预算调剂)", {"status": [grant.status.value]})
    if grant.category == Category.POST_SUBSIDY:
        raise Conflict("先立项后补助课题由单位自筹实施，不编制财政预算 / a post_subsidy grant is self-funded: "
                       "no fiscal budget lines", {"category": [grant.category.value]})


def set_budget(grant_id: int, lines: list[dict], user: User) -> list[BudgetLine]:
    """Replace a draft grant's whole budget at once: the lines must add up to the fiscal amount."""
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        _check_editable(grant, user)
        allowed = _allowed_subjects(grant)
        amounts: dict[str, Decimal] = {}
        for i, line in enumerate(lines):
            subj = line["subject"]
            if subj not in allowed:
                raise Invalid(f"{SUBJECT_ZH[subj.value]}不适用于{grant.funding_mode.value}课题 / subject "
                              f"{subj.value} not allowed for a {grant.funding_mode.value} grant",
                              {f"lines.{i}.subject": [f"must be one of {[a.value for a in allowed]}"]})
            if subj.value in amounts:
                raise Invalid("预算科目重复 / duplicate subject", {f"lines.{i}.subject": ["duplicate"]})
            amounts[subj.value] = line["amount"]
        _raise_on_findings(_budget_findings(grant, amounts))
        for old in lines_of(grant.id):
            s.delete(old)
        s.flush()
        new = [BudgetLine(grant_id=grant.id, subject=l["subject"], amount=l["amount"], note=l.get("note", ""))
               for l in lines]
        s.add_all(new)
    return new


def create_line(grant_id: int, data: dict, user: User) -> BudgetLine:
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        _check_editable(grant, user)
        if data["subject"] not in _allowed_subjects(grant):
            raise Invalid(f"科目 {data['subject'].value} 不适用于该课题 / subject not allowed for this grant",
                          {"subject": [f"must be one of {[a.value for a in _allowed_subjects(grant)]}"]})
        existing = lines_of(grant.id)
        if any(l.subject == data["subject"] for l in existing):
            raise Conflict("该科目已有预算 / this subject already has a line", {"subject": ["duplicate"]})
        _check_running_total(grant, sum((l.amount for l in existing), Decimal(0)) + data["amount"])
        line = BudgetLine(grant_id=grant.id, **data)
        s.add(line)
    return line


def update_line(grant_id: int, line_id: int, data: dict, user: User) -> BudgetLine:
    with unit_of_work():
        grant = get_grant(grant_id, user, for_update=True)
        _check_editable(grant, user)
        line = db.session.get(BudgetLine, line_id)
        if line is None or line.grant_id != grant.id:
            raise NotFound(f"预算行 {line_id} 不存在 / budget line {line_id} not found")
        if "amount" in data:
            others = sum((l.amount for l in lines_of(grant.id) if l.id != line.id), Decimal(0))
            _check_running_total(grant, others + data["amount"])
        for k, v in data.items():
            setattr(line, k, v)
    return line


def _check_running_total(grant: Grant, total: Decimal) -> None:
    if total > grant.fiscal_amount:
        raise Invalid(f"预算合计 {total:.2f} 元超过财政资金 {grant.fiscal_amount:.2f} 元 / budget total {total:.2f} "
                      f"exceeds the fiscal amount {grant.fiscal_amount:.2f}", {"amount": ["budget exceeds fiscal amount"]})


def _budget_ready_for_approval(grant: Grant) -> None:
    """Approval guard: a budgeted grant's lines equal its fiscal amount and respect the indirect cap;
    a lump-sum grant gets its single pool."""
    if grant.category == Category.POST_SUBSIDY:
        terms = db.session.execute(select(SubsidyTerms.id).where(SubsidyTerms.grant_id == grant.id)).first()
        if not terms:
            raise Conflict("先立项后补助课题须先设定补助比例和上限 / set the subsidy terms before approval",
                           {"subsidy_terms": ["missing"]})
        return
    existing = lines_of(grant.id)
    if grant.funding_mode == FundingMode.LUMP_SUM and not existing:
        db.session.add(BudgetLine(grant_id=grant.id, subject=Subject.LUMP_SUM, amount=grant.fiscal_amount,
                                  note="包干制经费池"))
        return
    if not existing:
        raise Conflict("预算制课题须先编制预算 / a budgeted grant needs its budget before approval",
                       {"budget": ["missing"]})
    _raise_on_findings(_budget_findings(grant, {l.subject.value: l.amount for l in existing}))


register_transition_guard("approve", _budget_ready_for_approval)


# --------------------------------------------------------------------------- 预算调剂 adjustments
def list_adjustments(grant_id: int, user: User) -> list[BudgetAdjustment]:
    get_grant(grant_id, user)
    return list(db.session.scalars(select(BudgetAdjustment).where(BudgetAdjustment.grant_id == grant_id)
                                   .order_by(BudgetAdjustment.id)))


def _apply_adjustment(adj: BudgetAdjustment) -> None:
    lines = {l.subject: l for l in lines_of(adj.grant_id, for_update=True)}
    src, dst = lines.get(adj.from_subject), lines.get(adj.to_subject)
    if src is None:
        raise Invalid(f"课题没有{SUBJECT_ZH[adj.from_subject.value]}预算 / the grant has no {adj.from_subject.value} "
                      "line", {"from_subject": ["no such budget line"]})
    if dst is None:
        # money moved into a subject the budget lacks opens its line (an expense under it waits for this)
        if adj.to_subject not in (*DIRECT_SUBJECTS, Subject.INDIRECT):
            raise Invalid(f"不能调入{SUBJECT_ZH[adj.to_subject.value]} / cannot move money into "
                          f"{adj.to_subject.value}", {"to_subject": ["not a subject of a budgeted grant"]})
        dst = BudgetLine(grant_id=adj.grant_id, subject=adj.to_subject, amount=Decimal("0.00"),
                         adjusted=Decimal("0.00"), spent=Decimal("0.00"), reserved=Decimal("0.00"),
                         note="预算调剂调入时建立 / opened by a budget adjustment")
        db.session.add(dst)
    if src.available < adj.amount:
        raise Conflict(f"{SUBJECT_ZH[src.subject.value]}可用余额 {src.available:.2f} 元，不足调出 {adj.amount:.2f} 元 / "
                       f"{src.subject.value} has {src.available:.2f} available, less than {adj.amount:.2f}",
                       {"amount": ["more than the source subject has left"]})
    src.adjusted -= adj.amount
    dst.adjusted += adj.amount
    grant = db.session.get(Grant, adj.grant_id)
    ledger.post(db.session, [
        ledger.Posting.for_grant(grant, ledger.EntryType.ADJUSTMENT, today(), -adj.amount, "budget_adjustment",
                                 adj.id, subject=adj.from_subject.value, memo="预算调出"),
        ledger.Posting.for_grant(grant, ledger.EntryType.ADJUSTMENT, today(), adj.amount, "budget_adjustment",
                                 adj.id, subject=adj.to_subject.value, memo="预算调入"),
    ])


def request_adjustment(grant_id: int, data: dict, user: User) -> BudgetAdjustment:
    """The PI's moves apply at once (recorded); the rest wait for the approver the policy names."""
    if data["from_subject"] == data["to_subject"]:
        raise Invalid("调出与调入科目相同 / from and to subjects are the same", {"to_subject": ["same as from"]})
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        require_writer_of(user, grant.institution_id)
        if grant.funding_mode != FundingMode.BUDGETED:
            raise Conflict("包干制课题不分科目，无需预算调剂 / a lump-sum grant has no subjects to adjust")
        if grant.status not in (S.APPROVED, S.ACTIVE):
            raise Conflict(f"课题状态为 {grant.status.value}，不能调剂预算 / grant is {grant.status.value}")
        level, rule_id = rules.adjustment_approver(data["from_subject"].value, data["to_subject"].value,
                                                   data["amount"], policy_on(today()))
        adj = BudgetAdjustment(grant_id=grant.id, from_subject=data["from_subject"], to_subject=data["to_subject"],
                               amount=data["amount"], reason=data.get("reason", ""), approver_level=level,
                               rule_id=rule_id, requested_by=user.id,
                               status=AdjustmentStatus.RECORDED if level == "pi" else AdjustmentStatus.PENDING)
        s.add(adj)
        s.flush()
        if adj.status == AdjustmentStatus.RECORDED:
            _apply_adjustment(adj)
    return adj


def decide_adjustment(grant_id: int, adjustment_id: int, approve: bool, reason: str, user: User) -> BudgetAdjustment:
    with unit_of_work():
        grant = get_grant(grant_id, user, for_update=True)
        adj = db.session.get(BudgetAdjustment, adjustment_id)
        if adj is None or adj.grant_id != grant.id:
            raise NotFound(f"调剂申请 {adjustment_id} 不存在 / adjustment {adjustment_id} not found")
        if adj.status != AdjustmentStatus.PENDING:
            raise Conflict(f"调剂申请状态为 {adj.status.value}，不能再审批 / adjustment already {adj.status.value}")
        # institution-level approvals come from the bureau in this system (the institution's own approver
        # is represented by the bureau's reviewer); funder-level ones too.
        if not is_bureau(user):
            raise Forbidden("只有财政/科技主管部门可以审批调剂 / only the finance bureau approves adjustments")
        if approve and not reason:
            reason = "同意"
        if not approve and not reason:
            raise Invalid("驳回须说明理由 / a rejection needs a reason", {"reason": ["required"]})
        adj.status = AdjustmentStatus.APPROVED if approve else AdjustmentStatus.REJECTED
        adj.decided_by, adj.decision_reason, adj.decided_at = user.id, reason, now()
        if approve:
            _apply_adjustment(adj)
    return adj
