"""`pletfri demo`"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from pletfri.command import fail, settings
from sim.demo import DemoOptions, run_demo


def demo(
    ctx: typer.Context,
    buildings: Annotated[
        int, typer.Option(min=1, help="How many buildings of the sample registry to simulate.")
    ] = 155,
    days: Annotated[
        int, typer.Option(min=1, max=28, help="Simulated days from the last school week's Monday.")
    ] = 5,
    speed: Annotated[
        float,
        typer.Option(
            min=0, help="Simulated seconds per real second; 0 runs as fast as the broker allows."
        ),
    ] = 0.0,
    seed: Annotated[
        int, typer.Option(help="Seed of every random choice; same seed, same run.")
    ] = 1,
    holiday: Annotated[
        str | None,
        typer.Option(help="A simulated day (YYYY-MM-DD) that is a public holiday: no school."),
    ] = None,
    serve: Annotated[
        bool, typer.Option(help="Keep the servers running after the summary, until Ctrl-C.")
    ] = False,
    rotate_site_key: Annotated[
        bool, typer.Option(help="Rotate the site key at noon of the middle day (one-day overlap).")
    ] = False,
) -> None:
    """Run the whole system on this machine against a simulated municipality.

    Real Mosquitto, InfluxDB, gateway and backend; every sensor and station of the sample
    registry driven by the firmware logic through the last full school week. Each run starts
    fresh in <run.dir>/demo.
    """
    try:
        day = date.fromisoformat(holiday) if holiday else None
    except ValueError:
        raise fail(f"--holiday {holiday!r} is not a date; write it as YYYY-MM-DD") from None
    opts = DemoOptions(
        buildings=buildings,
        days=days,
        speed=speed,
        seed=seed,
        holiday=day,
        rotate_site_key=rotate_site_key,
    )
    try:
        run_demo(settings(ctx), opts, serve=serve)
    except ValueError as e:
        raise fail(str(e)) from None


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)
