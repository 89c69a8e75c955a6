"""Everything the platform holds about one person, for a request under GDPR articles 15 and 20.

Person-level data lives in three places:

- the registry: the person, the pseudonyms of their cards (a raw card UID is never stored,
  so none can be given), the buildings they lead, who is their buddy and whose buddy they
  are, their API tokens (label and date, never the secret);
- InfluxDB: `tap` and `visit` points carry the card pseudonym, and a trainee's visit names
  the buddy's card; daily sums (`visit_day`) name no one and are left out;
- the alert store: alerts about one of their cards, alerts they acknowledged, messages sent
  to them, their quiet hours;
- the INSTA 800 inspections they made (backend/quality/inspections.py names the inspector).

Data older than `backend.retention_days` is already deleted (backend/people/retention.py); the
export says so, so that an empty list is not read as "never recorded".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.alerts.store import AlertStore
from backend.quality import inspections
from backend.registry import Person, Registry
from pletfri.influx import Influx, quote

# Version of the export's layout, for whoever reads it by program.
FORMAT = 1


class UnknownPerson(LookupError):
    pass


def _points(
    influx: Influx, measurement: str, fields: tuple[str, ...], cards: list[str]
) -> list[dict[str, Any]]:
    if not cards:
        return []
    where = " OR ".join(f"{f} = {quote(c)}" for f in fields for c in cards)
    rows = influx.query(f"SELECT * FROM {measurement} WHERE {where}")
    return sorted(rows, key=lambda r: r["time"])


def _names(person: Person) -> list[str]:
    # Whoever acknowledges an alert or makes an inspection names themselves: by id or name.
    return [person.id] + ([person.name] if person.name else [])


def _alert_rows(database_file: Path, person: Person, cards: list[str]) -> dict[str, Any]:
    store = AlertStore(database_file)
    try:
        about = [
            dict(r)
            for card in cards
            for r in store.db.execute(
                "SELECT id, rule, subject, building, room, opened_ms, resolved_ms FROM alert "
                "WHERE subject = ? OR subject LIKE ?",
                (card, card + "@%"),
            )
        ]
        acked = [
            dict(r)
            for name in _names(person)
            for r in store.db.execute(
                "SELECT id, rule, subject, acked_ms, ack_note FROM alert WHERE acked_by = ?",
                (name,),
            )
        ]
        sent = [
            {"alert_id": m.alert_id, "event": m.event, "channel": m.channel,
             "address": m.address, "due_ms": m.due_ms, "sent_ms": m.sent_ms}
            for m in store.outbox()
            if m.leader == person.id
        ]  # fmt: skip
        return {
            "about_their_cards": sorted(about, key=lambda a: a["id"]),
            "acknowledged": acked,
            "sent_to_them": sent,
            "quiet_hours": store.quiet_hours(person.id),
        }
    finally:
        store.close()


def person_export(
    registry: Registry,
    influx: Influx,
    database_file: Path,
    person_id: str,
    now_ms: int,
    retention_days: int,
) -> dict[str, Any]:
    """The export as one JSON-ready dict; UnknownPerson if the registry has no such person."""
    person = registry.person(person_id)
    if person is None:
        raise UnknownPerson(
            f"no person {person_id!r} in the registry; `pletfri registry export` lists them"
        )
    cards = [c.card for c in registry.cards(person_id)]
    tokens = [
        {"label": r["label"], "role": r["role"], "created_ms": r["created_ms"]}
        for r in registry.query(
            "SELECT label, role, created_ms FROM tokens WHERE person = ?", (person_id,)
        )
    ]
    made = [
        {"id": i.id, "building": i.building, "day": i.day.isoformat(), "status": i.status,
         "created_ms": i.created_ms}
        for name in _names(person)
        for i in inspections.inspections(registry, inspector=name)
    ]  # fmt: skip
    made.sort(key=lambda i: i["id"])
    return {
        "format": FORMAT,
        "made_ms": now_ms,
        "person": person.model_dump(),
        "cards": cards,
        "leads_buildings": registry.led_buildings(person_id),
        "buddy_to": [p.id for p in registry.people() if p.buddy == person_id],
        "api_tokens": tokens,
        "taps": _points(influx, "tap", ("card",), cards),
        "visits": _points(influx, "visit", ("card", "buddy"), cards),
        "alerts": _alert_rows(database_file, person, cards),
        "inspections_made": made,
        "retention": (
            f"taps and visits older than {retention_days} whole days are deleted "
            "(backend.retention_days); daily sums per room name no one and are not included"
        ),
    }
