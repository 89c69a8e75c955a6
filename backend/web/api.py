"""The web pages for cleaners and service leaders, served under /web by the backend's app.

Server-rendered HTML (Jinja2) with one small style sheet and one small script (the cleaner's
live ticks; every page works without it). Logins and sessions: backend/web/accounts.py;
what each page shows: backend/web/views.py; docs/web.md describes the pages and their safety.

Every state change is a POST carrying the session's CSRF token (the login form a token of
its own, double-submitted in a cookie). Bad input of any kind answers a page that says what
was wrong in the reader's language, never a stack trace.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time.
import contextlib
import functools
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from backend.alerts.acknowledge import AlertStateError, acknowledge
from backend.alerts.points import flush
from backend.alerts.store import AlertNotFound, AlertStore
from backend.cleaning.shifts import local_day
from backend.cleaning.verification import verify
from backend.quality import inspections as quality
from backend.reports import training
from backend.service import Backend, BackendError
from backend.stickers import MESSAGES, PARAM_PICC, PATH, MasterKeyError, StickerTaps, device_id, sun
from backend.web import accounts, views
from backend.web.accounts import Session
from backend.web.throttle import Throttle
from backend.web.words import WORDS, pick, word
from pletfri.influx import Influx, InfluxError
from pletfri.settings import Settings

HERE = Path(__file__).parent
SESSION_COOKIE = "pletfri_session"
LANGUAGE_COOKIE = "pletfri_lang"
LOGIN_COOKIE = "pletfri_login"
MAX_FORM_BYTES = 64 * 1024
# Alert groups on one page of the inbox: a week nobody acknowledged stays under 100 KB.
GROUPS_PER_PAGE = 20
STATIC = {"web.css": "text/css", "web.js": "text/javascript"}
SECURITY_HEADERS = {
    # No inline script or style, no framing, no third party: the pages need none of it.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # A sticker's URL carries its one-time code: no other site learns it from a Referer.
    "Referrer-Policy": "no-referrer",
}


class PageError(Exception):
    """Answer with an error page: `key` names its words (backend/web/words.py)."""

    def __init__(
        self, status: int, key: str, link: str | None = None, headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:  # fmt: skip
        super().__init__(key)
        self.status, self.key, self.link, self.params = status, key, link, params
        self.headers = headers or {}


class LoginNeeded(Exception):
    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


def _wall_ms() -> int:
    return int(time.time() * 1000)


def safe_path(path: str | None, default: str = "/web/") -> str:
    """A local path to go back to after login; anything else (another site) is dropped."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path


def here(request: Request) -> str:
    q = request.url.query
    return request.url.path + (f"?{q}" if q else "")


async def form_fields(request: Request) -> dict[str, list[str]]:
    """The fields of a url-encoded form (the only kind the pages send)."""
    if request.method != "POST":
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise PageError(415, "error_bad_input", detail="send the form as the page does")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PageError(413, "error_bad_input", detail="the form is too large")
    try:
        return parse_qs(body.decode(), keep_blank_values=True, max_num_fields=1000)
    except (UnicodeDecodeError, ValueError):
        raise PageError(400, "error_bad_input", detail="the form is not readable") from None


Form = Annotated[dict[str, list[str]], Depends(form_fields)]


def one(fields: dict[str, list[str]], name: str, default: str = "") -> str:
    values = fields.get(name)
    return values[0].strip() if values else default


def count(fields: dict[str, list[str]], name: str) -> int:
    text = one(fields, name, "0") or "0"
    if not text.isdigit() or int(text) > 10_000:
        raise PageError(422, "error_count")
    return int(text)


