"""planned works: an incident an announcement opens has no lead until its first report, and
keeps its scope in words for the lead's card; the console's form key of an announcement (a
form sent twice announces once)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 19:10:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (a batch on incidents, not on tickets: SQLite rebuilds this table only, with foreign
    # keys off during migrations, and the tickets' search triggers are untouched)
    with op.batch_alter_table('incidents') as batch:
        batch.alter_column('lead_ticket_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('scope_text', sa.String(length=200), nullable=True))
    op.add_column('announcements', sa.Column('form_key', sa.String(length=32), nullable=True))
    op.create_index('ix_announcements_form_key', 'announcements', ['form_key'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_announcements_form_key', table_name='announcements')
    with op.batch_alter_table('announcements') as batch:
        batch.drop_column('form_key')
    # planned works nobody reported are forgotten (no ticket can be linked to one: its first
    # report leads it)
    op.execute('UPDATE announcements SET incident_id = NULL WHERE incident_id IN '
               '(SELECT id FROM incidents WHERE lead_ticket_id IS NULL)')
    op.execute('DELETE FROM incidents WHERE lead_ticket_id IS NULL')
    with op.batch_alter_table('incidents') as batch:
        batch.alter_column('lead_ticket_id', existing_type=sa.Integer(), nullable=False)
        batch.drop_column('scope_text')
