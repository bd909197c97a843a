"""console: server-side sessions and one-time sign-in links of the office console, the
language a staff member chose there, and the queue's indexes (by assignee, by urgency)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 18:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
    op.create_table(
        'console_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_console_sessions_staff_id', 'console_sessions', ['staff_id'])
    op.create_table(
        'console_sign_in_links',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_console_sign_in_links_staff_id', 'console_sign_in_links', ['staff_id'])
    op.create_index('ix_tickets_assignee', 'tickets', ['assignee_id', 'status', 'created_at'])
    op.create_index('ix_tickets_priority', 'tickets', ['priority', 'status', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_tickets_priority', table_name='tickets')
    op.drop_index('ix_tickets_assignee', table_name='tickets')
    op.drop_index('ix_console_sign_in_links_staff_id', table_name='console_sign_in_links')
    op.drop_table('console_sign_in_links')
    op.drop_index('ix_console_sessions_staff_id', table_name='console_sessions')
    op.drop_table('console_sessions')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('language')
