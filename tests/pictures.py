"""Pictures as a phone writes them (a position, a camera, an orientation), and the check that
a stored or sent copy has none of it: shared by the evidence and the announcement tests."""

from __future__ import annotations

import io
from typing import Any

from PIL import ExifTags, Image

RED, BLUE = (220, 20, 20), (20, 20, 220)


def located(picture_format: str = "JPEG", *, orientation: int = 6, **save: Any) -> bytes:
    """A 40×20 picture, red left and blue right, as a phone writes it: its GPS position, the
    camera, and an orientation tag (6: shown turned a quarter clockwise, so 20×40, red on
    top)."""
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Phone maker", "Phone 15"
    exif[ExifTags.Base.BodySerialNumber] = "SN-0042"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (39.0, 54.0, 27.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (116.0, 23.0, 5.0)
    out = io.BytesIO()
    image.save(out, picture_format, exif=exif, **save)
    return out.getvalue()


def assert_no_metadata(data: bytes, picture_format: str = "JPEG") -> Image.Image:
    """The picture has no EXIF (no position, no camera) and stands upright: 20×40, red on top."""
    picture = Image.open(io.BytesIO(data))
    assert picture.format == picture_format
    exif = picture.getexif()
    assert not dict(exif) and not exif.get_ifd(ExifTags.IFD.GPSInfo), dict(exif)
    assert not {"exif", "xmp", "comment"} & set(picture.info), picture.info
    assert b"SN-0042" not in data and b"Phone maker" not in data
    assert picture.size == (20, 40)
    rgb = picture.convert("RGB")
    top, bottom = rgb.getpixel((10, 5)), rgb.getpixel((10, 35))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0], (top, bottom)
    return picture
