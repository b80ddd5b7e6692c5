"""Expense use cases around the verdict: judge, submit, approve, reverse — one transaction each.

The rules themselves are pure (``compliance.rules``) and the policy is data (``compliance.policy``);
this module gathers the facts an expense is judged on, locks what the verdict depends on, stores the
expense with its verdict and findings, and posts the money that may be posted.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date as date_
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from budgets.expenses import fields as ef
from budgets.models import BudgetLine, Expense, ExpenseStatus, Verdict
from budgets.service import lines_of
from compliance import policy as policy_store
from compliance import rules
from compliance.models import PolicyVersion
from compliance.service import policy_version_on
from grants import ledger
from grants.access import is_bureau, require_writer, scope, visible_to
from grants.db import now, today, unit_of_work
from grants.errors import BudgetExceeded, Conflict, Forbidden, Invalid, NotFound
from grants.disbursement import disbursed_total
from grants.extensions import db
from grants.models import Category, EquityInvestment, Grant, Institution, Researcher, User
from grants.registry import get_grant

EXPENSE_FIELDS = ef.NAMES
POSTABLE = (Verdict.ALLOW.value, Verdict.WARN.value)


# --------------------------------------------------------------------------- facts
def expense_facts(data: dict) -> rules.ExpenseFacts:
    values = {f: data.get(f) for f in EXPENSE_FIELDS}
    values["description"] = values["description"] or ""
    subj = values["subject"]
    values["subject"] = getattr(subj, "value", subj)
    return rules.ExpenseFacts(**values)


def line_facts(line: BudgetLine, *, release: Decimal = Decimal(0)) -> rules.LineFacts:
    return rules.LineFacts(subject=line.subject.value, amount=line.amount, adjusted=line.adjusted,
                           spent=line.spent, reserved=line.reserved - release)


@dataclass
class GrantState:
    """What the rules need to know about a grant, loaded once (per expense, or per import batch).

    The facts are built once and kept in step with the locked budget lines by ``book``, so judging
    the next row of an import does not rebuild them.
    """

    grant: Grant
    institution_kind: str
    disbursed: Decimal
    lines: dict[str, BudgetLine]
    equity_conditions: dict | None
    member_names: frozenset[str]
    salaried_names: frozenset[str]
    _facts: rules.GrantFacts | None = field(default=None, repr=False)
    _line_facts: dict = field(default_factory=dict, repr=False)
    _context: dict = field(default_factory=dict, repr=False)

    def facts(self, release: tuple[str, Decimal] | None = None) -> rules.GrantFacts:
        if release is None and self._facts is not None:
            return self._facts
        lf = {s: line_facts(l, release=release[1] if release and release[0] == s else Decimal(0))
              for s, l in self.lines.items()}
        facts = self._build(lf)
        if release is None:
            self._facts, self._line_facts = facts, lf
        return facts

    def _build(self, lf: dict[str, rules.LineFacts]) -> rules.GrantFacts:
        g = self.grant
        spent_total = sum((l.spent + l.reserved for l in lf.values()), Decimal(0))
        return rules.GrantFacts(
            id=g.id, category=g.category.value, funding_mode=g.funding_mode.value,
            management_mode=g.management_mode.value, status=g.status.value, start_date=g.start_date,
            end_date=g.end_date, fund_source=g.fund_source, institution_kind=self.institution_kind,
            fiscal_amount=g.fiscal_amount, disbursed=self.disbursed, spent_total=spent_total, lines=lf,
            equity_conditions=self.equity_conditions, institution_id=g.institution_id)

    def context(self, duplicate_of: int | None, duplicate_row: int | None = None) -> rules.Context:
        key = (duplicate_of, duplicate_row)
        ctx = self._context.get(key)
        if ctx is None:
            ctx = self._context[key] = rules.Context(
                duplicate_invoice_of=duplicate_of, duplicate_invoice_row=duplicate_row,
                project_member_names=self.member_names,
                salaried_staff_names=self.salaried_names)
        return ctx

    def book(self, subject: str, *, spent: Decimal = Decimal(0), reserved: Decimal = Decimal(0)) -> None:
        """Move money on a budget line (if the grant has that line) and keep the cached facts in step."""
        line = self.lines.get(subject)
        if line is None or self.grant.category == Category.POST_SUBSIDY:
            return
        line.spent += spent
        line.reserved += reserved
        if self._facts is not None:
            # facts are immutable: the next verdict sees a new line and total, built field by field
            # (cheaper than dataclasses.replace on the import's hot path)
            old = self._line_facts[subject]
            self._line_facts = {**self._line_facts, subject: rules.LineFacts(
                subject=old.subject, amount=old.amount, adjusted=old.adjusted, spent=old.spent + spent,
                reserved=old.reserved + reserved)}
            f = self._facts
            self._facts = rules.GrantFacts(
                id=f.id, category=f.category, funding_mode=f.funding_mode, management_mode=f.management_mode,
                status=f.status, start_date=f.start_date, end_date=f.end_date, fund_source=f.fund_source,
                institution_kind=f.institution_kind, fiscal_amount=f.fiscal_amount, disbursed=f.disbursed,
                spent_total=f.spent_total + spent + reserved, lines=self._line_facts,
                equity_conditions=f.equity_conditions, institution_id=f.institution_id)

    def apply_verdict(self, subject: str, amount: Decimal, verdict: str) -> ExpenseStatus:
        """A fresh verdict's effect on the books: post allow/warn, reserve needs_approval, keep reject off."""
        if verdict in POSTABLE:
            self.book(subject, spent=amount)
            return ExpenseStatus.POSTED
        if verdict == Verdict.NEEDS_APPROVAL.value:
            self.book(subject, reserved=amount)
            return ExpenseStatus.PENDING
        return ExpenseStatus.REJECTED


