"""Bot API methods for text messages: send, edit, delete, and the chat action."""

from __future__ import annotations

import copy
import time

from bot.emulator.errors import NOT_MODIFIED, APIError, bad_request
from bot.emulator.limits import MAX_TEXT_LENGTH
from bot.emulator.outgoing import OutgoingMessages
from bot.emulator.params import Params
from bot.emulator.records import JSON, SentMessage


class MessageMethods(OutgoingMessages):
    """sendMessage, editMessageText/Caption/ReplyMarkup, deleteMessage, sendChatAction."""

    async def _send_message(self, params: Params) -> JSON:
        chat = self._chat(params, sending=True)
        text = params.get_str("text")
        if not text or not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        markup = self._markup(params)
        content: JSON = {"text": text}
        if entities := params.get_json("entities", list):
            content["entities"] = entities
        return self._record_message(params, chat, "text", content, text=text, markup=markup,
                                    reply_to=self._reply_to(params, chat["id"]))

    async def _edit_message_text(self, params: Params) -> JSON:
        sent = self._find_editable(params)
        text = params.get_str("text")
        if not text or not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        if sent.kind != "text":
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(sent, text=text, text_key="text",
                                markup=self._markup(params, inline_only=True))

    async def _edit_message_caption(self, params: Params) -> JSON:
        sent = self._find_editable(params)
        caption = params.get_str("caption")
        self._check_caption(caption)
        if sent.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        return self._apply_edit(sent, text=caption, text_key="caption",
                                markup=self._markup(params, inline_only=True))

    async def _edit_message_reply_markup(self, params: Params) -> JSON:
        sent = self._find_editable(params)
        key = "text" if sent.kind == "text" else "caption"
        return self._apply_edit(sent, text=sent.text, text_key=key,
                                markup=self._markup(params, inline_only=True))

    async def _delete_message(self, params: Params) -> bool:
        chat = self._chat(params)
        key = (chat["id"], params.req_int("message_id"))
        sent = self._bot_messages.get(key)
        if sent is not None and not sent.deleted:
            sent.deleted = True
        elif self._user_messages.pop(key, None) is None:
            raise bad_request("message to delete not found")
        return True

    async def _send_chat_action(self, params: Params) -> bool:
        chat = self._chat(params, sending=True)
        action = params.get_str("action", required=True) or ""
        self.chat_actions.append((chat["id"], action))
        return True

    def _find_editable(self, params: Params) -> SentMessage:
        if params.has("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        chat = self._chat(params)
        message_id = params.req_int("message_id")
        sent = self._bot_messages.get((chat["id"], message_id))
        if sent is None or sent.deleted:
            if (chat["id"], message_id) in self._user_messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return sent

    def _apply_edit(self, sent: SentMessage, *, text: str | None, text_key: str,
                    markup: JSON | None) -> JSON:
        current_inline = sent.reply_markup if sent.inline_buttons else None
        if text == sent.text and markup == current_inline:
            raise APIError(400, NOT_MODIFIED)
        sent.text = text
        if text is None:
            sent.raw.pop(text_key, None)
        else:
            sent.raw[text_key] = text
        if markup is not None or current_inline is not None:
            sent.reply_markup = markup
        if markup is None:
            sent.raw.pop("reply_markup", None)
        else:
            sent.raw["reply_markup"] = markup
        sent.edits += 1
        sent.raw["edit_date"] = int(time.time())
        return copy.deepcopy(sent.raw)
