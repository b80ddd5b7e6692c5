"""Benchmark: bulk-import N expense rows (default 100,000) vs a raw ``executemany`` of the same rows.

Both run in this process against the same fresh SQLite (or ``BENCH_DATABASE_URL``) database. The
baseline parses the same CSV with pandas and inserts the rows into ``expenses`` with one
``executemany`` — the least any importer must do. The import judges every row against the policy in
force, books the allowed ones (budget lines + hash-chained ledger) and stores every verdict.
Prints the time ratio (target ≤ 3×) and the import's peak RSS. On PostgreSQL the baseline runs with
triggers off (the import's COPY also maintains ``expense_totals``); on SQLite both pay the row triggers.
"""
from __future__ import annotations

import io
import os
import random
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

N = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
GRANTS = 20


def _make_app(url: str):
    from flask_migrate import upgrade

    from grants.app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        from compliance.service import sync_policies

        sync_policies()
    return app


def _seed(n_grants: int):
    """Active budgeted grants with room for every row, and a user to import as."""
    from budgets.models import BudgetLine, Subject
    from grants.accounts import create_user
    from grants.extensions import db
    from grants.models import (Category, FundingMode, Grant, GrantStatus, Institution, InstitutionKind, Researcher,
                               Tranche, TrancheStatus)

    inst = Institution(name="基准测试研究院", kind=InstitutionKind.RESEARCH_INSTITUTE)
    db.session.add(inst)
    db.session.flush()
    pi = Researcher(institution_id=inst.id, name="基准负责人", birth_date=date(1980, 1, 1))
    db.session.add(pi)
    db.session.flush()
    codes = []
    for i in range(n_grants):
        g = Grant(code=f"BENCH-{i:03d}", title="基准课题", institution_id=inst.id, pi_id=pi.id,
                  category=Category.COMPETITIVE, funding_mode=FundingMode.BUDGETED, fiscal_amount=Decimal("1000000000.00"),
                  start_date=date(2025, 1, 1), end_date=date(2027, 12, 31), status=GrantStatus.ACTIVE)
        db.session.add(g)
        db.session.flush()
        for subject, amount in ((Subject.EQUIPMENT, "300000000"), (Subject.OPERATIONS, "400000000"),
                                (Subject.LABOUR, "200000000"), (Subject.INDIRECT, "100000000")):
            db.session.add(BudgetLine(grant_id=g.id, subject=subject, amount=Decimal(amount)))
        db.session.add(Tranche(grant_id=g.id, seq=1, planned_date=date(2025, 1, 1), amount=Decimal("1000000000.00"),
                               status=TrancheStatus.PAID, paid_on=date(2025, 1, 1)))
        codes.append(g.code)
    db.session.commit()
    user, _ = create_user("bench_importer", "institution", "bench-password", inst.id)
    return codes, user


