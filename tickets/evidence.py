"""Evidence checks: is a file within the limits, and are its bytes what it claims to be?"""

from __future__ import annotations

from enum import StrEnum

from tickets.policy import MAX_FILE_BYTES


class MediaProblem(StrEnum):
    """Why a file the resident sent is not kept as evidence (each has its own answer)."""

    TOO_BIG = "too_big"
    MISMATCH = "mismatch"  # the bytes are not what the message claims
    UNSUPPORTED = "unsupported"
    UNAVAILABLE = "unavailable"  # Telegram would not hand it to us
    NOT_STORED = "not_stored"  # ours: the disk is full or MEDIA_DIR cannot be written


def sniff(head: bytes) -> str | None:
    """The real type of a file from its first bytes (a small subset of libmagic)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "image/heic" if brand in (b"heic", b"heix", b"mif1") else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3")):
        return "audio/mpeg"
    if head.startswith(b"%PDF"):
        return "application/pdf"
    return None


# What each kind of message may really contain.
ACCEPTED = {
    "photo": ("image/",),
    "video": ("video/",),
    "voice": ("audio/",),
    "document": ("image/",),  # documents are accepted as evidence when they are pictures
}


def check_declared(kind: str, mime_type: str | None, size: int | None) -> MediaProblem | None:
    """What Telegram tells about a file is enough to refuse it before downloading."""
    if kind == "document" and not (mime_type or "").startswith("image/"):
        return MediaProblem.UNSUPPORTED  # documents are evidence only when they are pictures
    return check_size(size)


def check_size(size: int | None) -> MediaProblem | None:
    return MediaProblem.TOO_BIG if size is not None and size > MAX_FILE_BYTES else None


def check_content(kind: str, head: bytes) -> MediaProblem | None:
    """None when the bytes match the kind, else the problem code shown to the resident."""
    real = sniff(head)
    if real is None or not real.startswith(ACCEPTED.get(kind, ("-",))):
        return MediaProblem.MISMATCH
    return None


# the kind of evidence a file uploaded outside Telegram (the console) is kept as, by its real type
UPLOAD_KINDS = (("image/", "photo"), ("video/", "video"), ("audio/", "voice"))


def upload_kind(data: bytes) -> tuple[str, str] | MediaProblem:
    """(kind, real MIME type) of an uploaded file, or why it is refused: the same limits as a
    file sent in the chat (size; a picture, video or voice recording by its bytes)."""
    if problem := check_size(len(data)):
        return problem
    real = sniff(data[:64])
    for prefix, kind in UPLOAD_KINDS:
        if real is not None and real.startswith(prefix):
            return kind, real
    return MediaProblem.UNSUPPORTED
