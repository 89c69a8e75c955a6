"""`pletfri device ...`: provisioning over USB serial, firmware build, the energy model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pletfri.command import fail

app = typer.Typer(
    help="Devices: provisioning over USB serial, the firmware build, the energy model.",
    no_args_is_help=True,
)

FIRMWARE = Path(__file__).resolve().parent.parent


@app.command()
def provision(
    port: Annotated[str, typer.Option(help="serial port of the device, e.g. /dev/ttyUSB0")],
    device: Annotated[str, typer.Option(help="device id, e.g. nfc-a4cf12f0b3c1")],
    wifi_ssid: Annotated[str, typer.Option(help="Wi-Fi network name")],
    wifi_password: Annotated[str, typer.Option(help="Wi-Fi password")],
    broker: Annotated[str, typer.Option(help="MQTT broker as mqtt://host:port")],
    mqtt_user: Annotated[str | None, typer.Option(help="MQTT user name")] = None,
    mqtt_password: Annotated[str | None, typer.Option(help="MQTT password")] = None,
    site_key: Annotated[
        str | None, typer.Option(help="the site's card key as hex (stations; 32+ hex digits)")
    ] = None,
    ntp_host: Annotated[str, typer.Option(help="NTP server")] = "pool.ntp.org",
    period_s: Annotated[int | None, typer.Option(help="sensor counting period, s")] = None,
    send_s: Annotated[int | None, typer.Option(help="sensor radio wake interval, s")] = None,
    baudrate: Annotated[int, typer.Option(help="serial speed")] = 115200,
) -> None:
    """Write the device's config.json over the raw REPL and read it back to verify."""
    from pletfri_host.provision import ProvisionError
    from pletfri_host.provision import provision as run

    cfg: dict[str, Any] = {
        "device": device,
        "wifi_ssid": wifi_ssid,
        "wifi_password": wifi_password,
        "broker": broker,
        "ntp_host": ntp_host,
    }
    optional = {
        "mqtt_user": mqtt_user,
        "mqtt_password": mqtt_password,
        "site_key": site_key,
        "period_s": period_s,
        "send_s": send_s,
    }
    cfg.update({k: v for k, v in optional.items() if v is not None})
    try:
        run(port, cfg, baudrate)
    except ProvisionError as e:
        raise fail(str(e)) from None
    typer.echo(f"{device}: config.json written to {port} and verified")


@app.command()
def show(
    port: Annotated[str, typer.Option(help="serial port of the device")],
    baudrate: Annotated[int, typer.Option(help="serial speed")] = 115200,
) -> None:
    """Print the device's config.json (passwords and key masked)."""
    from pletfri_host.provision import ProvisionError
    from pletfri_host.provision import show as run

    try:
        cfg = run(port, baudrate)
    except ProvisionError as e:
        raise fail(str(e)) from None
    for k in ("wifi_password", "mqtt_password", "site_key"):
        if cfg.get(k):
            cfg[k] = "***"
    typer.echo(json.dumps(cfg, indent=2, sort_keys=True))


@app.command()
def build(
    out: Annotated[Path, typer.Option(help="folder for the .mpy files")] = Path("run/firmware"),
) -> None:
    """Compile pletfri_fw to .mpy with mpy-cross (copy out/lib to the device's /lib)."""
    lib = out / "lib" / "pletfri_fw"
    lib.mkdir(parents=True, exist_ok=True)
    total = 0
    for src in sorted((FIRMWARE / "pletfri_fw").glob("*.py")):
        dst = lib / (src.stem + ".mpy")
        r = subprocess.run(
            [sys.executable, "-m", "mpy_cross", "-o", str(dst), str(src)],
            capture_output=True,
            text=True,
        )
        if r.returncode:
            raise fail(f"mpy-cross rejected {src}: {r.stderr.strip()}")
        total += dst.stat().st_size
    typer.echo(f"{len(list(lib.glob('*.mpy')))} modules, {total:,} bytes of .mpy in {lib}")
    typer.echo("boards: copy firmware/boards/<kind>/boot.py and main.py to the device's /")


@app.command()
def energy() -> None:
    """Print the occupancy sensor's energy model and its battery life on 2 x AA."""
    from pletfri_host.energy import Model, table

    m = Model()
    typer.echo(table(m))
    typer.echo(f"\nbattery {m.battery_mah:.0f} mAh usable: {m.years():.1f} years")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="device")
