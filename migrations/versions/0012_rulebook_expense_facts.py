"""expenses: the facts of the rulebook (travel, meetings, procurement, labour, partners, expert-fee basis)

Revision ID: 0004_rulebook
Revises: 0005
Create Date: 2026-11-23 17:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COLUMNS = (
    ('trip_city', sa.String(length=32)),
    ('traveller_rank', sa.String(length=16)),
    ('nights', sa.Integer()),
    ('travel_days', sa.Integer()),
    ('hotel_invoice', sa.Boolean()),
    ('lodging_amount', sa.Numeric(18, 2)),
    ('fare_amount', sa.Numeric(18, 2)),
    ('meals_provided_days', sa.Integer()),
    ('meeting_class', sa.String(length=16)),
    ('attendees', sa.Integer()),
    ('meeting_staff', sa.Integer()),
    ('meeting_days', sa.Integer()),
    ('procurement_method', sa.String(length=32)),
    ('procurement_record_no', sa.String(length=64)),
    ('partner_in_task_book', sa.Boolean()),
    ('partner_share', sa.Numeric(18, 2)),
    ('fee_basis', sa.String(length=8)),
    ('pay_months', sa.Integer()),
)


def upgrade():
    with op.batch_alter_table('expenses') as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.create_index('ix_expenses_grant_payee', ['grant_id', 'payee_name'])


def downgrade():
    with op.batch_alter_table('expenses') as batch_op:
        batch_op.drop_index('ix_expenses_grant_payee')
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
