"""The monthly report's first page: key figures against the targets and last month, the
buildings that need attention, the comparing charts; the PDF turned into images (pdftoppm)
and its first page checked, in both languages. The pages are kept under
run/test-artifacts/reports/ to look at."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pypdf
import pytest
from behelpers import BUDDY, CLEANER, DAY, TRAINEE, at, occupancy, taps
from PIL import Image

from backend.reports import render
from backend.reports.monthly import monthly
from backend.reports.summary import summary, verified_pct
from backend.service import Backend
from pletfri.settings import ReportSettings, ReportTargets

NOW = at("08:00", date(2026, 12, 1))
OCTOBER = DAY - timedelta(days=28)  # a Monday in October
FACTORS = ReportSettings(
    water_l_per_hour=10, detergent_ml_per_hour=50, energy_kwh_per_hour=1,
    targets=ReportTargets(verified_pct=95, approval_pct=90, trainees=2),
)  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "run" / "test-artifacts" / "reports"


@pytest.fixture
def months(backend: Backend) -> Backend:
    """October: one planned day, every room of the school cleaned. November: two planned
    days, Monday cleaned in part (a trainee with a buddy, a cleaner), Tuesday not at all."""
    for day in (OCTOBER, DAY):
        occupancy(backend.influx, "s-class1", "08:00", "14:00", motion=25, day=day)
    for day in (OCTOBER, DAY, DAY + timedelta(days=1)):
        backend.make_plans(day, "afternoon", at("15:00", day))
    october = [
        (room, CLEANER, at(f"{h}:{m}", OCTOBER))
        for i, room in enumerate(("s-class1", "s-class2", "s-wc", "s-office", "d-group"))
        for h, m in ((16 + i, "00"), (16 + i, "50"))
    ]
    taps(
        backend.influx,
        *october,
        ("s-class1", TRAINEE, "16:00"),
        ("s-class1", BUDDY, "16:01"),
        ("s-class1", TRAINEE, "16:40"),
        ("s-class1", BUDDY, "16:41"),
        ("s-wc", CLEANER, "17:00"),
        ("s-wc", CLEANER, "17:15"),
    )
    backend.pair_visits(at("23:00", OCTOBER))
    backend.pair_visits(at("23:00"))
    return backend


def test_the_first_page_figures(months: Backend) -> None:
    r = monthly(months, "2026-11", NOW, FACTORS)
    assert [h.month for h in r.history] == ["2026-10"]
    october = r.history[0]
    assert october.history == [] and october.total().missed < r.total().missed
    s = summary(r)
    assert s.previous is october
    verified = next(f for f in s.figures if f.key == "kpi_verified")
    assert (verified.value, verified.previous) == (verified_pct(r), verified_pct(october))
    assert verified.target == 95 and verified.below_target
    assert verified.arrow == "down" and verified.good is False
    trainees = next(f for f in s.figures if f.key == "kpi_trainees")
    assert (trainees.value, trainees.previous, trainees.arrow) == (1, 0, "up")
    approval = next(f for f in s.figures if f.key == "kpi_approval")
    assert approval.value is None and approval.arrow is None  # no inspections: "–"
    # Both buildings missed cleanings in November: each named, with the count as why.
    assert {a.building for a in s.attention} == {b.building for b in r.buildings if b.missed}
    for a in s.attention:
        assert a.reasons[0][0] == "why_missed" and a.reasons[0][1]["missed"] > 0
    assert [p.month for p in s.trend] == ["2026-10", "2026-11"]
    pcts = [b.done_pct for b in s.compliance]
    assert pcts == sorted(pcts)  # worst first


def test_without_last_month_the_figures_say_so(months: Backend) -> None:
    r = monthly(months, "2026-10", NOW, FACTORS)
    assert r.history == []
    s = summary(r)
    assert s.previous is None and all(f.previous is None for f in s.figures)
    page = render.html(r, "en", months.tz)
    assert "Last month has no plans: shown as –." in page
    assert "Earlier months have no plans: the trend starts this month." in page


def test_the_html_carries_both_languages(months: Backend) -> None:
    page = render.html(monthly(months, "2026-11", NOW, FACTORS), "en", months.tz)
    assert '<input type="radio" name="lang" id="lang-en" checked>' in page
    assert '<div class="da" lang="da">' in page and '<div class="en" lang="en">' in page
    assert "Buildings that need attention" in page and "Bygninger der kræver" in page
    assert page.index("The month at a glance") < page.index("Annex: per building")
    assert "<script" not in page and page.count("<svg") == 2 * 4
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report-2026-11.html").write_text(page)


def _pages(pdf: bytes, stem: Path) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".pdf").write_bytes(pdf)
    for old in stem.parent.glob(f"{stem.name}-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(stem.with_suffix(".pdf")), str(stem)], check=True
    )
    return sorted(stem.parent.glob(f"{stem.name}-*.png"))


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="scripts/setup.sh installs poppler")
@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("da", ["Måneden kort", "Verificerede rengøringer", "sidste måned", "Bygninger der",
                "planlagte rengøringer mangler", "Bakkehøj Skole"]),
        ("en", ["The month at a glance", "Verified cleanings", "last month", "need attention",
                "planned cleanings missed", "Bakkehøj Skole"]),
    ],
)
def test_the_pdf_first_page_as_an_image(months: Backend, language: str, words: list[str]) -> None:
    r = monthly(months, "2026-11", NOW, FACTORS)
    doc = render.pdf(r, language, months.tz)
    reader = pypdf.PdfReader(io.BytesIO(doc))
    first = reader.pages[0].extract_text()
    for word in words:
        assert word in first
    annex = {"da": "Bilag: pr. bygning", "en": "Annex: per building"}[language]
    assert annex not in first and any(annex in p.extract_text() for p in reader.pages[1:])

    pages = _pages(doc, ARTIFACTS / f"report-2026-11-{language}")
    assert len(pages) == len(reader.pages) >= 2
    with Image.open(pages[0]) as img:
        # A4 at 60 dpi: 496 x 702 pixels.
        assert abs(img.width - 496) <= 2 and abs(img.height - 702) <= 2
        rgb = img.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 16) or []
        inked = sum(n for n, c in colours if sum(c) < 600)
        assert inked > 0.02 * img.width * img.height  # text and charts, not a blank page
        # The arrows and the chart: the good/bad red and the series blue are on the page.
        assert any(r_ > 150 and g < 90 and b < 90 for _, (r_, g, b) in colours)
        assert any(b > 150 and r_ < 110 for _, (r_, g, b) in colours)
