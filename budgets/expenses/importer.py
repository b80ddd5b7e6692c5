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
from grants.access import require_expense_submitter, scope
from grants.db import CENT, bulk_insert, now, unit_of_work
from grants.errors import Invalid
from grants.extensions import db
from grants.money import MAX_EXPENSE, parse_money, parse_money_series
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
    return parse_money(v, thousands=True, maximum=MAX_EXPENSE)


def _amount(v: str) -> Decimal:
    return parse_money(v, thousands=True, positive=True, maximum=MAX_EXPENSE)


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
    """The code, either label or a synonym (any width, case or script) becomes the code; anything else is refused
    with the accepted codes."""
    allowed = ", ".join(f.values)

    def parse(v: str) -> str:
        code = f.resolve(v.strip())
        if code is None:
            raise ValueError(f"未知代码 / unknown code; 可选 / accepted: {allowed}")
        return code

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


CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"   # C0 controls and DEL, NUL included; tab and newlines pass
MAX_LENGTH = {"grant_code": 64, **{f.name: f.max_length for f in ef.FIELDS if f.max_length}}


def parse_columns(df: "pd.DataFrame") -> tuple[dict[str, list], list[dict | None]]:
    """Parse column by column: (values per column, errors per row or None).

    Every cell is screened at once per column — control characters (NUL included) and over-long text
    are refused naming the row and column, never sent to the database — and money is read by the
    vectorised strict rule (``grants.money.parse_money_series``); other kinds cell by cell.
    """
    n = len(df)
    errors: list[dict | None] = [None] * n

    def fail(i: int, col: str, msg: str) -> None:
        if errors[i] is None:
            errors[i] = {}
        errors[i].setdefault(col, []).append(msg)

    columns: dict[str, list] = {}
    for col in list(df.columns):
        text = df.pop(col).astype("string").fillna("")  # popped: the frame shrinks as the columns are read
        empty = (text.str.strip() == "").to_numpy(dtype=bool)
        bad = set()
        for i in (text.str.contains(CONTROL, regex=True) & ~(text == "")).to_numpy(dtype=bool).nonzero()[0]:
            fail(int(i), col, "包含控制字符 / contains a control character")
            bad.add(int(i))
        limit = MAX_LENGTH.get(col)
        if limit:
            for i in (text.str.strip().str.len() > limit).to_numpy(dtype=bool).nonzero()[0]:
                if int(i) not in bad:
                    fail(int(i), col, f"超过 {limit} 个字符 / longer than {limit} characters")
                    bad.add(int(i))
        if col in REQUIRED:
            for i in empty.nonzero()[0]:
                fail(int(i), col, "必填 / required")
        default = _EMPTY.get(col)
        kind = ef.BY_NAME[col].kind if col in ef.BY_NAME else ef.TEXT
        if kind in (ef.AMOUNT, ef.MONEY):
            values, errs = parse_money_series(text, positive=kind == ef.AMOUNT, thousands=True, maximum=MAX_EXPENSE)
            for i, msg in errs.items():
                if i not in bad:
                    fail(i, col, f"无效值 {text.iat[i]!r} / invalid value: {msg}")
            columns[col] = [default if e else v for v, e in zip(values, empty)]
            continue
        parse = PARSERS[col]
        out = []
        for i, (raw, blank) in enumerate(zip(text.to_numpy(dtype=object), empty)):
            if blank or i in bad:
                out.append(default)
                continue
            try:
                out.append(parse(raw))
            except (ValueError, InvalidOperation, ArithmeticError) as e:
                out.append(default)
                fail(i, col, f"无效值 {raw!r} / invalid value: {e}" if str(e) else f"无效值 {raw!r} / invalid value")
        columns[col] = out
    return columns, errors


class ParsedRows:
    """The parsed file as columns, read as rows (row number as the user sees it — header is row 1, data
    from row 2 —, data or None, errors or None) built on demand: a row's dict exists only while its
    chunk is judged, which keeps a 100,000-row import's memory to its columns."""

    def __init__(self, columns: dict[str, list], errors: list[dict | None]):
        self.columns, self.errors, self.names = columns, errors, list(columns)

    def __len__(self) -> int:
        return len(self.errors)

    def __iter__(self) -> Iterator[tuple[int, dict | None, dict | None]]:
        return self._rows(0, len(self))

    def __getitem__(self, part: slice) -> list[tuple[int, dict | None, dict | None]]:
        start, stop, _ = part.indices(len(self))
        return list(self._rows(start, stop))

    def _rows(self, start: int, stop: int):
        names, errors = self.names, self.errors
        for i, row in enumerate(zip(*(c[start:stop] for c in self.columns.values())), start):
            err = errors[i]
            yield i + 2, (None if err else dict(zip(names, row))), err

    def valid(self, name: str) -> set:
        """The distinct values of one column over the valid rows."""
        col = self.columns.get(name)
        if col is None:
            return set()
        return {v for v, err in zip(col, self.errors) if err is None and v}


def parse_rows(df: "pd.DataFrame") -> ParsedRows:
    return ParsedRows(*parse_columns(df))


# --------------------------------------------------------------------------- the import use case
CHUNK = 10_000  # rows judged and written at a time, inside the one transaction: bounds the working memory


def import_expenses(content: bytes, filename: str, user: User, *, partial: bool = False,
                    progress: Callable[[int], None] | None = None) -> dict:
    """Validate every row, then judge and book the valid ones in one transaction; return the report."""
    require_expense_submitter(user)
    file_hash = hashlib.sha256(content).hexdigest()
    parsed = parse_rows(read_table(content, filename))
    report = [{"row": i + 2, "errors": err, "expense_id": None, "verdict": None, "status": None, "rule_ids": [],
               "skipped": False} for i, err in enumerate(parsed.errors)]
    result = {"file_sha256": file_hash, "rows": len(parsed), "booked": 0, "skipped_already_imported": 0,
              "invalid": 0, "by_verdict": {}, "committed": False, "report": report}

    with unit_of_work() as s:
        grants = _grants_by_code(parsed.valid("grant_code"), user)
        for code, err, rep in zip(parsed.columns["grant_code"], parsed.errors, report):
            if err is None and code not in grants:
                rep["errors"] = {"grant_code": [f"课题 {code} 不存在或无权访问 / grant not found"]}
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
        if result["invalid"] and not partial:   # a row the books could not hold (judge names it)
            s.rollback()
            result["booked"] = 0
            return result
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
        self.stored_invoices = service.invoices_on_file(parsed.valid("invoice_no"), user)
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
            problem = state.amount_problem(facts.subject, facts.amount)
            if problem:
                rep["errors"] = {"amount": [problem]}
                result["invalid"] += 1
                continue
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
            status = state.apply_verdict(facts.subject, facts.amount, verdict, facts.purpose)
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
