"""Migration 0004 re-chains an existing single-chain ledger per institution — deterministically, keeping
its checkpoints meaningful — and refuses to re-hash a ledger that was already broken. Both backends."""
import importlib.util
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from grants import ledger
from grants.db import TZ
from grants.extensions import db
from reports import service


_spec = importlib.util.spec_from_file_location(
    "m0004", Path(__file__).parents[2] / "migrations/versions/0004_ledger_chains_per_institution.py")
m0004 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(m0004)
SCHEMA = "migration_0004"
OLD_CHECKPOINTS = sa.table("ledger_checkpoints", sa.column("period"), sa.column("period_end", sa.Date),
                           sa.column("seq"), sa.column("hash"), sa.column("created_at", sa.DateTime(timezone=True)))
OLD_ENTRIES = sa.table("ledger_entries", *(sa.column(c.name, c.type) for c in m0004.entries.c if c.name != "chain_seq"),
                       sa.column("created_at", sa.DateTime(timezone=True)))


@pytest.fixture
def old_app(app, backend, tmp_path):
    """A second, empty database at revision 0003 (PostgreSQL: its own schema in the test database)."""
    from grants.app import create_app

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        base = app.config["SQLALCHEMY_DATABASE_URI"]
        owner = create_engine(base)
        with owner.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        url = f"{base}?options=-csearch_path%3D{SCHEMA}"
    old = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "test"})
    with old.app_context():
        upgrade(revision="0003")
        yield old
        db.session.remove()
        db.engine.dispose()
    if backend == "postgresql":
        with owner.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        owner.dispose()


def _old_grant(n: int) -> tuple[int, int]:
    """An institution, its researcher and a grant written with revision 0003's columns (no ORM: the models
    carry columns later migrations add)."""
    now = datetime(2025, 1, 1, tzinfo=TZ)
    inst = db.session.execute(text("INSERT INTO institutions (name, kind, region, created_at) "
                                   "VALUES (:n, 'university', '鄂尔多斯', :t) RETURNING id"),
                              {"n": f"旧单位{n}", "t": now}).scalar_one()
    pi = db.session.execute(text("INSERT INTO researchers (institution_id, name, birth_date, salaried) "
                                 "VALUES (:i, :n, :b, true) RETURNING id"),
                            {"i": inst, "n": f"负责人{n}", "b": date(1980, 1, 1)}).scalar_one()
    grant = db.session.execute(text(
        "INSERT INTO grants (code, title, institution_id, pi_id, category, funding_mode, management_mode, "
        "fiscal_amount, self_raised_amount, start_date, end_date, status, fund_source, pure_theory, created_at) "
        "VALUES (:c, '旧课题', :i, :p, 'competitive', 'budgeted', 'standard', 1000000, 0, :s, :e, 'active', "
        "'municipal', false, :t) RETURNING id"),
        {"c": f"OLD-{n}", "i": inst, "p": pi, "s": date(2025, 1, 1), "e": date(2027, 12, 31), "t": now}).scalar_one()
    _OLD_GRANTS[inst] = grant
    return inst, grant


_OLD_GRANTS: dict[int, int] = {}


def _old_grant_id(institution_id: int) -> int:
    return _OLD_GRANTS[institution_id]


