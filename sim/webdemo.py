"""`pletfri web demo`: the web pages served on the last demo's data, with demo logins.

The demo's servers are started again on its data (<run.dir>/demo/servers), with the gateway,
so a sticker or station tap made now is stored too. The pages' clock is the demo's: it
starts an hour and a half into the last simulated day's afternoon shift and runs on in real
time, so the cleaner's page ticks rooms off as the simulated cleaners' taps come due.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backend.registry import Registry
from backend.stickers import PARAM_CMAC, PARAM_PICC, PATH, keys, sun
from backend.web import accounts

# Demo logins only: printed on the console and in the README.
PASSWORD = "pletfri-demo"
SHIFT_LEAD_MS = 90 * 60_000


@dataclass(frozen=True, slots=True)
class DemoLogin:
    name: str
    person: str
    what: str


class NoDemoData(Exception):
    pass


def demo_folder(run_dir: Path) -> Path:
    folder = run_dir.resolve() / "demo"
    if not (folder / "backend.sqlite").exists() or not (folder / "servers").is_dir():
        raise NoDemoData(f"no demo data in {folder}: run ./demo.sh (about 4 minutes) first")
    return folder


def demo_clock(registry: Registry, shift: str = "afternoon") -> Callable[[], int]:
    """The pages' "now": into the last planned day's `shift` (else its last shift), on in
    real time from the moment this is called."""
    rows = (
        registry.query(
            "SELECT max(start_ms) AS start FROM plans WHERE day = (SELECT max(day) FROM plans) "
            "AND shift = ?",
            (shift,),
        )
        or []
    )
    start = rows[0]["start"] if rows else None
    if start is None:
        [row] = registry.query("SELECT max(start_ms) AS start FROM plans")
        start = row["start"]
    if start is None:
        raise NoDemoData("the demo's database has no plans: run ./demo.sh again")
    began = time.time()
    return lambda: int(start + SHIFT_LEAD_MS + (time.time() - began) * 1000)


def demo_logins(registry: Registry, now_ms: int) -> list[DemoLogin]:
    """Logins for a district's service leader, a training track's leader and a cleaner of
    one of the district's buildings; made once, kept on later runs."""
    accounts.ensure_schema(registry)
    existing = {name for name, _, _ in accounts.users(registry)}
    leaders = registry.people("service_leader")
    led = {p.id: registry.led_buildings(p.id) for p in leaders}
    district = max(leaders, key=lambda p: (len(led[p.id]) >= 10, -len(led[p.id]), p.id))
    tracks = {b.id for b in registry.buildings() if b.training_track}
    track = next((p for p in leaders if len(led[p.id]) == 1 and led[p.id][0] in tracks), None)
    cleaner = next(p for b in led[district.id] for p in registry.people("cleaner", b) if p.building)
    wanted = [
        DemoLogin("leder", district.id,
                  f"service leader of {len(led[district.id])} buildings ({district.name})"),
        DemoLogin("rengoering", cleaner.id, f"cleaner at {cleaner.building}"),
    ]  # fmt: skip
    if track is not None:
        wanted.append(
            DemoLogin("oplaering", track.id, f"training track leader ({led[track.id][0]})")
        )
    for login in wanted:
        if login.name not in existing:
            accounts.add(registry, login.name, login.person, PASSWORD, now_ms)
    return wanted


def sticker_link(registry: Registry, master_key: str, building: str, base: str) -> str | None:
    """A fresh URL of one of the building's stickers (its next read counter), to try the
    sticker's page without a phone; None if the building has no sticker."""
    rows = registry.query(
        "SELECT d.id, r.name, coalesce(c.counter, 0) AS counter FROM devices d "
        "JOIN rooms r ON r.id = d.room LEFT JOIN sticker_counters c ON c.device = d.id "
        "WHERE d.kind = 'sticker' AND r.building = ? ORDER BY d.id LIMIT 1",
        (building,),
    )
    if not rows:
        return None
    master = keys.parse_master_key(master_key)
    uid = bytes.fromhex(rows[0]["id"].split("-", 1)[1])
    picc, cmac = sun.emulate(
        keys.meta_read_key(master), keys.file_read_key(master, uid), uid, rows[0]["counter"] + 1
    )
    return f"{base}{PATH}?{PARAM_PICC}={picc}&{PARAM_CMAC}={cmac}"
