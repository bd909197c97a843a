"""Bot API methods about the bot and its chats: commands, menu button, getChat, getMe."""

from __future__ import annotations

import copy
import re

from bot.emulator.errors import bad_request
from bot.emulator.params import Params
from bot.emulator.records import JSON
from bot.emulator.state import EmulatorState


class CommandMethods(EmulatorState):
    """set/get/deleteMyCommands, setChatMenuButton, getChat, getMe, logOut and close."""

    async def _true(self, params: Params) -> bool:  # logOut, close: nothing to undo here
        return True

    async def _get_me(self, params: Params) -> JSON:
        return {**self._bot_user(), "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False}

    @staticmethod
    def _commands_keys(params: Params) -> list[tuple[str, str]]:
        """The keys of ``commands`` for a call: (scope type, language), and for scopes naming
        a chat also ("chat:-100123" / "chat_member:-100123:7", language); the last is exact."""
        scope = params.get_json("scope", dict) or {"type": "default"}
        scope_type = scope.get("type")
        if not isinstance(scope_type, str):
            raise bad_request("can't parse BotCommandScope JSON object")
        language = params.get_str("language_code") or ""
        keys = [(scope_type, language)]
        if "chat_id" in scope:
            exact = f"{scope_type}:{scope['chat_id']}"
            if "user_id" in scope:
                exact += f":{scope['user_id']}"
            keys.append((exact, language))
        return keys

    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.get_json("commands", list)
        if commands is None:
            raise bad_request("parameter commands is required")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        for key in self._commands_keys(params):
            if cleaned:
                self.commands[key] = copy.deepcopy(cleaned)
            else:
                self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: Params) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_keys(params)[-1], []))

    async def _delete_my_commands(self, params: Params) -> bool:
        for key in self._commands_keys(params):
            self.commands.pop(key, None)
        return True

    async def _set_chat_menu_button(self, params: Params) -> bool:
        chat_id = None
        if params.has("chat_id"):
            chat_id = self._chat(params)["id"]
        self.menu_buttons[chat_id] = params.get_json("menu_button", dict) or {"type": "default"}
        return True

    async def _get_chat(self, params: Params) -> JSON:
        chat = self._chat(params)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }
