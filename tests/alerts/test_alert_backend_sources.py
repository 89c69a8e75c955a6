"""The alerts on the backend's own registry, stored plans and verification."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest
from typer.testing import CliRunner

from backend.alerts.backend_sources import BackendSources
from backend.alerts.engine import AlertEngine
from backend.cleaning import plans
from backend.cleaning.planner import Plan, PlanEntry
from backend.registry import Registry
from backend.registry.model import (
    Building,
    Card,
    Device,
    Leader,
    Person,
    RegistryData,
    Room,
)
from pletfri.cli import app as cli
from pletfri.influx import Influx
from pletfri.settings import Settings

from .conftest import Hook, Inbox
from .helpers import CARD, HOUR, MIN, STATION, T0_MS, tap

MONDAY = date(2026, 11, 23)


@pytest.fixture
def registry_sources(alert_settings: Settings, webhook: Hook) -> Iterator[BackendSources]:
    data = RegistryData(
        buildings=[Building(id="b001", name="Skolen", kind="school")],
        rooms=[Room(id="b001-r101", building="b001", type="classroom", area_m2=60)],
        devices=[Device(id=STATION, kind="station", room="b001-r101")],
        people=[
            Person(id="p0001", role="cleaner", building="b001"),
            Person(
                id="p0900",
                role="service_leader",
                name="Anna",
                email="anna@example.dk",
                language="en",
                webhook=webhook.url,
                quiet_hours="23:00-05:00",
            ),
        ],
        cards=[Card(card=CARD, person="p0001")],
        leaders=[Leader(building="b001", person="p0900")],
    )
    with Registry(alert_settings.backend.database_file) as reg:
        reg.replace(data)
        entry = PlanEntry("b001-r101", "b001", "classroom", 0, "", True, "need", 1.4, None, 15.0)
        start, end = T0_MS - 4 * HOUR, T0_MS - HOUR
        plans.save(reg, [Plan(MONDAY, "morning", "b001", start, end, start, [entry])])
    sources = BackendSources(alert_settings)
    yield sources
    sources.close()


def test_registry_plans_and_leaders_drive_the_alerts(
    alert_settings: Settings, registry_sources: BackendSources, influx: Influx, smtp: Inbox
) -> None:
    assert registry_sources.known_card(CARD)
    tap(influx, "fedcba9876543210", T0_MS - 10 * MIN)
    with AlertEngine(alert_settings, registry_sources, influx) as engine:
        result, report = engine.tick(T0_MS)
        rules = sorted(a.rule for a in result.new)
        assert rules == ["missed_cleaning", "unknown_card"]
        missed = next(a for a in result.new if a.rule == "missed_cleaning")
        assert missed.params["shift"] == "morning" and missed.room == "b001-r101"
        # Two alerts, and Sunday's digest (it is after alerts.digest_hour).
        assert report.sent == {"email": 3, "webhook": 3, "mqtt": 2}
        subjects = sorted(m["Subject"] for m in smtp.messages)
        assert subjects == [
            "[Pletfri] Daily digest 2026-11-22",
            "[Pletfri] Missed cleaning: b001-r101",
            "[Pletfri] Unknown card in b001",
        ]
        for alert in result.new:
            engine.acknowledge(alert.id, "anna", T0_MS + MIN)
        # Anna's quiet hours come from the registry: at 23:30 a warning waits until 05:00.
        night = T0_MS + 13 * HOUR + 30 * MIN
        tap(influx, "00000000000000aa", night - MIN)
        assert engine.tick(night)[1].sent == {"mqtt": 1}
        assert engine.tick(T0_MS + 19 * HOUR)[1].sent == {"email": 1, "webhook": 1}


def test_digest_carries_the_backends_verification(
    alert_settings: Settings, registry_sources: BackendSources
) -> None:
    with AlertEngine(alert_settings, registry_sources) as engine:
        text = engine.digest("p0900", MONDAY, T0_MS + 20 * HOUR)["text"]
    assert "Verification: 0 of 1 planned cleanings done, 1 missed" in text


def test_cli_run_once_and_digest(
    env: CliRunner, registry_sources: BackendSources, influx: Influx, smtp: Inbox
) -> None:
    # Wall-clock now: an unknown card tapped a minute ago.
    now = int(time.time() * 1000)
    tap(influx, "fedcba9876543210", now - MIN)
    # The registry gives Anna quiet hours; the test must not depend on the time of day.
    assert env.invoke(cli, ["alerts", "quiet", "p0900", ""]).exit_code == 0
    out = env.invoke(cli, ["alerts", "run", "--once"])
    assert out.exit_code == 0, out.output
    assert any(m["Subject"] == "[Pletfri] Unknown card in b001" for m in smtp.messages)
    out = env.invoke(cli, ["alerts", "digest", "p0900", "--day", "2026-11-23", "--send"])
    assert out.exit_code == 0, out.output
    assert "Daily digest 2026-11-23" in out.output and "Open alerts (1):" in out.output
    assert "sent {'email': 1, 'webhook': 1}" in out.output
    out = env.invoke(cli, ["alerts", "digest", "p9999"])
    assert out.exit_code == 2 and "'p9999' is not a service leader" in out.output
