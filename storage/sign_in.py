"""Who is signed in to the office console: sessions and one-time sign-in links.

Tokens are random (`secrets.token_urlsafe`), handed out once (a cookie, a link) and kept only as
their SHA-256, so a copy of the database or a log of it signs nobody in. A session is valid
while it has not expired and its staff member is active: removing someone ends their
sessions at once, whether or not the rows are deleted too (`end_all`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from storage.models import ConsoleSession, SignInLink, Staff
from storage.repositories import Repository

SIGN_IN_LINK_LIFETIME = timedelta(minutes=10)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class NewSession:
    """A session just opened: the cookie's token (never stored) and its row."""

    token: str
    row: ConsoleSession


class ConsoleSessions(Repository):
    async def open(self, staff: Staff, now: datetime, lifetime: timedelta) -> NewSession:
        token = new_token()
        row = ConsoleSession(token_hash=token_hash(token), staff_id=staff.id, staff=staff,
                             csrf_token=new_token(), created_at=now, expires_at=now + lifetime)
        self.session.add(row)
        await self.session.flush()
        return NewSession(token, row)

    async def current(self, token: str, now: datetime) -> ConsoleSession | None:
        """The live session of this cookie token, if its staff member is still active."""
        row = await self.session.scalar(
            select(ConsoleSession).join(ConsoleSession.staff)
            .where(ConsoleSession.token_hash == token_hash(token),
                   ConsoleSession.expires_at > now, Staff.active.is_(True)))
        return row

    async def close(self, token: str) -> None:
        await self.session.execute(
            delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token)))

    async def end_all(self, staff_id: int) -> int:
        """Sign this person out everywhere (removed, or their role changed)."""
        result = await self.session.execute(
            delete(ConsoleSession).where(ConsoleSession.staff_id == staff_id))
        await self.session.execute(
            delete(SignInLink).where(SignInLink.staff_id == staff_id))
        return int(getattr(result, "rowcount", 0) or 0)

    async def forget_expired(self, now: datetime) -> None:
        await self.session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
        await self.session.execute(delete(SignInLink).where(SignInLink.expires_at <= now))


class SignInLinks(Repository):
    async def issue(self, staff: Staff, now: datetime) -> str:
        """A new one-time token for this staff member; valid for ten minutes."""
        token = new_token()
        self.session.add(SignInLink(token_hash=token_hash(token), staff_id=staff.id,
                                    created_at=now, expires_at=now + SIGN_IN_LINK_LIFETIME))
        await self.session.flush()
        return token

    async def redeem(self, token: str, now: datetime) -> Staff | None:
        """The active staff member this unused, unexpired token was issued to, once: the token
        is spent by this call (atomically, so two tabs racing get one session)."""
        hashed = token_hash(token)
        spent = await self.session.execute(
            update(SignInLink)
            .where(SignInLink.token_hash == hashed, SignInLink.used_at.is_(None),
                   SignInLink.expires_at > now)
            .values(used_at=now))
        if not getattr(spent, "rowcount", 0):
            return None
        return await self.session.scalar(
            select(Staff).join(SignInLink, SignInLink.staff_id == Staff.id)
            .where(SignInLink.token_hash == hashed, Staff.active.is_(True)))

    async def valid(self, token: str, now: datetime) -> bool:
        """Whether the link would still sign someone in (shown before it is spent)."""
        found = await self.session.scalar(
            select(SignInLink.token_hash).join(Staff, SignInLink.staff_id == Staff.id)
            .where(SignInLink.token_hash == token_hash(token), SignInLink.used_at.is_(None),
                   SignInLink.expires_at > now, Staff.active.is_(True)))
        return found is not None
