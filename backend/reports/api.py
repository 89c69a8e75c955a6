"""HTTP routes of the reports: the monthly contract report and the training tracks'
progress for the job centre, each as HTML or, with ?format=pdf, as a PDF."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time.
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from backend.auth import Anyone, Leader
from backend.reports import render, training
from backend.reports.monthly import month_span, monthly
from backend.service import Backend, BackendError

FormatQuery = Literal["html", "pdf"]
LanguageQuery = Literal["da", "en"] | None
MonthQuery = Annotated[str | None, Query(description="YYYY-MM; default: the last whole month")]
# A report route answers HTML or, with ?format=pdf, a PDF.
REPORT_ROUTE: dict[str, Any] = {
    "tags": ["reports"],
    "response_class": Response,
    "responses": {200: {"content": {"text/html": {}, "application/pdf": {}}}},
}


def _document(format: str, html: Callable[[], str], pdf: Callable[[], bytes]) -> Response:
    if format == "pdf":
        return Response(pdf(), media_type="application/pdf")
    return HTMLResponse(html())


def router(backend: Backend, clock: Callable[[], int]) -> APIRouter:
    """The routes over `backend`; `clock` gives "now" (the demo passes simulated time)."""
    api = APIRouter()
    settings = backend.settings

    @api.get("/reports/monthly", **REPORT_ROUTE)
    def monthly_report(
        c: Anyone,
        month: MonthQuery = None,
        building: str | None = None,
        format: FormatQuery = "html",
        language: LanguageQuery = None,
    ) -> Response:
        """The monthly contract report (`pletfri report monthly`), as HTML or PDF."""
        c.one_building(building)
        try:
            r = monthly(backend, month, clock(), settings.report, building)
        except BackendError as e:
            raise HTTPException(422, str(e)) from None
        lang = language or settings.report.language
        return _document(
            format,
            lambda: render.html(r, lang, backend.tz),
            lambda: render.pdf(r, lang, backend.tz),
        )

    @api.get("/reports/training", **REPORT_ROUTE)
    def training_report(
        c: Leader,
        month: MonthQuery = None,
        building: str | None = None,
        format: FormatQuery = "html",
        language: LanguageQuery = None,
    ) -> Response:
        """The training tracks' progress for the job centre, anonymised, as HTML or PDF."""
        c.one_building(building)
        now = clock()
        try:
            _, first, last = month_span(month, now, backend)
            found = training.progress(backend, first, last, settings.report, building)
        except BackendError as e:
            raise HTTPException(422, str(e)) from None
        args = (found, first, last, now, settings.report, language or settings.report.language,
                backend.tz)  # fmt: skip
        return _document(
            format,
            lambda: render.training_html(*args),
            lambda: render.training_pdf(*args),
        )

    return api
