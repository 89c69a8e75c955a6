"""The monthly report as HTML (one self-contained file, charts as inline SVG) and as PDF
(fpdf2: the same charts as SVG images, the same tables), in Danish or English."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from fpdf import FPDF
from jinja2 import Environment

from backend.quality import inspections
from backend.reports.monthly import BuildingRow, MonthlyReport
from backend.reports.training import Progress, anonymised
from pletfri.settings import ReportSettings

# The PDF's core fonts cover Latin-1 (Danish letters included); anything else is replaced.
PDF_ENCODING = "latin-1"
COLOURS = ("#4a7ab8", "#8cc084", "#d9825b")

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Cleaning contract report", "da": "Rapport om rengøringskontrakten"},
    "all": {"en": "all buildings", "da": "alle bygninger"},
    "covers": {"en": "Covers {first} to {last}, made {made}.",
               "da": "Dækker {first} til {last}, lavet {made}."},
    "verification": {"en": "Cleaning against the plan", "da": "Rengøring mod planen"},
    "savings": {"en": "Demand-based cleaning against the fixed schedule",
                "da": "Behovsstyret rengøring mod den faste plan"},
    "training": {"en": "Training track", "da": "Oplæringsforløb"},
    "quality": {"en": "Quality (INSTA 800 inspections)", "da": "Kvalitet (INSTA 800-kontroller)"},
    "inspections": {"en": "inspections", "da": "kontroller"},
    "approved": {"en": "approved", "da": "godkendt"},
    "rooms_inspected": {"en": "rooms inspected", "da": "lokaler kontrolleret"},
    "rooms_approved": {"en": "rooms approved", "da": "lokaler godkendt"},
    "approval_pct": {"en": "approved %", "da": "godkendt %"},
    "deviation": {"en": "level vs agreed", "da": "niveau mod aftalt"},
    "no_quality": {"en": "No finished inspections this month.",
                   "da": "Ingen afsluttede kontroller i måneden."},
    "environment": {"en": "Environment (estimate)", "da": "Miljø (skøn)"},
    "per_day": {"en": "Planned cleanings and visits per day",
                "da": "Planlagte rengøringer og besøg pr. dag"},
    "most_missed": {"en": "Buildings with the most missed cleanings",
                    "da": "Bygninger med flest manglende rengøringer"},
    "building": {"en": "building", "da": "bygning"},
    "day": {"en": "day", "da": "dag"},
    "planned": {"en": "planned", "da": "planlagt"},
    "done": {"en": "done", "da": "udført"},
    "done_pct": {"en": "planned done %", "da": "planlagt udført %"},
    "visits_made": {"en": "visits", "da": "besøg"},
    "unplanned": {"en": "unplanned", "da": "uplanlagt"},
    "missed": {"en": "missed", "da": "mangler"},
    "too_short": {"en": "too short", "da": "for korte"},
    "no_leave": {"en": "no leaving tap", "da": "uden afmelding"},
    "unverifiable": {"en": "no station", "da": "uden station"},
    "fixed": {"en": "fixed schedule", "da": "fast plan"},
    "avoided": {"en": "avoided", "da": "sparet"},
    "hours_saved": {"en": "hours saved", "da": "timer sparet"},
    "due_not_cleaned": {"en": "due, not cleaned", "da": "behov, ikke gjort rent"},
    "total": {"en": "total", "da": "i alt"},
    "trainees": {"en": "trainees", "da": "elever"},
    "visits": {"en": "visits", "da": "besøg"},
    "with_buddy": {"en": "with buddy", "da": "med makker"},
    "hours": {"en": "hours", "da": "timer"},
    "m2_with": {"en": "m² with buddy", "da": "m² med makker"},
    "m2_alone": {"en": "m² alone", "da": "m² alene"},
    "no_training": {"en": "No trainee visits this month.",
                    "da": "Ingen besøg af elever i måneden."},
    "job_title": {"en": "Training tracks: progress for the job centre",
                  "da": "Oplæringsforløb: status til jobcentret"},
    "job_note": {
        "en": "No one is named: trainees are numbered in this report only. Ready for an own "
              "area: at least {n} visits alone, and at least {pct:g} % of the latest {n} "
              "verified (both taps, long enough for the room).",
        "da": "Ingen er nævnt ved navn: eleverne er kun nummereret i denne rapport. Klar til "
              "eget område: mindst {n} besøg alene, og mindst {pct:g} % af de seneste {n} "
              "verificeret (begge tryk, lange nok til lokalet).",
    },
    "trainee": {"en": "trainee", "da": "elev"},
    "track": {"en": "track", "da": "forløb"},
    "period": {"en": "first and last visit", "da": "første og sidste besøg"},
    "alone": {"en": "alone", "da": "alene"},
    "verified_alone": {"en": "verified alone %", "da": "verificeret alene %"},
    "ready": {"en": "ready", "da": "klar"},
    "yes": {"en": "yes", "da": "ja"},
    "no": {"en": "not yet", "da": "ikke endnu"},
    "no_trainees": {"en": "No trainees in the registry.", "da": "Ingen elever i registret."},
    "env_text": {
        "en": "{hours:,.0f} cleaning hours saved, at {w:g} l water, {d:g} ml detergent and "
              "{e:g} kWh per hour (the contract's factors): about {water:,.0f} l water, "
              "{det:,.1f} l detergent and {kwh:,.0f} kWh not used.",
        "da": "{hours:,.0f} rengøringstimer sparet, ved {w:g} l vand, {d:g} ml "
              "rengøringsmiddel og {e:g} kWh pr. time (kontraktens tal): omkring "
              "{water:,.0f} l vand, {det:,.1f} l rengøringsmiddel og {kwh:,.0f} kWh sparet.",
    },
}  # fmt: skip


def t(key: str, language: str) -> str:
    return TEXT[key][language if language in ("da", "en") else "en"]


def bars(labels: list[str], series: list[tuple[str, list[float]]], width: int = 640) -> str:
    """A grouped bar chart as SVG: one group per label, one bar per series."""
    height, left, bottom, top = 220, 40, 40, 24
    top_value = max([v for _, values in series for v in values] + [1])
    plot_w, plot_h = width - left - 10, height - top - bottom
    group = plot_w / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica" font-size="10">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{top_value:,.0f}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(labels):
        x0 = left + i * group + group * 0.1
        for j, (_, values) in enumerate(series):
            h = plot_h * values[i] / top_value
            out.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[j % len(COLOURS)]}"/>'
            )
        out.append(
            f'<text x="{x0 + group * 0.4:.1f}" y="{top + plot_h + 14}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for j, (name, _) in enumerate(series):
        x = left + j * 120
        out.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{COLOURS[j]}"/>')
        out.append(f'<text x="{x + 14}" y="13">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def charts(r: MonthlyReport, language: str) -> dict[str, str]:
    days = [d for d in r.days if d.planned or d.done]
    worst = sorted(r.buildings, key=lambda b: -b.missed)[:10]
    return {
        "per_day": bars(
            [f"{d.day.day}" for d in days],
            [
                (t("planned", language), [float(d.planned) for d in days]),
                (t("visits_made", language), [float(d.done) for d in days]),
            ],
        ),
        "most_missed": bars(
            [b.building for b in worst if b.missed],
            [(t("missed", language), [float(b.missed) for b in worst if b.missed])],
        ),
    }


def _quality_cells(r: MonthlyReport) -> list[list[str]]:
    rows = [*r.quality, inspections.total(r.quality)] if r.quality else []
    return [
        [q.building, str(q.inspections), str(q.inspections_approved), str(q.rooms_inspected),
         str(q.rooms_approved),
         "" if q.approval_rate is None else f"{100 * q.approval_rate:.1f}",
         "" if q.mean_deviation is None else f"{q.mean_deviation:+.2f}"]
        for q in rows
    ]  # fmt: skip


QUALITY_HEADER = ("building", "inspections", "approved", "rooms_inspected", "rooms_approved",
                  "approval_pct", "deviation")  # fmt: skip


def _pct(row: BuildingRow) -> str:
    return "" if row.done_pct is None else f"{row.done_pct:.1f}"


def _context(r: MonthlyReport, language: str, tz: ZoneInfo) -> dict[str, Any]:
    made = datetime.fromtimestamp(r.made_ms / 1000, tz).strftime("%Y-%m-%d %H:%M")
    env = r.environment
    return {
        "r": r,
        "lang": language,
        "t": lambda key: t(key, language),
        "pct": _pct,
        "quality_header": QUALITY_HEADER,
        "total": r.total(),
        "scope": r.building or t("all", language),
        "covers": t("covers", language).format(first=r.first, last=r.last, made=made),
        "charts": charts(r, language),
        "quality": _quality_cells(r),
        "environment": t("env_text", language).format(
            hours=env.hours_saved, w=env.factors.water_l_per_hour,
            d=env.factors.detergent_ml_per_hour, e=env.factors.energy_kwh_per_hour,
            water=env.water_l, det=env.detergent_l, kwh=env.energy_kwh,
        ) if env else "",
    }  # fmt: skip


# Both reports' pages: plain tables, numbers right-aligned, the total row bold.
STYLE = """<style>
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 62em; color: #222 }
table { border-collapse: collapse; margin: 0.5em 0 1.5em }
td, th { border-bottom: 1px solid #ddd; padding: 0.2em 0.7em; text-align: right }
td:first-child, th:first-child, td.name { text-align: left }
tr.total td { font-weight: bold; border-top: 2px solid #888 }
</style></head><body>
"""

HTML = (
    """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ t('title') }} {{ r.month }}: {{ scope }}</title>
