"""Retention policies and rollups on the real InfluxDB: setup is idempotent, backfill and the
continuous queries equal a direct aggregation of the raw points, no person in a rollup."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from pletfri import storage
from pletfri.cli import app as cli
from pletfri.influx import Influx, line
from pletfri.settings import Settings, StorageSettings, as_environment

HOUR = 3_600_000
TZ = "Europe/Copenhagen"
# 2026-11-16 00:00 Copenhagen (23:00 UTC the day before).
T0 = 1_763_247_600_000


def raw_lines(t0: int, hours: int) -> list[str]:
    """Points of every rolled-up measurement, two buildings, some hours empty."""
    out = []
    for h in range(hours):
        for b in ("b1", "b2"):
            for r in (1, 2):
                room = f"{b}-r{r}"
                for q in range(4):
                    t = t0 + h * HOUR + q * 900_000 + 900_000
                    out.append(
                        line(
                            "occupancy",
                            {
                                "building": b,
                                "room": room,
                                "room_type": "office",
                                "device": f"occ-{room}",
                            },
                            {
                                "period_s": 900,
                                "motion": (h * 7 + q + r) % 5,
                                "presence_s": (h + q) % 3 * 100,
                                "entries": (h + r) % 4,
                            },
                            t,
                        )
                    )
                if h % 3 == 0:
                    out.append(
                        line(
                            "need",
                            {"building": b, "room": room},
                            {"score": h / 10 + r, "due": h % 2 == 0},
                            t0 + h * HOUR,
                        )
                    )
                if h % 5 == r:
                    t = t0 + h * HOUR + 600_000
                    tags = {"building": b, "room": room}
                    out.append(
                        line(
                            "tap",
                            {**tags, "device": f"nfc-{room}"},
                            {"card": "0123456789abcdef", "boot": 1, "seq": h},
                            t,
                        )
                    )
                    fields: dict[str, object] = {
                        "card": "0123456789abcdef",
                        "duration_s": 300 * r + h,
                        "planned": h % 2 == 0,
                        "complete": h % 4 != 1,
                        "short": h % 3 == 0,
                        "role": "trainee" if r == 1 else "cleaner",
                    }
                    if h % 2:
                        fields["buddy"] = "fedcba9876543210"
                    out.append(line("visit", tags, fields, t))
            out.append(
                line(
                    "device",
                    {"device": f"occ-{b}-r1", "kind": "sensor", "building": b},
                    {"batt_mv": 3000 - h, "rssi": -60 - h % 4, "queue": h % 3, "online": 1},
                    t0 + h * HOUR + 60_000,
                )
            )
            if h % 7 == 0:
                out.append(
                    line(
                        "alert",
                        {"building": b, "kind": "missed_cleaning", "severity": "warning"},
                        {"text": "not cleaned", "room": f"{b}-r1"},
                        t0 + h * HOUR,
                    )
                )
        if h % 24 == 0:
            for b in ("b1", "b2"):
                out.append(
                    line(
                        "savings",
                        {"building": b},
                        {f: float(h + len(f)) for f in storage.SAVINGS_FIELDS},
                        t0 + h * HOUR,
                    )
                )
    return out


def direct(influx: Influx, q: str) -> list[tuple]:
    """Rows as sorted tuples of their values, None and zero alike (a rollup writes no nulls)."""
    rows = influx.query(q)
    return sorted(tuple((k, v) for k, v in sorted(r.items()) if v not in (None, 0)) for r in rows)


@pytest.fixture
def rolled(influx: Influx, settings: Settings) -> Influx:
    influx.write(raw_lines(T0, 50))
    storage.backfill(influx, settings.storage, TZ, T0, T0 + 50 * HOUR)
    return influx


def test_setup_is_idempotent_and_follows_the_settings(influx: Influx, settings: Settings) -> None:
    # The test fixture has already run setup once, as production's install does.
    policies = {r["name"]: r for r in influx.query("SHOW RETENTION POLICIES")}
    assert policies["daily"]["duration"] == "0s" and policies["hourly"]["duration"] == "43920h0m0s"
    assert policies["autogen"]["default"] is True
    cqs = influx.query("SHOW CONTINUOUS QUERIES")
    mine = [r for r in cqs if f"ON {settings.influx.database} " in r["query"]]
    assert len(mine) == len(storage.statements(settings.storage, "x", TZ))
    again = storage.setup(influx, settings.storage, TZ)
    assert not any("replaced" in d for d in again)
    changed = settings.storage.model_copy(update={"late_hours": 48, "hourly_days": 800})
    done = storage.setup(influx, changed, TZ)
    assert sum("replaced" in d for d in done) == len(mine)
    policies = {r["name"]: r for r in influx.query("SHOW RETENTION POLICIES")}
    assert policies["hourly"]["duration"] == "19200h0m0s"
    [occ] = [
        r["query"]
        for r in influx.query("SHOW CONTINUOUS QUERIES")
        if r["name"] == "occupancy_1h" and f"ON {settings.influx.database} " in r["query"]
    ]
    assert "FOR 2d " in occ  # 48 h, as InfluxDB shows it


def test_setup_will_not_shorten_raw_retention_over_unrolled_data(
    influx: Influx, settings: Settings
) -> None:
    old = int(time.time() * 1000) - 30 * 24 * HOUR
    influx.write(raw_lines(old, 2))
    short = settings.storage.model_copy(update={"raw_days": 10})
    with pytest.raises(storage.StorageError, match="storage backfill"):
        storage.setup(influx, short, TZ)
    storage.backfill(influx, short, TZ, old, int(time.time() * 1000))
    storage.setup(influx, short, TZ)
    [raw] = [r for r in influx.query("SHOW RETENTION POLICIES") if r["name"] == "autogen"]
    assert raw["duration"] == "240h0m0s"


def test_backfill_equals_direct_aggregation(rolled: Influx) -> None:
    span = f"time >= {T0}ms AND time < {T0 + 50 * HOUR}ms"
    for r in storage.ROLLUPS:
        if not r.hourly:
            continue
        by = ", ".join(f'"{t}"' for t in r.hourly_by)
        for a in r.aggs:
            cond = f"{a.where} AND " if a.where else ""
            want = direct(
                rolled,
                f'SELECT {a.fn}("{a.field}") AS v FROM "autogen"."{r.measurement}" '
                f"WHERE {cond}{span} GROUP BY time(1h), {by} fill(none)",
            )
            got = direct(
                rolled,
                f'SELECT "{a.name}" AS v FROM "hourly"."{r.name}" WHERE {span} GROUP BY {by}',
            )
            assert got == want and want, f"{r.measurement}.{a.name}"
    # Daily per building, local days: the sums of the raw points of each local day.
    want = direct(
        rolled,
        'SELECT sum("motion") AS v, count("period_s") AS n FROM "autogen"."occupancy" '
        f"WHERE {span} GROUP BY time(1d), \"building\" fill(none) tz('{TZ}')",
    )
    got = direct(
        rolled,
        'SELECT sum("motion") AS v, sum("periods") AS n FROM "daily"."occupancy" '
        f"WHERE {span} GROUP BY time(1d), \"building\" fill(none) tz('{TZ}')",
    )
    assert got == want and len(want) == 6  # 3 local days (50 hours), 2 buildings
    want = direct(
        rolled, f'SELECT sum("avoided") FROM "autogen"."savings" WHERE {span} GROUP BY "building"'
    )
    got = direct(
        rolled, f'SELECT sum("avoided") FROM "daily"."savings" WHERE {span} GROUP BY "building"'
    )
    assert got == want and want


def test_no_person_in_a_rollup(rolled: Influx) -> None:
    for rp in ("hourly", "daily"):
        for m in ("taps", "visits"):
            keys = {r["fieldKey"] for r in rolled.query(f'SHOW FIELD KEYS FROM "{rp}"."{m}"')}
            assert keys and not keys & {"card", "buddy", "role"}, (rp, m, keys)
            # (SHOW TAG KEYS answers for the whole database in 1.x, so the points are read.)
            rows = rolled.query(f'SELECT * FROM "{rp}"."{m}"')
            kept = {k for r in rows for k, v in r.items() if v is not None}
            assert rows and not kept & {"card", "buddy", "device"}


def test_backfill_again_writes_the_same(rolled: Influx, settings: Settings) -> None:
    before = direct(rolled, 'SELECT * FROM "hourly"."visits"')
    storage.backfill(rolled, settings.storage, TZ, T0, T0 + 50 * HOUR)
    assert direct(rolled, 'SELECT * FROM "hourly"."visits"') == before


@pytest.mark.slow
def test_continuous_queries_equal_direct_aggregation(influx: Influx, settings: Settings) -> None:
    """The real CQs, made to run every second: what they write equals the aggregation."""
    now = int(time.time() * 1000)
    t0 = now - now % HOUR - 3 * HOUR
    storage.setup(influx, settings.storage, TZ, every="1s")
    influx.write(raw_lines(t0, 3))
    span = f"time >= {t0}ms AND time < {t0 + 3 * HOUR}ms"
    want = direct(
        influx,
        f'SELECT sum("motion") AS v FROM "autogen"."occupancy" WHERE {span} '
        'GROUP BY time(1h), "room" fill(none)',
    )
    deadline = time.monotonic() + 20
    got: list[tuple] = []
    while time.monotonic() < deadline and got != want:
        time.sleep(0.5)
        got = direct(
            influx, f'SELECT "motion" AS v FROM "hourly"."occupancy" WHERE {span} GROUP BY "room"'
        )
    assert got == want and len(want) == 12
    want = direct(
        influx,
        f'SELECT count("card") AS v FROM "autogen"."tap" WHERE {span} '
        'GROUP BY time(1h), "room" fill(none)',
    )
    got = direct(influx, f'SELECT "taps" AS v FROM "hourly"."taps" WHERE {span} GROUP BY "room"')
    assert got == want and want
    storage.setup(influx, settings.storage, TZ)  # back to hourly runs


def test_commands(settings: Settings) -> None:
    cli_env = as_environment(settings)
    runner = CliRunner()
    r = runner.invoke(cli, ["storage", "setup"], env=cli_env)
    assert r.exit_code == 0, r.output
    assert "continuous queries" in r.output
    r = runner.invoke(cli, ["storage", "backfill", "--since", "2026-13-01"], env=cli_env)
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
    r = runner.invoke(
        cli, ["storage", "backfill", "--since", "2026-11-10", "--until", "2026-11-01"], env=cli_env
    )
    assert r.exit_code == 2 and "before it begins" in r.output
    r = runner.invoke(cli, ["storage", "backfill"], env=cli_env)
    assert r.exit_code == 0 and "nothing to roll up" in r.output
    r = runner.invoke(cli, ["storage", "status"], env=cli_env)
    assert r.exit_code == 0 and "rollups complete since" in r.output


def test_storage_settings_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="raw_policy"):
        StorageSettings(raw_policy="a b")
    with pytest.raises(ValueError, match="must exceed"):
        StorageSettings(dashboard_raw_days=10, dashboard_hourly_days=5)


def test_backfill_keeps_the_days_of_a_clock_change_whole(
    influx: Influx, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2026-10-25 has 25 local hours; day-sized chunks must still roll it up whole."""
    monkeypatch.setattr(storage, "CHUNK_DAYS", 1)
    t0 = 1_761_256_800_000  # 2026-10-24 00:00 Copenhagen (CEST)
    influx.write(raw_lines(t0, 72))
    storage.backfill(influx, settings.storage, TZ, t0, t0 + 72 * HOUR)
    span = f"time >= {t0}ms AND time < {t0 + 72 * HOUR}ms"
    want = direct(
        influx,
        'SELECT sum("motion") AS v FROM "autogen"."occupancy" '
        f"WHERE {span} GROUP BY time(1d), \"building\" fill(none) tz('{TZ}')",
    )
    got = direct(
        influx,
        f'SELECT "motion" AS v FROM "daily"."occupancy" WHERE {span} GROUP BY "building"',
    )
    assert got == want and len(want) == 6


def test_backfill_can_leave_a_measurement_to_the_cqs(influx: Influx, settings: Settings) -> None:
    influx.write(raw_lines(T0, 5))
    storage.backfill(influx, settings.storage, TZ, T0, T0 + 5 * HOUR, skip=("occupancy",))
    assert influx.query('SELECT count("taps") FROM "hourly"."taps"')
    assert not influx.query('SELECT count("motion") FROM "hourly"."occupancy"')
