"""fair deadlines: tickets.resolve_paused_at, when the resolve clock stopped because the
office waits for the resident (NULL: it runs)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 11:50:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: recreating the table would drop the search index's triggers
    op.add_column('tickets', sa.Column('resolve_paused_at', sa.DateTime(timezone=True),
                                       nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (keeping the triggers), as PostgreSQL does
    op.execute('ALTER TABLE tickets DROP COLUMN resolve_paused_at')
