"""evaluation submissions: the institution's self-assessment / report for an evaluation

Revision ID: 0004_web_eval
Revises: 0004_web
Create Date: 2026-11-23 17:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'evaluation_submissions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('evaluation_id', sa.Integer(), nullable=False),
        sa.Column('submitted_by', sa.Integer(), nullable=True),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], name=op.f('fk_evaluation_submissions_evaluation_id_evaluations')),
        sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], name=op.f('fk_evaluation_submissions_submitted_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_submissions')),
    )
    with op.batch_alter_table('evaluation_submissions') as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_submissions_evaluation_id'), ['evaluation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('evaluation_submissions') as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_submissions_evaluation_id'))
    op.drop_table('evaluation_submissions')
