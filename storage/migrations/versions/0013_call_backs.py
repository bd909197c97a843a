"""the call-back (回访): call_backs, one per closing of a ticket — asked when, answered when,
and the outcome (held | recurred | unanswered)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'call_backs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id', 'round'),
    )
    op.create_index('ix_call_backs_ticket_id', 'call_backs', ['ticket_id'])


def downgrade() -> None:
    op.drop_index('ix_call_backs_ticket_id', table_name='call_backs')
    op.drop_table('call_backs')
