"""`pletfri report ...`: the monthly contract report and the training tracks' progress,
written as HTML and PDF files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.command import BuildingOpt, NowOpt, parse_now, running_backend
from pletfri.command import fail, settings

report_app = typer.Typer(help="Reports for the contract.", no_args_is_help=True)

MonthOpt = Annotated[str | None, typer.Option(help="YYYY-MM (default: the last whole month).")]
OutOpt = Annotated[Path, typer.Option(help="Folder for the HTML and PDF files.")]
REPORTS = Path("run/reports")
LanguageOpt = Annotated[str | None, typer.Option(help="da or en (default: report.language).")]
PdfOpt = Annotated[bool, typer.Option(help="Write the PDF too.")]


@report_app.command("monthly")
def report_monthly(
    ctx: typer.Context,
    month: MonthOpt = None,
    building: BuildingOpt = None,
    out: OutOpt = REPORTS,
    language: LanguageOpt = None,
    pdf: PdfOpt = True,
    now: NowOpt = None,
) -> None:
    """The monthly contract report as HTML (Danish and English) and PDF: a first page of key
    figures against the targets and last month, buildings that need attention and charts,
    then verification, savings, quality, training and environment per building."""
    from backend.reports import render  # fpdf2 and Pillow load for this command only
    from backend.reports.monthly import monthly

    s = settings(ctx)
    lang = _language(language, s.report.language)
    with running_backend(ctx) as be:
        r = monthly(be, month, parse_now(ctx, now), s.report, building)
        doc = render.pdf(r, lang, be.tz) if pdf else None
        written = _write_report(out / r.name, render.html(r, lang, be.tz), doc)
    total = r.total()
    typer.echo(
        f"{r.month} ({r.first} to {r.last}): {total.planned} planned, {total.missed} missed, "
        f"{total.avoided:,.0f} cleanings avoided; wrote {written}"
    )


@report_app.command("training")
def report_training(
    ctx: typer.Context,
    month: MonthOpt = None,
    building: BuildingOpt = None,
    out: OutOpt = REPORTS,
    language: LanguageOpt = None,
    pdf: PdfOpt = True,
    now: NowOpt = None,
) -> None:
    """The training tracks' progress for the job centre, anonymised, as HTML and PDF."""
    from backend.reports import render, training  # fpdf2 and Pillow load here only
    from backend.reports.monthly import month_span

    s = settings(ctx)
    lang = _language(language, s.report.language)
    now_ms = parse_now(ctx, now)
    with running_backend(ctx) as be:
        name, first, last = month_span(month, now_ms, be)
        found = training.progress(be, first, last, s.report, building)
        args = (found, first, last, now_ms, s.report, lang, be.tz)
        stem = out / (f"training-{name}" + (f"-{building}" if building else ""))
        html = render.training_html(*args)
        written = _write_report(stem, html, render.training_pdf(*args) if pdf else None)
    ready = sum(p.ready for p in found)
    typer.echo(
        f"{name} ({first} to {last}): {len(found)} trainees, {ready} ready for an own area; "
        f"wrote {written}"
    )


def _language(given: str | None, default: str) -> str:
    lang = given or default
    if lang not in ("da", "en"):
        raise fail(f"--language {lang!r}: use da or en")
    return lang


def _write_report(stem: Path, html: str, pdf: bytes | None) -> str:
    from backend.reports import render  # fpdf2 and Pillow load for the report commands only

    try:
        written = render.write(stem, html, pdf)
    except OSError as e:
        raise fail(f"cannot write to {stem.parent}: {e.strerror}; choose another --out") from None
    return ", ".join(str(p) for p in written)
