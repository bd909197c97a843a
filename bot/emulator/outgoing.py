"""What the sending and editing methods share: keyboards, replies, captions, recording."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from bot.emulator.errors import bad_request
from bot.emulator.limits import MAX_CALLBACK_DATA, MAX_CAPTION_LENGTH
from bot.emulator.params import Params
from bot.emulator.records import JSON, SentMessage
from bot.emulator.state import EmulatorState

_INLINE_ACTIONS = ("callback_data", "url", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                   "copy_text", "web_app", "callback_game", "pay")


class OutgoingMessages(EmulatorState):
    """Read a sent message's markup, reply target and caption; record what the bot sent."""

    def _markup(self, params: Params, *, inline_only: bool = False) -> JSON | None:
        markup = params.get_json("reply_markup", dict)
        if markup is None:
            return None
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "inline_keyboard" must be an Array of Arrays')
            private = self._private_chat(params)
            for button in (b for row in rows for b in row):
                self._check_inline_button(button, private=private)
            return markup
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "keyboard" must be an Array of Arrays')
            for button in (b for row in rows for b in row):
                if not (isinstance(button, str)
                        or (isinstance(button, dict) and isinstance(button.get("text"), str))):
                    raise bad_request("can't parse keyboard button: Text is not specified")
            return markup
        if markup.get("remove_keyboard") is True or "force_reply" in markup:
            return markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _private_chat(self, params: Params) -> bool:
        chat = self._lookup_chat(params.values.get("chat_id") or 0)
        return chat is None or chat.get("type") == "private"

    @staticmethod
    def _check_inline_button(button: Any, *, private: bool) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request("can't parse inline keyboard button: Text is not specified")
        if not any(key in button for key in _INLINE_ACTIONS):
            raise bad_request("can't parse inline keyboard button: "
                              "Text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and (not isinstance(data, str)
                                 or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA):
            raise bad_request("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and not (isinstance(url, str)
                                    and re.match(r"(https?|tg)://\S+$", url)):
            raise bad_request("BUTTON_URL_INVALID")
        if "web_app" in button:
            # Telegram: Mini App buttons only in private chats, and only to HTTPS pages. The
            # emulator also takes http:// on this machine (tests and the demo have no TLS).
            if not private:
                raise bad_request("BUTTON_TYPE_INVALID")
            web_app = button["web_app"]
            page = web_app.get("url") if isinstance(web_app, dict) else None
            if not (isinstance(page, str) and re.match(
                    r"(https://\S+|http://(127\.0\.0\.1|localhost)[:/]\S*)$", page)):
                raise bad_request("BUTTON_URL_INVALID")

    def _reply_to(self, params: Params, chat_id: int) -> JSON | None:
        target = params.get_int("reply_to_message_id")
        allow_missing = params.get_bool("allow_sending_without_reply")
        reply_parameters = params.get_json("reply_parameters", dict)
        if reply_parameters is not None:
            target = reply_parameters.get("message_id")
            if not isinstance(target, int):
                raise bad_request("can't parse reply parameters JSON object")
            allow_missing = bool(reply_parameters.get("allow_sending_without_reply"))
            if reply_parameters.get("chat_id") not in (None, chat_id):
                raise bad_request("replies to other chats are not supported by the emulator")
        if target is None:
            return None
        found = self._replied(chat_id, target)
        if found is None and not allow_missing:
            raise bad_request("message to be replied not found")
        return found

    def _check_caption(self, caption: str | None) -> None:
        if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")

    def _record_message(
        self,
        params: Params,
        chat: JSON,
        kind: str,
        content: JSON,
        *,
        text: str | None,
        markup: JSON | None = None,
        file_id: str | None = None,
        media_group_id: str | None = None,
        reply_to: JSON | None = None,
    ) -> JSON:
        chat_id = chat["id"]
        raw: JSON = {"message_id": self._new_message_id(chat_id), "from": self._bot_user(),
                     "chat": chat, "date": int(time.time()), **content}
        if media_group_id is not None:
            raw["media_group_id"] = media_group_id
        if reply_to is not None:
            raw["reply_to_message"] = reply_to
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup  # Telegram echoes only inline keyboards
        sent = SentMessage(
            chat_id=chat_id, message_id=raw["message_id"], kind=kind, text=text,
            reply_markup=markup, file_id=file_id, media_group_id=media_group_id,
            reply_to_message_id=reply_to["message_id"] if reply_to else None,
            parse_mode=params.get_str("parse_mode"), raw=raw,
        )
        self._bot_messages[(chat_id, sent.message_id)] = sent
        self._bot_order.setdefault(chat_id, []).append(sent)
        return copy.deepcopy(raw)
