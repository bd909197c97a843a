"""A known set of tickets whose trends and figures were computed by hand (tests/test_charts.py
checks them; the report tests draw from them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from storage.db import Database
from storage.models import Building, Ticket, Unit

OFFICE = ZoneInfo("Asia/Shanghai")  # UTC+8: local midnight is 16:00 UTC the day before
START = datetime(2026, 11, 1, tzinfo=OFFICE)  # a Sunday
END = datetime(2026, 11, 8, tzinfo=OFFICE)
H = timedelta(hours=1)
# label: (office time of creation, category, (building, unit), hours to resolve, rating)
TICKETS = {
    "t1": (datetime(2026, 11, 1, 9, 0, tzinfo=OFFICE), "water", ("A", "101"), 2, 5),
    # t2 is on Nov 1 local, t3 on Nov 2 local: the same UTC day
    "t2": (datetime(2026, 11, 1, 23, 30, tzinfo=OFFICE), "water", ("A", "201"), 10, 4),
    "t3": (datetime(2026, 11, 2, 0, 30, tzinfo=OFFICE), "electric", ("A", "201"), 30, 2),
    # 4 h: the 4–24 h range
    "t4": (datetime(2026, 11, 2, 12, 0, tzinfo=OFFICE), "water", ("B", "101"), 4, 3),
    "t5": (datetime(2026, 11, 4, 8, 0, tzinfo=OFFICE), "noise", ("B", "1001"), 100, None),
    "t6": (datetime(2026, 11, 7, 23, 59, tzinfo=OFFICE), "noise", None, 200, 5),
    "t7": (datetime(2026, 11, 5, 10, 0, tzinfo=OFFICE), "water", ("A", "101"), None, None),
    "t8": (datetime(2026, 11, 3, 14, 0, tzinfo=OFFICE), "lift", ("B", "901"), 50, 4),
    # outside the period, by half an hour of local time on either side
    "before": (datetime(2026, 10, 31, 23, 30, tzinfo=OFFICE), "water", ("A", "101"), 1, 1),
    "after": (datetime(2026, 11, 8, 0, 30, tzinfo=OFFICE), "water", ("A", "101"), 1, 1),
}
FLOORS = {("A", "101"): "1", ("A", "201"): "2", ("B", "101"): None, ("B", "901"): "9",
          ("B", "1001"): "10"}


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        buildings = {name: Building(name=name) for name in ("A", "B")}
        units = {key: Unit(building=buildings[key[0]], number=key[1], floor=floor)
                 for key, floor in FLOORS.items()}
        session.add_all([*buildings.values(), *units.values()])
        await session.flush()
        for label, (local, category, unit, hours, rating) in TICKETS.items():
            created = local.astimezone(UTC)
            ticket = Ticket(submission_key=label, category_code=category,
                            description=f"ticket {label}", status="new", created_at=created,
                            ack_due_at=created + 4 * H, resolve_due_at=created + 72 * H,
                            unit_id=units[unit].id if unit else None, rating=rating)
            if hours is not None:
                ticket.status = "resolved"
                ticket.resolved_at = created + hours * H  # keeps resolve_seconds
            session.add(ticket)
