"""Expense use cases around the verdict: judge, submit, approve, reverse — one transaction each.

The rules themselves are pure (``compliance.rules``) and the policy is data (``compliance.policy``);
this module gathers the facts an expense is judged on, locks what the verdict depends on, stores the
expense with its verdict and findings, and posts the money that may be posted.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from budgets.models import Expense, ExpenseStatus, ExpenseTotal, Subject, Verdict
from compliance import policy as policy_store
from compliance import holds, rules
from compliance.models import PolicyVersion
from compliance.service import policy_version_on
from grants import ledger
from grants.access import is_bureau, require_expense_submitter, scope, visible_to
from grants.db import now, today, unit_of_work
from grants.errors import BudgetExceeded, Conflict, Forbidden, Invalid, NotFound
from grants.extensions import db
from grants.models import (Category, FundingMode, Grant, Researcher, User)
from grants.registry import get_grant

from budgets.expenses.state import (  # noqa: F401 - the use cases' facts, named here for their callers
    EXPENSE_FIELDS, BOOKS_LIMIT, POSTABLE, expense_facts, line_facts, GrantState, load_grant_state, load_expense_context, Elsewhere, ELSEWHERE, invoices_on_file, payments_to_payees, same_payee_before, duplicate_invoice_of)

_NO_POLICY = "POLICY-IN-FORCE"


def judge_expense(facts: rules.ExpenseFacts, state: GrantState, policy, duplicate_of: "int | Elsewhere | None",
                  release: tuple[str, Decimal] | None = None, duplicate_row: int | None = None,
                  same_payee: tuple = ()) -> rules.Judgement:
    """The verdict on one expense; with no policy in force it fails closed (needs_approval)."""
    if policy is None:
        f = rules.Finding(rule_id=_NO_POLICY, kind="policy", severity="needs_approval",
                          message_zh=f"{facts.expense_date} 没有生效的经费政策，须人工审核",
                          message_en=f"no policy version in force on {facts.expense_date}: manual review",
                          source="—", figures={"expense_date": facts.expense_date.isoformat()})
        return rules.Judgement("needs_approval", (f,), None)
    ctx = state.context(duplicate_of, duplicate_row)
    if same_payee:
        ctx = replace(ctx, same_payee_before=tuple(same_payee))
    judgement = rules.judge(facts, state.facts(release), ctx, policy)
    return holds.with_holds(judgement, state.holds)


# --------------------------------------------------------------------------- dry run
def check_expense(data: dict, user: User) -> tuple[rules.Judgement, "policy_store.VersionRef | None"]:
    """"Can I spend this?" — the verdict without recording anything."""
    grant, state, version, claimed = load_expense_context(data["grant_id"], user, data["expense_date"],
                                                          data.get("payee_name"), data.get("invoice_no"), lock=False)
    refuse_unbookable(data, grant, state)
    policy = policy_store.compiled(db.session, version) if version else None
    facts = expense_facts(data)
    prior = same_payee_before(grant.id, facts.payee_name, facts.expense_date,
                              reads=policy.prior_payment_reads if policy else ())
    return judge_expense(facts, state, policy, claimed, same_payee=prior), version


def refuse_unbookable(data: dict, grant: Grant, state: "GrantState") -> None:
    """What no verdict can make bookable, refused with a 422 naming the field — the same for the dry run
    and the submission: a researcher of another institution, an amount above the grant's whole fiscal
    amount (on a grant with a budget), or one the budget line's books could not even hold."""
    errors = {}
    rid = data.get("researcher_id")
    if rid is not None:
        inst = db.session.execute(select(Researcher.institution_id).where(Researcher.id == rid)).scalar_one_or_none()
        if inst != grant.institution_id:
            errors["researcher_id"] = [f"科研人员 {rid} 不属于本课题的承担单位 / researcher {rid} is not of the "
                                       f"grant's institution"]
    problem = state.amount_problem(getattr(data.get("subject"), "value", data.get("subject")), data["amount"])
    if problem:
        errors["amount"] = [problem]
    if errors:
        raise Invalid("支出无法登记 / the expense cannot be booked", errors)