"""
    + STYLE
    + """<h1>{{ t('title') }} {{ r.month }}: {{ scope }}</h1>
<p>{{ covers }}</p>

<h2>{{ t('verification') }}</h2>
<h3>{{ t('per_day') }}</h3>
{{ charts.per_day|safe }}
{% if total.missed %}<h3>{{ t('most_missed') }}</h3>
{{ charts.most_missed|safe }}{% endif %}
<table>
<tr><th>{{ t('building') }}</th><th></th><th>{{ t('planned') }}</th><th>{{ t('missed') }}</th>
<th>{{ t('done_pct') }}</th><th>{{ t('visits_made') }}</th><th>{{ t('unplanned') }}</th>
<th>{{ t('too_short') }}</th><th>{{ t('no_leave') }}</th><th>{{ t('unverifiable') }}</th></tr>
{% for b in r.buildings %}<tr><td>{{ b.building }}</td><td class="name">{{ b.name }}</td>
<td>{{ b.planned }}</td><td>{{ b.missed }}</td><td>{{ pct(b) }}</td><td>{{ b.done }}</td>
<td>{{ b.unplanned }}</td><td>{{ b.too_short }}</td><td>{{ b.no_leave_tap }}</td>
<td>{{ b.unverifiable }}</td></tr>
{% endfor %}
<tr class="total"><td>{{ t('total') }}</td><td></td><td>{{ total.planned }}</td>
<td>{{ total.missed }}</td><td>{{ pct(total) }}</td><td>{{ total.done }}</td>
<td>{{ total.unplanned }}</td><td>{{ total.too_short }}</td><td>{{ total.no_leave_tap }}</td>
<td>{{ total.unverifiable }}</td></tr>
</table>

