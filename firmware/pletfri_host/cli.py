"""`pletfri device ...`: flashing helpers and provisioning over USB serial."""

from __future__ import annotations

import typer

app = typer.Typer(help="Provision and inspect devices over USB serial.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="device")
