"""What an expense is judged on: its facts, the grant's state (budget lines, money disbursed, people, holds)
kept in step while an import books row after row, and the look-ups the rules need (invoices already claimed,
earlier payments to the same payee). Read by the expense use cases (``service``) and the importer."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date as date_, timedelta
from decimal import Decimal

from sqlalchemy import Date, String, and_, any_, bindparam, exists, false, func, null, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from budgets.expenses import fields as ef
from budgets.models import BudgetLine, Expense, ExpenseStatus, Subject, Verdict
from budgets.service import lines_of
from compliance import holds, rules
from compliance import policy as policy_store
from compliance.policy import VersionRef
from compliance.rules.programme import reward_purposes
from grants.access import confined_to
from grants.errors import Conflict, Invalid
from grants.disbursement import disbursed_total, disbursed_total_of
from grants.extensions import db
from grants.registry import visible_grant
from grants.models import (Category, EquityEvent, EquityEventKind, EquityInvestment, FundingMode, Grant, Institution,
                           Researcher, User)

EXPENSE_FIELDS = ef.NAMES
BOOKS_LIMIT = Decimal("9999999999999999.99")   # the most a Numeric(18, 2) column holds
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
    reward_total: Decimal = Decimal(0)            # the programme's reward (绩效) extraction, posted or queued
    reward_purposes: frozenset = frozenset()
    _facts: rules.GrantFacts | None = field(default=None, repr=False)
    _line_facts: dict = field(default_factory=dict, repr=False)
    _context: dict = field(default_factory=dict, repr=False)
    holds: tuple = ()  # findings of holds on the grant (compliance.holds), added to every verdict

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
            equity_conditions=self.equity_conditions, programme=g.programme, reward_total=self.reward_total,
            institution_id=g.institution_id)

    def context(self, duplicate_of: "int | Elsewhere | None", duplicate_row: int | None = None) -> rules.Context:
        key = (duplicate_of, duplicate_row)
        ctx = self._context.get(key)
        if ctx is None:
            elsewhere = isinstance(duplicate_of, Elsewhere)
            ctx = self._context[key] = rules.Context(
                duplicate_invoice_of=None if elsewhere else duplicate_of, duplicate_invoice_row=duplicate_row,
                duplicate_invoice_elsewhere=elsewhere,
                project_member_names=self.member_names,
                salaried_staff_names=self.salaried_names)
        return ctx

    def amount_problem(self, subject: str | None, amount: Decimal) -> str | None:
        """Why no verdict could make this amount bookable on this grant, or None.

        A grant with a budget never spends more than its fiscal amount (its budget equals it), so a larger
        expense is refused rather than queued; and a budget line's spent + reserved must fit its
        Numeric(18, 2) column, so reservations can never overflow it. A 先立项后补助 grant is self-funded
        (no budget lines): only the per-field cap applies.
        """
        g = self.grant
        if g.category == Category.POST_SUBSIDY:
            return None
        if amount > g.fiscal_amount:
            return (f"金额 {amount:.2f} 元超过课题财政资金 {g.fiscal_amount:.2f} 元 / amount {amount:.2f} exceeds the "
                    f"grant's fiscal amount {g.fiscal_amount:.2f}")
        line = self.line_for(subject) if subject else None
        if line is not None and line.spent + line.reserved + amount > BOOKS_LIMIT:
            return "该科目已支出与待审金额合计过大 / spent and pending on this budget line would exceed what the books hold"
        return None

    def line_for(self, subject: str, *, create: bool = False) -> BudgetLine | None:
        """The budget line an expense under ``subject`` draws on: the pool of a 包干制 grant whatever the
        subject, else the subject's own line. With ``create``, a budgeted grant without that line gets one
        with no money on it (so every booked expense draws on some line: a 经费预算+负面清单 total-level
        budget may spend under any known subject; a subject-level one must first get money into it by an
        approved 预算调剂, which the rules and the approval re-check require). None for 先立项后补助 grants
        (self-funded, no fiscal lines) and for a subject that is not a budget subject at all."""
        g = self.grant
        if g.category == Category.POST_SUBSIDY:
            return None
        if g.funding_mode == FundingMode.LUMP_SUM:
            subject = Subject.LUMP_SUM.value
        line = self.lines.get(subject)
        if line is not None or not create:
            return line
        try:
            subj = Subject(subject)
        except ValueError:
            return None
        pool = subj == Subject.LUMP_SUM
        if pool and g.funding_mode != FundingMode.LUMP_SUM:
            return None   # a budgeted grant has no pool: the rules send this to approval, never to the books
        line = BudgetLine(grant_id=g.id, subject=subj, amount=g.fiscal_amount if pool else Decimal("0.00"),
                          adjusted=Decimal("0.00"), spent=Decimal("0.00"), reserved=Decimal("0.00"),
                          note="包干制经费池" if pool else "支出时建立（未编列预算）/ created when money was booked")
        db.session.add(line)
        self.lines[subject] = line
        if self._facts is not None:
            self._line_facts = {**self._line_facts, subject: line_facts(line)}
        return line

    def book(self, subject: str, *, spent: Decimal = Decimal(0), reserved: Decimal = Decimal(0)) -> None:
        """Move money on the line the expense draws on and keep the cached facts in step.

        Posting money on a grant with fiscal lines always finds (or creates) a line; posting under a subject
        that can hold no money on this grant is refused (the rules never allow it, the approval re-check
        never lets it through). A reservation there is kept off the lines."""
        if self.grant.category == Category.POST_SUBSIDY:
            return
        line = self.line_for(subject, create=spent > 0 or reserved > 0)
        if line is None:
            if spent > 0:
                raise Conflict(f"科目「{subject}」不是预算科目，不能入账 / '{subject}' is not a budget subject: "
                               "nothing can be booked on it", {"subject": ["not a budget subject"]})
            return  # releasing a reservation that was kept off the lines
        if line.spent + spent + line.reserved + reserved > BOOKS_LIMIT:  # amount_problem refuses this first
            raise Invalid("金额超出账簿容量 / amount beyond what the books hold", {"amount": ["too large"]})
        key = line.subject.value
        line.spent += spent
        line.reserved += reserved
        if self._facts is not None:
            # facts are immutable: the next verdict sees a new line and total, built field by field
            # (cheaper than dataclasses.replace on the import's hot path)
            old = self._line_facts[key]
            self._line_facts = {**self._line_facts, key: rules.LineFacts(
                subject=old.subject, amount=old.amount, adjusted=old.adjusted, spent=old.spent + spent,
                reserved=old.reserved + reserved)}
            f = self._facts
            self._facts = rules.GrantFacts(
                id=f.id, category=f.category, funding_mode=f.funding_mode, management_mode=f.management_mode,
                status=f.status, start_date=f.start_date, end_date=f.end_date, fund_source=f.fund_source,
                institution_kind=f.institution_kind, fiscal_amount=f.fiscal_amount, disbursed=f.disbursed,
                spent_total=f.spent_total + spent + reserved, lines=self._line_facts,
                equity_conditions=f.equity_conditions, programme=f.programme, reward_total=self.reward_total,
                institution_id=f.institution_id)

    def apply_verdict(self, subject: str, amount: Decimal, verdict: str, purpose: str | None = None) -> ExpenseStatus:
        """A fresh verdict's effect on the books: post allow/warn, reserve needs_approval, keep reject off."""
        if purpose in self.reward_purposes and verdict != Verdict.REJECT.value:
            self.reward_total += amount     # book() below rebuilds the cached facts with it
            if self.grant.category == Category.POST_SUBSIDY:
                self._facts = None          # (book() moves no line there: rebuild on the next verdict)
        if verdict in POSTABLE:
            self.book(subject, spent=amount)
            return ExpenseStatus.POSTED
        if verdict == Verdict.NEEDS_APPROVAL.value:
            self.book(subject, reserved=amount)
            return ExpenseStatus.PENDING
        return ExpenseStatus.REJECTED

    def release_key(self, subject: str, amount: Decimal) -> tuple[str, Decimal] | None:
        """What judging a queued expense again must not count: its own reservation, on the line it drew on."""
        line = self.line_for(subject)
        return (line.subject.value, amount) if line is not None else None


