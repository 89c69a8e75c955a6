"""Limits on what comes in (request bodies, registry imports) and on what goes out of an
imported file: no spreadsheet formula in a CSV export, no markup in a report."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from behelpers import CLEANER, DAY, at, registry_data, taps
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backend.api import create_app
from backend.people import tokens
from backend.registry import Building, Person
from backend.registry.files import ImportLimits, RegistryFileError, read, write
from backend.reports import monthly as report
from backend.reports import render as report_render
from backend.reports import training
from backend.service import Backend
from pletfri.cli import app as cli
from pletfri.settings import ReportSettings, Settings

NOW = at("08:00", date(2026, 12, 1))
HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1",
    "\r=1",
    "'quoted",
]


@pytest.fixture
def client(backend: Backend, settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    s = settings.model_copy(
        update={
            "backend": settings.backend.model_copy(
                update={"max_body_bytes": 4096, "import_max_rows": 30}
            )
        }
    )
    admin = tokens.create(backend.registry, "admin", "limits admin", NOW)
    with TestClient(create_app(s, clock=lambda: NOW)) as c:
        yield c, {"Authorization": f"Bearer {admin}"}


def test_a_body_over_the_limit_is_refused_with_413(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    c, auth = client
    big = b'{"buildings": [' + b" " * 5000 + b"]}"
    r = c.put("/registry", content=big, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert "5,017 bytes is over the limit of 4,096 bytes (backend.max_body_bytes)" in r.text

    def chunks() -> Iterator[bytes]:
        # No Content-Length: counted as it arrives, refused once past the limit.
        yield b'{"buildings": ['
        for _ in range(10):
            yield b" " * 1000

    r = c.put("/registry", content=chunks(), headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and "over the limit" in r.text
    # Under the limit the request goes through as before.
    r = c.put("/registry", json={"buildings": []}, headers=auth)
    assert r.status_code == 200, r.text
    assert c.get("/health").status_code == 200


def test_an_import_with_too_many_records_is_refused(
    client: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    c, auth = client
    people = [{"id": f"p{i:03d}", "role": "cleaner"} for i in range(31)]
    r = c.put("/registry", json={"people": people}, headers=auth)
    assert r.status_code == 413
    assert "31 records, more than backend.import_max_rows (30)" in r.json()["detail"]
    # A file: by rows while it is read, by bytes before.
    write(registry_data(), tmp_path / "reg.yaml")
    with pytest.raises(
        RegistryFileError, match=r"more than 10 records \(backend.import_max_rows\)"
    ):
        read(tmp_path / "reg.yaml", limits=ImportLimits(max_rows=10))
    write(registry_data(), tmp_path / "csv")
    with pytest.raises(RegistryFileError, match="more than 10 records"):
        read(tmp_path / "csv", limits=ImportLimits(max_rows=10))
    with pytest.raises(
        RegistryFileError, match=r"bytes, more than backend.import_max_bytes \(1,024\)"
    ):
        read(tmp_path / "reg.yaml", limits=ImportLimits(max_bytes=1024))


def test_the_import_command_says_which_limit(
    backend: Backend, run: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(registry_data(), tmp_path / "reg.yaml")
    monkeypatch.setenv("PLETFRI_BACKEND__IMPORT_MAX_ROWS", "5")
    out = run.invoke(cli, ["registry", "import", str(tmp_path / "reg.yaml")])
    assert out.exit_code == 2 and "backend.import_max_rows" in out.output
    before = backend.registry.counts()
    assert before == backend.registry.counts()  # nothing applied


def test_csv_export_neutralises_formulas_and_imports_back_unchanged(
    backend: Backend, tmp_path: Path
) -> None:
    data = registry_data()
    data.buildings[0] = data.buildings[0].model_copy(
        update={"name": HOSTILE[0], "address": HOSTILE[1]}
    )
    data.people = [
        *data.people,
        *(
            Person(id=f"h{i}", role="cleaner", name=text, building="s")
            for i, text in enumerate(HOSTILE)
        ),
    ]
    backend.registry.replace(data)
    write(backend.registry.data(), tmp_path / "csv")
    for f in (tmp_path / "csv").glob("*.csv"):
        with f.open(newline="", encoding="utf-8") as rows:
            for row in list(csv.reader(rows))[1:]:
                for cell in row:
                    # A negative number stays a number; anything else a spreadsheet would run
                    # as a formula starts with an apostrophe.
                    assert cell[:1] not in ("=", "+", "@", "\t", "\r"), (f.name, cell)
                    if cell.startswith("-"):
                        float(cell)
    text = (tmp_path / "csv" / "people.csv").read_text(encoding="utf-8")
    assert "'@SUM(1+1)" in text and "''quoted" in text and "'-2+3" in text
    assert "'=HYPERLINK" in (tmp_path / "csv" / "buildings.csv").read_text(encoding="utf-8")
    assert read(tmp_path / "csv") == backend.registry.data()


def test_markup_in_names_is_escaped_in_the_reports(backend: Backend) -> None:
    data = registry_data()
    data.buildings[0] = Building(id="s", name="<script>alert(1)</script>", kind="school",
                                 training_track=True)  # fmt: skip
    backend.registry.replace(data)
    backend.make_plans(DAY, "afternoon", at("15:00"))
    taps(backend.influx, ("s-wc", CLEANER, "17:00"), ("s-wc", CLEANER, "17:15"))
    backend.pair_visits(at("23:00"))
    r = report.monthly(backend, "2026-11", NOW, ReportSettings())
    first, last = DAY, DAY + timedelta(days=1)
    found = training.progress(backend, first, last, ReportSettings())
    pages = [report_render.html(r, lang, backend.tz) for lang in ("da", "en")] + [
        report_render.training_html(found, first, last, NOW, ReportSettings(), "en", backend.tz)
    ]
    for page in pages[:2]:
        assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in pages[2]
    assert report_render.pdf(r, "en", backend.tz).startswith(b"%PDF")
