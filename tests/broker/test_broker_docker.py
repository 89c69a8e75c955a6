"""docker/mosquitto/mosquitto.conf, as docker-compose.yml mounts it, on the real Mosquitto
with files made by the `pletfri broker` commands the operator runs (its README)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from brhelpers import Probe
from typer.testing import CliRunner

from backend.broker import passwords
from backend.registry import Building, Device, Registry, RegistryData, Room
from pletfri.cli import app as cli
from pletfri.services import free_port
from pletfri_fw import contract

ROOT = Path(__file__).resolve().parents[2]
STATION, OTHER = "nfc-a4cf12f0b3c1", "nfc-a4cf12f0b3c2"


def _registry(db: Path) -> None:
    with Registry(db) as reg:
        reg.replace(
            RegistryData(
                buildings=[Building(id="b001", name="School", kind="school")],
                rooms=[Room(id="b001-r001", building="b001", type="classroom", area_m2=50)],
                devices=[Device(id=d, kind="station", room="b001-r001") for d in (STATION, OTHER)],
            )
        )


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_compose_brokers_config_refuses_what_it_should(tmp_path: Path) -> None:
    config = tmp_path / "config"
    env = {
        "PLETFRI_BACKEND__DATABASE_FILE": str(tmp_path / "registry.sqlite"),
        "PLETFRI_BROKER__PASSWORD_FILE": str(config / "passwd"),
        "PLETFRI_BROKER__ACL_FILE": str(config / "acl"),
    }
    _registry(tmp_path / "registry.sqlite")
    runner = CliRunner()
    for args in (["account", "gateway"], ["sync"], ["add", STATION]):
        r = runner.invoke(cli, ["broker", *args], env=env)
        assert r.exit_code == 0, r.output
    station_pw = r.output.split("password ")[1].split()[0]
    port = free_port()
    conf = (ROOT / "docker/mosquitto/mosquitto.conf").read_text()
    conf = conf.replace("/mosquitto/config/", f"{config}/")
    conf = conf.replace("/mosquitto/data/", f"{tmp_path}/data/")
    conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
    if os.geteuid() == 0:  # else Mosquitto becomes user "mosquitto", who cannot read tmp
        conf += "\nuser root\n"
    (tmp_path / "mosquitto.conf").write_text(conf)
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([binary, "-c", str(tmp_path / "mosquitto.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    probes: list[Probe] = []
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            assert proc.poll() is None and time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)
        anonymous = Probe(port, client_id="anon")
        probes.append(anonymous)
        assert anonymous.connect().is_failure
        device = Probe(port, STATION, station_pw, "dev")
        probes.append(device)
        assert not device.connect().is_failure
        assert device.publish(contract.topic(STATION, contract.TAP), "{}").value < 0x80
        assert device.publish(contract.topic(OTHER, contract.TAP), "{}").value == 0x87
        assert "passwd" in conf and passwords.read(config / "passwd").keys() == {
            "gateway",
            STATION,
        }
    finally:
        for p in probes:
            p.close()
        proc.terminate()
        proc.wait(10)
