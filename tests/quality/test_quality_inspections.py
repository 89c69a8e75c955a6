"""INSTA 800 inspections: the seeded sample, approval, errors, the commands, the routes and
the migration, on the backend's real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from behelpers import DAY, at, registry_data
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backend.api import create_app
from backend.people import tokens
from backend.quality import inspections
from backend.quality.inspections import Defects, QualityError
from backend.registry import Building, Leader, Person, Registry, RegistryData, Room
from backend.registry.schema import MIGRATIONS
from backend.service import Backend
from pletfri.cli import app as cli
from pletfri.settings import ConfigError, QualitySettings, SampleBand, load_settings

NEXT_DAY = date(2026, 11, 17)
# The school "s" has four rooms, all agreed at level 3: inspect them all, approve one failure.
WHOLE = QualitySettings(table=[SampleBand(lot_from=1, sample=10, accept_failed=1)])


def big_building(rooms: int) -> RegistryData:
    return RegistryData(
        buildings=[Building(id="big", name="Rådhuset", kind="townhall")],
        rooms=[
            Room(
                id=f"big-r{i:03}",
                building="big",
                type="office" if i % 5 else "technical",
                area_m2=20,
                floor=i % 3,
                zone="ABC"[i % 3],
                quality_level=2 + i % 3,
            )
            for i in range(rooms)
        ],
    )


def test_the_sample_is_reproducible_and_of_the_configured_size(backend: Backend) -> None:
    reg, conf = backend.registry, QualitySettings()
    reg.merge(big_building(30))
    insp = inspections.plan(reg, conf, "big", DAY, at("08:00"), "p9")
    # 30 rooms fall in the default band 26-50: 8 rooms, approved with at most 1 failed.
    assert (insp.lot_size, len(insp.rooms), insp.accept_failed) == (30, 8, 1)
    assert insp.status == "planned" and insp.approved is None and insp.inspector == "p9"
    assert insp.unrecorded == [r.room for r in insp.rooms]
    # Drawn again from the building and the day alone: the same rooms, in walking order.
    again = inspections.draw(reg.rooms("big"), 8, inspections.seed("big", DAY))
    assert [r.room for r in insp.rooms] == [r.id for r in again]
    assert [r.floor for r in again] == sorted(r.floor for r in again)
    assert {r.room: r.agreed for r in insp.rooms} == {r.id: r.quality_level for r in again}
    other = inspections.plan(reg, conf, "big", NEXT_DAY, at("08:00"))
    assert {r.room for r in other.rooms} != {r.room for r in insp.rooms}
    # A private salt draws another sample for the same building and day.
    salted = inspections.draw(reg.rooms("big"), 8, inspections.seed("big", DAY, "secret"))
    assert {r.id for r in salted} != {r.room for r in insp.rooms}
    # A building smaller than its sample is inspected whole; the day-care has one room.
    assert [r.room for r in inspections.plan(reg, conf, "d", DAY, 0).rooms] == ["d-group"]
    assert len(inspections.plan(reg, WHOLE, "s", DAY, 0).rooms) == 4
    # The operator's own table, and room types left out of the lot.
    own = QualitySettings(
        table=[
            SampleBand(lot_from=1, sample=3, accept_failed=0),
            SampleBand(lot_from=20, sample=12, accept_failed=2),
        ],
        exclude_room_types=["technical"],
    )
    mine = inspections.plan(reg, own, "big", date(2026, 11, 18), 0)
    assert (mine.lot_size, len(mine.rooms), mine.accept_failed) == (24, 12, 2)
    assert {r.type for r in reg.rooms("big") if r.id in {x.room for x in mine.rooms}} == {"office"}
    assert inspections.sample_plan(conf, 8) == (2, 0) and inspections.sample_plan(conf, 1000) == (
        50,
        7,
    )


def test_approval_and_the_summary(backend: Backend) -> None:
    reg = backend.registry
    first = inspections.plan(reg, WHOLE, "s", DAY, at("08:00"))
    for room, level in zip(["s-class1", "s-class2", "s-office", "s-wc"], [2, 3, 4, 5], strict=True):
        inspections.record(reg, first.id, room, level, Defects(dust=1), "", at("09:00"))
    # A correction before finishing replaces the first result.
    inspections.record(reg, first.id, "s-wc", 4, Defects(dirt=2, litter=1), "bin full", at("09:10"))
    done = inspections.finish(reg, first.id, at("10:00"))
    assert done.status == "done" and done.finished_ms == at("10:00")
    assert done.failed == 1 and done.approved is True
    wc = next(r for r in done.rooms if r.room == "s-wc")
    assert (wc.observed, wc.defects, wc.note, wc.approved) == (
        4,
        Defects(dirt=2, litter=1),
        "bin full",
        True,
    )
    second = inspections.plan(reg, WHOLE, "s", NEXT_DAY, at("08:00", NEXT_DAY))
    for room in ["s-class1", "s-class2", "s-office", "s-wc"]:
        inspections.record(reg, second.id, room, 2 if room.startswith("s-class") else 3)
    assert inspections.finish(reg, second.id, 0).approved is False
    # A planned inspection not finished counts nowhere.
    inspections.plan(reg, WHOLE, "d", DAY, 0)
    [row] = inspections.summary(reg, date(2026, 11, 1), date(2026, 11, 30))
    assert row.building == "s" and row.name == "Bakkehøj Skole"
    assert (row.inspections, row.inspections_approved) == (2, 1)
    assert (row.rooms_inspected, row.rooms_approved) == (8, 5)
    assert row.approval_rate == pytest.approx(5 / 8)
    # Observed minus agreed (3): -1, 0, +1, +1 and -1, -1, 0, 0.
    assert row.mean_deviation == pytest.approx(-1 / 8)
    assert inspections.summary(reg, NEXT_DAY, NEXT_DAY, "s")[0].inspections == 1
    assert inspections.summary(reg, DAY, DAY, "d") == []
    assert (
        inspections.total([row]).rooms_approved == 5 and inspections.total([]).approval_rate is None
    )
    assert [i.id for i in inspections.inspections(reg, "s")] == [second.id, first.id]
    assert [i.id for i in inspections.inspections(reg, first=NEXT_DAY)] == [second.id]
    assert [i.building for i in inspections.inspections(reg, status="planned")] == ["d"]
    # Replacing the registry keeps the inspections' history.
    reg.replace(registry_data())
    assert inspections.get(reg, first.id).rooms == done.rooms


def test_errors_say_what_is_wrong(backend: Backend) -> None:
    reg = backend.registry
    with pytest.raises(QualityError, match="no building 'nowhere' in the registry"):
        inspections.plan(reg, WHOLE, "nowhere", DAY, 0)
    with pytest.raises(QualityError, match="has no rooms to inspect outside"):
        inspections.plan(reg, QualitySettings(exclude_room_types=["group_room"]), "d", DAY, 0)
    insp = inspections.plan(reg, WHOLE, "d", DAY, 0)
    with pytest.raises(
        inspections.InspectionConflict, match=f"already has inspection {insp.id} on"
    ):
        inspections.plan(reg, WHOLE, "d", DAY, 0)
    with pytest.raises(QualityError, match=r"room 's-wc' is not in inspection .* it has d-group"):
        inspections.record(reg, insp.id, "s-wc", 3)
    for level in (-1, 6):
        with pytest.raises(QualityError, match=rf"level {level}: .* is 0 to 5"):
            inspections.record(reg, insp.id, "d-group", level)
    with pytest.raises(QualityError, match="rooms not recorded yet: d-group"):
        inspections.finish(reg, insp.id, 0)
    with pytest.raises(inspections.InspectionNotFound, match="no inspection 999"):
        inspections.record(reg, 999, "d-group", 3)
    inspections.record(reg, insp.id, "d-group", 3)
    inspections.finish(reg, insp.id, 0)
    with pytest.raises(inspections.InspectionConflict, match="is finished; its results are final"):
        inspections.record(reg, insp.id, "d-group", 1)
    with pytest.raises(inspections.InspectionConflict, match="is finished"):
        inspections.finish(reg, insp.id, 0)
    with pytest.raises(inspections.InspectionConflict, match="is finished"):
        inspections.cancel(reg, insp.id)
    # A planned one can be cancelled, and its building and day planned again.
    wrong = inspections.plan(reg, WHOLE, "s", DAY, 0)
    inspections.cancel(reg, wrong.id)
    rows = reg.query("SELECT count(*) FROM quality_rooms WHERE inspection = ?", (wrong.id,))
    assert rows[0][0] == 0
    assert inspections.plan(reg, WHOLE, "s", DAY, 0).id != wrong.id
    with pytest.raises(QualityError, match=r"ends .* before it begins"):
        inspections.summary(reg, NEXT_DAY, DAY)
    with pytest.raises(ConfigError, match="lot_from must increase"):
        load_settings(
            quality={
                "table": [
                    {"lot_from": 5, "sample": 2, "accept_failed": 0},
                    {"lot_from": 5, "sample": 3, "accept_failed": 0},
                ]
            }
        )
    with pytest.raises(ConfigError, match="accept_failed must be below sample"):
        load_settings(quality={"table": [{"lot_from": 1, "sample": 2, "accept_failed": 2}]})


@pytest.fixture
def run(run: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """conftest's runner, with the sample table that takes small buildings whole."""
    monkeypatch.setenv("PLETFRI_QUALITY__TABLE", json.dumps([b.model_dump() for b in WHOLE.table]))
    return run


