"""reports: R&D spend of state-owned enterprises, municipal S&T budget by year, job runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rd_spend_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('rd_spend', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rd_spend >= 0', name=op.f('ck_rd_spend_reports_rd_spend_non_negative')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_rd_spend_reports_institution_id_institutions')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_rd_spend_reports_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rd_spend_reports')),
    sa.UniqueConstraint('institution_id', 'year', name=op.f('uq_rd_spend_reports_institution_id_year'))
    )
    with op.batch_alter_table('rd_spend_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rd_spend_reports_institution_id'), ['institution_id'], unique=False)

    op.create_table('st_budget_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_st_budget_years_amount_non_negative')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_st_budget_years_recorded_by_users')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_st_budget_years'))
    )

    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_job'), ['job'], unique=False)


def downgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_job'))
    op.drop_table('job_runs')
    op.drop_table('st_budget_years')
    with op.batch_alter_table('rd_spend_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rd_spend_reports_institution_id'))
    op.drop_table('rd_spend_reports')
