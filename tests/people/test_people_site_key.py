"""`pletfri site-key`: init, show, rotate (the stations' retained config), learn from the
(card, card_prev) pairs of the taps, finish (refused while a card waits, unless --force)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from behelpers import BUDDY, CLEANER, at
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from backend.cleaning import need
from backend.people import sitekey
from backend.service import Backend
from pletfri.cli import app as cli
from pletfri.influx import line
from pletfri.settings import Settings
from pletfri_fw import contract
from pletfri_fw.pseudonym import Pseudonymiser

NEW_CLEANER = "c2c2c2c2c2c2c2c2"


def _retained_config(settings: Settings, device: str) -> dict[str, str | None]:
    got: list[bytes] = []
    done = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="site-key-test", protocol=mqtt.MQTTv5)
    c.on_connect = lambda cl, u, f, rc, p: cl.subscribe(contract.topic(device, contract.CONFIG))
    c.on_message = lambda cl, u, m: (got.append(m.payload), done.set())
    c.connect(settings.mqtt.host, settings.mqtt.port)
    c.loop_start()
    try:
        assert done.wait(5), "no retained config"
    finally:
        c.loop_stop()
        c.disconnect()
    return json.loads(got[0])


def _clear_configs(settings: Settings, backend: Backend) -> None:
    stations = backend.registry.placed_devices("station")
    need.publish(
        settings.mqtt, [(contract.topic(s.device, contract.CONFIG), b"") for s in stations]
    )


def test_rotation_commands(
    backend: Backend, settings: Settings, run: CliRunner, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    key_file = tmp_path / "site-key.json"
    monkeypatch.setenv("PLETFRI_BACKEND__SITE_KEY_FILE", str(key_file))
    monkeypatch.setenv("PLETFRI_GATEWAY__REGISTRY_FILE", str(settings.gateway.registry_file))
    out = run.invoke(cli, ["site-key", "show"])
    assert out.exit_code == 2 and "pletfri site-key init" in out.output
    out = run.invoke(cli, ["site-key", "init"])
    assert out.exit_code == 0 and oct(key_file.stat().st_mode)[-3:] == "600"
    assert run.invoke(cli, ["site-key", "init"]).exit_code == 2  # one key per installation
    old = sitekey.load(key_file).key_bytes
    assert run.invoke(cli, ["site-key", "show", "--reveal"]).output.strip() == old.hex()
    assert run.invoke(cli, ["site-key", "finish"]).exit_code == 2  # nothing to finish

    try:
        out = run.invoke(
            cli, ["site-key", "rotate", "--overlap-days", "7", "--now", "2026-11-16T12:00"]
        )
        assert out.exit_code == 0, out.output
        assert "sent to 5 stations" in out.output
        new = sitekey.load(key_file).key_bytes
        cfg = _retained_config(settings, "nfc-000000000000")
        assert cfg == {"site_key": new.hex(), "site_key_prev": old.hex()}
        assert run.invoke(cli, ["site-key", "rotate"]).exit_code == 2  # one at a time

        # The cleaner taps during the overlap; the buddy and the trainee do not.
        tags = {"building": "s", "room": "s-wc", "device": "nfc-000000000002"}
        backend.influx.write(
            [line("tap", tags, {"card": NEW_CLEANER, "card_prev": CLEANER, "boot": 1, "seq": 1},
                  at("16:00"))]
        )  # fmt: skip
        assert (
            sitekey.learn(backend.registry, backend.influx, at("12:00"), at("17:00"), at("17:00"))
            == 1
        )
        assert sitekey.successors(backend.registry) == {CLEANER: NEW_CLEANER}
        assert {c.card for c in backend.registry.cards("p1")} == {CLEANER, NEW_CLEANER}
        shown = json.loads(run.invoke(cli, ["site-key", "show"]).output)
        assert shown["rotation"]["cards_waiting"] == 2 and "key" in shown

        out = run.invoke(cli, ["site-key", "finish", "--now", "2026-11-17T12:00"])
        assert out.exit_code == 2 and "2 cards of 2 people were not tapped" in out.output
        assert "p2, p3" in out.output
        out = run.invoke(cli, ["site-key", "finish", "--force", "--now", "2026-11-17T12:00"])
        assert out.exit_code == 0, out.output
        assert "enrol them again: p2, p3" in out.output
        assert _retained_config(settings, "nfc-000000000000") == {
            "site_key": new.hex(), "site_key_prev": None,
        }  # fmt: skip
        # The gateway's cards file knows the new pseudonym; the old ones stay as aliases.
        cards = (settings.gateway.registry_file.parent / "cards.csv").read_text()
        assert NEW_CLEANER in cards and CLEANER in cards and BUDDY in cards
        assert sitekey.load(key_file).history[0]["cards_not_learned"] == 2
        assert Pseudonymiser(new).card(b"\x04\x01") != Pseudonymiser(old).card(b"\x04\x01")
    finally:
        _clear_configs(settings, backend)
