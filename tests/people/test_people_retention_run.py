"""The retention rule run as cron or a timer would: person-level data past the period is
gone from InfluxDB and SQLite, the month's report tells the same, and the run says what went."""

from __future__ import annotations

from datetime import date, timedelta

from behelpers import CLEANER, DAY, at, taps, two_planned_days
from typer.testing import CliRunner

from backend.alerts.model import Finding
from backend.alerts.store import AlertStore
from backend.reports import monthly as report
from backend.reports import render as report_render
from backend.service import Backend
from pletfri.cli import app as cli
from pletfri.settings import ReportSettings

FACTORS = ReportSettings()
# 100 days after DAY: November's visits are past the 90 days of backend.retention_days.
LATER = DAY + timedelta(days=100)
NOW = at("03:00", LATER)


def _month(backend: Backend) -> None:
    two_planned_days(backend)
    # And one recent visit, inside the period: it stays.
    taps(backend.influx, ("s-wc", CLEANER, at("16:00", LATER - timedelta(days=1))))
    backend.pair_visits(at("23:00"))


def _alerts(backend: Backend) -> None:
    store = AlertStore(backend.conf.database_file)
    try:
        with store.transaction():
            old = store.insert(Finding("card_travel", f"{CLEANER}@s", "s", "warning"), at("18:00"))
            store.queue(old.id, "open", "email", "leader@example.org", "p-lead", {}, at("18:00"))
            missed = Finding("missed_cleaning", "s-wc@2026-11-16", "s", "warning")
            store.insert(missed, at("22:00"))
            store.insert(Finding("card_travel", f"{CLEANER}@x", "s", "warning"), NOW - 3_600_000)
    finally:
        store.close()


def test_retention_removes_person_data_and_the_report_tells_the_same(backend: Backend) -> None:
    _month(backend)
    _alerts(backend)
    before = report.monthly(backend, "2026-11", NOW, FACTORS)
    page = report_render.html(before, "en", backend.tz)
    school = report_render.html(
        report.monthly(backend, "2026-11", NOW, FACTORS, "s"), "da", backend.tz
    )
    assert before.total().done == 2 and before.training and before.training[0].with_buddy == 1

    removed = backend.forget(NOW)
    assert removed.applied and removed.keep_from == LATER - timedelta(days=89)
    assert removed.points == {"tap": 6, "visit": 2}
    assert removed.rows == {"alert": 1, "alert_outbox": 1}
    assert removed.months_kept == ["2026-11"]
    # InfluxDB: no card before the cut-off, only the daily sums that name no one.
    q = backend.influx.query
    assert not q(f"SELECT card FROM tap WHERE time < {removed.cutoff_ms}ms")
    assert not q(f"SELECT card FROM visit WHERE time < {removed.cutoff_ms}ms")
    assert len(q("SELECT card FROM tap")) == 1
    assert {r["room"] for r in q("SELECT * FROM visit_day")} == {"s-class1", "s-wc"}
    # SQLite: the old alert about a card and its message are gone; the rest stays.
    left = [
        tuple(r)
        for r in backend.registry.query("SELECT rule, subject FROM alert ORDER BY opened_ms")
    ]
    assert left == [("missed_cleaning", "s-wc@2026-11-16"), ("card_travel", f"{CLEANER}@x")]
    assert not backend.registry.query("SELECT * FROM alert_outbox")

    after = report.monthly(backend, "2026-11", NOW, FACTORS)
    assert after.total() == before.total() and after.days == before.days
    assert after.training == before.training and after.buildings == before.buildings
    assert report_render.html(after, "en", backend.tz) == page
    one = report.monthly(backend, "2026-11", NOW, FACTORS, building="s")
    assert report_render.html(one, "da", backend.tz) == school
    # A second run removes nothing more and changes nothing.
    again = backend.forget(NOW)
    assert again.points == {"tap": 0, "visit": 0} and again.rows["alert"] == 0
    assert (
        report_render.html(report.monthly(backend, "2026-11", NOW, FACTORS), "en", backend.tz)
        == page
    )


def test_the_scheduled_command_says_what_it_removes(backend: Backend, run: CliRunner) -> None:
    _month(backend)
    now = f"{LATER.isoformat()}T03:00"
    out = run.invoke(cli, ["backend", "retention", "--now", now])
    assert out.exit_code == 0, out.output
    assert "would remove (dry run; --run applies it) 6 tap points, 2 visit points" in out.output
    assert len(backend.influx.query("SELECT card FROM tap")) == 7
    out = run.invoke(cli, ["backend", "retention", "--run", "--now", now])
    assert out.exit_code == 0, out.output
    assert f"before {date(2026, 11, 27)}" in out.output and "removed 6 tap points" in out.output
    assert len(backend.influx.query("SELECT card FROM tap")) == 1
