"""Fetching evidence: download a copy into MEDIA_DIR, with its sha256, after checking it.

A picture is stored without its metadata (tickets.pictures): the stored copy's sha256 names
the file, and the received bytes' sha256 is kept beside it, so that what the resident sent can
still be matched. The original itself is kept only with KEEP_ORIGINAL_FILES, in its own folder.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, replace
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
from tickets.pictures import without_metadata

log = logging.getLogger(__name__)

ORIGINALS = "originals"  # under MEDIA_DIR: the files as received (KEEP_ORIGINAL_FILES)


@dataclass(frozen=True)
class Stored:
    """Where a file went: the copy kept as evidence, and what was received when it differs."""

    sha256: str  # of the stored copy
    path: Path
    size: int  # of the stored copy
    received_sha256: str | None = None  # of the bytes as received, when the copy differs
    original_path: Path | None = None  # the bytes as received, when kept



class MediaStore:
    def __init__(self, transport: Transport, media_dir: Path, *,
                 keep_originals: bool = False) -> None:
        self.transport = transport
        self.media_dir = media_dir
        self.keep_originals = keep_originals

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
            stored = await asyncio.to_thread(self.store, data)
        except OSError as error:  # a full disk, MEDIA_DIR gone or read-only
            log.error("could not store a %s in %s: %s", media.kind, self.media_dir,
                      reason(error))
            return replace(media, problem=MediaProblem.NOT_STORED)
        return replace(media, size=stored.size, sha256=stored.sha256, local_path=str(stored.path),
                       received_sha256=stored.received_sha256,
                       original_path=None if stored.original_path is None
                       else str(stored.original_path))

    def store(self, data: bytes) -> Stored:
        """Keep these bytes in MEDIA_DIR (by their sha256), a picture without its metadata.
        Blocking (a picture is decoded and encoded again)."""
        scrubbed = without_metadata(data)
        if scrubbed.kept_metadata:  # the type and why only: nothing of the resident's
            log.warning("a picture (%s) is stored as received, with any location in it: %s",
                        scrubbed.mime_type, scrubbed.outcome.value)
        sha256, path = self._keep(scrubbed.data, self.media_dir)
        if not scrubbed.changed:
            return Stored(sha256, path, len(data))
        received = hashlib.sha256(data).hexdigest()
        original = (self._keep(data, self.media_dir / ORIGINALS)[1] if self.keep_originals
                    else None)
        return Stored(sha256, path, len(scrubbed.data), received, original)

    @staticmethod
    def _keep(data: bytes, folder: Path) -> tuple[str, Path]:
        """Write these bytes under `folder` by their sha256, once; (sha256, path)."""
        sha256 = hashlib.sha256(data).hexdigest()
        extension = extension_of(data)
        path = folder / sha256[:2] / f"{sha256}{extension}"
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
