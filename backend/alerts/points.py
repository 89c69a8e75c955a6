"""Every alert as one `alert` point in InfluxDB (CONTRACT.md), for Grafana annotations.

The point keeps the alert's opening time and tags; later changes (escalated, acknowledged,
resolved) rewrite its fields, which InfluxDB merges into the same point, so counting
points counts alerts. Alerts of one kind opened in one building by the same evaluation
share tags and opening time, and InfluxDB would merge them into one point too: each point's
time is its opening time plus the alert id's last three digits in milliseconds (less than
the time between two evaluations, so points of different evaluations do not meet either).
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from backend.alerts.model import Alert
from backend.alerts.store import AlertStore
from backend.alerts.texts import render
from pletfri.influx import Influx, InfluxError, line

log = logging.getLogger(__name__)

ID_SPREAD_MS = 1000


def alert_line(alert: Alert, tz: ZoneInfo) -> str:
    en = render(alert, "opened", "en", tz)
    da = render(alert, "opened", "da", tz)
    fields: dict[str, Any] = {
        "text": f"{en['title']}: {en['text']}",
        "text_da": f"{da['title']}: {da['text']}",
        "room": alert.room,
        "subject": alert.subject,
        "id": alert.id,
        "state": alert.state,
        "level": alert.level,
    }
    if alert.acked_by is not None:
        fields["acked_by"] = alert.acked_by
    if alert.resolved_ms is not None:
        fields["resolved_ms"] = alert.resolved_ms
    tags = {"building": alert.building, "kind": alert.rule, "severity": alert.severity}
    return line("alert", tags, fields, alert.opened_ms + alert.id % ID_SPREAD_MS)


def flush(store: AlertStore, influx: Influx, tz: ZoneInfo) -> int:
    """Write the points of changed alerts; on failure they wait for the next call."""
    dirty = store.dirty()
    if not dirty:
        return 0
    try:
        influx.write([alert_line(a, tz) for a in dirty])
    except InfluxError as e:
        log.warning("%d alert points wait for InfluxDB: %s", len(dirty), e)
        return 0
    with store.transaction():
        store.mark_clean(dirty)
    return len(dirty)
