"""The monthly report as HTML (one self-contained file, charts as inline SVG) and as PDF
(fpdf2: the same charts as SVG images, the same tables), in Danish or English."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from fpdf import FPDF
from jinja2 import Environment

from backend.quality import inspections
from backend.reports.monthly import BuildingRow, MonthlyReport
from backend.reports.summary import Summary, summary
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
    "summary": {"en": "The month at a glance", "da": "Måneden kort"},
    "figure": {"en": "key figure", "da": "nøgletal"},
    "this_month": {"en": "this month", "da": "denne måned"},
    "target": {"en": "target", "da": "mål"},
    "last_month": {"en": "last month", "da": "sidste måned"},
    "change": {"en": "change", "da": "ændring"},
    "kpi_verified": {"en": "Verified cleanings (planned, done)",
                     "da": "Verificerede rengøringer (planlagt, udført)"},
    "kpi_approval": {"en": "INSTA 800 approval (rooms)", "da": "INSTA 800-godkendelse (lokaler)"},
    "kpi_avoided": {"en": "Cleanings avoided (of the fixed schedule)",
                    "da": "Sparede rengøringer (af den faste plan)"},
    "kpi_hours": {"en": "Cleaning hours saved", "da": "Rengøringstimer sparet"},
    "kpi_trainees": {"en": "Trainees with visits", "da": "Elever med besøg"},
    "kpi_ready": {"en": "Trainees ready for an own area (towards a job)",
                  "da": "Elever klar til eget område (mod job)"},
    "kpi_resources": {"en": "Water saved (detergent, energy)",
                      "da": "Vand sparet (rengøringsmiddel, energi)"},
    "unit_hours": {"en": "h", "da": "t"},
    "unit_water": {"en": "l", "da": "l"},
    "last_span": {"en": "Last month: {first} to {last}. Arrows: green better, red worse.",
                  "da": "Sidste måned: {first} til {last}. Pile: grøn bedre, rød dårligere."},
    "no_last": {"en": "Last month has no plans: shown as –.",
                "da": "Sidste måned har ingen planer: vist som –."},
    "attention": {"en": "Buildings that need attention", "da": "Bygninger der kræver opmærksomhed"},
    "why": {"en": "why", "da": "hvorfor"},
    "why_missed": {"en": "planned cleanings missed: {missed:.0f} of {planned:.0f} "
                         "({pct:.0f} % done)",
                   "da": "planlagte rengøringer mangler: {missed:.0f} af {planned:.0f} "
                         "({pct:.0f} % udført)"},
    "why_failed": {"en": "inspections failed: {failed:.0f} of {of:.0f}",
                   "da": "kontroller ikke godkendt: {failed:.0f} af {of:.0f}"},
    "why_approval": {"en": "rooms approved: {pct:.0f} %", "da": "lokaler godkendt: {pct:.0f} %"},
    "why_due": {"en": "due rooms not cleaned: {due:.0f}",
                "da": "lokaler med behov, ikke gjort rent: {due:.0f}"},
    "why_short": {"en": "visits too short: {short:.0f}", "da": "besøg for korte: {short:.0f}"},
    "no_attention": {"en": "No building is behind the targets this month.",
                     "da": "Ingen bygning er bagud i forhold til målene i måneden."},
    "trend_title": {"en": "Verified cleanings and INSTA 800 approval per month, %",
                    "da": "Verificerede rengøringer og INSTA 800-godkendelse pr. måned, %"},
    "trend_verified": {"en": "verified", "da": "verificeret"},
    "trend_approved": {"en": "rooms approved", "da": "lokaler godkendt"},
    "trend_one": {"en": "Earlier months have no plans: the trend starts this month.",
                  "da": "Tidligere måneder har ingen planer: forløbet begynder i denne måned."},
    "compliance_title": {"en": "Planned cleanings done per building, worst first, %",
                         "da": "Planlagte rengøringer udført pr. bygning, dårligste først, %"},
    "annex": {"en": "Annex: per building", "da": "Bilag: pr. bygning"},
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
        f'viewBox="0 0 {width} {height}" font-family="Helvetica" font-size="10" '
        'fill="#222222">',
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


GOOD, BAD, FLAT = "#2e7d32", "#c62828", "#777777"


def lines(
    labels: list[str], series: list[tuple[str, list[float | None], float | None]],
    width: int = 640,
) -> str:  # fmt: skip
    """A line chart of percentages as SVG: one line per series (name, values, target), its
    target a dashed line in the same colour; a missing value breaks its line."""
    height, left, right, bottom, top = 180, 40, 20, 30, 38
    known = [v for _, values, _ in series for v in values if v is not None]
    known += [tg for _, _, tg in series if tg is not None]
    # From the tens below the lowest figure: a 90-100 % range shows its changes.
    low = max(0, int(min([*known, 100]) - 5) // 10 * 10)
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if len(labels) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (100 - v) / (100 - low)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica" font-size="10" '
        'fill="#222222">',
    ]
    for v in range(low, 101, 10 if 100 - low > 30 else 5):
        out.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" '
                   'stroke="#dddddd"/>')  # fmt: skip
        out.append(f'<text x="{left - 4}" y="{y(v) + 3:.1f}" text-anchor="end">{v}</text>')
    for i, label in enumerate(labels):
        out.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                   f"{escape(label)}</text>")  # fmt: skip
    for j, (name, values, target) in enumerate(series):
        colour = COLOURS[j % len(COLOURS)]
        if target is not None:
            ty = y(target)
            out.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
                       f'stroke="{colour}" stroke-dasharray="4 3"/>')  # fmt: skip
        run: list[str] = []
        for i, v in enumerate([*values, None]):
            if v is not None:
                run.append(f"{x(i):.1f},{y(v):.1f}")
                out.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
                out.append(f'<text x="{x(i):.1f}" y="{y(v) - 6:.1f}" text-anchor="middle" '
                           f'fill="{colour}">{v:.1f}</text>')  # fmt: skip
            elif run:
                if len(run) > 1:
                    out.append(f'<polyline points="{" ".join(run)}" fill="none" '
                               f'stroke="{colour}" stroke-width="2"/>')  # fmt: skip
                run = []
        lx = left + j * 160
        out.append(f'<rect x="{lx}" y="6" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 14}" y="15">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def hbars(rows: list[tuple[str, float]], target: float | None, width: int = 640) -> str:
    """Horizontal bars of percentages as SVG, in the given order; under the target red. The
    axis starts at the tens below the lowest bar (and target), labelled, so that 92 and 97 %
    look different; the values stand in a column at the right."""
    row_h, left, right, top = 16, 210, 44, 8
    height = top + row_h * len(rows) + 20
    plot_w = width - left - right
    low = max(0, int(min([v for _, v in rows] + [target or 100, 100]) - 5) // 10 * 10)

    def x(v: float) -> float:
        return left + plot_w * (max(v, low) - low) / (100 - low)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica" font-size="10" '
        'fill="#222222">',
    ]
    for i, (label, v) in enumerate(rows):
        y0 = top + i * row_h
        colour = BAD if target is not None and v < target else GOOD
        out.append(f'<text x="{left - 6}" y="{y0 + 11}" text-anchor="end">'
                   f"{escape(label[:38])}</text>")  # fmt: skip
        out.append(f'<rect x="{left}" y="{y0 + 2}" width="{x(v) - left:.1f}" '
                   f'height="{row_h - 4}" fill="{colour}"/>')  # fmt: skip
        out.append(f'<text x="{width - 4}" y="{y0 + 11}" text-anchor="end">{v:.1f}</text>')
    bottom = top + row_h * len(rows)
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#888888"/>')
    for v in (low, (low + 100) // 2, 100):
        out.append(f'<text x="{x(v):.1f}" y="{bottom + 14}" text-anchor="middle">{v}</text>')
    if target is not None:
        out.append(f'<line x1="{x(target):.1f}" y1="{top}" x2="{x(target):.1f}" y2="{bottom}" '
                   'stroke="#333333" stroke-dasharray="4 3"/>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def _summary_charts(s: Summary, r: MonthlyReport, language: str) -> dict[str, str]:
    tg = r.targets
    return {
        "trend": lines(
            [p.month for p in s.trend],
            [
                (t("trend_verified", language), [p.verified_pct for p in s.trend],
                 tg.verified_pct or None),
                (t("trend_approved", language), [p.approval_pct for p in s.trend],
                 tg.approval_pct or None),
            ],
        ),
        "compliance": hbars(
            [(f"{b.building} {b.name}", b.done_pct or 0.0) for b in s.compliance],
            tg.verified_pct or None,
        ),
    }  # fmt: skip


def _fmt(value: float | None, unit: str, language: str) -> str:
    if value is None:
        return "–"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "unit_hours":
        return f"{value:,.1f} {t(unit, language)}"
    if unit:
        return f"{value:,.0f} {t(unit, language)}"
    return f"{value:,.0f}"


def _figure_rows(s: Summary, language: str) -> list[dict[str, Any]]:
    """The key figures' cells, formatted: name, value, target, last month, arrow, colours."""
    rows = []
    for f in s.figures:
        value = _fmt(f.value, f.unit, language)
        last = _fmt(f.previous, f.unit, language)
        rows.append({
            "name": t(f.key, language),
            "value": value + (f" ({f.detail})" if f.detail and f.value is not None else ""),
            "target": _fmt(f.target, f.unit, language),
            "last": last + (f" ({f.previous_detail})"
                            if f.previous_detail and f.previous is not None else ""),
            "arrow": f.arrow,
            "colour": FLAT if f.good is None else GOOD if f.good else BAD,
            "below": f.below_target,
        })  # fmt: skip
    return rows


