"""The monthly contract report: its figures agree with verification and savings; HTML, PDF,
the command and the route; clear errors."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pypdf
import pytest
from behelpers import CLEANER, DAY, at, taps, two_planned_days
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backend.api import create_app
from backend.people import tokens
from backend.quality import inspections
from backend.reports import render
from backend.reports.monthly import monthly
from backend.service import Backend, BackendError
from pletfri.cli import app as cli
from pletfri.settings import ReportSettings, Settings

# Two weeks after DAY: November is the last whole month, or not over yet.
NOW = at("08:00", date(2026, 12, 1))
FACTORS = ReportSettings(water_l_per_hour=10, detergent_ml_per_hour=50, energy_kwh_per_hour=1)


@pytest.fixture
def month(backend: Backend) -> Backend:
    """Two planned days: Monday cleaned in part (a trainee with a buddy, a cleaner), Tuesday
    not at all."""
    two_planned_days(backend)
    backend.pair_visits(at("23:00"))
    return backend


def test_the_figures_are_verifications_and_savings(month: Backend) -> None:
    r = monthly(month, None, NOW, FACTORS)
    assert (r.month, r.first, r.last) == ("2026-11", DAY, date(2026, 11, 30))
    total = r.total()
    books = [v for d in (DAY, DAY + timedelta(days=1)) for v in month.verify(d, NOW).values()]
    assert total.planned == sum(b.planned for b in books) > 0
    assert total.missed == sum(b.missed for b in books) > 0
    assert total.done == 2
    assert total.done_pct == pytest.approx(100 * (total.planned - total.missed) / total.planned)
    saved = month.savings(r.first, r.last, NOW)
    assert total.avoided == saved.avoided
    assert total.hours_saved == round(saved.minutes_saved / 60, 1)
    assert [d.day for d in r.days][:2] == [DAY, DAY + timedelta(days=1)]
    # Training: the trainee's buddy visit, no person named.
    [school] = r.training
    assert (school.building, school.trainees, school.visits, school.with_buddy) == ("s", 1, 1, 1)
    assert school.hours == round(40 / 60, 1) and school.m2_with_buddy == 60
    env = r.environment
    assert env is not None and env.water_l == round(total.hours_saved * 10, 1)


def test_html_and_pdf_in_both_languages(month: Backend, settings: Settings) -> None:
    # An INSTA 800 inspection of the school: every sampled room one level under agreed.
    insp = inspections.plan(month.registry, settings.quality, "s", DAY, NOW)
    for room in insp.rooms:
        inspections.record(month.registry, insp.id, room.room, room.agreed - 1, now_ms=NOW)
    inspections.finish(month.registry, insp.id, NOW)
    r = monthly(month, "2026-11", NOW, FACTORS, building="s")
    assert r.quality == inspections.summary(month.registry, date(2026, 11, 1), r.last, "s")
    [q] = r.quality
    assert q.rooms_inspected == len(insp.rooms) and q.rooms_approved == 0
    page = render.html(r, "da", month.tz)
    assert "Rapport om rengøringskontrakten 2026-11: s" in page
    assert "Bakkehøj Skole" in page and "<svg" in page and "Oplæringsforløb" in page
    assert "Kvalitet (INSTA 800-kontroller)" in page and "<td>-1.00</td>" in page
    assert "Cleaning against the plan" in render.html(r, "en", month.tz)
    pdf = render.pdf(r, "da", month.tz)
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Rapport om rengøringskontrakten 2026-11" in text
    assert "Rengøring mod planen" in text and "i alt" in text and "-1.00" in text


def test_clear_errors(month: Backend) -> None:
    with pytest.raises(BackendError, match="is not YYYY-MM"):
        monthly(month, "2026-13", NOW, FACTORS)
    with pytest.raises(BackendError, match="has not begun"):
        monthly(month, "2027-01", NOW, FACTORS)
    with pytest.raises(BackendError, match="no plans were made"):
        monthly(month, "2026-10", NOW, FACTORS)
    with pytest.raises(BackendError, match="no building 'x'"):
        monthly(month, "2026-11", NOW, FACTORS, building="x")


def test_the_command_and_the_route(
    month: Backend, settings: Settings, tmp_path: Path, run: CliRunner
) -> None:
    args = ["report", "monthly", "--out", str(tmp_path), "--now", "2026-12-01T08:00"]
    out = run.invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert "2026-11 (2026-11-16 to 2026-11-30)" in out.output
    assert (tmp_path / "report-2026-11.html").read_text().startswith("<!doctype html>")
    assert (tmp_path / "report-2026-11.pdf").read_bytes().startswith(b"%PDF")
    out = run.invoke(cli, [*args, "--month", "11/2026"])
    assert out.exit_code == 2 and "is not YYYY-MM, e.g. 2026-11" in out.output
    out = run.invoke(cli, [*args, "--language", "de"])
    assert out.exit_code == 2 and "use da or en" in out.output

    facility = tokens.create(month.registry, "facility", "test facility", NOW)
    auth = {"Authorization": f"Bearer {facility}"}
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        r = client.get("/reports/monthly", params={"language": "en"}, headers=auth)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "Cleaning contract report 2026-11" in r.text
        r = client.get("/reports/monthly", params={"format": "pdf", "building": "s"}, headers=auth)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        assert r.headers["content-type"] == "application/pdf"
        r = client.get("/reports/monthly", params={"month": "2026-10"}, headers=auth)
        assert r.status_code == 422 and "no plans were made" in r.json()["detail"]
        assert client.get("/reports/monthly").status_code == 401


def test_verification_is_kept_at_one_instant_until_visits_change(month: Backend) -> None:
    kept = month.verify(DAY, NOW)["s"]
    assert kept.done == 2
    kept.done = 999  # the caller's copy: what the backend keeps does not change
    assert month.verify(DAY, NOW)["s"].done == 2
    taps(month.influx, ("s-office", CLEANER, "18:00"), ("s-office", CLEANER, "18:20"))
    month.pair_visits(at("23:00"))
    assert month.verify(DAY, NOW)["s"].done == 3