def make_csv(codes: list[str], n: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    out = io.StringIO()
    out.write("\ufeff课题编号,支出日期,金额,预算科目,用途,摘要,收款方,收款方类型,支付方式,发票号码,发票查验\n")
    start = date(2025, 2, 1)
    for i in range(n):
        kind = rnd.random()
        if kind < 0.02:
            purpose, desc = "other", "交通违章罚款"           # negative list → reject
        elif kind < 0.05:
            purpose, desc = "materials", "实验耗材"           # cash → warn
        else:
            purpose, desc = "materials", "实验试剂采购"
        method = "现金" if 0.02 <= kind < 0.05 else "银行转账"
        verified = "" if kind > 0.99 else "是"                  # 1% fail closed → needs_approval
        out.write(f"{codes[i % len(codes)]},{start + timedelta(days=i % 300)},{rnd.randint(100, 999999) / 100:.2f},"
                  f"业务费,{purpose},{desc},供应商{i % 97},供应商,{method},BENCH-{i:07d},{verified}\n")
    return out.getvalue().encode("utf-8")


def raw_insert(content: bytes, grant_ids: dict[str, int], institution_id: int, with_ledger: bool = False) -> float:
    """Baseline: pandas parse + one executemany of the same rows, in one transaction, then rolled back.

    ``with_ledger`` also inserts one ledger row per expense (fixed content and fake hashes): the write
    volume a booked import cannot avoid, printed for context beside the target's strict baseline.
    """
    import pandas as pd

    from grants.extensions import db

    t0 = time.perf_counter()
    df = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    rows = [(grant_ids[r[0]], institution_id, r[1], r[2], "operations", r[4], r[5], r[6], "vendor", "bank_transfer",
             r[9], True, "allow", "[]", "posted", "", "2025-01-01 00:00:00")
            for r in df.itertuples(index=False, name=None)]
    conn = db.engine.raw_connection()
    try:
        cur = conn.cursor()
        if db.engine.dialect.name == "sqlite":
            cur.execute("BEGIN")
        else:
            # the strictest baseline: no triggers (executemany is one statement per row, and each would
            # fire the statement-level totals triggers the import's one COPY fires once)
            cur.execute("SET LOCAL session_replication_role = replica")
        ph = "?" if db.engine.dialect.name == "sqlite" else "%s"
        cur.executemany(
            "INSERT INTO expenses (grant_id, institution_id, expense_date, amount, subject, purpose, description, "
            "payee_name, payee_kind, payment_method, invoice_no, invoice_verified, verdict, findings, status, "
            f"decision_reason, submitted_at) VALUES ({', '.join([ph] * 17)})", rows)
        if with_ledger:
            ledger_rows = [(10_000_000 + i, "expense", r[2], r[0], r[1], "competitive", "operations", r[3], "expense",
                            i, "", '{"fixed":"content"}', f"{i:064x}", f"{i + 1:064x}", "2025-01-01 00:00:00")
                           for i, r in enumerate(rows)]
            cur.executemany(
                "INSERT INTO ledger_entries (seq, entry_type, entry_date, grant_id, institution_id, category, subject, "
                "amount, ref_type, ref_id, memo, content, prev_hash, hash, created_at) "
                f"VALUES ({', '.join([ph] * 15)})", ledger_rows)
        elapsed = time.perf_counter() - t0
        conn.rollback()
    finally:
        conn.close()
    return elapsed


def main() -> list[str]:
    from rich.console import Console

    from budgets.expenses.importer import import_expenses
    from grants.extensions import db
    from grants.models import Grant

    console = Console()
    url = os.environ.get("BENCH_DATABASE_URL") or "sqlite:///" + os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
    app = _make_app(url)
    with app.app_context():
        codes, user = _seed(GRANTS)
        grant_ids = {g.code: g.id for g in db.session.query(Grant)}
        institution_id = user.institution_id
        content = make_csv(codes, N)
        db.session.remove()

        # the baselines run in a forked child (same database, same moment), so this process's peak RSS
        # is the import's own and not the baselines' frames and tuples
        base, both, base_rss = _in_child(lambda: (raw_insert(content, grant_ids, institution_id),
                                                  raw_insert(content, grant_ids, institution_id, with_ledger=True),
                                                  _peak_rss_mib()))
        t0 = time.perf_counter()
        result = import_expenses(content, "bench.csv", user)
        took = time.perf_counter() - t0
        peak = _peak_rss_mib()

    assert result["committed"] and result["booked"] == N, result["invalid"]
    ratio = took / base
    line = (f"import [{url.split(':')[0].split('+')[0]}] {N:,} rows: {took:.2f}s vs raw executemany {base:.2f}s → "
            f"{ratio:.2f}× (target ≤ 3×); peak RSS of the import {peak:.0f} MiB ({base_rss:.0f} MiB after the "
            f"baselines)")
    console.print(line, markup=False)
    console.print(f"  verdicts {result['by_verdict']}; file {len(content) / 2**20:.1f} MiB; for context: a raw insert "
                  f"of the same rows into expenses and ledger_entries takes {both:.2f}s → {took / both:.2f}×",
                  markup=False)
    return [line]


def _in_child(fn):
    """Run ``fn`` in a forked process with its own database connections; return its (picklable) result."""
    import pickle

    from grants.extensions import db

    db.engine.dispose(close=False)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            db.engine.dispose(close=False)
            out = pickle.dumps(("ok", fn()))
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            out = pickle.dumps(("error", repr(e)))
        with os.fdopen(w, "wb") as f:
            f.write(out)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        status, value = pickle.loads(f.read())
    os.waitpid(pid, 0)
    if status != "ok":
        raise RuntimeError(value)
    return value


def _peak_rss_mib() -> float:
    import resource

    from bench.common import peak_rss_mb

    return peak_rss_mb()


if __name__ == "__main__":
    main()
