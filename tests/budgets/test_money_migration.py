"""Migration 0004 brings books kept before "every expense draws on a line" in line (a fresh SQLite file:
the shared test databases are already at head)."""
from decimal import Decimal

from sqlalchemy import text


def test_0004_moves_old_lump_sum_spending_onto_the_pool_and_opens_lines_for_unbudgeted_subjects(tmp_path):
    from flask_migrate import upgrade

    from grants.app import create_app
    from grants.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}", "TESTING": True,
                      "SECRET_KEY": "t"})
    with app.app_context():
        upgrade(revision="0003")
        now = "2025-01-01 00:00:00"
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO institutions (id, name, kind, region, created_at) "
                           "VALUES (1, 'i', 'university', 'r', :t)"), {"t": now})
            c.execute(text("INSERT INTO researchers (id, institution_id, name, birth_date, salaried) "
                           "VALUES (1, 1, 'pi', '1980-01-01', 1)"))
            for gid, mode in ((1, "lump_sum"), (2, "budgeted")):
                c.execute(text(
                    "INSERT INTO grants (id, code, title, institution_id, pi_id, category, funding_mode, management_mode, "
                    "fiscal_amount, self_raised_amount, start_date, end_date, status, fund_source, pure_theory, created_at) "
                    "VALUES (:id, :code, 't', 1, 1, 'competitive', :mode, 'standard', 1000, 0, '2025-01-01', "
                    "'2027-12-31', 'active', 'municipal', 0, :t)"), {"id": gid, "code": f"G{gid}", "mode": mode, "t": now})
            c.execute(text("INSERT INTO budget_lines (grant_id, subject, amount, adjusted, spent, reserved, note) VALUES "
                           "(1, 'lump_sum', 1000, 0, 0, 0, ''), (2, 'operations', 1000, 0, 100, 0, '')"))
            rows = [(1, "operations", 300, "posted"), (1, "equipment", 200, "posted"), (1, "labour", 50, "pending"),
                    (1, "operations", 999, "rejected"), (2, "operations", 100, "posted"), (2, "labour", 70, "posted"),
                    (2, "labour", 5, "pending")]
            for gid, subject, amount, status in rows:
                c.execute(text(
                    "INSERT INTO expenses (grant_id, institution_id, expense_date, amount, subject, description, verdict, "
                    "findings, status, decision_reason, submitted_at) VALUES (:g, 1, '2025-06-01', :a, :s, '', 'allow', "
                    "'[]', :st, '', :t)"), {"g": gid, "a": amount, "s": subject, "st": status, "t": now})
        upgrade()
        with db.engine.connect() as c:
            lines = {(g, s): (Decimal(str(a)), Decimal(str(sp)), Decimal(str(r))) for g, s, a, sp, r in c.execute(text(
                "SELECT grant_id, subject, amount, spent, reserved FROM budget_lines"))}
        db.engine.dispose()
    assert lines[(1, "lump_sum")] == (1000, 500, 50)
    assert lines[(2, "operations")] == (1000, 100, 0)
    assert lines[(2, "labour")] == (0, 70, 5)
    assert len(lines) == 3
