"""users: display name (the e-mail column exists since 0001)

Revision ID: 0004_web
Revises: 0003
Create Date: 2026-11-23 16:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('display_name')
