"""Retention policies and rollups on InfluxDB 1.x: raw points for `storage.raw_days`, hourly
rollups per room for `storage.hourly_days`, daily rollups per building for ever.

Three retention policies in the database:

- the raw one (`storage.raw_policy`, `autogen`: where the gateway and the backend write);
- `hourly`: one point per hour and room (device for device health, kind for alerts);
- `daily`: one point per local day and building (device for device health), never deleted.

The rollups keep the measurement names of the raw data (shared/CONTRACT.md). A field that
keeps its raw name holds the aggregate a dashboard applies to it again (`motion`: the sum,
`score`: the maximum, `batt_mv`: the mean), so one panel query reads either policy (the
dashboards' `$rp` variable); counts get names of their own (`visits`, `taps`, `alerts`).
Person-level fields (`card`, `buddy` in `tap` and `visit`) are only counted, never copied:
when retention deletes the raw points, no one can be found in what is kept.

Continuous queries (CQs) roll up new hours as they pass; each hour they also roll up again
the last `storage.late_hours`, so points that arrive late (a device replaying its offline
queue, visits paired after the leaving tap) are counted. Points later than that, and points
written before the CQs existed, are rolled up by `pletfri storage backfill`, which runs the
CQs' own statements over a time range. A `rollup_state` point in `daily` records since when
the rollups are complete (those of the visits, which the backend reads, at least), so the
backend reads rollups only where they are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from pletfri.influx import Influx, InfluxError, line, quote
from pletfri.settings import StorageSettings

log = logging.getLogger(__name__)

HOURLY = "hourly"
DAILY = "daily"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
# Backfill a week of raw data per statement (at 155 buildings ~4 M occupancy points, ~1 M
# hourly points out), so one statement never holds months in memory while the per-request
# cost stays small (day-sized chunks made a year's backfill twice as slow); a statement may
# take this long on a busy server.
CHUNK_DAYS = 7
BACKFILL_TIMEOUT_S = 600.0


class StorageError(Exception):
    """The retention policies or rollups could not be set up or filled."""


@dataclass(frozen=True, slots=True)
class Agg:
    """One rolled-up field: `fn(source)` per hour (raw points matching `where`), then
    `daily_fn(name)` per day over the hourly points."""

    name: str
    fn: str
    source: str = ""
    where: str = ""

    @property
    def field(self) -> str:
        return self.source or self.name

    @property
    def daily_fn(self) -> str:
        return {"count": "sum"}.get(self.fn, self.fn)


@dataclass(frozen=True, slots=True)
class Rollup:
    measurement: str
    hourly_by: tuple[str, ...]
    daily_by: tuple[str, ...]
    aggs: tuple[Agg, ...]
    # Measurements that are already daily (the backend's `savings`) skip the hourly step.
    hourly: bool = True
    # The rollups' measurement, when not the raw one's name: InfluxDB 1.x's DELETE acts on a
    # measurement in every retention policy, so the rollups of the person-level `tap` and
    # `visit`, which the retention rule deletes (backend/people/retention.py), are named apart.
    into: str = ""

    @property
    def name(self) -> str:
        return self.into or self.measurement


SAVINGS_FIELDS = (
    "fixed_cleanings", "done", "unverified", "avoided", "fixed_minutes", "minutes_saved",
    "due_not_cleaned",
)  # fmt: skip

ROLLUPS: tuple[Rollup, ...] = (
    Rollup(
        "occupancy",
        ("building", "room", "room_type"),
        ("building", "room_type"),
        (
            Agg("motion", "sum"),
            Agg("presence_s", "sum"),
            Agg("entries", "sum"),
            Agg("period_s", "sum"),
            Agg("periods", "count", "period_s"),
        ),
    ),
    # The card is counted, not kept.
    Rollup(
        "tap", ("building", "room"), ("building",), (Agg("taps", "count", "card"),), into="taps"
    ),
    Rollup(
        "visit",
        ("building", "room"),
        ("building",),
        (
            Agg("visits", "count", "duration_s"),
            Agg("duration_s", "sum"),
            Agg("buddy_visits", "count", "buddy"),
            Agg("short", "count", "duration_s", '"short" = true'),
            Agg("incomplete", "count", "duration_s", '"complete" = false'),
            Agg("planned", "count", "duration_s", '"planned" = true'),
            Agg("trainee_visits", "count", "duration_s", "\"role\" = 'trainee'"),
            Agg("trainee_s", "sum", "duration_s", "\"role\" = 'trainee'"),
        ),
        into="visits",
    ),
    Rollup(
        "need",
        ("building", "room"),
        ("building",),
        (
            Agg("score", "max"),
            Agg("score_sum", "sum", "score"),
            Agg("scores", "count", "score"),
            Agg("due", "count", "score", '"due" = true'),
        ),
    ),
    # Device health stays per device for years: a battery's curve is the point of it.
    Rollup(
        "device",
        ("building", "device", "kind"),
        ("building", "device", "kind"),
        (
            Agg("batt_mv", "mean"),
            Agg("batt_mv_min", "min", "batt_mv"),
            Agg("rssi", "mean"),
            Agg("queue", "max"),
            Agg("online", "last"),
        ),
    ),
    # The alert's text and room are left out; how many of each kind is what is kept.
    Rollup(
        "alert",
        ("building", "kind", "severity"),
        ("building", "kind", "severity"),
        (Agg("alerts", "count", "text"),),
    ),
    Rollup(
        "savings",
        (),
        ("building",),
        tuple(Agg(f, "sum") for f in SAVINGS_FIELDS),
        hourly=False,
    ),
)


@dataclass(frozen=True, slots=True)
class Statement:
    """One rollup step: a CQ's name and its SELECT ... INTO, without a time range."""

    name: str
    step: str  # "1h" or "1d"
    select: str
    measurement: str = ""

    def cq(self, database: str, late_hours: int, every: str = "1h") -> str:
        # RESAMPLE FOR must be at least the GROUP BY interval; the daily step also redoes the
        # days the late hours fall in.
        span = f"{late_hours}h" if self.step == "1h" else f"{late_hours // 24 + 2}d"
        return (
            f'CREATE CONTINUOUS QUERY "{self.name}" ON "{database}" '
            f"RESAMPLE EVERY {every} FOR {span} BEGIN {self.select} END"
        )

    def over(self, since_ms: int, until_ms: int) -> str:
        """The statement over [since_ms, until_ms), as a backfill runs it."""
        cut = " GROUP BY "
        head, tail = self.select.split(cut, 1)
        span = f"time >= {since_ms}ms AND time < {until_ms}ms"
        head = (
            head.replace(" WHERE ", f" WHERE {span} AND ")
            if " WHERE " in head
            else (f"{head} WHERE {span}")
        )
        return f"{head}{cut}{tail}"


