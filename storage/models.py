"""SQLAlchemy 2 models: the whole schema. Migrations in `storage/migrations` follow this file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone and returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
    }


class Building(Base):
    __tablename__ = "buildings"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    units: Mapped[list[Unit]] = relationship(back_populates="building")


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("building_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    number: Mapped[str] = mapped_column(String(32))
    floor: Mapped[str | None] = mapped_column(String(16))
    building: Mapped[Building] = relationship(back_populates="units", lazy="joined")

    @property
    def label(self) -> str:
        return f"{self.building.name}-{self.number}"


class UnitInvite(Base):
    """A deep-link token (`/start <token>`) that binds a resident to a unit without typing it."""

    __tablename__ = "unit_invites"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_by_resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    unit: Mapped[Unit] = relationship(lazy="joined")


class Resident(Base):
    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(primary_key=True)
    # None once erased (the resident asked to be forgotten, or the retention period ended)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    unit_text: Mapped[str | None] = mapped_column(String(64))  # free text when no unit list
    unit_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(16))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the privacy notice they agreed to (its version), and when
    privacy_version: Mapped[str | None] = mapped_column(String(32))
    privacy_agreed_at: Mapped[datetime | None] = mapped_column()
    data_copy_at: Mapped[datetime | None] = mapped_column()  # their last copy (/mydata)
    erased_at: Mapped[datetime | None] = mapped_column()
    # the office's announcements muted (/settings); their own tickets' news always comes
    announcements_muted: Mapped[bool] = mapped_column(Boolean, default=False,
                                                      server_default=false())
    unit: Mapped[Unit | None] = relationship(lazy="joined")

    @property
    def unit_label(self) -> str:
        return self.unit.label if self.unit else (self.unit_text or "")


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | manager
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The guided staff action in progress (investigation, resolution, intake…), if any: one at
    # a time per person, wherever they started it.
    dialog: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    language: Mapped[str | None] = mapped_column(String(16))  # chosen in the console
    # a manager's escalations and missed deadlines also in their private chat (/alerts)
    alerts_in_private: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


class ConsoleSession(Base):
    """A staff member signed in to the console. The cookie holds a random token; only its
    SHA-256 is kept, so a copy of the database signs nobody in."""

    __tablename__ = "console_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    staff: Mapped[Staff] = relationship(lazy="joined")


class SignInLink(Base):
    """A one-time link to the console that the bot sent a staff member (hashed as above)."""

    __tablename__ = "console_sign_in_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # Titles per language ({"en": …, "zh_Hans": …}); empty means "use the built-in translation".
    titles: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # a dispute between residents (neighbour dispute, noise): the office may mediate with the
    # other party, and the complainant stays anonymous to them
    dispute: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # (How long a category may take is the SLA policy's business: tickets/sla.py, SLA_FILE.)


class Incident(Base):
    """One outage, many reports (tickets/incidents.py): the ticket staff marked leads it, and
    new reports of its category from its scope are linked to it while it is open. Planned
    works (an announcement's) have no lead until the first report in their window."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), unique=True)
    category_code: Mapped[str] = mapped_column(String(32))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)  # tickets.scope.Scope
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    # planned works (an announcement's window): reports are linked from `starts_at`
    starts_at: Mapped[datetime | None] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    scope_text: Mapped[str | None] = mapped_column(String(200))  # planned works': in words


class Announcement(Base):
    """A notice from the office to the residents of a scope, now or at a set time."""

    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)  # tickets.scope.Scope
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)  # by language ("*": for everyone)
    photo_path: Mapped[str | None] = mapped_column(String(512))  # a kept upload
    photo_file_id: Mapped[str | None] = mapped_column(String(256))  # sent in the group
    send_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column()  # its recipients' rows written
    cancelled_at: Mapped[datetime | None] = mapped_column()
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    # the console's form (random): the same form sent twice is one announcement
    form_key: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)


