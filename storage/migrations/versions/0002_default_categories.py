"""default complaint categories

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# code, hours to acknowledge, hours to resolve (the office edits these in the table)
DEFAULTS = [
    ("noise", 4, 48),
    ("facility", 4, 72),
    ("water", 2, 24),
    ("electricity", 2, 24),
    ("sanitation", 4, 48),
    ("security", 1, 24),
    ("parking", 4, 72),
    ("neighbour", 8, 120),
    ("service", 8, 120),
    ("other", 8, 120),
]


def upgrade() -> None:
    categories = sa.table(
        "categories",
        sa.column("code", sa.String),
        sa.column("titles", sa.JSON),
        sa.column("sort_order", sa.Integer),
        sa.column("active", sa.Boolean),
        sa.column("ack_hours", sa.Integer),
        sa.column("resolve_hours", sa.Integer),
    )
    op.bulk_insert(
        categories,
        [
            {"code": code, "titles": {}, "sort_order": i, "active": True,
             "ack_hours": ack, "resolve_hours": resolve}
            for i, (code, ack, resolve) in enumerate(DEFAULTS)
        ],
    )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM categories WHERE code IN :codes").bindparams(
            sa.bindparam("codes", [c for c, _, _ in DEFAULTS], expanding=True)
        )
    )
