"""The engine's behaviour on real InfluxDB, SMTP and HTTP: one alert per subject,
escalation, quiet hours, resolve, acknowledgement, alert points."""

from __future__ import annotations

import pytest

from backend.alerts.acknowledge import AlertStateError
from backend.alerts.engine import AlertEngine
from backend.alerts.points import ID_SPREAD_MS
from backend.alerts.store import AlertNotFound
from pletfri.influx import Influx

from .conftest import Hook, Inbox
from .helpers import HOUR, MIN, STATION, T0_MS, status


def test_offline_station_opens_one_alert_and_resolves(
    engine: AlertEngine, influx: Influx, smtp: Inbox, webhook: Hook
) -> None:
    status(influx, STATION, True, T0_MS - 2 * HOUR)
    status(influx, STATION, False, T0_MS - 20 * MIN)

    first = engine.evaluate(T0_MS)
    again = engine.evaluate(T0_MS + MIN)
    assert [a.subject for a in first.new] == [STATION]
    assert again.new == [] and again.resolved == []
    assert first.counts()["new"] == {"device_offline": 1}

    report = engine.deliver(T0_MS + MIN)
    assert report.sent == {"email": 1, "webhook": 1, "mqtt": 1} and not report.failed
    assert smtp.messages[0]["Subject"] == f"[Pletfri] Enhed offline: {STATION}"
    assert smtp.messages[0]["Content-Language"] == "da"
    assert "har været offline siden 2026-11-23 09:40" in smtp.messages[0].get_content()
    assert webhook.bodies[0]["title"] == f"Enhed offline: {STATION}"

    status(influx, STATION, True, T0_MS + 5 * MIN)
    back = engine.evaluate(T0_MS + 6 * MIN)
    assert [a.id for a in back.resolved] == [first.new[0].id]
    engine.deliver(T0_MS + 6 * MIN)
    assert smtp.messages[-1]["Subject"].startswith("[Pletfri] Løst: Enhed offline")

    rows = influx.query('SELECT * FROM "alert"')
    assert len(rows) == 1
    assert rows[0]["kind"] == "device_offline" and rows[0]["severity"] == "critical"
    # The opening time, spread by the id so that alerts opened together stay apart.
    assert rows[0]["state"] == "resolved"
    assert rows[0]["time"] == T0_MS + first.new[0].id % ID_SPREAD_MS
    assert rows[0]["text"].startswith(f"Device offline: {STATION}: The station")


def test_unacknowledged_alert_escalates_once(
    engine: AlertEngine, influx: Influx, smtp: Inbox
) -> None:
    engine.settings.alerts.escalation_emails = ["boss@example.dk"]
    status(influx, STATION, False, T0_MS - 20 * MIN)
    engine.evaluate(T0_MS)
    assert engine.evaluate(T0_MS + 59 * MIN).escalated == []
    escalated = engine.evaluate(T0_MS + 61 * MIN).escalated
    assert len(escalated) == 1 and escalated[0].level == 1
    assert engine.evaluate(T0_MS + 3 * HOUR).escalated == []
    engine.deliver(T0_MS + 61 * MIN)
    to = sorted(str(m["To"]) for m in smtp.messages if "ESKALERET" in m["Subject"])
    assert to == ["anna@example.dk", "boss@example.dk"]


def test_acknowledged_alert_does_not_escalate(engine: AlertEngine, influx: Influx) -> None:
    status(influx, STATION, False, T0_MS - 20 * MIN)
    alert = engine.evaluate(T0_MS).new[0]
    acked = engine.acknowledge(alert.id, "anna", T0_MS + 10 * MIN, note="on my way")
    assert acked.state == "acknowledged" and acked.acked_by == "anna"
    assert engine.evaluate(T0_MS + 2 * HOUR).escalated == []
    # A state alert stays open until the device is back.
    assert engine.store.open_alert("device_offline", STATION) is not None
    row = influx.query('SELECT "acked_by", "state" FROM "alert"')[0]
    assert row["acked_by"] == "anna" and row["state"] == "acknowledged"