class AnnouncementDelivery(Base):
    """One resident's copy of an announcement: exactly one per resident."""

    __tablename__ = "announcement_deliveries"
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id"),
                                                 primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # queued | sent | unreachable | muted
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)


class ReplyTemplate(Base):
    """A text the office often sends (tickets/templates.py): per language, with placeholders
    such as the ticket's number; staff pick it when messaging, resolving or rejecting."""

    __tablename__ = "reply_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # message | resolve | reject
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # by language
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


LINKED = text("incident_id IS NOT NULL")  # a report linked to an incident


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)  # one draft -> one ticket
    # None for a complaint taken by phone, e-mail or at the desk from someone not (yet)
    # registered; it becomes theirs when they register with the same phone number.
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    contact_name: Mapped[str | None] = mapped_column(String(128))
    contact_phone: Mapped[str | None] = mapped_column(String(32), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    unit_text: Mapped[str] = mapped_column(String(128), default="")  # building + "-" + unit
    category_code: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    status: Mapped[str] = mapped_column(String(24), index=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    severity: Mapped[str | None] = mapped_column(String(16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    escalated_at: Mapped[datetime | None] = mapped_column()
    # the latest earlier ticket of the same unit and category within the repeat window
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # investigation record (complaint-process step 4)
    site_visit_at: Mapped[datetime | None] = mapped_column()
    site_visit_by: Mapped[str | None] = mapped_column(String(128))
    findings: Mapped[str | None] = mapped_column(Text)
    interviewed: Mapped[str | None] = mapped_column(Text)
    cause_category: Mapped[str | None] = mapped_column(String(32))
    cause: Mapped[str | None] = mapped_column(Text)
    resolution_type: Mapped[str | None] = mapped_column(String(16))
    resolution_text: Mapped[str | None] = mapped_column(Text)
    improvement_measures: Mapped[str | None] = mapped_column(Text)
    follow_up_at: Mapped[datetime | None] = mapped_column()
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    # Seconds from creation to acknowledgement / to the latest resolution, kept with the times
    # they derive from: statistics sort these numbers, not a million parsed timestamps.
    acknowledge_seconds: Mapped[int | None] = mapped_column(Integer)
    resolve_seconds: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column()
    ack_due_at: Mapped[datetime] = mapped_column()
    resolve_due_at: Mapped[datetime] = mapped_column()
    # the resolve clock stopped at this time: the office waits for the resident's answer
    resolve_paused_at: Mapped[datetime | None] = mapped_column()
    # a report linked to an incident (tickets/incidents.py): worked as part of it
    # (use_alter: incidents point to their lead ticket as well, a cycle the DDL breaks)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", use_alter=True, name="fk_tickets_incident_id_incidents"))
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)  # in the staff group
    # Bumped by every change of the row: a button on an older card, or a second staff member
    # acting at the same moment, is refused instead of overwriting (SQLAlchemy checks it).
    version: Mapped[int] = mapped_column(Integer, default=1)
    resident: Mapped[Resident | None] = relationship(lazy="joined")
    assignee: Mapped[Staff | None] = relationship(lazy="joined")
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", lazy="selectin"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="ticket", order_by="Attachment.id", lazy="selectin"
    )
    category: Mapped[Category | None] = relationship(
        primaryjoin="foreign(Ticket.category_code) == Category.code", viewonly=True,
        lazy="joined")
    # in a dispute: the other party the office mediates with (tickets.service.contact_party)
    party: Mapped[TicketParty | None] = relationship(lazy="selectin", uselist=False)
    # the answers to the category's own questions (tickets.questions), in the order asked
    details: Mapped[list[TicketDetail]] = relationship(
        order_by="TicketDetail.id", lazy="selectin"
    )
    incident: Mapped[Incident | None] = relationship(foreign_keys=[incident_id], lazy="joined")
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it
    __table_args__ = (
        # Statistics read a period's tickets from this index alone (no table lookups), and
        # the export walks it in creation order. It and ix_tickets_period_groups end with
        # incident_id: a report linked to an incident is not counted as a complaint of its
        # own, and that is read from the index too (migration 0022).
        Index("ix_tickets_period", "created_at", "status", "category_code", "channel", "unit_id",
              "acknowledged_at", "ack_due_at", "resolved_at", "resolve_due_at", "rating",
              "reopen_count", "cause_category", "acknowledge_seconds", "resolve_seconds",
              "incident_id"),
        Index("ix_tickets_repeat", "unit_text", "category_code", "created_at"),
        Index("ix_tickets_open_due", "status", "resolve_due_at", "acknowledged_at",
              "ack_due_at"),  # the overdue list
        # A period counted per status/category/channel, unit, cause: led by those few-valued
        # columns, SQLite skips through them (skip-scan) instead of sorting the period's tickets.
        Index("ix_tickets_period_groups", "status", "category_code", "channel", "created_at",
              "acknowledged_at", "ack_due_at", "resolved_at", "resolve_due_at", "rating",
              "reopen_count", "acknowledge_seconds", "resolve_seconds", "incident_id"),
        Index("ix_tickets_period_units", "unit_id", "created_at"),
        Index("ix_tickets_period_causes", "cause_category", "created_at"),
        # The linked reports alone (a few in a hundred): an incident's reports; a period's
        # linked reports, counted apart (their ratings; taken off the counts per unit and
        # cause); the late ones, taken off the overdue count. Partial, so that
        # `incident_id IS NULL` (most tickets) is never looked up in them: SQLite's planner
        # took that for a few rows.
        Index("ix_tickets_incident_id", "incident_id", sqlite_where=LINKED,
              postgresql_where=LINKED),
        Index("ix_tickets_linked_period", "created_at", "rating", "resolved_at", "reopen_count",
              "unit_id", "cause_category", "incident_id", sqlite_where=LINKED,
              postgresql_where=LINKED),
        Index("ix_tickets_linked_open_due", "status", "resolve_due_at", "acknowledged_at",
              "ack_due_at", "incident_id", sqlite_where=LINKED, postgresql_where=LINKED),
        # the console's queue filtered by assignee ("mine") or urgency, counted per status
        Index("ix_tickets_assignee", "assignee_id", "status", "created_at"),
        Index("ix_tickets_priority", "priority", "status", "created_at"),
        # a resident's tickets; the console's search counts them per status from it alone
        Index("ix_tickets_resident", "resident_id", "status"),
        # (the search's trigram index is no model's: storage/search.py)
    )

    @validates("acknowledged_at", "resolved_at")
    def _keep_seconds(self, key: str, moment: datetime | None) -> datetime | None:
        seconds = (None if moment is None or self.created_at is None
                   else round((moment - self.created_at).total_seconds()))
        if key == "acknowledged_at":
            self.acknowledge_seconds = seconds
        else:
            self.resolve_seconds = seconds
        return moment

    @property
    def complainant(self) -> str:
        return self.resident.name if self.resident else (self.contact_name or "")

    @property
    def phone(self) -> str:
        return self.resident.phone if self.resident else (self.contact_phone or "")


class TicketEvent(Base):
    """The timeline and audit trail: status changes, messages, evidence, notes."""

    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    # status | message (resident) | evidence | staff_message | note (internal) | assigned |
    # escalated | investigation | resolution | survey | reminder | follow_up | delivery |
    # deadline (moved after a wait for the resident, or fresh on reopening)
    kind: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    actor_type: Mapped[str] = mapped_column(String(16))  # resident | staff | system
    actor_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ticket: Mapped[Ticket] = relationship(back_populates="events")


class ResidentChange(Base):
    """A resident changed their own details (/profile): what, from what, to what, when."""

    __tablename__ = "resident_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    field: Mapped[str] = mapped_column(String(16))  # name | phone | unit
    old: Mapped[str | None] = mapped_column(String(128))
    new: Mapped[str | None] = mapped_column(String(128))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class PersonalDataView(Base):
    """A staff member opened a resident's phone number or their files in the console."""

    __tablename__ = "personal_data_views"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    what: Mapped[str] = mapped_column(String(16))  # phone | file
    viewed_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketParty(Base):
    """The other party of a dispute: their unit, their resident record when they use the bot,
    how the office reached them (bot | visit | call), and the agreement reached."""

    __tablename__ = "ticket_parties"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    unit_text: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    method: Mapped[str] = mapped_column(String(8))  # bot | visit | call (the latest contact)
    agreement: Mapped[str | None] = mapped_column(Text)
    agreed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resident: Mapped[Resident | None] = relationship(lazy="joined")


class TicketDetail(Base):
    """One answer to a category's question: the question's code and the answer (a choice's
    code, yes / no, or a short text)."""

    __tablename__ = "ticket_details"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    question: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(200))


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(128))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the stored copy
    # of the bytes as received, when the copy differs (a picture's location taken out)
    received_sha256: Mapped[str | None] = mapped_column(String(64))
    local_path: Mapped[str | None] = mapped_column(String(512))
    original_path: Mapped[str | None] = mapped_column(String(512))  # KEEP_ORIGINAL_FILES
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ticket: Mapped[Ticket] = relationship(back_populates="attachments")