def book_old_ledger(tamper_seq=None):
    """Seven entries on revision 0003's single chain, interleaving three institutions, and three checkpoints."""
    a, b, c = (SimpleNamespace(id=_old_grant(n)[0]) for n in range(3))  # raw SQL: the models are newer than 0003
    grants = {i.id: SimpleNamespace(id=_old_grant_id(i.id)) for i in (a, b, c)}
    db.session.commit()
    order = [a, b, a, c, b, a, a]
    head, rows = ledger.GENESIS, []
    for seq, inst in enumerate(order, start=1):
        r = SimpleNamespace(seq=seq, entry_type="expense", entry_date=date(2025, 1, seq), grant_id=grants[inst.id].id,
                            institution_id=inst.id, category="competitive", subject="operations" if seq % 2 else None,
                            amount=Decimal(f"{seq}000.{seq}5"), ref_type="expense", ref_id=seq,
                            reverses_seq=1 if seq == 7 else None, memo=f'第{seq}笔, "引号"\n换行' if seq == 4 else "")
        content = m0004._content(r)
        r.content, r.prev_hash, r.hash = content, head, m0004._hash(head, content)
        head = r.hash
        rows.append(r)
    db.session.execute(OLD_ENTRIES.insert(), [
        {**vars(r), "amount": r.amount if tamper_seq != r.seq else r.amount + 1,
         "created_at": datetime(2025, 1, r.seq, 12, tzinfo=TZ)} for r in rows])
    for period, end, seq in (("day", date(2025, 1, 3), 3), ("month", date(2025, 1, 31), 7), ("day", date(2024, 12, 31), 0)):
        db.session.execute(OLD_CHECKPOINTS.insert(), {
            "period": period, "period_end": end, "seq": seq, "hash": rows[seq - 1].hash if seq else ledger.GENESIS,
            "created_at": datetime(2025, 2, 1, tzinfo=TZ)})
    ids = (a.id, b.id, c.id)
    db.session.commit()
    db.session.remove()
    return ids, rows


def test_existing_ledgers_are_rechained_per_institution_and_back(old_app, backend):
    (a, b, c), old = book_old_ledger()
    upgrade()
    r = ledger.verify(db.session)
    assert r.ok and r.entries == 7
    assert {h.institution_id: (h.chain_seq, h.seq) for h in r.heads} == {a: (4, 7), b: (2, 5), c: (1, 4)}
    chain_seqs = db.session.execute(text("SELECT chain_seq FROM ledger_entries ORDER BY seq")).scalars().all()
    assert chain_seqs == [1, 1, 2, 1, 2, 3, 4]
    report = service.verify_ledger()
    assert report.ok and report.checkpoints_checked == 3 and report.checkpoint_mismatches == []
    first_day = db.session.execute(text("SELECT id, chains, merkle_root FROM ledger_checkpoints WHERE seq = 3")).one()
    heads = service.checkpoints.checkpoint_heads(first_day.id)
    assert [(h.institution_id, h.chain_seq, h.seq) for h in heads] == [(a, 2, 3), (b, 1, 2)]
    assert first_day.chains == 2 and first_day.merkle_root == ledger.merkle_root(heads)

    g = db.session.execute(text("SELECT id FROM grants WHERE institution_id = :a"), {"a": a}).scalar_one()
    new = ledger.post(db.session, [ledger.Posting("expense", date(2025, 3, 1), g, a, "competitive", None,
                                                  Decimal("1.00"), "expense", 99)])[0]
    db.session.commit()
    assert (new["seq"], new["chain_seq"]) == (8, 5) and ledger.verify(db.session).ok
    with pytest.raises(DBAPIError, match="append-only"):  # the guards are back
        with db.session.begin_nested():
            db.session.execute(text("DELETE FROM ledger_entries WHERE seq = 8" if backend == "sqlite" else
                                    "TRUNCATE ledger_entries"))
    db.session.rollback()

    downgrade(revision="0003")  # one chain again: the old hashes come back, byte for byte
    back = db.session.execute(text("SELECT seq, hash FROM ledger_entries ORDER BY seq")).all()
    assert [h for _, h in back[:7]] == [r.hash for r in old]
    cps = db.session.execute(text("SELECT seq, hash FROM ledger_checkpoints WHERE seq > 0 ORDER BY seq")).all()
    assert cps == [(3, old[2].hash), (7, old[6].hash)]


def test_a_ledger_broken_before_the_migration_is_refused(old_app, backend, capfd):
    book_old_ledger(tamper_seq=5)
    with pytest.raises(SystemExit):  # flask-migrate logs the migration's error and exits 1
        upgrade()
    assert "ledger broken at seq 5" in capfd.readouterr().err
    db.session.remove()
    if backend == "postgresql":  # transactional DDL: nothing of 0004 was left behind
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0003"
