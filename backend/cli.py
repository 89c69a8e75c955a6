"""The backend's commands: registry, plans, visits, verification, savings, need, API."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

import typer

from backend import tokens
from backend.need import NeedPublishError
from backend.registry import Registry, RegistryError
from backend.registry.files import ImportLimits, RegistryFileError, read, write
from backend.registry.sample import SampleOptions, generate
from backend.registry.schema import SchemaError
from backend.service import Backend, BackendError
from backend.shifts import local_day
from pletfri.command import fail, settings
from pletfri.influx import InfluxError

log = logging.getLogger(__name__)

registry_app = typer.Typer(help="The registry: buildings, rooms, devices, people, cards.",
                           no_args_is_help=True)  # fmt: skip
backend_app = typer.Typer(help="The backend service: API, tokens, the periodic run.",
                          no_args_is_help=True)  # fmt: skip
visits_app = typer.Typer(help="Visits paired from taps.", no_args_is_help=True)
need_app = typer.Typer(help="The rooms' cleaning need on the stations' `need` topics.",
                       no_args_is_help=True)  # fmt: skip
token_app = typer.Typer(help="API tokens with roles.", no_args_is_help=True)
report_app = typer.Typer(help="Reports for the contract.", no_args_is_help=True)
backend_app.add_typer(token_app, name="token")

NowOpt = Annotated[
    str | None,
    typer.Option("--now", help="Act as if it were this local time (ISO, e.g. 2026-11-16T15:00)."),
]
DateOpt = Annotated[
    str | None, typer.Option("--date", help="Local day, YYYY-MM-DD (default today).")
]
BuildingOpt = Annotated[str | None, typer.Option("--building", "-b", help="Only this building.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
MonthOpt = Annotated[str | None, typer.Option(help="YYYY-MM (default: the last whole month).")]
OutOpt = Annotated[Path, typer.Option(help="Folder for the HTML and PDF files.")]
REPORTS = Path("run/reports")
LanguageOpt = Annotated[str | None, typer.Option(help="da or en (default: report.language).")]
PdfOpt = Annotated[bool, typer.Option(help="Write the PDF too.")]


@contextmanager
def _backend(ctx: typer.Context) -> Iterator[Backend]:
    try:
        with Backend(settings(ctx)) as be:
            yield be
    except (BackendError, RegistryError, SchemaError, NeedPublishError) as e:
        raise fail(str(e)) from None
    except InfluxError as e:
        raise fail(f"{e}; is InfluxDB running? (`pletfri services run`, influx.url)") from None


def _now_ms(ctx: typer.Context, now: str | None) -> int:
    if now is None:
        return int(time.time() * 1000)
    tz = ZoneInfo(settings(ctx).backend.timezone)
    try:
        t = datetime.fromisoformat(now)
    except ValueError:
        raise fail(f"--now {now!r}: give a local time like 2026-11-16T15:00") from None
    return int((t if t.tzinfo else t.replace(tzinfo=tz)).timestamp() * 1000)


def _day(ctx: typer.Context, day: str | None, now_ms: int) -> date:
    if day is None:
        return local_day(now_ms, ZoneInfo(settings(ctx).backend.timezone))
    try:
        return date.fromisoformat(day)
    except ValueError:
        raise fail(f"--date {day!r}: give a day like 2026-11-16") from None


def _json(obj: Any) -> str:
    plain = dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj
    return json.dumps(plain, default=str, ensure_ascii=False, indent=2)


# --- registry ------------------------------------------------------------------------------


@registry_app.command("sample")
def registry_sample(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="The sample is the same for the same seed.")] = 1,
    site_key: Annotated[
        str | None, typer.Option(help="Site key for card pseudonyms (default pletfri-demo-SEED).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write it to this .yaml file or CSV folder instead.")
    ] = None,
) -> None:
    """Generate the sample municipality (155 buildings, ~6,200 rooms) into the registry."""
    data = generate(SampleOptions(seed, site_key.encode() if site_key else None))
    if out is not None:
        write(data, out)
        typer.echo(f"wrote the sample registry to {out}")
        return
    with _backend(ctx) as be:
        be.registry.replace(data)
        typer.echo(_counts(be.registry))


def _counts(reg: Registry) -> str:
    return ", ".join(f"{n} {name}" for name, n in reg.counts().items())


@registry_app.command("import")
def registry_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A .yaml file or a folder of <section>.csv files.")],
    replace: Annotated[bool, typer.Option(help="Replace the whole registry, not merge.")] = False,
) -> None:
    """Import a registry file: checked completely first, then applied all at once."""
    with _backend(ctx) as be:
        try:
            limits = ImportLimits(be.conf.import_max_rows, be.conf.import_max_bytes)
            data = read(path, None if replace else be.registry.data(), limits)
        except RegistryFileError as e:
            raise fail(str(e)) from None
        (be.registry.replace if replace else be.registry.merge)(data)
        typer.echo(f"imported {path}; the registry now has {_counts(be.registry)}")


@registry_app.command("export")
def registry_export(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A .yaml file, or a folder for CSV files.")],
) -> None:
    """Export the whole registry as YAML or CSV."""
    with _backend(ctx) as be:
        write(be.registry.data(), path)
    typer.echo(f"exported the registry to {path}")


@registry_app.command("export-devices")
def registry_export_devices(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for devices.csv and cards.csv (default: gateway settings)."),
    ] = None,
) -> None:
    """Write the gateway's devices.csv and cards.csv from the registry."""
    with _backend(ctx) as be:
        devices, cards, n_dev, n_cards = be.export_gateway_files(
            out / "devices.csv" if out else None, out / "cards.csv" if out else None
        )
    typer.echo(f"wrote {n_dev} devices to {devices} and {n_cards} cards to {cards}")


