"""What per-device logins cost the fleet simulator: one connection per device, each
logged in as itself under the ACL, against a few shared connections without logins.

Method: the sample registry cut to --buildings (155: 11,319 devices); a fresh Mosquitto
2.0.11 per mode (pletfri.services), with the password file and ACL `pletfri broker`
writes for the logins mode, none for the shared mode (4 connections, the old demo's).
The fleet (sim/fleet.py: the firmware's logic, no taps, no gateway) runs one simulated
school day of 15-minute steps, paced at --rate like the demo. Measured per mode: the
time to bring the connections up, the wall time of the day, the CPU seconds of this
process and of Mosquitto over the day, the messages sent. The modes run in turn
(shared, logins, shared, logins, ...) so both see the same load; the load average is
printed at the start.

    .venv/bin/python bench/sim_logins.py --buildings 155 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from backend.broker import accounts, passwords
from backend.broker.acl import AclDevice
from backend.registry.sample import SampleOptions, generate
from pletfri.services import Mosquitto
from pletfri.settings import BrokerSettings, MqttSettings
from sim import logins
from sim.calendar import school_week
from sim.faults import plant
from sim.fleet import Fleet, FleetConfig
from sim.link import Pool
from sim.registry import municipality, subset

STEP_MS = 900_000


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(mode: str, buildings: int, rate: float, folder: Path) -> dict[str, float]:
    data = subset(generate(SampleOptions(seed=1)), buildings)
    m = municipality(data, 1)
    files = BrokerSettings(password_file=folder / "passwd", acl_file=folder / "acl")
    own = mode == "logins"
    fleet_logins = None
    if own:
        fleet_logins = {d.id: passwords.new_password() for d in data.devices}
        passwords.write(
            files.password_file,
            {d: passwords.hash_password(p) for d, p in fleet_logins.items()},
        )
        accounts.write_acl(files.acl_file, [AclDevice(d.id, d.kind) for d in data.devices])
    broker = Mosquitto(
        "mosquitto",
        folder / "mosquitto",
        password_file=files.password_file if own else None,
        acl_file=files.acl_file if own else None,
    ).start()
    try:
        tz = ZoneInfo("Europe/Copenhagen")
        cal = school_week(date(2026, 11, 28), 1, tz)
        pool = Pool(MqttSettings(port=broker.port), 4, rate, logins=fleet_logins)
        t0 = time.perf_counter()
        pool.start(timeout=120)
        connect_s = time.perf_counter() - t0
        fleet = Fleet(
            m,
            cal,
            plant(m, cal, 1),
            pool,
            1,
            b"k" * 16,
            FleetConfig(sensor_send_s=7200, station_heartbeat_s=21600),
        )
        t, end = int(cal.start.timestamp() * 1000), int(cal.end.timestamp() * 1000)
        cpu0, broker0, wall0 = _self_cpu(), _cpu(broker.proc.pid), time.perf_counter()  # type: ignore[union-attr]
        fleet.start(t)
        while t < end:
            fleet.step(t, t + STEP_MS)
            t += STEP_MS
        fleet.finish(end)
        pool.flush()
        out = {
            "devices": len(data.devices),
            "connect_s": connect_s,
            "day_wall_s": time.perf_counter() - wall0,
            "sim_cpu_s": _self_cpu() - cpu0,
            "broker_cpu_s": _cpu(broker.proc.pid) - broker0,  # type: ignore[union-attr]
            "sent": pool.published,
        }
        pool.stop()
        return out
    finally:
        broker.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--buildings", type=int, default=155)
    p.add_argument("--rate", type=float, default=8000.0)
    p.add_argument("--rounds", type=int, default=1)
    a = p.parse_args()
    logins.raise_open_files()
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("mode     devices  connect_s  day_wall_s  sim_cpu_s  broker_cpu_s  sent")
    for _ in range(a.rounds):
        for mode in ("shared", "logins"):
            with tempfile.TemporaryDirectory() as d:
                r = run(mode, a.buildings, a.rate, Path(d))
            print(
                f"{mode:8} {r['devices']:7,.0f}  {r['connect_s']:9.1f}  {r['day_wall_s']:10.1f}"
                f"  {r['sim_cpu_s']:9.1f}  {r['broker_cpu_s']:12.1f}  {r['sent']:,.0f}"
            )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
