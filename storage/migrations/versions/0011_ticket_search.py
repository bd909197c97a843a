"""search: an index for the console's search of tickets (any part of the number, the
description, the complainant's name or phone), and tickets by resident with their status

SQLite: an FTS5 table of trigrams over those columns (`ticket_search`, external content: the
tickets table holds the text, the index only its trigrams), kept by triggers. PostgreSQL: a
GIN index of pg_trgm trigrams, when the server has the extension (PostgreSQL's contrib; a
trusted extension since 13, so the database's owner may create it); without it the search
still works, reading the whole table. Neither is in the models (storage/search.py says why).

A later migration that rebuilds the tickets table on SQLite (batch_alter_table) drops its
triggers: it must create them again (`TRIGGERS`); the console's search tests would fail.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COLUMNS = "number, description, contact_name, contact_phone"
_NEW = "new.id, new.number, new.description, new.contact_name, new.contact_phone"
_OLD = "'delete', old.id, old.number, old.description, old.contact_name, old.contact_phone"
TRIGGERS = (
    f"""CREATE TRIGGER ticket_search_insert AFTER INSERT ON tickets BEGIN
        INSERT INTO ticket_search (rowid, {COLUMNS}) VALUES ({_NEW}); END""",
    f"""CREATE TRIGGER ticket_search_delete AFTER DELETE ON tickets BEGIN
        INSERT INTO ticket_search (ticket_search, rowid, {COLUMNS}) VALUES ({_OLD}); END""",
    f"""CREATE TRIGGER ticket_search_update AFTER UPDATE OF {COLUMNS} ON tickets BEGIN
        INSERT INTO ticket_search (ticket_search, rowid, {COLUMNS}) VALUES ({_OLD});
        INSERT INTO ticket_search (rowid, {COLUMNS}) VALUES ({_NEW}); END""",
)


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_resident_id')
        batch_op.create_index('ix_tickets_resident', ['resident_id', 'status'], unique=False)
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        op.execute(f"""CREATE VIRTUAL TABLE ticket_search USING fts5({COLUMNS},
                       content='tickets', content_rowid='id', tokenize='trigram')""")
        for trigger in TRIGGERS:
            op.execute(trigger)
        op.execute("INSERT INTO ticket_search (ticket_search) VALUES ('rebuild')")
        return
    available = connection.execute(sa.text(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
    if available is None:
        return
    try:
        with connection.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:  # not the owner, nor allowed: search without the index
        return
    op.execute("""CREATE INDEX ix_tickets_search ON tickets USING gin (
        number gin_trgm_ops, description gin_trgm_ops, contact_name gin_trgm_ops,
        contact_phone gin_trgm_ops)""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS ticket_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS ticket_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_tickets_search")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_resident')
        batch_op.create_index('ix_tickets_resident_id', ['resident_id'], unique=False)
