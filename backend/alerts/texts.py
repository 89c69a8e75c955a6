"""The words of every message, in Danish and English (the service leader's language)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.alerts.model import Alert

# rule -> language -> (title, body). Placeholders are the alert's params; a param
# `x_ms` (epoch milliseconds) is also offered as `x`, a local date and time.
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "missed_cleaning": {
        "en": (
            "Missed cleaning: {room}",
            "The {shift} cleaning of {room} planned until {end} has no recorded visit.",
        ),
        "da": (
            "Manglende rengøring: {room}",
            "Rengøringen af {room} i {shift_da}, planlagt til {end}, har intet registreret besøg.",
        ),
    },
    "overdue_room": {
        "en": (
            "Heavily used room not cleaned: {room}",
            "{room} has a cleaning need of {score:.1f}, {factor:.1f} times its threshold of "
            "{threshold:.1f}, and has not been cleaned since it passed that at {since}.",
        ),
        "da": (
            "Meget brugt lokale ikke rengjort: {room}",
            "{room} har et rengøringsbehov på {score:.1f}, {factor:.1f} gange grænsen på "
            "{threshold:.1f}, og er ikke rengjort, siden det nåede dertil {since}.",
        ),
    },
    "device_offline": {
        "en": (
            "Device offline: {device}",
            "The {kind} {device} in {room} has been offline since {since} ({reason_en}).",
        ),
        "da": (
            "Enhed offline: {device}",
            "{kind_da} {device} i {room} har været offline siden {since} ({reason_da}).",
        ),
    },
    "battery": {
        "en": (
            "Battery low: {device}",
            "The battery of {device} in {room} is at {mv} mV and fell {drop_mv} mV in "
            "{hours} h. Replace the batteries soon.",
        ),
        "da": (
            "Lavt batteri: {device}",
            "Batteriet i {device} i {room} er på {mv} mV og er faldet {drop_mv} mV på "
            "{hours} timer. Skift batterierne snart.",
        ),
    },
    "queue": {
        "en": (
            "Offline queue growing: {device}",
            "{device} in {room} has {queue} events waiting to be sent (was {first}): it "
            "cannot reach the platform.",
        ),
        "da": (
            "Kø af usendte hændelser vokser: {device}",
            "{device} i {room} har {queue} hændelser, der venter på at blive sendt (var "
            "{first}): den kan ikke nå platformen.",
        ),
    },
    "clock": {
        "en": (
            "Clock not synced: {device}",
            "{device} in {room} sent {count} undated events: its clock is not set by NTP.",
        ),
        "da": (
            "Ur ikke synkroniseret: {device}",
            "{device} i {room} har sendt {count} hændelser uden tidspunkt: uret er ikke "
            "stillet via NTP.",
        ),
    },
    "unknown_card": {
        "en": (
            "Unknown card in {building}",
            "Card {card} was tapped {count} time(s) in {room}, first at {first}, and is not "
            "registered to anyone.",
        ),
        "da": (
            "Ukendt kort i {building}",
            "Kort {card} blev brugt {count} gang(e) i {room}, første gang {first}, og er ikke "
            "registreret til nogen.",
        ),
    },
    "short_visit": {
        "en": (
            "Visit too short: {room}",
            "{count} visit(s) in {room} on {day} were too short: the shortest took "
            "{shortest_min} min, {expected_min} min is expected for {area_m2} m².",
        ),
        "da": (
            "For kort besøg: {room}",
            "{count} besøg i {room} den {day} var for korte: det korteste varede "
            "{shortest_min} min, der forventes {expected_min} min til {area_m2} m².",
        ),
    },
    "card_travel": {
        "en": (
            "Card used in two buildings: {card}",
            "Card {card} was tapped in {building} at {here} and in {other} at {there}, "
            "{minutes:g} min apart: no one travels that fast. Copied or shared card?",
        ),
        "da": (
            "Kort brugt i to bygninger: {card}",
            "Kort {card} blev brugt i {building} {here} og i {other} {there}, med "
            "{minutes:g} min imellem: så hurtigt kan ingen nå frem. Kopieret eller delt kort?",
        ),
    },
    "silent_sensor": {
        "en": (
            "Sensor counts nothing: {device}",
            "{device} in {room} counted no use for {hours:g} h while the room was in use by "
            "timetable (until {until}). Is it covered or stuck?",
        ),
        "da": (
            "Sensor tæller ingenting: {device}",
            "{device} i {room} har ikke talt nogen brug i {hours:g} timer, mens lokalet ifølge "
            "skemaet var i brug (til {until}). Er den tildækket eller gået i stå?",
        ),
    },
}

EVENT_PREFIX = {
    "opened": {"en": "", "da": ""},
    "escalated": {"en": "ESCALATED, not acknowledged: ", "da": "ESKALERET, ikke kvitteret: "},
    "resolved": {"en": "Resolved: ", "da": "Løst: "},
}

FOOTER = {
    "en": "Alert {id}, {severity}, building {building}. Acknowledge: pletfri alerts ack {id}",
    "da": "Alarm {id}, {severity_da}, bygning {building}. Kvittér: pletfri alerts ack {id}",
}

SEVERITY_DA = {"info": "info", "warning": "advarsel", "critical": "kritisk"}
KIND_DA = {"station": "Check-in-stationen", "sensor": "Sensoren"}
# The backend's default shift names (backend.shifts); others read "<name>-vagten".
SHIFT_DA = {
    "morning": "morgenvagten",
    "midday": "middagsvagten",
    "afternoon": "eftermiddagsvagten",
    "evening": "aftenvagten",
}


def local(ms: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M")


def params_for_text(alert: Alert, tz: ZoneInfo) -> dict[str, Any]:
    values: dict[str, Any] = {"building": alert.building, "room": alert.room or "-"}
    for key, value in alert.params.items():
        values[key] = value
        if key.endswith("_ms") and isinstance(value, int):
            values[key[:-3]] = local(value, tz)
    values.setdefault("kind_da", KIND_DA.get(str(values.get("kind")), "Enheden"))
    shift = str(values.get("shift", ""))
    values.setdefault("shift_da", SHIFT_DA.get(shift, f"{shift}-vagten"))
    return values


def render(alert: Alert, event: str, language: str, tz: ZoneInfo) -> dict[str, Any]:
    """The message for one event of an alert: title and text plus the alert's fields."""
    lang = language if language in ("da", "en") else "en"
    title, body = TEMPLATES[alert.rule][lang]
    values = params_for_text(alert, tz)
    prefix = EVENT_PREFIX[event][lang]
    footer = FOOTER[lang].format(
        id=alert.id,
        severity=alert.severity,
        severity_da=SEVERITY_DA[alert.severity],
        building=alert.building,
    )
    return {
        "event": event,
        "alert_id": alert.id,
        "rule": alert.rule,
        "building": alert.building,
        "room": alert.room,
        "severity": alert.severity,
        "level": alert.level,
        "language": lang,
        "title": prefix + title.format(**values),
        "text": body.format(**values),
        "footer": footer,
    }