def load_grant_state(grant: Grant, *, lock: bool) -> GrantState:
    """Load (and with ``lock`` row-lock, in id order) everything a verdict on this grant depends on, with all
    the institution's salaried staff (an import or a replay judges many payees against one state)."""
    s = db.session
    lines = {l.subject.value: l for l in lines_of(grant.id, for_update=lock)}
    kind = s.execute(select(Institution.kind).where(Institution.id == grant.institution_id)).scalar_one()
    pi_name = s.execute(select(Researcher.name).where(Researcher.id == grant.pi_id)).scalar_one()
    salaried = s.scalars(select(Researcher.name).where(Researcher.institution_id == grant.institution_id,
                                                       Researcher.salaried.is_(True))).all()
    return _state(grant, lines, kind, disbursed_total(grant.id), pi_name, frozenset(salaried))


def _context_stmt(with_payee: bool, with_invoice: bool, confined: bool, with_lines: bool):
    """The grant of one expense with its institution's kind, its PI, the money disbursed, whether the payee
    is one of the institution's salaried staff, whether it may be under a hold, which stored expense already
    claims its invoice, the policy version in force on the expense's date and (``with_lines``, when they
    need no lock) its budget lines, a row each — one statement, built once per shape and set of hold
    providers (parameters: ``grant_id``, ``on``, ``payee``, ``invoice``, ``own``)."""
    key = (with_payee, with_invoice, confined, with_lines, holds.provider_count())
    stmt = _CONTEXT_STMTS.get(key)
    if stmt is None:
        pv = policy_store.in_force_stmt(bindparam("on", type_=Date), columns=VersionRef.COLUMNS).subquery()
        salaried = exists().where(Researcher.institution_id == Grant.institution_id, Researcher.salaried.is_(True),
                                  Researcher.name == bindparam("payee", type_=String)) if with_payee else false()
        claimed, elsewhere = _invoice_claims(confined) if with_invoice else (null(), false())
        stmt = (select(Grant,
                       select(Institution.kind).where(Institution.id == Grant.institution_id).scalar_subquery(),
                       select(Researcher.name).where(Researcher.id == Grant.pi_id).scalar_subquery(),
                       disbursed_total_of(Grant.id), salaried, holds.holds_probe(Grant.id), claimed, elsewhere,
                       *pv.c)
                .outerjoin_from(Grant, pv, true()).where(Grant.id == bindparam("grant_id")))
        if with_lines:
            stmt = stmt.add_columns(BudgetLine).outerjoin_from(Grant, BudgetLine, BudgetLine.grant_id == Grant.id)\
                .order_by(BudgetLine.id)
        _CONTEXT_STMTS[key] = stmt
    return stmt


