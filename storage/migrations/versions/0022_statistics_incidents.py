"""statistics count an incident once: the indexes the period's groups and the charts read
from also hold `incident_id` (a report linked to an incident is left out of the office's
workload without a visit to the table); ix_tickets_incident_id holds the linked reports alone
(SQLite's planner took `incident_id IS NULL`, true of most tickets, for a lookup of a few rows
in it), and so do two new indexes: the linked reports of a period, and the late ones

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

PERIOD = ['created_at', 'status', 'category_code', 'channel', 'unit_id', 'acknowledged_at',
          'ack_due_at', 'resolved_at', 'resolve_due_at', 'rating', 'reopen_count',
          'cause_category', 'acknowledge_seconds', 'resolve_seconds']
GROUPS = ['status', 'category_code', 'channel', 'created_at', 'acknowledged_at', 'ack_due_at',
          'resolved_at', 'resolve_due_at', 'rating', 'reopen_count', 'acknowledge_seconds',
          'resolve_seconds']
# name -> its columns before this migration; each gains incident_id as its last column, so
# every query that used one still reads it the same way
EXTENDED = {'ix_tickets_period': PERIOD, 'ix_tickets_period_groups': GROUPS}
LINKED_PERIOD = ['created_at', 'rating', 'resolved_at', 'reopen_count', 'unit_id',
                 'cause_category', 'incident_id']
LINKED_OPEN_DUE = ['status', 'resolve_due_at', 'acknowledged_at', 'ack_due_at', 'incident_id']


def upgrade() -> None:
    # (indexes only: never a batch on tickets, whose search triggers it would drop)
    for name, columns in EXTENDED.items():
        op.drop_index(name, table_name='tickets')
        op.create_index(name, 'tickets', [*columns, 'incident_id'])
    linked = sa.text('incident_id IS NOT NULL')
    op.drop_index('ix_tickets_incident_id', table_name='tickets')
    op.create_index('ix_tickets_incident_id', 'tickets', ['incident_id'], sqlite_where=linked,
                    postgresql_where=linked)
    op.create_index('ix_tickets_linked_period', 'tickets', LINKED_PERIOD, sqlite_where=linked,
                    postgresql_where=linked)
    op.create_index('ix_tickets_linked_open_due', 'tickets', LINKED_OPEN_DUE,
                    sqlite_where=linked, postgresql_where=linked)


def downgrade() -> None:
    op.drop_index('ix_tickets_linked_open_due', table_name='tickets')
    op.drop_index('ix_tickets_linked_period', table_name='tickets')
    op.drop_index('ix_tickets_incident_id', table_name='tickets')
    op.create_index('ix_tickets_incident_id', 'tickets', ['incident_id'])
    for name, columns in EXTENDED.items():
        op.drop_index(name, table_name='tickets')
        op.create_index(name, 'tickets', columns)