<h2>{{ t('savings') }}</h2>
<table>
<tr><th>{{ t('building') }}</th><th>{{ t('fixed') }}</th><th>{{ t('visits_made') }}</th>
<th>{{ t('avoided') }}</th><th>{{ t('hours_saved') }}</th><th>{{ t('due_not_cleaned') }}</th></tr>
{% for b in r.buildings %}<tr><td>{{ b.building }}</td>
<td>{{ "{:,.1f}".format(b.fixed_cleanings) }}</td><td>{{ b.done }}</td>
<td>{{ "{:,.1f}".format(b.avoided) }}</td><td>{{ "{:,.1f}".format(b.hours_saved) }}</td>
<td>{{ b.due_not_cleaned }}</td></tr>
{% endfor %}
<tr class="total"><td>{{ t('total') }}</td><td>{{ "{:,.1f}".format(total.fixed_cleanings) }}</td>
<td>{{ total.done }}</td><td>{{ "{:,.1f}".format(total.avoided) }}</td>
<td>{{ "{:,.1f}".format(total.hours_saved) }}</td><td>{{ total.due_not_cleaned }}</td></tr>
</table>

<h2>{{ t('quality') }}</h2>
{% if quality %}<table>
<tr>{% for k in quality_header %}<th>{{ t(k) }}</th>{% endfor %}</tr>
{% for row in quality %}<tr{% if loop.last %} class="total"{% endif %}>
<td>{{ t('total') if loop.last else row[0] }}</td>
{% for c in row[1:] %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% else %}<p>{{ t('no_quality') }}</p>{% endif %}

