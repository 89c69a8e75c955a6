"""Acknowledging an alert: a person has taken it.

An acknowledged alert is not escalated and its pending messages to leaders are dropped;
an event alert (see rules/__init__) is closed by it, a state alert stays open until its
condition clears.
"""

from __future__ import annotations

from typing import Any

from backend.alerts.model import Alert, iso
from backend.alerts.rules import EVENT_RULES
from backend.alerts.store import AlertStore


class AlertStateError(Exception):
    """An action that does not fit the alert's state (e.g. acknowledging a resolved one)."""


def acknowledge(store: AlertStore, alert_id: int, by: str, now_ms: int, note: str = "") -> Alert:
    if not by.strip():
        raise ValueError("say who acknowledges the alert (a name or leader id)")
    alert = store.get(alert_id)
    if alert.resolved_ms is not None:
        raise AlertStateError(
            f"alert {alert_id} was already resolved at {iso(alert.resolved_ms)}; "
            "there is nothing to acknowledge"
        )
    if alert.acked_ms is not None:
        return alert
    with store.transaction():
        values: dict[str, Any] = {"acked_ms": now_ms, "acked_by": by, "ack_note": note or None}
        if alert.rule in EVENT_RULES:
            values["resolved_ms"] = now_ms
        alert = store.update(alert_id, now_ms, **values)
        store.cancel_pending(alert_id)
    return alert
