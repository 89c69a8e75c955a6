"""The rules' reads from InfluxDB (CONTRACT.md's measurements), each between two instants.

Every query is bounded by explicit times, never by InfluxDB's `now()`, so the demo can
evaluate a simulated past. InfluxDB 1.x pays per series for an aggregate, so with 12,400
devices the rules first find *candidates* with a raw filtered select (cheap: few rows
match, e.g. `batt_mv < 2400`), then aggregate only over those (bench/bench_alerts.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pletfri.influx import Influx, quote

# Tag values per query when a query names its series (keeps the InfluxQL short).
CHUNK = 200


def _span(since_ms: int, until_ms: int) -> str:
    return f"time >= {since_ms}ms AND time <= {until_ms}ms"


def _chunks(tag: str, values: Iterable[str]) -> Iterable[str]:
    """`("tag" = 'a' OR "tag" = 'b' ...)` for at most CHUNK values at a time."""
    ordered = sorted(set(values))
    for i in range(0, len(ordered), CHUNK):
        yield "(" + " OR ".join(f'"{tag}" = {quote(v)}' for v in ordered[i : i + CHUNK]) + ")"


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
    # The backend's judgement: shorter than its share of the room type's minutes.
    short: bool = False


class Readings:
    def __init__(self, influx: Influx) -> None:
        self.influx = influx

    def _q(self, q: str) -> list[dict[str, Any]]:
        return self.influx.query(q)

    def _per(self, tag: str, values: Iterable[str], make: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for where in _chunks(tag, values):
            rows += self._q(make(where))
        return rows

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

    def visits(self, since_ms: int, until_ms: int) -> list[Visit]:
        where = _span(since_ms, until_ms)
        rows = self._q(
            'SELECT "card", "duration_s", "planned", "short", "building", "room" '
            f'FROM "visit" WHERE {where}'
        )
        return [
            Visit(
                r["time"],
                r.get("building") or "",
                r.get("room") or "",
                r.get("card") or "",
                float(r.get("duration_s") or 0),
                bool(r.get("planned")),
                bool(r.get("short")),
            )
            for r in rows
        ]

    def needs_over(
        self, since_ms: int, until_ms: int, limit: float
    ) -> tuple[list[dict[str, Any]], dict[str, list[int]]]:
        """Rooms with a need point scoring at least `limit`: the `time`, `building`, `room`
        and `score` of each such room's newest need point (of any score), and the times of
        each room's points at or over the limit."""
        span = _span(since_ms, until_ms)
        over: dict[str, list[int]] = {}
        for r in self._q(f'SELECT "score", "room" FROM "need" WHERE {span} AND "score" >= {limit}'):
            if r.get("room"):
                over.setdefault(r["room"], []).append(int(r["time"]))
        newest = self._per(
            "room",
            over,
            lambda w: (
                f'SELECT last("score") AS "score" FROM "need" WHERE {span} AND {w} '
                'GROUP BY "building", "room"'
            ),
        )
        return newest, over

    def latest_visit(self, since_ms: int, until_ms: int, rooms: Iterable[str]) -> dict[str, int]:
        """For these rooms: the time of the newest visit."""
        span = _span(since_ms, until_ms)
        rows = self._per(
            "room",
            rooms,
            lambda w: (
                f'SELECT last("duration_s") FROM "visit" WHERE {span} AND {w} GROUP BY "room"'
            ),
        )
        return {r["room"]: r["time"] for r in rows}

    def status(self, since_ms: int, until_ms: int) -> dict[str, dict[str, Any]]:
        """Per device: `time`, `online` (0/1), `reason` and `building` of its newest status
        point (reason: status, timeout or heard, as the gateway writes them)."""
        rows = self._q(
            'SELECT "online", "reason", "device", "building" FROM "device" '
            f'WHERE {_span(since_ms, until_ms)} AND "online" >= 0'
        )
        latest: dict[str, dict[str, Any]] = {}
        for r in rows:
            d = r.get("device")
            if d and r["time"] >= latest.get(d, {}).get("time", 0):
                latest[d] = r
        return latest

    def sensor_seen(self, since_ms: int, until_ms: int) -> dict[str, int]:
        """Per sensor: the end of its newest occupancy period (a sensor sends at every wake)."""
        rows = self._q(
            'SELECT last("period_s") FROM "occupancy" '
            f'WHERE {_span(since_ms, until_ms)} GROUP BY "device"'
        )
        return {r["device"]: r["time"] for r in rows if r.get("device")}

    def battery_low(
        self, recent_ms: int, since_ms: int, until_ms: int, low_mv: int
    ) -> list[dict[str, Any]]:
        """Devices with a reading below `low_mv` since `recent_ms`: their `first` and `last`
        reading between `since_ms` and `until_ms`."""
        devices = {
            r["device"]
            for r in self._q(
                'SELECT "batt_mv", "device" FROM "device" '
                f'WHERE {_span(recent_ms, until_ms)} AND "batt_mv" < {low_mv}'
            )
        }
        span = _span(since_ms, until_ms)
        return self._per(
            "device",
            devices,
            lambda w: (
                'SELECT first("batt_mv") AS "first", last("batt_mv") AS "last" '
                f'FROM "device" WHERE {span} AND {w} GROUP BY "device", "building"'
            ),
        )

    def queue_lengths(self, since_ms: int, until_ms: int) -> dict[str, dict[str, Any]]:
        """Devices with a non-empty offline queue in the span: their `building` and the
        queue lengths reported, oldest first (`values`), ending with the newest (maybe 0)."""
        span = _span(since_ms, until_ms)
        rows = self._q(
            f'SELECT "queue", "device", "building" FROM "device" WHERE {span} AND "queue" > 0'
        )
        found: dict[str, dict[str, Any]] = defaultdict(lambda: {"values": []})
        for r in sorted(rows, key=lambda r: r["time"]):
            found[r["device"]]["building"] = r.get("building") or ""
            found[r["device"]]["values"].append((r["time"], r["queue"]))
        newest = self._per(
            "device",
            found,
            lambda w: f'SELECT last("queue") FROM "device" WHERE {span} AND {w} GROUP BY "device"',
        )
        for r in newest:
            values = found[r["device"]]["values"]
            if r["time"] > values[-1][0]:
                values.append((r["time"], r["last"]))
        return {
            d: {"building": v["building"], "values": [q for _, q in v["values"]]}
            for d, v in found.items()
        }

    def undated(self, recent_ms: int, since_ms: int, until_ms: int) -> dict[str, dict[str, Any]]:
        """Devices with an undated point (clock_ok=false) since `recent_ms`: the number `n`
        of undated points between `since_ms` and `until_ms`, `building`, `room`, and
        whether their newest point is dated (`last_ok`)."""
        span = _span(since_ms, until_ms)
        out: dict[str, dict[str, Any]] = {}
        for measurement, field in (("tap", "seq"), ("occupancy", "period_s")):
            devices = {
                r["device"]
                for r in self._q(
                    f'SELECT "{field}", "device" FROM "{measurement}" '
                    f'WHERE {_span(recent_ms, until_ms)} AND "clock_ok" = false'
                )
            }
            counts = self._per(
                "device",
                devices,
                lambda w, m=measurement, f=field: (
                    f'SELECT count("{f}") AS "n" FROM "{m}" '
                    f'WHERE {span} AND "clock_ok" = false AND {w} '
                    'GROUP BY "device", "building", "room"'
                ),
            )
            for r in counts:
                d = out.setdefault(
                    r["device"], {"n": 0, "building": r["building"], "room": r.get("room", "")}
                )
                d["n"] += r["n"]
            lasts = self._per(
                "device",
                devices,
                lambda w, m=measurement: (
                    f'SELECT last("clock_ok") AS "ok" FROM "{m}" '
                    f'WHERE {span} AND {w} GROUP BY "device"'
                ),
            )
            for r in lasts:
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
