"""Bulk import of expenses from CSV / XLSX, judged row by row, booked set-based.

Headers may be Chinese or English. Every row is validated first; by default one malformed row means
nothing is booked (the report names each bad row and column). Rows are keyed by file SHA-256 + row
number, so re-running a file after a crash or by mistake books nothing twice. Grants, budget lines and
policy versions are loaded once per import, not per row; budget consumption is tracked in memory under
the row locks and written back once.
"""
from __future__ import annotations

import hashlib
import io
from collections import Counter
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Callable, Iterator

from sqlalchemy import func, select

if TYPE_CHECKING:
    import pandas as pd

from budgets.expenses import fields as ef
from budgets.expenses import service
from budgets.models import Expense, ExpenseStatus, Verdict
from compliance import policy as policy_store
from compliance import rules
from grants import ledger
from grants.access import require_writer, scope
from grants.db import CENT, bulk_insert, now, unit_of_work
from grants.errors import Invalid
from grants.extensions import db
from grants.fields import MAX_MONEY
from grants.models import Grant, User

COLUMNS = {"grant_code": ("课题编号", "项目编号", "grant_code", "grant"), **{f.name: f.headers for f in ef.FIELDS}}
REQUIRED = ("grant_code", *ef.REQUIRED)
_HEADER = {alias.strip().lower(): canon for canon, aliases in COLUMNS.items() for alias in aliases}
_EMPTY = {f.name: f.default for f in ef.FIELDS}  # an empty cell of an optional column
TRUE = {"true", "1", "yes", "y", "是", "已查验", "已登记", "t"}
FALSE = {"false", "0", "no", "n", "否", "未查验", "未登记", "f"}


def read_table(content: bytes, filename: str) -> "pd.DataFrame":
    import pandas as pd  # imported on first import only: the web app does not carry pandas' memory otherwise

    name = filename.lower()
    try:
        if name.endswith((".xlsx", ".xlsm")):
            df = pd.read_excel(io.BytesIO(content), dtype=str, engine="openpyxl", keep_default_na=False)
        else:
            df = pd.read_csv(io.BytesIO(content), dtype=object, keep_default_na=False, encoding="utf-8-sig")
    except Exception as e:  # noqa: BLE001 - any parse failure is the user's file, reported as such
        raise Invalid(f"无法读取文件：{e.__class__.__name__} / cannot read the file", {"file": [str(e)[:300]]}) from None
    renamed, unknown = {}, []
    for col in df.columns:
        canon = _HEADER.get(str(col).strip().lower())
        if canon is None:
            unknown.append(str(col))
        elif canon in renamed.values():
            raise Invalid(f"列重复：{col} / duplicate column", {"file": [f"column {col!r} appears twice"]})
        else:
            renamed[col] = canon
    missing = [c for c in REQUIRED if c not in renamed.values()]
    if missing:
        raise Invalid("缺少必需的列 / required columns missing",
                      {"file": [f"missing column {c} ({COLUMNS[c][0]})" for c in missing]})
    df = df.rename(columns=renamed)[list(renamed.values())]
    return df


# --------------------------------------------------------------------------- per-cell parsers
def _money(v: str) -> Decimal:
    d = Decimal(v.replace(",", "").strip())
    if not d.is_finite():
        raise ValueError("not finite")
    if d != d.quantize(CENT):
        raise ValueError("at most two decimal places")
    if abs(d) >= MAX_MONEY:
        raise ValueError("too large")
    return d.quantize(CENT)


def _amount(v: str) -> Decimal:
    d = _money(v)
    if d <= 0:
        raise ValueError("must be greater than zero")
    return d


def _date(v: str) -> date:
    v = v.strip()
    if len(v) >= 10 and v[4] in "-/" and v[7] in "-/":
        return date(int(v[:4]), int(v[5:7]), int(v[8:10]))
    return datetime.strptime(v[:10], "%Y%m%d").date()


def _bool(v: str) -> bool:
    x = v.strip().lower()
    if x in TRUE:
        return True
    if x in FALSE:
        return False
    raise ValueError("expected yes/no (是/否)")


def _choice(f: ef.ExpenseField) -> Callable[[str], str]:
    """A Chinese label (or alias) becomes its value; a strict choice refuses anything else."""
    mapping, allowed = ef.choice_map(f), f.values

    def parse(v: str) -> str:
        x = mapping.get(v.strip(), v.strip())
        if f.strict and x not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return x

    return parse


