"""indexes for statistics and the export: tickets by creation time, by resolve-due time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 12:40:00
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_tickets_created_at'), 'tickets', ['created_at'], unique=False)
    op.create_index(op.f('ix_tickets_resolve_due_at'), 'tickets', ['resolve_due_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_tickets_resolve_due_at'), table_name='tickets')
    op.drop_index(op.f('ix_tickets_created_at'), table_name='tickets')
