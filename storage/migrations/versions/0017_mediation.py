"""neighbour mediation: categories.dispute (neighbour and noise by default) and
ticket_parties, a dispute's other party (unit, resident, how reached, the agreement)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 14:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('categories', sa.Column('dispute', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    op.execute("UPDATE categories SET dispute = TRUE WHERE code IN ('neighbour', 'noise')")
    op.create_table(
        'ticket_parties',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('unit_text', sa.String(length=64), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('method', sa.String(length=8), nullable=False),
        sa.Column('agreement', sa.Text(), nullable=True),
        sa.Column('agreed_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id']),
        sa.ForeignKeyConstraint(['resident_id'], ['residents.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id'),
    )


def downgrade() -> None:
    op.drop_table('ticket_parties')
    op.execute('ALTER TABLE categories DROP COLUMN dispute')
