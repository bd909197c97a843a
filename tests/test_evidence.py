"""Evidence: what a file really is (filetype reads its bytes), which kinds are kept, how
one report's files go to the staff thread in groups Telegram accepts (SQLite, PostgreSQL), and
pictures kept and forwarded without their location (EXIF), end to end."""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from pathlib import Path
from typing import cast

import openpyxl
import pytest
from PIL import ExifTags, Image, PngImagePlugin

from bot.demo import tiny_png
from bot.telegram.media import MediaStore
from bot.telegram.transport import Transport
from storage.db import Database
from storage.models import OutboxMessage, Resident
from tests.chats import register, report_to_files
from tests.office import M4A, MP4, OGG, PDF, Office
from tests.office import evidence_posts as thread_files
from tests.pictures import RED, assert_no_metadata, located
from tests.records import rows, setup
from tickets.evidence import MediaProblem, check_content, check_declared, upload_kind
from tickets.inputs import Submission
from tickets.notices import Evidence, TicketNotice
from tickets.pictures import Outcome, without_metadata
from tickets.service import TicketService

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 60


def xlsx() -> bytes:
    book, out = openpyxl.Workbook(), io.BytesIO()
    book.active["A1"] = "water meter 2-301: 1234.5"
    book.save(out)
    return out.getvalue()


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


@pytest.mark.parametrize(("kind", "data", "problem"), [
    ("photo", JPEG, None),
    ("voice", OGG, None),
    ("video", MP4, None),
    ("audio", M4A, None),  # an M4A is audio, not a video
    ("audio", MP4, None),  # …also when its encoder labelled the container as MP4
    ("audio", b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 20, None),  # MP3
    ("document", PDF, None),
    ("document", xlsx(), None),
    ("document", docx(), None),
    ("document", JPEG, None),  # a picture sent as a file
    ("document", EXE, MediaProblem.MISMATCH),  # a program named invoice.pdf
    ("voice", M4A[:8] + b"not audio", MediaProblem.MISMATCH),
    ("video", M4A, MediaProblem.MISMATCH),
    ("photo", PDF, MediaProblem.MISMATCH),
])
def test_a_file_is_what_its_bytes_say(kind: str, data: bytes, problem: MediaProblem | None
                                      ) -> None:
    assert check_content(kind, data) == problem


def test_documents_are_refused_by_their_declared_type_before_downloading() -> None:
    assert check_declared("document", "application/pdf", 1000) is None
    assert check_declared("document", "application/zip", 1000) == MediaProblem.UNSUPPORTED
    assert check_declared("document", "application/x-msdownload", 10) == MediaProblem.UNSUPPORTED
    # an app that does not know the type: the bytes decide after the download
    assert check_declared("document", "application/octet-stream", 1000) is None
    assert check_declared("document", "application/pdf", 21 * 1024 * 1024) == (
        MediaProblem.TOO_BIG)


def test_an_upload_is_kept_as_the_kind_its_bytes_are() -> None:
    assert upload_kind(PDF) == ("document", "application/pdf")
    assert upload_kind(OGG) == ("voice", "audio/ogg")
    assert upload_kind(M4A) == ("audio", "audio/mp4")
    assert upload_kind(EXE) == MediaProblem.UNSUPPORTED


def test_an_evidence_row_queued_before_groups_still_reads() -> None:
    assert TicketNotice.read({"kind": "evidence", "ticket_id": 7}) == Evidence(7)
    grouped = Evidence(7, files=(3, 4))
    assert TicketNotice.read(grouped.to_payload()) == grouped
    assert TicketNotice.read({"kind": "evidence", "ticket_id": 7, "files": "3,4"}) is None


def media(kind: str, n: int) -> dict[str, object]:
    return {"kind": kind, "file_id": f"{kind}-{n}", "file_unique_id": f"u-{kind}-{n}",
            "size": 100}


