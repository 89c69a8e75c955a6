"""The cleaning's commands: `pletfri plan`, `verify` and `savings`, `visits pair` and
`need publish`."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from backend.command import (
    BuildingOpt,
    DateOpt,
    JsonOpt,
    NowOpt,
    parse_day,
    parse_now,
    running_backend,
    to_json,
)

visits_app = typer.Typer(help="Visits paired from taps.", no_args_is_help=True)
need_app = typer.Typer(help="The rooms' cleaning need on the stations' `need` topics.",
                       no_args_is_help=True)  # fmt: skip


def plan(
    ctx: typer.Context,
    shift: Annotated[str, typer.Option(help="A shift from backend.shifts.")] = "afternoon",
    day: DateOpt = None,
    building: BuildingOpt = None,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make (and store) the plan for a shift: rooms due in route order, rooms to skip."""
    now_ms = parse_now(ctx, now)
    with running_backend(ctx) as be:
        made = be.make_plans(parse_day(ctx, day, now_ms), shift, now_ms, building)
    if as_json:
        typer.echo(to_json([dataclasses.asdict(p) | {"minutes": p.minutes} for p in made]))
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
    now_ms = parse_now(ctx, now)
    with running_backend(ctx) as be:
        books = be.verify(parse_day(ctx, day, now_ms), now_ms, building)
    if as_json:
        typer.echo(to_json([dataclasses.asdict(books[b]) for b in sorted(books)]))
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
    now_ms = parse_now(ctx, now)
    start = parse_day(ctx, first, now_ms)
    end = parse_day(ctx, last, now_ms) if last else start
    with running_backend(ctx) as be:
        s = be.savings(start, end, now_ms, building)
    if as_json:
        typer.echo(to_json(s))
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
    now_ms = parse_now(ctx, now)
    since_ms = parse_now(ctx, since) if since else None
    with running_backend(ctx) as be:
        made = be.pair_visits(now_ms, since_ms)
    typer.echo(f"{len(made)} visits written")


@need_app.command("publish")
def need_publish(ctx: typer.Context, now: NowOpt = None) -> None:
    """Publish every station's retained `need` and write `need` points."""
    with running_backend(ctx) as be:
        found = be.publish_need(parse_now(ctx, now))
    due = sum(n.due for n in found.values())
    typer.echo(f"{len(found)} rooms, {due} due; need published to their stations")