# --------------------------------------------------------------------------- submit
def _posting(expense: Expense, grant: Grant, memo: str = "") -> ledger.Posting:
    return ledger.Posting.for_grant(grant, ledger.EntryType.EXPENSE, expense.expense_date, expense.amount, "expense",
                                    expense.id, subject=expense.subject, memo=memo or expense.description)


def request_fingerprint(data: dict) -> str:
    """SHA-256 of the request as loaded by the schema, canonical: keys sorted, amounts normalised
    (``5``, ``5.0`` and ``5.00`` are one request), so only a different request has a different print."""
    def canonical(v):
        if isinstance(v, Decimal):
            return format(v.normalize(), "f")
        return str(v)

    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=canonical)
    return hashlib.sha256(body.encode()).hexdigest()


def submit_expense(data: dict, user: User, idempotency_key: str | None = None) -> tuple[Expense, bool]:
    """Judge and store one expense; returns (expense, created).

    An ``Idempotency-Key`` belongs to the user who sent it: a retry of the same request with the same key
    returns the first result; the same key with a different request is refused (422 naming the key).
    """
    require_expense_submitter(user)
    fingerprint = request_fingerprint(data) if idempotency_key else None
    if idempotency_key:
        prior = _by_idempotency_key(idempotency_key, user, fingerprint)
        if prior is not None:
            return prior, False
    try:
        # the answer is the expense as written: kept loaded, not re-read after the commit
        with unit_of_work(keep_loaded=True) as s:
            grant, state, version, claimed = load_expense_context(
                data["grant_id"], user, data["expense_date"], data.get("payee_name"), data.get("invoice_no"), lock=True)
            refuse_unbookable(data, grant, state)
            policy = policy_store.compiled(db.session, version) if version else None
            facts = expense_facts(data)
            prior = same_payee_before(grant.id, facts.payee_name, facts.expense_date,
                                              reads=policy.prior_payment_reads if policy else ())
            judgement = judge_expense(facts, state, policy, claimed, same_payee=prior)
            expense = Expense(grant_id=grant.id, institution_id=grant.institution_id, researcher_id=data.get("researcher_id"),
                              **{**{f: data.get(f) for f in EXPENSE_FIELDS}, "description": facts.description,
                                 "subject": facts.subject},
                              verdict=Verdict(judgement.verdict), findings=[f.to_dict() for f in judgement.findings],
                              policy_version_id=version.id if version else None,
                              subsidy_eligible=judgement.subsidy_eligible, idempotency_key=idempotency_key,
                              idempotency_fingerprint=fingerprint,
                              submitted_by=user.id)
            expense.status = state.apply_verdict(facts.subject, facts.amount, judgement.verdict, facts.purpose)
            s.add(expense)
            s.flush()
            if expense.status == ExpenseStatus.POSTED:
                ledger.post(s, [_posting(expense, grant)])
    except IntegrityError:
        # a concurrent retry with the same key won the race: answer with its result
        if idempotency_key:
            prior = _by_idempotency_key(idempotency_key, user, fingerprint)
            if prior is not None:
                return prior, False
        raise
    return expense, True


def _by_idempotency_key(key: str, user: User, fingerprint: str | None) -> Expense | None:
    e = db.session.execute(select(Expense).where(Expense.submitted_by == user.id,
                                                 Expense.idempotency_key == key)).scalar_one_or_none()
    if e is not None and e.idempotency_fingerprint is not None and e.idempotency_fingerprint != fingerprint:
        raise Invalid(f"Idempotency-Key {key!r} 已用于另一笔不同的请求 / Idempotency-Key {key!r} was used for a "
                      "different request: send a new key for a new expense",
                      {"Idempotency-Key": [f"{key!r} already used with a different body"]})
    return e


