"""statistics speed: indexes led by the few-valued columns a period is counted by (status,
category, channel; unit; cause), then created_at, so that SQLite groups a period's tickets by
skipping through the index (skip-scan) instead of sorting them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

GROUPS = ['status', 'category_code', 'channel', 'created_at', 'acknowledged_at', 'ack_due_at',
          'resolved_at', 'resolve_due_at', 'rating', 'reopen_count', 'acknowledge_seconds',
          'resolve_seconds']


def upgrade() -> None:
    op.create_index('ix_tickets_period_groups', 'tickets', GROUPS, unique=False)
    op.create_index('ix_tickets_period_units', 'tickets', ['unit_id', 'created_at'],
                    unique=False)
    op.create_index('ix_tickets_period_causes', 'tickets', ['cause_category', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_period_causes', table_name='tickets')
    op.drop_index('ix_tickets_period_units', table_name='tickets')
    op.drop_index('ix_tickets_period_groups', table_name='tickets')