def test_an_inspection_through_the_commands(run: CliRunner) -> None:
    for command in (
        ["quality"],
        *[
            ["quality", c]
            for c in ("plan", "record", "finish", "cancel", "show", "list", "summary")
        ],
    ):
        out = run.invoke(cli, [*command, "--help"])
        assert out.exit_code == 0 and "Usage" in out.output
    out = run.invoke(cli, ["quality", "plan", "-b", "s", "--date", str(DAY), "--inspector", "p9"])
    assert out.exit_code == 0, out.output
    assert "inspection 1: s on 2026-11-16 by p9, planned (open); 4 of 4 rooms" in out.output
    assert "s-class2     floor 0 A  classroom   agreed 3 observed -" in out.output
    out = run.invoke(cli, ["quality", "record", "1", "s-wc", "2", "--dust", "3", "--note", "wet"])
    assert out.exit_code == 0, out.output
    assert "s-wc: observed 2 against agreed 3, FAILED; 3 still to record" in out.output
    for room in ("s-class1", "s-class2", "s-office"):
        assert run.invoke(cli, ["quality", "record", "1", room, "3"]).exit_code == 0
    out = run.invoke(cli, ["quality", "finish", "1"])
    assert "1 of 4 rooms failed, at most 1 allowed: approved" in out.output
    [listed] = json.loads(run.invoke(cli, ["quality", "list", "-b", "s", "--json"]).output)
    wc = next(r for r in listed["rooms"] if r["room"] == "s-wc")
    assert listed["approved"] is True and wc["defects"]["dust"] == 3 and wc["note"] == "wet"
    out = run.invoke(cli, ["quality", "summary", "--from", "2026-11-01", "--to", "2026-11-30"])
    assert "s        1 inspections, 1 approved; 3 of 4 rooms approved (75 %)" in out.output
    [row] = json.loads(run.invoke(cli, ["quality", "summary", "--from", str(DAY), "--json"]).output)
    assert row["mean_deviation"] == -0.25
    out = run.invoke(cli, ["quality", "record", "1", "s-wc", "9"])
    assert out.exit_code == 2 and "level 9: an INSTA 800 quality level is 0 to 5" in out.output
    out = run.invoke(cli, ["quality", "record", "1", "s-wc", "4"])
    assert out.exit_code == 2 and "inspection 1 is finished" in out.output
    assert run.invoke(cli, ["quality", "plan", "-b", "d"]).exit_code == 0
    out = run.invoke(cli, ["quality", "cancel", "2"])
    assert out.exit_code == 0 and "inspection 2 cancelled" in out.output
    out = run.invoke(cli, ["quality", "plan", "-b", "nowhere"])
    assert out.exit_code == 2 and "no building 'nowhere'" in out.output
    out = run.invoke(cli, ["quality", "list", "--from", "16.11.2026"])
    assert out.exit_code == 2 and "give a day like 2026-11-16" in out.output


