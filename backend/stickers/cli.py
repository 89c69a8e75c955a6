"""`pletfri sticker ...`: bind NFC stickers to rooms, make their keys and programming sheet."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from backend.registry import Registry, RegistryError
from backend.registry.schema import SchemaError
from backend.stickers import binding, keys, sheet, sun
from backend.stickers.taps import PARAM_CMAC, PARAM_PICC, StickerTaps
from pletfri.command import fail, settings

sticker_app = typer.Typer(
    help="NFC stickers (NTAG 424 DNA) for rooms without a check-in station (docs/stickers.md).",
    no_args_is_help=True,
)

BuildingOpt = Annotated[str | None, typer.Option("--building", "-b", help="Only this building.")]
RoomOpt = Annotated[str | None, typer.Option("--room", "-r", help="Only this room.")]


@contextmanager
def _registry(ctx: typer.Context) -> Iterator[Registry]:
    try:
        with Registry(settings(ctx).backend.database_file) as reg:
            yield reg
    except (RegistryError, SchemaError, sheet.SheetError, keys.MasterKeyError) as e:
        raise fail(str(e)) from None


def _master(ctx: typer.Context) -> bytes:
    try:
        return keys.parse_master_key(settings(ctx).stickers.master_key)
    except keys.MasterKeyError as e:
        raise fail(str(e)) from None


def _scope(reg: Registry, building: str | None, room: str | None) -> list[binding.Sticker]:
    if building is not None and reg.building(building) is None:
        raise fail(f"unknown building {building!r}; `pletfri registry export` lists them")
    if room is not None and reg.room(room) is None:
        raise fail(f"unknown room {room!r}")
    found = binding.stickers(reg, building, room)
    if not found:
        where = room or building or "the registry"
        raise fail(
            f"no stickers bound in {where}; bind one with `pletfri sticker bind ROOM UID`, "
            "or import devices with kind sticker (`pletfri registry import`)"
        )
    return found


@sticker_app.command("new-master-key")
def new_master_key() -> None:
    """Print a fresh random master key for stickers.master_key (once per installation)."""
    typer.echo(secrets.token_hex(16))
    typer.echo(
        "put it in the config file as [stickers] master_key, or in PLETFRI_STICKERS__MASTER_KEY; "
        "changing it later means re-programming every sticker",
        err=True,
    )


@sticker_app.command("bind")
def bind(
    ctx: typer.Context,
    room: Annotated[str, typer.Argument(help="The room's id, e.g. b001-r017.")],
    uid: Annotated[str, typer.Argument(help="The tag's 7-byte UID, 14 hex digits.")],
    installed: Annotated[
        str | None, typer.Option(help="Day it was mounted, YYYY-MM-DD (default today).")
    ] = None,
    move: Annotated[bool, typer.Option(help="Move a sticker bound to another room.")] = False,
) -> None:
    """Bind a sticker to a room (its device id is tag-<uid>)."""
    try:
        day = date.fromisoformat(installed) if installed else date.today()
    except ValueError:
        raise fail(f"--installed {installed!r}: give a day like 2026-11-16") from None
    with _registry(ctx) as reg:
        device = binding.bind(reg, room, binding.parse_uid(uid), day, move)
    typer.echo(
        f"bound {device.id} to {room}; export the gateway's files "
        "(`pletfri registry export-devices`) so that its taps are placed"
    )


@sticker_app.command("list")
def list_stickers(
    ctx: typer.Context, building: BuildingOpt = None, room: RoomOpt = None
) -> None:
    """The stickers, where they are, their last accepted read counter."""
    with _registry(ctx) as reg:
        found = _scope(reg, building, room)
        seen = {
            r[0]: (r[1], r[2])
            for r in reg.query("SELECT device, counter, seen_ms FROM sticker_counters")
        }
        for s in found:
            counter, at = seen.get(s.device, (None, None))
            last = "never tapped"
            if at is not None:
                last = f"counter {counter} at {time.strftime('%F %T', time.localtime(at / 1000))}"
            typer.echo(f"{s.device}  {s.room:<16} {s.room_name or '-':<24} {last}")


@sticker_app.command("missing")
def missing(ctx: typer.Context, building: BuildingOpt = None) -> None:
    """Rooms with neither a station nor a sticker: their cleaning cannot be verified."""
    with _registry(ctx) as reg:
        rooms = binding.rooms_without_check_in(reg, building)
    for r in rooms:
        typer.echo(r)
    typer.echo(f"{len(rooms)} room(s) without a station or sticker", err=True)


@sticker_app.command("sheet")
def write_sheet(
    ctx: typer.Context,
    building: BuildingOpt = None,
    room: RoomOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for the sheet's .csv and .html.")] = Path(
        "run/stickers"
    ),
) -> None:
    """Make the stickers' keys and write the installer's programming sheet (CSV and HTML).

    Each sticker's keys are derived from stickers.master_key and its UID; the sheet holds
    them, so it is written readable by its owner only.
    """
    if building is None and room is None:
        raise fail("give --building or --room: a sheet holds keys, so make one per job")
    master = _master(ctx)
    with _registry(ctx) as reg:
        found = _scope(reg, building, room)
        lay = sheet.layout(settings(ctx).stickers.base_url)
    rows = [
        sheet.SheetRow(
            s.building, s.room, s.room_name, s.device, keys.TagKeys.derive(master, s.uid)
        )
        for s in found
    ]
    name = f"stickers-{room or building}"
    sheet.write_csv(rows, lay, out / f"{name}.csv")
    sheet.write_html(rows, lay, out / f"{name}.html", f"Programming sheet: {room or building}")
    typer.echo(f"wrote {out / name}.csv and .html for {len(rows)} sticker(s) (they hold keys)")


@sticker_app.command("url")
def url(
    ctx: typer.Context,
    uid: Annotated[str, typer.Argument(help="The tag's UID, 14 hex digits.")],
    counter: Annotated[int, typer.Argument(min=0, max=sun.COUNTER_MAX, help="SDMReadCtr.")],
) -> None:
    """Print the URL the sticker would give at this read counter (for tests and demos)."""
    master = _master(ctx)
    try:
        tag = binding.parse_uid(uid)
    except RegistryError as e:
        raise fail(str(e)) from None
    picc, cmac = sun.emulate(keys.meta_read_key(master), keys.file_read_key(master, tag), tag,
                             counter)
    try:
        lay = sheet.layout(settings(ctx).stickers.base_url)
    except sheet.SheetError as e:
        raise fail(str(e)) from None
    typer.echo(lay.url_template.format(picc=picc, cmac=cmac))


@sticker_app.command("flush")
def flush(ctx: typer.Context) -> None:
    """Send the sticker taps kept while the broker was unreachable."""
    s = settings(ctx)
    with _registry(ctx) as reg, StickerTaps(s, reg) as taps:
        if not taps.wait_connected(10):
            raise fail(f"MQTT broker {s.mqtt.host}:{s.mqtt.port} is not reachable; "
                       f"{taps.pending()} tap(s) stay in the outbox")
        taps.flush()
        # `published` counts the outbox sent on connecting, too.
        typer.echo(f"sent {taps.published} tap(s); {taps.pending()} left in the outbox")


@sticker_app.command("check")
def check(
    ctx: typer.Context,
    url_or_query: Annotated[str, typer.Argument(help="A sticker URL or its query string.")],
) -> None:
    """Verify a sticker URL without recording it: which tag, which counter, or what is wrong."""
    from urllib.parse import parse_qs, urlsplit

    master = _master(ctx)
    query = urlsplit(url_or_query).query or url_or_query.lstrip("?")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    with _registry(ctx) as reg:
        known = {s.uid for s in binding.stickers(reg)}
    try:
        picc = sun.verify(
            keys.meta_read_key(master),
            lambda uid: keys.file_read_key(master, uid) if uid in known else None,
            params.get(PARAM_PICC),
            params.get(PARAM_CMAC),
        )
    except sun.SunError as e:
        typer.echo(json.dumps({"result": e.reason, "detail": str(e)}))
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"result": "authentic", "device": f"tag-{picc.uid_hex}",
                           "counter": picc.counter}))


def register(root: typer.Typer) -> None:
    root.add_typer(sticker_app, name="sticker")
