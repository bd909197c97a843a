"""Evidence checks: is a file within the limits, and are its bytes what it claims to be?

A file's real type is read from its first bytes by `filetype` (a kept library of signatures),
never taken from its name or from what the sender's app declared."""

from __future__ import annotations

from enum import StrEnum

import filetype  # type: ignore[import-untyped]  # (no type hints shipped)

from tickets.policy import MAX_FILE_BYTES

# filetype reads at most this many bytes (an office document is told from a zip by its parts)
HEAD_BYTES = 8192


class MediaProblem(StrEnum):
    """Why a file the resident sent is not kept as evidence (each has its own answer)."""

    TOO_BIG = "too_big"
    MISMATCH = "mismatch"  # the bytes are not what the message claims
    UNSUPPORTED = "unsupported"
    UNAVAILABLE = "unavailable"  # Telegram would not hand it to us
    NOT_STORED = "not_stored"  # ours: the disk is full or MEDIA_DIR cannot be written


class EvidenceKind(StrEnum):
    """How a piece of evidence came, and how it goes on to the staff thread."""

    PHOTO = "photo"
    VIDEO = "video"
    VOICE = "voice"  # recorded in Telegram
    AUDIO = "audio"  # an audio file: M4A, MP3, OGG
    DOCUMENT = "document"  # a file: a picture, a PDF, an office document


# Documents a resident may send as evidence: a letter, an invoice, a contract page, a picture.
OFFICE_TYPES = (
    "application/pdf", "application/rtf", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
)
DOCUMENT_TYPES = ("image/", "audio/", "video/", *OFFICE_TYPES)

# What each kind of message may really contain (MIME types or their prefixes).
ACCEPTED: dict[str, tuple[str, ...]] = {
    EvidenceKind.PHOTO: ("image/",),
    EvidenceKind.VIDEO: ("video/",),
    EvidenceKind.VOICE: ("audio/",),
    # an M4A file is an MP4 container: some encoders label it a video
    EvidenceKind.AUDIO: ("audio/", "video/mp4"),
    EvidenceKind.DOCUMENT: DOCUMENT_TYPES,
}
# a sender's app may not know a file's type: the bytes decide then
UNKNOWN_DECLARED = (None, "", "application/octet-stream")


def sniff(head: bytes) -> str | None:
    """The real MIME type of a file from its first bytes (HEAD_BYTES are enough)."""
    found = filetype.guess(head[:HEAD_BYTES])
    return str(found.mime) if found is not None else None


def extension_of(head: bytes) -> str:
    """The file name extension its bytes call for (".bin" when they are not recognised)."""
    found = filetype.guess(head[:HEAD_BYTES])
    return f".{found.extension}" if found is not None else ".bin"


def check_declared(kind: str, mime_type: str | None, size: int | None) -> MediaProblem | None:
    """What Telegram tells about a file is enough to refuse it before downloading."""
    if kind == EvidenceKind.DOCUMENT and mime_type not in UNKNOWN_DECLARED and not (
            mime_type or "").startswith(DOCUMENT_TYPES):
        return MediaProblem.UNSUPPORTED  # an archive, a program…: not evidence
    return check_size(size)


def check_size(size: int | None) -> MediaProblem | None:
    return MediaProblem.TOO_BIG if size is not None and size > MAX_FILE_BYTES else None


def check_content(kind: str, head: bytes) -> MediaProblem | None:
    """None when the bytes match the kind, else the problem code shown to the resident."""
    real = sniff(head)
    if real is None or not real.startswith(ACCEPTED.get(kind, ("-",))):
        return MediaProblem.MISMATCH
    return None


# the kind of evidence a file uploaded outside Telegram (the console) is kept as, by its real
# type (an OGG recording is sent on as a voice note, other audio as an audio file)
UPLOAD_KINDS = (("image/", EvidenceKind.PHOTO), ("video/", EvidenceKind.VIDEO),
                ("audio/ogg", EvidenceKind.VOICE), ("audio/", EvidenceKind.AUDIO),
                (OFFICE_TYPES, EvidenceKind.DOCUMENT))


def upload_kind(data: bytes) -> tuple[str, str] | MediaProblem:
    """(kind, real MIME type) of an uploaded file, or why it is refused: the same limits as a
    file sent in the chat (size; a picture, video, recording or document by its bytes)."""
    if problem := check_size(len(data)):
        return problem
    real = sniff(data)
    for prefix, kind in UPLOAD_KINDS:
        if real is not None and real.startswith(prefix):
            return kind, real
    return MediaProblem.UNSUPPORTED


ALBUM_MAX = 10  # files in one album (sendMediaGroup)


def album_class(kind: str) -> str:
    """Which files Telegram lets share one album: photos with videos; documents only with
    documents; audio files only with audio files (voice notes never go in an album)."""
    return "visual" if kind in (EvidenceKind.PHOTO, EvidenceKind.VIDEO) else kind
