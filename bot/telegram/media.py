"""Fetching evidence: download a copy into MEDIA_DIR, with its sha256, after checking it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from dataclasses import replace
from functools import partial
from pathlib import Path

from bot.logs import reason
from bot.telegram.transport import BadRequest, TelegramFailure, Transport, retrying
from conversations.events import Media
from tickets.evidence import (
    HEAD_BYTES,
    MediaProblem,
    check_content,
    check_declared,
    check_size,
    extension_of,
)

log = logging.getLogger(__name__)

class MediaStore:
    def __init__(self, transport: Transport, media_dir: Path) -> None:
        self.transport = transport
        self.media_dir = media_dir

    async def fetch(self, media: Media) -> Media:
        """The same media with sha256 and local path filled in, or with `problem` set."""
        if media.problem:
            return media
        if problem := check_declared(media.kind, media.mime_type, media.size):
            return replace(media, problem=problem)
        try:
            data = await retrying(partial(self.transport.download, media.file_id))
        except BadRequest as error:
            too_big = "too big" in error.message.lower()
            log.warning("getFile refused %s: %s", media.kind, error.message)
            return replace(media, problem=MediaProblem.TOO_BIG if too_big
                           else MediaProblem.UNAVAILABLE)
        except TelegramFailure as error:
            log.warning("could not download %s: %s", media.kind, error.message)
            return replace(media, problem=MediaProblem.UNAVAILABLE)
        if problem := check_size(len(data)) or check_content(media.kind, data[:HEAD_BYTES]):
            return replace(media, problem=problem)
        try:
            sha256, path = await asyncio.to_thread(self.store, data)
        except OSError as error:  # a full disk, MEDIA_DIR gone or read-only
            log.error("could not store a %s in %s: %s", media.kind, self.media_dir,
                      reason(error))
            return replace(media, problem=MediaProblem.NOT_STORED)
        return replace(media, size=len(data), sha256=sha256, local_path=str(path))

    def store(self, data: bytes) -> tuple[str, Path]:
        """Keep these bytes in MEDIA_DIR (by their sha256); (sha256, path). Blocking."""
        sha256 = hashlib.sha256(data).hexdigest()
        extension = extension_of(data)
        path = self.media_dir / sha256[:2] / f"{sha256}{extension}"
        if path.exists():  # content-addressed: the same file twice is stored once
            return sha256, path
        path.parent.mkdir(parents=True, exist_ok=True)
        # a unique temporary name: two chats may send the same bytes at the same moment
        partial: Path | None = None
        try:
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part",
                                             delete=False) as temporary:
                partial = Path(temporary.name)
                temporary.write(data)
                temporary.flush()
                os.fsync(temporary.fileno())  # a full disk may only say so here
            partial.replace(path)
        except BaseException:
            if partial is not None:  # never leave a partial file behind (the disk stays full)
                partial.unlink(missing_ok=True)
            raise
        return sha256, path
