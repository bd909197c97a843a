"""The English catalog is the source language: copy every msgid into its msgstr."""

from __future__ import annotations

from babel.messages.pofile import read_po, write_po

from locales import LOCALES_DIR

PATH = LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po"


def main() -> None:
    with PATH.open("rb") as source:
        catalog = read_po(source, locale="en")
    for message in catalog:
        if message.id:
            message.string = message.id
            message.flags.discard("fuzzy")
    with PATH.open("wb") as target:
        write_po(target, catalog, width=100)


if __name__ == "__main__":
    main()