<h2>{{ t('training') }}</h2>
{% if r.training %}<table>
<tr><th>{{ t('building') }}</th><th></th><th>{{ t('trainees') }}</th><th>{{ t('visits') }}</th>
<th>{{ t('with_buddy') }}</th><th>{{ t('hours') }}</th><th>{{ t('m2_with') }}</th>
<th>{{ t('m2_alone') }}</th></tr>
{% for b in r.training %}<tr><td>{{ b.building }}</td><td class="name">{{ b.name }}</td>
<td>{{ b.trainees }}</td><td>{{ b.visits }}</td><td>{{ b.with_buddy }}</td>
<td>{{ "{:,.1f}".format(b.hours) }}</td><td>{{ "{:,.0f}".format(b.m2_with_buddy) }}</td>
<td>{{ "{:,.0f}".format(b.m2_alone) }}</td></tr>
{% endfor %}</table>
{% else %}<p>{{ t('no_training') }}</p>{% endif %}

<h2>{{ t('environment') }}</h2>
<p>{{ environment }}</p>
</body></html>
"""
)


def html(r: MonthlyReport, language: str, tz: ZoneInfo) -> str:
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(HTML).render(**_context(r, language, tz))


class _Pdf(FPDF):
    def normalize_text(self, text: str) -> str:
        return super().normalize_text(
            text.replace("²", "2").encode(PDF_ENCODING, "replace").decode(PDF_ENCODING)
        )

    def para(self, text: str, height: float = 5, style: str = "", size: int = 9) -> None:
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.para(text, 7, "B", 12)
        self.set_font("Helvetica", size=8)


def _table(pdf: FPDF, header: list[str], rows: list[list[str]], widths: tuple[int, ...]) -> None:
    with pdf.table(
        col_widths=widths, text_align="RIGHT", first_row_as_headings=True, line_height=5
    ) as table:
        for cells in [header, *rows]:
            row = table.row()
            for cell in cells:
                row.cell(cell)


def pdf(r: MonthlyReport, language: str, tz: ZoneInfo) -> bytes:
    c = _context(r, language, tz)
    tt = c["t"]
    total: BuildingRow = c["total"]
    doc = _Pdf(format="A4")
    doc.set_auto_page_break(True, margin=15)
    doc.add_page()
    doc.para(f"{tt('title')} {r.month}: {c['scope']}", 8, "B", 16)
    doc.para(c["covers"])

    doc.heading(tt("verification"))
    doc.image(io.BytesIO(c["charts"]["per_day"].encode()), w=170)
    if total.missed:
        doc.image(io.BytesIO(c["charts"]["most_missed"].encode()), w=170)
    rows = [
        [b.building, str(b.planned), str(b.missed), _pct(b), str(b.done), str(b.unplanned),
         str(b.too_short), str(b.no_leave_tap), str(b.unverifiable)]
        for b in [*r.buildings, total]
    ]  # fmt: skip
    rows[-1][0] = tt("total")
    _table(
        doc,
        [tt(k) for k in ("building", "planned", "missed", "done_pct", "visits_made", "unplanned",
                         "too_short", "no_leave", "unverifiable")],
        rows,
        (20, 18, 18, 22, 18, 20, 18, 22, 20),
    )  # fmt: skip
    doc.heading(tt("savings"))
    rows = [
        [b.building, f"{b.fixed_cleanings:,.1f}", str(b.done), f"{b.avoided:,.1f}",
         f"{b.hours_saved:,.1f}", str(b.due_not_cleaned)]
        for b in [*r.buildings, total]
    ]  # fmt: skip
    rows[-1][0] = tt("total")
    _table(
        doc,
        [
            tt(k)
            for k in (
                "building",
                "fixed",
                "visits_made",
                "avoided",
                "hours_saved",
                "due_not_cleaned",
            )
        ],
        rows,
        (25, 28, 25, 25, 28, 32),
    )
    doc.heading(tt("quality"))
    if c["quality"]:
        rows = c["quality"]
        rows[-1][0] = tt("total")
        _table(doc, [tt(k) for k in QUALITY_HEADER], rows, (25, 22, 22, 28, 28, 24, 28))
    else:
        doc.para(tt("no_quality"))
    doc.heading(tt("training"))
    if r.training:
        _table(
            doc,
            [tt(k) for k in ("building", "trainees", "visits", "with_buddy", "hours", "m2_with",
                             "m2_alone")],
            [[b.building, str(b.trainees), str(b.visits), str(b.with_buddy), f"{b.hours:,.1f}",
              f"{b.m2_with_buddy:,.0f}", f"{b.m2_alone:,.0f}"] for b in r.training],
            (25, 22, 22, 24, 22, 30, 25),
        )  # fmt: skip
    else:
        doc.para(tt("no_training"))
    doc.heading(tt("environment"))
    doc.para(c["environment"])
    return bytes(doc.output())


TRAINING_HTML = (
    """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ t('job_title') }}</title>
