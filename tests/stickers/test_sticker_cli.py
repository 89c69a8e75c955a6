"""`pletfri sticker ...` and the programming sheet: bind, missing, sheet, url, check."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.registry import Building, Device, Registry, RegistryData, Room
from backend.registry.files import read, write
from backend.stickers import keys, sheet, sun
from pletfri.cli import app
from pletfri.settings import Settings

MASTER = "000102030405060708090a0b0c0d0e0f"
UID = "04DE5F1EACC040"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "registry.sqlite"
    monkeypatch.setenv("PLETFRI_BACKEND__DATABASE_FILE", str(db))
    monkeypatch.setenv("PLETFRI_STICKERS__MASTER_KEY", MASTER)
    monkeypatch.setenv("PLETFRI_STICKERS__BASE_URL", "https://rent.example.dk/")
    with Registry(db) as reg:
        reg.replace(
            RegistryData(
                buildings=[Building(id="s", name="Skolen", kind="school")],
                rooms=[
                    Room(id="s-wc", building="s", name="Toilet", type="toilet", area_m2=10),
                    Room(id="s-store", building="s", type="storage", area_m2=8),
                    Room(id="s-class", building="s", type="classroom", area_m2=60),
                ],
                devices=[Device(id="nfc-000000000001", kind="station", room="s-class")],
            )
        )
    return tmp_path


def pletfri(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_bind_sheet_url_and_check(env: Path) -> None:
    code, out = pletfri("sticker", "missing", "-b", "s")
    assert (code, out) == (0, "s-store\ns-wc\n2 room(s) without a station or sticker\n")
    code, out = pletfri("sticker", "bind", "s-wc", "04:de:5f:1e:ac:c0:40")
    assert code == 0 and "tag-04de5f1eacc040" in out
    assert pletfri("sticker", "missing", "-b", "s")[1].startswith("s-store\n1 room")
    code, out = pletfri("sticker", "bind", "s-store", UID)
    assert code == 2 and "bound to room s-wc; add --move" in out
    code, out = pletfri("sticker", "sheet", "-b", "s", "--out", str(env / "out"))
    assert code == 0, out
    path = env / "out" / "stickers-s.csv"
    assert path.stat().st_mode & 0o077 == 0
    (row,) = csv.DictReader(path.open())
    tag = keys.TagKeys.derive(bytes.fromhex(MASTER), bytes.fromhex(UID))
    assert row["key1_sdm_file_read"] == tag.keys[1].hex().upper()
    assert row["key2_sdm_meta_read"] == keys.meta_read_key(bytes.fromhex(MASTER)).hex().upper()
    assert row["url_template"] == "https://rent.example.dk/t?picc={picc}&cmac={cmac}"
    assert "Toilet" in (env / "out" / "stickers-s.html").read_text()
    code, url = pletfri("sticker", "url", UID, "42")
    assert code == 0 and url.startswith("https://rent.example.dk/t?picc=")
    code, out = pletfri("sticker", "check", url.strip())
    assert code == 0
    assert json.loads(out) == {"result": "authentic", "device": "tag-04de5f1eacc040", "counter": 42}
    code, out = pletfri("sticker", "check", url.strip()[:-3])
    assert code == 1 and json.loads(out)["result"] == "malformed"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("sticker", "bind", "s-wc", "04DE5F1EACC04"), "not 14 hex digits"),
        (("sticker", "bind", "s-wc", "05DE5F1EACC040"), "does not start with 04"),
        (("sticker", "bind", "nope", UID), "unknown room 'nope'"),
        (("sticker", "bind", "s-wc", UID, "--installed", "yesterday"), "give a day like"),
        (("sticker", "sheet"), "give --building or --room"),
        (("sticker", "sheet", "-b", "s"), "no stickers bound in s"),
        (("sticker", "sheet", "-b", "zz"), "unknown building 'zz'"),
        (("sticker", "url", "zz", "1"), "not 14 hex digits"),
    ],
)
def test_bad_input_is_explained(env: Path, args: tuple[str, ...], words: str) -> None:
    code, out = pletfri(*args)
    assert code == 2 and words in out


def test_without_master_key_commands_say_what_to_set(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLETFRI_STICKERS__MASTER_KEY")
    code, out = pletfri("sticker", "url", UID, "1")
    assert code == 2 and "stickers.master_key" in out


def test_every_sticker_command_has_help() -> None:
    for command in ("new-master-key", "bind", "list", "missing", "sheet", "url", "flush", "check"):
        code, out = pletfri("sticker", command, "--help")
        assert code == 0 and "Usage" in out


def test_the_sheets_offsets_put_the_mirrors_where_the_url_has_them() -> None:
    """Emulate the tag's mirroring into the NDEF file and read the URL back out of it."""
    lay = sheet.layout("https://pletfri.example.dk")
    master, uid = bytes(range(16)), bytes.fromhex(UID)
    picc, cmac = sun.emulate(keys.meta_read_key(master), keys.file_read_key(master, uid), uid, 9)
    f = bytearray(lay.ndef_file)
    f[lay.picc_offset : lay.picc_offset + 32] = picc.encode()
    f[lay.mac_offset : lay.mac_offset + 16] = cmac.encode()
    nlen = int.from_bytes(f[:2], "big")
    assert f[2:6] == bytes([0xD1, 0x01, nlen - 4, 0x55]) and f[6] == 0x04
    url = "https://" + f[7 : 2 + nlen].decode()
    assert url == lay.url_template.format(picc=picc, cmac=cmac)
    # Our options: SDM on, read free, key 0 for the rest, mirrors in ASCII, meta read key
    # 2, file read key 1, no counter retrieval (F); the offsets least significant byte first.
    data = bytes.fromhex(lay.change_file_settings())
    assert data[:6] == bytes.fromhex("4000E0C1FF21")
    assert int.from_bytes(data[6:9], "little") == lay.picc_offset
    assert int.from_bytes(data[9:12], "little") == lay.mac_offset
    assert int.from_bytes(data[12:15], "little") == lay.mac_offset


