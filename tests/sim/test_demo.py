"""A small demo run end to end: its summary is true of the stored data, every fault is seen.

One simulated day for four buildings on fresh servers; afterwards the servers are started
again on the run's data folder (as `pletfri services run --run-dir` would) and the summary's
figures are checked with InfluxQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from backend.broker import passwords
from backend.broker.acl import BACKEND, GATEWAY
from pletfri.influx import Influx
from pletfri.services import running_stack
from pletfri.settings import load_settings
from pletfri_fw.pseudonym import Pseudonymiser
from sim.demo import DemoOptions, DemoRun, simulate, site_key


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    base = load_settings(run={"dir": tmp_path_factory.mktemp("demo")})
    return simulate(base, DemoOptions(buildings=4, days=1, seed=7, today=date(2026, 11, 28)))


@pytest.fixture(scope="module")
def influx(run: DemoRun) -> Iterator[Influx]:
    with running_stack(run.folder / "servers") as stack:
        s = load_settings(**stack.settings_overrides())
        with Influx(s.influx) as client:
            yield client


def _count(influx: Influx, q: str) -> int:
    rows = influx.query(q)
    return int(rows[0]["count"]) if rows else 0


@pytest.mark.slow
def test_nothing_lost_nothing_rejected(run: DemoRun) -> None:
    s = run.summary
    assert s is not None and not s.interrupted
    assert s.sent == s.received == s.accepted > 1000
    assert s.rejected == {} and s.duplicates == 0
    assert Path(s.folder, "summary.json").exists()
    report = Path(s.folder, "report.html").read_text()
    assert f"{s.visits['done']}</td>" in report and "card_travel" in report


@pytest.mark.slow
def test_summary_figures_match_influxql(run: DemoRun, influx: Influx) -> None:
    s = run.summary
    assert s is not None
    assert s.points["tap"] == _count(influx, 'SELECT count("card") FROM "tap"') > 20
    assert s.points["occupancy"] == _count(influx, 'SELECT count("period_s") FROM "occupancy"')
    # Every period record the sensors' firmware sent is one point: none lost, none doubled.
    assert s.points["occupancy"] == s.periods_sent
    # A day of 15-minute periods from every sensor, less what the dead one never sent.
    sensors = sum(1 for r in run.municipality.rooms() if r.sensor)
    assert (sensors - 1) * 96 <= s.points["occupancy"] <= sensors * 96 + sensors * 8
    alerts = {
        r["kind"]: int(r["count"])
        for r in influx.query('SELECT count("text") FROM "alert" GROUP BY "kind"')
    }
    assert s.alerts == alerts
    # Every device point is a gateway write the gateway counted as stored.
    total = sum(
        _count(influx, f'SELECT count("{f}") FROM "{m}"')
        for m, f in (("tap", "card"), ("occupancy", "period_s"), ("device", "online"))
    )
    assert total <= s.points_stored


@pytest.mark.slow
def test_visits_and_savings_match_influxql(run: DemoRun, influx: Influx) -> None:
    s = run.summary
    assert s is not None
    v, sv = s.visits, s.savings
    start, end = (
        int(run.calendar.start.timestamp() * 1000),
        int(run.calendar.end.timestamp() * 1000),
    )
    span = f"time > {start}ms AND time <= {end}ms"
    stored = _count(influx, f'SELECT count("duration_s") FROM "visit" WHERE {span}')
    verified = _count(
        influx,
        f'SELECT count("duration_s") FROM "visit" WHERE {span} '
        "AND complete = true AND short = false",
    )
    assert v["visits_stored"] == v["done"] == stored > 20
    # A visit proves a cleaning when it has both taps and was long enough for the room.
    assert v["verified"] == verified
    assert v["done"] - v["unplanned"] + v["missed"] >= v["planned"]
    # The cleaners forget some rooms and cut some short (sim/cleaning.py), and it shows.
    assert v["missed"] > 0 and v["too_short"] + v["no_leave_tap"] > 0 and v["buddy_visits"] > 0
    # Avoided: what the fixed schedule would have cleaned, less the visits stored and the
    # rooms nobody can tap.
    assert sv["cleanings_avoided"] == pytest.approx(
        sv["fixed_cleanings"] - stored - v["unverifiable"], abs=0.11
    )
    assert 0 < sv["minutes_saved"] < sv["fixed_minutes"]
    # The savings dashboard's data: one point per building and day, adding up to the summary.
    daily = influx.query('SELECT sum("avoided") AS a, sum("minutes_saved") AS m FROM "savings"')
    assert daily[0]["a"] == pytest.approx(sv["cleanings_avoided"], abs=0.5)
    assert daily[0]["m"] == pytest.approx(sv["minutes_saved"], abs=0.5)


def _subjects(influx: Influx, kind: str) -> set[str]:
    rows = influx.query(f'SELECT "subject" FROM "alert" WHERE "kind" = \'{kind}\'')
    return {r["subject"] for r in rows}


@pytest.mark.slow
def test_every_planted_fault_raised_its_alert(run: DemoRun, influx: Influx) -> None:
    f = run.faults
    offline = _subjects(influx, "device_offline")
    assert f.dead_sensor in offline
    assert run.offline_station is not None and run.offline_station in offline
    assert f.flat_battery in _subjects(influx, "battery")
    assert run.clone is not None
    card = Pseudonymiser(site_key(7)).card(run.clone.uid)
    assert any(card in subject for subject in _subjects(influx, "card_travel"))


@pytest.mark.slow
def test_the_monthly_report_tells_the_same(run: DemoRun) -> None:
    s = run.summary
    assert s is not None and s.contract_report == [str(p) for p in run.contract_report]
    html, pdf = run.contract_report
    assert pdf.read_bytes().startswith(b"%PDF")
    page = html.read_text(encoding="utf-8")
    # The demo's day is the month so far: the report's totals are the summary's.
    v, sv = s.visits, s.savings
    total = page.split('<tr class="total">')[1].split("</tr>")[0]
    cells = [c.split("<")[0] for c in total.split("<td>")[1:]]
    assert cells[2:4] == [str(v["planned"]), str(v["missed"])]
    assert f"{sv['cleanings_avoided']:,.1f}" in page.split('<tr class="total">')[2]


@pytest.mark.slow
def test_inspections_follow_the_cleaning_and_reach_the_report(run: DemoRun) -> None:
    s = run.summary
    assert s is not None
    q = s.quality
    # One school day, four buildings: each inspected once, the sample recorded in full.
    assert q["inspections"] == 4 and q["rooms_inspected"] >= 4 * 2
    assert 0 < q["rooms_approved"] <= q["rooms_inspected"]
    html = run.contract_report[0].read_text(encoding="utf-8")
    # The annex's quality table (the first page names INSTA 800 too; both languages are in).
    assert f"<td>{q['rooms_inspected']}</td>" in html.split("(INSTA 800-kontroller)")[1]


@pytest.mark.slow
def test_every_device_logged_in_as_itself(run: DemoRun) -> None:
    """Logins and the ACL on: that every message sent was received (above) means each
    device published under its own login, within its own topics."""
    assert run.settings.mqtt.username == BACKEND and run.settings.mqtt.password
    rooms = run.municipality.rooms()
    devices = {r.sensor for r in rooms if r.sensor} | {r.station for r in rooms if r.station}
    users = passwords.read(run.folder / "broker" / "passwd")
    assert set(users) == devices | {GATEWAY, BACKEND}
    assert (run.folder / "broker" / "acl").read_text().count("\nuser ") == len(devices) + 2
