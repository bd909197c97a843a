"""Bot API methods for media: photos, documents, videos, voice, albums, getFile, uploads."""

from __future__ import annotations

import mimetypes
from typing import Any

from bot.emulator.errors import bad_request
from bot.emulator.limits import MAX_DOWNLOAD_SIZE
from bot.emulator.outgoing import OutgoingMessages
from bot.emulator.params import Params, Upload
from bot.emulator.records import JSON, StoredFile


class MediaMethods(OutgoingMessages):
    """sendPhoto/Document/Video/Voice/Audio, sendMediaGroup, getFile."""

    async def _send_media(self, params: Params, kind: str) -> JSON:
        chat = self._chat(params, sending=True)
        caption = params.get_str("caption")
        self._check_caption(caption)
        markup = self._markup(params)
        reply_to = self._reply_to(params, chat["id"])
        stored = self._input_file(params, params.values.get(kind), kind, field_name=kind)
        content: JSON = {kind: stored.photo_sizes() if kind == "photo" else stored.describe()}
        if caption is not None:
            content["caption"] = caption
        if entities := params.get_json("caption_entities", list):
            content["caption_entities"] = entities
        return self._record_message(params, chat, kind, content, text=caption, markup=markup,
                                    file_id=stored.file_id, reply_to=reply_to)

    async def _send_photo(self, params: Params) -> JSON:
        return await self._send_media(params, "photo")

    async def _send_document(self, params: Params) -> JSON:
        return await self._send_media(params, "document")

    async def _send_video(self, params: Params) -> JSON:
        return await self._send_media(params, "video")

    async def _send_voice(self, params: Params) -> JSON:
        return await self._send_media(params, "voice")

    async def _send_audio(self, params: Params) -> JSON:
        return await self._send_media(params, "audio")

    async def _send_media_group(self, params: Params) -> list[JSON]:
        chat = self._chat(params, sending=True)
        media = params.get_json("media", list)
        if media is None or not 2 <= len(media) <= 10:
            raise bad_request("media group must contain 2-10 items")
        reply_to = self._reply_to(params, chat["id"])
        resolved: list[tuple[str, StoredFile, JSON]] = []
        for item in media:  # validate everything before sending anything
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request("can't parse InputMedia: unsupported media type")
            self._check_caption(item.get("caption"))
            stored = self._input_file(params, item.get("media"), kind, field_name="media")
            resolved.append((kind, stored, item))
        kinds = {kind for kind, _, _ in resolved}
        if len(kinds) > 1 and kinds & {"document", "audio"}:  # as the Bot API says
            raise bad_request("MEDIA_GROUP_INVALID: documents and audio files can be only "
                              "grouped in an album with messages of the same type")
        group_id = f"2{next(self._group_seq):017d}"
        results = []
        for kind, stored, item in resolved:
            content: JSON = {kind: stored.photo_sizes() if kind == "photo" else stored.describe()}
            if item.get("caption") is not None:
                content["caption"] = item["caption"]
            results.append(self._record_message(
                params, chat, "media_group_item", content, text=item.get("caption"),
                file_id=stored.file_id, media_group_id=group_id, reply_to=reply_to,
            ))
        return results

    async def _get_file(self, params: Params) -> JSON:
        file_id = params.get_str("file_id", required=True) or ""
        stored = self._files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD_SIZE:
            raise bad_request("file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": stored.size, "file_path": stored.file_path}

    def _input_file(self, params: Params, value: Any, kind: str, *, field_name: str) -> StoredFile:
        """Resolve a file parameter: a multipart upload, "attach://name" or a file_id."""
        upload = params.uploads.get(field_name) if value is None else None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = params.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"file {value} not found in the request")
        if upload is not None:
            return self._store_upload(upload, kind)
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {field_name} in the request")
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self._files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind and not (kind == "photo" and stored.kind == "thumbnail"):
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    def _store_upload(self, upload: Upload, kind: str) -> StoredFile:
        if kind == "photo":
            stored = self._store_photo(upload.data, None)
        else:
            mime = upload.content_type
            if not mime or mime == "application/octet-stream":
                guessed = mimetypes.guess_type(upload.filename or "")[0]
                mime = guessed or {"video": "video/mp4", "voice": "audio/ogg",
                                   "audio": "audio/mpeg"}.get(
                    kind, "application/octet-stream")
            stored = self._store_file(kind, upload.data, None,
                                      file_name=upload.filename or "file", mime_type=mime)
        self.sent_files[stored.file_id] = upload.data
        return stored