class ConversationState(Base):
    """Where each chat stands in its dialogue; survives restarts and is shared by workers."""

    __tablename__ = "conversation_states"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    flow: Mapped[str] = mapped_column(String(32), default="")
    step: Mapped[str] = mapped_column(String(32), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # The chat's last update ids: a redelivered update is recognised here, in the row that is
    # read and written anyway, instead of in a table of its own (one statement less each).
    recent_updates: Mapped[list[int]] = mapped_column(JSON, default=list)
    # What the bot answered to the chat's last update (conversations.events.Answer), written
    # with it: a redelivery of that update — a crash before the answer went out — sends it
    # again, so answers are at least once, like notifications.
    last_answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxMessage(Base):
    """Notifications written with the change that caused them; a notifier delivers them, in
    order per chat. state: pending | sent | failed (gave up) | unreachable (blocked us)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    # the notifier sending it now, and until when (a replica that dies frees it then)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column()


class MessageLink(Base):
    """Which ticket a message we sent belongs to: a reply to it (a staff member's in the card's
    thread, a resident's to a relayed message) goes to that ticket."""

    __tablename__ = "message_links"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"))
    kind: Mapped[str | None] = mapped_column(String(24))  # what the message was (card, …)


class Survey(Base):
    """One satisfaction survey per resolution (round = the ticket's reopen count then)."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("ticket_id", "round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    fixed: Mapped[str | None] = mapped_column(String(8))  # yes | partly | no
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()
    ticket: Mapped[Ticket] = relationship(lazy="joined")


class CallBack(Base):
    """The call-back (回访) after a ticket closed: is the problem still solved? One per
    closing (round = the ticket's reopen count then). outcome: held | recurred | unanswered
    (None: asked, no answer yet)."""

    __tablename__ = "call_backs"
    __table_args__ = (UniqueConstraint("ticket_id", "round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(16))
    ticket: Mapped[Ticket] = relationship(lazy="joined")


class Timer(Base):
    """Something to do at a time (survey reminder, auto-close, follow-up); fires exactly once.

    In the database, so a restart forgets none."""

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("ticket_id", "kind", "round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(24))
    round: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(index=True)
    fired_at: Mapped[datetime | None] = mapped_column()
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class WeeklyReport(Base):
    """One weekly report per report day: queued once, however many schedulers look."""

    __tablename__ = "weekly_reports"
    report_day: Mapped[date] = mapped_column(Date, primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
