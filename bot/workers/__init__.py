"""The background work of a replica: the notifier drains the outbox, the scheduler fires timers
and the weekly report, and `leadership` decides which replica does either (once per deployment)."""
