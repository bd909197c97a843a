"""The search of tickets by any part of their number, description, complainant's name or
phone: the trigram index that answers it (migration 0011) and the pieces of SQL around it.

On SQLite the index is an FTS5 table of trigrams (`ticket_search`) beside the tickets table;
on PostgreSQL a pg_trgm GIN index. Neither is in the models: SQLAlchemy knows no virtual
tables, and an index that exists only where the server has pg_trgm cannot be declared.
Alembic's comparison of the models with the database leaves them out (`in_models`).

A trigram index finds text of three characters or more; shorter text is looked for row by
row (storage/queue.py decides). SQLite's own LIKE folds the case of ASCII letters only, while
the trigram index folds every script's: `holds` is the row-by-row check that folds alike, so
that a search finds the same tickets whichever way it is answered.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, column, func, table
from sqlalchemy.engine.interfaces import DBAPIConnection

TABLE = "ticket_search"
TRIGRAM = 3  # the shortest text the index can find
INDEXES = frozenset({"ix_tickets_search"})  # PostgreSQL's

ticket_search = table(TABLE, column("rowid"), column(TABLE))


def in_models(name: str | None, type_: str, _parents: Any = None) -> bool:
    """For Alembic's include_name: whether a table or index is the models' business."""
    if type_ == "table":
        return not (name or "").startswith(TABLE)  # the FTS table and its shadow tables
    return not (type_ == "index" and name in INDEXES)


def phrase(text: str) -> str:
    """`text` as one FTS5 phrase: found wherever it occurs, whatever it holds."""
    return '"' + text.replace('"', '""') + '"'


def fts_query(text: str, phone_digits: str | None) -> str:
    """The FTS5 query for `text` in the number, description or name, or `phone_digits` in
    the phone (as the row-by-row search of storage/queue.py reads them)."""
    query = "{number description contact_name} : " + phrase(text)
    return query + (f" OR contact_phone : {phrase(phone_digits)}" if phone_digits else "")


def matching(text: str, phone_digits: str | None) -> ColumnElement[bool]:
    return ticket_search.c[TABLE].match(fts_query(text, phone_digits))


def _holds(haystack: str | None, folded_needle: str | None) -> bool:
    return haystack is not None and folded_needle is not None and (
        folded_needle in haystack.lower())


def holds(column_: ColumnElement[Any] | Any, text: str) -> ColumnElement[bool]:
    """Whether the column holds `text`, case folded as the trigram index folds it (SQLite)."""
    return func.residesk_holds(column_, text.lower(), type_=Boolean)


def register(dbapi_connection: DBAPIConnection) -> None:
    """Give an SQLite connection the function that `holds` calls."""
    dbapi_connection.create_function(
        "residesk_holds", 2, _holds, deterministic=True)
