"""Evidence: what a file really is (filetype reads its bytes), which kinds are kept, and how
one report's files go to the staff thread in groups Telegram accepts (SQLite, PostgreSQL)."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from storage.db import Database
from storage.models import OutboxMessage, Resident
from tests.records import rows, setup
from tests.test_e2e_staff import M4A, MP4, OGG, PDF
from tickets.evidence import MediaProblem, check_content, check_declared, upload_kind
from tickets.notices import Evidence, TicketNotice
from tickets.service import Submission, TicketService

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
