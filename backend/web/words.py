"""Every word on the pages, in Danish (the default) and English."""

from __future__ import annotations

from typing import Any

LANGUAGES = ("da", "en")

# key -> (Danish, English); placeholders are filled with str.format.
WORDS: dict[str, tuple[str, str]] = {
    "app": ("Pletfri", "Pletfri"),
    "skip_link": ("Gå til indholdet", "Skip to content"),
    "language_other": ("English", "Dansk"),
    "login": ("Log ind", "Log in"),
    "logout": ("Log ud", "Log out"),
    "username": ("Brugernavn", "User name"),
    "password": ("Adgangskode", "Password"),
    "login_failed": ("Forkert brugernavn eller adgangskode.", "Wrong user name or password."),
    "login_intro": (
        "Log ind med det brugernavn, din serviceleder har givet dig.",
        "Log in with the user name your service leader gave you.",
    ),
    "login_then_back": (
        "Log ind, så registreres trykket bagefter.",
        "Log in, and the tap is recorded afterwards.",
    ),
    # The cleaner's page
    "today": ("I dag", "Today"),
    "shift_midday": ("Middagsvagt", "Midday shift"),
    "shift_afternoon": ("Eftermiddagsvagt", "Afternoon shift"),
    "shift_morning": ("Morgenvagt", "Morning shift"),
    "shift_evening": ("Aftenvagt", "Evening shift"),
    "no_plan": (
        "Der er ingen plan for denne vagt endnu. Den laves, når vagten begynder.",
        "There is no plan for this shift yet. It is made when the shift begins.",
    ),
    "remaining": (
        "Tilbage: {n} lokaler, cirka {minutes} min.",
        "Left: {n} rooms, about {minutes} min.",
    ),
    "all_done": ("Alle lokaler er gjort. Godt arbejde!", "Every room is done. Well done!"),
    "done_of": ("{done} af {total} gjort", "{done} of {total} done"),
    "rooms_due": ("Skal gøres, i ruteorden", "To clean, in route order"),
    "rooms_skip": (
        "Kan springes over ({n}): ikke brugt siden sidst",
        "May skip ({n}): unused since last time",
    ),
    "floor": ("Etage", "Floor"),
    "minutes": ("Min.", "Min."),
    "reason_hygiene_floor": ("hygiejneinterval", "hygiene floor"),
    "ticked": ("gjort", "done"),
    "not_yet": ("mangler", "to do"),
    "sticker_room": ("mærkat", "sticker"),
    "station_room": ("station", "station"),
    "live_note": (
        "Listen opdateres af sig selv, når du tjekker ind.",
        "The list updates itself when you check in.",
    ),
    "updated": ("Opdateret {time}", "Updated {time}"),
    # The sticker's answer
    "sticker_title": ("Tjek ind", "Check-in"),
    "sticker_other_building": (
        "Mærkatet sidder i en bygning, du ikke arbejder i.",
        "The sticker is in a building you do not work in.",
    ),
    "sticker_not_cleaner": (
        "Kun rengøringsassistenter kan tjekke ind.",
        "Only cleaners can check in.",
    ),
    "sticker_off": (
        "Mærkater er ikke sat op her (stickers.master_key mangler).",
        "Stickers are not set up here (stickers.master_key is missing).",
    ),
    "sticker_recorded": ("Registreret", "Recorded"),
    "sticker_refused": ("Ikke registreret", "Not recorded"),
    "back_to_plan": ("Tilbage til dagens plan", "Back to today's plan"),
    # The leader's pages
    "nav_alerts": ("Alarmer", "Alerts"),
    "nav_verification": ("Verificering", "Verification"),
    "nav_inspections": ("Kvalitetskontrol", "Inspections"),
    "nav_trainees": ("Elever", "Trainees"),
    "alerts_title": ("Alarmer for dine bygninger", "Alerts for your buildings"),
    "alerts_none": ("Ingen åbne alarmer.", "No open alerts."),
    "alerts_count": ("{alerts} alarmer i {groups} linjer", "{alerts} alerts in {groups} lines"),
    "n_rooms": ("{n} stk.", "{n} items"),
    "ack": ("Kvittér", "Acknowledge"),
    "pages": ("Sider", "Pages"),
    "page_of": ("Side {page} af {pages}", "Page {page} of {pages}"),
    "newer": ("Nyere", "Newer"),
    "older": ("Ældre", "Older"),
    "ack_all": ("Kvittér de valgte (op til {n})", "Acknowledge the ticked (up to {n})"),
    "ack_note": ("Note (valgfri)", "Note (optional)"),
    "acked_n": ("{n} alarmer kvitteret.", "{n} alerts acknowledged."),
    "state_open": ("åben", "open"),
    "state_acknowledged": ("kvitteret", "acknowledged"),
    "state_resolved": ("løst", "resolved"),
    "ack_explain": (
        "En hændelse (fx manglende rengøring) lukkes, når den kvitteres; en tilstand "
        "(fx enhed offline) lukkes, når den er ovre.",
        "An event (e.g. a missed cleaning) is closed by its acknowledgement; a condition "
        "(e.g. a device offline) closes when it is over.",
    ),
    "severity_critical": ("kritisk", "critical"),
    "severity_warning": ("advarsel", "warning"),
    "severity_info": ("info", "info"),
    "verification_title": ("Verificering {day}", "Verification {day}"),
    "building": ("Bygning", "Building"),
    "planned": ("Planlagt", "Planned"),
    "done": ("Gjort", "Done"),
    "missed": ("Mangler", "Missed"),
    "too_short": ("For kort", "Too short"),
    "unverifiable": ("Kan ikke verificeres", "Unverifiable"),
    "missed_rooms": ("Manglende lokaler", "Missed rooms"),
    "short_rooms": ("For korte besøg", "Visits too short"),
    "previous_day": ("Dagen før", "Day before"),
    "next_day": ("Dagen efter", "Day after"),
    "total": ("I alt", "Total"),
    "history_title": ("Historik for {room}", "History of {room}"),
    "day": ("Dag", "Day"),
    "visits": ("Besøg", "Visits"),
    "no_visits": ("ingen", "none"),
    "short": ("kort", "short"),
    "no_leave": ("intet udtjek", "no leaving tap"),
    "inspections_title": ("Kvalitetskontrol (INSTA 800)", "Quality inspections (INSTA 800)"),
    "plan_inspection": ("Ny kontrol: udtræk stikprøven", "New inspection: draw the sample"),
    "draw": ("Udtræk stikprøve", "Draw sample"),
    "inspection": ("Kontrol {id}", "Inspection {id}"),
    "inspection_head": (
        "{building}, {day}: {n} lokaler, højst {accept} må fejle",
        "{building}, {day}: {n} rooms, at most {accept} may fail",
    ),
    "agreed": ("Aftalt niveau", "Agreed level"),
    "observed": ("Observeret niveau", "Observed level"),
    "dust": ("Støv", "Dust"),
    "dirt": ("Snavs og pletter", "Dirt and spots"),
    "litter": ("Affald", "Litter"),
    "note": ("Note", "Note"),
    "save": ("Gem", "Save"),
    "finish": ("Afslut og bedøm", "Finish and judge"),
    "finish_missing": (
        "Registrér alle lokaler, før kontrollen afsluttes ({n} mangler).",
        "Record every room before finishing ({n} left).",
    ),
    "approved": ("Godkendt", "Approved"),
    "rejected": ("Ikke godkendt", "Not approved"),
    "status_planned": ("i gang", "in progress"),
    "status_done": ("afsluttet", "finished"),
    "failed_rooms": ("{n} lokaler under aftalt niveau", "{n} rooms below the agreed level"),
    "recent_inspections": ("Seneste kontroller", "Recent inspections"),
    "no_inspections": (
        "Ingen kontroller de sidste 30 dage.",
        "No inspections in the last 30 days.",
    ),
    "trainees_title": ("Elever på oplæringsforløb", "Trainees on the training tracks"),
    "trainees_period": ("Fra {first} til {last}", "From {first} to {last}"),
    "no_trainees": ("Ingen elever i dine bygninger.", "No trainees in your buildings."),
    "trainee": ("Elev", "Trainee"),
    "buddy": ("Makker", "Buddy"),
    "with_buddy": ("Med makker", "With buddy"),
    "alone": ("Alene", "Alone"),
    "hours": ("Timer", "Hours"),
    "verified_alone": ("Verificeret alene", "Verified alone"),
    "readiness": ("Klar til eget område", "Ready for an own area"),
    "ready_yes": ("klar", "ready"),
    "ready_no": ("ikke endnu", "not yet"),
    "progress_of": ("{alone} af {need} alene-besøg", "{alone} of {need} visits alone"),
    # Errors
    "error": ("Det gik ikke", "That did not work"),
    "error_not_found": ("Siden findes ikke.", "There is no such page."),
    "error_forbidden": ("Det hører ikke til dine bygninger.", "That is not one of your buildings."),
    "error_leaders_only": ("Siden er for serviceledere.", "This page is for service leaders."),
    "error_cleaners_only": ("Siden er for rengøringsassistenter.", "This page is for cleaners."),
    "error_stale_form": (
        "Formularen var for gammel (eller din session er udløbet). Prøv igen herfra.",
        "The form was too old (or your session expired). Please try again from here.",
    ),
    "error_too_many": (
        "For mange forsøg. Vent {seconds} sekunder, og prøv igen.",
        "Too many attempts. Wait {seconds} seconds and try again.",
    ),
    "error_bad_input": ("Ugyldigt input: {detail}", "Invalid input: {detail}"),
    "error_unknown_alert": ("Alarm {id} findes ikke.", "There is no alert {id}."),
    "error_unknown_room": ("Lokalet {room} findes ikke.", "There is no room {room}."),
    "error_unknown_inspection": ("Kontrol {id} findes ikke.", "There is no inspection {id}."),
    "error_backend": (
        "Systemet kunne ikke svare: {detail}",
        "The system could not answer: {detail}",
    ),
    "error_database_down": (
        "Databasen svarer ikke lige nu. Prøv igen om lidt.",
        "The database does not answer right now. Try again shortly.",
    ),
    "error_level": ("Niveauet skal være 0 til 5.", "The level must be 0 to 5."),
    "error_count": (
        "Antal skal være et helt tal fra 0 til 10000.",
        "A count must be a whole number from 0 to 10000.",
    ),
    "error_date": ("Datoen skal skrives ÅÅÅÅ-MM-DD.", "Write the date as YYYY-MM-DD."),
    "error_inspection_exists": (
        "Bygningen har allerede kontrol {id} den dag.",
        "The building already has inspection {id} that day.",
    ),
    "error_inspection_finished": (
        "Kontrol {id} er afsluttet; resultatet er endeligt.",
        "Inspection {id} is finished; its result is final.",
    ),
    "go_home": ("Til forsiden", "To the start page"),
    "try_again": ("Prøv igen", "Try again"),
}


def word(key: str, language: str, **params: Any) -> str:
    da, en = WORDS[key]
    text = en if language == "en" else da
    return text.format(**params) if params else text


def pick(given: str | None, default: str) -> str:
    return given if given in LANGUAGES else default
