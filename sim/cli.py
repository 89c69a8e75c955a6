"""`pletfri demo` and `pletfri web demo`"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from backend.web.cli import web_app
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


def web_demo(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 0,
    seed: Annotated[int, typer.Option(help="The seed the demo ran with (its sticker key).")] = 1,
) -> None:
    """Serve the web pages on the last demo's data (./demo.sh first), with demo logins.

    Starts the demo's Mosquitto and InfluxDB again on its data, the gateway, and the pages;
    prints the link and the logins; Ctrl-C stops everything.
    """
    import uvicorn

    from backend.api import create_app
    from backend.registry import Registry
    from gateway.service import Gateway
    from pletfri.services import free_port, running_stack
    from sim.demo import demo_settings
    from sim.webdemo import (
        PASSWORD,
        NoDemoData,
        demo_clock,
        demo_folder,
        demo_logins,
        sticker_link,
    )

    base = settings(ctx)
    try:
        folder = demo_folder(base.run.dir)
    except NoDemoData as e:
        raise fail(str(e)) from None
    with running_stack(folder / "servers") as stack:
        s = demo_settings(base, stack, folder, seed)
        try:
            with Registry(s.backend.database_file) as reg:
                clock = demo_clock(reg)
        except NoDemoData as e:
            raise fail(str(e)) from None
        app = create_app(s, clock=clock)
        logins = demo_logins(app.state.backend.registry, clock())
        gateway = Gateway(s).start()
        chosen = port or free_port()
        typer.echo(f"Pletfri pages on the demo's data: http://127.0.0.1:{chosen}/web/")
        for login in logins:
            typer.echo(f"  log in as {login.name:<11} password {PASSWORD}  ({login.what})")
        cleaner = app.state.backend.registry.person(
            next(x.person for x in logins if x.name == "rengoering")
        )
        link = sticker_link(
            app.state.backend.registry,
            s.stickers.master_key or "",
            cleaner.building if cleaner else "",
            f"http://127.0.0.1:{chosen}",
        )
        if link:
            typer.echo(f"  a sticker's URL, as the cleaner's phone would open it: {link}")
        typer.echo("Ctrl-C stops the pages and the demo's servers")
        try:
            uvicorn.run(app, host="127.0.0.1", port=chosen, log_config=None,
                        log_level="warning")  # fmt: skip
        finally:
            gateway.stop()


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)
    # `pletfri web demo` lives here: the backend's web pages know nothing of the simulator.
    web_app.command("demo")(web_demo)