def _tags(tags: tuple[str, ...]) -> str:
    return "".join(f', "{t}"' for t in tags)


def statements(settings: StorageSettings, database: str, tz: str) -> list[Statement]:
    """Every rollup step, hourly ones first (the daily ones read what they write)."""
    raw = f'"{database}"."{settings.raw_policy}"'
    hourly, daily = [], []
    for r in ROLLUPS:
        if r.hourly:
            by_where: dict[str, list[Agg]] = {}
            for a in r.aggs:
                by_where.setdefault(a.where, []).append(a)
            for i, (where, aggs) in enumerate(by_where.items()):
                fields = ", ".join(f'{a.fn}("{a.field}") AS "{a.name}"' for a in aggs)
                cond = f" WHERE {where}" if where else ""
                hourly.append(
                    Statement(
                        f"{r.measurement}_1h" + (f"_{i}" if i else ""),
                        "1h",
                        f'SELECT {fields} INTO "{database}"."{HOURLY}"."{r.name}" '
                        f'FROM {raw}."{r.measurement}"{cond} '
                        f"GROUP BY time(1h){_tags(r.hourly_by)} fill(none)",
                        r.measurement,
                    )
                )
            source = f'"{database}"."{HOURLY}"."{r.name}"'
            fields = ", ".join(f'{a.daily_fn}("{a.name}") AS "{a.name}"' for a in r.aggs)
        else:
            source = f'{raw}."{r.measurement}"'
            fields = ", ".join(f'{a.fn}("{a.field}") AS "{a.name}"' for a in r.aggs)
        daily.append(
            Statement(
                f"{r.measurement}_1d",
                "1d",
                f'SELECT {fields} INTO "{database}"."{DAILY}"."{r.name}" FROM {source} '
                f"GROUP BY time(1d){_tags(r.daily_by)} fill(none) tz({quote(tz)})",
                r.measurement,
            )
        )
    return hourly + daily


