"""`pletfri quality ...`: INSTA 800 inspections from the command line (docs/quality.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

import typer

from backend.command import BuildingOpt, DateOpt, JsonOpt, NowOpt, parse_day, parse_now
from backend.quality import inspections
from backend.registry import Registry
from backend.registry.schema import SchemaError
from pletfri.command import fail, settings

quality_app = typer.Typer(
    help="INSTA 800 quality inspections: plan a sample, record rooms, finish, summarise.",
    no_args_is_help=True,
)

FromOpt = Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")]


def _count(what: str) -> typer.models.OptionInfo:
    return typer.Option(min=0, help=f"{what} defects counted in the room.")


@contextmanager
def _registry(ctx: typer.Context) -> Iterator[Registry]:
    try:
        with Registry(settings(ctx).backend.database_file) as reg:
            yield reg
    except (inspections.QualityError, SchemaError) as e:
        raise fail(str(e)) from None


def _option_day(ctx: typer.Context, flag: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{flag} {value!r}: give a day like 2026-11-16") from None


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def _show(insp: inspections.Inspection, reg: Registry) -> None:
    state = {None: "open", True: "approved", False: "NOT approved"}[insp.approved]
    who = f" by {insp.inspector}" if insp.inspector else ""
    typer.echo(
        f"inspection {insp.id}: {insp.building} on {insp.day}{who}, {insp.status} ({state}); "
        f"{len(insp.rooms)} of {insp.lot_size} rooms, approved with at most "
        f"{insp.accept_failed} failed"
    )
    for r in insp.rooms:
        room = reg.room(r.room)
        where = f"floor {room.floor} {room.zone:<2} {room.type:<11}" if room else "(removed)"
        seen = "-" if r.observed is None else str(r.observed)
        mark = {None: "", True: "ok", False: "FAILED"}[r.approved]
        d = r.defects
        defects = f"dust {d.dust} dirt {d.dirt} litter {d.litter}" if r.observed is not None else ""
        typer.echo(
            f"  {r.room:<12} {where} agreed {r.agreed} observed {seen} {mark:<6} {defects}"
            + (f"  {r.note}" if r.note else "")
        )


@quality_app.command("plan")
def quality_plan(
    ctx: typer.Context,
    building: Annotated[str, typer.Option("--building", "-b", help="The building to inspect.")],
    day: DateOpt = None,
    inspector: Annotated[str, typer.Option(help="Who inspects: a person id or a name.")] = "",
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Draw (and store) the random sample of rooms for an inspection of a building on a day.

    The same building and day always draw the same rooms; the sample size is from
    quality.table."""
    now_ms = parse_now(ctx, now)
    s = settings(ctx)
    with _registry(ctx) as reg:
        insp = inspections.plan(
            reg, s.quality, building, parse_day(ctx, day, now_ms), now_ms, inspector
        )
        if as_json:
            typer.echo(insp.model_dump_json(indent=2))
            return
        _show(insp, reg)
    typer.echo(
        f"record each room with `pletfri quality record {insp.id} ROOM LEVEL`, "
        f"then `pletfri quality finish {insp.id}`"
    )


@quality_app.command("record")
def quality_record(
    ctx: typer.Context,
    inspection: Annotated[int, typer.Argument(help="The inspection's id (from plan or list).")],
    room: Annotated[str, typer.Argument(help="A room of the inspection's sample.")],
    level: Annotated[int, typer.Argument(help="The observed INSTA 800 quality level, 0-5.")],
    dust: Annotated[int, _count("Dust")] = 0,
    dirt: Annotated[int, _count("Dirt and spot")] = 0,
    litter: Annotated[int, _count("Litter")] = 0,
    note: Annotated[str, typer.Option(help="What the inspector saw.")] = "",
    now: NowOpt = None,
) -> None:
    """Record the observed quality level of one sampled room (again to correct it)."""
    with _registry(ctx) as reg:
        insp = inspections.record(
            reg,
            inspection,
            room,
            level,
            inspections.Defects(dust=dust, dirt=dirt, litter=litter),
            note,
            parse_now(ctx, now),
        )
    [r] = [r for r in insp.rooms if r.room == room]
    verdict = "approved" if r.approved else "FAILED"
    left = insp.unrecorded
    typer.echo(
        f"{room}: observed {level} against agreed {r.agreed}, {verdict}; "
        + (
            f"{len(left)} still to record ({', '.join(left[:5])}{', ...' if len(left) > 5 else ''})"
            if left
            else f"all recorded: `pletfri quality finish {insp.id}`"
        )
    )


