"""phones as E.164: residents' and complaints' phone numbers stored as tickets.policy now
reads them (+8613800138000), so that 13800138000 and +86 138 0013 8000 are one person

A number without a country code is read in PHONE_REGION (default CN), as the bot reads it; a
value that is no valid number is left as it was. Downgrading keeps the E.164 form (it was
always accepted).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:30:00
"""
import os

import phonenumbers
import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _e164(value: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def upgrade() -> None:
    region = os.environ.get("PHONE_REGION", "CN").strip().upper() or "CN"
    connection = op.get_bind()
    for table, column in (("residents", "phone"), ("tickets", "contact_phone")):
        rows = connection.execute(sa.text(
            f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
        for row_id, phone in rows:
            found = _e164(phone, region)
            if found is not None and found != phone:
                connection.execute(sa.text(
                    f"UPDATE {table} SET {column} = :phone WHERE id = :id"),
                    {"phone": found, "id": row_id})


def downgrade() -> None:
    pass
