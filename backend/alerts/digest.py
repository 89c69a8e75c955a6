"""The daily digest per service leader: yesterday's verification, open alerts, trainee notes."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from backend.alerts.model import Alert
from backend.alerts.sources import Leader, Sources
from backend.alerts.texts import TEMPLATES, params_for_text

WORDS = {
    "en": {
        "title": "Daily digest {day}",
        "hello": "Good morning {name}. Here is {day} for your buildings.",
        "building": "Building {building}",
        "verification": (
            "Verification: {done} of {planned} planned cleanings done, {missed} missed, "
            "{unplanned} unplanned, {too_short} too short."
        ),
        "no_verification": "Verification: no figures for this day.",
        "open": "Open alerts ({n}):",
        "no_open": "No open alerts.",
        "acked": "acknowledged",
        "buddies": "Trainees: {n} visit(s) together with their buddy.",
        "notes": "Trainee notes:",
        "footer": "Pletfri. List and acknowledge alerts: pletfri alerts list / ack",
    },
    "da": {
        "title": "Daglig oversigt {day}",
        "hello": "Godmorgen {name}. Her er {day} for dine bygninger.",
        "building": "Bygning {building}",
        "verification": (
            "Kontrol: {done} af {planned} planlagte rengøringer udført, {missed} mangler, "
            "{unplanned} uplanlagte, {too_short} for korte."
        ),
        "no_verification": "Kontrol: ingen tal for denne dag.",
        "open": "Åbne alarmer ({n}):",
        "no_open": "Ingen åbne alarmer.",
        "acked": "kvitteret",
        "buddies": "Elever: {n} besøg sammen med deres makker.",
        "notes": "Noter om elever:",
        "footer": "Pletfri. Se og kvittér alarmer: pletfri alerts list / ack",
    },
}


def _alert_line(alert: Alert, lang: str, tz: ZoneInfo) -> str:
    title = TEMPLATES[alert.rule][lang][0].format(**params_for_text(alert, tz))
    acked = f" ({WORDS[lang]['acked']})" if alert.acked_ms is not None else ""
    return f"  - [{alert.id}] {title}{acked}"


def build(
    leader: Leader,
    buildings: list[str],
    day: date,
    sources: Sources,
    open_alerts: list[Alert],
    tz: ZoneInfo,
    now_ms: int,
) -> dict[str, Any]:
    """The digest for one leader and day, as a message every channel can send."""
    lang = leader.language if leader.language in WORDS else "en"
    w = WORDS[lang]
    lines = [w["hello"].format(name=leader.name, day=day.isoformat()), ""]
    for building in buildings:
        lines.append(w["building"].format(building=building))
        v = sources.verification(building, day, now_ms)
        if v is None:
            lines.append(w["no_verification"])
        else:
            lines.append(
                w["verification"].format(
                    planned=v.planned,
                    done=v.done,
                    missed=v.missed,
                    unplanned=v.unplanned,
                    too_short=v.too_short,
                )
            )
            if v.buddy_visits:
                lines.append(w["buddies"].format(n=v.buddy_visits))
        mine = [a for a in open_alerts if a.building == building]
        if mine:
            lines.append(w["open"].format(n=len(mine)))
            lines.extend(_alert_line(a, lang, tz) for a in mine)
        else:
            lines.append(w["no_open"])
        notes = sources.trainee_notes(building, day)
        if notes:
            lines.append(w["notes"])
            lines.extend(f"  - {n}" for n in notes)
        lines.append("")
    return {
        "event": "digest",
        "alert_id": None,
        "rule": "digest",
        "building": ",".join(buildings),
        "room": "",
        "severity": "info",
        "level": 0,
        "language": lang,
        "title": w["title"].format(day=day.isoformat()),
        "text": "\n".join(lines).rstrip(),
        "footer": w["footer"],
    }
