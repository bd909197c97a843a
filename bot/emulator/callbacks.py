"""The Bot API method for button presses: answerCallbackQuery."""

from __future__ import annotations

from bot.emulator.errors import QUERY_TOO_OLD, APIError, bad_request
from bot.emulator.params import Params
from bot.emulator.state import EmulatorState


class CallbackMethods(EmulatorState):
    """answerCallbackQuery: each callback query is answered once."""

    async def _answer_callback_query(self, params: Params) -> bool:
        query_id = params.get_str("callback_query_id", required=True) or ""
        if self._callbacks.get(query_id, True):  # unknown or already answered
            raise APIError(400, QUERY_TOO_OLD)
        text = params.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._callbacks[query_id] = True
        self.callback_answers.append({
            "callback_query_id": query_id,
            "text": text,
            "show_alert": params.get_bool("show_alert"),
        })
        return True