def load_grant_state(grant: Grant, *, lock: bool) -> GrantState:
    """Load (and with ``lock`` row-lock, in id order) everything a verdict on this grant depends on."""
    s = db.session
    lines = {l.subject.value: l for l in lines_of(grant.id, for_update=lock)}
    kind = s.execute(select(Institution.kind).where(Institution.id == grant.institution_id)).scalar_one()
    conditions = None
    if grant.category == Category.GRANT_TO_EQUITY:
        conditions = s.execute(select(EquityInvestment.conditions).where(
            EquityInvestment.grant_id == grant.id)).scalar_one_or_none()  # None: no terms → fail closed
    pi_name = s.execute(select(Researcher.name).where(Researcher.id == grant.pi_id)).scalar_one()
    salaried = s.scalars(select(Researcher.name).where(Researcher.institution_id == grant.institution_id,
                                                       Researcher.salaried.is_(True))).all()
    return GrantState(grant, kind.value, disbursed_total(grant.id), lines, conditions,
                      frozenset([pi_name]), frozenset(salaried))


def invoices_on_file(invoices: set[str]) -> dict[str, int]:
    """Invoice number → id of a stored, non-rejected expense that already claimed it."""
    found: dict[str, int] = {}
    numbers = sorted(invoices)
    for i in range(0, len(numbers), 500):
        for no, eid in db.session.execute(select(Expense.invoice_no, Expense.id).where(
                Expense.invoice_no.in_(numbers[i:i + 500]), Expense.status != ExpenseStatus.REJECTED)):
            found.setdefault(no, eid)
    return found


def payments_to_payees(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], list[rules.PriorPayment]]:
    """(grant id, payee name) → the stored, non-rejected expenses of that grant to that payee, oldest first:
    the facts of the splitting and partner-share rules (the engine stays pure; this is its look-up)."""
    out: dict[tuple[int, str], list[rules.PriorPayment]] = {p: [] for p in pairs}
    by_grant: dict[int, set[str]] = {}
    for gid, name in pairs:
        by_grant.setdefault(gid, set()).add(name)
    for gid, names in by_grant.items():
        names_l = sorted(names)
        for i in range(0, len(names_l), 500):
            rows = db.session.execute(select(
                Expense.id, Expense.payee_name, Expense.expense_date, Expense.amount, Expense.purpose, Expense.subject)
                .where(Expense.grant_id == gid, Expense.payee_name.in_(names_l[i:i + 500]),
                       Expense.status.notin_((ExpenseStatus.REJECTED, ExpenseStatus.REVERSED)))
                .order_by(Expense.expense_date, Expense.id))
            for eid, name, d, amount, purpose, subject in rows:
                out[(gid, name)].append(rules.PriorPayment(eid, d, amount, purpose, subject))
    return out


def same_payee_before(grant_id: int, payee_name: str | None, on: date_, exclude: int | None = None
                      ) -> tuple[rules.PriorPayment, ...]:
    """The earlier (up to ``on``) stored expenses of a grant to one payee (see :func:`payments_to_payees`)."""
    if not payee_name or not payee_name.strip():
        return ()
    found = payments_to_payees({(grant_id, payee_name.strip())})[(grant_id, payee_name.strip())]
    return tuple(p for p in found if p.expense_date <= on and p.id != exclude)


def duplicate_invoice_of(invoice_no: str | None) -> int | None:
    return invoices_on_file({invoice_no}).get(invoice_no) if invoice_no else None


_NO_POLICY = "POLICY-IN-FORCE"


