"""incidents (one outage, many linked reports), announcements to the residents of a scope and
their deliveries, residents' mute of announcements

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 03:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'incidents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lead_ticket_id', sa.Integer(), nullable=False),
        sa.Column('category_code', sa.String(length=32), nullable=False),
        sa.Column('scope', sa.JSON(), nullable=False),
        sa.Column('opened_by_id', sa.Integer(), nullable=True),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['lead_ticket_id'], ['tickets.id']),
        sa.ForeignKeyConstraint(['opened_by_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('lead_ticket_id'),
    )
    # never a batch on tickets: on SQLite it recreates the table, and the search index's
    # triggers (migration 0011) would go with it
    if op.get_bind().dialect.name == "sqlite":  # (ADD COLUMN takes the reference inline)
        op.execute('ALTER TABLE tickets ADD COLUMN incident_id INTEGER CONSTRAINT '
                   'fk_tickets_incident_id_incidents REFERENCES incidents (id)')
    else:
        op.add_column('tickets', sa.Column('incident_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_tickets_incident_id_incidents', 'tickets', 'incidents',
                              ['incident_id'], ['id'])
    op.create_index('ix_tickets_incident_id', 'tickets', ['incident_id'])
    op.add_column('residents', sa.Column('announcements_muted', sa.Boolean(), nullable=False,
                                         server_default=sa.false()))
    op.create_table(
        'announcements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('scope', sa.JSON(), nullable=False),
        sa.Column('texts', sa.JSON(), nullable=False),
        sa.Column('photo_path', sa.String(length=512), nullable=True),
        sa.Column('photo_file_id', sa.String(length=256), nullable=True),
        sa.Column('send_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_announcements_send_at', 'announcements', ['send_at'])
    op.create_table(
        'announcement_deliveries',
        sa.Column('announcement_id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('outbox_id', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id']),
        sa.ForeignKeyConstraint(['resident_id'], ['residents.id']),
        sa.PrimaryKeyConstraint('announcement_id', 'resident_id'),
    )


def downgrade() -> None:
    op.drop_table('announcement_deliveries')
    op.drop_index('ix_announcements_send_at', table_name='announcements')
    op.drop_table('announcements')
    op.execute('ALTER TABLE residents DROP COLUMN announcements_muted')
    op.drop_index('ix_tickets_incident_id', table_name='tickets')
    if op.get_bind().dialect.name == "sqlite":
        # a column with a reference cannot be dropped in place: the table is rebuilt by hand
        # around its search triggers (so that they are not lost)
        triggers = [row[0] for row in op.get_bind().execute(sa.text(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tickets'"))]
        with op.batch_alter_table('tickets') as batch:
            batch.drop_column('incident_id')
        for trigger in triggers:
            op.execute(trigger)
    else:
        op.drop_constraint('fk_tickets_incident_id_incidents', 'tickets', type_='foreignkey')
        op.drop_column('tickets', 'incident_id')
    op.drop_table('incidents')
