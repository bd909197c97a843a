"""The Mermaid diagrams, generated from the code: each flow's from its transition table, the
ticket lifecycle's from `tickets.lifecycle.RULES`.

`python -m conversations.diagrams` (or `./dev diagrams`) rewrites the ```mermaid block of each
page; the prose around it is kept. `tests/test_project.py` fails when a page's diagram differs
from the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from conversations import forget, mytickets, profile, registration, report, survey
from conversations.flow import Flow
from tickets import lifecycle

BLOCK = re.compile(r"```mermaid\n.*?```", re.S)


def _page(module: object) -> Path:
    return Path(getattr(module, "__file__", "") or "").with_suffix(".md")


FLOWS: dict[Path, Flow] = {_page(module): module.TABLE
                           for module in (registration, report, mytickets, survey, profile,
                                          forget)}
PAGES: dict[Path, Callable[[], str]] = {
    **{page: flow.mermaid for page, flow in FLOWS.items()},
    _page(lifecycle): lifecycle.mermaid,
}


def block(draw: Callable[[], str]) -> str:
    return f"```mermaid\n{draw()}\n```"


def written(page: Path) -> str:
    """The diagram block the page holds now."""
    found = BLOCK.search(page.read_text(encoding="utf-8"))
    return found.group(0) if found else ""


def rewrite(page: Path, draw: Callable[[], str]) -> bool:
    text = page.read_text(encoding="utf-8")
    new = BLOCK.sub(lambda _match: block(draw), text, count=1)
    page.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    for path, drawing in PAGES.items():
        print(("rewrote " if rewrite(path, drawing) else "unchanged ") + path.name)
