"""Mosquitto's ACL from the registry: one block per device, one per platform account.

Mosquitto denies whatever the ACL does not grant. The file names every registered device
with exactly its own topics, rather than one `pattern ... %u` line: a pattern would apply
to every account (the gateway could then speak as a device named "gateway"), and a
device removed from the registry loses its rights with the next `pletfri broker sync`
even before its password is gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pletfri_fw import contract

GATEWAY = "gateway"
BACKEND = "backend"
# Load generators and benchmarks that play many devices over one connection; never in
# a production password file (the demo's devices log in as themselves).
SIMULATOR = "simulator"
SERVICE_ACCOUNTS = (GATEWAY, BACKEND, SIMULATOR)

# Registry kinds with no radio of their own: the backend publishes their taps and reads
# their acks (NFC stickers, read by a cleaner's phone, come in through the backend's API).
BACKEND_SPEAKS_FOR = ("sticker",)


@dataclass(frozen=True, slots=True)
class AclDevice:
    id: str
    kind: str


def _device_block(device: str) -> list[str]:
    lines = [f"user {device}"]
    lines += [f"topic write {contract.topic(device, ch)}" for ch in contract.UPLINK]
    lines += [f"topic read {contract.topic(device, ch)}" for ch in contract.DOWNLINK]
    return lines


def acl_text(devices: Iterable[AclDevice], simulator: bool = False) -> str:
    """The whole ACL; `simulator` adds the load generators' account."""
    devices = sorted(devices, key=lambda d: d.id)
    dev = contract.DEV_ROOT
    out = [
        "# Written by `pletfri broker sync` from the registry; do not edit (docs/broker.md).",
        "# Anything not granted here is denied; anonymous clients cannot log in at all.",
        "",
        "# The gateway reads every device's messages and answers taps.",
        f"user {GATEWAY}",
        f"topic read {dev}#",
        f"topic write {dev}+/{contract.ACK}",
        f"topic write {contract.DEADLETTER_TOPIC}",
        "",
        "# The backend sets the stations' light and the devices' settings, sends alerts,",
        "# and speaks for the registered devices that have no radio (NFC stickers).",
        f"user {BACKEND}",
        f"topic write {dev}+/{contract.NEED}",
        f"topic write {dev}+/{contract.CONFIG}",
        f"topic write {contract.ALERTS_ROOT}#",
        f"topic read {contract.ALERTS_ROOT}#",
        f"topic read {contract.DEADLETTER_TOPIC}",
    ]
    for d in devices:
        if d.kind in BACKEND_SPEAKS_FOR:
            out.append(f"topic write {contract.topic(d.id, contract.TAP)}")
            out.append(f"topic read {contract.topic(d.id, contract.ACK)}")
    if simulator:
        out += [
            "",
            "# Load generators only (no production password file has this account).",
            f"user {SIMULATOR}",
            *(f"topic write {dev}+/{ch}" for ch in contract.UPLINK),
            f"topic read {contract.ROOT}/#",
        ]
    out += ["", "# Each device: its own uplink channels, its own downlink channels."]
    for d in devices:
        if d.kind not in BACKEND_SPEAKS_FOR:
            out += ["", *_device_block(d.id)]
    return "\n".join(out) + "\n"
