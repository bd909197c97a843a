"""Alembic environment: runs migrations over the async engine the app uses."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage import search
from storage.db import make_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=search.in_models,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # replicas starting together: one migrates, the others wait and find it done
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7365647261746531)")
        context.run_migrations()
        if connection.dialect.name == "sqlite":  # ran without foreign keys: check them now
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")


async def run_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", foreign_keys=False)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_online())
