"""The least-privilege database role the application should run as on PostgreSQL.

The migrations run as the tables' owner; the application connects as this role, which may read and
write the ordinary tables but only ``SELECT`` and ``INSERT`` the ledger's (entries, checkpoints and
their heads). Not being the owner, it can neither ``TRUNCATE`` nor ``ALTER TABLE … DISABLE TRIGGER``,
so even a compromised application cannot rewrite the books; the append-only triggers stop the owner's
own mistakes. Run ``grants create-app-role`` again after every migration that adds tables (privileges
are granted on the tables that exist).
"""
from __future__ import annotations

import re

LEDGER_TABLES = ("ledger_entries", "ledger_checkpoints", "ledger_checkpoint_heads")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def app_role_sql(role: str, database: str, password: str | None = None) -> list[str]:
    """The statements that create (or update) the role and set its privileges, in order."""
    if not _NAME.match(role) or not _NAME.match(database.lower()):
        raise ValueError("role and database names: lower-case letters, digits and _ only")
    login = "LOGIN" + (" PASSWORD '" + password.replace("'", "''") + "'" if password else "")
    ledger = ", ".join(LEDGER_TABLES)
    return [
        f"""DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role} {login};
              ELSE ALTER ROLE {role} {login}; END IF;
            END $$""",
        f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {ledger} FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]


def create_app_role(conn, role: str, password: str | None = None) -> list[str]:
    """Run ``app_role_sql`` on a connection of the owner (PostgreSQL only); returns what it ran."""
    if conn.dialect.name != "postgresql":
        raise ValueError("an application role is a PostgreSQL matter (SQLite has no roles)")
    statements = app_role_sql(role, conn.exec_driver_sql("SELECT current_database()").scalar_one(), password)
    for stmt in statements:
        conn.exec_driver_sql(stmt)
    return statements