def _positive_int(v: str) -> int:
    n = int(Decimal(v))
    if n < 1 or n != Decimal(v):
        raise ValueError("a whole number ≥ 1")
    return n


def _days(v: str) -> Decimal:
    d = Decimal(v)
    if not d.is_finite() or d <= 0 or d > 365:
        raise ValueError("between 0 and 365")
    return d


_BY_KIND: dict[str, Callable[[str], object]] = {
    ef.DATE: _date, ef.AMOUNT: _amount, ef.MONEY: _money, ef.TEXT: str.strip, ef.BOOL: _bool,
    ef.INT: _positive_int, ef.DAYS: _days}
PARSERS: dict[str, Callable[[str], object]] = {
    "grant_code": str.strip,
    **{f.name: _choice(f) if f.kind == ef.CHOICE else _BY_KIND[f.kind] for f in ef.FIELDS},
}


def parse_rows(df: "pd.DataFrame") -> Iterator[tuple[int, dict | None, dict | None]]:
    """Yield (row number as the user sees it — header is row 1, data from row 2, data, errors)."""
    cols = list(df.columns)
    parsers = [PARSERS[c] for c in cols]
    for i, values in enumerate(df.itertuples(index=False, name=None)):
        data, errors = {}, None
        for col, parse, raw in zip(cols, parsers, values):
            if raw is None or raw == "":
                if col in REQUIRED:
                    errors = errors or {}
                    errors[col] = ["必填 / required"]
                data[col] = _EMPTY.get(col)
                continue
            try:
                data[col] = parse(raw)
            except (ValueError, InvalidOperation, ArithmeticError) as e:
                errors = errors or {}
                errors[col] = [f"无效值 {raw!r} / invalid value: {e}" if str(e) else f"无效值 {raw!r} / invalid value"]
        yield i + 2, (None if errors else data), errors


# --------------------------------------------------------------------------- the import use case
CHUNK = 10_000  # rows judged and written at a time, inside the one transaction: bounds the working memory


def import_expenses(content: bytes, filename: str, user: User, *, partial: bool = False,
                    progress: Callable[[int], None] | None = None) -> dict:
    """Validate every row, then judge and book the valid ones in one transaction; return the report."""
    require_writer(user)
    file_hash = hashlib.sha256(content).hexdigest()
    parsed = list(parse_rows(read_table(content, filename)))
    report = [{"row": n, "errors": err, "expense_id": None, "verdict": None, "status": None, "rule_ids": [],
               "skipped": False} for n, _, err in parsed]
    result = {"file_sha256": file_hash, "rows": len(parsed), "booked": 0, "skipped_already_imported": 0,
              "invalid": 0, "by_verdict": {}, "committed": False, "report": report}

    with unit_of_work() as s:
        grants = _grants_by_code({d["grant_code"] for _, d, _ in parsed if d}, user)
        for (_, data, _), rep in zip(parsed, report):
            if data and data["grant_code"] not in grants:
                rep["errors"] = {"grant_code": [f"课题 {data['grant_code']} 不存在或无权访问 / grant not found"]}
        result["invalid"] = sum(1 for rep in report if rep["errors"])
        if result["invalid"] and not partial:
            s.rollback()
            return result
        batch = _Batch(parsed, grants, file_hash, user)
        for start in range(0, len(parsed), CHUNK):
            if progress:
                progress(start)
            rows, booked = batch.judge(parsed[start:start + CHUNK], report[start:start + CHUNK], result)
            batch.store(rows, booked)
            result["booked"] += len(rows)
        result["by_verdict"] = dict(batch.counts)
        result["committed"] = True
    if progress:
        progress(len(parsed))
    return result


