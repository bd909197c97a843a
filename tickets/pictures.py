"""Pictures kept without what they tell about the sender: EXIF (GPS position, camera, serial
number, time), XMP, IPTC, comments and text chunks are left out of the stored copy.

A phone writes the position into every picture it takes; Telegram removes it from photos but
not from a picture sent as a file. The picture is turned upright first (EXIF orientation),
since the tag that says how to show it goes with the rest. A JPEG stays a JPEG (at high
quality), a PNG a PNG, a WebP a WebP. Whatever cannot be rewritten — a format Pillow cannot
decode (HEIC), an animation, a broken or enormous file — is kept as received, and the outcome
says why, so that the caller can log it: the resident's evidence is never lost for this.

Pure and blocking (CPU only): the shell runs it in a thread.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from tickets.evidence import sniff

if TYPE_CHECKING:
    from PIL import Image

# Beyond this many pixels a picture is kept as received: decoding, turning and encoding it
# would hold two copies in memory (a 48-megapixel phone picture is within).
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 95

# What Pillow can decode and write again, by the real type of the bytes
REWRITTEN = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# Pillow's name of a decoded file's format, for each of those (a phone's JPEG with a depth
# map or a second picture opens as a multi-picture "MPO": its first picture is the photo)
DECODED_AS = {"JPEG": ("JPEG", "MPO"), "PNG": ("PNG",), "WEBP": ("WEBP",)}
# Keys of a decoded image's `info` that describe how to show the pixels and tell nothing
# about the sender; any other key (exif, xmp, comment, photoshop, a PNG text chunk…) is
# metadata, and its presence is what makes a copy worth writing.
TECHNICAL = frozenset({
    "jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "adobe", "adobe_transform",
    "progressive", "progression", "icc_profile", "transparency", "gamma", "srgb",
    "chromaticity", "aspect", "interlace", "background", "loop", "duration", "timestamp",
})
# …of which these go into the copy: colours and transparency must look the same
KEPT = ("icc_profile", "transparency")


class Outcome(StrEnum):
    CLEANED = "cleaned"  # a new copy without metadata: it differs from what was received
    CLEAN = "clean"  # a picture with nothing to take out: kept as received
    NOT_A_PICTURE = "not_a_picture"  # a PDF, a video…: kept as received
    # kept as received, metadata and all (logged: the office should know)
    UNREADABLE = "unreadable"  # claims to be a picture, does not decode
    NOT_REWRITTEN = "not_rewritten"  # HEIC, TIFF, GIF…: a format we do not write
    ANIMATED = "animated"  # several frames: rewriting one would lose the rest
    TOO_LARGE = "too_large"  # over MAX_PIXELS


@dataclass(frozen=True)
class Scrubbed:
    """The bytes to store, and what was done to get them."""

    data: bytes
    outcome: Outcome
    mime_type: str | None = None  # the real type (None: not recognised)

    @property
    def changed(self) -> bool:
        return self.outcome == Outcome.CLEANED

    @property
    def kept_metadata(self) -> bool:
        """A picture stored as received although it may carry a position."""
        return self.outcome in (Outcome.UNREADABLE, Outcome.NOT_REWRITTEN, Outcome.ANIMATED,
                                Outcome.TOO_LARGE)


def without_metadata(data: bytes) -> Scrubbed:
    """These bytes as they may be stored: a picture without its metadata, anything else as it
    is. Never raises for bad input: a picture that cannot be rewritten is kept as received."""
    mime = sniff(data)
    if mime is None or not mime.startswith("image/"):
        return Scrubbed(data, Outcome.NOT_A_PICTURE, mime)
    target = REWRITTEN.get(mime)
    if target is None:
        return Scrubbed(data, Outcome.NOT_REWRITTEN, mime)
    from PIL import Image  # Pillow (~3 MB) only once a picture comes: not at start-up

    try:
        return Scrubbed(*_rewrite(data, target), mime)
    except Image.DecompressionBombError:
        return Scrubbed(data, Outcome.TOO_LARGE, mime)
    # Pillow raises many kinds of errors on damaged files (OSError, SyntaxError, ValueError,
    # struct.error, EOFError…): whichever it is, the file is kept as it came
    except Exception:
        return Scrubbed(data, Outcome.UNREADABLE, mime)


def _rewrite(data: bytes, target: str) -> tuple[bytes, Outcome]:
    from PIL import Image, ImageOps  # (see without_metadata)

    with Image.open(io.BytesIO(data)) as opened:
        if opened.format not in DECODED_AS[target]:
            return data, Outcome.UNREADABLE  # the bytes said one format, Pillow read another
        width, height = opened.size
        if width * height > MAX_PIXELS:
            return data, Outcome.TOO_LARGE
        if getattr(opened, "n_frames", 1) > 1 and opened.format != "MPO":
            return data, Outcome.ANIMATED
        # a JPEG's metadata all comes before its pixels (read by `open`): one without any,
        # as Telegram's photos are, is not decoded at all
        if target == "JPEG" and opened.format == "JPEG" and not _metadata(opened):
            return data, Outcome.CLEAN
        opened.load()  # decodes all of it (a PNG's text may follow its pixels); a truncated
        # file fails here, not half-stored
        if not _metadata(opened) and opened.format != "MPO":
            return data, Outcome.CLEAN  # nothing to take out: no needless re-encoding
        upright = ImageOps.exif_transpose(opened)
        kept = {key: opened.info[key] for key in KEPT if key in opened.info}
        # the copy carries no `info` but what is kept: Pillow writes a JPEG comment, and on
        # some formats XMP, from `info` when asked for nothing
        upright.info = {}
        out = io.BytesIO()
        if target == "JPEG":
            sampling = _jpeg_sampling(opened)
            upright.save(out, "JPEG", quality=JPEG_QUALITY, icc_profile=kept.get("icc_profile"),
                         progressive=bool(opened.info.get("progressive")),
                         **({"subsampling": sampling} if sampling >= 0 else {}))
        elif target == "PNG":
            upright.save(out, "PNG", **kept)
        else:
            lossless = _webp_lossless(data)
            upright.save(out, "WEBP", lossless=lossless,
                         quality=100 if lossless else JPEG_QUALITY,
                         icc_profile=kept.get("icc_profile"))
        return out.getvalue(), Outcome.CLEANED


def _metadata(image: Image.Image) -> set[str]:
    return {str(key) for key in image.info} - TECHNICAL


def _jpeg_sampling(image: Image.Image) -> int:
    """The chroma subsampling the JPEG was made with (-1: unknown), so that the copy's
    colours are as sharp as the original's."""
    from PIL import JpegImagePlugin  # (see without_metadata)

    return JpegImagePlugin.get_sampling(image) if isinstance(
        image, JpegImagePlugin.JpegImageFile) else -1


def _webp_lossless(data: bytes) -> bool:
    """Whether a WebP file's picture is lossless (a VP8L chunk), read from its RIFF chunks;
    a lossless screenshot should not become a lossy copy."""
    offset = 12  # "RIFF", the size, "WEBP"
    while offset + 8 <= len(data):
        fourcc = data[offset:offset + 4]
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc == b"VP8L"
        (size,) = struct.unpack("<I", data[offset + 4:offset + 8])
        offset += 8 + size + (size & 1)  # chunks are padded to an even length
    return False
