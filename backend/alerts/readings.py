"""The rules' reads from InfluxDB (CONTRACT.md's measurements), each between two instants.

Every query is bounded by explicit times, never by InfluxDB's `now()`, so the demo can
evaluate a simulated past; aggregation happens in InfluxDB, one row per device or room.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pletfri.influx import Influx


def _span(since_ms: int, until_ms: int) -> str:
    return f"time >= {since_ms}ms AND time <= {until_ms}ms"


@dataclass(frozen=True, slots=True)
class Tap:
    time: int
    building: str
    room: str
    device: str
    card: str
    clock_ok: bool


@dataclass(frozen=True, slots=True)
class Visit:
    time: int
    building: str
    room: str
    card: str
    duration_s: float
    planned: bool


class Readings:
    def __init__(self, influx: Influx) -> None:
        self.influx = influx

    def _q(self, q: str) -> list[dict[str, Any]]:
        return self.influx.query(q)

    def taps(self, since_ms: int, until_ms: int) -> list[Tap]:
        rows = self._q(
            'SELECT "card", "clock_ok", "building", "room", "device" FROM "tap" '
            f"WHERE {_span(since_ms, until_ms)}"
        )
        return [
            Tap(
                r["time"],
                r.get("building") or "",
                r.get("room") or "",
                r.get("device") or "",
                r["card"],
                r.get("clock_ok") is not False,
            )
            for r in rows
            if r.get("card")
        ]

    def visits(self, since_ms: int, until_ms: int, room: str | None = None) -> list[Visit]:
        where = _span(since_ms, until_ms)
        if room is not None:
            where += ' AND "room" = \'' + room.replace("'", "\\'") + "'"
        rows = self._q(
            f'SELECT "card", "duration_s", "planned", "building", "room" FROM "visit" WHERE {where}'
        )
        return [
            Visit(
                r["time"],
                r.get("building") or "",
                r.get("room") or "",
                r.get("card") or "",
                float(r.get("duration_s") or 0),
                bool(r.get("planned")),
            )
            for r in rows
        ]

    def latest_need(self, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """Per room: `time` and `score` of its newest need point."""
        return self._q(
            'SELECT last("score") AS "score" FROM "need" '
            f'WHERE {_span(since_ms, until_ms)} GROUP BY "building", "room"'
        )

    def latest_visit(self, since_ms: int, until_ms: int) -> dict[str, int]:
        """Per room: the time of its newest visit."""
        rows = self._q(
            'SELECT last("duration_s") FROM "visit" '
            f'WHERE {_span(since_ms, until_ms)} GROUP BY "room"'
        )
        return {r["room"]: r["time"] for r in rows if r.get("room")}

    def last_status(self, since_ms: int, until_ms: int) -> dict[str, dict[str, Any]]:
        """Per device: `time`, `online` (0/1) and `reason` of its newest status point
        (reason: status, timeout or heard, as the gateway writes them)."""
        rows = self._q(
            'SELECT "online", "reason" FROM "device" '
            f'WHERE {_span(since_ms, until_ms)} AND "online" >= 0 '
            'GROUP BY "device", "kind", "building" ORDER BY time DESC LIMIT 1'
        )
        return {r["device"]: r for r in rows}

    def last_seen(self, since_ms: int, until_ms: int) -> dict[str, int]:
        """Per device: the time it last spoke (heartbeat, occupancy, tap, `online` status).

        The gateway's own offline marks (a timeout) do not count as the device speaking.
        """
        span = _span(since_ms, until_ms)
        seen: dict[str, int] = {}
        # A timeout mark is written once, so one of a device's two newest points is its own.
        for r in self._q(
            f'SELECT * FROM "device" WHERE {span} GROUP BY "device" ORDER BY time DESC LIMIT 2'
        ):
            if r.get("device") and r.get("reason") != "timeout":
                seen[r["device"]] = max(seen.get(r["device"], 0), r["time"])
        for q in (
            f'SELECT last("period_s") FROM "occupancy" WHERE {span} GROUP BY "device"',
            f'SELECT last("seq") FROM "tap" WHERE {span} GROUP BY "device"',
        ):
            for r in self._q(q):
                if r.get("device"):
                    seen[r["device"]] = max(seen.get(r["device"], 0), r["time"])
        return seen

    def battery(self, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """Per device: `first`, `last` and `lowest` battery voltage (mV)."""
        return self._q(
            'SELECT first("batt_mv") AS "first", last("batt_mv") AS "last", '
            'min("batt_mv") AS "lowest" FROM "device" '
            f'WHERE {_span(since_ms, until_ms)} GROUP BY "device", "kind", "building"'
        )

    def queue(self, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """Per device: `first`, `last`, `highest` and `n` of its offline queue length."""
        return self._q(
            'SELECT first("queue") AS "first", last("queue") AS "last", '
            'max("queue") AS "highest", count("queue") AS "n" FROM "device" '
            f'WHERE {_span(since_ms, until_ms)} GROUP BY "device", "kind", "building"'
        )

    def undated(self, since_ms: int, until_ms: int) -> dict[str, dict[str, Any]]:
        """Per device with undated points: `n` of them, its `building`, `room` and whether
        its newest point is dated (`last_ok`)."""
        span = _span(since_ms, until_ms)
        out: dict[str, dict[str, Any]] = {}
        for measurement, field in (("tap", "seq"), ("occupancy", "period_s")):
            counts = self._q(
                f'SELECT count("{field}") AS "n" FROM "{measurement}" '
                f'WHERE {span} AND "clock_ok" = false GROUP BY "device", "building", "room"'
            )
            for r in counts:
                d = out.setdefault(
                    r["device"], {"n": 0, "building": r["building"], "room": r.get("room", "")}
                )
                d["n"] += r["n"]
            lasts = self._q(
                f'SELECT last("clock_ok") AS "ok" FROM "{measurement}" '
                f'WHERE {span} GROUP BY "device"'
            )
            for r in lasts:
                if r["device"] in out:
                    d = out[r["device"]]
                    if r["time"] >= d.get("last_time", 0):
                        d["last_time"], d["last_ok"] = r["time"], bool(r["ok"])
        return out

    def occupancy_sums(self, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """Per sensor: `n` periods and the sums of `motion`, `presence_s`, `entries`."""
        return self._q(
            'SELECT count("period_s") AS "n", sum("motion") AS "motion", '
            'sum("presence_s") AS "presence_s", sum("entries") AS "entries" FROM "occupancy" '
            f'WHERE {_span(since_ms, until_ms)} GROUP BY "device", "building", "room", "room_type"'
        )
