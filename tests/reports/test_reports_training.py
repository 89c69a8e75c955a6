"""The training tracks' progress and the job centre's report, which names no one."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pypdf
import pytest
from behelpers import BUDDY, DAY, TRAINEE, at, taps
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backend.api import create_app
from backend.people import tokens
from backend.reports import render, training
from backend.service import Backend, BackendError
from pletfri.cli import app as cli
from pletfri.settings import ReportSettings, Settings

NOW = at("08:00", date(2026, 12, 1))
LAST = date(2026, 11, 30)


@pytest.fixture
def visits(backend: Backend) -> Backend:
    """p3 (trainee) with their buddy p2 in the classroom, then alone: once long enough for
    the room (60 m2: 15 min), once far too short."""
    taps(
        backend.influx,
        ("s-class1", TRAINEE, "10:00"),
        ("s-class1", BUDDY, "10:01"),
        ("s-class1", TRAINEE, "10:30"),
        ("s-class1", BUDDY, "10:31"),
        ("s-class1", TRAINEE, "16:00"),
        ("s-class1", TRAINEE, "16:20"),
        ("s-class2", TRAINEE, "17:00"),
        ("s-class2", TRAINEE, "17:02"),
    )
    backend.pair_visits(at("23:00"))
    return backend


def test_progress_and_readiness(visits: Backend) -> None:
    strict = ReportSettings(ready_min_alone=2, ready_verified_pct=90)
    [p] = training.progress(visits, DAY, LAST, strict)
    assert (p.person, p.building, p.first_visit, p.last_visit) == ("p3", "s", DAY, DAY)
    assert (p.visits, p.with_buddy, p.alone) == (3, 1, 2)
    assert p.m2_with_buddy == 60 and p.m2_alone == 60 + 55
    assert p.hours == round((30 + 20 + 2) / 60, 1)
    # One of the two alone visits was too short: 50 % verified.
    assert p.verified_alone_pct == 50.0 and not p.ready
    [p] = training.progress(
        visits, DAY, LAST, ReportSettings(ready_min_alone=2, ready_verified_pct=50)
    )
    assert p.ready
    [p] = training.progress(
        visits, DAY, LAST, ReportSettings(ready_min_alone=3, ready_verified_pct=50)
    )
    assert not p.ready  # too few visits alone yet
    with pytest.raises(BackendError, match=r"ends .* before it begins"):
        training.progress(visits, LAST, DAY, strict)
    with pytest.raises(BackendError, match="no building 'x'"):
        training.progress(visits, DAY, LAST, strict, building="x")


def test_the_job_centre_report_names_no_one(visits: Backend) -> None:
    factors = ReportSettings(ready_min_alone=2, ready_verified_pct=50)
    found = training.progress(visits, DAY, LAST, factors)
    args = (found, DAY, LAST, NOW, factors, "da", visits.tz)
    page = render.training_html(*args)
    pdf = render.training_pdf(*args)
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for out in (page, text):
        assert "Oplæringsforløb: status til jobcentret" in out and "Bakkehøj Skole" in out
        for secret in ("p3", "p2", TRAINEE, BUDDY):
            assert secret not in out
    assert "<td>1</td>" in page and "<td>ja</td>" in page
    assert "ready for an own area" not in page
    assert "Ready for an own area" in render.training_html(*args[:-2], "en", visits.tz)


def test_the_command_and_the_route(
    visits: Backend, settings: Settings, tmp_path: Path, run: CliRunner
) -> None:
    args = ["report", "training", "--out", str(tmp_path), "--now", "2026-12-01T08:00"]
    out = run.invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert "2026-11 (2026-11-01 to 2026-11-30): 1 trainees, 0 ready" in out.output
    assert (tmp_path / "training-2026-11.pdf").read_bytes().startswith(b"%PDF")
    out = run.invoke(cli, [*args, "--month", "2027-02"])
    assert out.exit_code == 2 and "has not begun" in out.output

    leader = tokens.create(visits.registry, "service_leader", "test leader", NOW)
    facility = tokens.create(visits.registry, "facility", "test facility", NOW)
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        r = client.get(
            "/reports/training", params={"language": "en"},
            headers={"Authorization": f"Bearer {leader}"},
        )  # fmt: skip
        assert r.status_code == 200 and "Training tracks: progress" in r.text
        r = client.get("/reports/training", headers={"Authorization": f"Bearer {facility}"})
        assert r.status_code == 403