@pytest.fixture
def client(backend: Backend) -> Iterator[TestClient]:
    app = create_app(backend.settings, clock=lambda: at("09:30"))
    with TestClient(app) as c:
        yield c


def bearer(backend: Backend, role: tokens.ApiRole, person: str | None = None) -> dict[str, str]:
    token = tokens.create(backend.registry, role, person or role, 0, person)
    return {"Authorization": f"Bearer {token}"}


def test_inspections_over_http(client: TestClient, backend: Backend) -> None:
    leader, facility = bearer(backend, "service_leader"), bearer(backend, "facility")
    r = client.post("/quality/inspections", json={"building": "s"}, headers=facility)
    assert r.status_code == 403 and "service_leader or admin" in r.json()["detail"]
    r = client.post("/quality/inspections", json={"building": "s"}, headers=leader)
    assert r.status_code == 200, r.text
    insp = r.json()
    # Today by the API's clock; the default table's band 2-8 inspects 2 of the 4 rooms.
    assert insp["day"] == str(DAY) and len(insp["rooms"]) == 2 and insp["accept_failed"] == 0
    assert insp["inspector"] == "service_leader"
    url = f"/quality/inspections/{insp['id']}"
    first, second = (room["room"] for room in insp["rooms"])
    r = client.put(
        f"{url}/rooms/{first}", json={"level": 4, "defects": {"dust": 1}}, headers=leader
    )
    assert r.status_code == 200 and r.json()["rooms"][0]["approved"] is True
    r = client.put(f"{url}/rooms/{first}", json={"level": 8}, headers=leader)
    assert r.status_code == 422 and "0 to 5" in r.json()["detail"]
    r = client.put(f"{url}/rooms/{first}", json={"level": 3, "defects": {"mud": 1}}, headers=leader)
    assert r.status_code == 422
    r = client.put(f"{url}/rooms/d-group", json={"level": 3}, headers=leader)
    assert r.status_code == 422 and "not in inspection" in r.json()["detail"]
    r = client.post(f"{url}/finish", headers=leader)
    assert r.status_code == 422 and f"not recorded yet: {second}" in r.json()["detail"]
    client.put(f"{url}/rooms/{second}", json={"level": 2}, headers=leader)
    r = client.post(f"{url}/finish", headers=leader)
    assert r.status_code == 200 and r.json()["approved"] is False
    assert client.post(f"{url}/finish", headers=leader).status_code == 409
    assert client.post("/quality/inspections/99/finish", headers=leader).status_code == 404
    r = client.post("/quality/inspections", json={"building": "s", "day": str(DAY)}, headers=leader)
    assert r.status_code == 409 and "already has inspection" in r.json()["detail"]
    assert client.delete(url, headers=leader).status_code == 409
    r = client.post("/quality/inspections", json={"building": "d"}, headers=leader)
    assert (
        client.delete(f"/quality/inspections/{r.json()['id']}", headers=facility).status_code == 403
    )
    assert (
        client.delete(f"/quality/inspections/{r.json()['id']}", headers=leader).status_code == 204
    )
    [listed] = client.get("/quality/inspections", headers=facility).json()
    assert listed["id"] == insp["id"] and listed["status"] == "done"
    assert client.get(url, headers=facility).json()["approved"] is False
    r = client.get(
        "/quality/summary", params={"first": "2026-11-01", "last": "2026-11-30"}, headers=facility
    )
    [row] = r.json()
    assert (row["building"], row["rooms_inspected"], row["rooms_approved"]) == ("s", 2, 1)
    assert row["approval_rate"] == 0.5 and row["inspections_approved"] == 0
    assert client.get("/quality/summary", headers=facility).status_code == 422
    spec = client.get("/openapi.json").json()
    assert {"/quality/inspections", "/quality/summary"} <= set(spec["paths"])


