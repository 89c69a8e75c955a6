"""`pletfri registry ...`: the registry's commands (sample, import, export, show)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.command import BuildingOpt, JsonOpt, running_backend, to_json
from backend.registry import Registry
from backend.registry.files import ImportLimits, RegistryFileError, read, write
from backend.registry.sample import SampleOptions, generate
from pletfri.command import fail

registry_app = typer.Typer(help="The registry: buildings, rooms, devices, people, cards.",
                           no_args_is_help=True)  # fmt: skip


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
    with running_backend(ctx) as be:
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
    with running_backend(ctx) as be:
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
    with running_backend(ctx) as be:
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
    with running_backend(ctx) as be:
        devices, cards, n_dev, n_cards = be.export_gateway_files(
            out / "devices.csv" if out else None, out / "cards.csv" if out else None
        )
    typer.echo(f"wrote {n_dev} devices to {devices} and {n_cards} cards to {cards}")


@registry_app.command("show")
def registry_show(
    ctx: typer.Context, building: BuildingOpt = None, as_json: JsonOpt = False
) -> None:
    """Counts, or one building with its rooms and leaders."""
    with running_backend(ctx) as be:
        if building is None:
            typer.echo(to_json(be.registry.counts()) if as_json else _counts(be.registry))
            return
        b = be.registry.building(building)
        if b is None:
            raise fail(f"no building {building!r}; `pletfri registry show` counts them")
        rooms = be.registry.rooms(building)
        leaders = be.registry.leaders(building)
        if as_json:
            found = {
                "building": b.model_dump(),
                "rooms": [r.model_dump() for r in rooms],
                "leaders": [p.model_dump() for p in leaders],
            }
            typer.echo(to_json(found))
            return
        track = " (training track)" if b.training_track else ""
        typer.echo(f"{b.id} {b.name}, {b.kind}{track}, {b.address}")
        typer.echo(f"leaders: {', '.join(f'{p.name} <{p.email}>' for p in leaders) or 'none'}")
        for r in rooms:
            typer.echo(f"  {r.id:<12} {r.type:<11} {r.area_m2:>6} m2  floor {r.floor} {r.zone}")
