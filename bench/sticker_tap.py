"""Sticker taps end to end: StickerTaps.tap through the real broker and gateway to its ack.

Method: fresh Mosquitto and InfluxDB (pletfri.services), the real gateway in this process's
threads, a registry of one building with `--stickers` stickers and one cleaner. Each tap is
a real SUN URL from an emulated tag (its counter one higher than the last). Timed: the
whole `tap()` call as the pages make it: SUN check, the replay guard's SQLite transaction,
the QoS 1 publish and its PUBACK, the gateway's commit (spool fsync) and its `ack`.

1. `--taps` taps one after the other (a single phone at a time): latency percentiles;
2. the same with `--threads` phones at once, on different stickers: taps per second;
3. with `--nagle`, both again with Nagle's algorithm left on the publisher's socket
   (paho's default), to show what TCP_NODELAY buys.

    .venv/bin/python bench/sticker_tap.py --taps 300 --threads 8 --nagle
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from backend.registry import Building, Card, Device, Person, RegistryData, Room
from backend.service import Backend
from backend.stickers import PARAM_CMAC, PARAM_PICC, StickerTaps, keys, sun
from backend.stickers import taps as taps_module
from gateway.service import Gateway
from pletfri.influx import Influx
from pletfri.services import running_stack
from pletfri.settings import Settings, load_settings

MASTER = bytes(range(16))
NOW = 1_795_000_000_000


def registry(n: int) -> tuple[RegistryData, list[bytes]]:
    uids = [b"\x04" + i.to_bytes(6, "big") for i in range(1, n + 1)]
    rooms = [Room(id=f"s-r{i:03d}", building="s", type="toilet", area_m2=10) for i in range(n)]
    return RegistryData(
        buildings=[Building(id="s", name="S", kind="school")],
        rooms=rooms,
        devices=[
            Device(id=f"tag-{u.hex()}", kind="sticker", room=r.id)
            for u, r in zip(uids, rooms, strict=True)
        ],
        people=[Person(id="p1", role="cleaner", building="s")],
        cards=[Card(card="c1c1c1c1c1c1c1c1", person="p1")],
    ), uids


class Tags:
    """The emulated stickers: each read one counter higher."""

    def __init__(self, uids: list[bytes]) -> None:
        self.meta = keys.meta_read_key(MASTER)
        self.counters = dict.fromkeys(uids, 0)

    def read(self, uid: bytes) -> dict[str, str]:
        self.counters[uid] += 1
        picc, cmac = sun.emulate(
            self.meta, keys.file_read_key(MASTER, uid), uid, self.counters[uid]
        )
        return {PARAM_PICC: picc, PARAM_CMAC: cmac}


def timed_run(
    s: Settings, be: Backend, tags: Tags, uids: list[bytes], n: int, threads: int
) -> dict[str, object]:
    taps = StickerTaps(s, be.registry)
    assert taps.wait_connected(10)
    lat: list[float] = []
    results: dict[str, int] = {}
    lock = threading.Lock()

    def phone(mine: list[bytes], count: int) -> None:
        for i in range(count):
            uid = mine[i % len(mine)]
            with lock:
                params = tags.read(uid)
            t0 = time.perf_counter()
            out = taps.tap(params, "p1", NOW + i)
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                results[out.result] = results.get(out.result, 0) + 1

    per = [uids[k::threads] for k in range(threads)]
    t0 = time.perf_counter()
    workers = [threading.Thread(target=phone, args=(per[k], n // threads)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    taps.close()
    lat.sort()
    q = statistics.quantiles(lat, n=100)
    return {
        "taps": len(lat),
        "results": results,
        "median_ms": round(1000 * statistics.median(lat), 2),
        "p90_ms": round(1000 * q[89], 2),
        "p99_ms": round(1000 * q[98], 2),
        "max_ms": round(1000 * lat[-1], 2),
        "taps_per_s": round(len(lat) / wall, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--taps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--stickers", type=int, default=64)
    ap.add_argument("--nagle", action="store_true", help="also run with Nagle's algorithm on")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    tmp = Path(tempfile.mkdtemp(prefix="sticker-bench-"))
    with running_stack(tmp / "servers") as stack:
        s = load_settings(
            **stack.settings_overrides(),
            gateway={"registry_file": tmp / "devices.csv", "state_dir": tmp / "gw",
                     "batch_interval_s": 0.2},
            backend={"database_file": tmp / "registry.sqlite"},
            stickers={"master_key": MASTER.hex()},
        )
        Influx(s.influx).query(f'CREATE DATABASE "{s.influx.database}"')
        data, uids = registry(args.stickers)
        with Backend(s) as be:
            be.registry.replace(data)
            be.export_gateway_files()
            gw = Gateway(s).start()
            assert gw.connected.wait(10)
            tags = Tags(uids)
            try:
                modes = [("no delay", taps_module._no_delay)]
                if args.nagle:
                    modes.append(("Nagle", lambda *a: None))
                for name, hook in modes:
                    taps_module._no_delay = hook
                    for threads in (1, args.threads):
                        r = timed_run(s, be, tags, uids, args.taps, threads)
                        print(f"{name:>8}, {threads} phone(s): {r}")
            finally:
                gw.stop()


if __name__ == "__main__":
    main()