async def test_one_reports_files_go_in_groups_telegram_accepts(db: Database) -> None:
    resident_id, *_ = await setup(db)
    files = ([media("photo", n) for n in range(6)] + [media("voice", 1), media("video", 1)]
             + [media("photo", n) for n in range(6, 12)] + [media("document", 1),
                                                             media("voice", 2),
                                                             media("audio", 1),
                                                             media("document", 2)])
    async with db.transaction() as session:
        resident = await session.get(Resident, resident_id)
        assert resident is not None
        ticket, _ = await TicketService(session, staff_chat_id=-100).submit(
            resident, Submission("k", "water", "Water through the ceiling", evidence=files))
        kind_of = {a.id: a.file_id for a in ticket.attachments}
        posted = [TicketNotice.read(o.payload) for o in await rows(session, OutboxMessage)]
    groups = [[kind_of[i] for i in notice.files] for notice in posted
              if isinstance(notice, Evidence)]
    visual = [f"photo-{n}" for n in range(6)] + ["video-1"] + [f"photo-{n}" for n in range(6, 12)]
    assert groups == [visual[:10], visual[10:], ["voice-1"], ["voice-2"],
                      ["document-1", "document-2"], ["audio-1"]]


# --- pictures without their location --------------------------------------------------------



def test_a_jpeg_loses_its_location_and_camera_and_stands_upright() -> None:
    data = located(comment=b"taken at home, 3-1202")
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # (it had one)
    scrubbed = without_metadata(data)
    assert scrubbed.outcome == Outcome.CLEANED and scrubbed.changed
    assert_no_metadata(scrubbed.data)
    assert b"3-1202" not in scrubbed.data
    assert without_metadata(scrubbed.data).outcome == Outcome.CLEAN  # nothing left to take


def test_a_png_loses_its_text_chunks_and_exif_and_keeps_its_pixels() -> None:
    chunks = PngImagePlugin.PngInfo()
    chunks.add_text("Comment", "Li Wei, 3-1202")
    chunks.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS 39.9</x:xmpmeta>")
    data = located("PNG", pnginfo=chunks)
    scrubbed = without_metadata(data)
    assert scrubbed.outcome == Outcome.CLEANED
    picture = assert_no_metadata(scrubbed.data, "PNG")
    assert not picture.info and b"Li Wei" not in scrubbed.data and b"xmpmeta" not in scrubbed.data
    upright = Image.open(io.BytesIO(data)).transpose(Image.Transpose.ROTATE_270)
    assert picture.tobytes() == upright.tobytes()  # lossless: the same pixels, turned


def test_a_lossless_webp_stays_a_lossless_webp_without_exif() -> None:
    scrubbed = without_metadata(located("WEBP", lossless=True, xmp=b"<x>GPS</x>"))
    assert scrubbed.outcome == Outcome.CLEANED and b"VP8L" in scrubbed.data[:64]
    assert_no_metadata(scrubbed.data, "WEBP")


def test_a_picture_with_nothing_to_take_out_is_kept_byte_for_byte() -> None:
    """As Telegram's photos come (no EXIF): not encoded again, so no quality is lost."""
    plain = io.BytesIO()
    Image.new("RGB", (8, 8), RED).save(plain, "JPEG")
    for data in (plain.getvalue(), tiny_png((1, 2, 3))):
        scrubbed = without_metadata(data)
        assert scrubbed.outcome == Outcome.CLEAN and scrubbed.data == data


@pytest.mark.parametrize(("data", "outcome"), [
    (PDF, Outcome.NOT_A_PICTURE),
    (xlsx(), Outcome.NOT_A_PICTURE),
    (located()[:300], Outcome.UNREADABLE),  # a broken JPEG: its head, with the position
    (b"\xff\xd8\xff\xe1" + b"\x00" * 200, Outcome.UNREADABLE),  # a JPEG in name only
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
     Outcome.NOT_REWRITTEN),  # HEIC: Pillow cannot decode it
])
def test_what_cannot_be_rewritten_is_kept_as_received(data: bytes, outcome: Outcome) -> None:
    scrubbed = without_metadata(data)
    assert scrubbed.outcome == outcome and scrubbed.data == data and not scrubbed.changed
    assert scrubbed.kept_metadata == (outcome != Outcome.NOT_A_PICTURE)


def media_store(tmp_path: Path, *, keep_originals: bool = False) -> MediaStore:
    return MediaStore(cast("Transport", None), tmp_path / "media", keep_originals=keep_originals)


def test_the_store_keeps_both_hashes_and_no_original_unless_asked(tmp_path: Path) -> None:
    data = located()
    stored = media_store(tmp_path).store(data)
    assert stored.received_sha256 == hashlib.sha256(data).hexdigest()
    assert stored.sha256 == hashlib.sha256(stored.path.read_bytes()).hexdigest() != (
        stored.received_sha256)
    assert stored.path.suffix == ".jpg" and stored.size == len(stored.path.read_bytes())
    assert stored.original_path is None and not (tmp_path / "media" / "originals").exists()
    assert_no_metadata(stored.path.read_bytes())
    pdf = media_store(tmp_path).store(PDF)  # not a picture: as it came, one hash
    assert pdf.path.read_bytes() == PDF and pdf.received_sha256 is None


