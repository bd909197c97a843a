"""Project-wide checks: catalogs complete, diagrams true, settings explained, layers kept."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.settings import ConfigError, OfficeSettings, TelegramSettings, load
from conversations import diagrams, staffdesk
from conversations.flow import ANY_STEP, EXIT
from locales import LOCALES_DIR, SUPPORTED
from tickets import lifecycle
from tickets.lifecycle import FINAL, RULES, Action, Status, after_waiting

ROOT = Path(__file__).parent.parent


def source_messages() -> set[str]:
    """Every message the code and the console's templates use, found as `./dev i18n` finds
    them (babel.cfg's mapping)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords={"_": None, "N_": None, "ngettext": (1, 2)}
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("lang", SUPPORTED)
def test_catalog_is_complete(lang: str) -> None:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file, locale=lang)
    missing = source_messages() - {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog}
    assert not missing, f"run ./dev i18n and translate: {sorted(missing)[:5]}"
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{lang}: untranslated {message.id!r}"
        assert "fuzzy" not in message.flags, f"{lang}: fuzzy {message.id!r}"
        source = str(message.id[0] if isinstance(message.id, tuple) else message.id)
        wanted = set(re.findall(r"%\(\w+\)[sd]", source))
        for string in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", str(string))) == wanted, (lang, source)


@pytest.mark.parametrize("lang", SUPPORTED)
def test_compiled_catalog_matches_the_po_file(lang: str) -> None:
    po = LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime - 1, "run pybabel compile"


@pytest.mark.parametrize("page", sorted(diagrams.PAGES), ids=lambda page: page.stem)
def test_each_diagram_is_drawn_from_the_code(page: Path) -> None:
    assert diagrams.written(page) == diagrams.block(diagrams.PAGES[page]), (
        f"{page.name} differs from the code: run ./dev diagrams")


EDGE = re.compile(r"^\s*(\w+|\[\*\])\s*-->\s*(\w+|\[\*\])", re.M)


def drawn_edges(text: str) -> set[tuple[str, str]]:
    return set(EDGE.findall(text))


@pytest.mark.parametrize("page", sorted(diagrams.FLOWS), ids=lambda page: page.stem)
def test_each_flow_diagram_draws_the_edges_of_its_table(page: Path) -> None:
    """The page's diagram has exactly the table's edges (a handler that takes another edge is
    logged as an error by `Flow.handle`, and the tests fail on it), and every step."""
    flow = diagrams.FLOWS[page]

    def node(step: str) -> str:
        return "any_step" if step == ANY_STEP else step

    table = {(node(step), node(target)) for (step, _arrival), transition
             in flow.transitions.items() for target in transition.to}
    table |= {("[*]", step) for step in flow.starts} | {("any_step", EXIT)}
    drawn = drawn_edges(diagrams.written(page))
    assert drawn == table, (drawn ^ table)
    assert {s for pair in drawn for s in pair} - {"[*]", "any_step"} == set(flow.steps)


def test_the_lifecycle_diagram_draws_every_rule() -> None:
    rules = {(str(source), str(rule.target)) for rule in RULES.values()
             if rule.target is not None for source in rule.sources}
    rules |= {(Status.WAITING_FOR_RESIDENT.value, str(after_waiting(s)))
              for s in RULES[Action.REQUEST_INFO].sources}
    rules |= {("[*]", Status.NEW.value)} | {(str(s), "[*]") for s in FINAL}
    drawn = drawn_edges(diagrams.written(Path(lifecycle.__file__).with_suffix(".md")))
    assert drawn == rules, (drawn ^ rules)


def test_the_staff_desk_diagram_names_its_steps() -> None:
    diagram = Path(staffdesk.__file__).with_suffix(".md").read_text(encoding="utf-8")
    assert drawn_edges(diagram) == {("[*]", "asking"), ("asking", "asking"), ("asking", "[*]")}
    assert {s for pair in drawn_edges(diagram) for s in pair} - {"[*]"} == set(staffdesk.STEPS)


def test_framework_imports_stay_in_bot() -> None:
    for folder in ("conversations", "tickets", "storage", "locales"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for name in names:
                    root = name.split(".")[0]
                    assert root not in {"aiogram", "telegram", "aiohttp", "bot"}, (path, name)
    # the HTTP face reaches Telegram only through the desk, never through a framework
    for path in (ROOT / "web").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & {"aiogram", "telegram"}, path


def _imported(path: Path) -> set[str]:
    """The top-level packages and modules a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


# the queue's SQL reads which statuses are open from the lifecycle: the one import upwards,
# known (issue 13: pass the sets in from the console)
KNOWN_UPWARDS = {("queue.py", "tickets.lifecycle")}


def test_storage_imports_nothing_above_it() -> None:
    """Imports point down: the SQL knows the models, never the domain or the shell."""
    for path in (ROOT / "storage").rglob("*.py"):
        above = {name for name in _imported(path)
                 if name.split(".")[0] in {"tickets", "conversations", "web", "bot"}
                 and (path.name, name) not in KNOWN_UPWARDS}
        assert not above, (path, above)


def test_test_modules_share_helpers_not_each_other() -> None:
    """What several test modules use lives in a helper module of tests/ (chats, office…)."""
    for path in (ROOT / "tests").glob("test_*.py"):
        assert not {n for n in _imported(path) if n.startswith("tests.test_")}, path


def test_missing_token_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.chdir(ROOT / "tests")  # no .env here
    with pytest.raises(ConfigError, match=r"^BOT_TOKEN is not set"):
        load(TelegramSettings)


def test_malformed_settings_are_named_without_echoing_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "not-a-token-secret")
    with pytest.raises(ConfigError) as error:
        load(TelegramSettings)
    assert "BOT_TOKEN is malformed" in str(error.value) and "secret" not in str(error.value)
    monkeypatch.setenv("BOT_TOKEN", "123456:ABCDEFGHIJKLMNOP")
    telegram = load(TelegramSettings)  # printed or logged, the settings hide the token
    assert "ABCDEFGHIJKLMNOP" not in f"{telegram!r} {telegram} {telegram.bot_token}"
    assert telegram.bot_token.get_secret_value() == "123456:ABCDEFGHIJKLMNOP"
    monkeypatch.setenv("TELEGRAM_API_URL", "ftp://nowhere")
    with pytest.raises(ConfigError, match=r"^TELEGRAM_API_URL is invalid"):
        load(TelegramSettings)
    monkeypatch.setenv("DEFAULT_LANGUAGE", "fr")
    with pytest.raises(ConfigError, match=r"^DEFAULT_LANGUAGE is invalid"):
        load(OfficeSettings)
    monkeypatch.setenv("DEFAULT_LANGUAGE", "ru")
    monkeypatch.setenv("STAFF_CHAT_ID", "-100abc")
    with pytest.raises(ConfigError, match=r"^STAFF_CHAT_ID is invalid"):
        load(OfficeSettings)
