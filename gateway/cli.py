"""`pletfri gateway ...`"""

from __future__ import annotations

import signal
import threading

import typer

from gateway.registry import RegistryFileError
from gateway.service import Gateway
from pletfri.command import fail, settings

app = typer.Typer(help="The MQTT to InfluxDB gateway.", no_args_is_help=True)


@app.command("run")
def run(ctx: typer.Context) -> None:
    """Run the gateway until Ctrl-C or SIGTERM."""
    try:
        gw = Gateway(settings(ctx))
    except RegistryFileError as e:
        raise fail(str(e)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    gw.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        gw.stop()


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="gateway")
