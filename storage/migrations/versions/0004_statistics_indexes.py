"""statistics and export: seconds to acknowledge / resolve kept on the ticket, a covering index
for a period's tickets, an index for the overdue list

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 12:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PERIOD = ['created_at', 'status', 'category_code', 'channel', 'unit_id', 'acknowledged_at',
          'ack_due_at', 'resolved_at', 'resolve_due_at', 'rating', 'reopen_count',
          'cause_category', 'acknowledge_seconds', 'resolve_seconds']


def seconds(dialect: str, since: str, until: str) -> str:
    if dialect == 'postgresql':
        return f"CAST(ROUND(EXTRACT(EPOCH FROM {until} - {since})) AS INTEGER)"
    return f"CAST(ROUND((julianday({until}) - julianday({since})) * 86400) AS INTEGER)"


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('acknowledge_seconds', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('resolve_seconds', sa.Integer(), nullable=True))
    dialect = op.get_bind().dialect.name
    op.execute(f"UPDATE tickets SET acknowledge_seconds = "
               f"{seconds(dialect, 'created_at', 'acknowledged_at')} "
               f"WHERE acknowledged_at IS NOT NULL")
    op.execute(f"UPDATE tickets SET resolve_seconds = "
               f"{seconds(dialect, 'created_at', 'resolved_at')} WHERE resolved_at IS NOT NULL")
    op.create_index('ix_tickets_period', 'tickets', PERIOD, unique=False)
    op.create_index('ix_tickets_open_due', 'tickets',
                    ['status', 'resolve_due_at', 'acknowledged_at', 'ack_due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_open_due', table_name='tickets')
    op.drop_index('ix_tickets_period', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('resolve_seconds')
        batch.drop_column('acknowledge_seconds')
