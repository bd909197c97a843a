"""/profile: resident_changes, the audit trail of a resident's own changes to their name,
phone and unit

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'resident_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=16), nullable=False),
        sa.Column('old', sa.String(length=128), nullable=True),
        sa.Column('new', sa.String(length=128), nullable=True),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['resident_id'], ['residents.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_resident_changes_resident_id', 'resident_changes', ['resident_id'])


def downgrade() -> None:
    op.drop_index('ix_resident_changes_resident_id', table_name='resident_changes')
    op.drop_table('resident_changes')
