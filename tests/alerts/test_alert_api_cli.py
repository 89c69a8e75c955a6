"""Acknowledgement and listing through the HTTP API (FastAPI) and the CLI."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backend.alerts.api import router
from backend.alerts.engine import AlertEngine
from pletfri.cli import app as cli
from pletfri.influx import Influx
from pletfri.settings import Settings

from .helpers import CARD, MIN, STATION, STATION2, T0_MS, status, tap


@pytest.fixture
def two_alerts(engine: AlertEngine, influx: Influx) -> list[int]:
    status(influx, STATION, False, T0_MS - 20 * MIN)
    where = {"device": STATION2, "building": "b002", "room": "b002-r201"}
    tap(influx, "fedcba9876543210", T0_MS - 5 * MIN, **where)
    tap(influx, CARD, T0_MS - 4 * MIN, **where)
    return sorted(a.id for a in engine.evaluate(T0_MS).new)


def test_api_lists_and_acknowledges(
    alert_settings: Settings, two_alerts: list[int], influx: Influx
) -> None:
    app = FastAPI()
    app.include_router(router(alert_settings, clock=lambda: T0_MS + 2 * MIN))
    http = TestClient(app)
    listed = http.get("/alerts").json()
    assert sorted(a["id"] for a in listed) == two_alerts
    offline = next(a for a in listed if a["rule"] == "device_offline")
    assert offline["state"] == "open" and offline["params"]["device"] == STATION

    r = http.post(f"/alerts/{offline['id']}/ack", json={"by": "anna", "note": "ringer til IT"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "acknowledged" and r.json()["note"] == "ringer til IT"
    assert (
        influx.query('SELECT "acked_by" FROM "alert" WHERE "kind" = \'device_offline\'')[0][
            "acked_by"
        ]
        == "anna"
    )

    card = next(a for a in listed if a["rule"] == "unknown_card")
    assert http.post(f"/alerts/{card['id']}/ack", json={"by": "anna"}).json()["state"] == "resolved"
    assert [a["rule"] for a in http.get("/alerts", params={"state": "resolved"}).json()] == [
        "unknown_card"
    ]
    r = http.post(f"/alerts/{card['id']}/ack", json={"by": "anna"})
    assert r.status_code == 409 and "already resolved" in r.json()["detail"]
    assert http.get("/alerts/999").status_code == 404
    assert http.post(f"/alerts/{offline['id']}/ack", json={}).status_code == 422


def test_api_takes_the_name_from_the_login(alert_settings: Settings, two_alerts: list[int]) -> None:
    app = FastAPI()
    app.include_router(router(alert_settings, who=lambda: "leader-7"))
    r = TestClient(app).post(f"/alerts/{two_alerts[0]}/ack", json={"by": "someone else"})
    assert r.json()["acknowledged_by"] == "leader-7"


def test_cli_lists_and_acknowledges(env: CliRunner, two_alerts: list[int]) -> None:
    out = env.invoke(cli, ["alerts", "list"])
    assert out.exit_code == 0 and "device_offline" in out.output and "unknown_card" in out.output
    out = env.invoke(cli, ["alerts", "ack", str(two_alerts[0]), "--by", "anna", "--note", "ok"])
    assert out.exit_code == 0, out.output
    assert "acknowledged by anna" in out.output
    out = env.invoke(cli, ["alerts", "list", "--state", "acknowledged", "--json"])
    assert '"acknowledged_by": "anna"' in out.output
    out = env.invoke(cli, ["alerts", "outbox"])
    assert "email" in out.output and "due" in out.output


def test_cli_errors_say_what_to_do(env: CliRunner, two_alerts: list[int]) -> None:
    out = env.invoke(cli, ["alerts", "ack", "999", "--by", "anna"])
    assert out.exit_code == 2 and "there is no alert 999" in out.output
    out = env.invoke(cli, ["alerts", "quiet", "sl-anna", "25:00-06:00"])
    assert out.exit_code == 2 and "hours 00-23" in out.output
    out = env.invoke(cli, ["alerts", "list", "--state", "closed"])
    assert out.exit_code == 2 and "use open, acknowledged, resolved or all" in out.output
    out = env.invoke(cli, ["alerts", "quiet", "sl-anna", "21:30-07:00"])
    assert out.exit_code == 0 and "quiet hours 21:30-07:00" in out.output


def test_cli_shows_the_rules(env: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLETFRI_ALERTS__BATTERY__ENABLED", "false")
    out = env.invoke(cli, ["alerts", "rules"])
    assert out.exit_code == 0, out.output
    lines = {line.split()[0]: line for line in out.output.splitlines()}
    assert len(lines) == 10
    assert lines["battery"].split()[1:3] == ["off", "state"]
    assert "critical" in lines["device_offline"] and "after_min=15" in lines["device_offline"]
    assert lines["card_travel"].split()[1:4] == ["on", "event", "warning"]
