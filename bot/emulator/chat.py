"""A person's side of a chat with the running bot: `send()`, `reply()` and `click()`.

`ChatClient` is a resident in their private chat, `GroupMember` a user (staff) in a group
chat.  Each call queues an update at the emulator and returns once the bot has handled it,
with the bot's new or edited messages in that chat, so tests and the demo read like a
conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.emulator.emulator import BotAPIEmulator
from bot.emulator.records import Button, EmulatedUser, SentMessage

WaitHandled = Callable[[int], Awaitable[str]]


class ChatClient:
    """A user in their private chat with the bot (or, with ``group_id``, in a group)."""

    def __init__(self, emulator: BotAPIEmulator, user: EmulatedUser, wait: WaitHandled,
                 *, group_id: int | None = None) -> None:
        self.emulator = emulator
        self.user = user
        self._wait = wait
        self._group = group_id
        self.last_result = ""

    @property
    def chat_id(self) -> int:
        """The user's private chat, or the group this client speaks in."""
        return self.user.id if self._group is None else self._group

    @property
    def messages(self) -> list[SentMessage]:
        return self.emulator.messages(self.chat_id)

    @property
    def last(self) -> SentMessage:
        return self.emulator.last_message(self.chat_id)

    @property
    def last_text(self) -> str:
        """The text (or caption) of the bot's last message in this chat."""
        return self.last.text or ""

    @property
    def last_with_buttons(self) -> SentMessage:
        for message in reversed(self.messages):
            if message.inline_buttons:
                return message
        raise AssertionError("no message with buttons in this chat")

    @property
    def keyboard_buttons(self) -> list[Button]:
        """The reply keyboard in force (the last message that set or removed one)."""
        for message in reversed(self.messages):
            if message.keyboard_buttons:
                return [b for row in message.keyboard_buttons for b in row]
            if message.removes_keyboard:
                return []
        return []

    @property
    def keyboard(self) -> list[str]:
        return [b.text for b in self.keyboard_buttons]

    async def _do(self, queue: Callable[[], int | list[int]]) -> list[SentMessage]:
        before = {(m.message_id, m.text, m.edits) for m in self.messages}
        queued = queue()
        for update_id in queued if isinstance(queued, list) else [queued]:
            self.last_result = await self._wait(update_id)
        return [m for m in self.messages if (m.message_id, m.text, m.edits) not in before]

    async def send(self, text: str) -> list[SentMessage]:
        """Type a message; returns the bot's new or edited messages."""
        return await self._do(lambda: self.emulator.send_text(self.user, text,
                                                              chat_id=self._group))

    def _reply_id(self, to: SentMessage) -> int:
        if to.chat_id != self.chat_id:
            raise ValueError(f"message {to.message_id} is in chat {to.chat_id}, "
                             f"not in this chat ({self.chat_id})")
        return to.message_id

    async def reply(self, text: str, to: SentMessage) -> list[SentMessage]:
        """Answer a bot message of this chat with Telegram's "reply"."""
        reply_to = self._reply_id(to)
        return await self._do(lambda: self.emulator.send_text(
            self.user, text, chat_id=self._group, reply_to=reply_to))

    async def reply_photo(self, data: bytes, to: SentMessage,
                          caption: str | None = None) -> list[SentMessage]:
        reply_to = self._reply_id(to)
        return await self._do(lambda: self.emulator.send_photo(
            self.user, data, caption=caption, chat_id=self._group, reply_to=reply_to))

    async def reply_voice(self, data: bytes, to: SentMessage) -> list[SentMessage]:
        reply_to = self._reply_id(to)
        return await self._do(lambda: self.emulator.send_voice(
            self.user, data, chat_id=self._group, reply_to=reply_to))

    def last_with_text(self, part: str) -> SentMessage:
        """The bot's latest message in this chat that contains `part`."""
        for message in reversed(self.messages):
            if part in (message.text or ""):
                return message
        raise AssertionError(f"no message containing {part!r} in chat {self.chat_id}")

    async def click(self, button: str, message: SentMessage | None = None) -> list[SentMessage]:
        """Press an inline button (by its text or data) on `message`, default the last one."""
        target = message or self.last_with_buttons
        if target.chat_id != self.chat_id:
            raise ValueError(f"message {target.message_id} is in chat {target.chat_id}, "
                             f"not in this chat ({self.chat_id})")
        return await self._do(lambda: self.emulator.click(self.user, target, button))

    async def forge(self, data: str, message_id: int | None = None) -> list[SentMessage]:
        mid = message_id if message_id is not None else self.last.message_id
        return await self._do(lambda: self.emulator.send_callback(self.user, mid, data,
                                                                  chat_id=self.chat_id))

    async def share_contact(self, phone: str, *, own: bool = True) -> list[SentMessage]:
        return await self._do(lambda: self.emulator.send_contact(self.user, phone, own=own))

    async def send_photo(self, data: bytes, caption: str | None = None) -> list[SentMessage]:
        return await self._do(lambda: self.emulator.send_photo(
            self.user, data, caption=caption, chat_id=self._group))

    async def send_album(self, items: list[bytes]) -> list[SentMessage]:
        return await self._do(lambda: self.emulator.send_album(self.user, items,
                                                               chat_id=self._group))

    async def send_sticker(self) -> list[SentMessage]:
        return await self._do(lambda: self.emulator.send_sticker(self.user,
                                                                 chat_id=self._group))

    async def send_document(self, data: bytes, name: str, mime: str,
                            declared_size: int | None = None, caption: str | None = None
                            ) -> list[SentMessage]:
        return await self._do(lambda: self.emulator.send_document(
            self.user, data, file_name=name, mime_type=mime, declared_size=declared_size,
            chat_id=self._group, caption=caption))

    async def send_voice(self, data: bytes) -> list[SentMessage]:
        return await self._do(lambda: self.emulator.send_voice(self.user, data,
                                                               chat_id=self._group))

    async def send_audio(self, data: bytes, name: str, mime: str) -> list[SentMessage]:
        return await self._do(lambda: self.emulator.send_audio(
            self.user, data, file_name=name, mime_type=mime, chat_id=self._group))

    async def send_video(self, data: bytes, declared_size: int | None = None) -> list[SentMessage]:
        return await self._do(lambda: self.emulator.send_video(
            self.user, data, declared_size=declared_size, chat_id=self._group))


class GroupMember(ChatClient):
    """A user in a group chat (a staff member in the staff group): the same `send()`,
    `click()`, `reply()` and `forge()`, spoken in the group; `messages`, `last` and the
    returned messages are the bot's in the group."""

    def __init__(self, emulator: BotAPIEmulator, user: EmulatedUser, group_id: int,
                 wait: WaitHandled) -> None:
        if group_id >= 0:
            raise ValueError("group chat ids are negative")
        super().__init__(emulator, user, wait, group_id=group_id)
