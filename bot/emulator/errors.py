"""The Bot API's error answers: ``APIError``, the bodies it can take (``Body``), their texts."""

from __future__ import annotations

from enum import StrEnum

from aiohttp import web

from bot.emulator.records import JSON

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"


class Body(StrEnum):
    """What an injected failure answers with, beside its HTTP status."""

    ERROR = "error"  # the Bot API's own error object: {"ok": false, "error_code": …}
    HTML = "html"  # an HTML page, as a proxy or load balancer in front of Telegram sends
    TEXT = "text"  # plain text that is not JSON
    NO_RESULT = "no_result"  # {"ok": true} without a "result"
    NOT_OBJECT = "not_object"  # valid JSON that is not an object


PROXY_PAGE = ("<html><head><title>502 Bad Gateway</title></head><body><center>"
              "<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")


class APIError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., ...}``."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def response(self, body: Body = Body.ERROR) -> web.Response:
        if body == Body.HTML:
            return web.Response(text=PROXY_PAGE, status=self.status, content_type="text/html")
        if body == Body.TEXT:
            return web.Response(text=f"{self.status} {self.description}", status=self.status)
        if body == Body.NO_RESULT:
            return web.json_response({"ok": True}, status=self.status)
        if body == Body.NOT_OBJECT:
            return web.json_response(["not", "an", "object"], status=self.status)
        error: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            error["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(error, status=self.status)


def bad_request(description: str) -> APIError:
    return APIError(400, f"Bad Request: {description}")