def test_a_leader_bound_token_inspects_only_their_buildings(
    client: TestClient, backend: Backend
) -> None:
    backend.registry.merge(
        RegistryData(
            people=[Person(id="p8", role="service_leader", name="Mads Hansen")],
            leaders=[Leader(building="d", person="p8")],
        )
    )
    mads, anne = bearer(backend, "service_leader", "p8"), bearer(backend, "service_leader", "p9")
    r = client.post("/quality/inspections", json={"building": "s"}, headers=mads)
    assert r.status_code == 403 and "not one of yours" in r.json()["detail"]
    school = client.post("/quality/inspections", json={"building": "s"}, headers=anne).json()
    r = client.post(
        "/quality/inspections", json={"building": "d", "inspector": "Mads"}, headers=mads
    )
    assert r.status_code == 200 and r.json()["inspector"] == "Mads"
    r = client.put(
        f"/quality/inspections/{school['id']}/rooms/s-wc", json={"level": 3}, headers=mads
    )
    assert r.status_code == 403
    assert client.get(f"/quality/inspections/{school['id']}", headers=mads).status_code == 403
    assert [i["building"] for i in client.get("/quality/inspections", headers=mads).json()] == ["d"]
    r = client.get("/quality/summary", params={"first": str(DAY), "building": "s"}, headers=mads)
    assert r.status_code == 403


def test_a_registry_made_before_the_quality_tables_gains_them(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    for sql in MIGRATIONS[:5]:
        db.executescript(sql)
    db.execute("PRAGMA user_version = 5")
    db.execute("INSERT INTO buildings (id, name, kind) VALUES ('s', 'Skolen', 'school')")
    db.execute(
        "INSERT INTO rooms (id, building, type, area_m2, quality_level) "
        "VALUES ('s-1', 's', 'office', 10, 4)"
    )
    db.close()
    with Registry(path) as reg:
        assert reg.query("PRAGMA user_version")[0][0] == len(MIGRATIONS)
        assert reg.room("s-1") is not None
        insp = inspections.plan(reg, QualitySettings(), "s", DAY, 0)
        assert [(r.room, r.agreed) for r in insp.rooms] == [("s-1", 4)]
