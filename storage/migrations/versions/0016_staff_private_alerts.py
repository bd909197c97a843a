"""a manager's alerts in their private chat too: staff.alerts_in_private (/alerts private)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 14:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('staff', sa.Column('alerts_in_private', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place, as PostgreSQL does
    op.execute('ALTER TABLE staff DROP COLUMN alerts_in_private')