def parse_day(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PageError(422, "error_date") from None


def parse_id(text: str, key: str) -> int:
    if not text.isdigit() or len(text) > 12:
        raise PageError(404, key, id=text[:40])
    return int(text)


def guarded(fn: Callable[..., Response]) -> Callable[..., Response]:
    """The backend's failures as error pages: InfluxDB down, a request it refuses."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return fn(*args, **kwargs)
        except InfluxError:
            raise PageError(503, "error_database_down") from None
        except BackendError as e:
            raise PageError(422, "error_backend", detail=str(e)) from None

    return wrapper


class Pages:
    """The state the routes share: the backend, the templates, the sessions' settings."""

    def __init__(self, backend: Backend, settings: Settings, clock: Callable[[], int]) -> None:
        self.backend = backend
        self.settings = settings
        self.web = settings.web
        self.clock = clock
        self.idle_ms = self.web.session_idle_min * 60_000
        self.max_ms = int(self.web.session_max_h * 3_600_000)
        self.login_throttle = Throttle(self.web.login_per_minute)
        self.sticker_throttle = Throttle(self.web.sticker_per_minute)
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.static = {name: (HERE / "static" / name).read_bytes() for name in STATIC}
        accounts.ensure_schema(backend.registry)

    # --- who is asking --------------------------------------------------------------------

    def session(self, request: Request) -> Session | None:
        """The request's live session, looked up once per request."""
        try:
            return request.state.web_session
        except AttributeError:
            sid = request.cookies.get(SESSION_COOKIE)
            found = (
                accounts.session(self.backend.registry, sid, _wall_ms(), self.idle_ms, self.max_ms)
                if sid
                else None
            )
            request.state.web_session = found
            return found

    def language(self, request: Request) -> str:
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        if chosen:
            return pick(chosen, self.web.language)
        s = self.session(request)
        return s.user.person.language if s else self.web.language

    def login(self, request: Request) -> Session:
        s = self.session(request)
        if s is None:
            raise LoginNeeded(here(request))
        return s

    def leader(self, request: Request) -> Session:
        s = self.login(request)
        if s.user.kind != "leader":
            raise PageError(403, "error_leaders_only")
        return s

    def cleaner(self, request: Request) -> Session:
        s = self.login(request)
        if s.user.kind != "cleaner":
            raise PageError(403, "error_cleaners_only")
        return s

    def checked(self, request: Request, fields: dict[str, list[str]]) -> Session:
        """The session of a POST whose CSRF token matches; a stale form gets a clear page."""
        s = self.session(request)
        back = safe_path(one(fields, "back"), "/web/")
        if s is None or not _same(one(fields, "csrf"), s.csrf):
            raise PageError(403, "error_stale_form", link=back)
        return s

    def mine(self, s: Session, building: str) -> None:
        if building not in s.user.buildings:
            raise PageError(403, "error_forbidden")

    def secure(self, request: Request) -> bool:
        if self.web.secure_cookies == "auto":
            return request.url.scheme == "https"
        return self.web.secure_cookies == "always"

    def now(self) -> int:
        return self.clock()

    def today(self) -> date:
        return local_day(self.clock(), self.backend.tz)

    # --- answers --------------------------------------------------------------------------

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        lang = self.language(request)
        s = self.session(request)

        def t(key: str, **params: Any) -> str:
            return word(key, lang, **params)

        html = self.env.get_template(template).render(
            t=t,
            lang=lang,
            user=s.user if s else None,
            csrf=s.csrf if s else "",
            here=here(request),
            path=request.url.path,
            other_lang="en" if lang == "da" else "da",
            shift_word=lambda name: t(f"shift_{name}") if f"shift_{name}" in WORDS else name,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def error_page(self, request: Request, e: PageError) -> HTMLResponse:
        response = self.render(
            request,
            "error.html",
            status=e.status,
            message=word(e.key, self.language(request), **e.params),
            link=e.link,
        )
        response.headers.update(e.headers)
        return response


def _same(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def router(p: Pages) -> APIRouter:
    """The /web pages over one Backend."""
    backend, settings = p.backend, p.settings
    web = APIRouter(prefix="/web", include_in_schema=False)

    # --- login ----------------------------------------------------------------------------

    @web.get("/")
    def start(request: Request) -> Response:
        s = p.login(request)
        return _see("/web/alerts" if s.user.kind == "leader" else "/web/today")

    @web.get("/login")
    def login_form(request: Request, back: str | None = None) -> Response:
        return _login_page(request, safe_path(back), failed=False)

    def _login_page(request: Request, back: str, failed: bool, status: int = 200) -> Response:
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = p.render(
            request, "login.html", status=status, back=back, login_csrf=token, failed=failed,
            sticker=back.split("?")[0] == PATH,
        )  # fmt: skip
        response.set_cookie(
            LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=p.secure(request),
            path="/web/login",
        )  # fmt: skip
        return response

    @web.post("/login")
    def login(request: Request, fields: Form) -> Response:
        back = safe_path(one(fields, "back"))
        if not _same(one(fields, "csrf"), request.cookies.get(LOGIN_COOKIE, "")):
            raise PageError(403, "error_stale_form", link=f"/web/login?back={quote(back)}")
        name = one(fields, "name").lower()[:64]
        client = request.client.host if request.client else "?"
        for key in (f"ip:{client}", f"name:{name}"):
            wait = p.login_throttle.take(key)
            if wait:
                raise PageError(429, "error_too_many", seconds=int(wait),
                                headers={"Retry-After": str(int(wait))})  # fmt: skip
        user = accounts.authenticate(backend.registry, name, one(fields, "password"))
        if user is None:
            return _login_page(request, back, failed=True, status=401)
        accounts.prune_sessions(backend.registry, _wall_ms(), p.idle_ms, p.max_ms)
        sid = accounts.open_session(backend.registry, user, _wall_ms())
        response = _see(back)
        response.set_cookie(
            SESSION_COOKIE, sid, httponly=True, samesite="lax", secure=p.secure(request), path="/"
        )
        response.delete_cookie(LOGIN_COOKIE, path="/web/login")
        return response

    @web.post("/logout")
    def logout(request: Request, fields: Form) -> Response:
        p.checked(request, fields)
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            accounts.close_session(backend.registry, sid)
        response = _see("/web/login")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @web.get("/language/{lang}")
    def language(request: Request, lang: str, back: str | None = None) -> Response:
        response = _see(safe_path(back))
        response.set_cookie(
            LANGUAGE_COOKIE, pick(lang, settings.web.language), max_age=365 * 86400,
            httponly=True, samesite="lax", secure=p.secure(request), path="/",
        )  # fmt: skip
        return response

    @web.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise PageError(404, "error_not_found")
        return Response(
            p.static[name], media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"}
        )

    # --- the cleaner ----------------------------------------------------------------------

    @web.get("/today")
    @guarded
    def today(request: Request, shift: str | None = None) -> Response:
        s = p.cleaner(request)
        day = views.cleaner_day(backend, s.user, shift, p.now())
        return p.render(request, "today.html", day=day, poll_s=settings.web.poll_s,
                        updated=_clock_text(p, p.now()))  # fmt: skip

    @web.get("/today/ticks")
    @guarded
    def ticks(request: Request, shift: str | None = None) -> Response:
        s = p.session(request)
        if s is None or s.user.kind != "cleaner":
            return JSONResponse({"login": True}, status_code=401)
        day = views.cleaner_day(backend, s.user, shift, p.now())
        lang = p.language(request)
        left = (
            word("remaining", lang, n=len(day.remaining), minutes=f"{day.remaining_minutes:g}")
            if day.remaining
            else word("all_done", lang)
        )
        return JSONResponse(
            {
                "done": [r.room for r in day.due + day.skip if r.done],
                "remaining": left,
                "progress": word("done_of", lang, done=day.done_count, total=len(day.due)),
                "updated": word("updated", lang, time=_clock_text(p, p.now())),
                "ticked": word("ticked", lang),
            },
            headers={"Cache-Control": "no-store"},
        )

    # --- the service leader ---------------------------------------------------------------

    def alert_store() -> AlertStore:
        return AlertStore(settings.backend.database_file)

    @web.get("/alerts")
    @guarded
    def alerts(request: Request, acked: str | None = None, page: str | None = None) -> Response:
        s = p.leader(request)
        store = alert_store()
        try:
            found = views.open_alerts(store, s.user.buildings)
        finally:
            store.close()
        names = {b.id: b.name for b in backend.registry.buildings()}
        groups = views.group_alerts(found, names, p.language(request), backend.tz)
        pages = max(1, -(-len(groups) // GROUPS_PER_PAGE))
        number = min(int(page), pages) if page and page.isdigit() and int(page) > 0 else 1
        shown = groups[(number - 1) * GROUPS_PER_PAGE : number * GROUPS_PER_PAGE]
        return p.render(
            request, "alerts.html", groups=shown, total=len(found), lines=len(groups),
            page=number, pages=pages, acked=int(acked) if acked and acked.isdigit() else None,
        )  # fmt: skip

    @web.post("/alerts/ack")
    @guarded
    def alerts_ack(request: Request, fields: Form) -> Response:
        s = p.checked(request, fields)
        if s.user.kind != "leader":
            raise PageError(403, "error_leaders_only")
        ids = [parse_id(v.strip(), "error_unknown_alert") for v in fields.get("id", [])]
        note = one(fields, "note")[:500]
        store = alert_store()
        try:
            # Every alert is checked before any is acknowledged: all of the group or none.
            for alert_id in ids:
                try:
                    p.mine(s, store.get(alert_id).building)
                except AlertNotFound:
                    raise PageError(404, "error_unknown_alert", id=alert_id) from None
            done = 0
            for alert_id in ids:
                try:
                    acknowledge(store, alert_id, s.user.person.id, p.now(), note)
                    done += 1
                except AlertStateError:
                    pass  # resolved meanwhile: nothing left to acknowledge
            with Influx(settings.influx) as influx:
                flush(store, influx, backend.tz)
        finally:
            store.close()
        return _see(f"/web/alerts?acked={done}")

    @web.get("/verification")
    @guarded
    def verification(
        request: Request, day_text: Annotated[str | None, Query(alias="date")] = None
    ) -> Response:
        s = p.leader(request)
        day = parse_day(day_text, p.today() - timedelta(days=1))
        names = {b.id: b.name for b in backend.registry.buildings()}
        # Building by building: InfluxDB then reads only that building's series, SQLite only
        # its plans. "Unneeded" visits (which need each room's last fortnight) are not shown.
        rows = []
        for b in s.user.buildings:
            found = verify(backend.influx, backend.plans(day, b), [b], day, backend.tz,
                           settings.backend.lookback_days, p.now(), unneeded=False)  # fmt: skip
            rows.append(found[b])
        total = {k: sum(getattr(r, k) for r in rows) for k in
                 ("planned", "done", "missed", "pending", "too_short", "unverifiable")}  # fmt: skip
        return p.render(request, "verification.html", day=day, rows=rows, names=names,
                        total=total, before=day - timedelta(days=1),
                        after=day + timedelta(days=1))  # fmt: skip

    @web.get("/rooms/{room}")
    @guarded
    def room_history(request: Request, room: str) -> Response:
        s = p.leader(request)
        found = backend.registry.room(room)
        if found is None:
            raise PageError(404, "error_unknown_room", room=room[:64])
        p.mine(s, found.building)
        days = views.room_history(backend, room, p.today(), 14)

        def clock(ms: int) -> tuple[int, int]:
            t = datetime.fromtimestamp(ms / 1000, backend.tz)
            return t.hour, t.minute

        return p.render(request, "room.html", room=found, days=days, clock=clock)

    @web.get("/inspections")
    @guarded
    def inspections(request: Request) -> Response:
        s = p.leader(request)
        first = p.today() - timedelta(days=30)
        found = [
            i for b in s.user.buildings for i in quality.inspections(backend.registry, b, first)
        ]
        found.sort(key=lambda i: (i.day, i.id), reverse=True)
        names = {b.id: b.name for b in backend.registry.buildings()}
        return p.render(request, "inspections.html", inspections=found, names=names,
                        today=p.today())  # fmt: skip

    @web.post("/inspections")
    @guarded
    def inspection_plan(request: Request, fields: Form) -> Response:
        s = p.checked(request, fields)
        building = one(fields, "building")
        p.mine(s, building)
        day = parse_day(one(fields, "day"), p.today())
        try:
            made = quality.plan(backend.registry, settings.quality, building, day, p.now(),
                                s.user.person.id)  # fmt: skip
        except quality.InspectionConflict:
            [old] = quality.inspections(backend.registry, building, day, day)
            raise PageError(409, "error_inspection_exists", link=f"/web/inspections/{old.id}",
                            id=old.id) from None  # fmt: skip
        except quality.QualityError as e:
            raise PageError(422, "error_backend", detail=str(e)) from None
        return _see(f"/web/inspections/{made.id}")

    def _inspection(s: Session, text: str) -> quality.Inspection:
        number = parse_id(text, "error_unknown_inspection")
        try:
            found = quality.get(backend.registry, number)
        except quality.InspectionNotFound:
            raise PageError(404, "error_unknown_inspection", id=number) from None
        p.mine(s, found.building)
        return found

    @web.get("/inspections/{number}")
    @guarded
    def inspection(request: Request, number: str) -> Response:
        s = p.leader(request)
        found = _inspection(s, number)
        rooms = {r.id: r for r in backend.registry.rooms(found.building)}
        b = backend.registry.building(found.building)
        return p.render(request, "inspection.html", i=found, rooms=rooms, levels=range(6),
                        building_name=b.name if b else found.building)  # fmt: skip

    @web.post("/inspections/{number}/rooms/{room}")
    @guarded
    def inspection_record(request: Request, number: str, room: str, fields: Form) -> Response:
        s = p.checked(request, fields)
        found = _inspection(s, number)
        level = one(fields, "level")
        if level not in {"0", "1", "2", "3", "4", "5"}:
            raise PageError(422, "error_level", link=f"/web/inspections/{found.id}")
        defects = quality.Defects(
            dust=count(fields, "dust"), dirt=count(fields, "dirt"), litter=count(fields, "litter")
        )
        try:
            quality.record(backend.registry, found.id, room, int(level), defects,
                           one(fields, "note")[:1000], p.now())  # fmt: skip
        except quality.InspectionConflict:
            raise PageError(409, "error_inspection_finished", id=found.id,
                            link=f"/web/inspections/{found.id}") from None  # fmt: skip
        except quality.QualityError as e:
            raise PageError(422, "error_backend", detail=str(e),
                            link=f"/web/inspections/{found.id}") from None  # fmt: skip
        return _see(f"/web/inspections/{found.id}#after-{quote(room)}")

    @web.post("/inspections/{number}/finish")
    @guarded
    def inspection_finish(request: Request, number: str, fields: Form) -> Response:
        s = p.checked(request, fields)
        found = _inspection(s, number)
        if found.status == "planned" and found.unrecorded:
            raise PageError(422, "finish_missing", link=f"/web/inspections/{found.id}",
                            n=len(found.unrecorded))  # fmt: skip
        try:
            quality.finish(backend.registry, found.id, p.now())
        except quality.InspectionConflict:
            raise PageError(409, "error_inspection_finished", id=found.id,
                            link=f"/web/inspections/{found.id}") from None  # fmt: skip
        return _see(f"/web/inspections/{found.id}")

    @web.get("/trainees")
    @guarded
    def trainees(request: Request) -> Response:
        s = p.leader(request)
        last = p.today()
        first = last - timedelta(days=settings.backend.retention_days)
        # Only buildings with trainees (the training tracks), each its own query.
        tracks = {t.building for t in backend.registry.people("trainee")}
        found = [
            t
            for b in s.user.buildings
            if b in tracks
            for t in training.progress(backend, first, last, settings.report, b)
        ]
        buddies = {x.id: x.buddy for x in backend.registry.people("trainee")}
        return p.render(request, "trainees.html", trainees=found, buddies=buddies, first=first,
                        last=last, need=settings.report.ready_min_alone,
                        need_pct=settings.report.ready_verified_pct)  # fmt: skip

    # Last: any other /web path is a clear "no such page", not a bare JSON 404.
    @web.api_route("/{rest:path}", methods=["GET", "POST"])
    def unknown(rest: str) -> Response:
        raise PageError(404, "error_not_found")

    return web


def _clock_text(p: Pages, ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, p.backend.tz).strftime("%H:%M")


# How each sticker result answers: the HTTP status and the colour of the answer, like the
# station's light (green clean, blue skip, amber stored offline, red refused).
STICKER_ANSWERS: dict[str, tuple[int, str]] = {
    "ok": (200, "clean"),
    "stored_offline": (202, "offline"),
    "unknown_tag": (404, "refused"),
    "forged": (403, "refused"),
    "replayed": (409, "refused"),
    "malformed": (400, "refused"),
    "unknown_card": (422, "refused"),
}


def sticker_router(p: Pages, taps: StickerTaps | None) -> APIRouter:
    """The sticker's URL (backend/stickers: PATH, e.g. /t?picc=..&cmac=..), for a logged-in
    cleaner; a cleaner not logged in logs in first and comes back to the same URL."""
    web = APIRouter(include_in_schema=False)

    @web.get(PATH)
    @guarded
    def sticker(request: Request) -> Response:
        s = p.login(request)
        if s.user.kind != "cleaner":
            raise PageError(403, "sticker_not_cleaner")
        wait = p.sticker_throttle.take(f"user:{s.user.name}")
        if wait:
            raise PageError(429, "error_too_many", seconds=int(wait),
                            headers={"Retry-After": str(int(wait))})  # fmt: skip
        if taps is None:
            raise PageError(503, "sticker_off")
        params = dict(request.query_params)
        # Which sticker the URL names (decrypting, not yet authenticating): a sticker of a
        # building the cleaner does not work in is refused before anything is recorded.
        try:
            picc = sun.decrypt_picc(taps.meta_key, params.get(PARAM_PICC))
            place = p.backend.registry.query(
                "SELECT r.building FROM devices d JOIN rooms r ON r.id = d.room WHERE d.id = ?",
                (device_id(picc.uid.hex()),),
            )
        except sun.SunError:
            place = []  # tap() says what is wrong with the URL
        if place and place[0]["building"] not in s.user.buildings:
            raise PageError(403, "sticker_other_building", link="/web/today")
        outcome = taps.tap(params, s.user.person.id, p.now())
        status, colour = STICKER_ANSWERS.get(outcome.result, (400, "refused"))
        if outcome.result == "ok" and outcome.need == "skip":
            colour = "skip"
        lang = p.language(request)
        text = MESSAGES.get(outcome.message, MESSAGES["sticker.malformed"])[lang]
        return p.render(request, "sticker.html", status=status, outcome=outcome, text=text,
                        colour=colour)  # fmt: skip

    return web


def install(app: FastAPI, backend: Backend, settings: Settings, clock: Callable[[], int]) -> None:
    """Mount the pages on the backend's app, with their error pages and security headers."""
    pages = Pages(backend, settings, clock)
    app.include_router(router(pages))
    taps: StickerTaps | None = None
    # No stickers in this installation (stickers.master_key unset): their URL says so.
    with contextlib.suppress(MasterKeyError):
        taps = StickerTaps(settings, backend.registry)
        app.router.add_event_handler("shutdown", taps.close)
    app.include_router(sticker_router(pages, taps))

    @app.exception_handler(PageError)
    def _page_error(request: Request, e: PageError) -> Response:
        return pages.error_page(request, e)

    @app.exception_handler(LoginNeeded)
    def _login_needed(request: Request, e: LoginNeeded) -> Response:
        return _see("/web/login?" + urlencode({"back": e.back}))

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[..., Any]) -> Response:
        response: Response = await call_next(request)
        if request.url.path.startswith("/web"):
            for k, v in SECURITY_HEADERS.items():
                response.headers.setdefault(k, v)
        return response