_CONTEXT_STMTS: dict = {}
_LOCK_GRANT = select(Grant.id).where(Grant.id == bindparam("grant_id")).with_for_update()


def _invoice_claims(confined: bool):
    """The first stored, non-rejected expense claiming the invoice that the caller may see, and whether
    one the caller may not see claims it (as :func:`invoices_on_file` answers for many numbers)."""
    live = (Expense.invoice_no == bindparam("invoice", type_=String), Expense.status != ExpenseStatus.REJECTED)
    own = Expense.institution_id == bindparam("own")
    claimed = select(Expense.id).where(*live, *((own,) if confined else ())).order_by(Expense.id).limit(1)
    return claimed.scalar_subquery(), exists().where(*live, ~own) if confined else false()


def load_expense_context(grant_id: int, user: User, on: date_, payee: str | None, invoice_no: str | None = None,
                         *, lock: bool) -> tuple[Grant, GrantState, "VersionRef | None", "int | Elsewhere | None"]:
    """One expense's grant (404 unless the caller may see it), everything its verdict depends on, the
    version of the policy in force on its date and the expense already claiming its invoice — in one round
    trip for a dry run, and for a booking three: the grant's lock, the grant with its facts, its budget
    lines locked (one more for its holds, when the probe says it has some; ``load_grant_state`` is the
    import's way, grant by grant).

    With ``lock`` the grant row and then its lines are locked, in that order, as every booking does; the
    grant's lock is a statement of its own, so what is read with the grant is read after it is held (a
    PostgreSQL statement reads what was committed when it began, even if it then waited for a lock). Of
    the institution's salaried staff only the payee is looked up: that is all the labour rule asks."""
    name = (payee or "").strip()
    own = confined_to(user)
    if lock and db.session.get_bind().dialect.name != "sqlite":   # SQLite: BEGIN IMMEDIATE already holds it
        db.session.execute(_LOCK_GRANT, {"grant_id": grant_id})
    rows = db.session.execute(_context_stmt(bool(name), bool(invoice_no), own is not None, not lock),
                              {"grant_id": grant_id, "on": on, "payee": name, "invoice": invoice_no, "own": own}
                              ).all()
    grant = visible_grant(rows[0][0] if rows else None, grant_id, user)
    _grant, kind, pi_name, disbursed, salaried, held, claimed, elsewhere, pv_id, pv_set, pv_version, pv_hash = rows[0][:12]
    if lock:
        lines = {l.subject.value: l for l in lines_of(grant.id, for_update=True)}
    else:
        lines = {r[12].subject.value: r[12] for r in rows if r[12] is not None}
    state = _state(grant, lines, kind, Decimal(disbursed), pi_name, frozenset([name]) if salaried else frozenset(),
                   held=bool(held))
    version = VersionRef(pv_id, pv_set, pv_version, pv_hash) if pv_id is not None else None
    return grant, state, version, claimed if claimed is not None else (ELSEWHERE if elsewhere else None)