@registry_app.command("show")
def registry_show(
    ctx: typer.Context, building: BuildingOpt = None, as_json: JsonOpt = False
) -> None:
    """Counts, or one building with its rooms and leaders."""
    with _backend(ctx) as be:
        if building is None:
            typer.echo(_json(be.registry.counts()) if as_json else _counts(be.registry))
            return
        b = be.registry.building(building)
        if b is None:
            raise fail(f"no building {building!r}; `pletfri registry show` counts them")
        rooms = be.registry.rooms(building)
        leaders = be.registry.leaders(building)
        if as_json:
            typer.echo(_json({"building": b.model_dump(), "rooms": [r.model_dump() for r in rooms],
                              "leaders": [p.model_dump() for p in leaders]}))  # fmt: skip
            return
        track = " (training track)" if b.training_track else ""
        typer.echo(f"{b.id} {b.name}, {b.kind}{track}, {b.address}")
        typer.echo(f"leaders: {', '.join(f'{p.name} <{p.email}>' for p in leaders) or 'none'}")
        for r in rooms:
            typer.echo(f"  {r.id:<12} {r.type:<11} {r.area_m2:>6} m2  floor {r.floor} {r.zone}")


# --- planning and books --------------------------------------------------------------------


def plan(
    ctx: typer.Context,
    shift: Annotated[str, typer.Option(help="A shift from backend.shifts.")] = "afternoon",
    day: DateOpt = None,
    building: BuildingOpt = None,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make (and store) the plan for a shift: rooms due in route order, rooms to skip."""
    now_ms = _now_ms(ctx, now)
    with _backend(ctx) as be:
        made = be.make_plans(_day(ctx, day, now_ms), shift, now_ms, building)
    if as_json:
        typer.echo(_json([dataclasses.asdict(p) | {"minutes": p.minutes} for p in made]))
        return
    for p in made:
        typer.echo(f"{p.building} {p.day} {p.shift}: {len(p.due)} due, {len(p.skip)} to skip, "
                   f"{p.minutes} min")  # fmt: skip
        if building:
            for e in p.due:
                typer.echo(f"  {e.room:<12} floor {e.floor} {e.zone:<2} {e.type:<11} "
                           f"{e.reason:<13} score {e.score:<6} {e.minutes} min")  # fmt: skip


def verify(
    ctx: typer.Context,
    day: DateOpt = None,
    building: BuildingOpt = None,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verification of a day: planned, done, missed, unplanned, too short, unneeded."""
    now_ms = _now_ms(ctx, now)
    with _backend(ctx) as be:
        books = be.verify(_day(ctx, day, now_ms), now_ms, building)
    if as_json:
        typer.echo(_json([dataclasses.asdict(books[b]) for b in sorted(books)]))
        return
    for b in sorted(books):
        v = books[b]
        typer.echo(f"{b} {v.day}: planned {v.planned}, done {v.done}, missed {v.missed}, "
                   f"pending {v.pending}, unplanned {v.unplanned}, too short {v.too_short}, "
                   f"no leaving tap {v.no_leave_tap}, unneeded {v.unneeded}")  # fmt: skip


def savings(
    ctx: typer.Context,
    first: Annotated[str | None, typer.Option("--from", help="First day (default today).")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day (default --from).")] = None,
    building: BuildingOpt = None,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cleanings and minutes saved against the fixed schedule, and due rooms not cleaned."""
    now_ms = _now_ms(ctx, now)
    start = _day(ctx, first, now_ms)
    end = _day(ctx, last, now_ms) if last else start
    with _backend(ctx) as be:
        s = be.savings(start, end, now_ms, building)
    if as_json:
        typer.echo(_json(s))
        return
    where = s.building or "all buildings"
    typer.echo(f"{s.first}..{s.last} {where}: fixed schedule {s.fixed_cleanings} cleanings, "
               f"done {s.done}, avoided {s.avoided}; {s.minutes_saved} min saved; "
               f"due and not cleaned: {s.due_not_cleaned}")  # fmt: skip


@visits_app.command("pair")
def visits_pair(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(help="Visits that arrived after this local time (default: a day ago)."),
    ] = None,
    now: NowOpt = None,
) -> None:
    """Pair the taps into visits and write them as `visit` points (safe to repeat)."""
    now_ms = _now_ms(ctx, now)
    since_ms = _now_ms(ctx, since) if since else None
    with _backend(ctx) as be:
        made = be.pair_visits(now_ms, since_ms)
    typer.echo(f"{len(made)} visits written")


@need_app.command("publish")
def need_publish(ctx: typer.Context, now: NowOpt = None) -> None:
    """Publish every station's retained `need` and write `need` points."""
    with _backend(ctx) as be:
        found = be.publish_need(_now_ms(ctx, now))
    due = sum(n.due for n in found.values())
    typer.echo(f"{len(found)} rooms, {due} due; need published to their stations")


# --- service -------------------------------------------------------------------------------


@backend_app.command("api")
def backend_api(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Default backend.api_host.")] = None,
    port: Annotated[int | None, typer.Option(help="Default backend.api_port.")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) until Ctrl-C."""
    import uvicorn

    from backend.api import create_app

    s = settings(ctx)
    try:
        app = create_app(s)
    except (BackendError, SchemaError) as e:
        raise fail(str(e)) from None
    uvicorn.run(app, host=host or s.backend.api_host, port=port or s.backend.api_port,
                log_config=None)  # fmt: skip


@backend_app.command("export-person")
def backend_export_person(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="The person's id in the registry, e.g. p0042.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the JSON here (default: stdout).")
    ] = None,
) -> None:
    """Everything held about one person (registry, taps, visits, alerts) as JSON, for a
    request under GDPR articles 15 and 20."""
    with _backend(ctx) as be:
        data = be.export_person(person, int(time.time() * 1000))
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise fail(f"cannot write {out}: {e.strerror}; choose another --out") from None
    typer.echo(
        f"wrote {out}: {len(data['taps'])} taps, {len(data['visits'])} visits, "
        f"{len(data['cards'])} cards of {person}",
        err=True,
    )


@backend_app.command("openapi")
def backend_openapi(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Where to write the OpenAPI JSON.")] = Path(
        "docs/openapi.json"
    ),
) -> None:
    """Write the API's OpenAPI document (the same as GET /openapi.json)."""
    from backend.api import create_app

    app = create_app(settings(ctx))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(app.openapi(), indent=2) + "\n", encoding="utf-8")
    finally:
        app.state.backend.close()
    typer.echo(f"wrote {out}")


@backend_app.command("run")
def backend_run(ctx: typer.Context) -> None:
    """Every backend.interval_s: pair visits, plan shifts as they begin, publish need."""
    interval = settings(ctx).backend.interval_s
    with _backend(ctx) as be:
        previous = int(time.time() * 1000)
        try:
            while True:
                now = int(time.time() * 1000)
                try:
                    be.tick(now, previous)
                    previous = now
                except (InfluxError, NeedPublishError) as e:
                    # Keep `previous`: a shift that began meanwhile is planned on the next round.
                    log.warning("backend round failed, retrying in %d s: %s", interval, e)
                time.sleep(max(0.0, interval - (time.time() * 1000 - now) / 1000))
        except KeyboardInterrupt:
            pass


@token_app.command("add")
def token_add(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help="service_leader, facility or admin.")],
    label: Annotated[str, typer.Option(help="Who or what holds it (for revoking).")],
    person: Annotated[
        str | None,
        typer.Option(help="Bind a service_leader token to this leader: only their buildings."),
    ] = None,
) -> None:
    """Create an API token; it is printed once and only its digest is kept."""
    if role not in tokens.ROLES:
        raise fail(f"--role {role!r}: use one of {', '.join(tokens.ROLES)}")
    with _backend(ctx) as be:
        try:
            now = int(time.time() * 1000)
            token = tokens.create(be.registry, cast(tokens.ApiRole, role), label, now, person)
        except ValueError as e:
            raise fail(str(e)) from None
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context, label: Annotated[str, typer.Option(help="The label given at add.")]
) -> None:
    """Revoke every token with this label."""
    with _backend(ctx) as be:
        n = tokens.revoke(be.registry, label)
    typer.echo(f"revoked {n} token(s)")


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
    """The monthly contract report (verification, savings, training, environment) as HTML
    and PDF."""
    from backend import report, report_render  # fpdf2 and Pillow load for this command only

    s = settings(ctx)
    lang = _language(language, s.report.language)
    with _backend(ctx) as be:
        r = report.monthly(be, month, _now_ms(ctx, now), s.report, building)
        doc = report_render.pdf(r, lang, be.tz) if pdf else None
        written = _write_report(out / r.name, report_render.html(r, lang, be.tz), doc)
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
    from backend import report, report_render, training  # fpdf2 and Pillow load here only

    s = settings(ctx)
    lang = _language(language, s.report.language)
    now_ms = _now_ms(ctx, now)
    with _backend(ctx) as be:
        name, first, last = report.month_span(month, now_ms, be)
        found = training.progress(be, first, last, s.report, building)
        args = (found, first, last, now_ms, s.report, lang, be.tz)
        stem = out / (f"training-{name}" + (f"-{building}" if building else ""))
        html = report_render.training_html(*args)
        written = _write_report(stem, html, report_render.training_pdf(*args) if pdf else None)
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
    from backend import report_render  # fpdf2 and Pillow load for the report commands only

    try:
        written = report_render.write(stem, html, pdf)
    except OSError as e:
        raise fail(f"cannot write to {stem.parent}: {e.strerror}; choose another --out") from None
    return ", ".join(str(p) for p in written)


def register(root: typer.Typer) -> None:
    """Add the backend's command groups to the root `pletfri` command."""
    root.add_typer(registry_app, name="registry")
    root.add_typer(backend_app, name="backend")
    root.add_typer(visits_app, name="visits")
    root.add_typer(need_app, name="need")
    root.add_typer(report_app, name="report")
    root.command("plan")(plan)
    root.command("verify")(verify)
    root.command("savings")(savings)