def test_acknowledge_errors_are_clear(engine: AlertEngine, influx: Influx) -> None:
    with pytest.raises(AlertNotFound, match="there is no alert 99"):
        engine.acknowledge(99, "anna", T0_MS)
    status(influx, STATION, False, T0_MS - 20 * MIN)
    alert = engine.evaluate(T0_MS).new[0]
    status(influx, STATION, True, T0_MS + MIN)
    engine.evaluate(T0_MS + 2 * MIN)
    with pytest.raises(AlertStateError, match="already resolved"):
        engine.acknowledge(alert.id, "anna", T0_MS + 3 * MIN)


def test_quiet_hours_hold_warnings_until_morning(
    engine: AlertEngine, influx: Influx, smtp: Inbox
) -> None:
    engine.store.set_quiet_hours("sl-anna", "22:00-06:00")
    engine.settings.alerts.device_offline.severity = "warning"
    night = T0_MS + 13 * HOUR  # 23:00 local
    status(influx, STATION, False, night - 20 * MIN)
    engine.evaluate(night)
    report = engine.deliver(night)
    assert report.sent == {"mqtt": 1}  # machines hear at once, the leader does not
    morning = T0_MS + 20 * HOUR  # 06:00 local
    assert engine.deliver(morning - MIN).sent == {}
    assert engine.deliver(morning).sent == {"email": 1, "webhook": 1}
    # Escalation counts from when the leader was told, not from 23:00.
    assert engine.evaluate(morning + 30 * MIN).escalated == []


def test_alert_resolved_in_quiet_hours_is_never_sent(
    engine: AlertEngine, influx: Influx, smtp: Inbox
) -> None:
    engine.store.set_quiet_hours("sl-anna", "22:00-06:00")
    engine.settings.alerts.device_offline.severity = "warning"
    night = T0_MS + 13 * HOUR
    status(influx, STATION, False, night - 20 * MIN)
    engine.evaluate(night)
    status(influx, STATION, True, night + 10 * MIN)
    assert len(engine.evaluate(night + 11 * MIN).resolved) == 1
    engine.deliver(T0_MS + 21 * HOUR)
    assert smtp.messages == []


def test_a_broken_rule_does_not_stop_the_others(
    engine: AlertEngine, influx: Influx, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine.rules["battery"], "evaluate", broken)
    status(influx, STATION, False, T0_MS - 20 * MIN)
    result = engine.evaluate(T0_MS)
    assert result.errors == {"battery": "RuntimeError: boom"}
    assert [a.rule for a in result.new] == ["device_offline"]


def test_broken_quiet_hours_do_not_stop_alerts(
    engine: AlertEngine, influx: Influx, smtp: Inbox
) -> None:
    engine.settings.alerts.device_offline.severity = "warning"
    engine.store.set_quiet_hours("sl-anna", "25:00-06:00")
    status(influx, STATION, False, T0_MS - 20 * MIN)
    engine.evaluate(T0_MS)
    assert engine.deliver(T0_MS).sent == {"email": 1, "webhook": 1, "mqtt": 1}


def test_a_rule_failing_halfway_changes_nothing(
    engine: AlertEngine, influx: Influx, monkeypatch: pytest.MonkeyPatch
) -> None:
    status(influx, STATION, False, T0_MS - 20 * MIN)

    def no_leaders(building: str) -> list[object]:
        raise RuntimeError("registry locked")

    monkeypatch.setattr(engine.sources, "leaders", no_leaders)
    result = engine.evaluate(T0_MS)
    assert result.new == [] and "device_offline" in result.errors
    assert engine.store.open_alerts() == [] and engine.store.outbox() == []


def test_resolved_alerts_are_forgotten_after_the_retention(
    engine: AlertEngine, influx: Influx
) -> None:
    status(influx, STATION, False, T0_MS - 20 * MIN)
    alert = engine.evaluate(T0_MS).new[0]
    status(influx, STATION, True, T0_MS + MIN)
    engine.evaluate(T0_MS + 2 * MIN)
    engine.deliver(T0_MS + 2 * MIN)
    days = engine.settings.backend.retention_days
    assert engine.prune(T0_MS + days * 24 * HOUR) == 0
    assert engine.prune(T0_MS + days * 24 * HOUR + 3 * MIN) == 1
    assert engine.store.alerts() == [] and engine.store.outbox(alert.id) == []
