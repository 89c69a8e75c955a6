"""`pletfri broker ...`: Mosquitto's password file and ACL (docs/broker.md)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from backend.broker import accounts
from backend.broker.acl import SERVICE_ACCOUNTS
from backend.broker.passwords import PasswordFileError
from pletfri.command import fail, settings

app = typer.Typer(
    help="Mosquitto's accounts and ACL: a device may only speak for itself.",
    no_args_is_help=True,
)

ReloadOpt = Annotated[
    bool, typer.Option("--reload", help="Then SIGHUP Mosquitto (broker.pid_file).")
]


def _reload(ctx: typer.Context, reload: bool) -> None:
    if reload:
        pid = accounts.reload(settings(ctx).broker.pid_file)
        typer.echo(f"mosquitto (pid {pid}) reloads its password file and ACL")


@app.command()
def sync(
    ctx: typer.Context,
    simulator: Annotated[
        bool, typer.Option(help="Add the load generators' account (never in production).")
    ] = False,
    reload: ReloadOpt = False,
) -> None:
    """Write the ACL from the registry; remove logins of devices no longer in it."""
    s = settings(ctx)
    try:
        r = accounts.sync(s.broker, s.backend.database_file, simulator)
        _reload(ctx, reload)
    except (accounts.BrokerError, PasswordFileError) as e:
        raise fail(str(e)) from None
    typer.echo(f"{s.broker.acl_file}: {r.devices} registered devices")
    if r.pruned:
        typer.echo(f"removed the logins of {len(r.pruned)} devices no longer registered: "
                   + ", ".join(r.pruned))  # fmt: skip
    if r.without_login:
        typer.echo(f"{len(r.without_login)} registered devices have no login yet "
                   "(`pletfri device provision` or `pletfri broker add`)")  # fmt: skip


@app.command()
def add(
    ctx: typer.Context,
    device: Annotated[str, typer.Argument(help="A registered device id.")],
    reload: ReloadOpt = False,
) -> None:
    """Give a device a new password (replacing its old one); printed once, stored hashed.

    `pletfri device provision` does this itself and writes the password to the device.
    """
    s = settings(ctx)
    try:
        password = accounts.issue_device(s.broker, s.backend.database_file, device)
        _reload(ctx, reload)
    except (accounts.BrokerError, PasswordFileError) as e:
        raise fail(str(e)) from None
    typer.echo(f"{device}: user {device}, password {password}")
    typer.echo("the password is not stored anywhere in plain text: put it on the device now",
               err=True)  # fmt: skip


@app.command()
def revoke(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="A device id (or a platform account).")],
    reload: ReloadOpt = False,
) -> None:
    """Remove a login; after the reload the broker refuses it and drops its connection."""
    s = settings(ctx)
    try:
        removed = accounts.revoke(s.broker, user)
        _reload(ctx, reload)
    except (accounts.BrokerError, PasswordFileError) as e:
        raise fail(str(e)) from None
    if not removed:
        raise fail(f"{user} has no login in {s.broker.password_file}", code=1)
    typer.echo(f"{user}: login removed from {s.broker.password_file}")


@app.command()
def account(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=f"One of {', '.join(SERVICE_ACCOUNTS)}.")],
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input instead of making one.")
    ] = False,
    reload: ReloadOpt = False,
) -> None:
    """Set a platform account's password (made and printed once unless given on stdin)."""
    s = settings(ctx)
    if name not in SERVICE_ACCOUNTS:
        raise fail(f"{name!r} is not a platform account; use one of {', '.join(SERVICE_ACCOUNTS)}")
    try:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise fail("no password on standard input")
            accounts.set_password(s.broker, name, password)
        else:
            password = accounts.issue(s.broker, name)
            typer.echo(f"{name}: password {password}")
        _reload(ctx, reload)
    except (accounts.BrokerError, PasswordFileError) as e:
        raise fail(str(e)) from None
    typer.echo(f"{name}: login set in {s.broker.password_file}; give it to the {name} as "
               "PLETFRI_MQTT__PASSWORD", err=True)  # fmt: skip


@app.command()
def reload(ctx: typer.Context) -> None:
    """Make the running Mosquitto read its password file and ACL again (SIGHUP)."""
    try:
        _reload(ctx, True)
    except accounts.BrokerError as e:
        raise fail(str(e)) from None


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="broker")
