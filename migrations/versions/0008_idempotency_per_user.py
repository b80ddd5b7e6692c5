"""Idempotency-Key scoped per user, with the SHA-256 fingerprint of the request it answered

Revision ID: 0004_serve_idempotency_scope
Revises: 0004_serve_session_version
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("expenses") as batch:
        batch.add_column(sa.Column("idempotency_fingerprint", sa.String(length=64), nullable=True))
        batch.drop_constraint("uq_expenses_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_expenses_submitted_by_idempotency_key", ["submitted_by", "idempotency_key"])


def downgrade():
    with op.batch_alter_table("expenses") as batch:
        batch.drop_constraint("uq_expenses_submitted_by_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_expenses_idempotency_key", ["idempotency_key"])
        batch.drop_column("idempotency_fingerprint")
