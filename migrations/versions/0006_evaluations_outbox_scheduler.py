"""sched: evaluation states and holds, reminder stages, mail outbox, scheduler job store and lease,
job-run periods, audit exports

Revision ID: 0004_sched
Revises: 0003
Create Date: 2026-11-23 16:50:00

Existing evaluations keep their results; ``scheduled`` becomes ``due`` (the job marks the ones past their
date ``overdue`` on its next run). ``users.email`` already exists (0001).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submitted_on', sa.Date(), nullable=True))
    op.execute("UPDATE evaluations SET status = 'due' WHERE status = 'scheduled'")

    with op.batch_alter_table('evaluation_reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_evaluation_reminders_evaluation_id_stage'),
                                          ['evaluation_id', 'stage'])

    op.create_table('evaluation_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('consequence_id', sa.String(length=64), nullable=False),
    sa.Column('effect', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=32), nullable=False),
    sa.Column('reason_zh', sa.Text(), nullable=False),
    sa.Column('reason_en', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('policy_hash', sa.String(length=64), nullable=False),
    sa.Column('imposed_on', sa.Date(), nullable=False),
    sa.Column('lifted_on', sa.Date(), nullable=True),
    sa.Column('lifted_by_evaluation_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], name=op.f('fk_evaluation_holds_evaluation_id_evaluations')),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_evaluation_holds_grant_id_grants')),
    sa.ForeignKeyConstraint(['lifted_by_evaluation_id'], ['evaluations.id'], name=op.f('fk_evaluation_holds_lifted_by_evaluation_id_evaluations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_holds')),
    sa.UniqueConstraint('evaluation_id', 'consequence_id', name=op.f('uq_evaluation_holds_evaluation_id_consequence_id'))
    )
    with op.batch_alter_table('evaluation_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_holds_evaluation_id'), ['evaluation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_holds_grant_id'), ['grant_id'], unique=False)

    op.create_table('mail_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_mail_outbox_dedupe_key'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_outbox_status'), ['status'], unique=False)

    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('trigger', sa.String(length=16), nullable=False, server_default='scheduled'))
        batch_op.add_column(sa.Column('runner', sa.String(length=128), nullable=False, server_default=''))

    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )

    op.create_table('audit_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('fmt', sa.String(length=16), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('seq_to', sa.Integer(), nullable=False),
    sa.Column('manifest', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_exports')),
    sa.UniqueConstraint('period', 'fmt', name=op.f('uq_audit_exports_period_fmt'))
    )

    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apscheduler_jobs'))
    )
    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apscheduler_jobs_next_run_time'), ['next_run_time'], unique=False)


def downgrade():
    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apscheduler_jobs_next_run_time'))
    op.drop_table('apscheduler_jobs')
    op.drop_table('audit_exports')
    op.drop_table('scheduler_leases')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_column('runner')
        batch_op.drop_column('trigger')
        batch_op.drop_column('period')
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_outbox_status'))
    op.drop_table('mail_outbox')
    with op.batch_alter_table('evaluation_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_holds_grant_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_holds_evaluation_id'))
    op.drop_table('evaluation_holds')
    with op.batch_alter_table('evaluation_reminders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_evaluation_reminders_evaluation_id_stage'), type_='unique')
        batch_op.drop_column('stage')
    op.execute("UPDATE evaluations SET status = 'scheduled' WHERE status IN ('due', 'overdue', 'submitted')")
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_column('submitted_on')
