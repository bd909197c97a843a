"""personal data (PIPL, GDPR): a resident's agreement to the privacy notice, their erasure and
their copy; an erased resident keeps no Telegram ids; evidence keeps the sha256 of what was
received beside that of the stored copy (location stripped); who opened whose personal data

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 02:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('residents') as batch:
        batch.alter_column('telegram_user_id', existing_type=sa.BigInteger(), nullable=True)
        batch.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=True)
        batch.add_column(sa.Column('privacy_version', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('privacy_agreed_at', sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('data_copy_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('attachments', sa.Column('received_sha256', sa.String(length=64),
                                           nullable=True))
    op.add_column('attachments', sa.Column('original_path', sa.String(length=512),
                                           nullable=True))
    op.create_table(
        'personal_data_views',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('what', sa.String(length=16), nullable=False),
        sa.Column('viewed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['resident_id'], ['residents.id']),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_personal_data_views_resident_id', 'personal_data_views',
                    ['resident_id'])


def downgrade() -> None:
    op.drop_index('ix_personal_data_views_resident_id', table_name='personal_data_views')
    op.drop_table('personal_data_views')
    op.execute('ALTER TABLE attachments DROP COLUMN original_path')
    op.execute('ALTER TABLE attachments DROP COLUMN received_sha256')
    # an erased resident's ids stay gone: ids no Telegram account has
    op.execute('UPDATE residents SET telegram_user_id = -id, chat_id = 0 '
               'WHERE telegram_user_id IS NULL')
    with op.batch_alter_table('residents') as batch:
        batch.drop_column('erased_at')
        batch.drop_column('data_copy_at')
        batch.drop_column('privacy_agreed_at')
        batch.drop_column('privacy_version')
        batch.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column('telegram_user_id', existing_type=sa.BigInteger(), nullable=False)