# --------------------------------------------------------------------------- read
def get_expense(expense_id: int, user: User) -> Expense:
    e = db.session.get(Expense, expense_id)
    if e is None or not visible_to(user, e.institution_id):
        raise NotFound(f"支出 {expense_id} 不存在 / expense {expense_id} not found")
    return e


def list_expenses(user: User, filters: dict):
    stmt = select(Expense).order_by(Expense.id)
    stmt = scope(stmt, Expense.institution_id, user)
    for key in ("grant_id", "institution_id", "status", "verdict", "subject"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Expense, key) == filters[key])
    if filters.get("date_from"):
        stmt = stmt.where(Expense.expense_date >= filters["date_from"])
    if filters.get("date_to"):
        stmt = stmt.where(Expense.expense_date <= filters["date_to"])
    return stmt


LIST_KEYS = (Expense.id,)                          # list order, and the keyset of its cursor
QUEUE_KEYS = (Expense.submitted_at, Expense.id)    # oldest first (index ix_expenses_pending)


def approval_queue(user: User):
    return list_expenses(user, {"status": ExpenseStatus.PENDING}).order_by(None).order_by(*QUEUE_KEYS)


def pending_count(user: User) -> int:
    """The queue's length from the totals the database keeps (``expense_totals``), not a count(*) of
    every pending row: what the caller's scope may see."""
    stmt = select(func.coalesce(func.sum(ExpenseTotal.expenses), 0)).where(
        ExpenseTotal.status == ExpenseStatus.PENDING.value)
    return int(db.session.execute(scope(stmt, ExpenseTotal.institution_id, user)).scalar_one())


# --------------------------------------------------------------------------- approve / reject / reverse
def _bureau_with_reason(user: User, reason: str, what_zh: str, what_en: str) -> None:
    if not is_bureau(user):
        raise Forbidden(f"只有财政/科技主管部门可以{what_zh} / only the finance bureau {what_en}")
    if not reason.strip():
        raise Invalid(f"{what_zh}须填写理由 / {what_en}: a reason is required", {"reason": ["required"]})


def _lock_expense(expense_id: int, user: User) -> tuple[Expense, Grant, GrantState]:
    """The expense, its grant and budget lines, locked in grant → lines → expense order."""
    e = get_expense(expense_id, user)
    grant = get_grant(e.grant_id, user, for_update=True)
    state = load_grant_state(grant, lock=True)
    db.session.refresh(e, with_for_update=True)
    return e, grant, state


def decide_expense(expense_id: int, approve: bool, reason: str, user: User) -> Expense:
    """The bureau's decision on a queued expense; an approval re-checks the money as it is now."""
    _bureau_with_reason(user, reason, "审批支出", "decides expenses")
    with unit_of_work() as s:
        e, grant, state = _lock_expense(expense_id, user)
        if e.status != ExpenseStatus.PENDING:
            raise Conflict(f"支出状态为 {e.status.value}，不在审批队列中 / expense is {e.status.value}, not pending")
        if approve:
            blocking = money_blockers(e, state)
            if blocking:
                first = blocking[0]
                need = next((f.figures["adjustment_needed"] for f in blocking if "adjustment_needed" in f.figures), None)
                raise BudgetExceeded("；".join(f.message_zh for f in blocking) + " / "
                                     + "; ".join(f.message_en for f in blocking),
                                     {"amount": [f.message_en for f in blocking]}, finding=first.to_dict(),
                                     findings=[f.to_dict() for f in blocking], adjustment_needed=need)
        state.book(e.subject, reserved=-e.amount, spent=e.amount if approve else Decimal(0))
        e.decided_by, e.decision_reason, e.decided_at = user.id, reason, now()
        if approve:
            e.status = ExpenseStatus.POSTED
            ledger.post(s, [_posting(e, grant, memo=f"审批通过: {reason}")])
        else:
            e.status = ExpenseStatus.REJECTED
    return e


