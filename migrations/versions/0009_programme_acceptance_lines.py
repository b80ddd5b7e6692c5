"""money: programme on grants, acceptance date as entered, claimed and paid subsidy

Revision ID: 0004_money
Revises: 0003
Create Date: 2026-11-23 17:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
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
    # Every posted (and queued) expense now draws on a budget line: bring existing books in line.
    # A 包干制 pool carries everything posted or queued on its grant, whatever the subject ...
    op.execute("""
        UPDATE budget_lines SET
          spent = (SELECT COALESCE(SUM(e.amount), 0) FROM expenses e
                   WHERE e.grant_id = budget_lines.grant_id AND e.status = 'posted'),
          reserved = (SELECT COALESCE(SUM(e.amount), 0) FROM expenses e
                      WHERE e.grant_id = budget_lines.grant_id AND e.status = 'pending')
        WHERE subject = 'lump_sum' AND grant_id IN (
          SELECT id FROM grants WHERE funding_mode = 'lump_sum' AND category <> 'post_subsidy')""")
    # ... and a budgeted grant gets a line with no money for a subject it spent under without one.
    op.execute("""
        INSERT INTO budget_lines (grant_id, subject, amount, adjusted, spent, reserved, note)
        SELECT e.grant_id, e.subject, 0, 0,
               SUM(CASE WHEN e.status = 'posted' THEN e.amount ELSE 0 END),
               SUM(CASE WHEN e.status = 'pending' THEN e.amount ELSE 0 END),
               'booked before every expense drew on a line (migration 0004)'
        FROM expenses e JOIN grants g ON g.id = e.grant_id
        WHERE g.funding_mode = 'budgeted' AND g.category <> 'post_subsidy'
          AND e.status IN ('posted', 'pending')
          AND e.subject IN ('equipment', 'operations', 'labour', 'indirect')
          AND NOT EXISTS (SELECT 1 FROM budget_lines b WHERE b.grant_id = e.grant_id AND b.subject = e.subject)
        GROUP BY e.grant_id, e.subject""")


def downgrade():
    with op.batch_alter_table('subsidy_assessments') as batch:
        batch.drop_constraint(op.f('ck_subsidy_assessments_paid_within_payable'), type_='check')
        batch.drop_constraint(op.f('ck_subsidy_assessments_claimed_non_negative'), type_='check')
        batch.drop_column('payment_explanation')
        batch.drop_column('paid_amount')
        batch.drop_column('claimed_amount')
    # plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35 too): a batch copy of `grants` would drop a table
    # that other tables' rows still reference
    op.drop_column('grant_transitions', 'effective_on')
    op.drop_column('grants', 'accepted_on')
    op.drop_column('grants', 'programme')
