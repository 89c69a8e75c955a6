"""`pletfri gateway ...`"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from typing import Annotated

import serial
import typer

from gateway.registry import RegistryFileError
from gateway.serial_bridge import SerialBridge
from gateway.service import Gateway
from gateway.spool import Spool
from pletfri.command import fail, settings

app = typer.Typer(help="The MQTT to InfluxDB gateway.", no_args_is_help=True)


def _until_stopped(gw: Gateway, *first: Callable[[], None]) -> None:
    """Wait for Ctrl-C or SIGTERM; then run `first` (the feeders), then stop the gateway."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for f in first:
            f()
        gw.stop()


@app.command("run")
def run(ctx: typer.Context) -> None:
    """Run the gateway until Ctrl-C or SIGTERM."""
    # The committer answers taps; a shorter GIL switch interval (default 5 ms) keeps it
    # from waiting behind the network and writer threads.
    sys.setswitchinterval(0.001)
    try:
        gw = Gateway(settings(ctx))
    except RegistryFileError as e:
        raise fail(str(e)) from None
    gw.start()
    _until_stopped(gw)


@app.command("serial")
def serial_cmd(
    ctx: typer.Context,
    port: Annotated[str, typer.Option(help="Serial device, e.g. /dev/ttyUSB0 or COM3.")],
    baud: Annotated[int, typer.Option(help="Baud rate.")] = 115200,
) -> None:
    """Feed a USB-attached device's frames (one JSON object a line) through the gateway.

    Runs alongside `pletfri gateway run`: it uses the client id `<client_id>-serial` and
    its own spool (state_dir/serial), and does not subscribe to device topics.
    """
    s = settings(ctx).model_copy(deep=True)
    s.gateway.client_id += "-serial"
    s.gateway.state_dir = s.gateway.state_dir / "serial"
    try:
        gw = Gateway(s, uplink=False)
        port_ = serial.Serial(port, baud, timeout=0.5)
    except RegistryFileError as e:
        raise fail(str(e)) from None
    except serial.SerialException as e:
        raise fail(f"cannot open serial port {port}: {e}; check the cable and --port") from None
    bridge = SerialBridge(gw, port_)
    gw.start()
    bridge.start()
    _until_stopped(gw, bridge.stop, port_.close)


@app.command("spool")
def spool(ctx: typer.Context) -> None:
    """Show what the spool holds (lines waiting for InfluxDB, quarantined lines)."""
    g = settings(ctx).gateway
    path = g.state_dir / "spool.sqlite"
    if not path.exists():
        raise fail(f"no spool at {path}; has the gateway run with this gateway.state_dir?")
    sp = Spool(path, g.spool_max_mb * 2**20, g.spool_fsync)
    try:
        info = {
            "path": str(path),
            "lines": sp.lines,
            "bytes": sp.bytes,
            "fill_pct": round(100 * sp.bytes / sp.max_bytes, 2),
            "quarantined_chunks": sp.quarantined(),
        }
    finally:
        sp.close()
    typer.echo(json.dumps(info, indent=2))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="gateway")
