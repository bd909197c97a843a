"""staff workflow, surveys, timers, message links

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 11:19:56.029219
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('fixed', sa.String(length=8), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_surveys_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('ticket_id', 'round', name=op.f('uq_surveys_ticket_id'))
    )
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_surveys_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('timers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_timers_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timers')),
    sa.UniqueConstraint('ticket_id', 'kind', 'round', name=op.f('uq_timers_ticket_id'))
    )
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timers_due_at'), ['due_at'], unique=False)

    op.create_table('message_links',
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=True),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_message_links_survey_id_surveys')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_message_links_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('chat_id', 'message_id', name=op.f('pk_message_links'))
    )
    with op.batch_alter_table('message_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_links_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_chat_id'), ['chat_id'], unique=False)

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dialog', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))

    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=True))

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('site_visit_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('site_visit_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('findings', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('interviewed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('cause_category', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('follow_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('card_message_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.alter_column('resident_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_tickets_contact_phone'), ['contact_phone'], unique=False)

    # Notices of 0002 still waiting: "new_ticket" is now the ticket's card (edited in place).
    outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("payload", sa.JSON),
                      sa.column("state", sa.String))
    connection = op.get_bind()
    for row_id, payload in connection.execute(
            sa.select(outbox.c.id, outbox.c.payload).where(outbox.c.state == "pending")).all():
        if isinstance(payload, dict) and payload.get("kind") == "new_ticket":
            connection.execute(outbox.update().where(outbox.c.id == row_id)
                               .values(payload={**payload, "kind": "card"}))




def downgrade() -> None:
    
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_contact_phone'))
        batch_op.alter_column('resident_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('version')
        batch_op.drop_column('card_message_id')
        batch_op.drop_column('follow_up_at')
        batch_op.drop_column('cause_category')
        batch_op.drop_column('interviewed')
        batch_op.drop_column('findings')
        batch_op.drop_column('site_visit_by')
        batch_op.drop_column('site_visit_at')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')

    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_column('details')

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('created_at')
        batch_op.drop_column('dialog')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_chat_id'))
        batch_op.drop_column('sent_at')

    with op.batch_alter_table('message_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_links_ticket_id'))

    op.drop_table('message_links')
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timers_due_at'))

    op.drop_table('timers')
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_surveys_ticket_id'))

    op.drop_table('surveys')