def judge_expense(facts: rules.ExpenseFacts, state: GrantState, policy, duplicate_of: int | None,
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
    return rules.judge(facts, state.facts(release), ctx, policy)


# --------------------------------------------------------------------------- dry run
def check_expense(data: dict, user: User) -> tuple[rules.Judgement, PolicyVersion | None]:
    """"Can I spend this?" — the verdict without recording anything."""
    grant = get_grant(data["grant_id"], user)
    state = load_grant_state(grant, lock=False)
    version, policy = policy_version_on(data["expense_date"])
    facts = expense_facts(data)
    prior = same_payee_before(grant.id, facts.payee_name, facts.expense_date)
    return judge_expense(facts, state, policy, duplicate_invoice_of(data.get("invoice_no")), same_payee=prior), version


# --------------------------------------------------------------------------- submit
def _posting(expense: Expense, grant: Grant, memo: str = "") -> ledger.Posting:
    return ledger.Posting.for_grant(grant, ledger.EntryType.EXPENSE, expense.expense_date, expense.amount, "expense",
                                    expense.id, subject=expense.subject, memo=memo or expense.description)


def submit_expense(data: dict, user: User, idempotency_key: str | None = None) -> tuple[Expense, bool]:
    """Judge and store one expense; returns (expense, created). A retried key returns the first result."""
    require_writer(user)
    if idempotency_key:
        prior = _by_idempotency_key(idempotency_key, user)
        if prior is not None:
            return prior, False
    try:
        with unit_of_work() as s:
            grant = get_grant(data["grant_id"], user, for_update=True)
            if not visible_to(user, grant.institution_id):
                raise NotFound("课题不存在 / grant not found")
            state = load_grant_state(grant, lock=True)
            version, policy = policy_version_on(data["expense_date"])
            facts = expense_facts(data)
            prior = same_payee_before(grant.id, facts.payee_name, facts.expense_date)
            judgement = judge_expense(facts, state, policy, duplicate_invoice_of(facts.invoice_no), same_payee=prior)
            expense = Expense(grant_id=grant.id, institution_id=grant.institution_id, researcher_id=data.get("researcher_id"),
                              **{**{f: data.get(f) for f in EXPENSE_FIELDS}, "description": facts.description,
                                 "subject": facts.subject},
                              verdict=Verdict(judgement.verdict), findings=[f.to_dict() for f in judgement.findings],
                              policy_version_id=version.id if version else None,
                              subsidy_eligible=judgement.subsidy_eligible, idempotency_key=idempotency_key,
                              submitted_by=user.id)
            expense.status = state.apply_verdict(facts.subject, facts.amount, judgement.verdict)
            s.add(expense)
            s.flush()
            if expense.status == ExpenseStatus.POSTED:
                ledger.post(s, [_posting(expense, grant)])
    except IntegrityError:
        # a concurrent retry with the same key won the race: answer with its result
        if idempotency_key:
            prior = _by_idempotency_key(idempotency_key, user)
            if prior is not None:
                return prior, False
        raise
    return expense, True


def _by_idempotency_key(key: str, user: User) -> Expense | None:
    e = db.session.execute(select(Expense).where(Expense.idempotency_key == key)).scalar_one_or_none()
    if e is not None and (e.submitted_by != user.id):
        raise Conflict("Idempotency-Key 已被其他用户使用 / key already used by another caller",
                       {"Idempotency-Key": ["used by another caller"]})
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


def approval_queue(user: User):
    return list_expenses(user, {"status": ExpenseStatus.PENDING}).order_by(None).order_by(Expense.submitted_at, Expense.id)


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
    """The bureau's decision on a queued expense; an approval re-checks the budget as it is now."""
    _bureau_with_reason(user, reason, "审批支出", "decides expenses")
    with unit_of_work() as s:
        e, grant, state = _lock_expense(expense_id, user)
        if e.status != ExpenseStatus.PENDING:
            raise Conflict(f"支出状态为 {e.status.value}，不在审批队列中 / expense is {e.status.value}, not pending")
        if approve:
            recheck = _recheck(e, state)
            if recheck is not None:
                raise BudgetExceeded(recheck.message_zh + " / " + recheck.message_en,
                                     {"amount": [recheck.message_en]}, finding=recheck.to_dict())
        state.book(e.subject, reserved=-e.amount, spent=e.amount if approve else Decimal(0))
        e.decided_by, e.decision_reason, e.decided_at = user.id, reason, now()
        if approve:
            e.status = ExpenseStatus.POSTED
            ledger.post(s, [_posting(e, grant, memo=f"审批通过: {reason}")])
        else:
            e.status = ExpenseStatus.REJECTED
    return e


def _recheck(e: Expense, state: GrantState):
    """Re-judge budget availability now, not counting this expense's own reservation."""
    if e.subject not in state.lines:
        return None
    version = db.session.get(PolicyVersion, e.policy_version_id) if e.policy_version_id else None
    policy = policy_store.policy_for(version) if version else None
    if policy is None:
        return None
    facts = expense_facts({f: getattr(e, f) for f in EXPENSE_FIELDS})
    j = rules.judge(facts, state.facts(release=(e.subject, e.amount)), state.context(None), policy)
    blocking = [f for f in j.findings if f.kind == "budget_availability" and f.severity == "reject"]
    return blocking[0] if blocking else None


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
