"""The alert outbox: a row per new event and route, written in the event's transaction, then delivered
in order; the state of each webhook (ok, stopped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlite_utils import Database

from ..dates import iso, utcnow
from .db import FailureLog, Part


@dataclass(frozen=True)
class OutboxItem:
    id: int
    event_id: int
    route: str
    kind: str
    attempts: int


class OutboxStore(Part):
    def __init__(self, db: Database, failures: FailureLog) -> None:
        super().__init__(db)
        self.failures = failures

    def queue(self, event_id: int, routes: tuple[str, ...], *, now: str, delay_seconds: float) -> None:
        """Inside the commit's transaction: one pending alert per route for a new event."""
        for route in routes:
            self.db["outbox"].insert(
                {
                    "event_id": event_id,
                    "route": route,
                    "kind": "new",
                    "created_at": now,
                    "state": "pending",
                    "next_attempt": iso(utcnow() + timedelta(seconds=delay_seconds)),
                },
                ignore=True,
            )

    def due(self, route: str, limit: int = 50) -> list[OutboxItem]:
        rows = self.db.query(
            "select * from outbox where route = ? and state = 'pending' and next_attempt <= ? order by id limit ?",
            [route, iso(utcnow()), limit],
        )
        return [
            OutboxItem(
                id=r["id"],
                event_id=r["event_id"],
                route=r["route"],
                kind=r["kind"],
                attempts=r["attempts"] or 0,
            )
            for r in rows
        ]

    def next_time(self, route: str) -> str | None:
        r = self.one(
            "select min(next_attempt) as t from outbox where route = ? and state = 'pending'", [route]
        )
        return r["t"] if r else None

    def claim(self, item_id: int) -> bool:
        """Mark a pending alert as being sent, before the post; False when it is no longer pending
        (another process has it). A post happens only after this write succeeded."""
        cur = self.db.execute(
            "update outbox set state = 'sending', claimed_at = ?, attempts = coalesce(attempts, 0) + 1 "
            "where id = ? and state = 'pending'",
            [iso(utcnow()), item_id],
        )
        return cur.rowcount == 1

    def sent(self, item_id: int) -> None:
        now = iso(utcnow())
        with self.db.atomic():
            row = self.one("select route from outbox where id = ?", [item_id])
            self._set(item_id, state="sent", sent_at=now)
            self.db["webhooks"].upsert(
                {
                    "route": row["route"],
                    "state": "ok",
                    "reason": None,
                    "updated_at": now,
                    "last_sent_at": now,
                },
                pk="route",
            )

    def retry(self, item_id: int, *, wait_seconds: float, error: str) -> None:
        next_attempt = iso(utcnow() + timedelta(seconds=wait_seconds + 0.001))
        self._set(item_id, state="pending", last_error=error[:300], next_attempt=next_attempt)

    def parked(self, item_id: int, *, reason: str) -> None:
        with self.db.atomic():
            self._set(item_id, state="parked", last_error=reason[:300])
            self.failures.record("alerts", str(item_id), "parked", reason)

    def uncertain(self, older_than_seconds: float) -> int:
        """Park the alerts claimed longer ago than this and never recorded as sent: their process
        died between the claim and the record, so the post may have gone out. Never sent again
        unless an operator re-queues them (``resume-alerts``)."""
        before = iso(utcnow() - timedelta(seconds=older_than_seconds))
        rows = list(
            self.db.query("select id from outbox where state = 'sending' and claimed_at < ?", [before])
        )
        reason = "delivery uncertain: claimed for sending and never recorded as sent (check Slack)"
        with self.db.atomic():
            for r in rows:
                self._set(r["id"], state="parked", last_error=reason)
                self.failures.record("alerts", str(r["id"]), "delivery_uncertain", reason)
        return len(rows)

    def _set(self, item_id: int, **columns: Any) -> None:
        """Record the outcome of a claimed delivery attempt, with the columns it changes."""
        sets = ", ".join(f"{c} = ?" for c in columns)
        self.db.execute(f"update outbox set {sets} where id = ?", [*columns.values(), item_id])

    def webhook_stopped(self, route: str, reason: str) -> None:
        now = iso(utcnow())
        with self.db.atomic():
            self.db["webhooks"].upsert(
                {"route": route, "state": "stopped", "reason": reason[:300], "updated_at": now}, pk="route"
            )
            self.db.execute(
                "update outbox set state = 'parked', last_error = ? where route = ? and state = 'pending'",
                [f"webhook stopped: {reason}"[:300], route],
            )
            self.failures.record("alerts", route, "webhook_stopped", reason)

    def webhook_state(self, route: str) -> dict[str, Any] | None:
        return self.one("select * from webhooks where route = ?", [route])

    def resume(self, route: str) -> int:
        """Re-queue a stopped webhook's parked alerts (after the URL was fixed)."""
        with self.db.atomic():
            self.db["webhooks"].upsert(
                {"route": route, "state": "ok", "reason": None, "updated_at": iso(utcnow())}, pk="route"
            )
            cur = self.db.execute(
                "update outbox set state = 'pending', next_attempt = ? where route = ? and state = 'parked'",
                [iso(utcnow()), route],
            )
            return cur.rowcount