# findings of these kinds guard the money: an approval cannot override them (an approved 预算调剂 can)
MONEY_KINDS = frozenset({"budget_availability", "subject_not_in_budget", "grant_total", "no_indirect_fund_source",
                         "programme_reward_share"})


def money_blockers(e: Expense, state: GrantState) -> list[rules.Finding]:
    """Re-judge the money now, not counting this expense's own reservation: the line (or 包干制 pool) it
    draws on must hold it, the subject must have money budgeted on it (an over-budget subject waits for an
    approved 预算调剂), the fund source must allow it, and posted spending stays within the fiscal amount.

    The rules of the expense's own policy version decide and are cited; the engine's invariants (fiscal
    total, pool) hold even where that version lacks them or no version is in force."""
    version = db.session.get(PolicyVersion, e.policy_version_id) if e.policy_version_id else None
    policy = policy_store.policy_for(version) if version else None
    if policy is None:
        _v, policy = policy_version_on(e.expense_date)
    if policy is None:
        _v, policy = policy_version_on(today())
    facts = expense_facts({f: getattr(e, f) for f in EXPENSE_FIELDS})
    release = state.release_key(e.subject, e.amount)
    blocking: list[rules.Finding] = []
    gf = state.facts(release)
    if e.purpose in state.reward_purposes:     # its own queued reward does not count against it
        gf = dataclasses.replace(gf, reward_total=gf.reward_total - e.amount)
    if policy is not None:
        j = rules.judge(facts, gf, state.context(None), policy)
        # (a rule that could not be judged for a missing field asked for exactly this human decision)
        blocking = [f for f in j.findings if f.kind in MONEY_KINDS and f.missing_field is None
                    and f.severity in ("needs_approval", "reject")]
    if not blocking and state.grant.category != Category.POST_SUBSIDY:
        blocking = _structural_money_check(facts, state, release)
    return blocking


def _structural_money_check(facts: rules.ExpenseFacts, state: GrantState, release) -> list[rules.Finding]:
    """What no policy version may waive: the fiscal total and a 包干制 pool that cannot go negative."""
    gf = state.facts(release)
    out = []
    total = rules.check_grant_total(rules.INVARIANTS[0], facts, gf, None, None, "")
    if total is not None:
        out.append(total)
    if state.grant.funding_mode == FundingMode.LUMP_SUM:
        pool = gf.lines.get(Subject.LUMP_SUM.value)
        avail = pool.available if pool is not None else Decimal(0)
        if facts.amount > avail:
            out.append(rules.Finding("LUMP-SUM-POOL", "budget_availability", "reject",
                                     f"包干经费池可用余额 {avail:,.2f} 元，不足以支付 {facts.amount:,.2f} 元",
                                     f"the lump-sum pool has {avail:,.2f} yuan available, not enough for "
                                     f"{facts.amount:,.2f} yuan", "项目任务书（合同书）核定的财政资金",
                                     {"available_total": str(avail), "amount": str(facts.amount)}))
    return out


def reverse_expense(expense_id: int, reason: str, user: User) -> Expense:
    """A correction is a reversal entry: the posted entry stays, a negative one cancels it."""
    _bureau_with_reason(user, reason, "冲销", "reverses postings")
    with unit_of_work() as s:
        e, grant, state = _lock_expense(expense_id, user)
        if e.status != ExpenseStatus.POSTED:
            raise Conflict(f"支出状态为 {e.status.value}，只有已入账的支出可以冲销 / only posted expenses can be reversed")
        state.book(e.subject, spent=-e.amount)
        e.status = ExpenseStatus.REVERSED
        e.decision_reason = (e.decision_reason + " | " if e.decision_reason else "") + f"冲销: {reason}"
        ledger.post(s, [ledger.Posting.for_grant(grant, ledger.EntryType.REVERSAL, today(), -e.amount, "expense", e.id,
                                                subject=e.subject, memo=f"冲销: {reason}",
                                                reverses_seq=ledger.seq_of(s, "expense", e.id))])
    return e
