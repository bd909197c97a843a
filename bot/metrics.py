"""What `GET /metrics` shows (Prometheus text format): the process's own counters, and the
outbox and timers as the database has them at the moment of the scrape. No label carries
anything personal: outcomes and kinds are a handful of fixed words."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from storage.db import Database
from storage.models import utcnow
from storage.repositories import Outbox, Timers

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()  # one per desk: tests run several side by side
        self.updates = Counter("residesk_updates", "Updates handled, by outcome",
                               ["outcome"], registry=self.registry)
        self.handling = Histogram("residesk_update_seconds",
                                  "Time from an update's arrival to its transaction's end",
                                  registry=self.registry,
                                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.sends = Counter("residesk_sends", "Messages sent to Telegram, by kind "
                             "(reply, resident, staff)", ["kind"], registry=self.registry)
        self.rate_limited = Counter("residesk_rate_limited", "Sends Telegram answered with "
                                    "429, by kind", ["kind"], registry=self.registry)
        self.outbox = Gauge("residesk_outbox_rows", "Outbox rows waiting or given up on",
                            ["state"], registry=self.registry)
        self.timers_due = Gauge("residesk_timers_due", "Timers due and not fired yet",
                                registry=self.registry)

    async def render(self, db: Database) -> bytes:
        async with db.reading() as session:
            counts = await Outbox(session).count_by_state(("pending", "failed"))
            due = await Timers(session).count_due(utcnow())
        for state, count in counts.items():
            self.outbox.labels(state).set(count)
        self.timers_due.set(due)
        return generate_latest(self.registry)


def chat_kind(chat_id: int) -> str:
    return "staff" if chat_id < 0 else "resident"
