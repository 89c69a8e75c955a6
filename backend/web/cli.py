"""`pletfri web ...`: the web pages' logins (the pages are served by `pletfri backend api`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from backend.registry import Registry
from backend.web import accounts
from pletfri.command import fail, settings

web_app = typer.Typer(
    help="The web pages for cleaners and service leaders: logins (docs/web.md).",
    no_args_is_help=True,
)
user_app = typer.Typer(help="Logins bound to people of the registry.", no_args_is_help=True)
web_app.add_typer(user_app, name="user")


@contextmanager
def _registry(ctx: typer.Context) -> Iterator[Registry]:
    with Registry(settings(ctx).backend.database_file) as reg:
        accounts.ensure_schema(reg)
        yield reg


def _password(given: str | None) -> str:
    if given is not None:
        return given
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="PLETFRI_WEB_PASSWORD",
        help="The password (else asked for, not echoed; or $PLETFRI_WEB_PASSWORD).",
        show_envvar=False,
    ),
]


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The login name, e.g. anne.j")],
    person: Annotated[str, typer.Option(help="The registry person it logs in as (e.g. p0042).")],
    shift: Annotated[
        str | None,
        typer.Option(help="A cleaner's own shift (backend.shifts); default: every shift."),
    ] = None,
    password: PasswordOpt = None,
) -> None:
    """Add a login for a cleaner, trainee, buddy or service leader of the registry."""
    s = settings(ctx)
    if shift is not None and shift not in s.backend.shifts:
        raise fail(f"--shift {shift!r}: backend.shifts has {', '.join(s.backend.shifts)}")
    with _registry(ctx) as reg:
        try:
            user = accounts.add(reg, name, person, _password(password), int(time.time() * 1000),
                                shift)  # fmt: skip
        except accounts.AccountError as e:
            raise fail(str(e)) from None
    typer.echo(
        f"login {user.name}: {user.person.role} {user.person.id}, buildings "
        f"{', '.join(user.buildings)}" + (f", shift {shift}" if shift else "")
    )


@user_app.command("password")
def user_password(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The login name.")],
    password: PasswordOpt = None,
) -> None:
    """Set a login's password; its open sessions end."""
    with _registry(ctx) as reg:
        try:
            accounts.set_password(reg, name, _password(password))
        except accounts.AccountError as e:
            raise fail(str(e)) from None
    typer.echo(f"login {name}: password changed, sessions ended")


@user_app.command("remove")
def user_remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The login name.")]
) -> None:
    """Remove a login; its open sessions end."""
    with _registry(ctx) as reg:
        if not accounts.remove(reg, name):
            raise fail(f"no login {name!r}; `pletfri web user list` shows them")
    typer.echo(f"login {name} removed")


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """The logins: name, person, role and shift."""
    with _registry(ctx) as reg:
        for name, person, shift in accounts.users(reg):
            found = reg.person(person)
            role = found.role if found else "not in the registry: cannot log in"
            typer.echo(f"{name}\t{person}\t{role}\t{shift or ''}")


def register(root: typer.Typer) -> None:
    root.add_typer(web_app, name="web")
