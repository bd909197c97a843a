"""`residesk run` starts light (issue 18, P5): what only some moments need is imported when
they come — matplotlib for a chart, openpyxl for an export, Pillow for a picture, alembic for
a migration (run in a child process). Each check runs in a fresh interpreter, since this one
has imported everything already. The memory and time themselves: `./dev bench footprint`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database, MigrationFailed, alembic_head, head_revision

ROOT = Path(__file__).resolve().parent.parent
# Imported only when used: each costs megabytes (matplotlib with numpy ~60 MB)
HEAVY = ("matplotlib", "numpy", "openpyxl", "PIL", "alembic", "mako", "pygments")


def fresh_python(code: str, cwd: Path) -> dict[str, object]:
    """Run `code` in a new interpreter; it prints one JSON value, returned here."""
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                            text=True, timeout=120, check=False,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(value, dict)
    return value


@pytest.mark.parametrize("transport", ["aiogram", "ptb"])
def test_what_residesk_run_imports_leaves_the_heavy_libraries_out(transport: str,
                                                                  tmp_path: Path) -> None:
    loaded = fresh_python(
        "import json, sys\n"
        "import bot.cli, bot.app\n"
        f"import bot.telegram.{transport}_transport\n"
        "print(json.dumps({'heavy': sorted({m.split('.')[0] for m in sys.modules}"
        f" & set({HEAVY!r})), 'framework': {transport!r} in sys.modules"
        " or 'telegram' in sys.modules}))", tmp_path)
    assert loaded == {"heavy": [], "framework": True}


def test_a_new_database_is_migrated_in_a_child_process(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    code = (
        "import asyncio, json, sys\n"
        "from sqlalchemy import text\n"
        "from storage.db import Database\n"
        "async def main():\n"
        f"    db = Database({url!r})\n"
        "    current = await db.schema_is_current()\n"
        "    await db.upgrade(separate_process=True)\n"
        "    async with db.reading() as session:\n"
        "        version = await session.scalar(text('SELECT version_num FROM alembic_version'))\n"
        "    again = await db.schema_is_current()\n"
        "    await db.upgrade(separate_process=True)  # nothing to do: no child\n"
        "    await db.dispose()\n"
        "    return {'before': current, 'version': version, 'after': again,\n"
        "            'alembic': 'alembic' in sys.modules}\n"
        "print(json.dumps(asyncio.run(main())))")
    assert fresh_python(code, tmp_path) == {
        "before": False, "version": head_revision(), "after": True, "alembic": False}


def test_the_newest_migration_is_read_as_alembic_reads_it() -> None:
    assert head_revision() == alembic_head()


async def test_a_failed_migration_in_the_child_says_why(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'odd.db'}")
    try:
        async with db.transaction() as session:  # a revision this code does not know
            await session.execute(text("CREATE TABLE alembic_version (version_num TEXT)"))
            await session.execute(text("INSERT INTO alembic_version VALUES ('9999')"))
        with pytest.raises(MigrationFailed, match="9999"):
            await db.upgrade(separate_process=True)
    finally:
        await db.dispose()
