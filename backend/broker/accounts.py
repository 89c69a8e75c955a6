"""Credentials at provisioning, revocation, the ACL from the registry, reloading Mosquitto.

Passwords are generated here, shown once to whoever provisions, and stored only as
Mosquitto's hash. Every change rewrites a whole file atomically; Mosquitto reads it
again on SIGHUP (`reload`), keeping the connections of accounts that are still valid
and dropping those whose password is gone.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

from backend.broker import passwords
from backend.broker.acl import BACKEND_SPEAKS_FOR, SERVICE_ACCOUNTS, AclDevice, acl_text
from backend.registry import Registry
from pletfri.settings import BrokerSettings
from pletfri_fw import contract


class BrokerError(Exception):
    """A broker change that cannot be made; the message says what to do."""


def registry_devices(database_file: Path) -> list[AclDevice]:
    if not database_file.exists():
        raise BrokerError(
            f"the registry {database_file} does not exist; import one first "
            "(`pletfri registry import FILE`) or set backend.database_file"
        )
    with Registry(database_file) as reg:
        return [AclDevice(d.device, d.kind) for d in reg.placed_devices()]


def check_login_device(database_file: Path, device: str) -> None:
    """BrokerError unless `device` may have a login: registered, and with a radio."""
    _login_device(registry_devices(database_file), device)


def _login_device(devices: list[AclDevice], device: str) -> None:
    if not contract.valid_device(device):
        raise BrokerError(f"{device!r} is not a device id ({contract.DEVICE_PATTERN})")
    kinds = {d.id: d.kind for d in devices}
    if device not in kinds:
        raise BrokerError(
            f"{device} is not in the registry; add it there first, then give it credentials"
        )
    if kinds[device] in BACKEND_SPEAKS_FOR:
        raise BrokerError(
            f"{device} is a {kinds[device]}: the backend speaks for it, it has no login"
        )


def issue(s: BrokerSettings, user: str) -> str:
    """A new password for `user` (replacing any old one); returned once, stored hashed."""
    password = passwords.new_password()
    set_password(s, user, password)
    return password


def set_password(s: BrokerSettings, user: str, password: str) -> None:
    users = passwords.read(s.password_file)
    users[user] = passwords.hash_password(password)
    passwords.write(s.password_file, users)


def issue_device(s: BrokerSettings, database_file: Path, device: str) -> str:
    check_login_device(database_file, device)
    return issue(s, device)


def revoke(s: BrokerSettings, user: str) -> bool:
    """Remove `user`'s password; False if it had none."""
    users = passwords.read(s.password_file)
    if users.pop(user, None) is None:
        return False
    passwords.write(s.password_file, users)
    return True


@dataclass(frozen=True, slots=True)
class SyncResult:
    devices: int
    # Device logins removed because their device left the registry.
    pruned: list[str]
    # Registered devices (with a radio) that have no password yet.
    without_login: list[str]


def sync(s: BrokerSettings, database_file: Path, simulator: bool = False) -> SyncResult:
    """Write the ACL from the registry and drop logins of devices no longer in it."""
    devices = registry_devices(database_file)
    write_acl(s.acl_file, devices, simulator)
    known = {d.id for d in devices if d.kind not in BACKEND_SPEAKS_FOR}
    users = passwords.read(s.password_file)
    pruned = [u for u in users if u not in known and u not in SERVICE_ACCOUNTS]
    if pruned:
        passwords.write(s.password_file, {u: h for u, h in users.items() if u not in pruned})
    return SyncResult(len(devices), pruned, sorted(known - set(users)))


def write_acl(path: Path, devices: list[AclDevice], simulator: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(acl_text(devices, simulator))
    os.replace(tmp, path)


def reload(pid_file: Path | None) -> int:
    """SIGHUP to the running Mosquitto: it reads its password file and ACL again."""
    if pid_file is None:
        raise BrokerError(
            "broker.pid_file is not set; set it to Mosquitto's pid_file, or reload the way "
            "Mosquitto runs: `systemctl reload mosquitto` or "
            "`docker compose kill -s HUP mosquitto`"
        )
    try:
        pid = int(pid_file.read_text().strip())
    except FileNotFoundError:
        raise BrokerError(f"{pid_file} does not exist; is Mosquitto running?") from None
    except ValueError:
        raise BrokerError(f"{pid_file} does not hold a process id") from None
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise BrokerError(f"no process {pid} (from {pid_file}); is Mosquitto running?") from None
    except PermissionError:
        raise BrokerError(
            f"not allowed to signal process {pid}; run as Mosquitto's user or root"
        ) from None
    return pid