"""
    + STYLE
    + """<h1>{{ t('job_title') }}</h1>
<p>{{ covers }}</p>
<p>{{ note }}</p>
{% if rows %}<table>
{% for row in [header] + cells %}<tr>{% for c in row %}
{% if loop.index == 2 %}<td class="name">{{ c }}</td>{% else %}<td>{{ c }}</td>{% endif %}
{% endfor %}</tr>
{% endfor %}</table>
{% else %}<p>{{ t('no_trainees') }}</p>{% endif %}
</body></html>
"""
)


def _training_cells(found: list[Progress], language: str) -> tuple[list[str], list[list[str]]]:
    header = [
        t(k, language)
        for k in (
            "trainee",
            "track",
            "period",
            "visits",
            "with_buddy",
            "alone",
            "hours",
            "m2_with",
            "m2_alone",
            "verified_alone",
            "ready",
        )
    ]
    cells = [
        [row["trainee"], row["track"], f"{row['from'] or ''} - {row['to'] or ''}",
         str(row["visits"]), str(row["with_buddy"]), str(row["alone"]), f"{row['hours']:,.1f}",
         f"{row['m2_with_buddy']:,.0f}", f"{row['m2_alone']:,.0f}",
         "" if row["verified_alone_pct"] is None else f"{row['verified_alone_pct']:.1f}",
         t("yes" if row["ready"] else "no", language)]
        for row in anonymised(found)
    ]  # fmt: skip
    return header, cells


def _training_text(
    first: date, last: date, made_ms: int, factors: ReportSettings, language: str, tz: ZoneInfo
) -> tuple[str, str]:
    made = datetime.fromtimestamp(made_ms / 1000, tz).strftime("%Y-%m-%d %H:%M")
    covers = t("covers", language).format(first=first, last=last, made=made)
    note = t("job_note", language).format(n=factors.ready_min_alone, pct=factors.ready_verified_pct)
    return covers, note


def training_html(
    found: list[Progress], first: date, last: date, made_ms: int, factors: ReportSettings,
    language: str, tz: ZoneInfo,
) -> str:  # fmt: skip
    """The job centre's anonymised report as one HTML page."""
    header, cells = _training_cells(found, language)
    covers, note = _training_text(first, last, made_ms, factors, language, tz)
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(TRAINING_HTML).render(
        lang=language, t=lambda key: t(key, language), covers=covers, note=note,
        header=header, cells=cells, rows=bool(cells),
    )  # fmt: skip


def training_pdf(
    found: list[Progress], first: date, last: date, made_ms: int, factors: ReportSettings,
    language: str, tz: ZoneInfo,
) -> bytes:  # fmt: skip
    """The same as a PDF, landscape."""
    header, cells = _training_cells(found, language)
    covers, note = _training_text(first, last, made_ms, factors, language, tz)
    doc = _Pdf(orientation="landscape", format="A4")
    doc.add_page()
    doc.para(t("job_title", language), 8, "B", 16)
    doc.para(covers)
    doc.para(note)
    doc.ln(3)
    doc.set_font("Helvetica", size=8)
    if cells:
        _table(doc, header, cells, (14, 45, 40, 16, 20, 16, 16, 24, 22, 30, 20))
    else:
        doc.para(t("no_trainees", language))
    return bytes(doc.output())


def write(stem: Path, html: str, pdf: bytes | None) -> list[Path]:
    """stem.html, and stem.pdf if given; the paths written (OSError if the folder can't be)."""
    files = {stem.with_suffix(".html"): html.encode()}
    if pdf is not None:
        files[stem.with_suffix(".pdf")] = pdf
    stem.parent.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        path.write_bytes(data)
    return list(files)
