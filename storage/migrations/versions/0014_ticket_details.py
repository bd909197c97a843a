"""per-category questions: ticket_details, a ticket's answers to its category's questions
(the question's code and the answer)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ticket_details',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('question', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_ticket_details_ticket_id', 'ticket_details', ['ticket_id'])


def downgrade() -> None:
    op.drop_index('ix_ticket_details_ticket_id', table_name='ticket_details')
    op.drop_table('ticket_details')