def _duration(days: int | float) -> str:
    return "INF" if not days else f"{int(days * 24)}h"


def server_version(influx: Influx) -> str:
    try:
        r = influx.http.get("/ping")
    except httpx.HTTPError as e:
        raise StorageError(f"InfluxDB at {influx.settings.url} unreachable: {e}") from e
    return r.headers.get("X-Influxdb-Version", "")


def setup(
    influx: Influx,
    settings: StorageSettings,
    tz: str,
    now_ms: int | None = None,
    every: str = "1h",
) -> list[str]:
    """Create or update the retention policies, the CQs and the dashboards' `rp_config`.

    Idempotent: running it again changes only what differs. Refuses to shorten the raw
    policy while raw points older than the new period are not rolled up yet (they would be
    lost); `pletfri storage backfill` first. Returns what it did, one line each.
    `every`: how often the CQs run (a test makes them run within seconds).
    """
    version = server_version(influx)
    if not version.lstrip("v").startswith("1."):
        raise StorageError(
            f"InfluxDB {version or '(unknown version)'} at {influx.settings.url} has no "
            "retention policies or continuous queries over its v1 API: create the buckets and "
            "tasks of docs/operations.md (Retention and rollups) instead"
        )
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    db = influx.settings.database
    done: list[str] = []
    influx.query(f'CREATE DATABASE "{db}"')
    policies = {r["name"]: r for r in influx.query(f'SHOW RETENTION POLICIES ON "{db}"')}
    if settings.raw_policy not in policies:
        raise StorageError(
            f"database {db} has no retention policy {settings.raw_policy!r} "
            f"(it has {', '.join(sorted(policies))}); set storage.raw_policy to the one the "
            "gateway writes to (the default policy)"
        )
    for name, days in ((HOURLY, settings.hourly_days), (DAILY, 0)):
        verb = "ALTER" if name in policies else "CREATE"
        influx.query(
            f'{verb} RETENTION POLICY "{name}" ON "{db}" DURATION {_duration(days)}'
            + (" REPLICATION 1" if verb == "CREATE" else "")
        )
        done.append(f"retention policy {name}: {days or 'for ever'} days")
    state = coverage(influx)
    cutoff = now_ms - settings.raw_days * DAY_MS
    if settings.raw_days and (state is None or state > cutoff):
        oldest = _oldest_raw(influx, settings.raw_policy, cutoff)
        if oldest is not None:
            raise StorageError(
                f"raw points from {_iso(oldest)} on are older than storage.raw_days "
                f"({settings.raw_days}) and not rolled up yet: shortening the raw retention "
                "policy now would lose them. Run `pletfri storage backfill` first, then this "
                "again"
            )
    influx.query(
        f'ALTER RETENTION POLICY "{settings.raw_policy}" ON "{db}" '
        f"DURATION {_duration(settings.raw_days)}"
    )
    done.append(
        f"retention policy {settings.raw_policy} (raw): {settings.raw_days or 'for ever'} days"
    )
    existing = {
        r["name"]: r["query"]
        for r in influx.query("SHOW CONTINUOUS QUERIES")
        if f"ON {db} " in r["query"] or f'ON "{db}" ' in r["query"]
    }
    wanted = statements(settings, db, tz)
    fresh = [s.cq(db, settings.late_hours, every) for s in wanted if s.name not in existing]
    # New CQs in one request (a fresh database's setup stays quick).
    for error in _each(influx, fresh) if fresh else []:
        if error is not None:
            raise StorageError(f"creating the continuous queries: {error}")
    for s in wanted:
        if existing.pop(s.name, None) is None:
            continue
        text = s.cq(db, settings.late_hours, every)
        # An identical CQ is accepted again; a changed one (new settings) is refused as
        # existing and replaced, as a CQ cannot be altered.
        [error] = _each(influx, [text])
        if error is not None:
            if "already exists" not in error:
                raise StorageError(f"creating continuous query {s.name}: {error}")
            influx.query(f'DROP CONTINUOUS QUERY "{s.name}" ON "{db}"; {text}')
            done.append(f"replaced continuous query {s.name}")
    done.append(f"{len(wanted)} continuous queries")
    ours = tuple(f"{r.measurement}_1" for r in ROLLUPS)
    for name in existing:
        if name.startswith(ours):
            influx.query(f'DROP CONTINUOUS QUERY "{name}" ON "{db}"')
            done.append(f"dropped continuous query {name} (no longer defined)")
    influx.write(rp_config_lines(settings), rp=DAILY)
    if state is None:
        # The CQs roll up from now on: rollups are complete from here, backfill goes back.
        mark_coverage(influx, now_ms - now_ms % HOUR_MS)
    return done


