"""The daily digest per service leader, in the leader's language, over real SMTP and HTTP."""

from __future__ import annotations

from datetime import date

from backend.alerts.engine import AlertEngine
from backend.alerts.sources import DayVerification, StaticSources
from pletfri.influx import Influx

from .conftest import Hook, Inbox
from .helpers import HOUR, MIN, STATION, T0_MS, status

SUNDAY = date(2026, 11, 22)
MONDAY_0559 = T0_MS - 4 * HOUR - MIN  # 05:59 local


def test_digest_once_per_leader_from_the_digest_hour(
    engine: AlertEngine, sources: StaticSources, influx: Influx, smtp: Inbox, webhook: Hook
) -> None:
    sources.verifications[("b001", SUNDAY)] = DayVerification(40, 37, 2, 1, 3, buddy_visits=4)
    sources.notes[("b001", SUNDAY)] = ["Trainee T-07 cleaned the gym alone for the first time."]
    status(influx, STATION, False, MONDAY_0559 - HOUR)
    engine.evaluate(MONDAY_0559)

    assert engine.queue_digests(MONDAY_0559) == 0
    assert engine.queue_digests(MONDAY_0559 + MIN) == 2  # Anna and Ben
    assert engine.queue_digests(MONDAY_0559 + 2 * HOUR) == 0
    engine.deliver(MONDAY_0559 + MIN)

    digests = {
        str(m["To"]): m
        for m in smtp.messages
        if "digest" in m["Subject"] or "oversigt" in m["Subject"]
    }
    anna = digests["anna@example.dk"]
    assert anna["Subject"] == "[Pletfri] Daglig oversigt 2026-11-22"
    text = anna.get_content()
    assert "Godmorgen Anna" in text
    assert (
        "Kontrol: 37 af 40 planlagte rengøringer udført, 2 mangler, 1 uplanlagte, 3 for korte."
        in text
    )
    assert "Elever: 4 besøg sammen med deres makker." in text
    assert "Åbne alarmer (1):" in text and f"Enhed offline: {STATION}" in text
    assert "Trainee T-07 cleaned the gym alone" in text
    ben = digests["ben@example.dk"].get_content()
    assert "Good morning Ben" in ben
    assert "Verification: no figures for this day." in ben and "No open alerts." in ben
    assert [b["title"] for b in webhook.bodies if b["pletfri"]["event"] == "digest"] == [
        "Daglig oversigt 2026-11-22"
    ]
