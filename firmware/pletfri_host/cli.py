"""`pletfri device ...`: provisioning over USB serial, firmware build, the energy model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pletfri.command import fail, settings

app = typer.Typer(
    help="Devices: provisioning over USB serial, the firmware build, the energy model.",
    no_args_is_help=True,
)

FIRMWARE = Path(__file__).resolve().parent.parent


@app.command()
def provision(
    ctx: typer.Context,
    port: Annotated[str, typer.Option(help="serial port of the device, e.g. /dev/ttyUSB0")],
    device: Annotated[str, typer.Option(help="device id, e.g. nfc-a4cf12f0b3c1")],
    wifi_ssid: Annotated[str, typer.Option(help="Wi-Fi network name")],
    wifi_password: Annotated[str, typer.Option(help="Wi-Fi password")],
    broker: Annotated[
        str, typer.Option(help="MQTT broker as mqtt://host:port, over TLS mqtts://host:8883")
    ],
    mqtt_user: Annotated[str | None, typer.Option(help="MQTT user name")] = None,
    mqtt_password: Annotated[
        str | None, typer.Option(help="MQTT password (default: a new login, see --login)")
    ] = None,
    login: Annotated[
        bool,
        typer.Option(
            help="Give the device a new MQTT login of its own: user = device id, a generated "
            "password written to the device and stored only hashed in broker.password_file "
            "(the device must be in the registry). --no-login: none (a broker without logins)."
        ),
    ] = True,
    reload: Annotated[
        bool, typer.Option("--reload", help="Then SIGHUP Mosquitto (broker.pid_file).")
    ] = False,
    ca_file: Annotated[
        Path | None,
        typer.Option(help="PEM certificate of the CA that signed the broker's (for mqtts://)"),
    ] = None,
    site_key: Annotated[
        str | None, typer.Option(help="the site's card key as hex (stations; 32+ hex digits)")
    ] = None,
    ntp_host: Annotated[str, typer.Option(help="NTP server")] = "pool.ntp.org",
    period_s: Annotated[int | None, typer.Option(help="sensor counting period, s")] = None,
    send_s: Annotated[int | None, typer.Option(help="sensor radio wake interval, s")] = None,
    baudrate: Annotated[int, typer.Option(help="serial speed")] = 115200,
) -> None:
    """Write the device's config.json over the raw REPL and read it back to verify.

    By default the device gets an MQTT login of its own (docs/broker.md); its old one,
    if any, stops working with the next broker reload.
    """
    # The broker's files are the platform's side: imported only when used.
    from backend.broker import accounts
    from backend.broker.passwords import PasswordFileError, new_password
    from pletfri_host.provision import ProvisionError
    from pletfri_host.provision import provision as run

    s = settings(ctx)
    new_login = login and mqtt_password is None
    if new_login:
        try:
            accounts.check_login_device(s.backend.database_file, device)
        except accounts.BrokerError as e:
            raise fail(f"{e} (or give --mqtt-password, or --no-login)") from None
        mqtt_user, mqtt_password = device, new_password()

    cfg: dict[str, Any] = {
        "device": device,
        "wifi_ssid": wifi_ssid,
        "wifi_password": wifi_password,
        "broker": broker,
        "ntp_host": ntp_host,
    }
    try:
        ca_pem = ca_file.read_text() if ca_file else None
    except (OSError, UnicodeDecodeError) as e:
        raise fail(f"cannot read --ca-file {ca_file}: {e}") from None
    optional = {
        "ca_pem": ca_pem,
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
    if new_login and mqtt_password is not None:
        # Only once the device holds it: a failed write leaves the old login working.
        try:
            accounts.set_password(s.broker, device, mqtt_password)
            if reload:
                accounts.reload(s.broker.pid_file)
        except (accounts.BrokerError, PasswordFileError) as e:
            raise fail(f"the device has its new password, the broker not yet: {e}") from None
        typer.echo(
            f"{device}: MQTT login {device} in {s.broker.password_file}"
            + (", broker reloaded" if reload else "; reload the broker (pletfri broker reload)")
        )


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