def _each(influx: Influx, statements: list[str]) -> list[str | None]:
    """Run statements in one request; each one's error, or None."""
    try:
        r = influx.http.post(
            "/query", data={"db": influx.settings.database, "q": ";".join(statements)}
        )
    except httpx.HTTPError as e:
        raise StorageError(f"InfluxDB at {influx.settings.url} unreachable: {e}") from e
    if r.status_code != 200:
        raise StorageError(f"InfluxDB refused ({r.status_code}): {r.text.strip()}")
    errors: list[str | None] = [None] * len(statements)
    for result in r.json()["results"]:
        if "error" in result:
            errors[result.get("statement_id", 0)] = result["error"]
    return errors


def rp_config_lines(settings: StorageSettings) -> list[str]:
    """The dashboards' `$rp` and `$rp_room` variables: which policy serves which range.

    A row per (level, policy): the range lengths (ms) it serves, (start, end]. `room`-level
    panels never get `daily`, which has no room tag.
    """
    raw = settings.raw_policy
    a = int(settings.dashboard_raw_days * DAY_MS)
    b = int(settings.dashboard_hourly_days * DAY_MS)
    forever = 2**62
    # The GROUP BY step of each: the raw occupancy periods are 15 minutes long.
    rows = [
        ("building", 0, raw, "15m", 0, a),
        ("building", 1, HOURLY, "1h", a, b),
        ("building", 2, DAILY, "1d", b, forever),
        # Per room, a long range is read from the hourly rollups by the day: a year of
        # hours for every room of a building would be more points than a panel can show.
        ("room", 0, raw, "15m", 0, a),
        ("room", 1, HOURLY, "1h", a, b),
        ("room", 2, HOURLY, "1d", b, forever),
    ]
    return [
        line(
            "rp_config",
            {"level": lvl, "idx": str(i)},
            {"rp": rp, "step": step, "start": s, "end": e},
            0,
        )
        for lvl, i, rp, step, s, e in rows
    ]