def test_keep_original_files_keeps_the_original_byte_for_byte(tmp_path: Path) -> None:
    data = located()
    stored = media_store(tmp_path, keep_originals=True).store(data)
    assert stored.original_path is not None and stored.original_path.read_bytes() == data
    assert stored.original_path.is_relative_to(tmp_path / "media" / "originals")
    assert stored.path.read_bytes() != data
    # a file kept as received has no second copy
    assert media_store(tmp_path, keep_originals=True).store(PDF).original_path is None


def test_a_broken_picture_is_stored_as_received_with_a_warning_naming_no_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = located(comment=b"Li Wei")[:400]
    with caplog.at_level(logging.WARNING, "bot.telegram.media"):
        stored = media_store(tmp_path).store(broken)
    assert stored.path.read_bytes() == broken and stored.received_sha256 is None
    [warning] = caplog.records
    assert "image/jpeg" in warning.getMessage() and "unreadable" in warning.getMessage()
    assert "Li Wei" not in warning.getMessage()


async def report_with_a_located_picture(office: Office, picture: bytes) -> None:
    resident = office.resident
    await register(resident, "Wang Fang", "2-301")
    await report_to_files(resident, "Water & plumbing",
                          "Water comes through the bathroom ceiling since this morning.")
    # a picture sent as a file, not as a photo: Telegram leaves its EXIF in
    await resident.send_document(picture, "IMG_2041.JPG", "image/jpeg")
    assert "attached" in resident.last_text
    await resident.click("✅ Done")
    await resident.click("Normal")
    await resident.click("✅ Confirm")


async def test_a_picture_sent_as_a_file_is_kept_and_forwarded_without_its_location(
        office: Office) -> None:
    picture = located()
    await report_with_a_located_picture(office, picture)
    await office.settle(lambda: office.card_text() != "")
    card = office.card()
    await office.settle(lambda: len(thread_files(office, card)) == 1)
    [attachment] = (await office.ticket()).attachments
    assert attachment.received_sha256 == hashlib.sha256(picture).hexdigest()
    stored = Path(attachment.local_path or "")
    kept = stored.read_bytes()  # noqa: ASYNC240
    assert attachment.sha256 == hashlib.sha256(kept).hexdigest() != attachment.received_sha256
    assert stored.is_relative_to(office.harness.settings.office.media_dir)
    assert attachment.original_path is None
    assert_no_metadata(kept)
    # the staff group gets the stored copy, uploaded: not Telegram's file, which has the GPS
    [post] = thread_files(office, card)
    assert post.kind == "document" and post.file_id != attachment.file_id
    assert office.emulator.sent_files[post.file_id or ""] == kept

    # a picture added later (My tickets → Add information) goes to the thread the same way
    resident = office.resident
    await resident.send("/mytickets")
    await resident.click(resident.last.inline_buttons[0][0].text)
    await resident.click("➕ Add information")
    await resident.send_document(located(orientation=8), "IMG_2042.JPG", "image/jpeg")
    await office.settle(lambda: len(thread_files(office, card)) == 2)
    added = thread_files(office, card)[-1]
    sent = office.emulator.sent_files.get(added.file_id or "")
    assert sent is not None, "the added picture was re-sent by Telegram's id, GPS and all"
    exif = Image.open(io.BytesIO(sent)).getexif()
    assert not dict(exif) and not exif.get_ifd(ExifTags.IFD.GPSInfo)


@pytest.mark.parametrize("office", [{"keep_original_files": True}], indirect=True)
async def test_keep_original_files_keeps_what_the_resident_sent(office: Office) -> None:
    picture = located()
    await report_with_a_located_picture(office, picture)
    await office.settle(lambda: office.card_text() != "")
    [attachment] = (await office.ticket()).attachments
    original = Path(attachment.original_path or "")
    assert original.read_bytes() == picture  # noqa: ASYNC240
    assert original.is_relative_to(office.harness.settings.office.media_dir / "originals")
    assert_no_metadata(Path(attachment.local_path or "").read_bytes())  # noqa: ASYNC240
