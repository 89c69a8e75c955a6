"""One person's data on request, from the registry, InfluxDB and the alert store; only theirs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from behelpers import BUDDY, CLEANER, DAY, TRAINEE, at, taps
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backend.alerts.acknowledge import acknowledge
from backend.alerts.model import Finding
from backend.alerts.store import AlertStore
from backend.api import create_app
from backend.people import tokens
from backend.quality import inspections
from backend.service import Backend, BackendError
from pletfri.cli import app as cli
from pletfri.settings import QualitySettings, Settings


@pytest.fixture
def history(backend: Backend, settings: Settings) -> Iterator[None]:
    # A trainee and their buddy clean a classroom together; a cleaner does the toilet.
    taps(
        backend.influx,
        ("s-class1", TRAINEE, "16:00"),
        ("s-class1", BUDDY, "16:01"),
        ("s-class1", TRAINEE, "16:30"),
        ("s-class1", BUDDY, "16:31"),
        ("s-wc", CLEANER, "17:00"),
        ("s-wc", CLEANER, "17:10"),
    )
    backend.pair_visits(at("22:00"))
    store = AlertStore(settings.backend.database_file)
    travel = store.insert(
        Finding("card_travel", f"{BUDDY}@s@2026-11-16", "s", "warning"), at("20:00")
    )
    other = store.insert(
        Finding("missed_cleaning", "s-wc@midday@2026-11-16", "s", "warning"), at("14:00")
    )
    acknowledge(store, other.id, "Anne Jensen", at("14:30"), "on it")
    with store.transaction():
        store.set_quiet_hours("p9", "22:00-06:00")
        store.queue(other.id, "opened", "email", "a@x.example", "p9", {}, at("14:01"))
    assert travel.id != other.id
    store.close()
    yield


@pytest.mark.usefixtures("history")
def test_a_buddy_gets_their_taps_the_visits_they_helped_with_and_alerts_on_their_card(
    backend: Backend,
) -> None:
    data = backend.export_person("p2", at("23:00"))
    assert data["person"]["id"] == "p2" and data["cards"] == [BUDDY]
    assert {t["card"] for t in data["taps"]} == {BUDDY} and len(data["taps"]) == 2
    # The trainee's buddy visit names the buddy's card: it is theirs too.
    [v] = data["visits"]
    assert (v["card"], v["buddy"], v["room"]) == (TRAINEE, BUDDY, "s-class1")
    assert data["buddy_to"] == ["p3"]
    assert [a["rule"] for a in data["alerts"]["about_their_cards"]] == ["card_travel"]
    assert "retention_days" in data["retention"]
    json.dumps(data)  # all of it is JSON


@pytest.mark.usefixtures("history")
def test_nothing_of_anyone_else(backend: Backend) -> None:
    data = backend.export_person("p1", at("23:00"))
    assert {t["card"] for t in data["taps"]} == {CLEANER}
    assert [(v["card"], v.get("buddy")) for v in data["visits"]] == [(CLEANER, None)]
    assert data["alerts"]["about_their_cards"] == [] and data["buddy_to"] == []
    inspections.plan(backend.registry, QualitySettings(), "s", DAY, at("23:00"), inspector="p9")
    leader = backend.export_person("p9", at("23:00"))
    assert [(i["building"], i["day"]) for i in leader["inspections_made"]] == [("s", str(DAY))]
    assert data["inspections_made"] == []
    assert leader["cards"] == [] and leader["taps"] == [] and leader["visits"] == []
    assert leader["leads_buildings"] == ["d", "s"]
    assert [a["ack_note"] for a in leader["alerts"]["acknowledged"]] == ["on it"]
    assert leader["alerts"]["quiet_hours"] == "22:00-06:00"
    assert [m["address"] for m in leader["alerts"]["sent_to_them"]] == ["a@x.example"]
    assert data["alerts"]["sent_to_them"] == []
    with pytest.raises(BackendError, match="no person 'nobody'"):
        backend.export_person("nobody", at("23:00"))


@pytest.mark.usefixtures("history")
def test_the_command_and_the_route(
    backend: Backend, settings: Settings, tmp_path: Path, run: CliRunner
) -> None:
    out_file = tmp_path / "export" / "p3.json"
    out = run.invoke(cli, ["backend", "export-person", "p3", "--out", str(out_file)])
    assert out.exit_code == 0, out.output
    written = json.loads(out_file.read_text(encoding="utf-8"))
    assert written["cards"] == [TRAINEE] and len(written["visits"]) == 1
    out = run.invoke(cli, ["backend", "export-person", "nobody"])
    assert out.exit_code == 2 and "no person 'nobody' in the registry" in out.output

    admin = tokens.create(backend.registry, "admin", "test admin", at("08:00"))
    facility = tokens.create(backend.registry, "facility", "test facility", at("08:00"))
    with TestClient(create_app(settings)) as client:
        r = client.get("/people/p3/export", headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200 and r.json()["cards"] == [TRAINEE]
        r = client.get("/people/p3/export", headers={"Authorization": f"Bearer {facility}"})
        assert r.status_code == 403
        r = client.get("/people/nobody/export", headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 404 and "no person" in r.json()["detail"]
