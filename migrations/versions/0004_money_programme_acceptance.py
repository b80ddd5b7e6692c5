"""money: programme on grants, acceptance date as entered, claimed and paid subsidy

Revision ID: 0004_money
Revises: 0003
Create Date: 2026-11-23 17:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_money'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('grants') as batch:
        batch.add_column(sa.Column('programme', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('accepted_on', sa.Date(), nullable=True))
    with op.batch_alter_table('grant_transitions') as batch:
        batch.add_column(sa.Column('effective_on', sa.Date(), nullable=True))
    with op.batch_alter_table('subsidy_assessments') as batch:
        batch.add_column(sa.Column('claimed_amount', sa.Numeric(precision=18, scale=2), nullable=True))
        batch.add_column(sa.Column('paid_amount', sa.Numeric(precision=18, scale=2), nullable=True))
        batch.add_column(sa.Column('payment_explanation', sa.JSON(), nullable=True))
        batch.create_check_constraint(op.f('ck_subsidy_assessments_claimed_non_negative'), 'claimed_amount IS NULL OR claimed_amount >= 0')
        batch.create_check_constraint(op.f('ck_subsidy_assessments_paid_within_payable'), 'paid_amount IS NULL OR (paid_amount >= 0 AND paid_amount <= payable)')


def downgrade():
    with op.batch_alter_table('subsidy_assessments') as batch:
        batch.drop_constraint(op.f('ck_subsidy_assessments_paid_within_payable'), type_='check')
        batch.drop_constraint(op.f('ck_subsidy_assessments_claimed_non_negative'), type_='check')
        batch.drop_column('payment_explanation')
        batch.drop_column('paid_amount')
        batch.drop_column('claimed_amount')
    with op.batch_alter_table('grant_transitions') as batch:
        batch.drop_column('effective_on')
    with op.batch_alter_table('grants') as batch:
        batch.drop_column('accepted_on')
        batch.drop_column('programme')