def _attention_rows(s: Summary, language: str) -> list[list[str]]:
    return [
        [a.building, a.name, "; ".join(t(k, language).format(**v) for k, v in a.reasons)]
        for a in s.attention
    ]


ARROWS = {"up": "▲", "down": "▼", "flat": "▶"}


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
    s = summary(r)
    last = s.previous
    return {
        "figures": _figure_rows(s, language),
        "arrows": ARROWS,
        "last_span": t("last_span", language).format(first=last.first, last=last.last)
        if last else t("no_last", language),
        "attention": _attention_rows(s, language),
        "summary_charts": _summary_charts(s, r, language),
        "trend_one": len(s.trend) < 2,
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

# The monthly report carries both languages, one shown at a time: a radio button per
# language and a CSS sibling rule switch them without a script or a server round trip.
SWITCH = """<style>
#lang-da:checked ~ .en, #lang-en:checked ~ .da, input[name=lang] { display: none }
nav.switch { float: right }
nav.switch label { cursor: pointer; padding: 0.2em 0.6em; border: 1px solid #888;
  border-radius: 0.3em; color: #4a7ab8 }
#lang-da:checked ~ nav label[for=lang-da], #lang-en:checked ~ nav label[for=lang-en] {
  background: #4a7ab8; color: #fff }
table.figures td.value { font-weight: bold }
table.figures td.below { color: #c62828 }
table.figures td.arrow { font-size: 1.2em; text-align: center }
td.why, th.why { text-align: left }
h2.annex { break-before: page; border-top: 2px solid #888; padding-top: 0.5em }
@media print { nav.switch { display: none } }
</style>
"""

HTML = (
    """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ title }}</title>
"""
    + SWITCH
    + STYLE
    + """<input type="radio" name="lang" id="lang-da"{% if lang == 'da' %} checked{% endif %}>
<input type="radio" name="lang" id="lang-en"{% if lang == 'en' %} checked{% endif %}>
<nav class="switch"><label for="lang-da" lang="da">Dansk</label>
<label for="lang-en" lang="en">English</label></nav>
{% for body in bodies %}{{ body|safe }}{% endfor %}
</body></html>
"""
)

BODY = """<div class="{{ lang }}" lang="{{ lang }}">
<h1>{{ t('title') }} {{ r.month }}: {{ scope }}</h1>
<p>{{ covers }}</p>

<h2>{{ t('summary') }}</h2>
<table class="figures">
<tr><th>{{ t('figure') }}</th><th>{{ t('this_month') }}</th><th>{{ t('target') }}</th>
<th>{{ t('last_month') }}</th><th>{{ t('change') }}</th></tr>
{% for f in figures %}<tr><td>{{ f.name }}</td>
<td class="value{% if f.below %} below{% endif %}">{{ f.value }}</td><td>{{ f.target }}</td>
<td>{{ f.last }}</td><td class="arrow" style="color: {{ f.colour }}">\
{{ arrows[f.arrow] if f.arrow else '–' }}</td></tr>
{% endfor %}</table>
<p>{{ last_span }}</p>

<h3>{{ t('attention') }}</h3>
{% if attention %}<table>
<tr><th>{{ t('building') }}</th><th></th><th class="why">{{ t('why') }}</th></tr>
{% for a in attention %}<tr><td>{{ a[0] }}</td><td class="name">{{ a[1] }}</td>
<td class="why">{{ a[2] }}</td></tr>
{% endfor %}</table>
{% else %}<p>{{ t('no_attention') }}</p>{% endif %}

<h3>{{ t('trend_title') }}</h3>
{{ summary_charts.trend|safe }}
{% if trend_one %}<p>{{ t('trend_one') }}</p>{% endif %}
<h3>{{ t('compliance_title') }}</h3>
{{ summary_charts.compliance|safe }}

<h2 class="annex">{{ t('annex') }}</h2>
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
</div>
"""


def html(r: MonthlyReport, language: str, tz: ZoneInfo) -> str:
    """One page with both languages, `language` shown first (the other one a click away)."""
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    body = env.from_string(BODY)
    bodies = [body.render(**_context(r, lang, tz)) for lang in ("da", "en")]
    title = f"{t('title', language)} {r.month}: {r.building or t('all', language)}"
    return env.from_string(HTML).render(lang=language, bodies=bodies, title=title)


class _Pdf(FPDF):
    def normalize_text(self, text: str) -> str:
        return super().normalize_text(
            text.replace("²", "2").replace("–", "-")
            .encode(PDF_ENCODING, "replace").decode(PDF_ENCODING)
        )

    def para(self, text: str, height: float = 5, style: str = "", size: int = 9) -> None:
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.para(text, 7, "B", 12)
        self.set_font("Helvetica", size=8)


def _table(
    pdf: FPDF, header: list[str], rows: list[list[str]], widths: tuple[int, ...],
    align: str | tuple[str, ...] = "RIGHT",
) -> None:  # fmt: skip
    with pdf.table(
        col_widths=widths, text_align=align, first_row_as_headings=True, line_height=5
    ) as table:
        for cells in [header, *rows]:
            row = table.row()
            for cell in cells:
                row.cell(cell)


def _figures(doc: _Pdf, c: dict[str, Any], tt: Callable[[str], str]) -> None:
    """The key figures as a table, the change as a triangle coloured good or bad (the core
    fonts have no arrows)."""
    widths, h = (64, 44, 18, 44, 16), 6
    doc.set_font("Helvetica", "B", 8)
    keys = ("figure", "this_month", "target", "last_month", "change")
    for w, key in zip(widths, keys, strict=True):
        doc.cell(w, h, tt(key), border="B", align="L" if key == "figure" else "R")
    doc.ln(h)
    for f in c["figures"]:
        doc.set_font("Helvetica", "", 8)
        doc.cell(widths[0], h, f["name"], border="B")
        doc.set_font("Helvetica", "B", 8)
        if f["below"]:
            doc.set_text_color(*_rgb(BAD))
        doc.cell(widths[1], h, f["value"], border="B", align="R")
        doc.set_text_color(0)
        doc.set_font("Helvetica", "", 8)
        doc.cell(widths[2], h, f["target"], border="B", align="R")
        doc.cell(widths[3], h, f["last"], border="B", align="R")
        x, y = doc.get_x() + widths[4] / 2, doc.get_y() + h / 2
        doc.cell(widths[4], h, "" if f["arrow"] else "-", border="B", align="C")
        if f["arrow"]:
            doc.set_fill_color(*_rgb(f["colour"]))
            a = 1.6
            points = {
                "up": [(x - a, y + a), (x + a, y + a), (x, y - a)],
                "down": [(x - a, y - a), (x + a, y - a), (x, y + a)],
                "flat": [(x - a, y - a), (x - a, y + a), (x + a, y)],
            }[f["arrow"]]
            doc.polygon(points, style="F")
            doc.set_fill_color(255)  # the tables after fill their headings with it
        doc.ln(h)
    doc.ln(1)


def _svg_height(svg: str) -> float:
    return float(svg.split('height="', 1)[1].split('"', 1)[0])


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def pdf(r: MonthlyReport, language: str, tz: ZoneInfo) -> bytes:
    c = _context(r, language, tz)
    tt = c["t"]
    total: BuildingRow = c["total"]
    doc = _Pdf(format="A4")
    doc.set_auto_page_break(True, margin=15)
    doc.add_page()
    doc.para(f"{tt('title')} {r.month}: {c['scope']}", 8, "B", 16)
    doc.para(c["covers"])

    doc.heading(tt("summary"))
    _figures(doc, c, tt)
    doc.para(c["last_span"], size=8)
    doc.heading(tt("attention"))
    if c["attention"]:
        _table(doc, [tt("building"), "", tt("why")], c["attention"], (18, 52, 120), "LEFT")
    else:
        doc.para(tt("no_attention"))
    doc.heading(tt("trend_title"))
    doc.image(io.BytesIO(c["summary_charts"]["trend"].encode()), w=140)
    if c["trend_one"]:
        doc.para(tt("trend_one"), size=8)
    # The compliance chart on the first page when it fits there, else on the next.
    chart = c["summary_charts"]["compliance"]
    height_mm = 170 * _svg_height(chart) / 640 + 12
    if doc.get_y() + height_mm > doc.page_break_trigger:
        doc.add_page()
    doc.heading(tt("compliance_title"))
    doc.image(io.BytesIO(chart.encode()), w=170)

    doc.add_page()
    doc.para(tt("annex"), 8, "B", 14)
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