def coverage(influx: Influx) -> int | None:
    """Since when (ms) the rollups are complete, or None before the first setup."""
    try:
        rows = influx.query(f'SELECT last("since_ms") FROM "{DAILY}"."rollup_state"')
    except InfluxError as e:
        if "retention policy not found" in str(e):
            return None
        raise
    return int(rows[0]["last"]) if rows else None


def mark_coverage(influx: Influx, since_ms: int) -> None:
    influx.write([line("rollup_state", {}, {"since_ms": since_ms}, 0)], rp=DAILY)


def _oldest_raw(influx: Influx, policy: str, before_ms: int | None = None) -> int | None:
    oldest = None
    where = f" WHERE time < {before_ms}ms" if before_ms is not None else ""
    for r in ROLLUPS:
        rows = influx.query(
            f'SELECT first("{r.aggs[0].field}") FROM "{policy}"."{r.measurement}"{where}'
        )
        if rows and (oldest is None or rows[0]["time"] < oldest):
            oldest = rows[0]["time"]
    return oldest


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).isoformat(timespec="minutes")


def oldest_raw(influx: Influx, settings: StorageSettings) -> int | None:
    """The time of the oldest raw point of any rolled-up measurement."""
    return _oldest_raw(influx, settings.raw_policy)


def backfill(
    influx: Influx,
    settings: StorageSettings,
    tz: str,
    since_ms: int,
    until_ms: int,
    skip: Collection[str] = (),
) -> int:
    """Roll up the raw points of [since_ms, until_ms) as the CQs would have; return the
    number of rollup points written. Whole hours (and whole local days for the daily step)
    around the range are rolled up, so a partial hour or day is never left behind.
    Running it again over the same range writes the same points. `skip`: raw measurements
    left to the CQs (their rollups are then not complete before the CQs began)."""
    if until_ms <= since_ms:
        raise StorageError(f"backfill range ends ({_iso(until_ms)}) before it begins")
    state = coverage(influx)
    if state is None:
        raise StorageError(
            f"database {influx.settings.database} has no rollup policies yet: run "
            "`pletfri storage setup` first"
        )
    zone = ZoneInfo(tz)
    start = since_ms - since_ms % HOUR_MS
    end = -(-until_ms // HOUR_MS) * HOUR_MS
    first_day = datetime.fromtimestamp(start / 1000, zone).date()
    last_day = datetime.fromtimestamp((end - 1) / 1000, zone).date()
    day_start = _midnight(first_day, zone)
    day_end = _midnight(last_day + timedelta(days=1), zone)
    written = 0
    for s in statements(settings, influx.settings.database, tz):
        if s.measurement in skip:
            continue
        lo, hi = (start, end) if s.step == "1h" else (day_start, day_end)
        t = lo
        while t < hi:
            # Chunks end on local midnights, counted in local days (a day is 23 or 25 hours
            # at a clock change), so a day is never split between two statements: the daily
            # point of a split day would hold only its second part.
            day = datetime.fromtimestamp(t / 1000, zone).date() + timedelta(days=CHUNK_DAYS)
            nxt = min(hi, _midnight(day, zone))
            for row in influx.query(s.over(t, nxt), timeout_s=BACKFILL_TIMEOUT_S):
                written += int(row.get("written") or 0)
            t = nxt
    # The mark serves the backend, which reads the visits' rollups.
    if "visit" not in skip and since_ms < state <= until_ms + settings.late_hours * HOUR_MS:
        mark_coverage(influx, start)
    log.info("backfill %s to %s: %d rollup points", _iso(start), _iso(end), written)
    return written


def backfill_all(
    influx: Influx, settings: StorageSettings, tz: str, skip: Collection[str] = ()
) -> int:
    """Roll up every raw point from the oldest one to now (after an upgrade, or a demo that
    wrote its past days); 0 when there are none."""
    oldest = oldest_raw(influx, settings)
    if oldest is None:
        return 0
    return backfill(influx, settings, tz, oldest, int(time.time() * 1000), skip)


def _midnight(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, datetime.min.time(), zone).timestamp() * 1000)