def _state(grant: Grant, lines: dict, kind, disbursed: Decimal, pi_name: str, salaried: frozenset,
           held: bool = True) -> GrantState:
    """The state from what was read, plus what only some grants need: 拨改投 terms, a programme's reward,
    the holds on it (unless ``held`` is False: the probe read with the grant found none)."""
    s = db.session
    conditions = None
    if grant.category == Category.GRANT_TO_EQUITY:
        inv = s.execute(select(EquityInvestment.id, EquityInvestment.conditions, EquityInvestment.amount).where(
            EquityInvestment.grant_id == grant.id)).one_or_none()
        if inv is not None:   # None: no terms → fail closed
            conditions = inv.conditions
            # 拨改投: the money invested (first round and follow-ons) has been paid out to the company
            follow_on = s.execute(select(func.coalesce(func.sum(EquityEvent.amount), 0)).where(
                EquityEvent.investment_id == inv.id, EquityEvent.kind == EquityEventKind.FOLLOW_ON)).scalar_one()
            disbursed += inv.amount + Decimal(follow_on)
    purposes = reward_purposes(grant.programme)
    reward = Decimal(0)
    if purposes:
        reward = Decimal(s.execute(select(func.coalesce(func.sum(Expense.amount), 0)).where(
            Expense.grant_id == grant.id, Expense.purpose.in_(sorted(purposes)),
            Expense.status.in_([ExpenseStatus.POSTED, ExpenseStatus.PENDING]))).scalar_one())
    return GrantState(grant, kind.value, disbursed, lines, conditions, frozenset([pi_name]), salaried, reward,
                      purposes, holds=holds.holds_for(grant.id) if held else ())


class Elsewhere:
    """An invoice already claimed by an expense the caller may not see (another institution's): the
    finding says "elsewhere" and never names that record."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ELSEWHERE"


ELSEWHERE = Elsewhere()


def invoices_on_file(invoices: set[str], user: User | None = None) -> dict[str, "int | Elsewhere"]:
    """Invoice number → id of a stored, non-rejected expense that already claimed it — or ``ELSEWHERE``
    when that expense is not the caller's to see (institution staff, another institution's expense).

    PostgreSQL: one query with the numbers as one array parameter (``= ANY``); SQLite: 500 at a time.
    """
    found: dict[str, int | Elsewhere] = {}
    numbers = sorted(invoices)
    if not numbers:
        return found
    own = confined_to(user) if user is not None else None
    live = Expense.status != ExpenseStatus.REJECTED
    cols = (Expense.invoice_no, Expense.id, Expense.institution_id)
    if db.session.get_bind().dialect.name == "postgresql":
        param = bindparam("numbers", numbers, type_=ARRAY(String))
        parts = [select(*cols).where(Expense.invoice_no == any_(param), live)]
    else:
        parts = [select(*cols).where(Expense.invoice_no.in_(numbers[i:i + 500]), live)
                 for i in range(0, len(numbers), 500)]
    for stmt in parts:
        for no, eid, inst in db.session.execute(stmt.order_by(Expense.id)):
            if own is None or inst == own:
                if not isinstance(found.get(no), int):   # the first visible claim wins over "elsewhere"
                    found[no] = eid
            else:
                found.setdefault(no, ELSEWHERE)
    return found


def payments_to_payees(pairs: set[tuple[int, str]], only=None) -> dict[tuple[int, str], list[rules.PriorPayment]]:
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
                       Expense.status.notin_((ExpenseStatus.REJECTED, ExpenseStatus.REVERSED)),
                       *(() if only is None else (only,)))
                .order_by(Expense.expense_date, Expense.id))
            for eid, name, d, amount, purpose, subject in rows:
                out[(gid, name)].append(rules.PriorPayment(eid, d, amount, purpose, subject))
    return out


def same_payee_before(grant_id: int, payee_name: str | None, on: date_, exclude: int | None = None,
                      reads: tuple | None = None) -> tuple[rules.PriorPayment, ...]:
    """The earlier (up to ``on``) stored expenses of a grant to one payee (see :func:`payments_to_payees`);
    with ``reads`` (``Policy.prior_payment_reads``) only those some rule of the policy can use — the
    purposes it counts, within its look-back — so a long-lived grant's history is not read on every expense."""
    if not payee_name or not payee_name.strip():
        return ()
    only = None
    if reads is not None:
        if not reads:
            return ()
        only = and_(Expense.expense_date <= on, or_(*(
            Expense.purpose.in_(sorted(purposes)) if days is None
            else and_(Expense.purpose.in_(sorted(purposes)), Expense.expense_date >= on - timedelta(days=days))
            for purposes, days in reads)))
    found = payments_to_payees({(grant_id, payee_name.strip())}, only)[(grant_id, payee_name.strip())]
    return tuple(p for p in found if p.expense_date <= on and p.id != exclude)


def duplicate_invoice_of(invoice_no: str | None, user: User | None = None) -> "int | Elsewhere | None":
    return invoices_on_file({invoice_no}, user).get(invoice_no) if invoice_no else None
