"""A loopback emulator of the Telegram Bot API, for tests and the offline demo.

The emulator is a small aiohttp server that answers the subset of the Bot API the bot uses,
shaped like the real thing, so the real aiogram client can talk to it over real HTTP::

    async with BotAPIEmulator() as emu:
        bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
        ann = emu.user(1001, "Ann")
        emu.send_text(ann, "/start")
        ...
        await emu.wait_for(lambda: emu.messages(ann.id))

Beside the HTTP side it offers an in-process API to act as residents (users in private chats)
and staff (a group chat), to read what the bot sent and to inject faults.  It uses nothing
but aiohttp and the standard library (no aiogram), and all of it runs on the event loop of
the caller: the acting methods are plain synchronous calls made from that loop.
"""

from __future__ import annotations

from bot.emulator.callbacks import CallbackMethods
from bot.emulator.commands import CommandMethods
from bot.emulator.harness import EmulatorHarness
from bot.emulator.media import MediaMethods
from bot.emulator.messages import MessageMethods
from bot.emulator.params import Handler
from bot.emulator.server import HttpServer
from bot.emulator.updates import UpdateMethods


class BotAPIEmulator(
    EmulatorHarness,
    HttpServer,
    MessageMethods,
    MediaMethods,
    CallbackMethods,
    CommandMethods,
    UpdateMethods,
):
    """A Telegram Bot API server on loopback, plus an API to act as users and inspect the bot."""

    # Each base is one part over the shared EmulatorState; this table is the one place that
    # says which of their handlers answers which Bot API method.
    def _method_table(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setWebhook": self._set_webhook,
            "logOut": self._true,
            "close": self._true,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVideo": self._send_video,
            "sendVoice": self._send_voice,
            "sendAudio": self._send_audio,
            "sendMediaGroup": self._send_media_group,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChat": self._get_chat,
        }
