"""What every `pletfri` command shares: its settings and its error reporting."""

from __future__ import annotations

from pathlib import Path

import typer

from pletfri.settings import Settings, load_settings


def settings(ctx: typer.Context) -> Settings:
    """The settings chosen by the root command's --config (loaded once per run)."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        config: Path | None = root.params.get("config")
        root.obj = load_settings(config)
    return root.obj


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a problem and how to fix it; `raise fail(...)` ends the command."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)
