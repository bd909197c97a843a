"""`python -m storage.migrate`: bring the database whose URL comes on standard input up to
date, then exit. `Database.upgrade(separate_process=True)` runs it, so that a long-running
bot never holds alembic and the migrations in its memory."""

from __future__ import annotations

import sys

from storage.db import upgrade

if __name__ == "__main__":
    upgrade(sys.stdin.read().strip())
