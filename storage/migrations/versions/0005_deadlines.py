"""deadlines: the SLA policy moves to the SLA file (categories lose their hours); repeat
complaints are linked to the earlier ticket; weekly reports are queued once

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('weekly_reports',
    sa.Column('report_day', sa.Date(), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('report_day', name=op.f('pk_weekly_reports'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('ack_hours')
        batch_op.drop_column('resolve_hours')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeat_of_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tickets_repeat_of_id_tickets'), 'tickets',
                                    ['repeat_of_id'], ['id'])
        batch_op.create_index('ix_tickets_repeat', ['unit_text', 'category_code', 'created_at'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('weekly_reports')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_repeat')
        batch_op.drop_constraint(batch_op.f('fk_tickets_repeat_of_id_tickets'),
                                 type_='foreignkey')
        batch_op.drop_column('repeat_of_id')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolve_hours', sa.Integer(), nullable=False,
                                      server_default='72'))
        batch_op.add_column(sa.Column('ack_hours', sa.Integer(), nullable=False,
                                      server_default='4'))
