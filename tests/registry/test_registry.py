"""The registry: import errors with file and line, round trips, the sample, the gateway files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from behelpers import registry_data
from typer.testing import CliRunner

from backend.registry import Registry, RegistryData, RegistryError
from backend.registry.files import RegistryFileError, read, write
from backend.registry.sample import SampleOptions, card_uid, generate
from backend.registry.schema import MIGRATIONS
from pletfri.cli import app as cli
from pletfri.settings import Settings
from pletfri_fw.pseudonym import Pseudonymiser


def problems(path: Path) -> list[str]:
    with pytest.raises(RegistryFileError) as e:
        read(path)
    return e.value.problems


def test_yaml_errors_name_the_file_the_line_and_the_problem(tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_text(
        "buildings:\n"
        "  - {id: b1, name: Skolen, kind: school}\n"
        "  - id: b2\n"
        "    name: Slottet\n"
        "    kind: castle\n"
        "rooms:\n"
        "  - {id: b1-r1, building: b9, type: toilet, area_m2: 12}\n"
        "  - {id: b1-r2, building: b1, type: toilet, area_m2: -1}\n"
        "  - {id: b1-r2, building: b1, type: toilet, area_m2: 5, colour: red}\n"
        "devices:\n"
        "  - {id: occ-aabbccddeeff, kind: station, room: b1-r1}\n"
    )
    assert problems(f) == [
        f"{f}:3: kind: Input should be 'school', 'daycare', 'townhall' or 'other'",
        f"{f}:8: area_m2: Input should be greater than 0",
        f"{f}:9: colour: Extra inputs are not permitted",
        f"{f}:11: a station id starts with 'nfc-', got 'occ-aabbccddeeff'",
        f"{f}:7: unknown building 'b9': add it to buildings first",
    ]


def test_yaml_structure_errors(tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_text("rooms: {id: x}\nstaff: []\n")
    assert problems(f) == [
        f"{f}:1: rooms must be a list of records",
        f"{f}:2: unknown section 'staff'; use buildings, rooms, devices, people, cards, leaders",
    ]
    f.write_text("buildings: [\n")
    assert "not valid YAML" in problems(f)[0]


def test_csv_errors_name_the_file_and_line(tmp_path: Path) -> None:
    write(registry_data(), tmp_path / "reg")
    rooms = tmp_path / "reg" / "rooms.csv"
    lines = rooms.read_text().splitlines()
    lines[2] = lines[2].replace("classroom", "class room")
    rooms.write_text("\n".join(lines) + "\n")
    cards = tmp_path / "reg" / "cards.csv"
    cards.write_text(cards.read_text() + "C1C1,p1\n")
    found = problems(tmp_path / "reg")
    assert found[0].startswith(f"{rooms}:3: type: String should match pattern")
    assert found[1].startswith(f"{cards}:5: card: String should match pattern")
    (tmp_path / "reg" / "people.csv").write_text("id,role,shoe_size\np1,cleaner,44\n")
    assert problems(tmp_path / "reg") == [
        f"{tmp_path / 'reg' / 'people.csv'}:1: unknown column(s) shoe_size; columns are "
        "id,role,team,building,buddy,name,email,language,webhook,quiet_hours"
    ]


def registry_counts(data: RegistryData) -> dict[str, int]:
    return {section: len(getattr(data, section)) for section in RegistryData.model_fields}


def test_round_trips_and_merge(tmp_path: Path) -> None:
    data = registry_data()
    for target in (tmp_path / "r.yaml", tmp_path / "csv"):
        write(data, target)
        assert read(target) == data
    with Registry(tmp_path / "db.sqlite") as reg:
        reg.replace(data)
        assert {b.id for b in reg.buildings()} == {"s", "d"}
        assert [p.id for p in reg.leaders("s")] == ["p9"] and reg.led_buildings("p9") == ["d", "s"]
        assert reg.card_owners()["7777777777777777"].role == "trainee"
        with pytest.raises(RegistryError, match="unknown room 'nowhere'"):
            reg.merge(data.model_copy(update={"devices": [
                data.devices[0].model_copy(update={"room": "nowhere"})]}))  # fmt: skip
        # Merging a changed building updates it in place and keeps its rooms and devices.
        renamed = data.buildings[0].model_copy(update={"name": "Bakkehøj Skole Nord"})
        reg.merge(RegistryData(buildings=[renamed]))
        assert reg.building("s") == renamed
        assert reg.counts() == registry_counts(data)
        assert reg.remove("rooms", "s-wc")
        assert reg.room("s-wc") is None and len(reg.devices("s")) == 6
    with Registry(tmp_path / "db.sqlite") as reg:
        assert reg.query("PRAGMA user_version")[0][0] == len(MIGRATIONS)


def test_the_sample_municipality() -> None:
    data = generate()
    assert generate() == data
    assert len(data.buildings) == 155
    assert 6000 <= len(data.rooms) <= 6400
    tracks = [b.name for b in data.buildings if b.training_track]
    kinds = [b.kind for b in data.buildings if b.training_track]
    assert len(tracks) == 4 and "Rådhuset" in tracks and kinds.count("school") == 2
    sensors = {d.room for d in data.devices if d.kind == "sensor"}
    stations = {d.room for d in data.devices if d.kind == "station"}
    assert sensors == {r.id for r in data.rooms} and 0.7 < len(stations) / len(sensors) < 1
    roles = {p.role for p in data.people}
    assert roles == {"cleaner", "trainee", "buddy", "service_leader"}
    assert all(any(x.building == b.id for x in data.leaders) for b in data.buildings)
    first = data.people[0].id
    key = Pseudonymiser(b"pletfri-demo-1")
    assert data.cards[0].card == key.card(card_uid(1, first))
    assert generate(SampleOptions(seed=2)) != data


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PLETFRI_BACKEND__DATABASE_FILE", str(settings.backend.database_file))
    monkeypatch.setenv("PLETFRI_INFLUX__URL", settings.influx.url)
    monkeypatch.setenv("PLETFRI_INFLUX__DATABASE", settings.influx.database)
    monkeypatch.setenv("PLETFRI_MQTT__PORT", str(settings.mqtt.port))
    monkeypatch.setenv("PLETFRI_GATEWAY__REGISTRY_FILE", str(settings.gateway.registry_file))
    return CliRunner()


def test_cli_sample_show_and_gateway_files(run: CliRunner, settings: Settings) -> None:
    out = run.invoke(cli, ["registry", "sample", "--seed", "1"])
    assert out.exit_code == 0, out.output
    assert "155 buildings" in out.output
    out = run.invoke(cli, ["registry", "show", "--building", "b001"])
    assert "Rådhuset, townhall (training track)" in out.output
    out = run.invoke(cli, ["registry", "export-devices"])
    assert out.exit_code == 0, out.output
    devices = settings.gateway.registry_file
    with devices.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["device", "kind", "building", "room", "room_type"]
    assert {r["kind"] for r in rows} == {"station", "sensor"}
    with devices.with_name("cards.csv").open() as f:
        cards = list(csv.DictReader(f))
    assert list(cards[0]) == ["card", "role"] and len(cards[0]["card"]) == 16


def test_cli_import_reports_problems_and_changes_nothing(run: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rooms:\n  - {id: x-1, building: nowhere, type: toilet, area_m2: 5}\n")
    out = run.invoke(cli, ["registry", "import", str(bad)])
    assert out.exit_code == 2
    assert f"{bad}:2: unknown building 'nowhere'" in out.output
    good = tmp_path / "good.yaml"
    write(registry_data(), good)
    out = run.invoke(cli, ["registry", "import", str(good)])
    assert out.exit_code == 0 and "2 buildings, 5 rooms" in out.output
    # A file merged into the registry may refer to what is already there.
    more = tmp_path / "more.yaml"
    more.write_text("rooms:\n  - {id: s-wc2, building: s, type: toilet, area_m2: 9}\n")
    out = run.invoke(cli, ["registry", "import", str(more)])
    assert out.exit_code == 0 and "6 rooms" in out.output, out.output
    out = run.invoke(cli, ["registry", "import", "--replace", str(more)])
    assert out.exit_code == 2 and f"{more}:2: unknown building 's'" in out.output
    out = run.invoke(cli, ["plan", "--building", "s", "--date", "2026-11-16",
                           "--now", "2026-11-16T15:00"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "s 2026-11-16 afternoon: 5 due" in out.output
    out = run.invoke(cli, ["plan", "--shift", "night"])
    assert out.exit_code == 2 and "no shift 'night'" in out.output


def test_the_documented_example_imports(tmp_path: Path) -> None:
    data = read(Path(__file__).parents[2] / "docs" / "registry-example.yaml")
    with Registry(tmp_path / "db.sqlite") as reg:
        reg.replace(data)
        assert [p.name for p in reg.leaders("b201")] == ["Hanne Larsen"]
