"""The files of a resident's copy of their data (/mydata), made when the outbox sends them:
the JSON document (tickets/personal_copy.py says what is in it) and the ZIPs of their
evidence, read from MEDIA_DIR."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from conversations.events import FileRef, Reply
from locales import gettext_for
from storage.models import Attachment, Resident, utcnow
from storage.personal_data import PersonalData
from tickets.notices import PersonalDataCopy
from tickets.personal_copy import document, evidence_names

log = logging.getLogger(__name__)


async def copy_reply(session: AsyncSession, copy: PersonalDataCopy) -> Reply | None:
    """One file of the copy as a document; None when the resident is gone (erased since)."""
    resident = await session.get(Resident, copy.resident_id)
    if resident is None or resident.erased_at is not None:
        return None
    _ = gettext_for(copy.lang)
    facts = await PersonalData(session).copy_facts(resident)
    made = utcnow()
    if copy.part == 0:
        data = json.dumps(document(facts, made), ensure_ascii=False, indent=2).encode()
        caption = _("Your personal data as the office keeps it (your profile and tickets).")
        name = f"my-data-{made:%Y-%m-%d}.json"
    else:
        names = evidence_names(facts.tickets)
        chosen = [a for t in facts.tickets for a in t.attachments
                  if a.id in copy.files and a.id in names]
        data = await asyncio.to_thread(zip_files, chosen, names)
        caption = _("Your evidence files, part %(part)d of %(parts)d.") % {
            "part": copy.part, "parts": copy.parts - 1}
        name = f"my-files-{made:%Y-%m-%d}-{copy.part}.zip"
    return Reply(caption, file=FileRef("document", "", data=data, name=name))


def zip_files(attachments: Sequence[Attachment], names: dict[int, str]) -> bytes:
    """The files, stored as they are (pictures and recordings do not shrink)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for attachment in attachments:
            try:
                archive.writestr(names[attachment.id],
                                 Path(attachment.local_path or "").read_bytes())
            except OSError as error:  # (deleted meanwhile: the JSON still lists it)
                log.warning("an evidence file is missing from the copy: %s", error.strerror)
    return buffer.getvalue()
