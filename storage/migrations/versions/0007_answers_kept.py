"""answers kept: each chat's state row keeps what the bot answered to its last update, written
in the update's transaction, so a redelivery after a crash sends the answer again

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversation_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_answer', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversation_states', schema=None) as batch_op:
        batch_op.drop_column('last_answer')
