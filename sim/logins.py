"""The demo with logins on: the broker's files written as in production, and every
simulated device logged in as itself.

Before the broker starts: the gateway's and the backend's accounts and an empty ACL (no
anonymous access from the first second). Once the registry is loaded: the ACL from it
and one generated password per device (`pletfri broker sync` and `add`, in bulk), then a
reload. The devices' passwords stay in this process's memory; the file holds hashes.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from backend.broker import accounts, passwords
from backend.broker.acl import BACKEND, BACKEND_SPEAKS_FOR, GATEWAY
from pletfri.services import Mosquitto
from pletfri.settings import BrokerSettings, MqttSettings, Settings

log = logging.getLogger(__name__)

# File descriptors besides one socket per device: those below select()'s limit, which
# the device sockets leave free (sim/link.py), and the servers' files, pipes, the backend.
SPARE_FDS = 2048
OPEN_FILES = 65536


@dataclass
class Logins:
    files: BrokerSettings
    services: dict[str, str]

    def as_account(self, s: Settings, account: str) -> Settings:
        """`s` with the MQTT login of one platform account."""
        mqtt_ = s.mqtt.model_copy(update={"username": account, "password": self.services[account]})
        return s.model_copy(update={"mqtt": mqtt_})


def prepare(folder: Path) -> Logins:
    files = BrokerSettings(password_file=folder / "passwd", acl_file=folder / "acl")
    services = {a: accounts.issue(files, a) for a in (GATEWAY, BACKEND)}
    accounts.write_acl(files.acl_file, [])
    return Logins(files, services)


def raise_open_files() -> None:
    """One socket per device, here and in Mosquitto: before the servers start (they
    inherit the limit), the soft limit goes up to the hard one (at most OPEN_FILES)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def check_open_files(devices: int) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < devices + SPARE_FDS:
        raise RuntimeError(
            f"{devices:,} devices with a connection each need {devices + SPARE_FDS:,} open "
            f"files, the limit is {soft:,}; raise the hard limit (`ulimit -Hn`, LimitNOFILE=) "
            "or run fewer buildings (--buildings)"
        )


def provision_fleet(logins: Logins, database_file: Path, mosquitto: Mosquitto) -> dict[str, str]:
    """ACL from the registry, a password for every device with a radio; broker reloaded."""
    devices = accounts.registry_devices(database_file)
    accounts.write_acl(logins.files.acl_file, devices)
    users = passwords.read(logins.files.password_file)
    fleet = {d.id: passwords.new_password() for d in devices if d.kind not in BACKEND_SPEAKS_FOR}
    users |= {d: passwords.hash_password(p) for d, p in fleet.items()}
    passwords.write(logins.files.password_file, users)
    mosquitto.reload()
    if fleet:
        device = next(iter(fleet))
        _await_login(mosquitto.port, device, fleet[device])
    return fleet


def _login_accepted(port: int, user: str, password: str) -> bool:
    answers: list[bool] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}-probe", protocol=mqtt.MQTTv5)
    c.username_pw_set(user, password)
    c.on_connect = lambda client, u, f, rc, p: answers.append(not rc.is_failure)
    c.connect("127.0.0.1", port, 10)
    deadline = time.monotonic() + 2
    while not answers and time.monotonic() < deadline:
        c.loop(0.05)
    c.disconnect()
    return answers == [True]


def _await_login(port: int, user: str, password: str, timeout: float = 10.0) -> None:
    """Until Mosquitto has read the new files (it handles a SIGHUP in its next loop)."""
    deadline = time.monotonic() + timeout
    while not _login_accepted(port, user, password):
        if time.monotonic() > deadline:
            raise RuntimeError(f"Mosquitto did not accept {user}'s new login within {timeout} s")
        time.sleep(0.05)


def device_settings(s: MqttSettings) -> MqttSettings:
    """The devices' own logins replace the account; host, port and TLS stay."""
    return s.model_copy(update={"username": None, "password": None})