class _Batch:
    """What judging a file needs once — the grants' locked budgets, the invoices already on file, the
    policy version of each date — and the running state across its chunks."""

    def __init__(self, parsed, grants: dict[str, Grant], file_hash: str, user: User):
        s = db.session
        self.grants, self.file_hash, self.user = grants, file_hash, user
        self.by_id = {g.id: g for g in grants.values()}
        self.done = set(s.scalars(select(Expense.import_key).where(Expense.import_key.like(f"{file_hash}:%"))))
        self.states = {g.id: service.load_grant_state(g, lock=True) for g in sorted(grants.values(), key=lambda g: g.id)}
        self.stored_invoices = service.invoices_on_file({d["invoice_no"] for _, d, _ in parsed if d and d.get("invoice_no")})
        self.file_invoices: dict[str, int] = {}   # invoice → earlier row of this file
        pairs = {(grants[d["grant_code"]].id, d["payee_name"].strip()) for _, d, _ in parsed
                 if d and d.get("payee_name") and d["payee_name"].strip() and d.get("grant_code") in grants}
        self.payee_history = service.payments_to_payees(pairs)   # + this file's rows as they are judged
        self.pick_version = policy_store.active_versions_picker(s)
        self.policies: dict[date, tuple] = {}
        self.counts: Counter = Counter()
        self.submitted_at = now()

    def judge(self, parsed, report, result: dict) -> tuple[list[dict], list[dict]]:
        """Judge each valid, not yet imported row in file order against the locked budgets, booking as it goes."""
        rows, booked = [], []
        for (n, data, _), rep in zip(parsed, report):
            if rep["errors"]:
                continue
            key = f"{self.file_hash}:{n}"
            if key in self.done:
                rep["skipped"] = True
                result["skipped_already_imported"] += 1
                continue
            grant = self.grants[data["grant_code"]]
            state = self.states[grant.id]
            when = data["expense_date"]
            if when not in self.policies:
                v = self.pick_version(when)
                self.policies[when] = (v, policy_store.policy_for(v) if v else None)
            version, policy = self.policies[when]
            facts = service.expense_facts(data)
            inv = facts.invoice_no
            payee = (facts.payee_name or "").strip()
            history = self.payee_history.get((grant.id, payee), ()) if payee else ()
            prior = tuple(p for p in history if p.expense_date <= when)
            judgement = service.judge_expense(facts, state, policy, self.stored_invoices.get(inv) if inv else None,
                                              duplicate_row=self.file_invoices.get(inv) if inv else None,
                                              same_payee=prior)
            if payee and judgement.verdict != "reject":
                self.payee_history.setdefault((grant.id, payee), []).append(
                    rules.PriorPayment(None, when, facts.amount, facts.purpose, facts.subject, row=n))
            if inv and inv not in self.file_invoices and judgement.verdict != "reject":
                self.file_invoices[inv] = n
            verdict = judgement.verdict
            status = state.apply_verdict(facts.subject, facts.amount, verdict)
            rows.append({
                "grant_id": grant.id, "institution_id": grant.institution_id,
                **{name: getattr(facts, name) for name in ef.NAMES},
                "verdict": Verdict(verdict), "findings": [f.to_dict() for f in judgement.findings],
                "policy_version_id": version.id if version else None, "status": status,
                "subsidy_eligible": judgement.subsidy_eligible, "import_key": key, "submitted_by": self.user.id,
                "submitted_at": self.submitted_at, "decision_reason": "",
            })
            rep["verdict"], rep["status"] = verdict, status.value
            rep["rule_ids"] = [f.rule_id for f in judgement.findings]
            booked.append(rep)
            self.counts[verdict] += 1
        return rows, booked

    def store(self, rows: list[dict], booked: list[dict]) -> None:
        """One executemany for the expenses (no RETURNING: far cheaper), their ids back by import key, then
        the ledger postings of the posted ones."""
        if not rows:
            return
        s = db.session
        before = s.execute(select(func.coalesce(func.max(Expense.id), 0))).scalar_one()
        bulk_insert(s, Expense.__table__, rows)
        ids = dict(s.execute(select(Expense.import_key, Expense.id).where(
            Expense.id > before, Expense.import_key.like(f"{self.file_hash}:%"))).all())
        postings = []
        for row, rep in zip(rows, booked):
            rep["expense_id"] = eid = ids[row["import_key"]]
            if row["status"] == ExpenseStatus.POSTED:
                g = self.by_id[row["grant_id"]]
                postings.append(ledger.Posting.for_grant(g, ledger.EntryType.EXPENSE, row["expense_date"], row["amount"],
                                                        "expense", eid, subject=row["subject"],
                                                        memo=row["description"]))
        ledger.post(s, postings)


def _grants_by_code(codes: set[str], user: User) -> dict[str, Grant]:
    out: dict[str, Grant] = {}
    codes = sorted(codes)
    for i in range(0, len(codes), 500):
        stmt = select(Grant).where(Grant.code.in_(codes[i:i + 500])).order_by(Grant.id).with_for_update()
        stmt = scope(stmt, Grant.institution_id, user)
        for g in db.session.scalars(stmt):
            out[g.code] = g
    return out
