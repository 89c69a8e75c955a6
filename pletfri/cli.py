"""`pletfri`: the one command line for every part. Each part adds its own commands."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from backend import cli as backend_cli
from dashboards import cli as dashboards_cli
from gateway import cli as gateway_cli
from pletfri import logs, storage_cli
from pletfri.command import fail, settings
from pletfri.services import ServiceError, running_stack
from pletfri.settings import ConfigError
from pletfri_host import cli as device_cli
from sim import cli as sim_cli

app = typer.Typer(
    help="Pletfri: quality monitoring for building cleaning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="TOML settings file (default: $PLETFRI_CONFIG, else defaults)."
        ),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="DEBUG, INFO, WARNING or ERROR (overrides log_level).")
    ] = None,
) -> None:
    logs.setup(log_level or settings(ctx).log_level)


config_app = typer.Typer(help="Inspect the settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


# Settings whose values `config show` never prints (smtp_password, quality.seed_salt, ...).
SECRET_WORDS = ("password", "token", "salt")


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the settings in effect (file + environment + defaults) as JSON."""
    s = settings(ctx).model_dump(mode="json")
    for section in s.values():
        if isinstance(section, dict):
            for key, value in section.items():
                # broker.password_file is where the hashes are, not a secret itself.
                secret = any(word in key for word in SECRET_WORDS) and not key.endswith("_file")
                if value and secret:
                    section[key] = "***"
    typer.echo(json.dumps(s, indent=2))


services_app = typer.Typer(help="Run the real servers locally.", no_args_is_help=True)
app.add_typer(services_app, name="services")


@services_app.command("run")
def services_run(
    ctx: typer.Context,
    run_dir: Annotated[
        Path | None, typer.Option(help="Folder for the servers' config, data and logs.")
    ] = None,
    logins: Annotated[
        bool,
        typer.Option(
            help="Mosquitto with broker.password_file and broker.acl_file (`pletfri broker`): "
            "no anonymous access."
        ),
    ] = False,
) -> None:
    """Start Mosquitto and InfluxDB on free loopback ports until Ctrl-C."""
    s = settings(ctx)
    folder = run_dir or s.run.dir
    files: tuple[Path | None, Path | None] = (None, None)
    if logins:
        missing = [p for p in (s.broker.password_file, s.broker.acl_file) if not p.exists()]
        if missing:
            raise fail(
                f"{', '.join(map(str, missing))} missing: make them first "
                "(`pletfri broker account gateway`, `pletfri broker sync`; docs/broker.md)"
            )
        files = (s.broker.password_file, s.broker.acl_file)
    with running_stack(folder, *files) as stack:
        typer.echo(f"mosquitto: mqtt://127.0.0.1:{stack.mosquitto.port}")
        if logins:
            typer.echo(
                f"  logins and ACL on; reload with PLETFRI_BROKER__PID_FILE="
                f"{stack.mosquitto.pid_file} pletfri broker reload"
            )
        typer.echo(f"influxdb:  {stack.influxdb.url} (database {stack.influxdb.database})")
        typer.echo(
            f"point Pletfri at them with PLETFRI_MQTT__PORT={stack.mosquitto.port} "
            f"PLETFRI_INFLUX__URL={stack.influxdb.url}; Ctrl-C stops both"
        )
        try:
            while stack.mosquitto.running and stack.influxdb.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


# Each part adds its own commands, so parts never edit this file to grow.
for part in (
    device_cli,
    gateway_cli,
    backend_cli,
    dashboards_cli,
    sim_cli,
    storage_cli,
):
    part.register(app)


def main() -> None:
    try:
        app()
    except (ConfigError, ServiceError) as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