def test_an12196_layout_and_file_settings() -> None:
    """AN12196's SDM example: its URL puts PICCData at 0x20 and the MAC at 0x43, and its
    ChangeFileSettings data (counter retrieval with key 1) is 4000E0C1F121200000430000430000."""
    lay = sheet.url_layout("https://choose.url.com/ntag424?e={picc}&c={cmac}")
    assert (lay.picc_offset, lay.mac_offset) == (0x20, 0x43)
    data = sheet.file_settings(lay.picc_offset, lay.mac_input_offset, lay.mac_offset, ctr_ret=1)
    assert data.hex().upper() == "4000E0C1F121200000430000430000"


@pytest.mark.parametrize("base", ["ftp://x.example", "https://x.example/ø", "x.example"])
def test_a_base_url_a_sticker_cannot_hold_is_refused(base: str) -> None:
    with pytest.raises(sheet.SheetError, match=r"stickers\.base_url"):
        sheet.layout(base)


def test_stickers_go_through_registry_export_and_import(tmp_path: Path) -> None:
    data = RegistryData(
        buildings=[Building(id="s", name="S", kind="school")],
        rooms=[Room(id="s-wc", building="s", type="toilet", area_m2=10)],
        devices=[Device(id="tag-04de5f1eacc040", kind="sticker", room="s-wc")],
    )
    for target in (tmp_path / "r.yaml", tmp_path / "csv"):
        write(data, target)
        assert read(target).devices == data.devices
    with pytest.raises(ValueError, match="14 lowercase hex"):
        Device(id="tag-04de5f1eacc0", kind="sticker", room="s-wc")
    with pytest.raises(ValueError, match="starts with 'tag-'"):
        Device(id="nfc-04de5f1eacc040", kind="sticker", room="s-wc")


def test_flush_sends_the_outbox_to_the_broker(
    env: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLETFRI_MQTT__PORT", str(settings.mqtt.port))
    with Registry(env / "registry.sqlite") as reg, reg.transaction() as db:
        db.execute(
            "INSERT INTO sticker_spool (device, seq, payload, created_ms) VALUES (?, ?, ?, ?)",
            ("tag-04de5f1eacc040", 3, '{"v":1}', 1),
        )
    code, out = pletfri("sticker", "flush")
    assert code == 0 and out.endswith("sent 1 tap(s); 0 left in the outbox\n")