@quality_app.command("finish")
def quality_finish(
    ctx: typer.Context,
    inspection: Annotated[int, typer.Argument(help="The inspection's id.")],
    now: NowOpt = None,
) -> None:
    """Close an inspection whose rooms are all recorded and judge it approved or not."""
    with _registry(ctx) as reg:
        insp = inspections.finish(reg, inspection, parse_now(ctx, now))
    verdict = "approved" if insp.approved else "NOT approved"
    typer.echo(
        f"inspection {insp.id} ({insp.building}, {insp.day}): {insp.failed} of "
        f"{len(insp.rooms)} rooms failed, at most {insp.accept_failed} allowed: {verdict}"
    )


@quality_app.command("cancel")
def quality_cancel(
    ctx: typer.Context,
    inspection: Annotated[int, typer.Argument(help="The inspection's id.")],
) -> None:
    """Delete an inspection that is not finished (planned for the wrong building or day)."""
    with _registry(ctx) as reg:
        inspections.cancel(reg, inspection)
    typer.echo(f"inspection {inspection} cancelled")


@quality_app.command("show")
def quality_show(
    ctx: typer.Context,
    inspection: Annotated[int, typer.Argument(help="The inspection's id.")],
    as_json: JsonOpt = False,
) -> None:
    """One inspection with its rooms."""
    with _registry(ctx) as reg:
        insp = inspections.get(reg, inspection)
        if as_json:
            typer.echo(insp.model_dump_json(indent=2))
            return
        _show(insp, reg)


@quality_app.command("list")
def quality_list(
    ctx: typer.Context,
    building: BuildingOpt = None,
    first: FromOpt = None,
    last: ToOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Inspections, newest day first."""
    start, end = _option_day(ctx, "--from", first), _option_day(ctx, "--to", last)
    with _registry(ctx) as reg:
        found = inspections.inspections(reg, building, start, end)
    if as_json:
        typer.echo(json.dumps([i.model_dump(mode="json") for i in found], indent=2))
        return
    if not found:
        typer.echo("no inspections; `pletfri quality plan -b BUILDING` plans one")
    for i in found:
        state = {None: "", True: "approved", False: "NOT approved"}[i.approved]
        recorded = len(i.rooms) - len(i.unrecorded)
        typer.echo(
            f"{i.id:>5} {i.day} {i.building:<8} {i.status:<8} {recorded}/{len(i.rooms)} "
            f"recorded, {i.failed} failed {state}"
        )


@quality_app.command("summary")
def quality_summary(
    ctx: typer.Context,
    first: FromOpt = None,
    last: ToOpt = None,
    building: BuildingOpt = None,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Finished inspections per building over a period (default: this month up to today).

    Per building: inspections and those approved, rooms approved of those inspected, the
    approval rate and the mean observed minus agreed level."""
    today = parse_day(ctx, None, parse_now(ctx, now))
    start = _option_day(ctx, "--from", first) or today.replace(day=1)
    end = _option_day(ctx, "--to", last) or today
    with _registry(ctx) as reg:
        rows = inspections.summary(reg, start, end, building)
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo(f"{start}..{end}: no finished inspections")
        return
    for r in [*rows, *([inspections.total(rows)] if len(rows) > 1 else [])]:
        deviation = "-" if r.mean_deviation is None else f"{r.mean_deviation:+.2f}"
        typer.echo(
            f"{start}..{end} {r.building or 'all':<8} {r.inspections} inspections, "
            f"{r.inspections_approved} approved; {r.rooms_approved} of {r.rooms_inspected} rooms "
            f"approved ({_rate(r.approval_rate)}), observed - agreed {deviation}"
        )
